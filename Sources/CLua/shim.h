#ifndef SLUICE_CLUA_SHIM_H
#define SLUICE_CLUA_SHIM_H
/*
 * The C half of Sluice's Lua engine.
 *
 * Swift cannot import Lua's function-like macros, and must never be crossed by a Lua error
 * (errors are longjmps: they would skip Swift's releases). So everything that raises a Lua
 * error lives here, in C, and Swift only ever returns a status:
 *
 *  - sluice_trampoline: every Swift function registered in Lua is this C closure. It calls the
 *    Swift dispatcher, and raises the error the dispatcher left on the stack only after the
 *    Swift frame has returned.
 *  - sluice_alloc: the allocator, which refuses to grow past the state's memory cap while a
 *    script runs (never while Swift marshals, where a refusal would abort the process).
 *  - sluice_count_hook: charges the per-call budget every 1000 VM instructions.
 *  - pcall/xpcall/coroutine.resume replacements that re-raise a limit error, so a script
 *    cannot swallow "instruction limit exceeded" or "not enough memory" and carry on.
 *  - charged wrappers for the C library functions whose work is not bounded by the hook
 *    (string.rep, table.insert, table.sort...), which charge the budget by input size.
 */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- macros as functions */

static inline int sluice_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int sluice_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline int sluice_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}
static inline void sluice_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void sluice_newtable(lua_State *L) { lua_newtable(L); }
static inline void sluice_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcfunction(L, f); }
static inline void sluice_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
static inline void sluice_insert(lua_State *L, int idx) { lua_insert(L, idx); }
static inline void sluice_remove(lua_State *L, int idx) { lua_remove(L, idx); }
static inline void sluice_replace(lua_State *L, int idx) { lua_replace(L, idx); }
static inline int sluice_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
static inline lua_Integer sluice_tointeger(lua_State *L, int idx) { return lua_tointeger(L, idx); }
static inline lua_Number sluice_tonumber(lua_State *L, int idx) { return lua_tonumber(L, idx); }
static inline const char *sluice_typename(lua_State *L, int idx) { return luaL_typename(L, idx); }
static inline void sluice_gc_collect(lua_State *L) { (void)lua_gc(L, LUA_GCCOLLECT, 0); }
static inline void sluice_gc_generational(lua_State *L) { (void)lua_gc(L, LUA_GCGEN, 0, 0); }
static inline int sluice_gc_count_kb(lua_State *L) { return lua_gc(L, LUA_GCCOUNT, 0); }

/* ---------------------------------------------------------------- the control block */

enum {
    SLUICE_FATAL_NONE = 0,
    SLUICE_FATAL_INSTRUCTIONS = 1,
    SLUICE_FATAL_MEMORY = 2,
    SLUICE_FATAL_PATTERN = 3
};

/* What the Swift dispatcher returns besides a result count. */
enum {
    /* The message is on the stack top; raise it with the caller's "chunk:line:" in front. */
    SLUICE_RAISE_POSITIONED = -1,
    /* The error object is on the stack top; raise it as it is. */
    SLUICE_RAISE_RAW = -2
};

/* Calls Swift function number `function` of the state; returns a result count or SLUICE_RAISE_*. */
typedef int (*sluice_dispatch_fn)(lua_State *L, void *context, int function);

/* Per-state facts shared by C and Swift. Swift allocates it and passes it as the allocator's
 * userdata, so every coroutine of the state finds it with lua_getallocf. */
typedef struct sluice_control {
    size_t used;               /* bytes currently allocated by the state */
    size_t peak;               /* the most ever allocated */
    size_t limit;              /* memory cap in bytes; 0 = none */
    int enforce;               /* 1 while script code runs: the cap applies */
    int fatal;                 /* SLUICE_FATAL_* once a limit was hit in the current call */
    long long remaining;       /* budget left in the current call (instructions and match steps) */
    int limited;               /* 1 when the budget applies at all */
    sluice_dispatch_fn dispatch;
    void *context;
    char place[256];           /* "chunk:line:" of the first limit error, or of the error */
} sluice_control;

static inline sluice_control *sluice_control_of(lua_State *L) {
    void *ud = NULL;
    (void)lua_getallocf(L, &ud);
    return (sluice_control *)ud;
}

