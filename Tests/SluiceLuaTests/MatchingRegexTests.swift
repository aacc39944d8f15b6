import Testing
@testable import SluiceLua

/// Runs `regex` on `subject` and returns the matched text and captures as strings.
func regexRun(_ pattern: String, flags: String = "", _ subject: [UInt8], from: Int = 0,
              steps: Int = 10_000_000) throws -> (text: String, range: Range<Int>, captures: [String?])? {
    let regex = try PCRE2Pattern(pattern, flags: flags)
    var budget = MatchBudget(steps: steps)
    return try subject.withUnsafeBufferPointer { (s) throws -> (text: String, range: Range<Int>, captures: [String?])? in
        guard let m = try regex.firstMatch(in: s, from: from, budget: &budget, workspace: PCRE2Workspace()) else { return nil }
        #expect(m.captures.count == regex.captureCount)
        let text = String(decoding: s[m.range], as: UTF8.self)
        let captures = m.captures.map { $0.map { String(decoding: s[$0], as: UTF8.self) } }
        return (text, m.range, captures)
    }
}

func regexError(_ pattern: String, flags: String = "") -> String? {
    do {
        _ = try PCRE2Pattern(pattern, flags: flags)
        return nil
    } catch {
        return error.description
    }
}

struct RegexCase: CustomTestStringConvertible, Sendable {
    var pattern: String
    var flags: String
    var subject: String
    var expected: String?
    var captures: [String?]?
    init(_ pattern: String, _ flags: String, _ subject: String, _ expected: String?, _ captures: [String?]? = nil) {
        self.pattern = pattern
        self.flags = flags
        self.subject = subject
        self.expected = expected
        self.captures = captures
    }
    init(_ pattern: String, _ subject: String, _ expected: String?, _ captures: [String?]? = nil) {
        self.init(pattern, "", subject, expected, captures)
    }
    var testDescription: String { "/\(pattern)/\(flags) on \(subject.debugDescription)" }
}

@Suite("Regex syntax, flags and Unicode")
struct MatchingRegexTests {
    static let literalsAndEscapes: [RegexCase] = [
        .init("abc", "xxabcxx", "abc"), .init("a.c", "a\nc abc", "abc"), .init("a.c", "s", "a\nc", "a\nc"),
        .init("\\.", "a.b", "."), .init("\\t", "a\tb", "\t"), .init("\\x41", "zA", "A"),
        .init("\\x{e9}", "café", "é"), .init("\\x{1F600}", "hi😀", "😀"), .init("\\N{U+E9}", "é", "é"),
        .init("\\$\\d+", "cost $42", "$42"), .init("a\\-b\\/c", "a-b/c", "a-b/c"), .init("\\n", "a\nb", "\n"),
        .init("x{,3}", "x{,3}", "x{,3}"), .init("a{b", "a{b", "a{b"), .init("}", "a}", "}"), .init("]", "a]", "]"),
        .init("é+", "ééé", "ééé"), .init("日本", "今日本日", "日本"), .init("\\0", "a\u{0}b", "\u{0}"),
        .init("\\é", "é", "é"),
    ]

    static let classes: [RegexCase] = [
        .init("[abc]+", "xxbcay", "bca"), .init("[^abc]+", "abxyc", "xy"), .init("[a-z]+", "ABcdE", "cd"),
        .init("[]a]+", "x]a]y", "]a]"), .init("[-a]+", "b-a-c", "-a-"), .init("[a-]+", "b-a-c", "-a-"),
        .init("[\\d.]+", "v1.2.3", "1.2.3"), .init("[\\w-]+", "foo-bar baz", "foo-bar"), .init("[é-ë]", "xê", "ê"),
        .init("[^\\s]+", "  ab  ", "ab"), .init("[\\]]", "a]", "]"), .init("[\\^x]", "a^", "^"), .init("[a\\-z]+", "b-az", "-az"),
        .init("[\\b]", "a\u{8}", "\u{8}"), .init("[^a]", "aé", "é"), .init("[\\x41-\\x43]+", "xABCD", "ABC"),
        .init("[^\\d\\s]+", "12 ab 3", "ab"), .init("[.]", "a.b", "."), .init("[日本]+", "今日本", "日本"),
    ]

