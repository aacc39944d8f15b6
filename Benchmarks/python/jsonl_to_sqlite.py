#!/usr/bin/env python3
"""Job 1 of `make bench`, the Python way: JSON Lines -> SQLite table keyed on `id`.

json.loads per line, one executemany in one transaction, the standard library's sqlite3 with
its defaults (what a short script would do). The table is made as Sluice's sqlite sink makes
it: a column per field of the first record, typed, the key as PRIMARY KEY, upserts.

    jsonl_to_sqlite.py IN.jsonl OUT.db [KEY]
"""
import json
import sqlite3
import sys


def main():
    source, target = sys.argv[1], sys.argv[2]
    key = sys.argv[3] if len(sys.argv) > 3 else "id"
    with open(source, "rb") as f:
        first = json.loads(f.readline())
    names = list(first)

    def kind(value):
        if isinstance(value, bool) or isinstance(value, int):
            return "INTEGER"
        if isinstance(value, float):
            return "REAL"
        return "TEXT"

    db = sqlite3.connect(target)
    quoted = ['"' + n.replace('"', '""') + '"' for n in names]
    columns = ", ".join(f"{q} {kind(first[n])}" for q, n in zip(quoted, names))
    db.execute(f"CREATE TABLE IF NOT EXISTS bench ({columns}, PRIMARY KEY (\"{key}\"))")
    updates = ", ".join(f"{q} = excluded.{q}" for q, n in zip(quoted, names) if n != key)
    sql = (f"INSERT INTO bench ({', '.join(quoted)}) VALUES ({', '.join('?' * len(names))}) "
           f"ON CONFLICT (\"{key}\") DO UPDATE SET {updates}")

    def rows():
        with open(source, "rb") as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    yield tuple(record.get(n) for n in names)

    with db:  # one transaction
        db.executemany(sql, rows())
    db.close()


if __name__ == "__main__":
    main()