static inline void *sluice_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    sluice_control *c = (sluice_control *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        c->used -= old;
        return NULL;
    }
    if (nsize > old && c->enforce && c->limit != 0 && c->used - old + nsize > c->limit) {
        return NULL; /* Lua collects garbage, retries once, then raises LUA_ERRMEM */
    }
    void *block = realloc(ptr, nsize);
    if (block != NULL) {
        c->used = c->used - old + nsize;
        if (c->used > c->peak) c->peak = c->used;
    }
    return block;
}

static inline int sluice_panic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "sluice: unrecoverable Lua error outside a protected call: %s\n", msg ? msg : "(no message)");
    fflush(stderr);
    return 0; /* Lua aborts the process after this */
}

/* Creates a state with the capped allocator and the panic handler. */
static inline lua_State *sluice_newstate(sluice_control *c) {
    lua_State *L = lua_newstate(sluice_alloc, c);
    if (L != NULL) lua_atpanic(L, sluice_panic);
    return L;
}

/* Records "chunk:line:" of the innermost Lua function at or above `level`, once per call. */
static inline void sluice_note_where(lua_State *L, int level) {
    sluice_control *c = sluice_control_of(L);
    if (c->place[0] != 0) return;
    lua_Debug ar;
    for (int l = level; l < level + 20 && lua_getstack(L, l, &ar); l++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(c->place, sizeof c->place, "%s:%d:", ar.short_src, ar.currentline);
            return;
        }
    }
}

/* Marks the current call as over a limit and raises (never returns). */
static inline int sluice_raise_fatal(lua_State *L, int kind, int level) {
    sluice_control *c = sluice_control_of(L);
    if (c->fatal == SLUICE_FATAL_NONE) {
        c->fatal = kind;
        sluice_note_where(L, level);
    }
    lua_pushstring(L, kind == SLUICE_FATAL_MEMORY ? "not enough memory" : "limit exceeded");
    return lua_error(L);
}

/* Charges `cost` budget units; raises the instruction limit when the budget runs out. */
static inline void sluice_charge(lua_State *L, long long cost) {
    sluice_control *c = sluice_control_of(L);
    if (!c->limited) return;
    c->remaining -= cost;
    if (c->remaining < 0) sluice_raise_fatal(L, SLUICE_FATAL_INSTRUCTIONS, 1);
}

/* ---------------------------------------------------------------- the instruction hook */

enum { SLUICE_HOOK_COUNT = 1000 };

static inline void sluice_count_hook(lua_State *L, lua_Debug *ar) {
    sluice_control *c = sluice_control_of(L);
    if (c->limited) c->remaining -= SLUICE_HOOK_COUNT;
    if (c->fatal != SLUICE_FATAL_NONE || (c->limited && c->remaining < 0)) {
        if (c->fatal == SLUICE_FATAL_NONE) {
            c->fatal = SLUICE_FATAL_INSTRUCTIONS;
            if (c->place[0] == 0 && lua_getinfo(L, "Sl", ar) && ar->currentline > 0) {
                snprintf(c->place, sizeof c->place, "%s:%d:", ar->short_src, ar->currentline);
            }
        }
        lua_pushstring(L, "limit exceeded");
        lua_error(L);
    }
}

static inline void sluice_install_hook(lua_State *L) {
    lua_sethook(L, sluice_count_hook, LUA_MASKCOUNT, SLUICE_HOOK_COUNT);
}

/* ---------------------------------------------------------------- Swift functions */

/* The C closure behind every Swift function. Upvalue 1 is the Swift function's number; the
 * others belong to the Swift function. */
static inline int sluice_trampoline(lua_State *L) {
    sluice_control *c = sluice_control_of(L);
    int function = (int)lua_tointeger(L, lua_upvalueindex(1));
    int saved = c->enforce;
    c->enforce = 0; /* Swift may allocate freely; the cap is checked when it returns */
    int n = c->dispatch(L, c->context, function);
    if (n == SLUICE_RAISE_POSITIONED) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    int over = 0;
    if (n >= 0 && saved && c->limit != 0 && c->used > c->limit) {
        (void)lua_gc(L, LUA_GCCOLLECT, 0);
        over = c->used > c->limit;
    }
    c->enforce = saved;
    if (c->fatal != SLUICE_FATAL_NONE && n < 0) {
        sluice_note_where(L, 1);
    }
    if (n < 0) return lua_error(L);
    if (over) return sluice_raise_fatal(L, SLUICE_FATAL_MEMORY, 1);
    return n;
}

