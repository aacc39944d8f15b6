#!/usr/bin/env python3
"""Job 3 of `make bench`, a Python reference: article text files -> SQLite with FTS5.

Much simpler than Sluice's text_articles source (no header classification, dates, bylines or
captions): it reads each .txt/.md file, decodes it (UTF-8 with or without BOM, else
Windows-1252), normalizes line ends and NFC, takes the first non-empty line as the title and
the rest as the body, hashes title + body (SHA-256) into the id, counts words, and inserts the
rows in one transaction into a table with an external-content FTS5 index kept by a trigger.
It stands for the floor of the work, not for the same output.

    articles_to_sqlite.py FOLDER OUT.db
"""
import hashlib
import os
import sqlite3
import sys
import unicodedata


def files(root):
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith((".txt", ".md")):
                yield os.path.join(folder, name)


def article(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    lines = text.split("\n")
    title = ""
    rest = 0
    for n, line in enumerate(lines):
        if line.strip():
            title = line.strip().lstrip("# ")
            rest = n + 1
            break
    paragraphs = [p.strip() for p in "\n".join(lines[rest:]).split("\n\n") if p.strip()]
    body = "\n\n".join(paragraphs)
    digest = hashlib.sha256((title + "\n" + body).encode("utf-8")).hexdigest()[:32]
    return digest, title, body, len(body.split())


def main():
    db = sqlite3.connect(sys.argv[2])
    db.executescript("""
        CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, title TEXT, body TEXT, word_count INTEGER);
        CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(title, body, content='articles', content_rowid='rowid');
        CREATE TRIGGER IF NOT EXISTS articles_ai AFTER INSERT ON articles BEGIN
          INSERT INTO articles_fts (rowid, title, body) VALUES (new.rowid, new.title, new.body);
        END;
    """)
    with db:
        db.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?)",
                       (article(p) for p in files(sys.argv[1])))
    db.close()


if __name__ == "__main__":
    main()
