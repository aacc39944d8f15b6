/* The limit for job 1 of `make bench`: JSON Lines of flat objects into an SQLite table with
 * the SQLite C API and nothing else (one prepared statement reused, values bound in place).
 * It parses only what the benchmark writes (one flat object per line: strings, numbers,
 * true/false/null), so it stands for the cost of SQLite itself plus a minimal reader.
 *
 *   sqlite_limit IN.jsonl OUT.db [--journal delete|wal|off|truncate] [--page-size N]
 *                [--sync off|normal|full] [--batch ROWS] [--upsert] [--key FIELD] [--cache KIB]
 *
 * Defaults are the best measured settings for a bulk load into a new table: rollback journal,
 * 32 KiB pages, synchronous=NORMAL, one transaction, plain INSERT, key `id`, SQLite's default
 * 2,000 KiB page cache (`--cache 16384` holds the key's index of 200,000 random keys: the bench
 * passes the cache the sluice sink grows to). It prints
 * `rows=N seconds=S` (wall time of open, parse, insert and commit).
 * Build: cc -O2 -o sqlite_limit sqlite_limit.c -lsqlite3
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FIELDS 64

typedef struct {
    char *name;
    char *text; /* decoded string value, or the number's text */
    int length;
    int kind;   /* 0 null, 1 string, 2 integer, 3 real, 4 bool */
    long long integer;
    double real;
} Field;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what) {
    fprintf(stderr, "sqlite_limit: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    exit(1);
}

static void put_utf8(char **out, unsigned cp) {
    char *o = *out;
    if (cp < 0x80) { *o++ = (char)cp; }
    else if (cp < 0x800) { *o++ = (char)(0xC0 | cp >> 6); *o++ = (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) { *o++ = (char)(0xE0 | cp >> 12); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F)); }
    else { *o++ = (char)(0xF0 | cp >> 18); *o++ = (char)(0x80 | ((cp >> 12) & 0x3F)); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F)); }
    *out = o;
}

static unsigned hex4(const char *p) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    }
    return v;
}

