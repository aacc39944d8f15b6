import Crypto
import SluiceCore
import SluiceFormats

/// An article taken apart.
struct Article {
    var section: String?
    var title = ""
    var authors: [String] = []
    var published: ParsedDate?
    var publishedText: String?
    var updated: ParsedDate?
    var updatedText: String?
    var captions: [ArticleCaption] = []
    var tags: [String] = []
    var related: [String] = []
    var meta = Fields()
    var paragraphs: [String] = []

    /// The paragraphs joined with a blank line.
    var body: String { paragraphs.joined(separator: "\n\n") }

    /// The stable id: SHA-256 of the UTF-8 bytes of `title + "\n" + body` (both already
    /// normalized: NFC, plain spaces, paragraphs joined by a blank line), as lower-case hex of
    /// its first 16 bytes (32 characters). It does not depend on the file's name, encoding,
    /// line endings, byte-order mark or hard wrapping.
    static func id(title: String, body: String) -> String {
        // The three parts hashed in turn, not copied into one array first, and the hex written
        // here from the digest's bytes (the generic `Hex.string` over the digest's sequence and
        // the copy were 2.4 % of the source's samples).
        var hasher = SHA256()
        var title = title, body = body
        title.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        hasher.update(data: [UInt8(0x0A)])
        body.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        let digest = hasher.finalize()
        return digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: 32) { out in
                let digits: StaticString = "0123456789abcdef"
                let hex = digits.utf8Start
                for k in 0..<16 {
                    out[2 * k] = hex[Int(bytes[k] >> 4)]
                    out[2 * k + 1] = hex[Int(bytes[k] & 0x0F)]
                }
                return 32
            }
        }
    }

    mutating func add(_ facts: [LineFact]) {
        for fact in facts {
            switch fact {
            case .authors(let names):
                for name in names where !authors.contains(name) { authors.append(name) }
            case .published(let date, let text):
                if publishedText == nil {
                    published = date
                    publishedText = text
                } else if updatedText == nil, let date, let first = published, date.iso > first.iso {
                    // A second, later date without a label: the update.
                    updated = date
                    updatedText = text
                }
            case .updated(let date, let text):
                if updatedText == nil {
                    updated = date
                    updatedText = text
                }
            case .caption(let c): addCaption(c)
            case .section(let s): if section == nil { section = s }
            case .tags(let list): for t in list where !tags.contains(t) { tags.append(t) }
            case .related(let list): for r in list where !related.contains(r) { related.append(r) }
            case .relatedHeading, .nothing: break
            case .meta(let key, let value):
                if let old = meta[key]?.stringValue {
                    if old != value { meta[key] = .string(old + "; " + value) }
                } else {
                    meta[key] = .string(value)
                }
            }
        }
    }

    /// Adds a caption unless the same words and credit are already there.
    mutating func addCaption(_ c: ArticleCaption) {
        let key = ArticleCaption(text: c.text?.collapsedSpaces, credit: c.credit?.collapsedSpaces)
        if !captions.contains(where: { ArticleCaption(text: $0.text?.collapsedSpaces, credit: $0.credit?.collapsedSpaces) == key }) {
            captions.append(key)
        }
    }
}

/// Why a text is not an article.
enum ArticleProblem: Error, CustomStringConvertible {
    case noTitle(String)

    var description: String {
        switch self {
        case .noTitle(let why): return "no title line (\(why))"
        }
    }
}

/// Takes a normalized article text apart into header, body and trailer.
///
/// The layout it understands, top to bottom:
///
/// 1. optional YAML front matter (`---` … `---`) with `title`, `date`, `updated`, `author(s)`,
///    `tags`, `section`/`category`; other keys go to `meta`;
/// 2. optional kicker (section) line: short, in capitals or with ` / `, ` | `, ` > `, directly
///    above the title (in Markdown: any short line above the `# ` heading);
/// 3. the title: the first line (or Markdown heading) that is not a date, byline or caption;
/// 4. header lines, in any order: bylines, date lines, captions, `Section:`/`Tags:`/`Source:`
///    lines, and lines of several such parts separated by ` | `;
/// 5. the body, where captions and `Related:`/`Read more:` lines (and lists under a `Related`
///    heading) are taken out wherever they are;
/// 6. the trailer: `Key: value` lines (`meta`), `Tags:`, `Related:` lines and lists, captions,
///    copyright lines, separators.
struct ArticleParser: Sendable {
    var classify: LineClassifier
    /// The day relative dates (`yesterday`, `вчера`, `昨天`) and dates without a year
    /// (`20 ноября`, `11月20日`) are read against when the article gives no date of its own
    /// (the `reference_date` option); `nil`: such dates stay text.
    var reference: CivilDay?

