-- Shared by the wrk scripts: status counts per thread, and one JSON line at the end that
-- bench/run.py parses ("BENCH_JSON {...}"). wrk gives each thread its own Lua state; setup() runs
-- in the main state and keeps the threads, so done() can read their counts.
local M = {}
local threads = {}
local next_id = 0

function M.lines(path)
  local out = {}
  for line in io.lines(path) do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
    out[#out + 1] = fields
  end
  return out
end

function M.install()
  counts = {}
  -- BENCH_DELAY_MS: each connection pauses an exponentially distributed time of that mean between
  -- its requests (arrivals at a chosen rate instead of as fast as possible).
  local mean_delay = tonumber(os.getenv("BENCH_DELAY_MS") or "")
  if mean_delay then
    function delay()
      return math.floor(-math.log(1 - math.random()) * mean_delay)
    end
  end
  function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
    threads[#threads + 1] = thread
  end
  function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
    if on_response then on_response(status, body) end
  end
  function done(summary, latency, requests)
    local statuses = {}
    for _, thread in ipairs(threads) do
      local c = thread:get("counts") or {}
      for status, n in pairs(c) do
        local key = tostring(status)
        statuses[key] = (statuses[key] or 0) + n
      end
    end
    local parts = {}
    for status, n in pairs(statuses) do parts[#parts + 1] = string.format('"%s":%d', status, n) end
    local errors = summary.errors
    io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"mean_us":%.1f,"p50_us":%d,"p90_us":%d,' ..
      '"p95_us":%d,"p99_us":%d,"max_us":%d,"socket_errors":%d,"timeouts":%d,"statuses":{%s}}\n',
      summary.requests, summary.duration, latency.mean, latency:percentile(50),
      latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max,
      errors.connect + errors.read + errors.write, errors.timeout, table.concat(parts, ",")))
  end
end

return M