/* Pushes Swift function number `function` as a closure that also holds the `nup` values on
 * the stack top (which it pops). */
static inline void sluice_push_swift_function(lua_State *L, int function, int nup) {
    lua_pushinteger(L, function);
    lua_insert(L, -(nup + 1));
    lua_pushcclosure(L, sluice_trampoline, nup + 1);
}

/* ---------------------------------------------------------------- sandbox replacements */

/* Calls the original library function (upvalue 1) on this very frame, so its argument errors
 * still name it ("bad argument #1 to 'rep'"). Only used for stock functions without upvalues. */
static inline int sluice_call_original(lua_State *L) {
    lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
    if (original == NULL) return luaL_error(L, "internal error: wrapped function is not a C function");
    return original(L);
}

/* pcall and xpcall that cannot swallow a limit error. */
static inline int sluice_finish_pcall(lua_State *L, int status, lua_KContext extra) {
    if (status != LUA_OK && status != LUA_YIELD) {
        sluice_control *c = sluice_control_of(L);
        if (status == LUA_ERRMEM && c->fatal == SLUICE_FATAL_NONE && c->enforce) {
            c->fatal = SLUICE_FATAL_MEMORY;
            sluice_note_where(L, 1);
        }
        if (c->fatal != SLUICE_FATAL_NONE) return lua_error(L);
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static inline int sluice_safe_pcall(lua_State *L) {
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, sluice_finish_pcall);
    return sluice_finish_pcall(L, status, 0);
}

/* xpcall's message handler (upvalue 1: the script's handler). After a limit error it returns
 * the message untouched instead of running the script's handler: Lua runs a message handler
 * with hooks off when the error comes from the count hook, so a looping handler would never
 * be stopped. */
static inline int sluice_guarded_handler(lua_State *L) {
    sluice_control *c = sluice_control_of(L);
    if (c->fatal != SLUICE_FATAL_NONE) return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static inline int sluice_safe_xpcall(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, sluice_guarded_handler, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2);
    int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, sluice_finish_pcall);
    return sluice_finish_pcall(L, status, 2);
}

/* coroutine.resume (upvalue 1: the original) that re-raises a limit error. */
static inline int sluice_safe_resume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    int n = sluice_call_original(L);
    sluice_control *c = sluice_control_of(L);
    if (co != NULL && lua_status(co) == LUA_ERRMEM && c->fatal == SLUICE_FATAL_NONE && c->enforce) {
        c->fatal = SLUICE_FATAL_MEMORY;
        sluice_note_where(L, 1);
    }
    if (c->fatal != SLUICE_FATAL_NONE) {
        lua_pushstring(L, "limit exceeded");
        return lua_error(L);
    }
    return n;
}

/* load (upvalue 1: the original) that only accepts text chunks. */
static inline int sluice_safe_load(lua_State *L) {
    int n = lua_gettop(L);
    if (n >= 3 && !lua_isnil(L, 3)) {
        const char *mode = luaL_checkstring(L, 3);
        if (strchr(mode, 't') == NULL) {
            return luaL_error(L, "loading binary chunks is not allowed in the sandbox (mode '%s')", mode);
        }
    }
    if (n < 3) lua_settop(L, 3);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    return sluice_call_original(L);
}

/* setmetatable (upvalue 1: the original) that refuses finalizers: a __gc could run script code
 * at any allocation, even while Swift marshals outside a protected call. */
static inline int sluice_safe_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int has = lua_rawget(L, 2) != LUA_TNIL;
        lua_pop(L, 1);
        if (has) return luaL_error(L, "__gc metamethods are not allowed in the sandbox");
    }
    return sluice_call_original(L);
}

/* collectgarbage (upvalue 1: the original) limited to options that cannot stop the collector. */
static inline int sluice_safe_collectgarbage(lua_State *L) {
    const char *opt = luaL_optstring(L, 1, "collect");
    static const char *const allowed[] = {"collect", "count", "step", "isrunning", NULL};
    for (int i = 0; allowed[i] != NULL; i++) {
        if (strcmp(opt, allowed[i]) == 0) return sluice_call_original(L);
    }
    return luaL_error(L, "collectgarbage('%s') is not allowed in the sandbox", opt);
}

