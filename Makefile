# Sluice — make targets. `make demo` runs the demo pipeline on seeds/, `make test` runs the tests.
SWIFT     ?= swift
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS  := liblua5.4-dev libsqlite3-dev libcld2-dev libpcre2-dev sqlite3 lua5.4 pkg-config libpq-dev postgresql
BIN       := .build/debug/sluice
## Release builds link the Swift runtime and Foundation into the binary (--static-swift-stdlib): it
## runs on a machine without a Swift toolchain, and the dynamic loader no longer maps and relocates
## libswiftCore, Foundation and ICU at start. Measured (bench data, one run each way): job 1 peak
## RSS 45 → 40 MB and ~5 % less CPU, text_articles → sqlite 55 → 51 MB.
RELEASE   := -c release --static-swift-stdlib
PREFIX    ?= /usr/local
DESTDIR   ?=

.PHONY: deps build demo test bench docs man install uninstall clean

## Install the system libraries Sluice links (Lua 5.4, SQLite, PCRE2 for sluice.re, CLD2 for article
## languages, libpq) when they are missing, plus the sqlite3 and lua5.4 programs (the demo prints with
## sqlite3; a test checks our patterns against lua5.4) and the PostgreSQL server and psql (the tests
## start a throwaway server with scripts/test-postgres.sh).
deps:
	@if ! pkg-config --exists lua5.4 sqlite3 libpcre2-8 libpq 2>/dev/null || ! command -v sqlite3 >/dev/null || ! command -v lua5.4 >/dev/null \
		|| [ ! -e /usr/include/cld2/public/compact_lang_det.h ] || ! command -v psql >/dev/null \
		|| ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "Installing $(APT_PKGS) with apt-get…"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PKGS); \
	fi

build: deps
	$(SWIFT) build --product sluice

## Run the demo pipeline (examples/articles.yaml) on seeds/ and show what landed in out/.
demo: build
	@rm -rf out .sluice
	$(BIN) run examples/articles.yaml --progress never
	@echo
	@echo "== out/articles.db, table articles =="
	@sqlite3 -header -column out/articles.db \
		"SELECT title, published, json_array_length(paragraphs) AS paragraphs, word_count FROM articles;"
	@echo
	@echo "== money and percentages found by Scripts/extract_facts.lua =="
	@sqlite3 out/articles.db \
		"SELECT '  ' || json_extract(m.value, '$$.text') || ' = ' || json_extract(m.value, '$$.value') || ' ' || json_extract(m.value, '$$.currency') FROM articles, json_each(articles.money) AS m;"
	@sqlite3 out/articles.db "SELECT '  percentages: ' || percentages FROM articles;"
	@echo
	@echo "== full-text search: articles matching 'railway' =="
	@sqlite3 out/articles.db "SELECT '  ' || title FROM articles WHERE rowid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'railway');"
	@echo
	@echo "JSON Lines copy: out/articles.jsonl ($$(wc -l < out/articles.jsonl) record)"

## Build once, then run every test (unit, plugin, end-to-end on the built binary). The PostgreSQL tests
## start one throwaway server per test process (scripts/test-postgres.sh; SLUICE_TEST_POSTGRES_URL
## points them at another server instead).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## Issue 13's jobs on deterministic generated data (release build), side by side with Python, the
## SQLite C API (Benchmarks/c, the limit), sqlite-utils and lua5.4 + lua-cjson when installed:
## records/s, MB/s, peak RSS, ratios. BENCH_QUICK=1: a smoke run on small data. BENCH_SCALE=5: every
## job on 5× the records and articles (issue 13's peak-RSS goal holds at 5×; BENCH_RUNS=1 keeps it short).
## BENCH_KEEP=DIR: generate the data in DIR and keep it (to profile a job by hand). BENCH=NAME runs
## another benchmark of sluice-bench instead (articles, lua, pipeline, stores, delivery, matching, postgres:
## the postgres sink beside psql's \copy of the same rows on a throwaway server).
BENCH_C   := .build/bench/sqlite_limit
bench: deps
	$(SWIFT) build $(RELEASE) --product sluice
	$(SWIFT) build $(RELEASE) --product sluice-bench
	@mkdir -p $(dir $(BENCH_C))
	cc -O2 -o $(BENCH_C) Benchmarks/c/sqlite_limit.c $$(pkg-config --cflags --libs sqlite3)
	BENCH_C_LIMIT=$(BENCH_C) SLUICE_BIN=.build/release/sluice .build/release/sluice-bench $(or $(BENCH),side-by-side)

## Install the release binary into $(PREFIX)/bin, the man page, and bash, zsh and fish completions
## (subcommands, options, config files, stage types). `make install PREFIX=$$HOME/.local` needs no root.
install: deps
	$(SWIFT) build $(RELEASE) --product sluice
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 .build/release/sluice $(DESTDIR)$(PREFIX)/bin/sluice
	install -m 644 docs/man/sluice.1 $(DESTDIR)$(PREFIX)/share/man/man1/sluice.1
	.build/release/sluice --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sluice
	.build/release/sluice --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sluice
	.build/release/sluice --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sluice.fish
	@echo "installed $(DESTDIR)$(PREFIX)/bin/sluice (man sluice; completions for bash, zsh and fish)"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sluice $(DESTDIR)$(PREFIX)/share/man/man1/sluice.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/sluice $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sluice \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sluice.fish

## Regenerate docs/man/sluice.1 with swift-argument-parser's generate-manual (a test fails when a
## subcommand or option is missing from it).
man: build
	$(SWIFT) build --product generate-manual
	$$($(SWIFT) build --show-bin-path)/generate-manual $(BIN) --output-directory docs/man --authors "The Sluice authors"

## Regenerate docs/stages.md from the binary's own stage descriptions.
docs: build
	tools/stages-doc.sh

clean:
	rm -rf .build out .sluice