    init(dates: DateParser, reference: CivilDay? = nil) {
        var dates = dates
        // Relative dates are recognised while classifying lines and read against the
        // article's own date (or `reference`) once the whole article is known.
        dates.acceptsRelative = true
        dates.reference = nil
        classify = LineClassifier(dates: dates)
        self.reference = reference
    }

    /// Parses normalized text (``TextDecoding/normalize(_:)``). `markdown` is set for `.md`
    /// files; a first line starting with `# ` turns it on too.
    func parse(_ text: String, markdown markdownHint: Bool) throws(ArticleProblem) -> Article {
        var article = Article()
        var rawLines = Self.lines(text)
        var frontTitle: String?
        if let front = FrontMatter.parse(rawLines, dates: classify.dates) {
            frontTitle = front.title
            article = front.article
            rawLines = Array(rawLines[front.end...])
        }
        let firstContent = rawLines.first { !$0.trimmed.isEmpty }?.trimmed ?? ""
        let markdown = markdownHint || firstContent.hasPrefix("# ")
        var lines = rawLines.map { MarkdownCleaner.line($0, markdown: markdown) }
        if markdown { markSetextHeadings(&lines, raw: rawLines) }

        var consumed = [Bool](repeating: false, count: lines.count)
        let titleIndex = try findTitle(lines, frontTitle: frontTitle, markdown: markdown, consumed: &consumed,
                                       article: &article)
        if let frontTitle {
            article.title = frontTitle
        } else if let titleIndex {
            article.title = titleText(lines[titleIndex].text)
        }
        let headerEnd = scanHeader(lines, after: titleIndex ?? -1, consumed: &consumed, article: &article)
        let bodyStart = (titleIndex ?? -1) + 1
        let bodyEnd = max(scanTrailer(lines, from: headerEnd, article: &article), bodyStart)
        article.paragraphs = paragraphs(lines, bodyStart..<bodyEnd, consumed: consumed, markdown: markdown,
                                        article: &article)
        var datelineDate: ParsedDate?
        var agency: String?
        if let first = article.paragraphs.first {
            if let found = dateline(first) {
                datelineDate = found.date
                agency = found.agency
            }
            if first.hasCJK {
                let found = cjkDateline(first)
                datelineDate = datelineDate ?? found.date
                agency = agency ?? found.agency
                article.add([.authors(found.names)])
            }
        }
        if let agency, article.meta["Agency"] == nil { article.meta["Agency"] = .string(agency) }
        resolveRelativeDates(&article, dateline: datelineDate)
        return article
    }

    /// Reads the relative and year-less dates (`Updated: today 14:30`, `БИШКЕК, 20 ноября —`,
    /// `新华社比什凯克11月20日电`) against the reference day: the article's first absolute date
    /// (published, updated, then the dateline's), else the `reference_date` option. Without a
    /// reference they stay text (`published_text`) and the ISO field is null. A dateline's date
    /// gives `published` when the header has none.
    private func resolveRelativeDates(_ article: inout Article, dateline: ParsedDate?) {
        let absolute = [article.published, article.updated, dateline].lazy.compactMap { $0 }.first { !$0.isRelative }
        let ref = absolute.flatMap { CivilDay(year: $0.year, month: $0.month, day: $0.day) } ?? reference
        var parser = classify.dates
        parser.acceptsRelative = false
        parser.reference = ref
        func resolve(_ date: ParsedDate?) -> ParsedDate? {
            guard let date, date.isRelative else { return date }
            guard ref != nil, var again = parser.parse(date.text) else { return nil }
            again.range = date.range
            return again
        }
        article.published = resolve(article.published)
        article.updated = resolve(article.updated)
        if article.publishedText == nil, let dateline, let date = resolve(dateline) {
            article.published = date
            article.publishedText = date.text
        }
    }

