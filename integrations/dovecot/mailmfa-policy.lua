-- mailmfa-policy.lua: step 3 of the passdb chain (dovecot-mailmfa.conf.ext, DESIGN §11).
--
-- Runs only after the site's own passdb accepted the mailbox password (skip = unauthenticated):
-- may the mailbox password be used from here, over this protocol? Asks mailmfa WITHOUT the
-- password ("password": null, "verified": true):
--   password -> PASSDB_RESULT_OK, signed in;
--   reject   -> PASSWORD_MISMATCH, refused (app_password_required: this mail program needs an app
--               password), and logged;
-- mailmfa out of reach -> on_error in the settings file: reject (the default) refuses,
-- password lets the mailbox password through; either way logged. A service that is not IMAP,
-- POP3, SMTP or Sieve is refused.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local mailmfa = dofile(here .. "mailmfa.lua")

function auth_password_verify(req, _password)
  local protocol = mailmfa.protocol(req.service)
  if not protocol then
    req:log_warning("mailmfa: refused " .. mailmfa.who(req, nil) .. ": the service " .. tostring(req.service)
      .. " is not imap, pop3, submission, smtp or sieve")
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
  end
  local conf, err = mailmfa.settings()
  if not conf then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "mailmfa: " .. err .. "; refused " .. mailmfa.who(req, protocol)
  end
  if not mailmfa.has_addresses(req) then
    req:log_warning("mailmfa: refused " .. mailmfa.who(req, protocol) .. ": Dovecot gave no client address")
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
  end
  local answer, failure = mailmfa.ask(conf, mailmfa.body(req, protocol, nil))
  if not answer then
    if conf.on_error == "password" then
      req:log_warning("mailmfa: " .. failure .. "; on_error=password: let the mailbox password through for "
        .. mailmfa.who(req, protocol))
      return dovecot.auth.PASSDB_RESULT_OK, ""
    end
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE,
      "mailmfa: " .. failure .. "; on_error=reject: refused " .. mailmfa.who(req, protocol)
  end
  if answer.result == "password" then
    return dovecot.auth.PASSDB_RESULT_OK, ""
  end
  local reason = answer.reason or ("unexpected answer " .. answer.result)
  req:log_warning("mailmfa: refused " .. mailmfa.who(req, protocol) .. ": " .. reason)
  return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
end

-- A lookup without a password. With an authentication mechanism (CRAM-MD5, SCRAM …) it fetches the
-- credentials that Dovecot checks itself, which would pass by this policy: refused, and logged. Without
-- one (the user's existence for a static userdb, LMTP delivery, doveadm) there is nothing to decide.
function auth_passdb_lookup(req)
  if req.mech ~= nil and req.mech ~= "" then
    req:log_warning("mailmfa: refused " .. mailmfa.who(req, mailmfa.protocol(req.service)) .. ": the mechanism "
      .. req.mech .. " hides the password from the policy; offer PLAIN and LOGIN only")
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
  end
  return dovecot.auth.PASSDB_RESULT_OK, ""
end
