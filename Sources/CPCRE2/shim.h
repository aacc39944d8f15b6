#ifndef SLUICE_CPCRE2_SHIM_H
#define SLUICE_CPCRE2_SHIM_H

/* PCRE2 (Debian's libpcre2-dev, pkg-config libpcre2-8) for `sluice.re`. The header needs the
   code unit width before it is included; Sluice uses the 8-bit library on UTF-8 text. Its
   function names are macros (`pcre2_compile` → `pcre2_compile_8`) that Swift does not import,
   so Swift calls the `_8` names; the two size constants below are casts Swift cannot import
   either. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/** PCRE2_UNSET: an ovector slot of a group that did not take part. */
static inline PCRE2_SIZE sluice_pcre2_unset(void) { return PCRE2_UNSET; }

#endif