    /// The lines of a text (split at `\n`), found on its UTF-8 bytes: `split` on `Character`s
    /// walks grapheme clusters and took 15 % of the parse time.
    static func lines(_ text: String) -> [Substring] {
        // The line feeds' offsets from a loop over the bytes (walking `String.Index`es byte by
        // byte took 5 % of the source's instructions), then one index step per line.
        var breaks: [Int] = []
        text.withBytes { b in
            // 8 bytes at a time (the byte loop was 2.6 % of the source's samples).
            var k = nextByte(0x0A, in: b, from: 0)
            while k < b.count {
                breaks.append(k)
                k = nextByte(0x0A, in: b, from: k + 1)
            }
        }
        var result: [Substring] = []
        result.reserveCapacity(breaks.count + 1)
        let utf8 = text.utf8
        var start = utf8.startIndex
        var startOffset = 0
        for offset in breaks {
            let end = utf8.index(start, offsetBy: offset - startOffset)
            result.append(text[start..<end])
            start = utf8.index(after: end)
            startOffset = offset + 1
        }
        result.append(text[start..<utf8.endIndex])
        return result
    }

    // MARK: - Title and section

    private func titleText(_ text: String) -> String {
        var t = text
        while t.hasPrefix("#") { t = String(t.dropFirst()) }
        return t.collapsedSpaces
    }

    /// Whether a line can be a headline.
    private func isTitleLike(_ line: ArticleLine) -> Bool {
        guard !line.isBlank, !line.separator, !line.image, !line.bullet else { return false }
        let t = line.text
        return t.hasLetter && t.scalarCountIsAtMost(250) && t.wordCount <= 40
    }

    /// Whether a line looks like a kicker: short, no sentence punctuation, in capitals or with
    /// a section separator.
    private func isKicker(_ line: ArticleLine) -> Bool {
        let t = line.text
        guard t.scalarCountIsAtMost(60), t.wordCount <= 8, t.hasLetter, !t.endsLikeSentence, !t.hasSuffix(":") else {
            return false
        }
        // (Foundation's search only where the separator's bytes are: in NFC text it cannot match
        // elsewhere.)
        return t.isAllCaps || [" / ", " | ", " > ", " › ", " » ", " :: "].contains { t.containsASCII($0) && t.contains($0) }
            || Self.sections.contains(t.lowercased())
    }

    /// Section names of every language that make a kicker even when not in capitals.
    static let sections = ArticleVocabulary.merged(\.sections)
    static let datelineEnds = ArticleVocabulary.merged(\.datelineEnds)

    /// An agency dateline in Chinese at the start of the first paragraph:
    /// `新华社比什凯克11月20日电（记者 张三 李四）…`, `本报北京11月20日电 （记者 王五）`. The
    /// reporters in the parenthesis are authors; a date with a year gives `published` (without
    /// a year, as in `11月20日`, there is no date). The dateline stays in the paragraph.
    private func cjkDateline(_ paragraph: String) -> (date: ParsedDate?, names: [String], agency: String?) {
        let head = String(paragraph.unicodeScalars.prefix(60))
        guard let end = Self.datelineEnds.compactMap({ head.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound })
        else { return (nil, [], nil) }
        let stamp = String(head[..<head.index(before: end.upperBound)])  // up to and with `日`
        let date = classify.dates.parse(stamp).flatMap { d in d.range.upperBound == stamp.endIndex ? d : nil }
        // `新华社比什凯克…`: the agency is the table's name the dateline starts with.
        let agency = LineClassifier.agencyNames.first { stamp.hasPrefix($0) && $0.hasCJK }
        var rest = head[end.upperBound...].drop { $0 == " " }
        guard let open = rest.first, open == "（" || open == "(" else { return (date, [], agency) }
        rest = rest.dropFirst()
        guard let close = rest.firstIndex(where: { $0 == "）" || $0 == ")" }) else { return (date, [], agency) }
        let inner = String(rest[..<close]).trimmed
        guard LineClassifier.rolePrefixes.contains(where: { inner.hasPrefix($0) }),
              let names = LineClassifier.names(inner, requireCapitals: false) else { return (date, [], agency) }
        return (date, names, agency)
    }

