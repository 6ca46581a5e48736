-- Shared by the bench scripts: per-thread setup and a one-line JSON summary at the end.
-- The summary line starts with "BENCHJSON " so bench/run.py can find it in wrk's output.

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function bench_lines(path)
   local lines = {}
   for line in io.lines(path) do
      if #line > 0 then table.insert(lines, line) end
   end
   return lines
end

-- wrk.format() uses the headers it is given instead of wrk.headers (Host, and the -H
-- options): merge them.
function bench_headers(extra)
   local h = {}
   for k, v in pairs(wrk.headers) do h[k] = v end
   for k, v in pairs(extra) do h[k] = v end
   return h
end

function bench_split(line)
   local out = {}
   for field in string.gmatch(line, "[^\t]+") do table.insert(out, field) end
   return out
end

function done(summary, latency, requests)
   local statuses = {}
   for _, t in ipairs(threads) do
      local s = t:get("statuses")
      if s then
         for code, n in pairs(s) do statuses[code] = (statuses[code] or 0) + n end
      end
   end
   local parts = {}
   for code, n in pairs(statuses) do table.insert(parts, string.format('"%s":%d', code, n)) end
   local e = summary.errors
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
      '"max_us":%d,"mean_us":%.1f,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
      '"status_errors":%d,"timeouts":%d,"statuses":{%s}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
      latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status,
      e.timeout, table.concat(parts, ",")))
end

statuses = {}

function response(status, headers, body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
end
