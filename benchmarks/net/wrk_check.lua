-- wrk_check.lua: the wrk script of the http_wrk workloads (bench_netload runs wrk with it).
--
--   wrk -t1 -c256 -d3s -s benchmarks/net/wrk_check.lua http://127.0.0.1:PORT/ -- DEPTH
--
-- Sends DEPTH GET requests at once on every connection (1: no pipelining; wrk sends the next
-- batch when the whole batch is answered) and checks every response: status 200 and the body
-- "Hello, World!" (net/workloads.hpp, kHttpBody). At the end it prints one line that
-- bench_netload reads:
--
--   wrk_check <requests> <duration us> <good responses> <p50 us> <p99 us> <bad> <socket errors>

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local depth = tonumber(args[1]) or 1
  batch = string.rep(wrk.format("GET", "/"), depth)
  good = 0
  bad = 0
end

function request()
  return batch
end

function response(status, headers, body)
  if status == 200 and body == "Hello, World!" then
    good = good + 1
  else
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local good_total, bad_total = 0, 0
  for _, thread in ipairs(threads) do
    good_total = good_total + thread:get("good")
    bad_total = bad_total + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format("wrk_check %d %d %d %.0f %.0f %d %d\n", summary.requests, summary.duration,
    good_total, latency:percentile(50), latency:percentile(99), bad_total,
    e.connect + e.read + e.write + e.status + e.timeout))
end
