-- Book-and-cancel churn: book a random slot of the list as a random patient; every booking that
-- succeeds is cancelled by its practitioner on the next request of the thread. With few slots and
-- many connections the same slots are fought over (B3, B4 hot); with many, nobody collides.
-- Files: slots (practitioner_id<TAB>visit_reason_id<TAB>start), patients (cookie<TAB>csrf),
-- practitioners (id<TAB>cookie<TAB>csrf). Usage: wrk -s churn.lua URL -- SLOTS PATIENTS PRACTITIONERS
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local common = dofile(here .. "common.lua")
common.install()
local slots, patients, staff
local pending = {}

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  slots = common.lines(args[1])
  patients = common.lines(args[2])
  staff = {}
  for _, p in ipairs(common.lines(args[3])) do staff[p[1]] = p end
end

function request()
  local item = table.remove(pending)
  if item then
    local p = staff[item.practitioner]
    return wrk.format("POST", "/api/v1/appointments/" .. item.id .. "/cancel", {
      ["Cookie"] = "erdv_session=" .. p[2], ["X-CSRF-Token"] = p[3],
    })
  end
  local s = slots[math.random(#slots)]
  local who = patients[math.random(#patients)]
  local body = string.format('{"practitioner_id":"%s","visit_reason_id":"%s","start":"%s"}',
    s[1], s[2], s[3])
  return wrk.format("POST", "/api/v1/appointments", {
    ["Cookie"] = "erdv_session=" .. who[1], ["X-CSRF-Token"] = who[2],
    ["Content-Type"] = "application/json",
  }, body)
end

function on_response(status, body)
  if status == 201 then
    local id = body:match('"id":"([^"]+)"')
    local practitioner = body:match('"practitioner_id":"([^"]+)"')
    if id and practitioner then pending[#pending + 1] = {id = id, practitioner = practitioner} end
  end
end
