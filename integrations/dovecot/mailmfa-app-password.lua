-- mailmfa-app-password.lua: step 1 of the passdb chain (dovecot-mailmfa.conf.ext, DESIGN §11).
--
-- Is the password an app password of this mailbox, for this protocol? A password not shaped like
-- one (the mailbox password) goes straight to the next passdb, unsent. Else asks mailmfa with it:
--   accept   -> PASSDB_RESULT_OK, signed in (result_success = return-ok);
--   password -> PASSWORD_MISMATCH: not an app password, the next passdb checks the mailbox password;
--   reject   -> PASSWORD_MISMATCH as well (a removed, expired or other protocol's app password, or
--               too many wrong ones from this address): the next passdb refuses it, since it is
--               not the mailbox password. The reason is logged.
-- mailmfa out of reach -> INTERNAL_FAILURE, which the chain treats as "go on": the mailbox password
-- may still be right, and step 3 decides by on_error.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local mailmfa = dofile(here .. "mailmfa.lua")

function auth_password_verify(req, password)
  local protocol = mailmfa.protocol(req.service)
  if not protocol or not mailmfa.shaped_like_app_password(password) then
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
  end
  local conf, err = mailmfa.settings()
  if not conf then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "mailmfa: " .. err .. "; app passwords are not checked"
  end
  if not mailmfa.has_addresses(req) then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE,
      "mailmfa: Dovecot gave no client address for " .. mailmfa.who(req, protocol) .. "; app passwords are not checked"
  end
  local answer, failure = mailmfa.ask(conf, mailmfa.body(req, protocol, password))
  if not answer then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "mailmfa: " .. failure .. "; app passwords are not checked for "
      .. mailmfa.who(req, protocol) .. ", the mailbox password goes on to the next passdb"
  end
  if answer.result == "accept" then
    req:log_info("mailmfa: app password " .. tostring(answer.app_password) .. " accepted for "
      .. mailmfa.who(req, protocol))
    return dovecot.auth.PASSDB_RESULT_OK, ""
  end
  if answer.result == "reject" and answer.reason ~= "app_password_required" then
    req:log_warning("mailmfa: refused " .. mailmfa.who(req, protocol) .. ": " .. answer.reason .. " (as an app password)")
  else
    req:log_info("mailmfa: not an app password for " .. mailmfa.who(req, protocol)
      .. "; the next passdb checks the mailbox password")
  end
  return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, ""
end

-- A lookup without a password (the user's existence for a static userdb, LMTP delivery, doveadm):
-- nothing to ask mailmfa; the next passdb answers.
function auth_passdb_lookup(req)
  return dovecot.auth.PASSDB_RESULT_NEXT, ""
end
