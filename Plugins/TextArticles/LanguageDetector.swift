import CCLD2
import SluiceCore

/// The language of an article's text, from Compact Language Detector 2 (libcld2): a Naive
/// Bayes detector over character n-grams (quadgrams; single characters for Chinese and
/// Japanese), trained by Google on web text, covering 80+ languages.
enum LanguageDetector {
    /// At most this many bytes are read: CLD2's time is linear in its input, measured at
    /// 27 / 55 / 115 / 268 µs for 0.5 / 1 / 2 / 4 KB of the seed on this 2-core machine under a
    /// load average of 12 (a text_articles article costs ~150 µs in all), and 2 KB (some 680
    /// Chinese characters, 300 English words) is ample for one language.
    static let sampleBytes = 2_048

    /// The text's ISO 639-1 code (`en`, `zh`, `ru`, `fr`, `de`, `es`…; traditional Chinese is
    /// `zh` too), or `nil` when CLD2 cannot tell (no letters, too little text).
    static func detect(_ text: String) -> String? {
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
}
