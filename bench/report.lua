-- wrk hook: print one machine-readable line with everything the report needs, so that nothing
-- is scraped from wrk's human output. Latencies are in microseconds.
--
-- wrk counts a timeout only when a late answer finally arrives: a request still waiting when the
-- run ends is counted nowhere, and an overloaded server would show as a short row with no errors.
-- So each thread stamps the requests it writes (one per connection at a time: wrk does not
-- pipeline) and `done` counts those still unanswered at the end that had waited longer than the
-- timeout, passed as the script's argument in milliseconds (`-- 2000`). Answers are matched to
-- the oldest outstanding request, so the count is a lower bound when a server answers out of order.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } pyweb_timespec;
int clock_gettime(int clock_id, pyweb_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local RING = 8192 -- more than any thread's connections: at most one request in flight each
local stamp = ffi.new("pyweb_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, stamp)
  return tonumber(stamp.tv_sec) * 1000 + tonumber(stamp.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  timeout_ms = tonumber(args[1]) or 2000
  written, answered, sent_at = 0, 0, {}
end

function request()
  sent_at[written % RING] = now_ms()
  written = written + 1
  return wrk.format()
end

function response()
  answered = answered + 1
end

done = function(summary, latency)
  local e = summary.errors
  local sent, stalled, deadline = 0, 0, nil
  local finished = now_ms()
  for _, thread in ipairs(threads) do
    local first, last, stamps = thread:get("answered"), thread:get("written"), thread:get("sent_at")
    deadline = finished - thread:get("timeout_ms")
    sent = sent + last
    for i = first, last - 1 do
      if stamps[i % RING] < deadline then stalled = stalled + 1 end
    end
  end
  io.write(string.format(
    'PYWEB_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d, ' ..
    '"errors_unanswered": %d, "sent": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, stalled, sent, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
