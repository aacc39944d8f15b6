--[[
Tests for Scripts/extract_facts.lua, run with the plain interpreter from the repository root:

    lua5.4 Scripts/tests/run.lua            -- all tests
    lua5.4 Scripts/tests/run.lua money      -- only tests whose name contains "money"

Each case feeds a record to the rule's process() and compares fields with the JSON that Sluice
would write (keys sorted, integers vs floats kept, [] vs {} kept). Exit status 0 when all pass.
]]

local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local scripts = here .. "/.."
package.path = here .. "/?.lua;" .. scripts .. "/?.lua;" .. package.path

sluice = require("sluice_stub")
local json = require("json")

-- Loads a fresh copy of the rule (its configuration lives in the chunk) and runs init(options).
-- Returns its process function.
local function load_rule(options)
  local chunk = assert(loadfile(scripts .. "/extract_facts.lua"))
  chunk()
  local process = _G.process
  init(options)
  return process
end

local default_process = load_rule({})

local function run(record, process)
  return (process or default_process)(record, function() error("the rule must not emit") end)
end

local function facts(body, extra, process)
  local record = { title = sluice.null, body = body }
  for k, v in pairs(extra or {}) do record[k] = v end
  return run(record, process)
end

local failures, passed = {}, 0
local filter = arg and arg[1]

