-- POST /api/v1/auth/login (the password step) for a rotating list of accounts.
-- Lines: email. Usage: wrk -s login.lua URL -- EMAILS_FILE PASSWORD
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local common = dofile(here .. "common.lua")
common.install()
local emails, password, i

function init(args)
  emails = common.lines(args[1])
  password = args[2]
  i = tid or 0
end

function request()
  i = i + 1
  local email = emails[(i % #emails) + 1][1]
  local body = string.format('{"email":"%s","password":"%s"}', email, password)
  return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"}, body)
end
