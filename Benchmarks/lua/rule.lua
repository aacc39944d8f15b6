-- The rule of job 2 of `make bench` (issue 13), as a Sluice `lua` transform: every
-- `$<digits and dots> <letters>illion` of `body` into `money` (a JSON array, empty or not)
-- and their count into `money_count`, the `%S+` words of `body` counted with gsub into
-- `word_count`, `section` upper-cased into `section_upper`.
function process(record)
  local money = sluice.array()
  for m in string.gmatch(record.body, "%$[%d%.]+ %a+illion") do
    money[#money + 1] = m
  end
  record.money = money
  record.money_count = #money
  local _, words = string.gsub(record.body, "%S+", "")
  record.word_count = words
  record.section_upper = string.upper(record.section)
  return record
end
