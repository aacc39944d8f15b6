--[[
extract_facts.lua: the analyst rule pack shipped with Sluice.

Reads the text of each record (by default `title` then `body`; `paragraphs` when there is no body)
and adds these fields (every one an array, written as [] when nothing is found):

  money          { text, currency, value }  or, for a range, { text, currency, low, high }
  percentages    numbers: "53.8 percent" -> 53.8, "5%" -> 5
  people         { name, title }   title is null for a person named without one
  quotes         { text, speaker } speaker is null when "he said" cannot be resolved
  organizations  canonical names from the gazetteer, in order of first mention
  places         canonical names from the gazetteer (demonyms count: "Kyrgyz" -> Kyrgyzstan)
  countries      the places whose kind is "country"
  dates          ISO 8601 dates (YYYY-MM-DD) written in the text

Options (the lua stage's `options:`, all optional):
  fields     list of record fields to read, in order          default { "title", "body" }
  extract    list of the output fields to produce             default all of the above
  prefix     string put before every output field name        default ""
  gazetteer  name of the module that returns the gazetteer    default "gazetteer"
  published  field holding the publication date, used to
             give a year to "November 19"                      default "published"
  dollar     ISO code for a bare "$" and for "dollars"         default "USD"
  yen        "JPY", "CNY" or "auto" for a bare "¥"             default "auto"

Scripts/README.md documents every rule that decides an edge case; Scripts/tests/ pins them.
Only Lua 5.4 and the standard string/table/math libraries are used; the `sluice` module is used
when present (sluice.array, sluice.null, sluice.date.parse) and the rule still works without it.
]]

local find, match, gmatch, sub, byte, lower =
  string.find, string.match, string.gmatch, string.sub, string.byte, string.lower
local sort, concat = table.sort, table.concat
local tointeger, max, abs = math.tointeger, math.max, math.abs

-- ============================================================================ character classes
-- A "word" is a run of ASCII letters/digits and UTF-8 letters. The lead bytes of 2-byte
-- sequences (\195-\223) and of the CJK/Hangul 3-byte ranges (\228-\237) count as letters; \226
-- (general punctuation: ’ “ ” — … €) and \194 (no-break space, « ») do not, so "China’s" is the
-- word "China" followed by punctuation.
local RUN = "%w\128-\191\195-\223\228-\237"             -- bytes inside a word
-- The capitalised-word pass. "[^A-Z]*" skips to the next ASCII capital inside one matcher call;
-- a pattern that starts with a class (or a frontier) costs a matcher call per byte: on the
-- 4.8 KB seed "[^A-Z]*" measured 64 us, "%U*" 83 us, and "%f[%w]()(%u%w*)" 230 us per record.
-- Words that start with a non-ASCII capital are found separately (nonascii_starts).
local CAPSCAN = "[^A-Z]*()([A-Z][" .. RUN .. "]*)"
-- a gazetteer name is matched word by word: each step reads the separator and the next word
local TOKEN = "^([^" .. RUN .. "]*[" .. RUN .. "]+)()"
local KEY = "^[%u\195-\223\228-\237][" .. RUN .. "]*"
local NAME_WORD_END = "^[%u\195-\223][" .. RUN .. "]*()"    -- position after a capitalised word
local NAME_WORD = "^[%u\195-\223][" .. RUN .. "]*"
local NAME_STEP = "^([%u\195-\223][" .. RUN .. "]*)()"     -- a capitalised word and the position after it
local NONASCII_WORD = "^[\195-\223][" .. RUN .. "]*"

local function is_word_byte(b)
  if not b then return false end
  if b < 48 then return false end
  if b <= 57 then return true end
  if b < 65 then return false end
  if b <= 90 then return true end
  if b < 97 then return false end
  if b <= 122 then return true end
  return (b >= 195 and b <= 223) or (b >= 228 and b <= 237)
end

local function is_digit(b) return b ~= nil and b >= 48 and b <= 57 end
local function is_letter(b)
  return b ~= nil and ((b >= 65 and b <= 90) or (b >= 97 and b <= 122))
end

local function is_space(b) return b == 32 or b == 10 or b == 13 or b == 9 end

-- s without leading and trailing white space (and, when strip is given, trailing bytes of that
-- value too). A byte walk: "^%s*(.-)%s*$" costs a matcher step per byte.
local function trim(s, strip)
  local i, j = 1, #s
  while i <= j and is_space(byte(s, i)) do i = i + 1 end
  while j >= i do
    local b = byte(s, j)
    if is_space(b) or b == strip then j = j - 1 else break end
  end
  return sub(s, i, j)
end

local function set(list)
  local t = {}
  for i = 1, #list do t[list[i]] = true end
  return t
end

local function words(s)
  local t = {}
  for w in gmatch(s, "%S+") do t[#t + 1] = w end
  return t
end

-- ============================================================================ word lists
local MONTHS = {
  January = 1, February = 2, March = 3, April = 4, May = 5, June = 6, July = 7, August = 8,
  September = 9, October = 10, November = 11, December = 12,
  Jan = 1, Feb = 2, Mar = 3, Apr = 4, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Sept = 9, Oct = 10,
  Nov = 11, Dec = 12,
}
local MONTH_ABBREV = set { "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct",
  "Nov", "Dec" }
local WEEKDAYS = set { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday" }

-- Capitalised words that start sentences or clauses and never start a person's name.
local STOP = set(words [[
  A An The This That These Those There Their They Them He She It Its We Our I You Your His Her My
  In On At For From By With Without To Of And But Or Nor So Yet As If When While After Before
  During Following According Both Each Every All Some Many Most Several Such Other Another No Not
  Only Even Just Now Today Yesterday Tomorrow Here What Which Who Whom Whose Why How Where
  Meanwhile However Moreover Furthermore Also Still Then Thus Therefore Since Although Though
  Because Despite Amid Among Under Over Between Through Across Against Last Next First Second Third
  One Two Three Four Five Ten Like Unlike Beyond Within Along Around About Above Below Upon Via Per
  Until Once Whether Speaking Asked Citing Responding Addressing Commenting Regarding Analysts
  Experts Officials Sources Photo Related Tags Editor Source Mr Mrs Ms Miss Madam Sir Dear
  Says Said Say Meets Met Vows Calls Visits Holds Urges Warns Slams Hails Signs Talks Pledge Pledges
  Later Earlier Separately Additionally Overall Currently Recently Previously Finally Indeed Instead
  Otherwise Nevertheless Nonetheless Likewise Similarly Specifically Notably Importantly Initially
  Eventually Ultimately Hence Besides Yes Please Thanks Sunday Monday Tuesday Wednesday Thursday
  Friday Saturday Dr Prof Gen
  New Chinese Local Western Eastern Northern Southern Central Global National International
  Official Officially Government Governments Ministry Minister Party State China's
]])

-- Capitalised words the scan can pass over at once: they start no name, title or date.
local SKIP_WORD = {}
do
  local keep = set(words [[
    President Premier Minister Secretary General Chief State Foreign Prime Vice Deputy Party
    Dr Prof Gen Central National
  ]])
  for w in pairs(STOP) do if not keep[w] then SKIP_WORD[w] = true end end
  for w in pairs(WEEKDAYS) do SKIP_WORD[w] = true end
end

-- Words that make a capitalised run an organisation or a thing, not a person.
local ORG_WORDS = set(words [[
  Inc Ltd Corp Corporation Company Co Group Holdings Technologies Technology Systems Ministry Bureau
  Committee University College School Academy Institute Center Centre Council Agency Times Daily
  News Office Department Commission Association Bank Fund Party Government Court Army Navy Police
  Union Federation Organization Organisation Foundation Club Team Airlines Airways Motors Press Post
  Journal Media Network Society Hospital Embassy Consulate Administration Authority Board Assembly
  Parliament Congress Senate Service Services Force Forces Corps Command Republic Kingdom States
  City Province Region County District Street Road Square Port Pass Island Islands Lake River
  Mountain Mountains Sea Ocean Bay Initiative Project Program Programme Plan Strategy Summit Forum
  Conference Games Cup Day Week Year Festival Awards Award Prize Resolution Act Law Treaty Agreement
  Accord Declaration Charter Convention Protocol Index Exchange Market Airport Station Railway Belt
  Dialogue Partnership Cooperation Development Research Studies Affairs Security Economic Trade
]])

-- Title words: a title before a name is a run of these ending in a HEAD ("Foreign Minister").
local TITLE_HEADS = set(words [[
  President Premier Minister Chairman Chairwoman Chairperson Chair Secretary Secretary-General
  General Spokesperson Spokesman Spokeswoman Ambassador Envoy Governor Mayor Senator Chancellor
  King Queen Prince Princess Emperor Empress Pope Admiral Colonel Commander Marshal Director
  Director-General Professor Commissioner Speaker Councilor Councillor CEO Officer Leader Judge
  Justice Representative Congressman Congresswoman Sheikh Emir Sultan Archbishop Bishop Cardinal
  Captain Lieutenant Sergeant Consul Consul-General Counselor Adviser Advisor Dean Rector Coach
  Dr Prof Gen Sen Rep Gov Lt Col Capt Adm Maj Sgt Amb FM PM President-elect
]])
local TITLE_ABBREV = set { "Dr", "Prof", "Gen", "Sen", "Rep", "Gov", "Lt", "Col", "Capt", "Adm",
  "Maj", "Sgt", "Amb" }
local TITLE_MODS = set(words [[
  Foreign Prime Vice Deputy Acting Assistant Associate Executive Senior Chief State Special
  Permanent First Crown Supreme Grand Managing Defense Defence Finance Trade Commerce Interior Home
  Health Education Energy Agriculture Economy Economic Culture Labor Labour Transport Transportation
  Environment Science Technology Industry Development Security National Public Information Tourism
  Communications Treasury Internal External Affairs Attorney Party Major Rear Regional Provincial
  Municipal Federal High Under Parliamentary Lord Opposition Majority Minority Army Navy Air Force
  Military Intelligence Police Emergency Water Resources Natural Social Sports Digital Veterans
  Housing Investment Cabinet Central Commerce Justice General Secretary Chairman Lieutenant Ecology
  Commercial Consular Political Presidential
]])
local TITLE_CONNECT = set { "of", "for", "and", "the" }

-- Lower-case titles before a name: "spokesperson Mao Ning", "analyst Li Wei".
local LOWER_HEADS = set(words [[
  spokesperson spokesman spokeswoman minister president premier ambassador envoy analyst expert
  professor economist researcher director chairman chairwoman chief leader secretary governor mayor
  senator lawmaker commander scholar editor correspondent reporter columnist strategist adviser
  advisor consultant founder ceo dean lecturer historian commentator diplomat negotiator counselor
  judge coach
]])
local LOWER_MODS = set(words [[
  foreign prime vice deputy acting assistant associate executive senior chief state special
  defense defence finance trade commerce political military economic research news party general
  managing principal lead top veteran visiting international security policy ministry
]])

-- An appositive ("Zhu Yongbiao, executive director of ...") is a title when one of these words
-- comes within its first four words.
local APPOSITIVE_HEADS = set(words [[
  director minister president vice deputy spokesperson spokesman spokeswoman professor researcher
  fellow analyst expert chairman chairwoman chair head chief ceo ambassador envoy secretary dean
  editor member founder co-founder manager officer economist scholar governor mayor senator
  lawmaker adviser advisor consultant lecturer correspondent commentator executive leader partner
  premier general judge commander strategist historian diplomat official representative
  coordinator administrator principal chancellor counselor counsellor attorney lawyer specialist
  president-elect secretary-general director-general
]])

local SAY = set(words [[
  said says say added adds noted notes stressed stresses told tells stated states explained
  explains remarked remarks wrote writes asked asks warned warns argued argues insisted insists
  emphasized emphasised emphasizes emphasises continued concluded commented comments replied
  responded recalled acknowledged admitted claimed declared observed underlined underscored
  highlighted urged cautioned predicted announced tweeted posted believes suggested suggests
  maintained contended affirmed reiterated confirmed pointed
]])
local ADVERBS = set { "also", "later", "then", "further", "once", "previously", "earlier", "recently",
  "separately", "repeatedly", "has", "had", "have" }
local PARTICLES = set { "von", "van", "der", "den", "de", "da", "di", "du", "del", "della", "la", "le",
  "bin", "ibn", "al", "el", "ben", "dos", "das", "do", "ter", "ten", "y" }

-- ============================================================================ money tables
local SCALES = {
  thousand = { 3 }, million = { 6 }, billion = { 9 }, trillion = { 12 },
  bn = { 9 }, mn = { 6 }, mln = { 6 }, bln = { 9 }, tn = { 12 }, trn = { 12 },
  lakh = { 5 }, lakhs = { 5 }, crore = { 7 }, crores = { 7 },
  m = { 6, true }, k = { 3, true }, b = { 9, true },   -- only written attached: $5m, $50k, $2b
}
-- letters written before "$"
local DOLLAR_PREFIX = { US = "USD", HK = "HKD", A = "AUD", AU = "AUD", C = "CAD", CA = "CAD",
  NZ = "NZD", S = "SGD", NT = "TWD", R = "BRL", MX = "MXN" }
-- symbols other than "$" (the yen sign is decided per record, see yen_code)
local SYMBOLS = {
  { "\226\130\172", "EUR" },      -- €
  { "\194\163", "GBP" },          -- £
  { "\194\165", "YEN" },          -- ¥
  { "\239\191\165", "YEN" },      -- ￥ (full width)
  { "\226\130\185", "INR" },      -- ₹
  { "\226\130\189", "RUB" },      -- ₽
  { "\226\130\169", "KRW" },      -- ₩
  { "\226\130\186", "TRY" },      -- ₺
  { "\226\130\180", "UAH" },      -- ₴
  { "\226\130\184", "KZT" },      -- ₸
}
-- currency codes written before the number: "RMB 5 billion", "USD 300"
local CODE_PREFIX = { USD = "USD", EUR = "EUR", GBP = "GBP", JPY = "JPY", CNY = "CNY", RMB = "CNY",
  HKD = "HKD", INR = "INR", RUB = "RUB", CHF = "CHF", KRW = "KRW", AUD = "AUD", CAD = "CAD",
  SGD = "SGD", KGS = "KGS", KZT = "KZT", UZS = "UZS", TJS = "TJS", Rs = "INR" }
-- words written after the number (lower case). needs_scale: only with a scale ("5 million
-- pounds", never "200 pounds" which is usually a weight).
local SUFFIXES = {
  { "yuan", "CNY" }, { "renminbi", "CNY" }, { "rmb", "CNY" }, { "cny", "CNY" },
  { "us dollars", "USD" }, { "us dollar", "USD" }, { "u.s. dollars", "USD" }, { "u.s. dollar", "USD" },
  { "american dollars", "USD" }, { "usd", "USD" },
  { "dollars", "DOLLAR" }, { "dollar", "DOLLAR" },
  { "hong kong dollars", "HKD" }, { "australian dollars", "AUD" }, { "canadian dollars", "CAD" },
  { "singapore dollars", "SGD" }, { "new taiwan dollars", "TWD" }, { "taiwan dollars", "TWD" },
  { "nt dollars", "TWD" }, { "new zealand dollars", "NZD" },
  { "euros", "EUR" }, { "euro", "EUR" }, { "eur", "EUR" },
  { "pounds sterling", "GBP" }, { "pound sterling", "GBP" }, { "sterling", "GBP", true },
  { "pounds", "GBP", true }, { "gbp", "GBP" },
  { "yen", "JPY" }, { "jpy", "JPY" },
  { "rubles", "RUB" }, { "roubles", "RUB" }, { "rub", "RUB" },
  { "indian rupees", "INR" }, { "rupees", "INR" }, { "pakistani rupees", "PKR" }, { "inr", "INR" },
  { "won", "KRW", true }, { "swiss francs", "CHF" }, { "chf", "CHF" },
  { "som", "KGS" }, { "soms", "KGS" }, { "kgs", "KGS" }, { "tenge", "KZT" }, { "somoni", "TJS" },
  { "riyals", "SAR" }, { "dirhams", "AED" }, { "lira", "TRY" }, { "rand", "ZAR", true },
  { "baht", "THB" }, { "ringgit", "MYR" }, { "rupiah", "IDR" }, { "dong", "VND", true },
  { "reais", "BRL" }, { "hryvnias", "UAH" }, { "zloty", "PLN" },
}
local SUFFIX_INDEX = {}
for _, s in ipairs(SUFFIXES) do
  local key = match(s[1], "^%a+")
  local l = SUFFIX_INDEX[key]
  if not l then l = {}; SUFFIX_INDEX[key] = l end
  l[#l + 1] = { phrase = s[1], code = s[2], needs_scale = s[3] or false, len = #s[1] }
end
for _, l in pairs(SUFFIX_INDEX) do sort(l, function(a, b) return a.len > b.len end) end

-- words after a number that may make it a percentage or a range
local NUMBER_WORDS = set { "percent", "per", "pct", "to", "and" }

local POW10 = { [0] = 1 }
for i = 1, 18 do POW10[i] = POW10[i - 1] * 10 end

-- ============================================================================ configuration
local ALL_FIELDS = { "money", "percentages", "people", "quotes", "organizations", "places",
  "countries", "dates" }
local KNOWN_OPTIONS = set { "fields", "extract", "prefix", "gazetteer", "published", "dollar", "yen" }

local config = {
  fields = { "title", "body" },
  extract = set(ALL_FIELDS),
  prefix = "",
  gazetteer = "gazetteer",
  published = "published",
  dollar = "USD",
  yen = "auto",
}

local GAZ = {}          -- the gazetteer as a word trie: first word -> node (see build_gazetteer)
local GAZ_KIND = {}     -- canonical place name -> its kind ("country", "city", ...)
local gazetteer_loaded  -- module name GAZ was built from

local function build_gazetteer(module_name)
  local ok, g = pcall(require, module_name)
  if not ok then
    error("extract_facts: cannot load gazetteer module '" .. tostring(module_name) .. "': " .. tostring(g), 0)
  end
  if type(g) ~= "table" then
    error("extract_facts: gazetteer module '" .. module_name .. "' must return a table", 0)
  end
  local byname, order = {}, {}
  local function add(name, canonical, class, kind)
    if type(name) ~= "string" or name == "" then
      error("extract_facts: gazetteer entry for '" .. tostring(canonical) .. "' has a name that is not a string", 0)
    end
    local key = match(name, KEY)
    if not key then
      error("extract_facts: gazetteer name '" .. name .. "' must start with a capital letter", 0)
    end
    local e = { name = name, len = #name, key = key, canonical = canonical, class = class, kind = kind }
    if not byname[name] then order[#order + 1] = name end
    byname[name] = e
    if find(name, "'", 1, true) then
      local curly = name:gsub("'", "\226\128\153")
      if not byname[curly] then order[#order + 1] = curly end
      byname[curly] = { name = curly, len = #curly, key = key, canonical = canonical, class = class, kind = kind }
    end
  end
  local function add_list(list, class)
    if list == nil then return end
    if type(list) ~= "table" then error("extract_facts: gazetteer." .. class .. " must be a list", 0) end
    for i, entry in ipairs(list) do
      if type(entry) == "string" then entry = { entry } end
      if type(entry) ~= "table" or type(entry[1]) ~= "string" then
        error("extract_facts: gazetteer." .. class .. "[" .. i .. "] must be a list starting with a name", 0)
      end
      local canonical = entry[1]
      local kind = class == "places" and (entry.kind or "place") or nil
      if kind then GAZ_KIND[canonical] = kind end
      for j = 1, #entry do add(entry[j], canonical, class, kind) end
      if type(entry.adj) == "string" then
        for adj in gmatch(entry.adj, "[^,]+") do
          adj = match(adj, "^%s*(.-)%s*$")
          if adj ~= "" then
            add(adj, canonical, class, kind)
            if find(adj, "[ni]$") then add(adj .. "s", canonical, class, kind) end
          end
        end
      end
    end
  end
  add_list(g.places, "places")
  add_list(g.organizations, "organizations")
  -- a trie of words: root[first word] -> node { entry, kids = { [separator..word] = node },
  -- tails = { { trailing punctuation such as "." of "U.S.", entry } } }
  local root = {}
  for _, name in ipairs(order) do
    local e = byname[name]
    local node = root[e.key]
    if not node then node = {}; root[e.key] = node end
    local pos = #e.key + 1
    while true do
      local tok, np = match(name, TOKEN, pos)
      if not tok then break end
      local kids = node.kids
      if not kids then kids = {}; node.kids = kids; node.pre = {} end
      node.pre[byte(tok, 1) * 256 + byte(tok, 2)] = true
      local child = kids[tok]
      if not child then child = {}; kids[tok] = child end
      node, pos = child, np
    end
    local tail = sub(name, pos)
    if tail == "" then
      node.entry = e
    else
      local tails = node.tails
      if not tails then tails = {}; node.tails = tails end
      local replaced = false
      for i = 1, #tails do
        if tails[i][1] == tail then tails[i][2] = e; replaced = true end
      end
      if not replaced then tails[#tails + 1] = { tail, e } end
    end
  end
  GAZ = root
  gazetteer_loaded = module_name
end

local function string_list(v, what)
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then error("extract_facts: option '" .. what .. "' must be a list of strings", 0) end
  local out = {}
  for i, x in ipairs(v) do
    if type(x) ~= "string" then error("extract_facts: option '" .. what .. "' must be a list of strings", 0) end
    out[i] = x
  end
  return out
end

-- edit distance between two short strings (for "did you mean" in option errors)
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = byte(a, i) == byte(b, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function suggestion(word, candidates)
  local best, best_d
  for _, c in ipairs(candidates) do
    local d = distance(word, c)
    if d <= 2 and (not best_d or d < best_d) then best, best_d = c, d end
  end
  return best and (" (did you mean '" .. best .. "'?)") or ""
end

--- Called once per Lua state with the stage's `options` (may be nil).
function init(options)
  if options == nil or (sluice and options == sluice.null) then options = {} end
  if type(options) ~= "table" then error("extract_facts: options must be a table", 0) end
  for k in pairs(options) do
    if not KNOWN_OPTIONS[k] then
      local names = {}
      for n in pairs(KNOWN_OPTIONS) do names[#names + 1] = n end
      sort(names)
      local hint = type(k) == "string" and suggestion(k, names) or ""
      error("extract_facts: unknown option '" .. tostring(k) .. "'" .. hint .. " (known: " .. concat(names, ", ") .. ")", 0)
    end
  end
  if options.fields ~= nil then config.fields = string_list(options.fields, "fields") end
  if options.extract ~= nil then
    local ex = {}
    for _, f in ipairs(string_list(options.extract, "extract")) do
      local known = false
      for _, a in ipairs(ALL_FIELDS) do if a == f then known = true end end
      if not known then
        error("extract_facts: option 'extract' names unknown field '" .. f .. "'" .. suggestion(f, ALL_FIELDS)
          .. " (known: " .. concat(ALL_FIELDS, ", ") .. ")", 0)
      end
      ex[f] = true
    end
    config.extract = ex
  end
  if options.prefix ~= nil then
    if type(options.prefix) ~= "string" then error("extract_facts: option 'prefix' must be a string", 0) end
    config.prefix = options.prefix
  end
  if options.published ~= nil then
    if type(options.published) ~= "string" then error("extract_facts: option 'published' must be a string", 0) end
    config.published = options.published
  end
  if options.dollar ~= nil then
    if type(options.dollar) ~= "string" or not match(options.dollar, "^%u%u%u$") then
      error("extract_facts: option 'dollar' must be a three-letter ISO 4217 code such as USD", 0)
    end
    config.dollar = options.dollar
  end
  if options.yen ~= nil then
    if options.yen ~= "auto" and options.yen ~= "JPY" and options.yen ~= "CNY" then
      error("extract_facts: option 'yen' must be \"auto\", \"JPY\" or \"CNY\"", 0)
    end
    config.yen = options.yen
  end
  if options.gazetteer ~= nil then
    if type(options.gazetteer) ~= "string" then error("extract_facts: option 'gazetteer' must be a module name", 0) end
    config.gazetteer = options.gazetteer
  end
  if gazetteer_loaded ~= config.gazetteer then build_gazetteer(config.gazetteer) end
end

-- ============================================================================ numbers
-- Value of the decimal number INT.FRAC times 10^exp: an integer when it is whole and fits in 64
-- bits, else a float (correctly rounded: built as "mantissa e exponent" and read by tonumber).
local function decimal_value(int, frac, exp)
  local mant = match(int .. frac, "^0*(%d*)$")
  if mant == "" then return 0 end
  local e = exp - #frac
  if e >= 0 and #mant + e <= 18 then return tonumber(mant) * POW10[e] end
  local f = tonumber(mant .. "e" .. e)
  return tointeger(f) or f
end

-- Reads a number at s: digits, thousands groups (",ddd", or " ddd" as in "10 000 euros"), and
-- a decimal part (".d", or a decimal comma before a scale word: "€1,5 million").
-- Returns int digits (no separators), fraction digits, position after the number.
local function read_number(text, s)
  local int, p = match(text, "^(%d+)()", s)
  if not int then return nil end
  if #int <= 3 then
    for _, sep in ipairs({ ",", " " }) do
      local grouped = false
      for _ = 1, 8 do                    -- up to 10^27: more groups are not an amount
        local g, p2 = match(text, "^" .. sep .. "(%d%d%d)()", p)
        if not g or is_digit(byte(text, p2)) then break end
        int = int .. g
        p = p2
        grouped = true
      end
      if grouped then break end
    end
  end
  local frac, p3 = match(text, "^%.(%d+)()", p)
  if frac then return int, frac, p3 end
  -- A decimal comma where it cannot be a thousands separator (those take three digits): one
  -- or two digits ("€2,50", "12,50 euros", "2 500,00 euros", "1,5 million", "2,5 percent").
  local dfrac, after = match(text, "^,(%d%d?)()", p)
  if dfrac and not is_digit(byte(text, after)) then return int, dfrac, after end
  return int, "", p
end

-- A scale word after a number at p ("billion", "-billion", "bn", attached "m"/"k"/"b").
local function read_scale(text, p)
  local b = byte(text, p)
  if b ~= 32 and b ~= 45 and not is_letter(b) then return nil, p end
  local sep, w, q = match(text, "^([ %-]?)(%a+)()", p)
  if not w then return nil, p end
  local sc = SCALES[lower(w)]
  if not sc then return nil, p end
  if sc[2] and sep ~= "" then return nil, p end
  return sc[1], q
end

-- A percent sign or word after a number at p. Returns the position after it.
local function read_percent(text, p)
  local b = byte(text, p)
  if b == 37 then return p + 1 end
  if b == 32 and byte(text, p + 1) == 37 then return p + 2 end
  if b == 239 and sub(text, p, p + 2) == "\239\188\133" then return p + 3 end   -- ％
  local w, q = match(text, "^[ %-]?(%a+)()", p)
  if not w then return nil end
  w = lower(w)
  if w == "percent" or w == "pct" then return q end
  if w == "per" then return match(text, "^[ %-][Cc]ent()%f[%A]", q) end
  return nil
end

-- A currency written before the number at s. Returns code, start of the currency text, and the
-- currency text itself (so a range's second number can repeat it).
local function read_currency_before(text, s)
  local p = s - 1
  local b = byte(text, p)
  if b == 32 then p = p - 1; b = byte(text, p) end
  if not b then return nil end
  if b == 36 then                                   -- $
    local st, letters = match(sub(text, max(1, p - 3), p - 1), "()(%u*)$")
    local code = letters ~= "" and DOLLAR_PREFIX[letters] or nil
    local start = code and (max(1, p - 3) + st - 1) or p
    if code and is_letter(byte(text, start - 1)) then code, start = nil, p end
    return code or "DOLLAR", start, sub(text, start, p)
  end
  if b >= 128 then
    for i = 1, #SYMBOLS do
      local sym = SYMBOLS[i][1]
      local st = p - #sym + 1
      if st >= 1 and sub(text, st, p) == sym then
        local code = SYMBOLS[i][2]
        if code == "YEN" then
          local two = sub(text, max(1, st - 2), st - 1)
          if two == "JP" then code, st = "JPY", st - 2
          elseif two == "CN" then code, st = "CNY", st - 2 end
        end
        return code, st, sub(text, st, p)
      end
    end
    return nil
  end
  if (b >= 65 and b <= 90) or b == 115 or b == 46 then     -- USD, RMB, Rs, Rs.
    local from = max(1, p - 4)
    local st, code = match(sub(text, from, p), "%f[%a]()(%a%a%a?)%.?$")
    if code and CODE_PREFIX[code] then
      local start = from + st - 1
      return CODE_PREFIX[code], start, sub(text, start, p)
    end
  end
  return nil
end

-- A currency word after position p (after the number and its scale).
local function read_currency_after(text, p, has_scale)
  local b = byte(text, p)
  if b ~= 32 and b ~= 45 and not is_letter(b) then return nil end
  local ws, w = match(text, "^[ %-]?()(%a+)", p)
  if not w then return nil end
  local cands = SUFFIX_INDEX[lower(w)]
  if not cands then return nil end
  for i = 1, #cands do
    local c = cands[i]
    local e = ws + c.len - 1
    if (not c.needs_scale or has_scale) and lower(sub(text, ws, e)) == c.phrase
       and not is_word_byte(byte(text, e + 1)) then
      return c.code, e + 1
    end
  end
  return nil
end

-- Range connector after a number at p: "-", "–", "—" (with or without spaces), " to ", " and ".
-- Returns the position after it and its kind ("dash", "to", "and"), or nil.
local function read_connector(text, p)
  local b = byte(text, p)
  local q = p
  if b == 32 then
    local b2 = byte(text, p + 1)
    if b2 == 116 and sub(text, p + 1, p + 3) == "to " then return p + 4, "to" end
    if b2 == 97 and sub(text, p + 1, p + 4) == "and " then return p + 5, "and" end
    q, b = p + 1, b2
  end
  if b == 45 then
    q = q + 1
  elseif b == 226 then
    local d = sub(text, q, q + 2)
    if d ~= "\226\128\147" and d ~= "\226\128\148" then return nil end
    q = q + 3
  else
    return nil
  end
  if byte(text, q) == 32 then q = q + 1 end
  return q, "dash"
end

-- the lower-cased word written right before the space before s ("between $2 billion"), or nil
local function word_before(text, s)
  if byte(text, s - 1) ~= 32 then return nil end
  local i = s - 2
  while i >= 1 and is_letter(byte(text, i)) do i = i - 1 end
  if i == s - 2 then return nil end
  return lower(sub(text, i + 1, s - 2))
end

-- ============================================================================ dates
local function is_leap(y) return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0 end
local MONTH_DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
local function month_length(y, m)
  if m == 2 and is_leap(y) then return 29 end
  return MONTH_DAYS[m]
end
-- days since 1970-01-01 (proleptic Gregorian)
local function day_number(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function iso(y, m, d)
  return string.format("%04d-%02d-%02d", y, m, d)
end

-- The year for a "month day" written without one: of the publication year and the years either
-- side, the one that puts the date nearest to the publication date.
local function infer_year(m, d, pub)
  if not pub then return nil end
  local py, pm, pd = pub[1], pub[2], pub[3]
  if not pm then
    if d <= month_length(py, m) then return py end
    return nil
  end
  local pn = day_number(py, pm, pd)
  local best, best_diff
  for y = py - 1, py + 1 do
    if d <= month_length(y, m) then
      local diff = abs(day_number(y, m, d) - pn)
      if not best or diff < best_diff then best, best_diff = y, diff end
    end
  end
  return best
end

local function valid_year(y) return y >= 1800 and y <= 2199 end

local ORDINAL = set { "st", "nd", "rd", "th" }

-- day written at p, with an optional ordinal suffix: returns day, position after
local function read_day(text, p)
  local d, q = match(text, "^(%d%d?)()", p)
  if not d or is_digit(byte(text, q)) then return nil end
  local suf, q2 = match(text, "^(%a%a)()", q)
  if suf then
    if ORDINAL[suf] and not is_word_byte(byte(text, q2)) then q = q2 else return nil end
  elseif is_letter(byte(text, q)) then
    return nil
  end
  return tonumber(d), q
end

-- ============================================================================ per-record state
local S  -- the state of the record being processed (see new_state)

-- Whether the text has Cyrillic (lead bytes D0, D1) or CJK (E3-E9) characters: plain
-- searches (a memchr each), as a character-class pattern costs ~20 ns per byte of text.
local SCRIPT_BYTES = { "\208", "\209", "\228", "\229", "\230", "\231", "\232", "\233", "\227" }
local function has_foreign_script(text)
  for i = 1, #SCRIPT_BYTES do
    if find(text, SCRIPT_BYTES[i], 1, true) then return true end
  end
  return false
end

local function new_state(text, pub)
  return {
    text = text, pub = pub,
    money = {}, money_spans = {}, percentages = {},
    dates = {},                   -- { pos, iso }
    orgs = {}, org_seen = {},
    places = {}, place_seen = {}, countries = {},
    persons = {}, by_name = {}, by_word = {}, mentions = {}, singles = 0,
    quotes = {},
    yen = nil,
    -- any byte of Cyrillic (D0/D1) or CJK (E3–E9): the title-and-name rules of those
    -- languages run only then, so other text costs one search
    foreign = has_foreign_script(text),
  }
end

local function add_date(pos, y, m, d)
  if not y or m < 1 or m > 12 or d < 1 or d > month_length(y, m) then return end
  local dates = S.dates
  dates[#dates + 1] = { pos, iso(y, m, d) }
end

local function gazetteer_hit(e)
  local name = e.canonical
  if e.class == "organizations" then
    if not S.org_seen[name] then S.org_seen[name] = true; S.orgs[#S.orgs + 1] = name end
  else
    if not S.place_seen[name] then
      S.place_seen[name] = true
      S.places[#S.places + 1] = name
      if e.kind == "country" then S.countries[#S.countries + 1] = name end
    end
  end
end

-- the gazetteer entry written at s (where the capitalised word w starts), longest first
local function gazetteer_at(text, s, w)
  local node = GAZ[w]
  if not node then return nil end
  local p = s + #w
  local best, best_e = node.entry, p - 1
  while true do
    local tails = node.tails
    if tails then
      for i = 1, #tails do
        local t = tails[i][1]
        local e = p + #t - 1
        if sub(text, p, e) == t and not is_word_byte(byte(text, e + 1)) then
          best, best_e = tails[i][2], e
          break
        end
      end
    end
    local kids = node.kids
    if not kids then break end
    local b1, b2 = byte(text, p, p + 1)
    if not b2 or not node.pre[b1 * 256 + b2] then break end
    local tok, np = match(text, TOKEN, p)
    if not tok then break end
    node = kids[tok]
    if not node then break end
    p = np
    if node.entry then best, best_e = node.entry, np - 1 end
  end
  if best then return best, best_e end
  return nil
end

-- ============================================================================ people
local function mention(p, pos)
  local m = S.mentions
  m[#m + 1] = { pos, p }
end

-- Adds (or merges) a person. nwords: words in name. strong: the name came right after a
-- capitalised title ("President Japarov"), so a one-word name is kept.
local function add_person(name, nwords, title, pos, strong)
  local by_name, by_word = S.by_name, S.by_word
  if nwords == 1 then
    local p = by_name[name] or by_word[name]
    if p then
      if title and not p.title then p.title = title end
      mention(p, pos)
      return p
    end
    if not strong then return nil end
    p = { name = name, title = title, pos = pos, single = true }
    S.singles = S.singles + 1
    by_name[name] = p
    S.persons[#S.persons + 1] = p
    mention(p, pos)
    return p
  end
  local p = by_name[name]
  if not p then
    for w in gmatch(name, "[^ %-]+") do
      local q = by_name[w]
      if q and q.single then p = q; break end
    end
    if p then
      by_name[p.name] = nil
      p.name, p.single = name, false
    else
      p = { name = name, title = title, pos = pos }
      S.persons[#S.persons + 1] = p
    end
    by_name[name] = p
    for w in gmatch(name, "[^ ]+") do
      if not PARTICLES[w] and (#w > 2 or (#w == 2 and not match(w, "%.$"))) then by_word[w] = p end
    end
  end
  if title and not p.title then p.title = title end
  mention(p, pos)
  return p
end

-- Reads a person's name at s: 1 to 4 capitalised words (with particles such as "bin" or "van
-- der", initials such as "W.", hyphens and apostrophes inside words). first: the first word when
-- the caller has read it. Returns the position of the last byte, the number of words, and whether
-- a word marks an organisation or thing ("Research Center", "Belt"), or nil.
local function read_name(text, s, first)
  local p, n, last, org = s, 0, nil, false
  while true do
    local w, we
    if first then w, we = first, s + #first; first = nil else w, we = match(text, NAME_STEP, p) end
    if not w then
      if n == 0 then return nil end
      -- a particle between capitalised words: "Ursula von der Leyen", "Bashar al-Assad"
      local pw, pe = match(text, "^(%l+)[ %-]()", p)
      if not pw or not PARTICLES[pw] then break end
      local pw2, pe2 = match(text, "^(%l+) ()", pe)
      if pw2 and PARTICLES[pw2] then pe = pe2 end
      if not match(text, "^[%u\195-\223]", pe) then break end
      p = pe
    else
      if n > 0 then
        if STOP[w] or WEEKDAYS[w] then break end
        -- "Theresa May" is a name, "Wang Yi November 19" is not
        if MONTHS[w] and byte(text, we) == 32 and is_digit(byte(text, we + 1)) then break end
        local g = GAZ[w]
        if g and g.entry then break end   -- a one-word place/org
      end
      if ORG_WORDS[w] then org = true end
      local c = byte(text, we)
      -- inside-word joins: Jean-Luc, O'Brien
      while (c == 45 or c == 39) and match(text, "^[%u\195-\223]", we + 1) do
        we = match(text, NAME_WORD_END, we + 1)
        c = byte(text, we)
      end
      n = n + 1
      if n > 4 then return nil end
      last = we - 1
      if c == 46 and (we - p == 1 or w == "Jr" or w == "Sr") then   -- an initial "W." or "Jr."
        last = we
        we = we + 1
        c = byte(text, we)
      end
      if c ~= 32 then break end
      p = we + 1
    end
  end
  if n == 0 then return nil end
  return last, n, org
end

-- "..., executive director of the Research Center ..., told": the title in an appositive that
-- starts at q (just after ", "). Returns the title or nil.
local function read_appositive(text, q)
  if not match(text, "^%l", q) then return nil end
  local window = sub(text, q, q + 220)
  local stop = find(window, "[,;:%(%)\"\n]")
  if not stop and #window > 220 then return nil end
  local phrase = sub(window, 1, (stop or #window + 1) - 1)
  local curly = find(phrase, "\226\128[\156\157]")
  if curly then phrase = sub(phrase, 1, curly - 1) end
  -- a sentence end inside: cut there (but not after an initial such as "U.S.")
  local from = 1
  while true do
    local d = find(phrase, "%.%s", from)
    if not d then break end
    if not match(sub(phrase, max(1, d - 2), d - 1), "^[%.%s]?%u$") then
      phrase = sub(phrase, 1, d - 1)
      break
    end
    from = d + 1
  end
  phrase = trim(phrase, 46)
  -- drop leading "also", "a", "an", "the", "now"
  while true do
    local rest = match(phrase, "^also (.*)$") or match(phrase, "^an? (.*)$") or match(phrase, "^the (.*)$")
      or match(phrase, "^now (.*)$")
    if not rest then break end
    phrase = rest
  end
  local i = 0
  for w in gmatch(phrase, "[%a%-]+") do
    i = i + 1
    if i > 4 then break end
    if APPOSITIVE_HEADS[lower(w)] then
      if phrase == "" then return nil end
      return phrase
    end
  end
  return nil
end

-- start of the lower-case word (letters and hyphens) that ends at e, or nil
local function lower_word_before(text, e)
  local i = e
  while i >= 1 do
    local b = byte(text, i)
    if (b >= 97 and b <= 122) or b == 45 then i = i - 1 else break end
  end
  if i == e or is_word_byte(byte(text, i)) then return nil end
  return i + 1
end

-- A lower-case title right before the name at s ("spokesperson Mao Ning"). Returns it or nil.
local function lower_title_before(text, s)
  if byte(text, s - 1) ~= 32 then return nil end
  local hs = lower_word_before(text, s - 2)
  if not hs or not LOWER_HEADS[sub(text, hs, s - 2)] then return nil end
  local start = hs
  for _ = 1, 3 do
    if byte(text, start - 1) ~= 32 then break end
    local ms = lower_word_before(text, start - 2)
    if not ms or not LOWER_MODS[sub(text, ms, start - 2)] then break end
    start = ms
  end
  return sub(text, start, s - 2)
end

-- A capitalised title starting at s with the title word w, followed by a name:
-- "Foreign Minister Wang Yi", "Secretary of State Antony Blinken", "Dr. Jane Smith".
-- Returns the title's end, the name's start, or nil.
local function read_title(text, s, w)
  local p = s + #w            -- just after the current word
  local last_head = nil       -- where the title can end: after a head word, or after the
                              -- portfolio that follows "of"/"for" ("Secretary of State")
  local cur = w
  local nwords = 1
  local portfolio = false
  while true do
    if TITLE_HEADS[cur] or portfolio then last_head = p - 1 end
    if TITLE_ABBREV[cur] and byte(text, p) == 46 then
      p = p + 1
      if TITLE_HEADS[cur] then last_head = p - 1 end
    end
    local sep = byte(text, p)
    if sep == 45 then
      local q = match(text, "^%-elect()", p) or match(text, "^%-designate()", p)
      if q then p = q; last_head = p - 1; sep = byte(text, p) end
    end
    if sep ~= 32 and sep ~= 45 then return nil end
    -- next word
    local ns = p + 1
    local nw = match(text, NAME_WORD, ns)
    if nw and (TITLE_HEADS[nw] or TITLE_MODS[nw]) and nwords < 8 then
      cur, p, nwords = nw, ns + #nw, nwords + 1
    elseif sep == 32 and nw then
      -- a name starts here: the title must end with a head word right before it
      if last_head == p - 1 and not TITLE_HEADS[nw] and not TITLE_MODS[nw] then return last_head, ns end
      return nil
    else
      -- "Secretary of State", "Minister of Foreign Affairs", "Minister for Trade and Industry"
      local cw, cq = match(text, "^(%l+) ()", ns)
      if sep == 32 and cw and TITLE_CONNECT[cw] and nwords < 8 then
        local cw2, cq2 = match(text, "^(%l+) ()", cq)
        if cw2 == "the" then cq = cq2 end
        local nw2 = match(text, "^([%u][%a]*)", cq)
        if nw2 and (TITLE_HEADS[nw2] or TITLE_MODS[nw2]) then
          if last_head and (cw == "of" or cw == "for") then portfolio = true end
          cur, p, nwords = nw2, cq + #nw2, nwords + 1
        else
          return nil
        end
      else
        return nil
      end
    end
  end
end

-- handles a capitalised title word at s; returns the end of the name when a person was found
local function title_person(text, s, w)
  local te, ns = read_title(text, s, w)
  if not te then return nil end
  local ne, n, org = read_name(text, ns)
  if not ne or org then return nil end
  local name = sub(text, ns, ne)
  if gazetteer_at(text, ns, match(text, KEY, ns)) then return nil end
  add_person(name, n, sub(text, s, te), ns, true)
  return ne
end

-- handles a capitalised word at s that may start a name; returns the end of the name read
local function name_candidate(text, s, w)
  local ne, n, org = read_name(text, s, w)
  if not ne then return nil end
  if org then return ne end
  local name = sub(text, s, ne)
  local after = byte(text, ne + 1)
  if after == 44 and byte(text, ne + 2) == 32 then
    local title = read_appositive(text, ne + 3)
    if title then add_person(name, n, title, s, false); return ne end
  end
  local lt = lower_title_before(text, s)
  if lt then add_person(name, n, lt, s, n > 1); return ne end
  if after == 32 then
    local v, q = match(text, "^(%l+)()", ne + 2)
    if v and ADVERBS[v] then v = match(text, "^ (%l+)", q) end
    if v and SAY[v] then add_person(name, n, nil, s, false); return ne end
  end
  if n == 1 then
    local p = S.by_word[name] or S.by_name[name]
    if p then mention(p, s) end
  else
    local p = S.by_name[name]
    if p then
      mention(p, s)
    elseif S.singles > 0 then
      -- the full name of a person first named by one word ("President Japarov")
      for w in gmatch(name, "[^ ]+") do
        local q = S.by_name[w]
        if q and q.single then add_person(name, n, nil, s, false); break end
      end
    end
  end
  return ne
end

-- ============================================================================ the capitalised-word pass
-- One pass over capitalised words finds gazetteer names, dates written with a month name, titles
-- and names. Words inside something already found are skipped.
local function date_at_month(text, s, w, month)
  local p = s + #w
  if MONTH_ABBREV[w] and byte(text, p) == 46 then p = p + 1 end
  local pub = S.pub
  -- "November 19", "November 19th", "November 19, 2025", "November 19 to 22", "November 19-22, 2025"
  if byte(text, p) == 32 then
    local d, q = read_day(text, p + 1)
    if d then
      local d2, q2
      local c = match(text, "^ ?%- ?()", q) or match(text, "^ ?\226\128\147 ?()", q)
        or match(text, "^ to ()", q) or match(text, "^ through ()", q) or match(text, "^ and ()", q)
      if c then
        d2, q2 = read_day(text, c)
        if d2 and (d2 <= d or read_percent(text, q2) or match(text, "^ %a", q2) and MONTHS[match(text, "^ (%a+)", q2)]) then
          d2 = nil
        end
        if d2 then q = q2 end
      end
      local y, q3 = match(text, "^,? (%d%d%d%d)()", q)
      if y and not is_digit(byte(text, q3)) and valid_year(tonumber(y)) then
        y = tonumber(y); q = q3
      else
        y = nil
      end
      local y1 = y or infer_year(month, d, pub)
      add_date(s, y1, month, d)
      if d2 then add_date(s + 1, y or infer_year(month, d2, pub), month, d2) end
      return q - 1
    end
  end
  -- "19 November 2025", "19th of November", "19-22 November 2025"
  local before = sub(text, max(1, s - 16), s - 1)
  local ds, d, suf = match(before, "()(%d%d?)(%a*) $")
  if not ds then ds, d, suf = match(before, "()(%d%d?)(%a*) of $") end
  if ds and not is_digit(byte(before, ds - 1)) and byte(before, ds - 1) ~= 46 then
    if suf == "" or ORDINAL[suf] then
      d = tonumber(d)
      local d1 = nil
      local rs, r1 = match(sub(before, 1, ds - 1), "()(%d%d?) ?[%-] ?$")
      if not rs then rs, r1 = match(sub(before, 1, ds - 1), "()(%d%d?) ?\226\128\147 ?$") end
      if r1 and tonumber(r1) < d then d1 = tonumber(r1) end
      local y, q = match(text, "^,? (%d%d%d%d)()", p)
      if y and not is_digit(byte(text, q)) and valid_year(tonumber(y)) then
        y = tonumber(y)
      else
        y, q = nil, p
      end
      local start = s - #before + ds - 1
      if d1 then add_date(start - 1, y or infer_year(month, d1, pub), month, d1) end
      add_date(start, y or infer_year(month, d, pub), month, d)
      return q - 1
    end
  end
  return nil
end

-- handles the capitalised word w at s; returns the end of what it consumed, or nil
local function capitalised_word(text, s, w)
  local hit, he = gazetteer_at(text, s, w)
  if hit then
    gazetteer_hit(hit)
    return he
  end
  -- an all-capitals one-word name, as in a dateline: "BEIJING, Nov. 2 (Xinhua)"
  local n = #w
  if n >= 4 then
    local b2 = byte(w, 2)
    if b2 >= 65 and b2 <= 90 then
      local node = GAZ[sub(w, 1, 1) .. lower(sub(w, 2))]
      if node and node.entry and not find(w, "%l") then
        gazetteer_hit(node.entry)
        return s + n - 1
      end
    end
  end
  local e
  local month = MONTHS[w]
  if month then
    e = date_at_month(text, s, w, month)
    if e then return e end
  end
  if TITLE_HEADS[w] or TITLE_MODS[w] then
    e = title_person(text, s, w)
    if e then return e end
  end
  -- (a month word that starts no date may start a name: "Jan Hatzius", "June Smith")
  if not STOP[w] and not WEEKDAYS[w] and not TITLE_HEADS[w] then
    return name_candidate(text, s, w)
  end
  return nil
end

-- starts of words whose first letter is a non-ASCII capital (Ürümqi, Émile, Łukasz), found with
-- plain searches for the UTF-8 lead bytes of Latin-1 Supplement and Latin Extended-A
local function nonascii_starts(text)
  local out
  for _, lead in ipairs { "\195", "\196", "\197" } do
    local j = find(text, lead, 1, true)
    while j do
      local prev, nb = byte(text, j - 1), byte(text, j + 1)
      local upper = nb and (lead ~= "\195" or (nb >= 128 and nb <= 158 and nb ~= 151))
      if upper and not is_word_byte(prev) and not (prev and prev >= 128 and prev <= 191
          and not match(sub(text, max(1, j - 3), j - 1), "^\226[\128-\191][\128-\191]$")) then
        out = out or {}
        out[#out + 1] = j
      end
      j = find(text, lead, j + 1, true)
    end
  end
  if out then sort(out) end
  return out
end

local function scan_capitalised(text)
  local skip = 0
  local extra, xi = nonascii_starts(text), 1
  -- words inside a money expression ("230 billion U.S. dollars") are not names or places
  local seen = {}   -- gazetteer entries already reported
  local spans, si = S.money_spans, 1
  local next_span = spans[1]
  -- The scanned string ends with a sentinel capital: without it, a long tail with no capital
  -- makes "[^A-Z]*" run to the end and backtrack at every start position (quadratic).
  local limit = #text
  for s, w in gmatch(text .. " A", CAPSCAN) do
    if s > limit then break end
    while next_span and next_span[2] < s do si = si + 1; next_span = spans[si] end
    if next_span and next_span[1] <= s and s > skip then skip = next_span[2] end
    if extra then
      while extra[xi] and extra[xi] < s do
        local xs = extra[xi]
        xi = xi + 1
        if xs > skip then skip = capitalised_word(text, xs, match(text, NONASCII_WORD, xs)) or skip end
      end
    end
    -- (a capital inside a word, "iPhone", is taken as a word start: checking each word's
    -- previous byte cost more than the rare false start)
    if s > skip then
      -- fast paths, inline: a one-word gazetteer name that no longer name continues
      -- ("China" but not "China Daily"), a word that starts nothing
      local node = GAZ[w]
      local entry = node and not node.tails and node.entry
      if entry then
        local e = s + #w
        local pre = node.pre
        if pre then
          local b1, b2 = byte(text, e, e + 1)
          if b2 and pre[b1 * 256 + b2] then entry = nil end
        end
        if entry then
          if not seen[entry] then seen[entry] = true; gazetteer_hit(entry) end
          skip = e - 1
        else
          skip = capitalised_word(text, s, w) or skip
        end
      elseif node or not SKIP_WORD[w] then
        skip = capitalised_word(text, s, w) or skip
      end
    end
  end
  if extra then
    for i = xi, #extra do
      local xs = extra[i]
      if xs > skip then skip = capitalised_word(text, xs, match(text, NONASCII_WORD, xs)) or skip end
    end
  end
end

-- ============================================================================ the number pass
local function yen_code(text)
  if config.yen ~= "auto" then return config.yen end
  if S.yen then return S.yen end
  local l = lower(text)
  local cny, jpy = 0, 0
  for _, w in ipairs { "yuan", "rmb", "renminbi", "china", "chinese" } do
    if find(l, w, 1, true) then cny = cny + 1 end
  end
  for _, w in ipairs { "yen", "japan" } do
    if find(l, w, 1, true) then jpy = jpy + 1 end
  end
  S.yen = cny > jpy and "CNY" or "JPY"
  return S.yen
end

local function currency_code(code, text)
  if code == "DOLLAR" then return config.dollar end
  if code == "YEN" then return yen_code(text) end
  return code
end

-- ============================================================================ other languages
-- Money and percentages written the way Chinese, Russian, French, German and Spanish papers
-- write them, and people named after a title in Chinese and Russian. Every word is data in
-- FOREIGN below: a new language is a new table, not new code.
--   number_style  "comma": 14,25 / 14 250 / 14.250 (decimal comma, thousands "." or space);
--                 "point": 142.5 / 1,234 (as in English)
--   scales        word after the number -> power of ten (longest first is tried first)
--   joins         words between the scale and the currency ("de", "d'")
--   currencies    word after the number (and scale) -> ISO 4217 code ("DOLLAR" follows the
--                 `dollar` option)
--   percents      words after a number that make it a percentage
--   titles        title phrases before a name; names are read by name_rule
--   months        month names (as written in a date, lower case) -> month number
--   places        names -> the gazetteer's canonical name (a country goes to `countries` too);
--                 Russian names are stems: `Кита` finds Китай, Китая, Китаю
--   orgs          names -> the canonical name (the gazetteer's where it has one, else the name
--                 in its own language)
--   org_heads     words that start an organisation's name, read with the lower-case words after
--                 them: `Министерство иностранных дел` (any case of the head gives its first form)
--   say           verbs that attribute a quotation («…», „…“, 「…」) in the same paragraph
local FOREIGN = {
  { lang = "zh", number_style = "point",
    scales = { ["万亿"] = 12, ["萬億"] = 12, ["千亿"] = 11, ["千億"] = 11, ["亿"] = 8, ["億"] = 8,
               ["万"] = 4, ["萬"] = 4 },
    joins = {},
    currencies = { ["美元"] = "USD", ["美金"] = "USD", ["元人民币"] = "CNY", ["元人民幣"] = "CNY",
                   ["人民币"] = "CNY", ["人民幣"] = "CNY", ["元"] = "CNY", ["欧元"] = "EUR", ["歐元"] = "EUR",
                   ["日元"] = "JPY", ["日圓"] = "JPY", ["英镑"] = "GBP", ["英鎊"] = "GBP", ["卢布"] = "RUB",
                   ["盧布"] = "RUB", ["港元"] = "HKD", ["港币"] = "HKD", ["新台币"] = "TWD", ["新台幣"] = "TWD",
                   ["索姆"] = "KGS", ["坚戈"] = "KZT" },
    percents = {},
    name_rule = "cjk",
    titles = { "外交部发言人", "外交部發言人", "外交部长", "外交部長", "国家主席", "國家主席", "国务院总理",
               "國務院總理", "总统", "總統", "总理", "總理", "外长", "外長", "大使", "发言人", "發言人",
               "部长", "部長", "主席" },
    places = { ["中国"] = "China", ["中國"] = "China", ["吉尔吉斯斯坦"] = "Kyrgyzstan", ["吉爾吉斯"] = "Kyrgyzstan",
               ["乌兹别克斯坦"] = "Uzbekistan", ["烏茲別克"] = "Uzbekistan", ["哈萨克斯坦"] = "Kazakhstan",
               ["俄罗斯"] = "Russia", ["俄羅斯"] = "Russia", ["美国"] = "United States", ["美國"] = "United States",
               ["法国"] = "France", ["法國"] = "France", ["德国"] = "Germany", ["德國"] = "Germany",
               ["西班牙"] = "Spain", ["日本"] = "Japan", ["北京"] = "Beijing", ["比什凯克"] = "Bishkek",
               ["莫斯科"] = "Moscow", ["巴黎"] = "Paris", ["柏林"] = "Berlin", ["马德里"] = "Madrid",
               ["中亚"] = "Central Asia", ["中亞"] = "Central Asia" },
    orgs = { ["外交部"] = "外交部", ["商务部"] = "商务部", ["商務部"] = "商務部", ["国务院"] = "国务院",
             ["國務院"] = "國務院", ["海关总署"] = "海关总署", ["中国人民银行"] = "People's Bank of China",
             ["联合国"] = "United Nations", ["聯合國"] = "United Nations",
             ["上海合作组织"] = "Shanghai Cooperation Organization", ["上合组织"] = "Shanghai Cooperation Organization",
             ["新华社"] = "Xinhua", ["新華社"] = "Xinhua", ["欧盟"] = "European Union", ["歐盟"] = "European Union" },
    say = { "表示", "说", "說", "指出", "强调", "強調", "称", "稱" } },
  { lang = "ru", number_style = "comma",
    scales = { ["трлн"] = 12, ["триллиона"] = 12, ["триллионов"] = 12, ["млрд"] = 9, ["миллиард"] = 9,
               ["миллиарда"] = 9, ["миллиардов"] = 9, ["млн"] = 6, ["миллион"] = 6, ["миллиона"] = 6,
               ["миллионов"] = 6, ["тыс."] = 3, ["тысяч"] = 3, ["тысячи"] = 3 },
    joins = {},
    currencies = { ["долларов США"] = "USD", ["доллара США"] = "USD", ["долларов"] = "DOLLAR",
                   ["доллара"] = "DOLLAR", ["доллар"] = "DOLLAR", ["рублей"] = "RUB", ["рубля"] = "RUB",
                   ["рубль"] = "RUB", ["евро"] = "EUR", ["юаней"] = "CNY", ["юаня"] = "CNY", ["юань"] = "CNY",
                   ["сомов"] = "KGS", ["сома"] = "KGS", ["сом"] = "KGS", ["тенге"] = "KZT", ["$"] = "DOLLAR",
                   ["€"] = "EUR", ["₽"] = "RUB" },
    percents = { "%", "процента", "процентов", "процент" },
    name_rule = "capitalised",
    skip_after_title = { "КНР", "США", "РФ", "России", "Китая", "Киргизии", "Кыргызстана", "Казахстана",
                         "Узбекистана", "Франции", "Германии", "Испании" },
    titles = { "министр иностранных дел", "глава МИД", "официальный представитель МИД", "президент",
               "премьер-министр", "председатель КНР", "посол", "министр" },
    months = { ["января"] = 1, ["февраля"] = 2, ["марта"] = 3, ["апреля"] = 4, ["мая"] = 5, ["июня"] = 6,
               ["июля"] = 7, ["августа"] = 8, ["сентября"] = 9, ["октября"] = 10, ["ноября"] = 11,
               ["декабря"] = 12 },
    places = { ["Кита"] = "China", ["КНР"] = "China", ["Киргиз"] = "Kyrgyzstan", ["Кыргызст"] = "Kyrgyzstan",
               ["Узбекист"] = "Uzbekistan", ["Казахст"] = "Kazakhstan", ["Росси"] = "Russia", ["РФ"] = "Russia",
               ["США"] = "United States", ["Франци"] = "France", ["Германи"] = "Germany", ["Испани"] = "Spain",
               ["Пекин"] = "Beijing", ["Бишкек"] = "Bishkek", ["Москв"] = "Moscow" },
    orgs = { ["МИД"] = "МИД", ["ООН"] = "United Nations", ["ШОС"] = "Shanghai Cooperation Organization",
             ["Евросоюз"] = "European Union", ["ЕС"] = "European Union", ["РИА Новости"] = "РИА Новости",
             ["ТАСС"] = "ТАСС", ["Интерфакс"] = "Интерфакс", ["ИНТЕРФАКС"] = "Интерфакс",
             ["Синьхуа"] = "Xinhua" },
    org_heads = { ["Министерство"] = "Министерство", ["Министерства"] = "Министерство",
                  ["Министерству"] = "Министерство", ["Министерством"] = "Министерство",
                  ["Министерстве"] = "Министерство", ["Правительство"] = "Правительство",
                  ["Правительства"] = "Правительство" },
    say = { "сказал", "сказала", "заявил", "заявила", "отметил", "отметила", "подчеркнул", "подчеркнула",
            "сообщил", "сообщила", "говорится" } },
  { lang = "fr", number_style = "comma",
    scales = { ["milliards"] = 9, ["milliard"] = 9, ["millions"] = 6, ["million"] = 6, ["Mds"] = 9, ["Md"] = 9 },
    joins = { "de ", "d'", "d’" },
    currencies = { ["dollars américains"] = "USD", ["dollars"] = "DOLLAR", ["dollar"] = "DOLLAR",
                   ["euros"] = "EUR", ["euro"] = "EUR", ["yuans"] = "CNY", ["roubles"] = "RUB",
                   ["€"] = "EUR", ["$"] = "DOLLAR" },
    percents = { "pour cent", "%" },
    months = { ["janvier"] = 1, ["février"] = 2, ["mars"] = 3, ["avril"] = 4, ["mai"] = 5, ["juin"] = 6,
               ["juillet"] = 7, ["août"] = 8, ["septembre"] = 9, ["octobre"] = 10, ["novembre"] = 11,
               ["décembre"] = 12 },
    places = { ["Chine"] = "China", ["Kirghizistan"] = "Kyrgyzstan", ["Ouzbékistan"] = "Uzbekistan",
               ["Russie"] = "Russia", ["Allemagne"] = "Germany", ["Espagne"] = "Spain", ["États-Unis"] = "United States",
               ["Pékin"] = "Beijing", ["Bichkek"] = "Bishkek", ["Moscou"] = "Moscow", ["Asie centrale"] = "Central Asia" },
    orgs = { ["ministère des Affaires étrangères"] = "ministère des Affaires étrangères",
             ["Ministère des Affaires étrangères"] = "ministère des Affaires étrangères",
             ["Organisation de coopération de Shanghai"] = "Shanghai Cooperation Organization",
             ["ONU"] = "United Nations", ["Nations unies"] = "United Nations", ["Union européenne"] = "European Union" },
    say = { "a déclaré", "a dit", "a affirmé", "a souligné", "a indiqué", "a estimé", "selon" },
    markers = { " le ", " les ", " des ", " et " } },
  { lang = "de", number_style = "comma",
    scales = { ["Billionen"] = 12, ["Billion"] = 12, ["Milliarden"] = 9, ["Milliarde"] = 9, ["Mrd."] = 9,
               ["Mrd"] = 9, ["Millionen"] = 6, ["Million"] = 6, ["Mio."] = 6, ["Mio"] = 6 },
    joins = {},
    currencies = { ["US-Dollar"] = "USD", ["Dollar"] = "DOLLAR", ["Euro"] = "EUR", ["Yuan"] = "CNY",
                   ["Rubel"] = "RUB", ["Franken"] = "CHF", ["€"] = "EUR", ["$"] = "DOLLAR" },
    percents = { "Prozent", "%" },
    months = { ["januar"] = 1, ["februar"] = 2, ["märz"] = 3, ["april"] = 4, ["mai"] = 5, ["juni"] = 6,
               ["juli"] = 7, ["august"] = 8, ["september"] = 9, ["oktober"] = 10, ["november"] = 11,
               ["dezember"] = 12 },
    places = { ["Kirgistan"] = "Kyrgyzstan", ["Kirgisistan"] = "Kyrgyzstan", ["Usbekistan"] = "Uzbekistan",
               ["Russland"] = "Russia", ["Deutschland"] = "Germany", ["Frankreich"] = "France", ["Spanien"] = "Spain",
               ["Peking"] = "Beijing", ["Bischkek"] = "Bishkek", ["Moskau"] = "Moscow", ["Zentralasien"] = "Central Asia" },
    orgs = { ["Auswärtiges Amt"] = "Auswärtiges Amt", ["Auswärtige Amt"] = "Auswärtiges Amt", ["Außenministerium"] = "Außenministerium",
             ["Vereinte Nationen"] = "United Nations", ["Vereinten Nationen"] = "United Nations",
             ["UNO"] = "United Nations", ["Shanghaier Organisation für Zusammenarbeit"] = "Shanghai Cooperation Organization" },
    say = { "sagte", "erklärte", "betonte", "teilte mit", "sagt" },
    markers = { " und ", " der ", " die ", " das " } },
  { lang = "es", number_style = "comma",
    scales = { ["mil millones"] = 9, ["billones"] = 12, ["millones"] = 6, ["millón"] = 6 },
    joins = { "de " },
    currencies = { ["dólares estadounidenses"] = "USD", ["dólares"] = "DOLLAR", ["dólar"] = "DOLLAR",
                   ["euros"] = "EUR", ["euro"] = "EUR", ["yuanes"] = "CNY", ["rublos"] = "RUB",
                   ["€"] = "EUR", ["$"] = "DOLLAR" },
    percents = { "por ciento", "%" },
    months = { ["enero"] = 1, ["febrero"] = 2, ["marzo"] = 3, ["abril"] = 4, ["mayo"] = 5, ["junio"] = 6,
               ["julio"] = 7, ["agosto"] = 8, ["septiembre"] = 9, ["octubre"] = 10, ["noviembre"] = 11,
               ["diciembre"] = 12 },
    places = { ["Kirguistán"] = "Kyrgyzstan", ["Uzbekistán"] = "Uzbekistan", ["Rusia"] = "Russia",
               ["Alemania"] = "Germany", ["Francia"] = "France", ["España"] = "Spain", ["Estados Unidos"] = "United States",
               ["Pekín"] = "Beijing", ["Biskek"] = "Bishkek", ["Moscú"] = "Moscow", ["Asia Central"] = "Central Asia" },
    orgs = { ["Ministerio de Asuntos Exteriores"] = "Ministerio de Asuntos Exteriores",
             ["Naciones Unidas"] = "United Nations", ["ONU"] = "United Nations",
             ["Organización de Cooperación de Shanghái"] = "Shanghai Cooperation Organization",
             ["Unión Europea"] = "European Union" },
    say = { "dijo", "afirmó", "declaró", "señaló", "aseguró", "subrayó", "según" },
    markers = { " el ", " los ", " las ", " y " } },
}

-- The tables as lists by first byte, longest word first, built once.
local function longest_first(map)
  local list = {}
  for k, v in pairs(map) do list[#list + 1] = { k, v } end
  sort(list, function(a, b) if #a[1] ~= #b[1] then return #a[1] > #b[1] end return a[1] < b[1] end)
  local index = {}
  for _, e in ipairs(list) do
    local b = byte(e[1], 1)
    index[b] = index[b] or {}
    index[b][#index[b] + 1] = e
  end
  return index
end
-- The bytes that may follow a number (after one space) in any FOREIGN table: every other
-- number is left to the English rules after one table look-up.
local FOREIGN_NEXT = {}
for _, L in ipairs(FOREIGN) do
  for _, map in ipairs { L.scales, L.currencies } do
    for w in pairs(map) do FOREIGN_NEXT[byte(w, 1)] = true end
  end
  for _, w in ipairs(L.percents) do FOREIGN_NEXT[byte(w, 1)] = true end
end
for _, L in ipairs(FOREIGN) do
  L.next_bytes = {}
  for _, map in ipairs { L.scales, L.currencies } do
    for w in pairs(map) do L.next_bytes[byte(w, 1)] = true end
  end
  for _, w in ipairs(L.percents) do L.next_bytes[byte(w, 1)] = true end
  L.scale_list = longest_first(L.scales)
  L.currency_list = longest_first(L.currencies)
  local t = {}
  for _, w in ipairs(L.titles or {}) do t[#t + 1] = { w } end
  sort(t, function(a, b) return #a[1] > #b[1] end)
  L.title_list = t
  L.skip_set = set(L.skip_after_title or {})
  -- places and organisations as one list, longest first
  local names = {}
  for w, c in pairs(L.places or {}) do names[#names + 1] = { w, c, "places", L.lang == "ru" } end
  for w, c in pairs(L.orgs or {}) do names[#names + 1] = { w, c, "organizations", false } end
  sort(names, function(a, b) if #a[1] ~= #b[1] then return #a[1] > #b[1] end return a[1] < b[1] end)
  L.name_list = names
  L.say = L.say or {}
end
local FOREIGN_BY_LANG, FOREIGN_MONTHS = {}, {}
for _, L in ipairs(FOREIGN) do
  FOREIGN_BY_LANG[L.lang] = L
  for w, m in pairs(L.months or {}) do FOREIGN_MONTHS[w] = m end
end

-- A number in a language's style at s: int digits, fraction digits, position after it.
local GROUP_PATTERNS = { comma = { "^%.(%d%d%d)()", "^ (%d%d%d)()" }, point = { "^,(%d%d%d)()" } }
local FRACTION_PATTERN = { comma = "^,(%d+)()", point = "^%.(%d+)()" }
local function foreign_number(text, s, style)
  local int, p = match(text, "^(%d+)()", s)
  if not int then return nil end
  if #int <= 3 then
    for _, pattern in ipairs(GROUP_PATTERNS[style]) do
      local grouped = false
      for _ = 1, 8 do
        local g, p2 = match(text, pattern, p)
        if not g or is_digit(byte(text, p2)) then break end
        int, p, grouped = int .. g, p2, true
      end
      if grouped then break end
    end
  end
  local frac, p3 = match(text, FRACTION_PATTERN[style], p)
  if frac then return int, frac, p3 end
  return int, "", p
end

-- The longest word of `list` written at p (after an optional space), and the position after it.
local function word_at(text, p, index, need_space)
  local q = p
  if byte(text, q) == 32 then q = q + 1 elseif need_space then return nil end
  local b = byte(text, q)
  local list = b and index[b]
  if not list then return nil end
  for i = 1, #list do
    local w = list[i][1]
    if sub(text, q, q + #w - 1) == w then
      local after = byte(text, q + #w)
      -- whole words only, except where the script has no spaces
      if not (after and is_word_byte(after) and is_word_byte(byte(w, #w)) and byte(w, #w) < 128) then
        return list[i][2], q + #w, w
      end
    end
  end
  return nil
end

-- Money or a percentage at s in one of the FOREIGN languages; returns the position of the last
-- byte read, or nil when the number is not one (the English rules then read it).
local function foreign_number_at(text, s)
  -- fast exit: what follows the digits (and their separators) cannot start a foreign word
  -- (a window of 40 bytes: a run of 250,000 thousands groups must not be walked from each group)
  local window = sub(text, s, s + 39)
  local nb = byte(window, match(window, "^[%d%., ]*()"))
  if not nb or not FOREIGN_NEXT[nb] then return nil end
  for _, L in ipairs(FOREIGN) do
    local int, frac, p
    if L.next_bytes[nb] then int, frac, p = foreign_number(text, s, L.number_style) end
    if int then
      local exp, q, scale_word = word_at(text, p, L.scale_list, false)
      local after_scale = q or p
      local joined = false
      if exp and L.joins then
        for _, j in ipairs(L.joins) do
          local jq = after_scale
          if byte(text, jq) == 32 then jq = jq + 1 end
          if sub(text, jq, jq + #j - 1) == j then
            after_scale = jq + #j - (byte(j, #j) == 32 and 1 or 0)
            joined = true
            break
          end
        end
      end
      -- "5 million dollars", "1 Million Euro": a scale English writes the same way is left to
      -- the English rules unless a join of this language follows ("1,5 million d'euros")
      if exp and not joined and SCALES[lower(scale_word)] then exp = nil; after_scale = p end
      local code, stop, word = word_at(text, after_scale, L.currency_list, false)
      -- Without a scale of its own language, a currency that English writes the same way
      -- ("5 euros", "10,000 dollars") is left to the English rules, as is a comma before
      -- exactly three digits ("10,000 €" may be ten thousand).
      if code and not exp and (not find(word, "[\128-\255]") or (L.number_style == "comma" and #frac == 3)) then
        code = nil
      end
      if code then
        S.money_spans[#S.money_spans + 1] = { s, stop - 1 }
        S.money[#S.money + 1] = {
          text = sub(text, s, stop - 1),
          currency = currency_code(code, text),
          value = decimal_value(int, frac, exp or 0),
        }
        return stop - 1
      end
      if not exp then
        for _, w in ipairs(L.percents) do
          local pq = p
          if byte(text, pq) == 32 then pq = pq + 1 end
          if w ~= "%" and sub(text, pq, pq + #w - 1) == w and not is_word_byte(byte(text, pq + #w)) then
            S.percentages[#S.percentages + 1] = decimal_value(int, frac, 0)
            return pq + #w - 1
          end
        end
      end
    end
  end
  return nil
end

-- A date written in another language at s: `20 ноября 2025 г.`, `1er décembre 2025`,
-- `20. November 2025`, `5 de febrero de 2025`, `2025年11月20日`; without a year (`20 ноября`,
-- `11月20日`) the year nearest the publication date. Returns the last byte read, or nil.
local function foreign_date_at(text, s)
  local y, m, d, q = match(text, "^(%d%d%d%d)年(%d%d?)月(%d%d?)[日号]()", s)
  if y then
    y = tonumber(y)
    if valid_year(y) then add_date(s, y, tonumber(m), tonumber(d)) end
    return q - 1
  end
  m, d, q = match(text, "^(%d%d?)月(%d%d?)[日号]()", s)
  if m and not match(sub(text, max(1, s - 3), s - 1), "^年$") then
    m, d = tonumber(m), tonumber(d)
    add_date(s, infer_year(m, d, S.pub), m, d)
    return q - 1
  end
  local day, p = match(text, "^(%d%d?)()", s)
  if not day or is_digit(byte(text, p)) then return nil end
  p = match(text, "^%.? ()", p) or match(text, "^er ()", p)
  if not p then return nil end
  p = match(text, "^de ()", p) or p
  local w, p2 = match(text, "^([^%s%d%p]+)()", p)
  local month = w and FOREIGN_MONTHS[lower(w)]
  if not month then return nil end
  local last = p2 - 1
  local yq = match(text, "^ de ()", p2) or match(text, "^,? ()", p2)
  local year, p3 = nil, nil
  if yq then year, p3 = match(text, "^(%d%d%d%d)()", yq) end
  day = tonumber(day)
  if year and not is_digit(byte(text, p3)) and valid_year(tonumber(year)) then
    add_date(s, tonumber(year), month, day)
    return p3 - 1
  end
  add_date(s, infer_year(month, day, S.pub), month, day)
  return last
end

-- Whether the character before position a is a letter (a name found inside a word is not one).
local function letter_before(text, a)
  local k = a - 1
  local b = byte(text, k)
  if not b then return false end
  if b < 128 then return is_word_byte(b) end
  while b and b >= 128 and b <= 191 do k = k - 1; b = byte(text, k) end
  return b ~= nil and b >= 195 and b <= 223
end

-- Places and organisations named in another language (`Киргизии` -> Kyrgyzstan, `外交部`,
-- `Министерство иностранных дел КНР`), in order of mention, after the gazetteer's.
local function scan_foreign_names(text, langs)
  local hits = {}
  for _, L in ipairs(langs) do
    local cjk = L.name_rule == "cjk"
    for _, e in ipairs(L.name_list) do
      local from = 1
      while true do
        local a, b = find(text, e[1], from, true)
        if not a then break end
        from = b + 1
        if cjk or (not letter_before(text, a) and (e[4] or not is_word_byte(byte(text, b + 1)))) then
          hits[#hits + 1] = { a, b, e[2], e[3] }
        end
      end
    end
    for head, form in pairs(L.org_heads or {}) do
      local from = 1
      while true do
        local a, b = find(text, head, from, true)
        if not a then break end
        from = b + 1
        if not letter_before(text, a) and not is_word_byte(byte(text, b + 1)) then
          -- the lower-case words after the head (Cyrillic а–п D0 B0–BF, р–я D1 80–8F), then a
          -- country written after them
          local words, q = {}, b + 1
          while #words < 4 do
            local w, we = match(text, "^ ([\208\209][\128-\191][\208\209\128-\191%-]*)()", q)
            if not w then break end
            local b1, b2 = byte(w, 1, 2)
            if not ((b1 == 208 and b2 >= 176) or (b1 == 209 and b2 <= 143) or (b1 == 209 and b2 == 145)) then break end
            words[#words + 1] = w
            q = we
          end
          local w, we = match(text, "^ ([%w\128-\255]+)()", q)
          if w and L.skip_set[w] and #words > 0 then words[#words + 1] = w; q = we end
          if #words > 0 then hits[#hits + 1] = { a, q - 1, form .. " " .. concat(words, " "), "organizations" } end
        end
      end
    end
  end
  sort(hits, function(x, y) if x[1] ~= y[1] then return x[1] < y[1] end return x[2] > y[2] end)
  local last = 0
  for _, h in ipairs(hits) do
    if h[1] > last then
      last = h[2]
      gazetteer_hit { canonical = h[3], class = h[4], kind = GAZ_KIND[h[3]] }
    end
  end
end

-- Quotations in the marks of other languages: «…», „…“, 「…」, 『…』, and “…” in Chinese.
-- A quotation counts when its paragraph has a verb of saying of the language (`заявил`,
-- `a déclaré`, `sagte`, `dijo`, `表示`) and it is a phrase (three words, or six CJK characters),
-- not a name in quotation marks; the speaker is the nearest person named in the same
-- paragraph (before the quotation first), or null.
local QUOTE_MARKS = { { "\194\171", "\194\187" }, { "\226\128\158", "\226\128\156" },
  { "\227\128\140", "\227\128\141" }, { "\227\128\142", "\227\128\143" } }
local CJK_QUOTES = { "\226\128\156", "\226\128\157" }
local function scan_foreign_quotes(text, langs)
  local marks = QUOTE_MARKS
  for _, L in ipairs(langs) do
    if L.lang == "zh" then marks = { QUOTE_MARKS[1], QUOTE_MARKS[3], QUOTE_MARKS[4], CJK_QUOTES } end
  end
  local found = {}
  for _, pair in ipairs(marks) do
    local open, close = pair[1], pair[2]
    local a = find(text, open, 1, true)
    while a do
      local c = find(text, close, a + #open, true)
      if not c then break end
      local nl = find(text, "\n", a, true)
      if not nl or nl > c then
        found[#found + 1] = { a, sub(text, a + #open, c - 1), c + #close }
        a = find(text, open, c + #close, true)
      else
        a = find(text, open, nl, true)
      end
    end
  end
  sort(found, function(x, y) return x[1] < y[1] end)
  local NULL = sluice and sluice.null
  local seen = {}
  for _, q in ipairs(S.quotes) do seen[q.text] = true end
  for _, f in ipairs(found) do
    local a, content, e = f[1], trim(f[2]), f[3]
    local _, spaces = content:gsub(" ", "")
    local phrase = spaces >= 2 or (#content >= 18 and not find(content, " ", 1, true) and byte(content, 1) >= 228)
    if phrase and not seen[content] then
      local ps = 1
      for k = a - 1, 1, -1 do if byte(text, k) == 10 then ps = k + 1; break end end
      local pe = find(text, "\n", e, true) or #text + 1
      local para = sub(text, ps, pe - 1)
      local said = false
      for _, L in ipairs(langs) do
        for _, v in ipairs(L.say) do
          if find(para, v, 1, true) then said = true; break end
        end
        if said then break end
      end
      if said then
        local best, best_d
        for _, m in ipairs(S.mentions) do
          local mp = m[1]
          if mp >= ps and mp < pe and (mp < a or mp >= e) then
            local dist = mp < a and a - mp or (mp - e) + #para      -- before the quotation first
            if not best or dist < best_d then best, best_d = m[2].name, dist end
          end
        end
        seen[content] = true
        S.quotes[#S.quotes + 1] = { text = content, speaker = best or NULL }
      end
    end
  end
end

-- People after a title: `外交部发言人毛宁`, `министр иностранных дел КНР Ван И`.
local CJK_NAME_STOPS = { "在", "表示", "说", "說", "会见", "會見", "同", "与", "與", "和", "于", "於", "的", "称",
  "稱", "指出", "强调", "強調", "举行", "舉行", "出席", "访问", "訪問", "将", "將", "也", "等", "今天", "日前",
  "近日", "当天", "當天", "一行" }
local function cjk_name(text, p)
  -- at most 4 ideographs (3 bytes each), or a transliteration with "·", ending before a stop
  local q, n = p, 0
  while n < 8 do
    local b = byte(text, q)
    if not b or b < 228 or b > 233 then
      if sub(text, q, q + 1) == "\194\183" then q = q + 2 else break end      -- ·
    else
      local stop = false
      for _, w in ipairs(CJK_NAME_STOPS) do
        if sub(text, q, q + #w - 1) == w then stop = true; break end
      end
      if stop then break end
      q, n = q + 3, n + 1
    end
  end
  if n < 2 or n > 4 and not find(sub(text, p, q - 1), "\194\183", 1, true) then return nil end
  return sub(text, p, q - 1), q
end

local function scan_foreign_people(text)
  for _, L in ipairs(FOREIGN) do
    for _, t in ipairs(L.title_list) do
      local title = t[1]
      local from = 1
      while true do
        local a, e = find(text, title, from, true)
        if not a then break end
        from = e + 1
        local prev = byte(text, a - 1)
        if L.name_rule == "cjk" then
          local name = cjk_name(text, e + 1)
          if name then add_person(name, 2, title, a, true) end
        elseif not (prev and is_word_byte(prev)) then
          local p = e + 1
          -- skip a country after the title: `министр иностранных дел КНР Ван И`
          while byte(text, p) == 32 do
            local w, we = match(text, "^ ([^%s,%.]+)()", p)
            if w and L.skip_set[w] then p = we else break end
          end
          local words, q = {}, p
          while #words < 3 do
            local w, we = match(text, "^ ([\208-\209][\128-\191][^%s,%.;:]*)()", q)
            -- Cyrillic capitals: А–Я are D0 90–D0 AF, Ё is D0 81
            if not w then break end
            local b2 = byte(w, 2)
            if not (byte(w, 1) == 208 and (b2 >= 144 and b2 <= 175 or b2 == 129)) then break end
            words[#words + 1] = w
            q = we
          end
          if #words >= 2 then add_person(concat(words, " "), #words, title, a, true) end
        end
      end
    end
  end
end

-- the number at s; returns the position of its last byte (what the pass may skip)
local function number_at(text, s)
  local prev = byte(text, s - 1)
  if prev == 46 and is_digit(byte(text, s - 2)) then return s end      -- "1.2.3": already read
  -- ISO date 2025-11-19
  if byte(text, s + 4) == 45 then
    local y, m, d, q = match(text, "^(%d%d%d%d)%-(%d%d)%-(%d%d)()", s)
    if y and not is_digit(byte(text, q)) and not is_digit(prev) then
      y, m, d = tonumber(y), tonumber(m), tonumber(d)
      if valid_year(y) then add_date(s, y, m, d) end
      return q - 1
    end
  end
  if S.langs then
    local stop = foreign_date_at(text, s)
    if stop then return stop end
  end
  do
    local stop = foreign_number_at(text, s)
    if stop then return stop end
  end
  local int, frac, p = read_number(text, s)
  local cur, cstart, cstr = read_currency_before(text, s)
  if not cur then
    if is_letter(prev) then return p - 1 end                            -- G20, A380
    -- without a currency in front, only a percent sign, a dash or a word can make it a fact
    local nb = byte(text, p)
    if nb ~= 32 and nb ~= 37 and nb ~= 45 and nb ~= 226 and nb ~= 239 and not is_letter(nb) then
      return p - 1
    end
    if nb == 32 then
      local w = match(text, "^ (%a+)", p)
      local b2 = byte(text, p + 1)
      if not w then
        if b2 ~= 37 and b2 ~= 45 and b2 ~= 226 then return p - 1 end
      else
        w = lower(w)
        if not (SCALES[w] or NUMBER_WORDS[w] or SUFFIX_INDEX[w]) then return p - 1 end
      end
    end
  end
  local exp, pe = read_scale(text, p)
  local start = cstart or s

  -- a range: "3-5", "$3 billion-$5 billion", "3 to 5" (not after "from"), "between 3 and 5"
  local between = false
  local int2, frac2, p2
  local c, kind = read_connector(text, pe)
  if c then
    local before = kind ~= "dash" and word_before(text, start) or nil
    if not ((kind == "to" and before == "from") or (kind == "and" and before ~= "between")) then
      between = before == "between"
      local q2 = c
      if cstr and sub(text, c, c + #cstr - 1) == cstr then
        q2 = c + #cstr
        if byte(text, q2) == 32 then q2 = q2 + 1 end
      end
      if is_digit(byte(text, q2)) then int2, frac2, p2 = read_number(text, q2) end
    end
  end

  -- percentages: "53.8 percent", "5%", "3-5 percent", "between 3 and 5 percent"
  if not cur and not exp then
    local pq = read_percent(text, p)
    if pq then
      local v = decimal_value(int, frac, 0)
      if prev == 45 and (s == 2 or match(sub(text, s - 2, s - 2), "[%s%(]")) then v = -v end
      S.percentages[#S.percentages + 1] = v
      return pq - 1
    end
    if int2 then
      pq = read_percent(text, p2)
      if pq then
        S.percentages[#S.percentages + 1] = decimal_value(int, frac, 0)
        S.percentages[#S.percentages + 1] = decimal_value(int2, frac2, 0)
        return pq - 1
      end
    end
  end

  -- money ranges
  if int2 then
    local exp2, pe2 = read_scale(text, p2)
    local code, stop = cur, pe2
    if not code then code, stop = read_currency_after(text, pe2, exp or exp2) end
    if code then
      local e1 = exp
      -- "$3-5 billion": the first number takes the second's scale when that keeps low <= high
      if not e1 and exp2 and tonumber(int .. "." .. (frac ~= "" and frac or "0"))
          <= tonumber(int2 .. "." .. (frac2 ~= "" and frac2 or "0")) then
        e1 = exp2
      end
      S.money_spans[#S.money_spans + 1] = { start, stop - 1 }
      S.money[#S.money + 1] = {
        text = sub(text, between and (start - 8) or start, stop - 1),
        currency = currency_code(code, text),
        low = decimal_value(int, frac, e1 or 0),
        high = decimal_value(int2, frac2, exp2 or 0),
      }
      return stop - 1
    end
  end
  -- single amounts
  local code, stop = cur, pe
  if not code then code, stop = read_currency_after(text, pe, exp) end
  if code then
    S.money_spans[#S.money_spans + 1] = { start, stop - 1 }
    S.money[#S.money + 1] = {
      text = sub(text, start, stop - 1),
      currency = currency_code(code, text),
      value = decimal_value(int, frac, exp or 0),
    }
    return stop - 1
  end
  return p - 1
end

-- Numbers are found with plain searches for the ten digits (7.8 us on the seed, against 190 us
-- for gmatch("%f[%d]()%d"): a plain search is a memchr, a pattern costs a matcher call per byte).
local DIGIT_CHARS = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" }
local function scan_numbers(text)
  local starts = {}
  for i = 1, 10 do
    local ch = DIGIT_CHARS[i]
    local p = find(text, ch, 1, true)
    while p do
      if not is_digit(byte(text, p - 1)) then starts[#starts + 1] = p end
      p = find(text, ch, p + 1, true)
    end
  end
  if #starts == 0 then return end
  sort(starts)
  local skip = 0
  for i = 1, #starts do
    local s = starts[i]
    if s > skip then skip = number_at(text, s) end
  end
end

-- ============================================================================ quotes
local PRONOUNS = set { "he", "she", "He", "She" }

local function resolve_pronoun(pos)
  local best, best_pos = nil, -1
  local m = S.mentions
  for i = 1, #m do
    local mp = m[i][1]
    if mp < pos and mp > best_pos then best, best_pos = m[i][2], mp end
  end
  return best and best.name or nil
end

-- The speaker written at p (after a verb such as "said", or before one): a pronoun, an
-- organisation from the gazetteer, or a person (title words and demonyms in front are skipped).
-- Returns the speaker and the end of what was read, or nil.
local function speaker_at(text, p, quote_pos)
  local pw, pe = match(text, "^(%a+)()", p)
  if not pw then return nil end
  if PRONOUNS[pw] then return resolve_pronoun(quote_pos) or false, pe - 1 end
  if pw == "the" or pw == "The" then
    local w = match(text, NAME_WORD, pe + 1)
    if w then
      local hit, he = gazetteer_at(text, pe + 1, w)
      if hit and hit.class == "organizations" then return hit.canonical, he end
    end
    return nil
  end
  -- "spokesperson Mao Ning", "Foreign Ministry spokesperson Mao Ning": capitalised qualifier
  -- words and a lower-case title before the name; the name is the speaker.
  do
    local q0 = p
    for _ = 1, 4 do
      local w, we = match(text, "^(%u[%a%-]*) ()", q0)
      if not w then break end
      q0 = we
    end
    local moved = false
    for _ = 1, 3 do
      local lw, le = match(text, "^(%l+) ()", q0)
      if not lw or not (LOWER_HEADS[lw] or LOWER_MODS[lw]) then break end
      q0, moved = le, true
    end
    if moved and match(text, "^%u", q0) then p = q0 end
  end
  local q = p
  local org, org_end                     -- "said WFP spokesperson Rania Saleh": the person speaks
  for _ = 1, 8 do
    local w = match(text, NAME_WORD, q)
    if not w then
      if org then return org, org_end end
      return nil
    end
    local hit, he = gazetteer_at(text, q, w)
    if hit then
      if hit.class == "organizations" then
        -- An organisation followed by a title ("WFP spokesperson", "Foreign Ministry
        -- spokesperson") introduces a person; alone, it is the speaker.
        local nw = byte(text, he + 1) == 32 and match(text, "^(%a+)", he + 2)
        if org or not nw or not (TITLE_HEADS[nw] or TITLE_MODS[nw] or LOWER_HEADS[nw] or LOWER_MODS[nw]) then
          return hit.canonical, he
        end
        org, org_end = hit.canonical, he
        q = he + 2
        -- Skip lower-case title words ("spokesperson", "senior economist").
        for _ = 1, 4 do
          local lw, le = match(text, "^(%l+)()", q)
          if not lw or not (LOWER_HEADS[lw] or LOWER_MODS[lw]) or byte(text, le) ~= 32 then break end
          q = le + 1
        end
      elseif byte(text, he + 1) ~= 32 then
        if org then return org, org_end end
        return nil
      else
        q = he + 2
      end
    elseif TITLE_HEADS[w] or TITLE_MODS[w] then
      local te, ns = read_title(text, q, w)
      if te then q = ns else break end
    else
      break
    end
  end
  local ne, n, is_org = read_name(text, q)
  if not ne or is_org then
    if org then return org, org_end end
    return nil
  end
  local name = sub(text, q, ne)
  local person = S.by_name[name] or (n == 1 and S.by_word[name])
  if person then return person.name, ne end
  if n >= 2 then
    add_person(name, n, nil, q, false)
    return name, ne
  end
  return name, ne
end

-- attribution after the closing mark at e: `," Zhu said`, `," said Zhu`, `," he said`,
-- `," Zhu Yongbiao, executive director ..., told`
local function attribution_after(text, e, content, quote_pos)
  local last = byte(content, #content)
  local punct = last == 44 or last == 46 or last == 63 or last == 33 or last == 166   -- , . ? ! …
  local p = e
  if byte(text, p) == 44 then p = p + 1; punct = true end
  if not punct then return nil end
  p = match(text, "^ +()", p)
  if not p then return nil end
  local v, q = match(text, "^(%l+) ()", p)
  if v then
    -- `," said Zhu`; `," said the Chinese Foreign Minister.` is attributed, to nobody named
    if SAY[v] then return speaker_at(text, q, quote_pos) or false end
    if v == "according" then
      local q2 = match(text, "^to ()", q)
      if q2 then return speaker_at(text, q2, quote_pos) end
      return nil
    end
    if v == "he" or v == "she" then
      local v2 = match(text, "^(%l+)", q)
      if v2 and ADVERBS[v2] then v2 = match(text, "^%l+ (%l+)", q) end
      if v2 and SAY[v2] then return resolve_pronoun(quote_pos) or false end
      return nil
    end
    if v ~= "the" then return nil end
  end
  local sp, se = speaker_at(text, p, quote_pos)
  if sp == nil or not se then
    -- `," the spokesperson said.`: a saying verb within the next few words, no name
    if v == "the" then
      local r = p
      for _ = 1, 6 do
        local w, r2 = match(text, "^(%a+) ?()", r)
        if not w then break end
        if SAY[w] then return false end
        r = r2
      end
    end
    return nil
  end
  local r = se + 1
  if byte(text, r) == 44 then
    local c = find(sub(text, r + 1, r + 250), "[,\n]")
    if not c or byte(text, r + c) ~= 44 then return nil end
    r = r + c + 1
  end
  local v2, q2 = match(text, "^ (%l+)()", r)
  if v2 and ADVERBS[v2] then v2 = match(text, "^ (%l+)", q2) end
  if v2 and SAY[v2] then return sp end
  return nil
end

-- attribution before the opening mark at s: `Wang said, "`, `Zhu told the Global Times: "`,
-- `According to Zhu, "`
local function attribution_before(text, s, quote_pos)
  local k = s - 1
  while byte(text, k) == 32 do k = k - 1 end
  local lb = byte(text, k)
  if lb ~= 44 and lb ~= 58 then return nil end      -- the clause must end with "," or ":"
  local from = max(1, s - 250)
  local pre = sub(text, from, s - 1)
  local nl = match(pre, "^.*\n()")
  if nl then pre = sub(pre, nl); from = from + nl - 1 end
  local cs = match(pre, "^.*[%.!?]%s+()") or 1
  local clause = sub(pre, cs)
  local base = from + cs - 1              -- text position of clause's first byte
  local ap = match(clause, "^[Aa]ccording to ()")
  if ap then return speaker_at(text, base + ap - 1, quote_pos) end
  for vp, v in gmatch(clause, "()(%l+)") do
    if SAY[v] and (vp == 1 or byte(clause, vp - 1) == 32) then
      local subject = sub(clause, 1, vp - 1)
      subject = trim(subject)
      if subject == "" then return nil end
      if sub(subject, -1) == "," then
        subject = match(subject, "^(.-),[^,]*,$") or subject
      end
      -- drop adverbs between subject and verb ("Wang also said")
      local last = match(subject, "(%S+)$")
      if last and ADVERBS[last] then subject = match(subject, "^(.-)%s*%S+$") end
      local lw = match(subject, "(%a+)$")
      if lw and PRONOUNS[lw] then return resolve_pronoun(quote_pos) or false end
      -- the capitalised words at the end of the subject
      local ws = #subject + 1
      while true do
        local st = match(sub(subject, 1, ws - 1), "()%S+ ?$")
        if not st then break end
        local w = match(subject, "^%S+", st)
        if match(w, "^[%u\195-\223]") and not match(w, "[,;:]$") then
          ws = st
        elseif PARTICLES[w] then
          ws = st
        else
          break
        end
      end
      if ws > #subject then return nil end
      return speaker_at(text, base + ws - 1, quote_pos)
    end
  end
  return nil
end

local function scan_quotes(text)
  -- quotation marks are found with plain searches; a pair never spans a paragraph break
  local qs = {}
  local open
  local nl = 0          -- the first newline after the open mark, or false when there is none
  local p = find(text, '"', 1, true)
  while p do
    if open then
      if nl and nl <= open then nl = find(text, "\n", open + 1, true) or false end
      if nl and nl < p then
        open = p
      else
        qs[#qs + 1] = { open, sub(text, open + 1, p - 1), p + 1 }
        open = nil
      end
    else
      open = p
    end
    p = find(text, '"', p + 1, true)
  end
  local straight = #qs
  -- curly marks: each search result is kept until the scan passes it, so the pass stays linear
  nl = 0
  local c = 0
  p = find(text, "\226\128\156", 1, true)
  while p do
    if c and c <= p then c = find(text, "\226\128\157", p + 3, true) or false end
    if not c then break end
    if nl and nl <= p then nl = find(text, "\n", p + 3, true) or false end
    local again = find(text, "\226\128\156", p + 3, true)
    if (not nl or nl > c) and (not again or again > c) then
      qs[#qs + 1] = { p, sub(text, p + 3, c - 1), c + 3 }
      p = find(text, "\226\128\156", c + 3, true)
    else
      p = again
    end
  end
  if straight > 0 and #qs > straight then sort(qs, function(a, b) return a[1] < b[1] end) end
  local NULL = sluice and sluice.null
  local prev
  for i = 1, #qs do
    local s, content, e = qs[i][1], qs[i][2], qs[i][3]
    content = trim(content)
    if content ~= "" then
      local speaker = attribution_after(text, e, content, s)
      if speaker == nil then speaker = attribution_before(text, s, s) end
      if speaker == nil and prev then
        local gap = sub(text, prev.e, s - 1)
        if not find(gap, "\n", 1, true) and match(gap, "[%.!?] *$") and match(content, "^[%u\195-\223]") then
          speaker = prev.speaker
        end
      end
      if speaker ~= nil then
        local t = trim(content, 44)
        local item = { text = t }
        if speaker then item.speaker = speaker else item.speaker = NULL end
        S.quotes[#S.quotes + 1] = item
        prev = { e = e, speaker = speaker }
      else
        prev = nil
      end
    end
  end
end

-- ============================================================================ process
local function gather_text(record)
  local parts = {}
  for _, f in ipairs(config.fields) do
    local v = record[f]
    if f == "body" and type(v) ~= "string" and type(record.paragraphs) == "table" then
      v = record.paragraphs
    end
    if type(v) == "string" then
      parts[#parts + 1] = v
    elseif type(v) == "table" then
      for _, x in ipairs(v) do
        if type(x) == "string" then parts[#parts + 1] = x end
      end
    end
  end
  return concat(parts, "\n\n")
end

local function published_of(record)
  local p = record[config.published]
  if type(p) ~= "string" then return nil end
  local y, m, d = match(p, "^(%d%d%d%d)%-(%d%d)%-(%d%d)")
  if not y and sluice and type(sluice.date) == "table" and type(sluice.date.parse) == "function" then
    local ok, iso_text = pcall(sluice.date.parse, p)
    if ok and type(iso_text) == "string" then
      y, m, d = match(iso_text, "^(%d%d%d%d)%-(%d%d)%-(%d%d)")
    end
  end
  if y then
    y, m, d = tonumber(y), tonumber(m), tonumber(d)
    if m >= 1 and m <= 12 and d >= 1 and d <= 31 then return { y, m, d } end
    return { y }
  end
  y = match(p, "^(%d%d%d%d)%f[%D]")
  if y then return { tonumber(y) } end
  return nil
end

local function as_array(list)
  if #list == 0 and sluice and sluice.array then return sluice.array() end
  return list
end

--- Extracts the facts of `text`; `pub` is { year, month, day } or nil. Returns a table of fields.
local CJK_LEADS = { "\228", "\229", "\230", "\231", "\232", "\233" }
local function extract(text, pub, language)
  S = new_state(text, pub)
  -- The languages whose words are looked for: the record's `language` when it has one (from
  -- text_articles), else Chinese when the text has CJK characters, Russian when it has Cyrillic,
  -- and French, German or Spanish when one of the language's common short words is there
  -- in its first 1,000 bytes (` le `, ` und `, ` el `: a few plain searches of a short prefix
  -- instead of every name of the tables over the whole text).
  local langs, sample = {}, nil
  if type(language) == "string" then
    if FOREIGN_BY_LANG[language] then langs[1] = FOREIGN_BY_LANG[language] end
  else
    for _, L in ipairs(FOREIGN) do
      -- plain searches for lead bytes: a character class costs a matcher call per byte
      if L.lang == "zh" then
        for _, b in ipairs(CJK_LEADS) do
          if find(text, b, 1, true) then langs[#langs + 1] = L; break end
        end
      elseif L.lang == "ru" then
        if find(text, "\208", 1, true) or find(text, "\209", 1, true) then langs[#langs + 1] = L end
      else
        sample = sample or sub(text, 1, 1000)
        for _, w in ipairs(L.markers) do
          if find(sample, w, 1, true) then langs[#langs + 1] = L; break end
        end
      end
    end
  end
  if #langs > 0 then S.langs = langs end
  local ex = config.extract
  scan_numbers(text)        -- first: the capitalised-word pass skips money expressions
  scan_capitalised(text)
  if S.foreign and ex.people then scan_foreign_people(text) end
  if S.langs and (ex.places or ex.organizations or ex.countries) then
    scan_foreign_names(text, langs)
  end
  if ex.quotes then scan_quotes(text) end
  if S.langs and ex.quotes then scan_foreign_quotes(text, langs) end
  local st = S
  S = nil
  local out = {}
  if ex.money then out.money = as_array(st.money) end
  if ex.percentages then out.percentages = as_array(st.percentages) end
  if ex.organizations then out.organizations = as_array(st.orgs) end
  if ex.places then out.places = as_array(st.places) end
  if ex.countries then out.countries = as_array(st.countries) end
  if ex.people then
    local NULL = sluice and sluice.null
    local ps = st.persons
    sort(ps, function(a, b) return a.pos < b.pos end)
    local list = {}
    for i = 1, #ps do
      local title = ps[i].title
      if title == nil then title = NULL end
      list[i] = { name = ps[i].name, title = title }
    end
    out.people = as_array(list)
  end
  if ex.quotes then out.quotes = as_array(st.quotes) end
  if ex.dates then
    local ds = st.dates
    sort(ds, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[2] < b[2] end)
    local list, seen = {}, {}
    for i = 1, #ds do
      local v = ds[i][2]
      if not seen[v] then seen[v] = true; list[#list + 1] = v end
    end
    out.dates = as_array(list)
  end
  return out
end

--- Called once per record: adds the fact fields to the record and returns it.
function process(record, emit)
  if gazetteer_loaded ~= config.gazetteer then build_gazetteer(config.gazetteer) end
  local facts = extract(gather_text(record), published_of(record), record.language)
  local prefix = config.prefix
  -- In ALL_FIELDS order, not pairs() order: Lua randomises table traversal per process, and
  -- the output's key order (JSON keys, new SQLite columns) must not change from run to run.
  for _, k in ipairs(ALL_FIELDS) do
    local v = facts[k]
    if v ~= nil then record[prefix .. k] = v end
  end
  return record
end
