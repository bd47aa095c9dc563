-- auth-bench: POSTs the 1 KiB body with one pre-signed RFC 9421 header set per request.
--
-- init(args): args[1] is a file written by `auth-bench sign` (first line: header names;
-- each further line: one request's header values, tab-separated, each with its own nonce),
-- args[2] the body. Every request takes the next line, so every nonce is sent once: the
-- server's nonce store is on and refuses a replay (counted as a non-2xx status). Run with
-- one wrk thread (-t1): threads would each read the file from its start.
-- The unprotected baseline POST sends the same lines, so both carry the same bytes.
local file, names, body, first

local function split(line)
  local fields = {}
  for field in line:gmatch("[^\t]+") do
    fields[#fields + 1] = field
  end
  return fields
end

function init(args)
  file = assert(io.open(args[1], "r"))
  names = split(assert(file:read("*l"), "empty signature file"))
  first = file:seek()
  local b = assert(io.open(args[2], "rb"))
  body = b:read("*a")
  b:close()
end

function request()
  local line = file:read("*l")
  if not line then
    -- Out of signatures: start over; the replays are refused and show up as errors.
    file:seek("set", first)
    line = file:read("*l")
  end
  local headers = { ["Content-Type"] = "application/json" }
  local values = split(line)
  for i = 1, #names do
    headers[names[i]] = values[i]
  end
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'AUTHBENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
