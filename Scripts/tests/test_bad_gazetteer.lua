-- TEST-ONLY: a gazetteer with a name the matcher cannot find (it starts with a lower-case letter).
return { places = { { "Somewhere" } }, organizations = { { "al-Something" } } }
