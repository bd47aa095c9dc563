-- auth-bench: reports a wrk run as one machine-readable line (the requests come from wrk's
-- command line: URL and -H headers). Used by `cargo xtask bench --e2e` for the GET routes.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'AUTHBENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
