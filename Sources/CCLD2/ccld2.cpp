// A C face for CLD2's C++ API, so that Swift can call it without C++ interoperability.
#include "ccld2.h"

#include <cstdio>  // compact_lang_det.h uses FILE without including it
#include <cstring>

#include <cld2/public/compact_lang_det.h>  // also declares CLD2::LanguageCode

extern "C" int sluice_detect_language(const char *utf8, int len, char out[8]) {
    out[0] = 'u'; out[1] = 'n'; out[2] = 0;
    if (utf8 == nullptr || len <= 0) return -1;
    CLD2::Language language3[3];
    int percent3[3] = {0, 0, 0};
    int textBytes = 0;
    bool reliable = false;
    CLD2::Language top = CLD2::DetectLanguageSummary(utf8, len, true, language3, percent3, &textBytes, &reliable);
    // CLD2 answers ENGLISH by default for text without letters: nothing was scored then.
    if (top == CLD2::UNKNOWN_LANGUAGE || textBytes == 0) return -1;
    const char *code = CLD2::LanguageCode(top);
    if (code == nullptr) return -1;
    std::strncpy(out, code, 7);
    out[7] = 0;
    int percent = 0;
    for (int k = 0; k < 3; k++) if (language3[k] == top) percent = percent3[k];
    return percent;
}
