-- The normal client of bench/soak.sh, for wrk: GET /, and every ECHO_EVERY-th
-- request (env, default 4; 0 = never) a POST /echo of 1 KiB. Counts every
-- response that is not 2xx (wrk itself counts only >= 400) and prints one
-- machine-readable line at the end:
--   SOAK requests=.. seconds=.. rps=.. p50_us=.. p99_us=.. max_us=.. connect=..
--        read=.. write=.. timeout=.. non2xx=..
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  n = 0
  every = tonumber(os.getenv("ECHO_EVERY") or "4") or 4
  get = wrk.format("GET", "/")
  echo = wrk.format("POST", "/echo", { ["Content-Type"] = "application/octet-stream" },
    string.rep("e", 1024))
end

function request()
  n = n + 1
  if every > 0 and n % every == 0 then
    return echo
  end
  return get
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "SOAK requests=%d seconds=%.2f rps=%.1f p50_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d timeout=%d non2xx=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout, bad))
end
