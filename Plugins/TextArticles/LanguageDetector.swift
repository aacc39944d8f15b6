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
        if text.withBytes({ isPlainlyEnglish($0) }) { return "en" }
        return detectWithCLD2(text)
    }

    /// ``detect(_:)`` without the script and English fast paths: CLD2's answer on the sample.
    static func detectWithCLD2(_ text: String) -> String? {
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

    /// Whether the sample is plainly English, so that CLD2 — a fifth of the text_articles source's
    /// time, measured — need not be asked. The sample must be ASCII, Latin letters of U+0080–U+017F
    /// (names: `José`, `Łukasz`), and the punctuation and currency signs of U+2000–U+20CF (dashes,
    /// quotes, `€`); have at least 24 words, `the` at least twice, and at least one word in 10
    /// from the list of English function words below (none that is also common in another language
    /// written in Latin letters: no `a`, `in`, `is`, `to`, `die`, `was`, `for`); and none of a few
    /// Scots and Tagalog words that CLD2 weighs (`wi`, `frae`, `ang`, `mga`). English news text
    /// has about one word in five from the list; the German, Spanish, French articles of the tests
    /// have none. The tests hold this answer to CLD2's on every English article they have, and
    /// check that articles in other languages never take it. Measured on the corpus's English
    /// articles copied 150 times (3,750 files, `workers: 1`): the source 0.29–0.33 s → 0.26–0.29 s.
    static func isPlainlyEnglish(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = min(b.count, sampleBytes)
        var words = 0, function = 0, the = 0
        /// Whether byte `k` continues a word: an ASCII letter, or a byte of a letter of
        /// U+0080–U+017F (lead bytes C2–C5, continuation bytes after one).
        func inWord(_ k: Int) -> Bool {
            let c = b[k]
            if c < 0x80 { return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
            return (c >= 0xC2 && c <= 0xC5) || (c & 0xC0 == 0x80 && k > 0 && b[k - 1] >= 0xC2 && b[k - 1] <= 0xC5)
        }
        var i = 0
        while i < n {
            let c = b[i]
            if c >= 0x80 && !(c >= 0xC2 && c <= 0xC5) {
                // U+2000–U+20CF (E2 80–82 xx): dashes, quotes, ellipsis, currency. Else: ask CLD2.
                guard c == 0xE2, i + 2 < b.count, b[i + 1] >= 0x80, b[i + 1] <= 0x82 else { return false }
                i += 3
                continue
            }
            guard inWord(i) else {
                i += 1
                continue
            }
            // A word, lower-cased and packed into 8 bytes (longer words are no function words;
            // words with letters beyond ASCII match none either).
            var packed: UInt64 = 0
            var length = 0
            while i < n, inWord(i) {
                if length < 8 { packed |= UInt64(b[i] | 0x20) << (8 * UInt64(length)) }
                length += 1
                i += 1
            }
            words += 1
            guard length <= 8 else { continue }
            if packed == Self.packedThe {
                the += 1
                function += 1
                continue
            }
            // The listed words with this initial, a handful each (a `Set` hashed every word: 1.6 %
            // of the source's samples on articles that then went to CLD2 anyway).
            let initial = Int(packed & 0xFF) &- 0x61
            guard initial >= 0 && initial < 26 else { continue }
            for (word, english) in Self.listedWords[initial] where word == packed {
                if !english { return false }
                function += 1
                break
            }
        }
        return words >= 24 && the >= 2 && function * 10 >= words
    }

    private static func pack(_ word: String) -> UInt64 {
        var packed: UInt64 = 0
        for (k, byte) in word.utf8.prefix(8).enumerated() { packed |= UInt64(byte) << (8 * UInt64(k)) }
        return packed
    }

    private static let packedThe = pack("the")
    /// English function words (`true`) and the Scots and Tagalog words that send a sample to CLD2
    /// (`false`), packed, by initial letter (`a` = 0).
    private static let listedWords: [[(UInt64, Bool)]] = {
        let english = [
            "of", "and", "that", "with", "from", "this", "which", "were", "have", "has", "been", "would", "their",
            "they", "said", "not", "but", "are", "who", "its", "it", "be", "more", "than", "after", "also",
            "about", "into", "there", "when", "what", "could", "should", "these", "those", "other", "some",
            "such", "only", "while", "because", "between", "under", "before", "his", "she", "them", "you",
            "our", "your", "does", "did", "being", "where", "whose", "whom", "through", "against",
        ]
        let notEnglish = ["wi", "frae", "tae", "nae", "ken", "isnae", "ang", "ng", "mga", "sa", "yung", "naman"]
        var table = [[(UInt64, Bool)]](repeating: [], count: 26)
        for (words, isEnglish) in [(english, true), (notEnglish, false)] {
            for word in words { table[Int(word.utf8.first ?? 0x61) - 0x61].append((pack(word), isEnglish)) }
        }
        return table
    }()
}
