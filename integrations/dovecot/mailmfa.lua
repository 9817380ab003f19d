-- mailmfa.lua: what the two passdb scripts share (docs: README.md beside this file, DESIGN §11).
--
-- Loaded by mailmfa-app-password.lua and mailmfa-policy.lua from the folder they are in. It reads
-- the scripts' own settings file, maps Dovecot's service to mailmfa's protocol, asks the login
-- service's POST /v1/mail/auth, and writes the log lines. Dovecot 2.3's Lua passdb takes no
-- arguments of its own beyond file= and blocking=, hence the settings file: the path in the
-- environment variable MAILMFA_DOVECOT_CONF (set it with Dovecot's import_environment), else
-- /etc/dovecot/mailmfa.conf.

local http = require("socket.http")
local ltn12 = require("ltn12")
local cjson = require("cjson")

local M = {}

M.DEFAULT_CONFIG = "/etc/dovecot/mailmfa.conf"

-- Dovecot's service names, as mailmfa's protocols. A service not named here is not a mail program's
-- sign-in that mailmfa knows: step 1 leaves it to the next passdb, step 3 refuses it.
local PROTOCOLS = {
  imap = "imap",
  pop3 = "pop3",
  smtp = "smtp",
  submission = "smtp",
  sieve = "sieve",
  managesieve = "sieve",
}

-- mailmfa's protocol for Dovecot's service name, or nil.
function M.protocol(service)
  return PROTOCOLS[service or ""]
end

local function trim(text)
  return (text:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Reads the settings file: `key = value` lines, `#` starts a comment. Returns the settings, or nil
-- and what is wrong.
local function read_config(path)
  local file, err = io.open(path, "r")
  if not file then
    return nil, "cannot read the settings file " .. path .. ": " .. tostring(err)
  end
  local conf = { on_error = "reject", timeout = "3" }
  local number = 0
  for line in file:lines() do
    number = number + 1
    line = trim(line:gsub("#.*$", ""))
    if line ~= "" then
      local key, value = line:match("^([%w_]+)%s*=%s*(.*)$")
      if not key then
        file:close()
        return nil, path .. ":" .. number .. ": not `key = value`"
      end
      conf[key] = value
    end
  end
  file:close()
  if not conf.url or not conf.url:match("^http://[^/]+") then
    return nil, path .. ": url must be the login service's address, http://HOST:PORT (it serves plain HTTP on loopback)"
  end
  conf.url = conf.url:gsub("/+$", "")
  if conf.on_error ~= "reject" and conf.on_error ~= "password" then
    return nil, path .. ": on_error must be reject or password, not " .. conf.on_error
  end
  local timeout = tonumber(conf.timeout)
  if not timeout or timeout <= 0 or timeout > 60 then
    return nil, path .. ": timeout must be a number of seconds between 0 and 60, not " .. conf.timeout
  end
  conf.timeout = timeout
  if not conf.api_key_file then
    return nil, path .. ": api_key_file is missing (the file holding the API client's key)"
  end
  local keyfile, keyerr = io.open(conf.api_key_file, "r")
  if not keyfile then
    return nil, "cannot read the API key file " .. conf.api_key_file .. ": " .. tostring(keyerr)
  end
  conf.key = trim(keyfile:read("a") or "")
  keyfile:close()
  if conf.key == "" then
    return nil, "the API key file " .. conf.api_key_file .. " is empty"
  end
  return conf
end

-- Read once, in the process that answers (with blocking=yes the auth worker, which runs as root by
-- default); a changed file is read again after `doveadm reload`.
local settings, settings_error

-- The settings, or nil and what is wrong with them.
function M.settings()
  if not settings and not settings_error then
    settings, settings_error = read_config(os.getenv("MAILMFA_DOVECOT_CONF") or M.DEFAULT_CONFIG)
  end
  return settings, settings_error
end

-- Asks POST /v1/mail/auth. Returns the answer (a table whose `result` is accept, password or
-- reject), or nil and why there is none.
function M.ask(conf, body)
  local payload = cjson.encode(body)
  local chunks = {}
  http.TIMEOUT = conf.timeout
  local ok, status = http.request({
    url = conf.url .. "/v1/mail/auth",
    method = "POST",
    headers = {
      ["authorization"] = "Bearer " .. conf.key,
      ["content-type"] = "application/json",
      ["content-length"] = tostring(#payload),
    },
    source = ltn12.source.string(payload),
    sink = ltn12.sink.table(chunks),
  })
  if not ok then
    return nil, "cannot reach " .. conf.url .. ": " .. tostring(status)
  end
  local text = table.concat(chunks)
  if status ~= 200 then
    return nil, conf.url .. " answered HTTP " .. tostring(status) .. ": " .. text:sub(1, 200):gsub("%s+", " ")
  end
  local decoded, answer = pcall(cjson.decode, text)
  if not decoded or type(answer) ~= "table" then
    return nil, conf.url .. " answered something that is not JSON"
  end
  local result = answer.result
  if result ~= "accept" and result ~= "password" and result ~= "reject" then
    return nil, conf.url .. " answered an unknown result: " .. tostring(result)
  end
  if result == "reject" and type(answer.reason) ~= "string" then
    answer.reason = "unknown"
  end
  return answer
end

-- The request's body for `req` over `protocol`: `password` is the password typed (step 1) or nil
-- (step 3: the mailbox password was already verified and mailmfa never sees it).
function M.body(req, protocol, password)
  local body = {
    address = req.user,
    protocol = protocol,
    ip = req.remote_ip,
    real_ip = req.real_rip,
  }
  if password then
    body.password = password
  else
    body.password = cjson.null
    body.verified = true
  end
  return body
end

-- Who is signing in, for the log: "alice@example.test over imap from 192.0.2.7" (and the
-- connecting address when a trusted proxy named another).
-- Whether a password is shaped like an app password: twenty letters of 0-9 and a-z without i, l,
-- o and u, in any case, with or without dashes and spaces (o, i and l read as 0, 1 and 1), as the
-- service reads them. Anything else is the mailbox password, which step 1 never sends.
function M.shaped_like_app_password(password)
  local letters = password:gsub("[%- ]", ""):lower():gsub("o", "0"):gsub("[il]", "1")
  return #letters == 20 and letters:find("^[0-9abcdefghjkmnpqrstvwxyz]+$") ~= nil
end

function M.who(req, protocol)
  local from = req.remote_ip
  if from == nil or from == "" then
    from = "an unknown address"
  end
  if req.real_rip and req.real_rip ~= req.remote_ip then
    from = from .. " (connected from " .. req.real_rip .. ")"
  end
  return tostring(req.user) .. " over " .. (protocol or tostring(req.service)) .. " from " .. from
end

-- Whether `req` names the connecting address; the webmail's exemption depends on it.
function M.has_addresses(req)
  return req.real_rip ~= nil and req.real_rip ~= "" and req.remote_ip ~= nil and req.remote_ip ~= ""
end

return M