/* ---------------------------------------------------------------- record tables */

/* Appends key `k` to the list of new keys of table `t` kept in the weak table at `keys`. */
static inline void sluice_track_new_key(lua_State *L, int t, int k, int keys) {
    lua_pushvalue(L, t);
    if (lua_rawget(L, keys) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_createtable(L, 4, 0);
        lua_pushvalue(L, t);
        lua_pushvalue(L, -2);
        lua_rawset(L, keys);
    }
    lua_pushvalue(L, k);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
}

/* __newindex of objects that came from Swift (upvalue 1: weak table object -> list of new
 * keys). Fires only for keys the table does not have, so reading back can append them in the
 * order they were first assigned. */
static inline int sluice_object_newindex(lua_State *L) {
    lua_settop(L, 3);
    if (!lua_isnil(L, 3)) sluice_track_new_key(L, 1, 2, lua_upvalueindex(1));
    lua_rawset(L, 1);
    return 0;
}

/* Checks that (key, value) may be stored in the array table at index 1. */
static inline void sluice_check_array_store(lua_State *L, int t, int k, int v) {
    int isint = 0;
    lua_Integer i = lua_type(L, k) == LUA_TNUMBER ? lua_tointegerx(L, k, &isint) : 0;
    if (!isint || i < 1) {
        if (lua_type(L, k) == LUA_TSTRING) {
            luaL_error(L, "cannot set field '%s' of an array (arrays take indexes 1, 2, 3...)", lua_tostring(L, k));
        } else {
            luaL_error(L, "cannot use a %s as an index of an array (arrays take indexes 1, 2, 3...)",
                       lua_type(L, k) == LUA_TNUMBER ? "non-integer number" : luaL_typename(L, k));
        }
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, t);
    if (!lua_isnil(L, v) && i > n + 1) {
        luaL_error(L, "index %I is past the end of an array of length %I (fill gaps with sluice.null)",
                   (LUAI_UACINT)i, (LUAI_UACINT)n);
    }
}

/* __newindex of arrays (from JSON or sluice.array()). */
static inline int sluice_array_newindex(lua_State *L) {
    sluice_check_array_store(L, 1, 2, 3);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

/* rawset (upvalue 1: the original; 2: the object metatable; 3: the array metatable; 4: the
 * new-keys table) that keeps the bookkeeping of record tables right. */
static inline int sluice_safe_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    if (lua_getmetatable(L, 1)) {
        if (lua_rawequal(L, -1, lua_upvalueindex(3))) {
            lua_pop(L, 1);
            sluice_check_array_store(L, 1, 2, 3);
        } else if (lua_rawequal(L, -1, lua_upvalueindex(2))) {
            lua_pop(L, 1);
            lua_pushvalue(L, 2);
            int absent = lua_rawget(L, 1) == LUA_TNIL;
            lua_pop(L, 1);
            if (absent && !lua_isnil(L, 3)) sluice_track_new_key(L, 1, 2, lua_upvalueindex(4));
        } else {
            lua_pop(L, 1);
        }
    }
    return sluice_call_original(L);
}

/* __tostring of sluice.null. */
static inline int sluice_null_tostring(lua_State *L) {
    lua_pushliteral(L, "null");
    return 1;
}

/* ---------------------------------------------------------------- charged library functions */

enum {
    SLUICE_COST_REP = 1,       /* string.rep(s, n [, sep]) */
    SLUICE_COST_LENGTH = 2,    /* O(#arg1) over a string: upper, lower, reverse, byte, utf8.* */
    SLUICE_COST_COUNT = 3,     /* O(#arg1) over a table: concat, unpack */
    SLUICE_COST_INSERT = 4,    /* table.insert(t, [pos,] v): shifts #t - pos elements */
    SLUICE_COST_REMOVE = 5,    /* table.remove(t [, pos]): shifts #t - pos elements */
    SLUICE_COST_SORT = 6,      /* table.sort */
    SLUICE_COST_MOVE = 7       /* table.move(a1, f, e, t) */
};

/* The budget units a library call costs, from its arguments (about one unit per VM
 * instruction's worth of work). */
