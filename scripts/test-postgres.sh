#!/bin/sh
# A throwaway PostgreSQL server for the tests: initdb in a temporary folder, listening on a Unix
# socket in that folder only (no TCP port), fsync off (the data is thrown away).
#
#   scripts/test-postgres.sh start [--owner PID]   starts a server; prints its connection URL on
#                                                   standard output (the folder is in it: host=…).
#                                                   With --owner, the server stops by itself when
#                                                   process PID ends (a test run that crashed).
#   scripts/test-postgres.sh stop URL|DIR           stops the server and removes its folder.
#   scripts/test-postgres.sh url DIR                prints the URL of the server in DIR again.
#
# Run as root (as on this machine and in CI), the server runs as the `postgres` OS user (initdb
# refuses root); run as another user, it runs as that user. Binaries: /usr/lib/postgresql/*/bin
# (Debian's `postgresql` package; `make deps` installs it) or PG_BIN.
set -eu

# First of all, drop every descriptor inherited beyond stdin/stdout/stderr (then run this script
# again): the server started below outlives us and must not hold the write end of a pipe that the
# test process reads to its end — a test reading standard input from a pipe would wait forever.
# bash, because dash cannot name descriptors above 9.
if [ -z "${SLUICE_PG_CLEAN_FDS:-}" ] && command -v bash >/dev/null 2>&1; then
    export SLUICE_PG_CLEAN_FDS=1
    exec bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec sh "$0" "$@"' "$0" "$@"
fi

die() { echo "test-postgres.sh: $*" >&2; exit 1; }

find_bin() {
    if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return; fi
    done
    initdb_path=$(command -v initdb 2>/dev/null || true)
    [ -n "$initdb_path" ] && { dirname "$initdb_path"; return; }
    die "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH; install them with 'make deps' (apt-get install postgresql)"
}

# Runs a command as the server's user.
as_server_user() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' OS user to run the server (apt-get install postgresql creates it)"
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c '"$0" "$@"' -- "$@"
        fi
    else
        "$@"
    fi
}

url_for() { echo "postgresql://postgres@/postgres?host=$1"; }

dir_of() {
    case "$1" in
        *host=*) d=${1#*host=}; echo "${d%%&*}" ;;
        *) echo "$1" ;;
    esac
}

stop_dir() {
    dir=$1
    [ -d "$dir" ] || return 0
    [ -f "$dir/data/PG_VERSION" ] || die "$dir is not a test server folder"
    bin=$(find_bin)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_server_user "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start)
    owner=""
    if [ "${2:-}" = "--owner" ]; then owner=${3:-}; fi
    bin=$(find_bin)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-pg.XXXXXX")
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    if ! as_server_user "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
            >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        die "initdb failed (log above)"
    fi
    # Unix socket in the folder only; fsync and friends off: a crash loses nothing we keep.
    if ! as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB" \
            start >/dev/null 2>&1; then
        cat "$dir/server.log" >&2 2>/dev/null || true
        stop_dir "$dir"
        die "the server did not start (log above)"
    fi
    if [ -n "$owner" ]; then
        # Stops the server when the owner process ends, however it ends.
        script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
        nohup sh -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done; "$3" stop "$2"' \
            watcher "$owner" "$dir" "$script" >/dev/null 2>&1 &
    fi
    url_for "$dir"
    ;;
stop)
    [ -n "${2:-}" ] || die "usage: $0 stop URL|DIR"
    stop_dir "$(dir_of "$2")"
    ;;
url)
    [ -n "${2:-}" ] || die "usage: $0 url DIR"
    url_for "$(dir_of "$2")"
    ;;
*)
    echo "usage: $0 start [--owner PID] | stop URL|DIR | url DIR" >&2
    exit 2
    ;;
esac