/* Reads a string at *p (just past the opening quote) into *out; returns the start. */
static char *read_string(const char **p, char **out, int *length) {
    const char *s = *p;
    char *start = *out, *o = *out;
    for (;;) {
        const char *q = s;
        while (*q != '"' && *q != '\\' && *q) q++;
        memcpy(o, s, (size_t)(q - s));
        o += q - s;
        s = q;
        if (*s == '"') { s++; break; }
        if (!*s) break;
        s++;
        switch (*s) {
        case 'n': *o++ = '\n'; s++; break;
        case 't': *o++ = '\t'; s++; break;
        case 'r': *o++ = '\r'; s++; break;
        case 'b': *o++ = '\b'; s++; break;
        case 'f': *o++ = '\f'; s++; break;
        case 'u': {
            unsigned cp = hex4(s + 1);
            s += 5;
            if (cp >= 0xD800 && cp < 0xDC00 && s[0] == '\\' && s[1] == 'u') {
                unsigned low = hex4(s + 2);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                s += 6;
            }
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = *s++; break;
        }
    }
    *length = (int)(o - start);
    *o++ = 0;
    *p = s;
    *out = o;
    return start;
}

static void skip_ws(const char **p) {
    while (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n') (*p)++;
}

/* Parses one flat object; returns the number of fields or -1. */
static int parse_line(const char *line, char *scratch, Field *fields) {
    const char *p = line;
    char *out = scratch;
    int n = 0;
    skip_ws(&p);
    if (*p++ != '{') return -1;
    for (;;) {
        skip_ws(&p);
        if (*p == '}') return n;
        if (*p++ != '"' || n == MAX_FIELDS) return -1;
        Field *f = &fields[n++];
        int len;
        f->name = read_string(&p, &out, &len);
        skip_ws(&p);
        if (*p++ != ':') return -1;
        skip_ws(&p);
        if (*p == '"') {
            p++;
            f->text = read_string(&p, &out, &f->length);
            f->kind = 1;
        } else if (*p == 't' || *p == 'f') {
            f->kind = 4;
            f->integer = *p == 't';
            p += *p == 't' ? 4 : 5;
        } else if (*p == 'n') {
            f->kind = 0;
            p += 4;
        } else {
            char *end;
            const char *q = p;
            int real = 0;
            while (*q && *q != ',' && *q != '}' && *q != ' ') { if (*q == '.' || *q == 'e' || *q == 'E') real = 1; q++; }
            if (real) { f->kind = 3; f->real = strtod(p, &end); }
            else { f->kind = 2; f->integer = strtoll(p, &end, 10); }
            p = q;
        }
        skip_ws(&p);
        if (*p == ',') p++;
    }
}

static void exec(sqlite3 *db, const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) {
        fprintf(stderr, "sqlite_limit: %s: %s\n", sql, error);
        exit(1);
    }
}

static void quote(char *out, const char *name) {
    *out++ = '"';
    for (; *name; name++) { if (*name == '"') *out++ = '"'; *out++ = *name; }
    *out++ = '"';
    *out = 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: sqlite_limit IN.jsonl OUT.db [--journal MODE] [--page-size N] [--sync MODE] [--batch ROWS] [--upsert] [--key FIELD] [--cache KIB]\n");
        return 2;
    }
    const char *journal = "delete", *sync = "normal", *key = "id";
    int page_size = 32768, upsert = 0, cache_kib = 0;
    long batch = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--journal") && i + 1 < argc) journal = argv[++i];
        else if (!strcmp(argv[i], "--page-size") && i + 1 < argc) page_size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sync") && i + 1 < argc) sync = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atol(argv[++i]);
        else if (!strcmp(argv[i], "--key") && i + 1 < argc) key = argv[++i];
        else if (!strcmp(argv[i], "--upsert")) upsert = 1;
        else if (!strcmp(argv[i], "--cache") && i + 1 < argc) cache_kib = atoi(argv[++i]);
        else { fprintf(stderr, "sqlite_limit: unknown argument %s\n", argv[i]); return 2; }
    }
    double start = now();
    FILE *in = fopen(argv[1], "r");
    if (!in) { perror(argv[1]); return 1; }
    sqlite3 *db;
    if (sqlite3_open(argv[2], &db) != SQLITE_OK) die(db, "open");
    char sql[8192];
    snprintf(sql, sizeof sql, "PRAGMA page_size=%d", page_size);
    exec(db, sql);
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s", journal);
    exec(db, sql);
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", sync);
    exec(db, sql);
    if (cache_kib > 0) {
        snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", cache_kib);
        exec(db, sql);
    }

    char *line = NULL;
    size_t capacity = 0;
    ssize_t got;
    char *scratch = NULL;
    size_t scratch_size = 0;
    Field fields[MAX_FIELDS];
    sqlite3_stmt *insert = NULL;
    int columns = 0;
    long rows = 0, in_batch = 0;
    exec(db, "BEGIN");
    while ((got = getline(&line, &capacity, in)) > 0) {
        if ((size_t)got * 2 + 16 > scratch_size) { scratch_size = (size_t)got * 2 + 16; scratch = realloc(scratch, scratch_size); }
        int n = parse_line(line, scratch, fields);
        if (n <= 0) continue;
        if (!insert) {
            /* The table the sqlite sink would make: a column per field, typed, key as PRIMARY KEY. */
            char create[8192] = "CREATE TABLE IF NOT EXISTS bench (", into[8192] = "INSERT INTO bench (", q[512];
            char values[4096] = ") VALUES (", update[8192] = "";
            for (int i = 0; i < n; i++) {
                quote(q, fields[i].name);
                const char *type = fields[i].kind == 1 ? " TEXT" : fields[i].kind == 3 ? " REAL" : fields[i].kind == 0 ? "" : " INTEGER";
                strcat(create, q); strcat(create, type); strcat(create, ", ");
                strcat(into, q); strcat(into, i + 1 < n ? ", " : "");
                strcat(values, i + 1 < n ? "?, " : "?)");
                if (strcmp(fields[i].name, key)) {
                    if (*update) strcat(update, ", ");
                    strcat(update, q); strcat(update, " = excluded."); strcat(update, q);
                }
            }
            quote(q, key);
            strcat(create, "PRIMARY KEY ("); strcat(create, q); strcat(create, "))");
            exec(db, create);
            snprintf(sql, sizeof sql, "%s%s%s%s%s%s", into, values, upsert ? " ON CONFLICT (" : "", upsert ? q : "",
                     upsert ? ") DO UPDATE SET " : "", upsert ? update : "");
            if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &insert, NULL) != SQLITE_OK) die(db, "prepare");
            columns = n;
        }
        if (n != columns) continue;
        for (int i = 0; i < n; i++) {
            Field *f = &fields[i];
            switch (f->kind) {
            case 0: sqlite3_bind_null(insert, i + 1); break;
            case 1: sqlite3_bind_text(insert, i + 1, f->text, f->length, SQLITE_STATIC); break;
            case 3: sqlite3_bind_double(insert, i + 1, f->real); break;
            default: sqlite3_bind_int64(insert, i + 1, f->integer); break;
            }
        }
        if (sqlite3_step(insert) != SQLITE_DONE) die(db, "insert");
        sqlite3_reset(insert);
        rows++;
        if (batch > 0 && ++in_batch >= batch) { exec(db, "COMMIT"); exec(db, "BEGIN"); in_batch = 0; }
    }
    exec(db, "COMMIT");
    sqlite3_finalize(insert);
    if (sqlite3_close(db) != SQLITE_OK) die(db, "close");
    fclose(in);
    free(line);
    free(scratch);
    printf("rows=%ld seconds=%.3f\n", rows, now() - start);
    return 0;
}