    /// Finds the title line; returns its index (`nil` when front matter gave the title and no
    /// line repeats it). Lines before the title that are kickers or header lines are used.
    private func findTitle(_ lines: [ArticleLine], frontTitle: String?, markdown: Bool, consumed: inout [Bool],
                           article: inout Article) throws(ArticleProblem) -> Int? {
        let candidates = Array(lines.indices.filter { !lines[$0].isBlank && !lines[$0].separator }.prefix(8))
        // Each candidate's header facts, found once: the line under a kicker was classified for
        // the kicker test and again as the next candidate.
        var headers: [Int: [LineFact]?] = [:]
        func header(_ k: Int) -> [LineFact]? {
            if let known = headers[k] { return known }
            let facts = classify.header(lines[k])
            headers[k] = .some(facts)
            return facts
        }
        if let frontTitle {
            // The first heading or line may repeat the front matter's title.
            if let first = candidates.first, titleText(lines[first].text) == frontTitle || lines[first].headingLevel == 1 {
                consumed[first] = true
                return first
            }
            return nil
        }
        guard !candidates.isEmpty else { throw .noTitle("the text has only separators") }
        if markdown, let h = candidates.prefix(5).first(where: { lines[$0].headingLevel == 1 })
            ?? candidates.prefix(3).first(where: { lines[$0].isHeading }) {
            for k in candidates where k < h {
                consumed[k] = true
                if let facts = classify.header(lines[k]) {
                    article.add(facts)
                } else if lines[k].text.scalarCount <= 60, !lines[k].text.endsLikeSentence {
                    article.section = lines[k].text.collapsedSpaces
                }
            }
            consumed[h] = true
            return h
        }
        for (n, k) in candidates.enumerated() {
            let line = lines[k]
            if line.image {
                consumed[k] = true
                if let facts = header(k) { article.add(facts) }
                continue
            }
            if let facts = header(k), !(n == 0 && Self.isBareCredit(facts)) {
                consumed[k] = true
                article.add(facts)
                continue
            }
            if article.section == nil, n + 1 < candidates.count, isKicker(line) {
                let next = lines[candidates[n + 1]]
                // A headline does not end with a full stop; a paragraph or a standfirst does.
                if isTitleLike(next), !next.text.hasSuffix("."), !(next.text.hasCJK && next.text.endsLikeSentence),
                   header(candidates[n + 1]) == nil {
                    consumed[k] = true
                    article.section = line.text.collapsedSpaces
                    continue
                }
            }
            if isTitleLike(line) {
                consumed[k] = true
                return k
            }
            if !line.text.hasLetter { throw .noTitle("the first line of text has no words") }
            if line.bullet { throw .noTitle("the text starts with a list, not a headline") }
            throw .noTitle("the first line of text is a paragraph of \(line.text.scalarCount) characters, not a headline")
        }
        throw .noTitle("no line of text besides dates, bylines and captions")
    }

    /// Header facts that may just as well be a headline's words when they come first: a bare
    /// credit (`Photos: The week in pictures`), or a date beside words that were not understood
    /// (`Rail strike called off - March 3, 2024`).
    private static func isBareCredit(_ facts: [LineFact]) -> Bool {
        if facts.contains(where: { if case .nothing = $0 { return true }; return false }) { return true }
        guard facts.count == 1, case .caption(let c) = facts[0] else { return false }
        return c.text == nil
    }

    /// `Title` over `=====` (or `-----`) in Markdown: the underline makes the line a heading.
    private func markSetextHeadings(_ lines: inout [ArticleLine], raw: [Substring]) {
        for k in lines.indices.dropFirst() where lines[k].separator {
            let mark = raw[k].trimmed.first
            if mark == "=" || mark == "-", !lines[k - 1].isBlank, !lines[k - 1].separator, !lines[k - 1].isHeading {
                lines[k - 1].headingLevel = mark == "=" ? 1 : 2
            }
        }
    }

