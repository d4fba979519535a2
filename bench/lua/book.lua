-- POST /api/v1/appointments, one distinct slot per request, each from a patient's session.
-- Lines: cookie<TAB>csrf<TAB>json body. Usage: wrk -s book.lua URL -- WORK_FILE
-- BENCH_DELAY_MS paces the connections (common.lua): latency at a chosen rate, for B2.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local common = dofile(here .. "common.lua")
common.install()
local work, i

function init(args)
  work = common.lines(args[1])
  i = tid or 0
end

function request()
  local w = work[(i % #work) + 1]
  i = i + 1
  return wrk.format("POST", "/api/v1/appointments", {
    ["Cookie"] = "erdv_session=" .. w[1],
    ["X-CSRF-Token"] = w[2],
    ["Content-Type"] = "application/json",
  }, w[3])
end
