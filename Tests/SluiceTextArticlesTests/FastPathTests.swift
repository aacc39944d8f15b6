import SluiceCore
import SluiceFormats
@testable import SluiceTextArticles
import Testing

/// The byte-level fast paths of the article parser give what the plain definitions give: the
/// same text, counts and decisions, for ASCII, other scripts, every kind of whitespace, and
/// runs that fall across the 8-byte blocks the loops read.
@Suite("text_articles fast paths")
struct FastPathTests {
    /// Lines with whitespace of every kind at every offset of an 8-byte block.
    static let sampleLines: [String] = {
        var lines = [
            "", " ", "  ", "\t", "a", " a ", "a  b", "Plain words in one line of text, well past eight bytes.",
            "  leading and trailing  ", "tab\there", "no-break\u{00A0}space", "ideographic\u{3000}space",
            "thin \u{2009} space", "control\u{01}byte", "delete\u{7F}byte", "Élodie Martin, café",
            "中国 外交部 发言人", "Line\u{2028}separator", "mixed\u{00A0} \t\u{3000}run", "x\u{0085}y",
            "12345678 12345678  12345678\t12345678 ", "trailing space at eight\u{20}", "ends with a tab\t",
        ]
        for k in 0..<18 {
            let x = String(repeating: "x", count: k)
            for gap in [" ", "  ", "\t", " \t ", "\u{00A0}", "\u{3000}", "\r"] {
                lines.append(x + gap + "yyyyyyyyy zz")
                lines.append("aaaaaaaa" + x + gap)
                lines.append(gap + x + " é" + gap + "w")
            }
        }
        return lines
    }()

    @Test("collapsing spaces gives the words joined by one space, and the scalar width", arguments: sampleLines)
    func collapsedSpaces(_ line: String) {
        let expected = line.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let (text, width) = line.collapsedSpacesAndWidth
        #expect(text == expected)
        #expect(width == expected.unicodeScalars.count)
        #expect(Substring(line).collapsedSpaces == expected)
    }

    @Test("words are counted as whitespace-separated words, 8 bytes at a time or not", arguments: sampleLines)
    func wordCount(_ line: String) {
        let expected = line.split(whereSeparator: \.isWhitespace).count
        #expect(line.wordCount == expected)
        let long = Array(repeating: line, count: 5).joined(separator: "\n")
        #expect(long.wordCount == long.split(whereSeparator: \.isWhitespace).count)
    }

    @Test("an article's word count stops at Chinese characters and counts each")
    func articleWordCount() {
        #expect("The rail line opened on Monday.".articleWordCount == 6)
        #expect("2025年11月20日 China".articleWordCount == 7)
        #expect("Élodie Martin wrote\u{00A0}this".articleWordCount == 4)
        #expect("Lots of plain ASCII words before the 中国 part".articleWordCount == 10)
    }

    @Test("a prefix found on the bytes still needs String's character boundary")
    func hasPrefixFast() {
        for (text, prefix) in [("By Jane Roe", "by "), ("by jane roe", "by "), ("by \u{0301}x", "by "), ("b", "by "),
                               ("par jean", "par "), ("记者张三", "记者"), ("", "by "), ("posted by a", "posted by ")] {
            #expect(text.hasPrefixFast(prefix) == text.hasPrefix(prefix), "\(text) / \(prefix)")
        }
        #expect(!"by \u{0301}x".hasPrefixFast("by "))
    }

    @Test("punctuation is trimmed at the ends only when there is some")
    func trimmingPunctuation() {
        #expect("word".trimmingPunctuation == "word")
        #expect("(word)".trimmingPunctuation == "word")
        #expect("«mot»".trimmingPunctuation == "mot")
        #expect("a.".trimmingPunctuation == "a")
        #expect("—".trimmingPunctuation == "")
        #expect("".trimmingPunctuation == "")
    }

    @Test("tags split on ASCII bytes and on the other scripts' separators alike")
    func tagList() {
        #expect(LineClassifier.tagList("a, b; c | #d, a") == ["a", "b", "c", "d"])
        #expect(LineClassifier.tagList("rail,,  power  grid ;") == ["rail", "power grid"])
        #expect(LineClassifier.tagList("中国，外交、 rail; 中国") == ["中国", "外交", "rail"])
        #expect(LineClassifier.tagList("Kyrgyzstan · China • trade") == ["Kyrgyzstan", "China", "trade"])
    }

