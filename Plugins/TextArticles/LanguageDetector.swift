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
    /// written in Latin letters: no `a`, `in`, `is`, `to`, `die`, `was`, `for`); and not one of the
    /// common words of other languages in ``listedWords`` (`und`, `que`, `het`, `og`, `ang`,
    /// `frae`), unless in capitals (`EST`, `PA`). English news text has about one word in five
    /// from the English list. The tests hold this answer to CLD2's on every English article they
    /// have, and check that articles in other languages never take it, also when they quote
    /// English sentences. Measured on the corpus's English articles copied 150 times (3,750
    /// files, `workers: 1`): the source 0.29–0.33 s → 0.26–0.29 s.
    static func isPlainlyEnglish(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        // Byte loops over unchecked pointers, the tables read once: closures, bounds checks and an
        // array of arrays (retained at every lookup) made this 2.7 % of the source's samples on
        // articles that then went to CLD2 anyway.
        let n = min(b.count, sampleBytes)
        guard n > 0, let p = b.baseAddress else { return false }
        // `the` twice is also the first test: a `the` found here is a word of the pass below too.
        guard hasTheTwice(UnsafeBufferPointer(start: p, count: n)) else { return false }
        return Self.byteKinds.withUnsafeBufferPointer { kinds in
            Self.listed.withUnsafeBufferPointer { listed in
                Self.listedStart.withUnsafeBufferPointer { start in
                    var words = 0, function = 0
                    var i = 0
                    while i < n {
                        let kind = kinds[Int(p[i])]
                        if kind == ByteKind.other {
                            // U+2000–U+20CF (E2 80–82 xx): dashes, quotes, ellipsis, currency.
                            // Anything else: ask CLD2.
                            guard p[i] == 0xE2, i + 2 < b.count, p[i + 1] >= 0x80, p[i + 1] <= 0x82 else { return false }
                            i += 3
                            continue
                        }
                        guard kind == ByteKind.letter || kind == ByteKind.latinLead else {
                            i += 1
                            continue
                        }
                        // A word, lower-cased and packed into 8 bytes (longer words are no
                        // function words; words with letters beyond ASCII match none either).
                        var packed: UInt64 = 0
                        var length = 0
                        var capitals = true
                        while i < n {
                            let k = kinds[Int(p[i])]
                            if k == ByteKind.latinLead {
                                // A letter of U+0080–U+017F: its continuation byte comes with it.
                                packed |= 0x80
                                i += i + 1 < n && kinds[Int(p[i + 1])] == ByteKind.continuation ? 2 : 1
                                length += 1
                                capitals = false
                                continue
                            }
                            guard k == ByteKind.letter else { break }
                            if length < 8 { packed |= UInt64(p[i] | 0x20) << (8 * UInt64(length)) }
                            capitals = capitals && p[i] < 0x61
                            length += 1
                            i += 1
                        }
                        words += 1
                        guard length <= 8 else { continue }
                        let initial = Int(packed & 0xFF) &- 0x61
                        guard initial >= 0 && initial < 26 else { continue }
                        for k in start[initial]..<start[initial + 1] where listed[k] & Self.packedMask == packed {
                            if listed[k] & Self.notEnglishBit == 0 {
                                function += 1
                            } else if !(capitals && length >= 2) {
                                // Another language's word (`und`, `que`, `het`), not an
                                // abbreviation in capitals (`EST`, `PA`, `DA`): ask CLD2.
                                return false
                            }
                            break
                        }
                    }
                    return words >= 24 && function * 10 >= words
                }
            }
        }
    }

    /// Whether `the` (any case) stands as a word at least twice in `b`: found from its `h`, 8
    /// bytes at a time. Most samples that are not English stop here; the word-by-word pass of
    /// ``isPlainlyEnglish(_:)`` cost them as much as it saved English ones (measured: 2 % of the
    /// source's samples on the bench's articles, which have no `the`).
    static func hasTheTwice(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = b.baseAddress else { return false }
        let n = b.count
        @inline(__always) func isLetter(_ k: Int) -> Bool {
            k >= 0 && k < n && ((b[k] | 0x20) >= 0x61 && (b[k] | 0x20) <= 0x7A || b[k] >= 0x80)
        }
        @inline(__always) func isThe(_ h: Int) -> Bool {
            h >= 1 && h + 1 < n && b[h - 1] | 0x20 == 0x74 && b[h + 1] | 0x20 == 0x65 && !isLetter(h - 2) && !isLetter(h + 2)
        }
        var count = 0
        var i = 0
        while i + 8 <= n {
            // `h` and `H`: every byte or-ed with 0x20 (letters lower-cased), then compared.
            var hits = ByteWords.equal(ByteWords.load(UnsafeRawPointer(base), i) | 0x2020_2020_2020_2020, 0x68)
            while hits != 0 {
                if isThe(i + hits.trailingZeroBitCount / 8) {
                    count += 1
                    if count == 2 { return true }
                }
                hits &= hits - 1
            }
            i += 8
        }
        while i < n {
            if b[i] | 0x20 == 0x68, isThe(i) {
                count += 1
                if count == 2 { return true }
            }
            i += 1
        }
        return false
    }

    /// What a byte is to ``isPlainlyEnglish(_:)``.
    private enum ByteKind {
        static let separator: UInt8 = 0, letter: UInt8 = 1, latinLead: UInt8 = 2, continuation: UInt8 = 3, other: UInt8 = 4
    }

    /// ``ByteKind`` of every byte: ASCII letters, lead bytes C2–C5 (U+0080–U+017F), continuation
    /// bytes, other non-ASCII bytes; the rest separate words.
    private static let byteKinds: [UInt8] = (0..<256).map { b in
        switch b {
        case 0x41...0x5A, 0x61...0x7A: return ByteKind.letter
        case 0xC2...0xC5: return ByteKind.latinLead
        case 0x80...0xBF: return ByteKind.continuation
        case 0x80...0xFF: return ByteKind.other
        default: return ByteKind.separator
        }
    }

    private static func pack(_ word: String) -> UInt64 {
        var packed: UInt64 = 0
        for (k, byte) in word.utf8.prefix(8).enumerated() { packed |= UInt64(byte) << (8 * UInt64(k)) }
        return packed
    }

    /// The English function words, and (with ``notEnglishBit``) the other languages' words that
    /// send a sample to CLD2, packed and sorted by initial letter; ``listedStart`` holds where
    /// each initial's words begin (`a` = 0, and the end at 26).
    private static let listed: [UInt64] = listedWords.map(\.packed)
    private static let listedStart: [Int] = (0...26).map { letter in
        listedWords.firstIndex { Int($0.packed & 0xFF) - 0x61 >= letter } ?? listedWords.count
    }
    private static let notEnglishBit: UInt64 = 1 << 63
    private static let packedMask: UInt64 = ~notEnglishBit
    private static let listedWords: [(packed: UInt64, word: String)] = {
        let english = [
            "the", "of", "and", "that", "with", "from", "this", "which", "were", "have", "has", "been", "would", "their",
            "they", "said", "not", "but", "are", "who", "its", "it", "be", "more", "than", "after", "also",
            "about", "into", "there", "when", "what", "could", "should", "these", "those", "other", "some",
            "such", "only", "while", "because", "between", "under", "before", "his", "she", "them", "you",
            "our", "your", "does", "did", "being", "where", "whose", "whom", "through", "against",
        ]
        // Common words of other languages written in Latin letters that English text does not
        // use in lower or title case (`van`, `met`, `con`, `per`, `op` and `com` are left out:
        // `a van`, `they met`, `per cent`, `op-ed`, `.com`). One of them sends the sample to CLD2:
        // a German or Spanish article that quotes an English sentence has enough English words
        // and `the`s to pass otherwise, and CLD2 names its own language.
        let notEnglish = [
            // German
            "der", "und", "das", "ist", "nicht", "sich", "auf", "ein", "eine", "einen", "einer", "des",
            "zu", "auch", "wird", "werden", "nach", "bei", "aus", "oder", "noch", "sind", "wir",
            // Spanish
            "el", "la", "los", "las", "que", "del", "por", "una", "es", "se", "su", "sus", "al", "como",
            "pero", "esta", "este", "fue", "entre", "sobre", "muy",
            // French
            "le", "les", "du", "et", "est", "une", "pour", "dans", "qui", "sur", "pas", "au", "aux",
            "ce", "cette", "il", "elle", "ont", "sont", "avec", "mais", "ses", "leur",
            // Dutch
            "het", "een", "en", "zijn", "dat", "voor", "ook", "maar", "naar", "bij", "wordt", "worden",
            "deze",
            // Danish, Norwegian, Swedish
            "og", "er", "det", "til", "af", "av", "som", "och", "att", "ikke", "inte", "jeg", "vi",
            "hun", "de",
            // Italian
            "di", "che", "della", "sono", "gli", "delle", "degli", "nel", "nella", "anche", "questo",
            // Portuguese
            "os", "da", "dos", "em", "uma", "foi", "seu", "sua", "pelo", "pela",
            // Indonesian and Malay
            "yang", "ini", "itu", "dengan", "untuk", "tidak", "dari", "akan", "pada", "adalah",
            // Tagalog
            "ang", "ng", "mga", "sa", "na", "ay", "ni", "pa", "ako", "kami", "hindi", "kasi", "yung",
            "naman", "po", "siya", "sila", "nila", "ito", "dito", "kaya",
            // Scots
            "frae", "tae", "nae", "isnae", "dinnae", "cannae", "aye", "oot", "aboot", "hoose",
            "werenae",
            // Hindi and Urdu in Latin letters
            "hai", "hain", "nahi", "toh", "kuch", "bhi", "lekin", "mein", "tha", "thi", "aur", "kya",
            "yeh", "woh",
            // Polish, Czech, Turkish
            "nie", "czy", "jak", "je", "za", "od", "bir", "bu", "ile",
        ]
        let all = english.map { (pack($0), $0) } + notEnglish.map { (pack($0) | notEnglishBit, $0) }
        return all.sorted { $0.1 < $1.1 }
    }()
}
