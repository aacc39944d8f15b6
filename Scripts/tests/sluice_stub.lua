--[[
TEST-ONLY stand-in for the few parts of Sluice's `sluice` module that extract_facts.lua uses, so
the rule can be tested with the plain lua5.4 interpreter. The shipped rule never requires this file.

  sluice.null      a unique value written as JSON null
  sluice.array()   a table marked as an array (an unmarked empty table is written as {})
  sluice.date      left out on purpose: the rule must work without it (tests add it when needed)
]]
local ARRAY = {}
local NULL = setmetatable({}, { __tostring = function() return "sluice.null" end, __name = "sluice.null" })

local stub = {
  null = NULL,
  ARRAY_MARK = ARRAY,
}

function stub.array(...)
  return setmetatable({ ... }, ARRAY)
end

function stub.is_array(t)
  return getmetatable(t) == ARRAY
end

return stub
