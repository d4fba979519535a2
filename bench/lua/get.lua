-- GET a list of paths in turn (one per line, optionally "path<TAB>cookie").
-- Usage: wrk -s get.lua URL -- PATHS_FILE
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local common = dofile(here .. "common.lua")
common.install()
local paths, i

function init(args)
  paths = common.lines(args[1])
  i = tid or 0
end

function request()
  i = i + 1
  local entry = paths[(i % #paths) + 1]
  local headers = {}
  if entry[2] then headers["Cookie"] = "erdv_session=" .. entry[2] end
  return wrk.format("GET", entry[1], headers)
end
