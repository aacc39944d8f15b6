#ifndef SLUICE_CLIBPQ_H
#define SLUICE_CLIBPQ_H
// libpq's API (types and functions), loaded at run time by loader.c: the binary does not link
// libpq, so a run that uses no PostgreSQL stage neither needs the library nor maps it and the
// ~20 libraries it pulls in (Kerberos, LDAP, TLS), ~5 MB of resident memory per process.
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>   // Debian and Ubuntu's libpq-dev
#endif

/// Loads libpq (once per process). Returns 1 when every function Sluice uses is there; else 0,
/// with the reason in `message` (`size` bytes at most, NUL-terminated). Call it before the first
/// libpq function: those of a library that could not be loaded must not be called.
int sluice_libpq_load(char *message, int size);

/// The PG_DIAG_* field codes are character-literal macros; functions import into Swift for sure.
static inline int sluice_pg_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int sluice_pg_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int sluice_pg_diag_message_detail(void) { return PG_DIAG_MESSAGE_DETAIL; }

/// Discards the server's notices (libpq prints them on standard error by default).
static void sluice_pg_quiet_notice(void *arg, const char *message) { (void)arg; (void)message; }
static inline void sluice_pg_silence_notices(PGconn *conn) { PQsetNoticeProcessor(conn, sluice_pg_quiet_notice, 0); }
#endif
