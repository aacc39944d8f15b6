#!/usr/bin/env python3
"""An exec transform for Sluice: adds `title_upper`, the title in capitals.

The protocol (docs/plugins.md): Sluice writes one JSON object per line to stdin; for every
line this program writes exactly one line to stdout and flushes it: an object (the output
record), an array of objects (several records; [] drops the record) or null (drops it).
Whatever goes to stderr ends up in Sluice's log.
"""
import json
import sys

for line in sys.stdin:
    record = json.loads(line)
    title = record.get("title")
    if title is None:
        # No title: drop the record (and say why in the log).
        print(f"no title in record {record.get('id')!r}, dropped", file=sys.stderr, flush=True)
        print("null", flush=True)
        continue
    record["title_upper"] = title.upper()
    # ensure_ascii=False keeps UTF-8 as is; flush=True answers at once (Sluice waits for it).
    print(json.dumps(record, ensure_ascii=False), flush=True)