    // MARK: - Header and trailer

    /// Takes the header lines after the title (marking them consumed); returns the index after
    /// the last one.
    ///
    /// Header lines are looked for among the next twelve non-blank lines, until two lines of
    /// text in a row or a paragraph-length line. Text lines between header lines (a standfirst)
    /// stay in the body. Once text has started, a caption no longer extends the header (it is
    /// taken out of the body anyway).
    private func scanHeader(_ lines: [ArticleLine], after title: Int, consumed: inout [Bool],
                            article: inout Article) -> Int {
        var k = title + 1
        var lastHeader = title
        var seen = 0
        var textRun = 0
        while k < lines.count, seen < 12 {
            let line = lines[k]
            if line.isBlank { k += 1; continue }
            seen += 1
            if let facts = classify.header(line) {
                // Once text has started, only a byline or a date still belongs to the header
                // (after a standfirst); a caption or a `Source:` line there is body matter.
                let bylineOrDate = facts.allSatisfy {
                    switch $0 {
                    case .authors, .published, .updated, .nothing: return true
                    default: return false
                    }
                }
                if textRun > 0 && !bylineOrDate {
                    textRun += 1
                    if textRun >= 2 { break }
                    k += 1
                    continue
                }
                article.add(facts)
                consumed[k] = true
                lastHeader = k
                textRun = 0
            } else if textRun == 0, !line.isHeading, !line.bullet, let names = classify.bareByline(line.text) {
                // `Иван Петров` alone under the title.
                article.add([.authors(names)])
                consumed[k] = true
                lastHeader = k
            } else {
                if !line.text.scalarCountIsAtMost(200) || line.isHeading || line.bullet { break }
                textRun += 1
                if textRun >= 2 { break }
            }
            k += 1
        }
        return lastHeader + 1
    }

    /// Takes the trailer lines at the end; returns where the body ends.
    private func scanTrailer(_ lines: [ArticleLine], from bodyStart: Int, article: inout Article) -> Int {
        var found: [(index: Int, facts: [LineFact], item: Bool)] = []
        var k = lines.count - 1
        while k >= bodyStart {
            let line = lines[k]
            if line.isBlank { k -= 1; continue }
            guard let t = classify.trailer(line) else { break }
            found.append((k, t.facts, t.item))
            k -= 1
        }
        found.reverse()
        // Short lines count only under a `Related` heading (or a list item after one).
        var start = 0
        var underRelated = false
        for (n, entry) in found.enumerated() {
            if entry.item {
                if !underRelated { start = n + 1 }
            } else if entry.facts.contains(where: { if case .relatedHeading = $0 { return true }; return false }) {
                underRelated = true
            } else if entry.facts.contains(where: { if case .caption = $0 { return false }; if case .nothing = $0 { return false }; return true }) {
                underRelated = false
            }
        }
        let kept = found[start...]
        for entry in kept {
            article.add(entry.facts.map { fact in
                // A date in the trailer when the header already had one is kept as text.
                switch fact {
                case .published(_, let text) where article.publishedText != nil: return .meta("Published", text)
                case .updated(_, let text) where article.updatedText != nil: return .meta("Updated", text)
                default: return fact
                }
            })
        }
        guard let first = kept.first else { return lines.count }
        // A trailing `Related` heading with nothing under it still ends the body.
        return first.index
    }

    // MARK: - Body

