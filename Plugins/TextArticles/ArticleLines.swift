import SluiceCore

/// One line of an article after light clean-up, with what its layout says about it.
struct ArticleLine {
    /// The visible text: trimmed; Markdown markers removed in Markdown files.
    var text: String
    /// The length of the line as it was in the file, in scalars (for hard-wrap detection).
    var width: Int
    /// A Markdown heading's level (1–6), 0 for other lines.
    var headingLevel = 0
    /// A list item (`- `, `* `, `• `, `1. `); the marker is removed from ``text``.
    var bullet = false
    /// A Markdown image (`![alt](url)`); ``text`` holds the alt text.
    var image = false
    /// A thematic break (`---`, `***`, `* * *`), or a Setext underline.
    var separator = false

    var isBlank: Bool { text.isEmpty && !separator && !image }
    var isHeading: Bool { headingLevel > 0 }
}

enum MarkdownCleaner {
    /// Builds the line model of one raw line.
    static func line(_ raw: Substring, markdown: Bool) -> ArticleLine {
        // One pass trims and collapses the spaces; the width is the collapsed line's.
        var (t, width) = raw.collapsedSpacesAndWidth
        var line = ArticleLine(text: "", width: width)
        guard !t.isEmpty else { return line }
        if isSeparator(t) {
            line.separator = true
            return line
        }
        if markdown {
            while t.hasPrefix(">") { t = String(t.dropFirst()).trimmed }  // block quotes
            if t.hasPrefix("#") {
                let hashes = t.prefix { $0 == "#" }.count
                let rest = t.dropFirst(hashes)
                if hashes <= 6, rest.isEmpty || rest.hasPrefix(" ") {
                    line.headingLevel = hashes
                    var inner = rest.trimmed
                    while inner.hasSuffix("#") { inner = String(inner.dropLast()) }
                    t = inner.trimmed
                }
            }
            if t.hasPrefix("!["), let alt = imageAlt(t) {
                line.image = true
                line.text = inline(alt).collapsedSpaces
                return line
            }
        }
        if line.headingLevel == 0, let rest = bulletRest(t, markdown: markdown) {
            line.bullet = true
            t = rest
        }
        line.text = markdown ? inline(t).collapsedSpaces : t
        return line
    }

    /// `---`, `***`, `___`, `===`, `* * *` (three or more of one mark, spaces allowed).
    static func isSeparator(_ t: String) -> Bool {
        guard let first = t.unicodeScalars.first, "-*_=~".unicodeScalars.contains(first) else { return false }
        var marks = 0
        for s in t.unicodeScalars {
            if s == first { marks += 1 } else if s != " " { return false }
        }
        return marks >= 3
    }

    /// The text after a list marker, or `nil` when the line is not a list item.
    static func bulletRest(_ t: String, markdown: Bool) -> String? {
        // Most lines start with a letter: one byte decides (the marker sets were built, and the
        // first scalars copied into an array, for every line).
        guard let b = t.utf8.first, b == 0x2D || b == 0x2A || b == 0x2B || b >= 0xC2 || (markdown && b >= 0x30 && b <= 0x39)
        else { return nil }
        let scalars = Array(t.unicodeScalars.prefix(6))
        guard scalars.count >= 2 else { return nil }
        let markers = markdown ? markdownBullets : plainBullets
        if markers.contains(scalars[0]), scalars[1] == " " { return String(t.unicodeScalars.dropFirst(2)).trimmed }
        // `1. ` or `1) ` in Markdown only: in plain text a paragraph may start with a number.
        if markdown {
            var i = 0
            while i < scalars.count, ("0"..."9").contains(scalars[i]) { i += 1 }
            if i >= 1, i <= 3, i + 1 < scalars.count, scalars[i] == "." || scalars[i] == ")", scalars[i + 1] == " " {
                return String(t.unicodeScalars.dropFirst(i + 2)).trimmed
            }
        }
        return nil
    }

    private static let markdownBullets: Set<Unicode.Scalar> = ["-", "*", "+", "•", "·", "▪", "◦"]
    private static let plainBullets: Set<Unicode.Scalar> = ["-", "*", "•", "·", "▪", "◦"]

    /// `![alt](url "title")` filling the whole line → `alt`.
    static func imageAlt(_ t: String) -> String? {
        guard t.hasPrefix("!["), t.hasSuffix(")"), let close = t.range(of: "](") else { return nil }
        let alt = t[t.index(t.startIndex, offsetBy: 2)..<close.lowerBound]
        if alt.contains("]") { return nil }
        return String(alt)
    }

    /// Inline Markdown to plain text: links and images keep their text, emphasis markers,
    /// code backticks and backslash escapes go.
    static func inline(_ t: String) -> String {
        // All six marks are ASCII: a byte test (the scalar-by-scalar test was 1.7 % of the
        // source's samples on the benchmark's Markdown files).
        guard t.utf8.contains(where: { $0 == 0x2A || $0 == 0x5F || $0 == 0x60 || $0 == 0x5B || $0 == 0x5C || $0 == 0x3C })
        else { return t }
        let s = Array(t.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func isSpace(_ k: Int) -> Bool { k < 0 || k >= s.count || s[k].properties.isWhitespace }
        func isWordChar(_ k: Int) -> Bool {
            k >= 0 && k < s.count && (s[k].properties.isAlphabetic || s[k].properties.numericType != nil)
        }
        while i < s.count {
            let c = s[i]
            switch c {
            case "\\" where i + 1 < s.count && "*_`[]()#!\\<>".unicodeScalars.contains(s[i + 1]):
                out.append(s[i + 1])
                i += 2
                continue
            case "[", "!":
                // [text](url) or ![alt](url)
                let open = c == "!" ? i + 1 : i
                if open < s.count, s[open] == "[", let (text, end) = link(s, from: open) {
                    out.append(contentsOf: inline(text).unicodeScalars)
                    i = end
                    continue
                }
            case "<":
                // <https://…> autolinks keep the address.
                if let close = s[i...].firstIndex(of: ">"), close - i > 8 {
                    let inner = String(String.UnicodeScalarView(s[(i + 1)..<close]))
                    if inner.hasPrefix("http://") || inner.hasPrefix("https://") || inner.hasPrefix("mailto:") {
                        out.append(contentsOf: inner.unicodeScalars)
                        i = close + 1
                        continue
                    }
                }
            case "`":
                i += 1
                continue
            case "*", "_":
                var run = 1
                while i + run < s.count, s[i + run] == c { run += 1 }
                // Emphasis marks at word edges go; `snake_case`, `2*3` and a lone ` * ` stay.
                let inWord = isWordChar(i - 1) && isWordChar(i + run)
                let alone = isSpace(i - 1) && isSpace(i + run)
                if !inWord && !alone {
                    i += run
                    continue
                }
            default: break
            }
            out.append(c)
            i += 1
        }
        return String(out)
    }

    /// `[text](url)` starting at `open`: the text and the index after the closing parenthesis.
    private static func link(_ s: [Unicode.Scalar], from open: Int) -> (String, Int)? {
        var depth = 0
        var k = open
        while k < s.count {
            if s[k] == "[" { depth += 1 } else if s[k] == "]" {
                depth -= 1
                if depth == 0 { break }
            }
            k += 1
        }
        guard k + 1 < s.count, s[k] == "]", s[k + 1] == "(" else { return nil }
        guard let close = s[(k + 2)...].firstIndex(of: ")") else { return nil }
        return (String(String.UnicodeScalarView(s[(open + 1)..<k])), close + 1)
    }
}