    @Test("a wire credit line needs ' by ' in every part, in any case")
    func creditLine() {
        #expect(LineClassifier.creditLine("Reporting by Ann Lee; Editing by Tom Hale")?.count == 2)
        #expect(LineClassifier.creditLine("Reporting by Ann Lee; The line opened on Monday.") == nil)
        #expect(LineClassifier.creditLine("Reportage by Zoë Lee; Editing by Tom Hale") == nil)
        #expect(LineClassifier.creditLine("Editing by Zoë Lee") != nil)
        #expect(LineClassifier.creditLine("Reporting BY Ann Lee")?.count == 1)
        #expect(LineClassifier.creditLine("Reportingby Ann Lee") == nil)
        #expect(LineClassifier.creditLine("The minister said the line would open by March.") == nil)
        #expect(LineClassifier.creditLine("") == nil)
    }

    @Test("the id is SHA-256 of title, line feed and body, as 32 hex digits")
    func id() {
        // python3: hashlib.sha256("Harbour opens\nThe new harbour opened on Monday.".encode()).hexdigest()[:32]
        #expect(Article.id(title: "Harbour opens", body: "The new harbour opened on Monday.") == "d0ef3c2bb2b47f17fea02578339c9e9e")
        #expect(Article.id(title: "Café ☕", body: "Été.\n\n中国") == "5273410e87610b15ceba7660a4b9fd26")
    }

    @Test("a scalar limit is checked on the bytes first, the same answer either way")
    func scalarLimit() {
        for (text, limit) in [("abc", 3), ("abcd", 3), ("ééé", 3), ("éééé", 3), ("中国人", 3), ("", 0)] {
            #expect(text.scalarCountIsAtMost(limit) == (text.unicodeScalars.count <= limit), "\(text)")
        }
    }

    @Test("the next space or line feed is found at every offset of an 8-byte block, or the end")
    func nextByteAtEveryOffset() {
        for length in 0..<20 {
            for at in 0...length {
                var bytes = [UInt8](repeating: UInt8(ascii: "x"), count: length)
                if at < length { bytes[at] = 0x0A }
                if length > 0 { bytes[length - 1] = bytes[length - 1] == 0x0A ? 0x0A : 0xC3 }
                bytes.withUnsafeBufferPointer { b in
                    for start in 0...length {
                        let expected = (start..<length).first { b[$0] == 0x0A } ?? length
                        #expect(nextByte(0x0A, in: b, from: start) == expected, "length \(length), at \(at), from \(start)")
                        #expect(nextSpace(b, from: start) == length)
                    }
                }
            }
        }
    }

    @Test("an ASCII needle is found where a byte-by-byte search finds it, in either case")
    func asciiRange() {
        let hays = ["Reporting by Ann", "REPORTING BY ANN", "nothing here at all, not one", "by the way", "a by",
                    "Zoë by Ann and Bob. Then more text. Then by", "xx.com and yy.COM", "", "  by  by  "]
        for hay in hays {
            let h = Array(hay.utf8)
            for needle in [" by ", "by ", ". ", ".com", " and ", "x", "Then"] {
                let n = Array(needle.utf8)
                for insensitive in [false, true] {
                    for from in 0...h.count {
                        let lower: (UInt8) -> UInt8 = { insensitive && $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
                        let expected = h.count < n.count || from > h.count - n.count ? nil
                            : (from...(h.count - n.count)).first { i in (0..<n.count).allSatisfy { lower(h[i + $0]) == lower(n[$0]) } }
                        #expect(hay.asciiRange(of: needle, caseInsensitive: insensitive, from: from)?.lowerBound == expected,
                                "\(hay) / \(needle) / \(insensitive) / \(from)")
                    }
                }
            }
        }
    }

    @Test("lines split at every line feed, with the empty ones kept")
    func splitLines() {
        #expect(ArticleParser.lines("a\nbb\n\nccc dddd eeee ffff\n").map(String.init) == ["a", "bb", "", "ccc dddd eeee ffff", ""])
        #expect(ArticleParser.lines("").map(String.init) == [""])
        #expect(ArticleParser.lines("één\n中国\n").map(String.init) == ["één", "中国", ""])
    }

    // MARK: Header lines (each kind, and lines that only look like one)

    static let classifier = LineClassifier(dates: DateParser())

    static func header(_ text: String) -> [LineFact]? {
        let (clean, width) = text.collapsedSpacesAndWidth
        return classifier.header(ArticleLine(text: clean, width: width))
    }

