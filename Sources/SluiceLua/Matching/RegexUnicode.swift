/// UTF-8 decoding, character properties and case folding for the regex engine.
///
/// Subjects are raw bytes: a valid UTF-8 sequence decodes to its scalar; any byte that does
/// not start a valid sequence decodes alone to the pseudo-scalar `0x110000 + byte`, which no
/// literal, range or property matches but `.` and negated classes do. So every byte of any
/// input belongs to exactly one "character", and positions stay byte offsets.
enum RegexUnicode {
    /// First value used for undecodable bytes.
    static let invalidBase: UInt32 = 0x11_0000

    /// The scalar starting at `i` (which must be `< s.count`) and its length in bytes.
    @inline(__always)
    static func decode(_ s: UnsafeBufferPointer<UInt8>, _ i: Int) -> (scalar: UInt32, length: Int) {
        let b0 = s[i]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        return decodeMultibyte(s, i, b0)
    }

    static func decodeMultibyte(_ s: UnsafeBufferPointer<UInt8>, _ i: Int, _ b0: UInt8) -> (scalar: UInt32, length: Int) {
        let n = s.count
        let invalid = (invalidBase + UInt32(b0), 1)
        func cont(_ k: Int) -> UInt32? {
            guard k < n else { return nil }
            let b = s[k]
            return b & 0xC0 == 0x80 ? UInt32(b & 0x3F) : nil
        }
        switch b0 {
        case 0xC2...0xDF:
            guard let c1 = cont(i + 1) else { return invalid }
            return ((UInt32(b0 & 0x1F) << 6) | c1, 2)
        case 0xE0...0xEF:
            guard let c1 = cont(i + 1), let c2 = cont(i + 2) else { return invalid }
            let v = (UInt32(b0 & 0x0F) << 12) | (c1 << 6) | c2
            if v < 0x800 || (v >= 0xD800 && v <= 0xDFFF) { return invalid }
            return (v, 3)
        case 0xF0...0xF4:
            guard let c1 = cont(i + 1), let c2 = cont(i + 2), let c3 = cont(i + 3) else { return invalid }
            let v = (UInt32(b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3
            if v < 0x1_0000 || v > 0x10_FFFF { return invalid }
            return (v, 4)
        default:
            return invalid
        }
    }

    /// The start of the character that ends at `i` (`i > 0`), consistent with `decode` walking
    /// forward from any earlier character start.
    static func previousStart(_ s: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var k = i - 1
        var steps = 0
        while k > 0 && steps < 3 && s[k] & 0xC0 == 0x80 {
            k -= 1
            steps += 1
        }
        if k < i - 1 || s[k] >= 0x80 {
            let (_, length) = decode(s, k)
            if k + length == i { return k }
        }
        return i - 1
    }

    /// The scalar that ends at `i`, or nil at offset 0.
    static func previousScalar(_ s: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32? {
        guard i > 0 else { return nil }
        return decode(s, previousStart(s, i)).scalar
    }

    /// The UTF-8 bytes of a scalar value.
    static func utf8(_ v: UInt32) -> [UInt8] {
        guard let scalar = Unicode.Scalar(v) else { return [] }
        return Array(String(Character(scalar)).utf8)
    }

    // MARK: - Classes

    /// `\w`: letters, marks, decimal digits and connector punctuation (`_`), by Unicode
    /// general category, as in Python's and ICU's Unicode `\w`.
    @inline(__always)
    static func isWord(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F
        }
        return GeneralCategoryMask.of(c) & GeneralCategoryMask.word != 0
    }

    /// `\d`: the ASCII digits 0–9 only (use `\p{Nd}` for every script's digits).
    @inline(__always)
    static func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }

    /// `\s`: Unicode White_Space (includes no-break space U+00A0 and U+2000–U+200A).
    @inline(__always)
    static func isSpace(_ c: UInt32) -> Bool {
        if c < 0x80 { return c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        guard let scalar = Unicode.Scalar(c) else { return false }
        return scalar.properties.isWhitespace
    }

    // MARK: - Case folding

    /// The representative of `c`'s simple-case-folding class (ASCII fast path).
    @inline(__always)
    static func fold(_ c: UInt32) -> UInt32 {
        if c < 0x80 {
            return c >= 0x41 && c <= 0x5A ? c + 0x20 : c
        }
        return CaseFoldTable.shared.fold[c] ?? c
    }

    /// Every scalar that folds like `c`, `c` included.
    static func caseVariants(_ c: UInt32) -> [UInt32] {
        CaseFoldTable.shared.members[fold(c)] ?? [c]
    }
}

/// Simple case folding derived from the standard library's single-scalar case mappings:
/// `fold(c) = lowercase(uppercase(c))` where each mapping is used only when it is one scalar
/// (so `ſ`, `K` (Kelvin), `ς` fold with `s`, `k`, `σ`; `ß` and `ẞ` fold together; `İ` folds
/// alone), except that dotless `ı` folds only to itself, as in Unicode's CaseFolding.txt.
/// Built once, on first use of a case-insensitive regex, from the ~2,900 scalars that change
/// under case mapping.
final class CaseFoldTable: Sendable {
    let fold: [UInt32: UInt32]
    let members: [UInt32: [UInt32]]

    static let shared = CaseFoldTable()

    private init() {
        var fold: [UInt32: UInt32] = [:]
        var members: [UInt32: [UInt32]] = [:]
        func single(_ s: String) -> Unicode.Scalar? {
            var it = s.unicodeScalars.makeIterator()
            guard let first = it.next(), it.next() == nil else { return nil }
            return first
        }
        for v in UInt32(0)...0x1_FFFF {
            guard let scalar = Unicode.Scalar(v), scalar.properties.changesWhenCaseMapped else { continue }
            var f = scalar
            if v != 0x131 {
                if let up = single(scalar.properties.uppercaseMapping) { f = up }
                if let low = single(f.properties.lowercaseMapping) { f = low }
            }
            if f.value != v { fold[v] = f.value }
            members[f.value, default: []].append(v)
        }
        for (key, list) in members where !list.contains(key) {
            members[key] = [key] + list
        }
        self.fold = fold
        self.members = members
    }
}

/// Unicode general categories as bits, for `\p{..}` and `\w`.
enum GeneralCategoryMask {
    static func bit(_ category: Unicode.GeneralCategory) -> UInt32 {
        switch category {
        case .uppercaseLetter: return 1 << 0
        case .lowercaseLetter: return 1 << 1
        case .titlecaseLetter: return 1 << 2
        case .modifierLetter: return 1 << 3
        case .otherLetter: return 1 << 4
        case .nonspacingMark: return 1 << 5
        case .spacingMark: return 1 << 6
        case .enclosingMark: return 1 << 7
        case .decimalNumber: return 1 << 8
        case .letterNumber: return 1 << 9
        case .otherNumber: return 1 << 10
        case .connectorPunctuation: return 1 << 11
        case .dashPunctuation: return 1 << 12
        case .openPunctuation: return 1 << 13
        case .closePunctuation: return 1 << 14
        case .initialPunctuation: return 1 << 15
        case .finalPunctuation: return 1 << 16
        case .otherPunctuation: return 1 << 17
        case .mathSymbol: return 1 << 18
        case .currencySymbol: return 1 << 19
        case .modifierSymbol: return 1 << 20
        case .otherSymbol: return 1 << 21
        case .spaceSeparator: return 1 << 22
        case .lineSeparator: return 1 << 23
        case .paragraphSeparator: return 1 << 24
        case .control: return 1 << 25
        case .format: return 1 << 26
        case .surrogate: return 1 << 27
        case .privateUse: return 1 << 28
        case .unassigned: return 1 << 29
        @unknown default: return 1 << 29
        }
    }

    /// The category bit of `c`; 0 for undecodable bytes.
    @inline(__always)
    static func of(_ c: UInt32) -> UInt32 {
        guard let scalar = Unicode.Scalar(c) else { return 0 }
        return bit(scalar.properties.generalCategory)
    }

    static let letter: UInt32 = 0b11111
    static let casedLetter: UInt32 = 0b111
    static let mark: UInt32 = 0b111 << 5
    static let number: UInt32 = 0b111 << 8
    static let punctuation: UInt32 = 0b1111111 << 11
    static let symbol: UInt32 = 0b1111 << 18
    static let separator: UInt32 = 0b111 << 22
    static let other: UInt32 = 0b11111 << 25
    static let word: UInt32 = letter | mark | (1 << 8) | (1 << 11)

    /// The mask for a `\p{NAME}` category name (short or long form, case and `_`/space/`-`
    /// insensitive), or nil.
    static func named(_ raw: String) -> UInt32? {
        let name = String(raw.lowercased().filter { $0 != "_" && $0 != " " && $0 != "-" })
        let table: [String: UInt32] = [
            "l": letter, "letter": letter, "l&": casedLetter, "lc": casedLetter, "casedletter": casedLetter,
            "lu": 1 << 0, "uppercaseletter": 1 << 0, "ll": 1 << 1, "lowercaseletter": 1 << 1,
            "lt": 1 << 2, "titlecaseletter": 1 << 2, "lm": 1 << 3, "modifierletter": 1 << 3,
            "lo": 1 << 4, "otherletter": 1 << 4,
            "m": mark, "mark": mark, "combiningmark": mark, "mn": 1 << 5, "nonspacingmark": 1 << 5,
            "mc": 1 << 6, "spacingmark": 1 << 6, "me": 1 << 7, "enclosingmark": 1 << 7,
            "n": number, "number": number, "nd": 1 << 8, "decimalnumber": 1 << 8, "digit": 1 << 8,
            "nl": 1 << 9, "letternumber": 1 << 9, "no": 1 << 10, "othernumber": 1 << 10,
            "p": punctuation, "punctuation": punctuation, "punct": punctuation,
            "pc": 1 << 11, "connectorpunctuation": 1 << 11, "pd": 1 << 12, "dashpunctuation": 1 << 12,
            "ps": 1 << 13, "openpunctuation": 1 << 13, "pe": 1 << 14, "closepunctuation": 1 << 14,
            "pi": 1 << 15, "initialpunctuation": 1 << 15, "pf": 1 << 16, "finalpunctuation": 1 << 16,
            "po": 1 << 17, "otherpunctuation": 1 << 17,
            "s": symbol, "symbol": symbol, "sm": 1 << 18, "mathsymbol": 1 << 18,
            "sc": 1 << 19, "currencysymbol": 1 << 19, "sk": 1 << 20, "modifiersymbol": 1 << 20,
            "so": 1 << 21, "othersymbol": 1 << 21,
            "z": separator, "separator": separator, "zs": 1 << 22, "spaceseparator": 1 << 22,
            "zl": 1 << 23, "lineseparator": 1 << 23, "zp": 1 << 24, "paragraphseparator": 1 << 24,
            "c": other, "other": other, "cc": 1 << 25, "control": 1 << 25, "cntrl": 1 << 25,
            "cf": 1 << 26, "format": 1 << 26, "cs": 1 << 27, "surrogate": 1 << 27,
            "co": 1 << 28, "privateuse": 1 << 28, "cn": 1 << 29, "unassigned": 1 << 29,
        ]
        return table[name]
    }
}