static inline long long sluice_call_cost(lua_State *L, int policy) {
    long long cost = 1;
    switch (policy) {
    case SLUICE_COST_REP: {
        size_t l = 0, lsep = 0;
        if (lua_type(L, 1) == LUA_TSTRING) (void)lua_tolstring(L, 1, &l);
        if (lua_type(L, 3) == LUA_TSTRING) (void)lua_tolstring(L, 3, &lsep);
        lua_Integer n = lua_type(L, 2) == LUA_TNUMBER ? lua_tointeger(L, 2) : 0;
        if (n > 0) {
            double total = (double)n / 8.0 + (double)n * (double)(l + lsep) / 64.0;
            cost = total > 4e18 ? 4000000000000000000LL : (long long)total + 1;
        }
        break;
    }
    case SLUICE_COST_LENGTH:
        if (lua_type(L, 1) == LUA_TSTRING) cost += (long long)(lua_rawlen(L, 1) / 32);
        break;
    case SLUICE_COST_COUNT:
        if (lua_type(L, 1) == LUA_TTABLE) cost += (long long)lua_rawlen(L, 1);
        break;
    case SLUICE_COST_INSERT:
    case SLUICE_COST_REMOVE: {
        int withpos = policy == SLUICE_COST_INSERT ? lua_gettop(L) >= 3 : lua_gettop(L) >= 2;
        if (withpos && lua_type(L, 1) == LUA_TTABLE && lua_type(L, 2) == LUA_TNUMBER) {
            lua_Integer n = (lua_Integer)lua_rawlen(L, 1), pos = lua_tointeger(L, 2);
            if (n > pos) cost += (long long)(n - pos);
        }
        break;
    }
    case SLUICE_COST_SORT:
        if (lua_type(L, 1) == LUA_TTABLE) {
            long long n = (long long)lua_rawlen(L, 1), lg = 1;
            while (lg < 62 && (1LL << lg) < n) lg++;
            cost += n * lg;
        }
        break;
    case SLUICE_COST_MOVE:
        if (lua_type(L, 2) == LUA_TNUMBER && lua_type(L, 3) == LUA_TNUMBER) {
            lua_Integer f = lua_tointeger(L, 2), e = lua_tointeger(L, 3);
            if (e >= f) {
                double span = (double)e - (double)f + 1.0;
                cost = span > 4e18 ? 4000000000000000000LL : (long long)span;
            }
        }
        break;
    default:
        break;
    }
    return cost;
}

/* Calls upvalue 1 (a library function) after charging the budget by its input size
 * (upvalue 2: SLUICE_COST_*), so C loops the instruction hook never sees stay bounded. */
static inline int sluice_charged_call(lua_State *L) {
    int policy = (int)lua_tointeger(L, lua_upvalueindex(2));
    if (policy == SLUICE_COST_REP && lua_type(L, 1) == LUA_TSTRING && lua_rawlen(L, 1) == 0 &&
        (lua_type(L, 3) != LUA_TSTRING || lua_rawlen(L, 3) == 0)) {
        lua_pushliteral(L, ""); /* stock Lua loops n times to build "" */
        return 1;
    }
    sluice_charge(L, sluice_call_cost(L, policy));
    return sluice_call_original(L);
}

/* Replaces field `name` of the table on the stack top with a charged version of itself. */
static inline void sluice_charge_field(lua_State *L, const char *name, int policy) {
    if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return;
    }
    lua_pushinteger(L, policy);
    lua_pushcclosure(L, sluice_charged_call, 2);
    lua_setfield(L, -2, name);
}

/* Replaces field `name` of the table on the stack top with `f` closing over the original. */
static inline void sluice_wrap_field(lua_State *L, const char *name, lua_CFunction f) {
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -2, name);
}

/* t[k] with metamethods, for a protected call from Swift: (t, k) -> t[k]. */
static inline int sluice_index_function(lua_State *L) {
    lua_settop(L, 2);
    lua_gettable(L, 1);
    return 1;
}

/* tostring(v) with metamethods, for a protected call from Swift: (v) -> string. */
static inline int sluice_tostring_function(lua_State *L) {
    luaL_checkany(L, 1);
    (void)luaL_tolstring(L, 1, NULL);
    return 1;
}

/* Loads a text chunk (mode "t" only). */
static inline int sluice_load_text(lua_State *L, const char *bytes, size_t size, const char *chunkname) {
    return luaL_loadbufferx(L, bytes, size, chunkname, "t");
}

#endif
