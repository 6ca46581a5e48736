-- GET a rotating list of paths, one per line of the file given as the first argument.
-- A line may carry its reader's headers after the path, tab-separated ("Name: value"):
-- each request then goes as its own reader (a token, or a session cookie). Headers given
-- to wrk with -H apply to every request. Requests are formatted once, in init, so the
-- load generator spends its CPU on sending, not on building strings.
-- Each thread starts at its own offset, so the threads spread over the list.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua"
require("common")

local reqs, i

function init(args)
   reqs = {}
   for _, line in ipairs(bench_lines(args[1])) do
      local fields = bench_split(line)
      local path = table.remove(fields, 1)
      local extra = {}
      for _, kv in ipairs(fields) do
         local k, v = string.match(kv, "^([^:]+): (.*)$")
         if k then extra[k] = v end
      end
      table.insert(reqs, wrk.format("GET", path, bench_headers(extra)))
   end
   i = (tid or 0) * 7919
end

function request()
   i = i + 1
   return reqs[(i % #reqs) + 1]
end
