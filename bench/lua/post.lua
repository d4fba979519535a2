-- POST to the path each line names, from the session each line names: practice-entered bookings
-- (B18), and patients and practices racing for the same slots.
-- Lines: path<TAB>cookie<TAB>csrf<TAB>json body. Usage: wrk -s post.lua URL -- WORK_FILE
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
  return wrk.format("POST", w[1], {
    ["Cookie"] = "erdv_session=" .. w[2],
    ["X-CSRF-Token"] = w[3],
    ["Content-Type"] = "application/json",
  }, w[4])
end
