#ifndef SLUICE_CLIBPQ_SHIM_H
#define SLUICE_CLIBPQ_SHIM_H
#include <libpq-fe.h>

/// The PG_DIAG_* field codes are character-literal macros; functions import into Swift for sure.
static inline int sluice_pg_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int sluice_pg_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int sluice_pg_diag_message_detail(void) { return PG_DIAG_MESSAGE_DETAIL; }

/// Discards the server's notices (libpq prints them on standard error by default).
static void sluice_pg_quiet_notice(void *arg, const char *message) { (void)arg; (void)message; }
static inline void sluice_pg_silence_notices(PGconn *conn) { PQsetNoticeProcessor(conn, sluice_pg_quiet_notice, 0); }
#endif
