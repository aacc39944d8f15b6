#!/usr/bin/env python3
"""Job 2 of `make bench`, the Python way: the rule of Benchmarks/lua/rule.lua with `re`.

Reads JSON Lines, and for each record collects every `$<digits and dots> <letters>illion` of
`body` into `money` and their count into `money_count`, counts the runs of non-space
characters of `body` into `word_count`, upper-cases `section` into `section_upper`, and writes
JSON Lines.

    lua_rule.py IN.jsonl OUT.jsonl
"""
import json
import re
import sys

MONEY = re.compile(r"\$[0-9.]+ [A-Za-z]+illion")
WORD = re.compile(r"[^ \t\n\r\f\v]+")


def main():
    with open(sys.argv[1], "r", encoding="utf-8") as source, \
            open(sys.argv[2], "w", encoding="utf-8") as target:
        for line in source:
            if not line.strip():
                continue
            record = json.loads(line)
            body = record.get("body") or ""
            money = MONEY.findall(body)
            record["money"] = money
            record["money_count"] = len(money)
            record["word_count"] = len(WORD.findall(body))
            record["section_upper"] = (record.get("section") or "").upper()
            target.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            target.write("\n")


if __name__ == "__main__":
    main()
