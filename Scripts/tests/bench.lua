--[[
Benchmark (not a test): µs per record for Scripts/extract_facts.lua under the plain interpreter.

    lua5.4 Scripts/tests/bench.lua [rounds] [records per round]

Runs the seed record (4.8 KB of text) and a 1.2 KB record cut from it (about the size of a
typical article body), and prints the minimum and median over the rounds. Uses os.clock (CPU
time). Then runs one record of each of several ~1 MB pathological shapes, to show the time
stays linear in the size of the text (each should take well under a second).
]]
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local scripts = here .. "/.."
package.path = here .. "/?.lua;" .. scripts .. "/?.lua;" .. package.path
sluice = require("sluice_stub")
local json = require("json")
assert(loadfile(scripts .. "/extract_facts.lua"))()
init({})

local rounds = tonumber(arg and arg[1]) or 7
local n = tonumber(arg and arg[2]) or 1000
local seed = json.decode(assert(io.open(scripts .. "/../Tests/Fixtures/extract_facts/seed.input.jsonl")):read("l"))
-- the first paragraphs of the seed's body up to ~1.5 KB of text, title included
local short_body = {}
local size = #seed.title
for para in (seed.body .. "\n\n"):gmatch("(.-)\n\n") do
  if size + #para > 1500 then break end
  short_body[#short_body + 1] = para
  size = size + #para + 2
end
local cases = {
  { "seed", seed.title, seed.body },
  { "short", seed.title, table.concat(short_body, "\n\n") },
}
for _, c in ipairs(cases) do
  local name, title, body = c[1], c[2], c[3]
  for _ = 1, 100 do process({ title = title, body = body, published = seed.published }) end
  local times = {}
  for r = 1, rounds do
    local t0 = os.clock()
    for _ = 1, n do process({ title = title, body = body, published = seed.published }) end
    times[r] = (os.clock() - t0) / n * 1e6
  end
  table.sort(times)
  print(string.format("%-6s %5d bytes  min %6.1f us  median %6.1f us per record  (%.1f us/KB)",
    name, #title + #body + 2, times[1], times[(rounds + 1) // 2], times[1] / ((#title + #body + 2) / 1024)))
end

print()
local function once(name, body)
  local t0 = os.clock()
  process({ body = body, published = "2025-01-01" })
  print(string.format("%-34s %8d bytes %8.1f ms", name, #body, (os.clock() - t0) * 1000))
end
local para = 'Foreign Minister Wang Yi met Kyrgyz President Sadyr Japarov in Bishkek on November 19, 2025. '
  .. '"Trade is up," Zhu Yongbiao, executive director of the center, told the Global Times. '
  .. 'Exports rose 13.1 percent to $10.36 billion. '
once("news text, one paragraph", para:rep(5000))
once("news text, 5000 paragraphs", (para .. "\n\n"):rep(5000))
once("1 MB of digits", ("1"):rep(1000000))
once("1,000,000,000... (250k groups)", "1" .. (",000"):rep(250000))
once("curly opens, no close", ("\226\128\156open "):rep(100000))
once("straight quotes, one paragraph", ('"a" '):rep(200000))
once("curly opens, one close at the end", ("\226\128\156a "):rep(100000) .. "\226\128\157")
once("capitalised words", ("Abc Def Ghi, "):rep(100000))
once("title words", ("Foreign Minister "):rep(60000))
once("name, comma, lower case", ("John Smith, the "):rep(60000))
once("no capital after the first word", "Smith " .. ("a"):rep(1000000))
