// The libpq functions Sluice calls, forwarded to the library loaded with dlopen on first use
// (see CLibPQ.h). Each keeps libpq's own name and signature, so the Swift code calls the
// documented API; the forwarders find libpq's definitions through the library's handle. They are
// hidden: a binary that exports its symbols (the release build) would otherwise bind libpq's own
// internal calls (PQclear, PQexec, PQgetResult…) to them.
#include "CLibPQ.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// Every function used: return type, name, parameters, arguments.
#define SLUICE_PQ_FUNCTIONS(X, V) \
    X(PGconn *, PQconnectdbParams, (const char *const *keywords, const char *const *values, int expand_dbname), (keywords, values, expand_dbname)) \
    X(ConnStatusType, PQstatus, (const PGconn *conn), (conn)) \
    X(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn), (conn)) \
    X(char *, PQerrorMessage, (const PGconn *conn), (conn)) \
    X(int, PQserverVersion, (const PGconn *conn), (conn)) \
    X(int, PQbackendPID, (const PGconn *conn), (conn)) \
    X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *conn, PQnoticeProcessor proc, void *arg), (conn, proc, arg)) \
    V(PQfinish, (PGconn *conn), (conn)) \
    X(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query)) \
    X(PGresult *, PQexecParams, (PGconn *conn, const char *command, int nParams, const Oid *paramTypes, \
                                 const char *const *paramValues, const int *paramLengths, const int *paramFormats, \
                                 int resultFormat), \
      (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat)) \
    X(PGresult *, PQgetResult, (PGconn *conn), (conn)) \
    X(int, PQputCopyData, (PGconn *conn, const char *buffer, int nbytes), (conn, buffer, nbytes)) \
    X(int, PQputCopyEnd, (PGconn *conn, const char *errormsg), (conn, errormsg)) \
    X(ExecStatusType, PQresultStatus, (const PGresult *res), (res)) \
    X(char *, PQresultErrorMessage, (const PGresult *res), (res)) \
    X(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode)) \
    X(char *, PQcmdTuples, (PGresult *res), (res)) \
    X(int, PQntuples, (const PGresult *res), (res)) \
    X(int, PQnfields, (const PGresult *res), (res)) \
    X(char *, PQfname, (const PGresult *res, int field_num), (res, field_num)) \
    X(Oid, PQftype, (const PGresult *res, int field_num), (res, field_num)) \
    X(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num)) \
    X(int, PQgetlength, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num)) \
    X(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num)) \
    V(PQclear, (PGresult *res), (res))

#define SLUICE_POINTER(ret, name, params, args) ret (*name) params;
#define SLUICE_VOID_POINTER(name, params, args) void (*name) params;
static struct {
    SLUICE_PQ_FUNCTIONS(SLUICE_POINTER, SLUICE_VOID_POINTER)
} pq;

static pthread_once_t loaded = PTHREAD_ONCE_INIT;
/// Why libpq cannot be used; empty when it can.
static char problem[512];

static void load(void) {
    static const char *const names[] = {"libpq.so.5", "libpq.so", "libpq.5.dylib", "libpq.dylib"};
    void *handle = NULL;
    const char *why = "not found";
    for (unsigned k = 0; k < sizeof names / sizeof names[0] && handle == NULL; k++) {
        handle = dlopen(names[k], RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL && k == 0) {
            const char *error = dlerror();
            if (error != NULL) {
                snprintf(problem, sizeof problem, "%s", error);   // keep the first reason
                why = problem;
            }
        }
    }
    if (handle == NULL) {
        char reason[sizeof problem];
        snprintf(reason, sizeof reason, "%s", why);
        snprintf(problem, sizeof problem,
                 "cannot load PostgreSQL's client library libpq (%s); install it (Debian/Ubuntu: apt-get install libpq5)",
                 reason);
        return;
    }
    problem[0] = 0;
#define SLUICE_RESOLVE(name)                                                                              \
    pq.name = (__typeof__(pq.name))dlsym(handle, #name);                                                  \
    if (pq.name == NULL) {                                                                                 \
        snprintf(problem, sizeof problem, "the libpq found has no %s: it is too old; install libpq 10 or later", #name); \
        return;                                                                                            \
    }
#define SLUICE_RESOLVE_X(ret, name, params, args) SLUICE_RESOLVE(name)
#define SLUICE_RESOLVE_V(name, params, args) SLUICE_RESOLVE(name)
    SLUICE_PQ_FUNCTIONS(SLUICE_RESOLVE_X, SLUICE_RESOLVE_V)
}

int sluice_libpq_load(char *message, int size) {
    pthread_once(&loaded, load);
    if (problem[0] == 0) return 1;
    if (message != NULL && size > 0) snprintf(message, (size_t)size, "%s", problem);
    return 0;
}

#define SLUICE_HIDDEN __attribute__((visibility("hidden")))
#define SLUICE_FORWARD(ret, name, params, args) \
    SLUICE_HIDDEN ret name params {             \
        pthread_once(&loaded, load);            \
        return pq.name args;                    \
    }
#define SLUICE_FORWARD_VOID(name, params, args) \
    SLUICE_HIDDEN void name params {            \
        pthread_once(&loaded, load);            \
        pq.name args;                           \
    }
SLUICE_PQ_FUNCTIONS(SLUICE_FORWARD, SLUICE_FORWARD_VOID)
