-- GET a rotating list of paths (one per line in the file given as the first argument).
-- Headers (Authorization, Cookie) come from wrk's -H options.
-- Each thread starts at its own offset, so the threads spread over the list.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua"
require("common")

local paths, i

function init(args)
   paths = bench_lines(args[1])
   i = (tid or 0) * 7919
end

function request()
   i = i + 1
   return wrk.format("GET", paths[(i % #paths) + 1])
end
