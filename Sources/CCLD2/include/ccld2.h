#ifndef SLUICE_CCLD2_H
#define SLUICE_CCLD2_H

#ifdef __cplusplus
extern "C" {
#endif

/// Detects the language of `len` bytes of valid UTF-8 plain text with Compact Language
/// Detector 2 (libcld2). Writes the language's code to `out` (NUL-terminated, at most 7
/// characters: ISO 639-1 where there is one, `zh-Hant` for traditional Chinese, `un` when
/// unknown) and returns the share of the text in that language, 0–100, or -1 when the language
/// is unknown (also for text without letters). Thread-safe: CLD2's tables are read-only.
int sluice_detect_language(const char *utf8, int len, char out[8]);

#ifdef __cplusplus
}
#endif

#endif
