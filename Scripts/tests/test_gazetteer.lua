-- TEST-ONLY: an extension of the shipped gazetteer, the way Scripts/gazetteer.lua says to write one.
local g = require("gazetteer")
table.insert(g.places, { "Zorbia", kind = "country", adj = "Zorbian" })
table.insert(g.organizations, { "Zorbian Bureau of Tea" })
return g