    static let classEscapes: [RegexCase] = [
        .init("\\d+", "ab١٢3", "١٢3"), .init("[0-9]+", "ab١٢3", "3"), .init("\\p{Nd}+", "ab١٢3", "١٢3"), .init("\\w+", "  café!", "café"),
        .init("\\w+", "--日本語_x--", "日本語_x"), .init("\\W+", "ab, cd", ", "), .init("\\s+", "a\u{00A0}\u{2003}b", "\u{00A0}\u{2003}"),
        .init("\\S+", "  x y", "x"), .init("\\D+", "12ab3", "ab"), .init("\\s", "a\u{2028}", "\u{2028}"),
        .init("\\w+", "e\u{301}t\u{E9}", "e"), .init("[\\w\\p{M}]+", "e\u{301}t\u{E9}", "e\u{301}t\u{E9}"),
    ]

    static let anchorsAndBoundaries: [RegexCase] = [
        .init("^a", "ba", nil), .init("^b", "m", "a\nb", "b"), .init("a$", "a\n", nil), .init("a$", "m", "a\nb", "a"),
        .init("a\\Z", "a\n", "a"), .init("\\Aa", "ba", nil), .init("a\\z", "a\n", nil), .init("^$", "", ""),
        .init("^\\w+$", "m", "one\ntwo", "one"), .init("\\bcat\\b", "concat cat", "cat"), .init("\\Bcat", "concat", "cat"),
        .init("\\bété\\b", "l'été!", "été"), .init("\\b\\w", "  x", "x"), .init("x\\b", "xé", nil), .init("\\B", "ab", ""),
    ]

    static let groupsAndAlternation: [RegexCase] = [
        .init("(a)(b)?", "ac", "a", ["a", nil]), .init("(?:ab)+", "ababx", "abab", []),
        .init("(?<y>\\d{4})-(?<m>\\d\\d)", "on 2025-11", "2025-11", ["2025", "11"]),
        .init("(?P<w>\\w+)", "  hi", "hi", ["hi"]), .init("cat|dog", "hotdog", "dog"), .init("a|ab", "ab", "a"),
        .init("(a|ab)(c|bcd)", "abcd", "abcd", ["a", "bcd"]), .init("(a(b(c)))", "abc", "abc", ["abc", "bc", "c"]),
        .init("x(?#comment)y", "xy", "xy"), .init("(|a)b", "ab", "ab", ["a"]), .init("()", "x", "", [""]),
        .init("(?:(a)|b)+", "ab", "ab", ["a"]), .init("a||b", "b", ""),
    ]

    static let quantifiers: [RegexCase] = [
        .init("a*", "aaa", "aaa"), .init("a+?", "aaa", "a"), .init("a*?b", "aaab", "aaab"), .init("a??b", "ab", "ab"),
        .init("a{2}", "aaaa", "aa"), .init("a{2,}", "aaaa", "aaaa"), .init("a{1,3}", "aaaa", "aaa"),
        .init("a{1,3}?", "aaaa", "a"), .init("a{0}b", "ab", "b"), .init("(ab){2}", "ababab", "abab", ["ab"]),
        .init("(?:a|b)*c", "ababc", "ababc"), .init("a++a", "aaa", nil), .init("(?>a+)a", "aaa", nil),
        .init("a*+b", "aab", "aab"), .init("(a*)*b", "aab", "aab", [""]), .init("(a*)+$", "aa", "aa", [""]),
        .init("(?:a?)*?b", "aab", "aab"), .init("\\d{1,3}(?:,\\d{3})*", "$14,250,000", "14,250,000"),
        .init("(\\w+?)(\\d*)$", "abc123", "abc123", ["abc", "123"]), .init(".{2,3}", "日本語x", "日本語"),
        .init("(?:x|xy){2}z", "xxyz", "xxyz"), .init("(a|b){2,3}?c", "ababc", "babc", ["b"]), .init("é{2}", "ééé", "éé"),
        .init("(?:ab|a)+?c", "aababc", "aababc"), .init("[ab]{2,}+b", "aabb", nil),
    ]

