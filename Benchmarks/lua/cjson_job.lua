-- Job 2 of `make bench` in stock Lua 5.4 with lua-cjson: read JSON Lines from standard
-- input, apply the same rule as rule.lua, write JSON Lines to standard output.
--   lua5.4 cjson_job.lua < IN.jsonl > OUT.jsonl
local cjson = require("cjson")
if cjson.encode_empty_table_as_object then cjson.encode_empty_table_as_object(false) end
local gmatch, gsub, upper = string.gmatch, string.gsub, string.upper
local decode, encode = cjson.decode, cjson.encode
local write = io.write
for line in io.lines() do
  if line:find("%S") then
    local record = decode(line)
    local money = {}
    for m in gmatch(record.body, "%$[%d%.]+ %a+illion") do
      money[#money + 1] = m
    end
    record.money = money
    record.money_count = #money
    local _, words = gsub(record.body, "%S+", "")
    record.word_count = words
    record.section_upper = upper(record.section)
    write(encode(record), "\n")
  end
end
