--[[
TEST-ONLY JSON reader/writer for Scripts/tests. The writer follows Sluice's rules for what a Lua
rule returns: object keys sorted, integers stay integers, floats in shortest round-trip form
(integral floats keep ".0"), a non-empty sequence is an array, an EMPTY table is an object unless
sluice.array() marked it, and sluice.null is null.
]]
local stub = require("sluice_stub")
local json = {}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local map = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
    return map[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function encode_float(f)
  if f ~= f or f == math.huge or f == -math.huge then return "null" end
  for prec = 1, 17 do
    local s = string.format("%." .. prec .. "g", f)
    if tonumber(s) == f then
      if not s:find("[%.eEn]") then s = s .. ".0" end
      return s
    end
  end
  return string.format("%.17g", f)
end

local function is_sequence(t)
  local n = #t
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n and n > 0
end

function json.encode(v)
  local ty = type(v)
  if v == nil or v == stub.null then return "null" end
  if ty == "boolean" then return tostring(v) end
  if ty == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return encode_float(v)
  end
  if ty == "string" then return encode_string(v) end
  if ty == "table" then
    if is_sequence(v) or (next(v) == nil and stub.is_array(v)) then
      local parts = {}
      for i = 1, #v do parts[i] = json.encode(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do
      if type(k) ~= "string" then error("json.encode: non-string key " .. tostring(k)) end
      keys[#keys + 1] = k
    end
    table.sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do parts[i] = encode_string(k) .. ":" .. json.encode(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  error("json.encode: cannot encode " .. ty)
end

-- decoder ------------------------------------------------------------------
local decode_value

local function skip(s, i)
  return s:match("^[ \t\r\n]*()", i)
end

local function decode_string(s, i)
  local out = {}
  i = i + 1
  while true do
    local c = s:sub(i, i)
    if c == "" then error("json: unterminated string") end
    if c == '"' then return table.concat(out), i + 1 end
    if c == "\\" then
      local e = s:sub(i + 1, i + 1)
      local map = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }
      if map[e] then
        out[#out + 1] = map[e]; i = i + 2
      elseif e == "u" then
        local cp = tonumber(s:sub(i + 2, i + 5), 16)
        i = i + 6
        if cp >= 0xD800 and cp <= 0xDBFF and s:sub(i, i + 1) == "\\u" then
          local lo = tonumber(s:sub(i + 2, i + 5), 16)
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
          i = i + 6
        end
        out[#out + 1] = utf8.char(cp)
      else
        error("json: bad escape")
      end
    else
      local j = s:find('["\\]', i) or (#s + 1)
      out[#out + 1] = s:sub(i, j - 1)
      i = j
    end
  end
end

function decode_value(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local obj = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return obj, i + 1 end
    while true do
      local k
      k, i = decode_string(s, skip(s, i))
      i = skip(s, i)
      assert(s:sub(i, i) == ":", "json: expected ':'")
      local v
      v, i = decode_value(s, i + 1)
      obj[k] = v
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "}" then return obj, i + 1 end
      assert(d == ",", "json: expected ','")
      i = i + 1
    end
  elseif c == "[" then
    local arr = stub.array()
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return arr, i + 1 end
    while true do
      local v
      v, i = decode_value(s, i)
      arr[#arr + 1] = v
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "]" then return arr, i + 1 end
      assert(d == ",", "json: expected ','")
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif s:sub(i, i + 3) == "true" then return true, i + 4
  elseif s:sub(i, i + 4) == "false" then return false, i + 5
  elseif s:sub(i, i + 3) == "null" then return stub.null, i + 4
  else
    local num, j = s:match("^(-?%d+%.?%d*[eE]?[-+]?%d*)()", i)
    if not num then error("json: unexpected '" .. c .. "' at " .. i) end
    if num:find("[%.eE]") then return tonumber(num) + 0.0, j end
    return math.tointeger(tonumber(num)) or tonumber(num), j
  end
end

function json.decode(s)
  local v, i = decode_value(s, 1)
  i = skip(s, i)
  if i <= #s then error("json: trailing text at " .. i) end
  return v
end

return json