    static func kinds(_ facts: [LineFact]?) -> [String]? {
        facts?.map { fact in
            switch fact {
            case .authors(let names): return "authors:" + names.joined(separator: ",")
            case .published(let d, let text): return "published:" + (d?.iso ?? "nil") + "|" + text
            case .updated(let d, let text): return "updated:" + (d?.iso ?? "nil") + "|" + text
            case .caption(let c): return "caption:" + (c.credit ?? "nil")
            case .section(let s): return "section:" + s
            case .tags(let t): return "tags:" + t.joined(separator: ",")
            case .related(let r): return "related:" + r.joined(separator: ",")
            case .relatedHeading: return "relatedHeading"
            case .meta(let k, let v): return "meta:" + k + "=" + v
            case .nothing: return "nothing"
            }
        }
    }

    @Test("each kind of header line is read, once its own date is parsed only once")
    func headerLines() {
        #expect(Self.kinds(Self.header("By Jane Roe and Tom Hale")) == ["authors:Jane Roe,Tom Hale"])
        #expect(Self.kinds(Self.header("Published: Nov 20, 2025 10:10 PM")) == ["published:2025-11-20T22:10:00|Nov 20, 2025 10:10 PM"])
        #expect(Self.kinds(Self.header("20 November 2025")) == ["published:2025-11-20|20 November 2025"])
        #expect(Self.kinds(Self.header("Updated: March 3, 2024 4:45 PM EST"))?.first?.hasPrefix("updated:2024-03-03T16:45:00") == true)
        #expect(Self.kinds(Self.header("November 21, 2025 / 3:04 PM / Updated 2 hours ago"))?.first?.hasPrefix("published:2025-11-21") == true)
        #expect(Self.kinds(Self.header("Madrid, 5 de febrero de 2025")) == ["published:2025-02-05|5 de febrero de 2025"])
        #expect(Self.kinds(Self.header("Officials met in the city. Photo: Xinhua")) == ["caption:Xinhua"])
        #expect(Self.kinds(Self.header("Tags: rail, power")) == ["tags:rail,power"])
        #expect(Self.kinds(Self.header("Par Jean Dupont")) == ["authors:Jean Dupont"])
        #expect(Self.kinds(Self.header("By\u{00A0}Jane Roe")) == ["authors:Jane Roe"])
    }

    @Test("lines that only look like header lines are not", arguments: [
        "Election results of November 5, 2024",
        "By the end of the year the line will open",
        "Par ailleurs, le ministre a rencontré le président",
        "Police said the bridge reopened 1234",
        "Posted",
        "Photographs of the river were shown at the meeting on Monday and again later in the week.",
        "Byline writers met",
    ])
    func notHeaderLines(_ text: String) {
        #expect(Self.header(text) == nil)
    }
}

/// Header lines are split on separator patterns made once (`SpacedSeparators`).
@Suite("text_articles: separators between spaces")
struct SpacedSeparatorTests {
    @Test("each separator set splits header lines on its separators between spaces, and only there", arguments: [
        ("By A | China Daily | Updated: Nov 20, 2025", SpacedSeparators.strong, ["By A", "China Daily", "Updated: Nov 20, 2025"]),
        ("Xinhua · 2025-11-20 • World", SpacedSeparators.strong, ["Xinhua", "2025-11-20", "World"]),
        ("A|B ·C• D", SpacedSeparators.strong, ["A|B ·C• D"]),
        ("November 21, 2025 / 3:04 PM – Updated — now", SpacedSeparators.slashes, ["November 21, 2025", "3:04 PM", "Updated", "now"]),
        ("a - b / c", SpacedSeparators.slashes, ["a - b", "c"]),
        ("a - b / c", SpacedSeparators.slashesAndHyphen, ["a", "b", "c"]),
        ("Première | Deuxième\r", SpacedSeparators.bar, ["Première", "Deuxième"]),
        (" | x | ", SpacedSeparators.bar, ["", "x", ""]),
        ("新闻 | 中国", SpacedSeparators.bar, ["新闻", "中国"]),
    ])
    func split(_ text: String, _ separators: SpacedSeparators, _ parts: [String]) {
        #expect(text.splitSpaced(separators) == parts)
    }

    @Test("the made-once patterns are those of the separators given")
    func sameAsGiven() {
        let line = "By A | B · C • D / E – F — G - H"
        #expect(line.splitSpaced(SpacedSeparators.strong) == line.splitSpaced(["|", "·", "•"]))
        #expect(line.splitSpaced(SpacedSeparators.slashes) == line.splitSpaced(["/", "–", "—"]))
        #expect(line.splitSpaced(SpacedSeparators.slashesAndHyphen) == line.splitSpaced(["/", "–", "—", "-"]))
        #expect(line.splitSpaced(SpacedSeparators.bar) == line.splitSpaced(["|"]))
        #expect(line.splitSpaced(SpacedSeparators.strong).count == 4)
    }
}
