-- POST /api/v1/cables with the raw text of cables listed (one file path per line) in the
-- file given as the first argument. Authorization comes from wrk's -H option.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua"
require("common")

local bodies, i

function init(args)
   bodies = {}
   for _, path in ipairs(bench_lines(args[1])) do
      local f = io.open(path, "rb")
      table.insert(bodies, f:read("*a"))
      f:close()
   end
   i = (tid or 0) * 13
end

function request()
   i = i + 1
   return wrk.format("POST", "/api/v1/cables", bench_headers({["Content-Type"] = "text/plain"}),
                     bodies[(i % #bodies) + 1])
end