    static let lookaround: [RegexCase] = [
        .init("\\d+(?=%)", "5 of 50%", "50"), .init("\\d+(?!%)", "50% 7", "5"), .init("q(?=u)", "qatar quit", "q"),
        .init("(?<=\\$)\\d+", "cost $42", "42"), .init("(?<!\\$)\\b\\d+", "$42 and 17", "17"), .init("(?<=é)x", "éx", "x"),
        .init("(?<=a{3})b", "aab aaab", "b"), .init("(?<=^|,)\\w+", "ab,cd", "ab"), .init("(?<![a-z])\\d", "a1 2", "2"),
        .init("(?=(\\w+))\\w", "hello", "h", ["hello"]), .init("(?!(a))\\w", "ab", "b", [nil]),
        .init("(?<=(a))b", "ab", "b", ["a"]), .init("(?<=\\d{3})x", "12x 123x", "x"), .init("a(?=b|c)", "ad ac", "a"),
    ]

    static let backReferences: [RegexCase] = [
        .init("(\\w)\\1", "abccd", "cc", ["c"]), .init("(?<q>['\"]).*?\\k<q>", "say \"hi\" 'x'", "\"hi\"", ["\""]),
        .init("(a)|\\1b", "b", nil), .init("(a)\\1", "i", "aA", "aA", ["a"]), .init("(é)\\1", "i", "éÉ", "éÉ", ["é"]),
        .init("(\\w+) \\1", "the the cat", "the the", ["the"]), .init("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10", "abcdefghijj", "abcdefghijj",
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]),
    ]

    static let flags: [RegexCase] = [
        .init("hello", "i", "HeLLo", "HeLLo"), .init("straße", "i", "STRAẞE", "STRAẞE"), .init("k", "i", "\u{212A}", "\u{212A}"),
        .init("σ", "i", "Σς", "Σ"), .init("Σ+", "i", "σςΣ", "σςΣ"), .init("[a-z]+", "i", "ABC", "ABC"), .init("[à-ÿ]", "i", "É", "É"),
        .init("(?i:a)b", "Ab", "Ab"), .init("(?i:a)b", "AB", nil), .init("a(?i)b", "aB", "aB"), .init("(?-i)a", "i", "A", nil as String?),
        .init("(?i)ǅ", "ǆ", "ǆ"), .init("s", "i", "ſ", "ſ"), .init("ı", "i", "I", nil as String?), .init("\\p{Lu}", "i", "a", nil as String?),
        .init("\\d+ # digits\n - \\d+", "x", "10-20", "10-20"), .init("[ ]", "x", "a b", " "), .init("a b", "x", "ab", "ab"),
        .init("a\\ b", "x", "a b", "a b"), .init("(?x) a b (?-x) c", "ab c", "ab c"), .init("(?s).+", "a\nb", "a\nb"),
        .init("(?m)^b", "a\nb", "b"), .init("(?ims)^A.B$", "x\na\nb", "a\nb"), .init("[^a]", "i", "Ab", "b"),
    ]

    static let unicodeProperties: [RegexCase] = [
        .init("\\p{Lu}+", "abCDé", "CD"), .init("\\p{Ll}+", "ABcdéF", "cdé"), .init("\\p{L}+", "12日本語x", "日本語x"),
        .init("\\p{N}+", "x½3", "½3"), .init("\\p{P}+", "a«»!b", "«»!"), .init("\\p{Z}", "a\u{2003}b", "\u{2003}"),
        .init("\\p{S}+", "a€+b", "€+"), .init("\\P{L}+", "ab12cd", "12"), .init("\\pL+", "1ab", "ab"),
        .init("[\\p{L}\\d]+", "-a1é2-", "a1é2"), .init("\\p{^L}+", "ab12", "12"), .init("\\p{Xan}+", "-a1é2-", "a1é2"),
        .init("\\p{L&}", "1aB", "a"), .init("\\p{Sc}", "cost €5", "€"), .init("\\p{M}", "e\u{301}", "\u{301}"),
        .init("\\p{Cc}", "a\u{1}", "\u{1}"), .init("\\p{Any}", "é", "é"), .init("\\p{ASCII}+", "éab", "ab"),
        .init("\\p{Alphabetic}+", "1ab", "ab"), .init("\\P{ASCII}+", "abéü", "éü"), .init("[^\\P{L}]+", "1ab2", "ab"),
    ]

    static let scalarsAndDot: [RegexCase] = [
        .init(".", "é", "é"), .init("^.{3}$", "日本語", "日本語"), .init("^...$", "日本語", "日本語"), .init("a.c", "a😀c", "a😀c"),
        .init(".", "\n", nil), .init(".", "s", "\n", "\n"), .init("[^x]", "😀", "😀"),
    ]

    /// What PCRE2 brought that the old engine refused: scripts, POSIX classes, `\\X`, `\\K`,
    /// recursion and conditionals.
    static let pcre2Abilities: [RegexCase] = [
        .init("\\p{Han}+", "Beijing 北京 Москва", "北京"), .init("\\p{Cyrillic}+", "Beijing 北京 Москва", "Москва"),
        .init("\\p{Greek}+", "abc αβγ", "αβγ"), .init("\\p{Arabic}+", "x مرحبا y", "مرحبا"),
        .init("[\\p{Han}\\p{Hiragana}]+", "東京へ行く!", "東京へ行く"), .init("\\P{Han}+", "北京abc", "abc"),
        .init("[[:alpha:]]+", "12café!", "café"), .init("[[:digit:]]+", "ab42", "42"), .init("[[:^space:]]+", "  ab  ", "ab"),
        .init("[[:upper:]][[:lower:]]+", "the Élan", "Élan"), .init("[[:punct:]]+", "a«!»b", "«!»"),
        .init("\\X", "e\u{301}x", "e\u{301}"), .init("price: \\K\\d+", "price: 42", "42"),
        .init("\\((?:[^()]|(?R))*\\)", "x(a(b)c)y", "(a(b)c)"), .init("(<)?\\w+(?(1)>)", "<ab>", "<ab>", ["<"]),
        .init("(?<word>\\p{L}+)\\s+\\k<word>", "it is is so", "is is", ["is"]),
    ]

    @Test("scripts, POSIX classes, grapheme clusters, \\K, recursion and conditionals", arguments: pcre2Abilities)
    func abilities(_ c: RegexCase) throws { try check(c) }

    func check(_ c: RegexCase) throws {
        let result = try regexRun(c.pattern, flags: c.flags, Array(c.subject.utf8))
        #expect(result?.text == c.expected)
        if let captures = c.captures, let result {
            #expect(result.captures == captures)
        }
    }

    @Test("literals and escapes match themselves", arguments: literalsAndEscapes)
    func literals(_ c: RegexCase) throws { try check(c) }

    @Test("bracket classes with ranges, negation and escapes", arguments: classes)
    func bracketClasses(_ c: RegexCase) throws { try check(c) }

    @Test("\\d, \\w and \\s are Unicode (PCRE2_UCP); marks are not word characters", arguments: classEscapes)
    func escapes(_ c: RegexCase) throws { try check(c) }

    @Test("anchors, multiline and word boundaries", arguments: anchorsAndBoundaries)
    func anchors(_ c: RegexCase) throws { try check(c) }

    @Test("groups, named groups and alternation (leftmost first)", arguments: groupsAndAlternation)
    func groups(_ c: RegexCase) throws { try check(c) }

    @Test("quantifiers: greedy, lazy, possessive, counted, empty loops", arguments: quantifiers)
    func quantified(_ c: RegexCase) throws { try check(c) }

    @Test("lookahead and lookbehind, positive and negative", arguments: lookaround)
    func looks(_ c: RegexCase) throws { try check(c) }

    @Test("back-references by number and name", arguments: backReferences)
    func backrefs(_ c: RegexCase) throws { try check(c) }

    @Test("flags i m s x, inline and scoped, with Unicode case folding (not of \\p{Lu})", arguments: flags)
    func flagCases(_ c: RegexCase) throws { try check(c) }

    @Test("Unicode general categories and binary properties", arguments: unicodeProperties)
    func properties(_ c: RegexCase) throws { try check(c) }

    @Test("dot and classes consume whole scalars", arguments: scalarsAndDot)
    func scalars(_ c: RegexCase) throws { try check(c) }

    @Test("positions are byte offsets into the UTF-8 subject")
    func byteOffsets() throws {
        let r = try #require(try regexRun("(b)", Array("éb".utf8)))
        #expect(r.range == 2..<3)
        let late = try #require(try regexRun("\\w", Array("é b".utf8), from: 2))
        #expect(late.range == 3..<4)
    }

    @Test("bytes that are not valid UTF-8 are never matched, and the search goes on past them")
    func invalidBytes() throws {
        let subject: [UInt8] = [0x61, 0xFF, 0x62, 0xC3]
        #expect(try regexRun("a.b", subject) == nil)
        #expect(try regexRun("[^a]", subject)?.range == 2..<3)
        #expect(try regexRun("\\W", subject) == nil)
        #expect(try regexRun("\\p{Any}", [0xFF]) == nil)
        #expect(try regexRun("b.$", subject) == nil)
        #expect(try regexRun("b", subject)?.range == 2..<3)
        #expect(try regexRun("(?<=.)b", subject) == nil)
        #expect(try regexRun("(?<=b)", subject)?.range == 3..<3)
    }

    @Test("capture names and count are reported")
    func captureNames() throws {
        let regex = try PCRE2Pattern("(?<year>\\d{4})-(\\d\\d)-(?<day>\\d\\d)")
        #expect(regex.captureCount == 3)
        #expect(regex.captureNames == ["year": 1, "day": 3])
        let m = try #require(try regexRun(regex.pattern, Array("2025-11-20".utf8)))
        #expect(m.captures == ["2025", "11", "20"])
    }

    @Test("search starts at the given offset")
    func fromOffset() throws {
        #expect(try regexRun("a", Array("aXa".utf8), from: 1)?.range == 2..<3)
        #expect(try regexRun("^a", Array("aa".utf8), from: 1) == nil)
        #expect(try regexRun("$", Array("ab".utf8), from: 2)?.range == 2..<2)
        #expect(try regexRun("a", Array("a".utf8), from: 5) == nil)
    }

    @Test("allMatches steps past empty matches one character at a time")
    func allMatches() throws {
        let regex = try PCRE2Pattern("x*")
        let subject = Array("aéxxb".utf8)
        var budget = MatchBudget(steps: 100_000)
        let ranges = try subject.withUnsafeBufferPointer { s throws(MatchError) in
            try regex.allMatches(in: s, budget: &budget, workspace: PCRE2Workspace()).map(\.range)
        }
        #expect(ranges == [0..<0, 1..<1, 3..<5, 5..<5, 6..<6])
    }

    @Test("replacing expands $0 $& $1 ${name} $$ and counts replacements")
    func replacing() throws {
        let regex = try PCRE2Pattern("(?<w>\\w+)@(\\w+)")
        let template = try PCRE2Replacement("[$2 at ${w}|$0|$&|$$|${1}]", for: regex)
        let subject = Array("mail bob@ex and al@host!".utf8)
        var budget = MatchBudget(steps: 100_000)
        let (bytes, count) = try subject.withUnsafeBufferPointer { s throws(MatchError) in
            try regex.replacing(in: s, with: template, budget: &budget, workspace: PCRE2Workspace())
        }
        #expect(String(decoding: bytes, as: UTF8.self)
            == "mail [ex at bob|bob@ex|bob@ex|$|bob] and [host at al|al@host|al@host|$|al]!")
        #expect(count == 2)
        let limited = try subject.withUnsafeBufferPointer { s throws(MatchError) in
            try regex.replacing(in: s, with: PCRE2Replacement("X", for: regex), limit: 1, budget: &budget, workspace: PCRE2Workspace())
        }
        #expect(String(decoding: limited.bytes, as: UTF8.self) == "mail X and al@host!")
        #expect(limited.count == 1)
        let unmatched = try PCRE2Pattern("(a)|b")
        let out = try Array("b".utf8).withUnsafeBufferPointer { s throws(MatchError) in
            try unmatched.replacing(in: s, with: PCRE2Replacement("<$1>", for: unmatched), budget: &budget, workspace: PCRE2Workspace())
        }
        #expect(String(decoding: out.bytes, as: UTF8.self) == "<>")
    }

    @Test("bad replacement templates name the problem and offset")
    func badTemplates() throws {
        let regex = try PCRE2Pattern("(a)")
        func message(_ t: String) -> String? {
            do { _ = try PCRE2Replacement(t, for: regex); return nil } catch { return error.description }
        }
        #expect(message("x$2") == "no group 2 at offset 1 of the replacement")
        #expect(message("$") == "'$' at the end (write '$$' for a dollar sign) at offset 0 of the replacement")
        #expect(message("a$x") == "invalid '$' (write '$$' for a dollar sign) at offset 1 of the replacement")
        #expect(message("${nope}") == "no group named 'nope' at offset 0 of the replacement")
        #expect(message("${1") == "unclosed '${' at offset 0 of the replacement")
        #expect(message("$1$$") == nil)
    }

    /// PCRE2's messages, each with the byte offset where PCRE2 stopped reading.
    static let errors: [(String, String, String)] = [
        ("(ab", "", "missing closing parenthesis at offset 3"),
        ("a(b(c)", "", "missing closing parenthesis at offset 6"),
        ("ab)", "", "unmatched closing parenthesis at offset 2"),
        ("[ab", "", "missing terminating ] for character class at offset 3"),
        ("[]", "", "missing terminating ] for character class at offset 2"),
        ("*a", "", "quantifier does not follow a repeatable item at offset 0"),
        ("a**", "", "quantifier does not follow a repeatable item at offset 2"),
        ("a|+", "", "quantifier does not follow a repeatable item at offset 2"),
        ("^*", "", "quantifier does not follow a repeatable item at offset 1"),
        ("{2}", "", "quantifier does not follow a repeatable item at offset 2"),
        ("a{2}{3}", "", "quantifier does not follow a repeatable item at offset 6"),
        ("a{3,2}", "", "numbers out of order in {} quantifier at offset 5"),
        ("a{65536}", "", "number too big in {} quantifier at offset 7"),
        ("ab\\", "", "\\ at end of pattern at offset 3"),
        ("\\q", "", "unrecognized character follows \\ at offset 1"),
        ("[\\q]", "", "unrecognized character follows \\ at offset 2"),
        ("[z-a]", "", "range out of order in character class at offset 3"),
        ("[\\d-z]", "", "invalid range in character class at offset 3"),
        ("(?<n>a)(?<n>b)", "", "two named subpatterns have the same name (PCRE2_DUPNAMES not set) at offset 12"),
        ("\\2(a)", "", "reference to non-existent subpattern at offset 1"),
        ("\\k<x>", "", "reference to non-existent subpattern at offset 3"),
        ("\\k", "", "\\k is not followed by a braced, angle-bracketed, or quoted name at offset 2"),
        ("(?<1a>x)", "", "subpattern name must start with a non-digit at offset 3"),
        ("(?<a", "", "syntax error in subpattern name (missing terminator?) at offset 4"),
        ("\\p{Foo}", "", "unknown property after \\P or \\p at offset 7"),
        ("\\p{Letter}", "", "unknown property after \\P or \\p at offset 10"),
        ("\\p{L", "", "malformed \\P or \\p sequence at offset 4"),
        ("(?z)", "", "unrecognized character after (? or (?- at offset 2"),
        ("(?iz)", "", "unrecognized character after (? or (?- at offset 3"),
        ("(?i", "", "missing closing parenthesis at offset 3"),
        ("(?#x", "", "missing ) after (?# comment at offset 4"),
        ("\\x{110000}", "", "character code point value in \\x{} or \\o{} is too large at offset 9"),
        ("\\x{D800}", "", "disallowed Unicode code point (>= 0xd800 && <= 0xdfff) at offset 7"),
        ("\\u00e9", "", "PCRE2 does not support \\F, \\L, \\l, \\N{name}, \\U, or \\u at offset 2"),
        ("(?<=a+)b", "", "lookbehind assertion is not fixed length at offset 0"),
        ("\\C", "", "using \\C is disabled by the application at offset 2"),
        ("a", "q", "unknown regex flag 'q' (flags are i, m, s, x)"),
        ("((?:ab){1000}){1000}", "", "regular expression is too large at offset 20"),
        ("(?P=x)", "", "reference to non-existent subpattern at offset 4"),
    ]

    @Test("malformed patterns name the problem and its byte offset")
    func malformed() {
        for (pattern, flags, message) in MatchingRegexTests.errors {
            #expect(regexError(pattern, flags: flags) == message, "pattern \(pattern.debugDescription)")
        }
        let deep = String(repeating: "(", count: 300) + String(repeating: ")", count: 300)
        #expect(regexError(deep) == "parentheses are too deeply nested at offset 251")
        #expect(regexError(String(repeating: "(", count: 150) + String(repeating: ")", count: 150)) == nil)
    }
}
