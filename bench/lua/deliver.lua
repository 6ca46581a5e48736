-- POST /api/v1/taskings/{id}/deliveries: each line of the file (first argument) is
-- "tasking_id<TAB>bearer token<TAB>etag". The threads split the lines between them and
-- use each tasking once (a delivery bumps its version, so its ETag is spent); run.py
-- re-reads the ETags before each run. The second argument makes Idempotency-Keys unique.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua"
require("common")

local mine, i, nonce, body
local nthreads = 2

function init(args)
   local all = bench_lines(args[1])
   nonce = args[2] or "run"
   nthreads = tonumber(args[3] or "2")
   body = args[4]
   mine = {}
   for n, line in ipairs(all) do
      if (n - 1) % nthreads == tid then table.insert(mine, bench_split(line)) end
   end
   i = 0
end

function request()
   i = i + 1
   local item = mine[((i - 1) % #mine) + 1]
   local headers = bench_headers({
      ["Authorization"] = "Bearer " .. item[2],
      ["If-Match"] = item[3],
      ["Idempotency-Key"] = string.format("bench-%s-%d-%d", nonce, tid, i),
      ["Content-Type"] = "application/json",
   })
   return wrk.format("POST", "/api/v1/taskings/" .. item[1] .. "/deliveries", headers, body)
end