    private func paragraphs(_ lines: [ArticleLine], _ range: Range<Int>, consumed: [Bool], markdown: Bool,
                            article: inout Article) -> [String] {
        guard !range.isEmpty else { return [] }
        // Blocks of consecutive text lines; captions, related lines, headings and list items
        // split them.
        var blocks: [[ArticleLine]] = []
        var current: [ArticleLine] = []
        func close() {
            if !current.isEmpty { blocks.append(current); current = [] }
        }
        var inRelated = false
        for k in range {
            let line = lines[k]
            if consumed[k] || line.isBlank || line.separator {
                close()
                if line.separator { inRelated = false }
                continue
            }
            if line.image {
                close()
                if let c = classify.caption(line.text) { article.addCaption(c) }
                continue
            }
            if let c = classify.caption(line.text) {
                close()
                article.addCaption(c)
                continue
            }
            if let facts = relatedOrTags(line.text) {
                close()
                article.add(facts)
                inRelated = facts.contains { if case .relatedHeading = $0 { return true }; return false }
                continue
            }
            if inRelated {
                if line.bullet || (line.text.scalarCountIsAtMost(150) && !line.text.hasSuffix(".")) {
                    article.add([.related([LineClassifier.relatedTitle(line.text)])])
                    continue
                }
                inRelated = false
            }
            if line.isHeading || line.bullet {
                close()
            }
            current.append(line)
            if line.isHeading { close() }
        }
        close()

        let wrapWidth = markdown ? nil : hardWrapWidth(blocks)
        var result: [String] = []
        for block in blocks {
            var paragraph: [String] = []
            func emit() {
                let text = join(paragraph)
                if !text.isEmpty { result.append(text) }
                paragraph = []
            }
            for (n, line) in block.enumerated() {
                if n > 0 {
                    let previous = block[n - 1]
                    let continues: Bool
                    if markdown {
                        continues = !line.bullet
                    } else if previous.text.continuesOn(line.text) {
                        // A line starting in lower case continues the sentence above.
                        continues = true
                    } else if let width = wrapWidth {
                        // The first word of this line would have fitted on the previous one:
                        // the break was meant, so a new paragraph starts.
                        let firstWord = line.text.firstWordWidth
                        continues = !line.bullet && previous.width + 1 + firstWord > width - 2
                    } else {
                        continues = false
                    }
                    if !continues { emit() }
                }
                paragraph.append(line.text)
            }
            emit()
        }
        return result
    }

    /// The width text was hard-wrapped at, or `nil` when lines are whole paragraphs.
    ///
    /// Wrapped text has lines of at most ~100 characters, and most lines inside a paragraph
    /// come close to the longest one.
    private func hardWrapWidth(_ blocks: [[ArticleLine]]) -> Int? {
        var maxWidth = 0
        var inner: [Int] = []
        for block in blocks {
            for line in block where !line.bullet && !line.isHeading { maxWidth = max(maxWidth, line.width) }
            if block.count > 1 { inner += block.dropLast().map(\.width) }
        }
        guard maxWidth >= 30, maxWidth <= 100, !inner.isEmpty else { return nil }
        let near = inner.filter { $0 >= max(maxWidth - 20, maxWidth * 7 / 10) }.count
        return near * 10 >= inner.count * 6 ? maxWidth : nil
    }

    /// Joins the lines of one paragraph: with a space, or with nothing after a word broken at
    /// a hyphen (`China-` + `Kyrgyzstan`).
    private func join(_ lines: [String]) -> String {
        if lines.count == 1 { return lines[0] }
        var text = ""
        for line in lines {
            if text.isEmpty {
                text = line
                continue
            }
            let u = text.utf8
            let brokenWord = u.count >= 2 && u.last == 0x2D && text.dropLast().last?.isLetter == true
                && line.first?.isLetter == true
            text += brokenWord ? line : " " + line
        }
        return text
    }

    /// A `Related:`, `Read more:` or `Tags:` line inside the body.
    private func relatedOrTags(_ text: String) -> [LineFact]? {
        // The label is short and at the start: `Related:`, `READ MORE:`, `Tags:`, `[Related]`.
        guard let first = text.utf8.first,
              first == 0x28 || first == 0x5B || first >= 0xC0 || (first | 0x20) >= 0x61 && (first | 0x20) <= 0x7A
        else { return nil }
        let stripped = text.withoutWrappingBrackets
        if stripped.utf8.count <= 40 {
            let lower = stripped.lowercased()
            if LineClassifier.relatedLabels.contains(lower.trimmingPunctuation),
               stripped.hasSuffix(":") || stripped.hasSuffix("：") || stripped.isAllCaps || lower.hasPrefix("related") {
                return [.relatedHeading]
            }
        }
        guard let (key, value) = stripped.keyValue(maxWords: 5, maxKeyLength: 40) else { return nil }
        let label = key.lowercased()
        if LineClassifier.relatedLabels.contains(label) {
            return value.isEmpty ? [.relatedHeading] : [.related(LineClassifier.relatedList(value))]
        }
        if LineClassifier.tagLabels.contains(label), !value.isEmpty {
            return [.tags(LineClassifier.tagList(value))]
        }
        return nil
    }