local function test(name, fn)
  if filter and not name:find(filter, 1, true) then return end
  local ok, err = pcall(fn)
  if ok then
    passed = passed + 1
  else
    failures[#failures + 1] = name .. "\n    " .. tostring(err)
  end
end

local function eq(actual, expected, what)
  local a, e = json.encode(actual), json.encode(expected)
  if a ~= e then
    error((what and (what .. ": ") or "") .. "expected " .. e .. "\n    got      " .. a, 2)
  end
end

local A = sluice.array     -- an (possibly empty) array literal
local NULL = sluice.null

local function money(body, extra) return facts(body, extra).money end
local function pct(body) return facts(body).percentages end
local function people(body, extra) return facts(body, extra).people end
local function quotes(body) return facts(body).quotes end
local function dates(body, extra) return facts(body, extra).dates end

-- ============================================================================ money
test("money: dollars with a scale word are USD and an integer value", function()
  eq(money("Trade reached $14.25 billion."), { { text = "$14.25 billion", currency = "USD", value = 14250000000 } })
end)
test("money: values that are not whole stay floats", function()
  eq(money("It costs $2.50 each."), { { text = "$2.50", currency = "USD", value = 2.5 } })
  eq(money("It costs $2.00 each."), { { text = "$2.00", currency = "USD", value = 2 } })
end)
test("money: thousands separators", function()
  eq(money("A fine of $1,234,567 was paid."), { { text = "$1,234,567", currency = "USD", value = 1234567 } })
end)
test("money: decimals are exact after scaling (10.36 billion is 10360000000, not 10360000000.000002)", function()
  eq(money("exports of $10.36 billion"), { { text = "$10.36 billion", currency = "USD", value = 10360000000 } })
  eq(money("$0.1 million"), { { text = "$0.1 million", currency = "USD", value = 100000 } })
end)
test("money: letter-prefixed dollars", function()
  eq(money("a US$3 million grant"), { { text = "US$3 million", currency = "USD", value = 3000000 } })
  eq(money("HK$200 each"), { { text = "HK$200", currency = "HKD", value = 200 } })
  eq(money("A$50 and S$20"), { { text = "A$50", currency = "AUD", value = 50 }, { text = "S$20", currency = "SGD", value = 20 } })
end)
test("money: euro, pound and short scales", function()
  eq(money("a €2.5bn fund"), { { text = "€2.5bn", currency = "EUR", value = 2500000000 } })
  eq(money("a £300m bid"), { { text = "£300m", currency = "GBP", value = 300000000 } })
  eq(money("a $50k salary"), { { text = "$50k", currency = "USD", value = 50000 } })
  eq(money("a $5 bn loan"), { { text = "$5 bn", currency = "USD", value = 5000000000 } })
end)
test("money: one-letter scales only when attached ($5 m is five dollars)", function()
  eq(money("paid $5 m later"), { { text = "$5", currency = "USD", value = 5 } })
end)
test("money: thousands separated by spaces, and a decimal comma before a scale word", function()
  eq(money("a grant of 10 000 euros"), { { text = "10 000 euros", currency = "EUR", value = 10000 } })
  eq(money("fined €1 234 567"), { { text = "€1 234 567", currency = "EUR", value = 1234567 } })
  eq(money("a €1,5 million fund"), { { text = "€1,5 million", currency = "EUR", value = 1500000 } })
  eq(money("costs of $2,25 billion"), { { text = "$2,25 billion", currency = "USD", value = 2250000000 } })
  -- A comma before three digits stays a thousands separator.
  eq(money("$1,500 million"), { { text = "$1,500 million", currency = "USD", value = 1500000000 } })
  -- One or two digits after a comma are decimals.
  eq(money("a fee of €2,50"), { { text = "€2,50", currency = "EUR", value = 2.5 } })
  eq(money("costs 2 500,00 euros"), { { text = "2 500,00 euros", currency = "EUR", value = 2500 } })
end)
test("money: hyphenated scale", function()
  eq(money("a $5-billion deal"), { { text = "$5-billion", currency = "USD", value = 5000000000 } })
end)
test("money: trillion and very large amounts", function()
  eq(money("debt of $20 trillion"), { { text = "$20 trillion", currency = "USD", value = 20000000000000 } })
  local m = money("$99,999,999 trillion")
  eq(m[1].currency, "USD")
  assert(math.type(m[1].value) == "float", "beyond 64-bit integers the value is a float")
end)
test("money: currency words after the number", function()
  eq(money("investment of 5 billion yuan"), { { text = "5 billion yuan", currency = "CNY", value = 5000000000 } })
  eq(money("3 million US dollars"), { { text = "3 million US dollars", currency = "USD", value = 3000000 } })
  eq(money("3 million U.S. dollars"), { { text = "3 million U.S. dollars", currency = "USD", value = 3000000 } })
  eq(money("100 dollars"), { { text = "100 dollars", currency = "USD", value = 100 } })
  eq(money("20 euros"), { { text = "20 euros", currency = "EUR", value = 20 } })
  eq(money("2 billion Hong Kong dollars"), { { text = "2 billion Hong Kong dollars", currency = "HKD", value = 2000000000 } })
  eq(money("900 million rubles"), { { text = "900 million rubles", currency = "RUB", value = 900000000 } })
end)
test("money: RMB before or after the number", function()
  eq(money("RMB 3.2 trillion"), { { text = "RMB 3.2 trillion", currency = "CNY", value = 3200000000000 } })
  eq(money("RMB5 billion"), { { text = "RMB5 billion", currency = "CNY", value = 5000000000 } })
  eq(money("5 billion RMB"), { { text = "5 billion RMB", currency = "CNY", value = 5000000000 } })
  eq(money("USD 300 each"), { { text = "USD 300", currency = "USD", value = 300 } })
end)
test("money: pounds need a scale (200 pounds is a weight)", function()
  eq(money("a 200 pounds bag"), A())
  eq(money("5 million pounds"), { { text = "5 million pounds", currency = "GBP", value = 5000000 } })
  eq(money("5 pounds sterling"), { { text = "5 pounds sterling", currency = "GBP", value = 5 } })
end)
test("money: the yen sign is CNY in a text about China and JPY otherwise", function()
  eq(money("Chinese firms raised ¥500 billion, in yuan terms"), { { text = "¥500 billion", currency = "CNY", value = 500000000000 } })
  eq(money("Japanese firms raised ¥500 billion"), { { text = "¥500 billion", currency = "JPY", value = 500000000000 } })
  eq(money("It cost ¥800."), { { text = "¥800", currency = "JPY", value = 800 } })
  eq(money("China paid JP¥100"), { { text = "JP¥100", currency = "JPY", value = 100 } })
end)
test("money: yen option forces the yen sign's currency", function()
  local p = load_rule({ yen = "CNY" })
  eq(facts("Japan paid ¥100", nil, p).money, { { text = "¥100", currency = "CNY", value = 100 } })
end)
test("money: dollar option sets the currency of a bare $ and of dollars", function()
  local p = load_rule({ dollar = "AUD" })
  eq(facts("It cost $5 or 7 dollars, or US$3", nil, p).money, {
    { text = "$5", currency = "AUD", value = 5 },
    { text = "7 dollars", currency = "AUD", value = 7 },
    { text = "US$3", currency = "USD", value = 3 },
  })
end)
test("money: rupee sign with crore", function()
  eq(money("₹500 crore"), { { text = "₹500 crore", currency = "INR", value = 5000000000 } })
end)
test("money: a range with one scale gives low and high, no value", function()
  eq(money("worth $3-5 billion"), { { text = "$3-5 billion", currency = "USD", low = 3000000000, high = 5000000000 } })
  eq(money("worth $3–5 billion"), { { text = "$3–5 billion", currency = "USD", low = 3000000000, high = 5000000000 } })
end)
test("money: between X and Y is one range, text includes between", function()
  eq(money("valued between $2 billion and $3 billion."), {
    { text = "between $2 billion and $3 billion", currency = "USD", low = 2000000000, high = 3000000000 } })
  eq(money("between 2 and 3 billion yuan"), {
    { text = "between 2 and 3 billion yuan", currency = "CNY", low = 2000000000, high = 3000000000 } })
end)
test("money: X to Y is a range, but from X to Y is two amounts", function()
  eq(money("estimated at $3 billion to $5 billion"), {
    { text = "$3 billion to $5 billion", currency = "USD", low = 3000000000, high = 5000000000 } })
  eq(money("grew from $3 billion to $5 billion"), {
    { text = "$3 billion", currency = "USD", value = 3000000000 },
    { text = "$5 billion", currency = "USD", value = 5000000000 } })
end)
test("money: range whose ends have their own scales", function()
  eq(money("$500 million-$1 billion"), { { text = "$500 million-$1 billion", currency = "USD", low = 500000000, high = 1000000000 } })
  eq(money("3-5 billion yuan"), { { text = "3-5 billion yuan", currency = "CNY", low = 3000000000, high = 5000000000 } })
end)
test("money: numbers without a currency are not money", function()
  eq(money("imports surged 36-fold in 2025, and 2024-2025 saw 5 million visitors"), A())
end)
test("money: every mention is kept, in order", function()
  eq(money("$1 million, then $1 million again"), {
    { text = "$1 million", currency = "USD", value = 1000000 },
    { text = "$1 million", currency = "USD", value = 1000000 } })
end)
test("money: none is an empty array, not an object", function()
  eq(json.encode(money("no amounts here")), "[]")
end)

-- ============================================================================ percentages
test("percentages: percent, per cent, pct and %", function()
  eq(pct("up 53.8 percent, 13.1%, 7 per cent, 12 pct and 10 %"), { 53.8, 13.1, 7, 12, 10 })
end)
test("percentages: whole numbers are integers", function()
  local p = pct("rose 5 percent and 5.0% and 4.5%")
  eq(p, { 5, 5, 4.5 })
  assert(math.type(p[1]) == "integer" and math.type(p[2]) == "integer", "5 and 5.0 are integers")
end)
test("percentages: a leading minus sign is kept", function()
  eq(pct("growth of -2.5% this year"), { -2.5 })
end)
test("percentages: ranges give both ends", function()
  eq(pct("3-5 percent, between 6 and 8 percent, 9 to 10 percent"), { 3, 5, 6, 8, 9, 10 })
end)
test("percentages: thousands separators", function()
  eq(pct("up 1,200%"), { 1200 })
end)
test("percentages: 36-fold and percentage points are not percentages", function()
  eq(pct("surging 36-fold, up 2 percentage points"), A())
end)
test("percentages: a percent sign is not money", function()
  local f = facts("13.1 percent to $10.36 billion")
  eq(f.percentages, { 13.1 })
  eq(f.money, { { text = "$10.36 billion", currency = "USD", value = 10360000000 } })
end)

-- ============================================================================ people
test("people: title before a name", function()
  eq(people("Chinese Foreign Minister Wang Yi met Kyrgyz President Sadyr Japarov in Bishkek."), {
    { name = "Wang Yi", title = "Foreign Minister" },
    { name = "Sadyr Japarov", title = "President" } })
end)
test("people: demonyms are not part of the title", function()
  eq(people("talks with Kyrgyz Foreign Minister Zheenbek Kulubaev, the sides"), {
    { name = "Zheenbek Kulubaev", title = "Foreign Minister" } })
end)
test("people: appositive title", function()
  eq(people('"Good," Zhu Yongbiao, executive director of the Research Center for the Belt and Road at Lanzhou University, told the Global Times.'), {
    { name = "Zhu Yongbiao", title = "executive director of the Research Center for the Belt and Road at Lanzhou University" } })
end)
test("people: appositive with a leading article, ending at a full stop", function()
  eq(people("The deal was signed by Li Ming, a professor at Peking University. Talks went on."), {
    { name = "Li Ming", title = "professor at Peking University" } })
end)
test("people: multi-word and abbreviated titles", function()
  eq(people("Secretary of State Antony Blinken and Dr. Jane Smith met Prime Minister Narendra Modi's aides."), {
    { name = "Antony Blinken", title = "Secretary of State" },
    { name = "Jane Smith", title = "Dr." },
    { name = "Narendra Modi", title = "Prime Minister" } })
end)
test("people: hyphenated title and a name with a non-ASCII initial", function()
  eq(people("UN Secretary-General António Guterres spoke."), {
    { name = "António Guterres", title = "Secretary-General" } })
end)
test("people: particles inside names", function()
  eq(people("Crown Prince Mohammed bin Salman met Ursula von der Leyen, president of the European Commission, today."), {
    { name = "Mohammed bin Salman", title = "Crown Prince" },
    { name = "Ursula von der Leyen", title = "president of the European Commission" } })
end)
test("people: lower-case descriptive title before a name", function()
  eq(people("Chinese Foreign Ministry spokesperson Mao Ning said so."), {
    { name = "Mao Ning", title = "spokesperson" } })
end)
test("people: a surname alone merges into the full name; the first title wins", function()
  eq(people("Foreign Minister Wang Yi arrived. Wang, also a member of the Political Bureau, said hello. Wang left."), {
    { name = "Wang Yi", title = "Foreign Minister" } })
end)
test("people: a full name repeated with another title keeps the first", function()
  eq(people("Foreign Minister Wang Yi arrived. State Councilor Wang Yi, also a member of the Political Bureau, spoke."), {
    { name = "Wang Yi", title = "Foreign Minister" } })
end)
test("people: a one-word name after a title is upgraded when the full name appears", function()
  eq(people("President Japarov spoke. Later Sadyr Japarov left."), {
    { name = "Sadyr Japarov", title = "President" } })
end)
test("people: a full name followed by said is a person without a title", function()
  eq(people("John Smith said the plan works."), { { name = "John Smith", title = NULL } })
end)
test("people: organisations and assemblies are not people", function()
  eq(people("the UN General Assembly Resolution 2758 and General Motors said; the Research Center said"), A())
end)
test("people: a month word can be a first name or a surname", function()
  eq(people('"A real risk," said Jan Hatzius, chief economist at Goldman Sachs. Prime Minister Theresa May said no.'), {
    { name = "Jan Hatzius", title = "chief economist at Goldman Sachs" },
    { name = "Theresa May", title = "Prime Minister" } })
end)
test("people: a title with no name after it finds nobody", function()
  eq(people("During the meeting with the Chinese Foreign Minister, officials talked. Chinese FM’s visit"), A())
end)

-- ============================================================================ quotes
test("quotes: quote, then speaker with an appositive, then told", function()
  eq(quotes('"China-Kyrgyzstan cooperation is now at the best stage in history," Zhu Yongbiao, executive director of the center, told the Global Times.'), {
    { text = "China-Kyrgyzstan cooperation is now at the best stage in history", speaker = "Zhu Yongbiao" } })
end)
test("quotes: an organisation before a title introduces the speaker; alone it is the speaker", function()
  eq(quotes('"We need access now," said WFP spokesperson Rania Saleh.'),
    { { text = "We need access now", speaker = "Rania Saleh" } })
  eq(quotes('"We object," said Chinese Foreign Ministry spokesperson Mao Ning.'),
    { { text = "We object", speaker = "Mao Ning" } })
  eq(quotes('"We need access," said WFP.'), { { text = "We need access", speaker = "World Food Programme" } })
  eq(quotes('"No comment," said spokesperson Lin Jian.'), { { text = "No comment", speaker = "Lin Jian" } })
  eq(quotes('"We object," said Foreign Ministry spokesperson Mao Ning.'), { { text = "We object", speaker = "Mao Ning" } })
end)
test("quotes: said before the speaker", function()
  eq(quotes('"We will win," said John Smith.'), { { text = "We will win", speaker = "John Smith" } })
end)
test("quotes: speaker said, then the quote; a surname resolves to the full name", function()
  eq(quotes('Foreign Minister Wang Yi visited. Wang said, "China supports peace."'), {
    { text = "China supports peace.", speaker = "Wang Yi" } })
end)
test("quotes: curly quotes and he said resolve to the last person named", function()
  eq(quotes("President Sadyr Japarov spoke. “Trade is growing,” he said."), {
    { text = "Trade is growing", speaker = "Sadyr Japarov" } })
end)
test("quotes: an organisation can be the speaker", function()
  eq(quotes('"We oppose it," the Chinese Foreign Ministry said.'), {
    { text = "We oppose it", speaker = "Chinese Foreign Ministry" } })
  eq(quotes('According to Xinhua, "the talks went well."'), {
    { text = "the talks went well.", speaker = "Xinhua" } })
end)
test("quotes: a following sentence in quotes keeps the speaker", function()
  eq(quotes('"A is true," John Smith said. "B is also true."'), {
    { text = "A is true", speaker = "John Smith" },
    { text = "B is also true.", speaker = "John Smith" } })
end)
test("quotes: scare quotes are not quotations", function()
  eq(quotes('Kyrgyz side opposes any form of "Taiwan independence" and supports reunification.'), A())
end)
test("quotes: an unresolvable pronoun gives a null speaker", function()
  eq(quotes('"Yes," she said.'), { { text = "Yes", speaker = NULL } })
end)
test("quotes: attributed to someone not named gives a null speaker", function()
  eq(quotes('"We oppose it," the spokesperson said. "Fine," said the Chinese Foreign Minister.'), {
    { text = "We oppose it", speaker = NULL }, { text = "Fine", speaker = NULL } })
end)
test("quotes: a quote never spans paragraphs", function()
  eq(quotes('He wrote "this is open\n\nand this" said Smith.'), A())
end)

-- ============================================================================ gazetteer
test("gazetteer: whole words only", function()
  local f = facts("Chinaware from Indiana and Nigeria")
  eq(f.places, { "Nigeria" })
end)
test("gazetteer: the longest name wins", function()
  local f = facts("the Central Asian region; The New York Times in New York")
  eq(f.places, { "Central Asia", "New York" })
  eq(f.organizations, { "The New York Times" })
end)
test("gazetteer: demonyms and aliases map to the canonical name, countries from them", function()
  local f = facts("Kyrgyz officials, Americans, the U.S. and the PRC met in the UK.")
  eq(f.places, { "Kyrgyzstan", "United States", "China", "United Kingdom" })
  eq(f.countries, { "Kyrgyzstan", "United States", "China", "United Kingdom" })
end)
test("gazetteer: straight and curly apostrophes", function()
  eq(facts("the People's Republic of China").places, { "China" })
  eq(facts("the People’s Republic of China").places, { "China" })
  eq(facts("China’s territory and China's effort").places, { "China" })
end)
test("gazetteer: hyphenated compounds name each place", function()
  eq(facts("the China-Kyrgyzstan-Uzbekistan railway and the one-China principle").places,
    { "China", "Kyrgyzstan", "Uzbekistan" })
end)
test("gazetteer: territories and regions are places but not countries", function()
  local f = facts("Taiwan, Hong Kong, Central Asia and China")
  eq(f.places, { "Taiwan", "Hong Kong", "Central Asia", "China" })
  eq(f.countries, { "China" })
end)
test("gazetteer: names inside a money expression are not places", function()
  local f = facts("worth 230 billion U.S. dollars and 5 million Hong Kong dollars, said the U.S.")
  eq(f.places, { "United States" })
  eq(#f.money, 2)
end)
test("gazetteer: an all-capitals dateline names the place", function()
  eq(facts("BEIJING, Nov. 2 (Xinhua) -- talks. WASHINGTON (Reuters) - more. NOTE: CHINA").places, { "Beijing", "Washington", "China" })
  eq(facts("BEIJING, Nov. 2 (Xinhua) -- talks.").organizations, { "Xinhua" })
end)
test("gazetteer: a place inside an organization's name is not reported", function()
  local f = facts("Lanzhou University and the Chinese Foreign Ministry")
  eq(f.organizations, { "Lanzhou University", "Chinese Foreign Ministry" })
  eq(f.places, A())
end)
test("gazetteer: each name once, in order of first mention", function()
  local f = facts("Xinhua, Global Times, Xinhua News Agency and Reuters; UN General Assembly and the United Nations")
  eq(f.organizations, { "Xinhua", "Global Times", "Reuters", "UN General Assembly", "United Nations" })
end)
test("gazetteer: an extension module adds names", function()
  local p = load_rule({ gazetteer = "test_gazetteer" })
  local f = facts("Zorbia and the Zorbian Bureau of Tea, with China", nil, p)
  eq(f.places, { "Zorbia", "China" })
  eq(f.countries, { "Zorbia", "China" })
  eq(f.organizations, { "Zorbian Bureau of Tea" })
end)
test("gazetteer: a name that does not start with a capital is refused at init", function()
  local ok, err = pcall(load_rule, { gazetteer = "test_bad_gazetteer" })
  assert(not ok, "init must fail")
  assert(tostring(err):find("gazetteer name 'al-Something' must start with a capital letter", 1, true), tostring(err))
end)
test("gazetteer: a missing module is refused at init with its name", function()
  local ok, err = pcall(load_rule, { gazetteer = "no_such_gazetteer" })
  assert(not ok and tostring(err):find("cannot load gazetteer module 'no_such_gazetteer'", 1, true), tostring(err))
end)

-- ============================================================================ dates
test("dates: month day, year", function()
  eq(dates("on November 19, 2025 and Nov. 2, 2025 and Sept. 3, 2024"), { "2025-11-19", "2025-11-02", "2024-09-03" })
end)
test("dates: day month year and ordinals", function()
  eq(dates("on 19 November 2025, the 3rd of March 2024 and 1st Jan 2020"), { "2025-11-19", "2024-03-03", "2020-01-01" })
end)
test("dates: ISO dates", function()
  eq(dates("released 2025-07-15T10:00 and 2024-02-29"), { "2025-07-15", "2024-02-29" })
end)
test("dates: a month and day without a year take the year of published", function()
  eq(dates("a tour from November 19 to 22", { published = "2025-11-20T22:10:00" }), { "2025-11-19", "2025-11-22" })
end)
test("dates: without a year or a published date, month-day is skipped", function()
  eq(dates("a tour from November 19 to 22"), A())
end)
test("dates: the inferred year is the one nearest to the publication date", function()
  eq(dates("on December 28 and January 3", { published = "2026-01-05" }), { "2025-12-28", "2026-01-03" })
end)
test("dates: day ranges with a year", function()
  eq(dates("November 19-22, 2025 and 3-5 March 2024"), { "2025-11-19", "2025-11-22", "2024-03-03", "2024-03-05" })
end)
test("dates: month and year alone, impossible days and weekdays are not dates", function()
  eq(dates("in November 2025, on February 30, 2025, on Thursday", { published = "2025-11-20" }), A())
end)
test("dates: leap days", function()
  eq(dates("February 29, 2024 and February 29, 2023"), { "2024-02-29" })
end)
test("dates: each date once, in order of mention", function()
  eq(dates("November 19, 2025 then 2025-11-19 then 2025-01-01"), { "2025-11-19", "2025-01-01" })
end)
test("dates: May the verb is not a date", function()
  eq(dates("May officials agree? May 2025 was warm.", { published = "2025-06-01" }), A())
end)
test("dates: published in another format uses sluice.date.parse when present", function()
  sluice.date = { parse = function(s) if s == "Nov 20, 2025 10:10 PM" then return "2025-11-20T22:10:00" end end }
  local ok, err = pcall(function()
    eq(dates("on November 19", { published = "Nov 20, 2025 10:10 PM" }), { "2025-11-19" })
  end)
  sluice.date = nil
  assert(ok, err)
  eq(dates("on November 19", { published = "Nov 20, 2025 10:10 PM" }), A())
end)

-- ============================================================================ records and options
test("record: other fields are kept and the fact fields added", function()
  local r = run({ id = "a1", title = "China and Japan", body = "Trade hit $5 billion.", word_count = 4 })
  eq(r.id, "a1")
  eq(r.word_count, 4)
  eq(r.places, { "China", "Japan" })
  eq(r.money, { { text = "$5 billion", currency = "USD", value = 5000000000 } })
end)
test("record: an empty record gets every field as an empty array", function()
  local r = run({})
  for _, k in ipairs { "money", "percentages", "people", "quotes", "organizations", "places", "countries", "dates" } do
    eq(json.encode(r[k]), "[]", k)
  end
end)
test("record: the title is read before the body", function()
  eq(run({ title = "Japan", body = "China" }).places, { "Japan", "China" })
end)
test("record: paragraphs are read when there is no body", function()
  eq(run({ title = "x", paragraphs = { "In Japan.", "In China." } }).places, { "Japan", "China" })
end)
test("record: null and non-string fields are skipped", function()
  eq(run({ title = NULL, body = 42 }).places, A())
end)
test("options: fields chooses the fields to read", function()
  local p = load_rule({ fields = { "summary" } })
  eq(run({ title = "Japan", summary = "China" }, p).places, { "China" })
end)
test("options: extract limits the output fields", function()
  local p = load_rule({ extract = { "money", "places" } })
  local r = run({ body = "China paid $5, up 3%." }, p)
  eq(r.money, { { text = "$5", currency = "USD", value = 5 } })
  eq(r.places, { "China" })
  assert(r.percentages == nil and r.people == nil and r.dates == nil, "only the chosen fields are added")
end)
test("options: prefix names the output fields", function()
  local p = load_rule({ prefix = "facts_", extract = { "places" } })
  local r = run({ body = "China" }, p)
  eq(r.facts_places, { "China" })
  assert(r.places == nil, "no unprefixed field")
end)
test("options: published names the date field", function()
  local p = load_rule({ published = "date" })
  eq(run({ body = "on November 19", date = "2025-11-20" }, p).dates, { "2025-11-19" })
end)
test("options: unknown options and bad values are refused with the option's name", function()
  local ok, err = pcall(load_rule, { feilds = { "body" } })
  assert(not ok and tostring(err):find("unknown option 'feilds' (did you mean 'fields'?)", 1, true), tostring(err))
  ok, err = pcall(load_rule, { extract = { "moneys" } })
  assert(not ok and tostring(err):find("unknown field 'moneys' (did you mean 'money'?)", 1, true), tostring(err))
  ok, err = pcall(load_rule, { yen = "EUR" })
  assert(not ok and tostring(err):find("option 'yen'", 1, true), tostring(err))
  ok, err = pcall(load_rule, { dollar = "dollars" })
  assert(not ok and tostring(err):find("option 'dollar'", 1, true), tostring(err))
end)
test("options: the rule works when init is never called", function()
  local chunk = assert(loadfile(scripts .. "/extract_facts.lua"))
  chunk()
  eq(process({ body = "Japan paid $5." }, nil).places, { "Japan" })
  init({})   -- leave the globals as the other tests expect
end)
test("options: works without the sluice module (plain tables)", function()
  local saved = sluice
  sluice = nil
  local ok, err = pcall(function()
    local p = load_rule(nil)
    local r = run({ body = '"Yes," she said in Japan.' }, p)
    eq(r.places, { "Japan" })
    assert(r.quotes[1].speaker == nil and r.quotes[1].text == "Yes", "speaker is left out without sluice.null")
    assert(type(r.money) == "table" and #r.money == 0)
  end)
  sluice = saved
  assert(ok, err)
end)

-- ============================================================================ other languages
test("languages: Chinese amounts with 亿 and 万亿, currency written after", function()
  eq(money("双边贸易额达到142.5亿美元，投资1.4万亿元人民币，另有300万欧元。"), {
    { text = "142.5亿美元", currency = "USD", value = 14250000000 },
    { text = "1.4万亿元人民币", currency = "CNY", value = 1400000000000 },
    { text = "300万欧元", currency = "EUR", value = 3000000 },
  })
  eq(money("雙邊貿易額達142.5億美元。"), { { text = "142.5億美元", currency = "USD", value = 14250000000 } })
end)
test("languages: Russian amounts with млрд and млн, decimal comma, thousands with spaces", function()
  eq(money("товарооборот составил 14,25 млрд долларов, кредит на 250 млн рублей и 14 250 сомов."), {
    { text = "14,25 млрд долларов", currency = "USD", value = 14250000000 },
    { text = "250 млн рублей", currency = "RUB", value = 250000000 },
    { text = "14 250 сомов", currency = "KGS", value = 14250 },
  })
  eq(money("кредит 2 млрд долларов США"), { { text = "2 млрд долларов США", currency = "USD", value = 2000000000 } })
end)
test("languages: French amounts with milliards de / milliard d'", function()
  eq(money("ont atteint 3,89 milliards de dollars, et un plan de 1,2 milliard d'euros."), {
    { text = "3,89 milliards de dollars", currency = "USD", value = 3890000000 },
    { text = "1,2 milliard d'euros", currency = "EUR", value = 1200000000 },
  })
end)
test("languages: German amounts with Mrd. and Mio.", function()
  eq(money("stieg auf 10,36 Mrd. US-Dollar; 4,7 Milliarden Euro und 250 Mio. Euro."), {
    { text = "10,36 Mrd. US-Dollar", currency = "USD", value = 10360000000 },
    { text = "4,7 Milliarden Euro", currency = "EUR", value = 4700000000 },
    { text = "250 Mio. Euro", currency = "EUR", value = 250000000 },
  })
end)
test("languages: Spanish amounts with millones de, thousands with dots", function()
  eq(money("alcanzó los 14.250 millones de dólares y 4.700 millones de euros."), {
    { text = "14.250 millones de dólares", currency = "USD", value = 14250000000 },
    { text = "4.700 millones de euros", currency = "EUR", value = 4700000000 },
  })
end)
test("languages: the dollar option applies to dollars in every language", function()
  local p = load_rule({ dollar = "AUD" })
  eq(facts("14,25 млрд долларов", nil, p).money, { { text = "14,25 млрд долларов", currency = "AUD", value = 14250000000 } })
end)
test("languages: English amounts are left to the English rules (10,000 euros is ten thousand)", function()
  eq(money("A café paid 10,000 euros, 5 million dollars and 1 Million Euro."), {
    { text = "10,000 euros", currency = "EUR", value = 10000 },
    { text = "5 million dollars", currency = "USD", value = 5000000 },
    { text = "1 Million Euro", currency = "EUR", value = 1000000 },
  })
end)
test("languages: percentages with a decimal comma and percent words", function()
  eq(pct("hausse de 53,8 % et 53.8%; рост на 13,1 процента; ein Plus von 13,1 Prozent; un 20 por ciento; 8,5 pour cent"),
    { 53.8, 53.8, 13.1, 13.1, 20, 8.5 })
  eq(pct("同比增长13.1%，占比53.8％。"), { 13.1, 53.8 })
end)
test("languages: Chinese people after a title; the name ends at a digit or a verb", function()
  eq(people("外交部发言人毛宁24日表示。中国外交部长王毅会见吉尔吉斯斯坦总统扎帕罗夫。"), {
    { name = "毛宁", title = "外交部发言人" },
    { name = "王毅", title = "外交部长" },
    { name = "扎帕罗夫", title = "总统" },
  })
end)
test("languages: Russian people after a title, a country between them skipped", function()
  eq(people("Об этом заявил министр иностранных дел КНР Ван И. Его принял президент Садыр Жапаров."), {
    { name = "Ван И", title = "министр иностранных дел" },
    { name = "Садыр Жапаров", title = "президент" },
  })
end)

test("languages: dates written in Chinese, Russian, French, German and Spanish", function()
  eq(dates("会谈于2025年11月19日举行。"), { "2025-11-19" })
  eq(dates("встреча 19 ноября 2025 г. в Бишкеке"), { "2025-11-19" })
  eq(dates("Ils se verront le 1er décembre 2025 à Paris"), { "2025-12-01" })
  eq(dates("Das Treffen der Minister am 20. November 2025 in Bischkek"), { "2025-11-20" })
  eq(dates("Se reunieron el 5 de febrero de 2025 en Biskek"), { "2025-02-05" })
end)
test("languages: a date without a year takes the year nearest the publication date", function()
  local pub = { published = "2026-01-03" }
  eq(dates("新华社比什凯克12月30日电", pub), { "2025-12-30" })
  eq(dates("БИШКЕК, 2 января — РИА Новости.", pub), { "2026-01-02" })
  eq(dates("Biskek, 30 de diciembre (EFE).- El ministro y su homólogo", pub), { "2025-12-30" })
  -- without a publication date a year-less date is left out
  eq(dates("БИШКЕК, 2 января — РИА Новости."), A())
end)
test("languages: a number before a word that is not a month is not a date", function()
  eq(dates("14,25 млрд долларов; 20 ноябрей; 3 de los 5 proyectos"), A())
end)
test("languages: places named in other languages give the gazetteer's canonical names and countries", function()
  local r = facts("Министр встретился в Бишкеке с президентом Киргизии. Китай и Россия.")
  eq(r.places, { "Bishkek", "Kyrgyzstan", "China", "Russia" })
  eq(r.countries, { "Kyrgyzstan", "China", "Russia" })
  eq(facts("王毅在比什凯克会见吉尔吉斯斯坦总统。").places, { "Bishkek", "Kyrgyzstan" })
  eq(facts("La Chine et le Kirghizistan, à Bichkek.").places, { "China", "Kyrgyzstan", "Bishkek" })
  eq(facts("China und Kirgistan in Bischkek.").places, { "China", "Kyrgyzstan", "Bishkek" })
  eq(facts("China y Kirguistán, en Biskek.").countries, { "China", "Kyrgyzstan" })
end)
test("languages: a Russian stem is found only at the start of a word", function()
  eq(facts("Он ответил: некитайский товар.").places, A())
end)
test("languages: organisations named in other languages, a Russian ministry in its first form", function()
  eq(facts("Об этом сообщили в Министерстве иностранных дел КНР и в ООН.").organizations,
    { "Министерство иностранных дел КНР", "United Nations" })
  eq(facts("外交部发言人毛宁表示，上海合作组织和联合国。").organizations,
    { "外交部", "Shanghai Cooperation Organization", "United Nations" })
  eq(facts("Le ministère des Affaires étrangères et l'ONU.").organizations,
    { "ministère des Affaires étrangères", "United Nations" })
  eq(facts("Das Auswärtige Amt und die Vereinten Nationen.").organizations, { "Auswärtiges Amt", "United Nations" })
  eq(facts("El Ministerio de Asuntos Exteriores y la ONU.").organizations,
    { "Ministerio de Asuntos Exteriores", "United Nations" })
end)
test("languages: the record's language decides which tables are read", function()
  -- `Chine` is a French name: a record marked English does not read the French table
  eq(facts("Chine", { language = "en" }).places, A())
  eq(facts("La Chine", { language = "fr" }).places, { "China" })
end)
test("languages: quotations in «», „“ and 「」 with a verb of saying; the speaker is the person named nearest", function()
  eq(quotes("Министр иностранных дел КНР Ван И заявил: «Китай готов углублять сотрудничество с Киргизией»."),
    { { text = "Китай готов углублять сотрудничество с Киргизией", speaker = NULL } })
  eq(quotes("Об этом заявил министр иностранных дел КНР Ван И: «Мы готовы к работе с партнёрами»."),
    { { text = "Мы готовы к работе с партнёрами", speaker = "Ван И" } })
  eq(quotes("外交部发言人毛宁表示：“中方愿同吉方一道，深化互联互通和安全合作。”"),
    { { text = "中方愿同吉方一道，深化互联互通和安全合作。", speaker = "毛宁" } })
  eq(quotes("Il a déclaré : « La Chine et le Kirghizistan sont des partenaires »."),
    { { text = "La Chine et le Kirghizistan sont des partenaires", speaker = NULL } })
  eq(quotes("„Wir wollen die Zusammenarbeit vertiefen“, sagte er."),
    { { text = "Wir wollen die Zusammenarbeit vertiefen", speaker = NULL } })
  eq(quotes("«Queremos profundizar la cooperación», dijo el canciller."),
    { { text = "Queremos profundizar la cooperación", speaker = NULL } })
end)
test("languages: a name in quotation marks, or a quotation without a verb of saying, is not a quotation", function()
  eq(quotes("Проект «Шёлковый путь» заявил о себе."), A())
  eq(quotes("Стороны обсудили «строительство железной дороги Китай — Киргизия»."), A())
  eq(quotes("共建“一带一路”，他表示。"), A())
end)

-- ============================================================================ the seed
test("seed: the facts of the seed article equal the hand-written expected file", function()
  local root = scripts .. "/.."
  local line = assert(io.open(root .. "/Tests/Fixtures/extract_facts/seed.input.jsonl")):read("l")
  local expected = json.decode(assert(io.open(root .. "/Tests/Fixtures/extract_facts/seed.expected.json")):read("a"))
  local r = run(json.decode(line))
  local keys = {}
  for k in pairs(expected) do keys[#keys + 1] = k end
  table.sort(keys)
  eq(#keys, 8, "expected fields")
  for _, k in ipairs(keys) do eq(r[k], expected[k], k) end
end)

-- ============================================================================ report
for _, f in ipairs(failures) do print("FAIL " .. f) end
print(string.format("%d passed, %d failed", passed, #failures))
os.exit(#failures == 0 and 0 or 1)
