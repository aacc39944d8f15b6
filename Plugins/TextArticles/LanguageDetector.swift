import CCLD2
import SluiceCore

/// The language of an article's text, from Compact Language Detector 2 (libcld2): a Naive
/// Bayes detector over character n-grams (quadgrams; single characters for Chinese and
/// Japanese), trained by Google on web text, covering 80+ languages.
enum LanguageDetector {
    /// At most this many bytes are read. CLD2's time is linear in its input: callgrind counts
    /// 60k / 125k / 260k / 538k instructions for 256 / 512 / 1,024 / 2,048 bytes of the seed,
    /// when a whole article is parsed in ~150k, so the sample was cut from 2 KB. 640 bytes
    /// (some 100 English words) is the smallest sample that names every corpus article's
    /// language as 2 KB does (448 bytes took a Russian article for Kyrgyz, 320 a Spanish one for
    /// English).
    static let sampleBytes = 640

    /// The text's ISO 639-1 code (`en`, `zh`, `ru`, `fr`, `de`, `es`…; traditional Chinese is
    /// `zh` too), or `nil` when CLD2 cannot tell (no letters, too little text).
    static func detect(_ text: String) -> String? {
        if isChinese(text) { return "zh" }
        var out = [CChar](repeating: 0, count: 8)
        let percent: Int32 = text.withBytes { b in
            var n = min(b.count, sampleBytes)
            // Cut before a partial UTF-8 sequence: CLD2 needs whole characters.
            if n < b.count {
                while n > 0, b[n] & 0xC0 == 0x80 { n -= 1 }
            }
            return b.baseAddress.map { base in
                base.withMemoryRebound(to: CChar.self, capacity: n) { sluice_detect_language($0, Int32(n), &out) }
            } ?? -1
        }
        guard percent >= 0 else { return nil }
        let code = String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // `zh-Hant` → `zh`: the field is ISO 639-1.
        let base = code.split(separator: "-").first.map(String.init) ?? code
        return base.isEmpty || base == "un" ? nil : base
    }

    /// Whether the sample's letters are mostly Chinese ideographs, with no kana or hangul
    /// (Japanese, Korean): CLD2 answers `zh` for such text anyway, and the script is read in
    /// one pass over the sample instead of CLD2's ~260 instructions a byte.
    static func isChinese(_ text: String) -> Bool {
        // A sample of ASCII has no ideograph: answered on the bytes (the scalar loop was 1.8 % of
        // the source's samples on English articles).
        if text.withBytes({ b in b.prefix(sampleBytes).allSatisfy { $0 < 0x80 } }) { return false }
        var han = 0, other = 0
        var n = 0
        for s in text.unicodeScalars {
            n += s.utf8.count
            if n > sampleBytes { break }
            let v = s.value
            if s.isHan {
                han += 1
            } else if s.isKanaOrHangul {
                return false  // Japanese or Korean
            } else if v < 0x80 ? ((v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A) : s.properties.isAlphabetic {
                other += 1
            }
        }
        return han >= 20 && han > 4 * other
    }
}