    /// A wire-service dateline at the start of the first paragraph, with its date (maybe
    /// without a year: read against the reference later) and agency:
    /// `WASHINGTON, March 3, 2024 (Reuters) — …`, `BEIJING, Nov. 2 (Xinhua) -- …`,
    /// `Bichkek (AFP) — …`, `(AFP) — …`, `Biskek, 5 feb (EFE).- …`, `Bischkek (dpa) - …`,
    /// `БИШКЕК, 20 ноября — РИА Новости. …`, `Москва. 21 ноября. ИНТЕРФАКС — …`,
    /// `МОСКВА, 20 ноября. /ТАСС/. …`. A dateline with neither a date nor a known agency is not
    /// one (`Berlin - …` could be a sentence).
    private func dateline(_ paragraph: String) -> (date: ParsedDate?, agency: String?)? {
        let head = String(paragraph.unicodeScalars.prefix(160))
        // Byte searches: Foundation's `range(of:)` cost more than the rest of the dateline.
        var cut: Range<Int>?
        for marker in Self.datelineMarkers {
            if let r = head.asciiRange(of: marker), cut == nil || r.lowerBound < cut!.lowerBound { cut = r }
        }
        guard let cut else { return nil }
        var prefix = head.bytes(0..<cut.lowerBound).trimmed
        let after = head.bytes(from: cut.upperBound)
        var agency: String?
        if head.bytes(cut).hasSuffix("/"), let slash = after.firstIndex(of: "/") {
            agency = String(after[..<slash]).trimmed  // `/ТАСС/`
        } else if prefix.hasSuffix(")"), let open = prefix.lastIndex(of: "(") {
            // `(Reuters)`, `(AFP)`, `(dpa)`: a known agency, or a short capitalised name (`(CNN)`).
            let inner = String(prefix[prefix.index(after: open)..<prefix.index(before: prefix.endIndex)]).trimmed
            guard LineClassifier.agencies.contains(inner.lowercased())
                || (inner.wordCount <= 3 && inner.scalarCount <= 30 && inner.unicodeScalars.first?.properties.isUppercase == true)
            else { return nil }
            agency = inner
            prefix = String(prefix[..<open]).trimmed
        } else if let sep = prefix.range(of: ". ", options: .backwards) ?? prefix.range(of: ", ", options: .backwards),
                  LineClassifier.agencies.contains(String(prefix[sep.upperBound...]).lowercased()) {
            agency = String(prefix[sep.upperBound...])  // `Москва. 21 ноября. ИНТЕРФАКС —`
            prefix = String(prefix[..<sep.lowerBound])
        }
        if agency == nil {
            // `— РИА Новости.`: the agency after the dash, up to a full stop.
            if let dot = after.firstIndex(of: "."), LineClassifier.agencies.contains(String(after[..<dot]).trimmed.lowercased()) {
                agency = String(after[..<dot]).trimmed
            }
        }
        while let last = prefix.last, last == "." || last == "," { prefix.removeLast() }
        if let date = classify.dates.parse(prefix) {
            let place = String(prefix[..<date.range.lowerBound]).trimmed
            let rest = String(prefix[date.range.upperBound...]).trimmed
            guard rest.isEmpty, place.isEmpty || place.hasSuffix(",") || place.hasSuffix(".") || place.isAllCaps else {
                return nil
            }
            // `Today - …` opens a sentence: a relative or year-less date needs an agency.
            if date.isRelative && agency == nil { return nil }
            return (date, agency)
        }
        guard let agency, prefix.isEmpty || prefix.isAllCaps || LineClassifier.isPlace(prefix) else { return nil }
        return (nil, agency)
    }

    /// What ends a dateline: dashes, `.-` (EFE), `. /` (TASS's `/ТАСС/`).
    static let datelineMarkers = [" -- ", " — ", " – ", " - ", " —", " --", ".-", ". /"]
}
