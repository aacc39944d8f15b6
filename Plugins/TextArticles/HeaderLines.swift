import SluiceCore
import SluiceFormats

/// A photo caption: the words under a picture and who took it.
struct ArticleCaption: Hashable {
    /// The caption's words, or `nil` for a bare credit line (`Photo: Xinhua`).
    var text: String?
    /// Who made or supplied the picture; `nil` for a caption that names nobody (`图为…`).
    var credit: String?
}

/// What one header, byline or trailer line says.
enum LineFact {
    case authors([String])
    case published(ParsedDate?, text: String)
    case updated(ParsedDate?, text: String)
    case caption(ArticleCaption)
    case section(String)
    case tags([String])
    case related([String])
    /// `Related:` (or `Read more`, `See also`…) with the titles on the following lines.
    case relatedHeading
    case meta(String, String)
    /// A line that carries nothing (an outlet name beside a byline, a separator).
    case nothing
}

/// Recognizes the kinds of lines that surround an article's body.
struct LineClassifier: Sendable {
    var dates: DateParser

    // MARK: Labels

    static let publishedLabels = ArticleVocabulary.merged(\.publishedLabels)
    static let updatedLabels = ArticleVocabulary.merged(\.updatedLabels)
    static let dateLabels = publishedLabels.union(updatedLabels)
    /// Words beside a date that say nothing more (`on`, `le`, `am`, `el`).
    static let dateFillers = ArticleVocabulary.merged(\.dateFillers)
    static let authorLabels = ArticleVocabulary.merged(\.authorLabels)
    static let sectionLabels = ArticleVocabulary.merged(\.sectionLabels)
    static let tagLabels = ArticleVocabulary.merged(\.tagLabels)
    static let relatedLabels = ArticleVocabulary.merged(\.relatedLabels)
    /// Keys that are taken as `meta` in the header too, and with long values in the trailer.
    static let metaKeys = ArticleVocabulary.merged(\.metaKeys)

    // MARK: Header lines

    /// The facts on a line of the header (between the title and the body), or `nil` when the
    /// line is not a header line. A line of several parts (`By A | China Daily | Updated: …`)
    /// counts when every part is understood or is a short name (an outlet) beside one that is.
    func header(_ line: ArticleLine) -> [LineFact]? {
        if line.separator { return [.nothing] }
        if line.image { return [caption(line.text).map { .caption($0) } ?? .nothing] }
        let text = line.text
        // A paragraph-length line, or a long sentence, can only be a caption.
        if line.width > 300 || (line.width > 120 && text.endsLikeSentence) { return caption(text).map { [.caption($0)] } }
        // The line's own date, when `single` parsed it (it is asked for again below).
        var lineDate: ParsedDate?? = nil
        if let facts = single(text, inHeader: true, date: &lineDate) { return facts }
        // Parts separated by bars: `By A | China Daily | Updated: …`.
        let strong = text.splitSpaced(SpacedSeparators.strong).filter { !$0.isEmpty }
        if strong.count > 1 { return parts(strong) }
        // A date and time across slashes or dashes: `November 21, 2025 / 3:04 PM / Updated 2 hours ago`.
        if line.width <= 120, let date = lineDate ?? dates.parse(text) {
            // The date must be a part of its own, set off by a separator, not words of a title
            // (`Election results of November 5, 2024`).
            let before = String(text[..<date.range.lowerBound]).trimmed
            let after = String(text[date.range.upperBound...]).trimmed
            let separators: Set<Character> = ["/", "|", "–", "—", "-", "·", "•"]
            guard before.isEmpty || before.last.map(separators.contains) == true,
                  after.isEmpty || after.first.map(separators.contains) == true else {
                // A date and a labelled part after spaces: `2025-11-20 08:15:32　来源：新华网`.
                if before.isEmpty, let facts = labeled(after, inHeader: true) {
                    return [.published(date, text: date.text)] + facts
                }
                // A place before the date: `Madrid, 5 de febrero de 2025`.
                if after.isEmpty, before.hasSuffix(","), Self.isPlace(String(before.dropLast())) {
                    return [.published(date, text: date.text)]
                }
                return parts(text.splitSpaced(SpacedSeparators.slashes).filter { !$0.isEmpty })
            }
            let others = (before + " / " + after).splitSpaced(SpacedSeparators.slashesAndHyphen).map { $0.trimmingPunctuation }
                .filter { !$0.isEmpty }
            if others.allSatisfy({ $0.unicodeScalars.first.map { !$0.properties.isLowercase } ?? true }),
               let facts = parts(others, understood: 1) {
                return [.published(date, text: date.text)] + facts
            }
            if others.isEmpty { return [.published(date, text: date.text)] }
        }
        return parts(text.splitSpaced(SpacedSeparators.slashes).filter { !$0.isEmpty })
    }

    /// The facts of a line's parts: every part must be understood or be a short name (an
    /// outlet); at least `understood` + one part must be understood.
    private func parts(_ parts: [String], understood already: Int = 0) -> [LineFact]? {
        guard parts.count > 1 || (already > 0 && !parts.isEmpty) else { return nil }
        var facts: [LineFact] = []
        var understood = already
        for part in parts {
            if let f = single(part, inHeader: true) {
                facts += f
                understood += 1
            } else if part.wordCount <= 5, !part.endsLikeSentence, part.scalarCountIsAtMost(40) {
                facts.append(.nothing)  // `China Daily`, `chinadaily.com.cn`, `Xinhua`
            } else {
                return nil
            }
        }
        return understood > 0 ? facts : nil
    }

    /// One header fact from a line or part of a line.
    private func single(_ text: String, inHeader: Bool) -> [LineFact]? {
        var date: ParsedDate?? = nil
        return single(text, inHeader: inHeader, date: &date)
    }

    /// ``single(_:inHeader:)``, leaving in `date` the date parsed from the whole of `text` when
    /// it was parsed (a line that is nothing else is parsed again by ``header(_:)``: twice was
    /// 4 % of the source's samples).
    private func single(_ text: String, inHeader: Bool, date: inout ParsedDate??) -> [LineFact]? {
        if let c = caption(text) { return [.caption(c)] }
        if let facts = labeled(text, inHeader: inHeader) { return facts }
        if let facts = prefixedDate(text) { return facts }
        if let facts = byline(text) { return facts }
        if let d = wholeLineDate(text, parsed: &date) { return [.published(d, text: d.text)] }
        return nil
    }

    /// `Key: value` lines with a known key.
    private func labeled(_ text: String, inHeader: Bool) -> [LineFact]? {
        guard let (key, value) = text.withoutWrappingBrackets.keyValue(maxWords: 4), !value.isEmpty || inHeader else {
            return nil
        }
        let label = key.lowercased()
        if Self.publishedLabels.contains(label) || Self.updatedLabels.contains(label) {
            let updated = Self.updatedLabels.contains(label)
            guard !value.isEmpty else { return nil }
            let date = dates.parse(value)
            var facts: [LineFact] = [updated ? .updated(date, text: date?.text ?? value) : .published(date, text: date?.text ?? value)]
            if let date, let names = namesBesideDate(value, date) { facts.append(.authors(names)) }
            return facts
        }
        if Self.authorLabels.contains(label) {
            guard let names = Self.names(value, requireCapitals: false) else { return nil }
            return [.authors(names)]
        }
        if Self.sectionLabels.contains(label), !value.isEmpty { return [.section(value.collapsedSpaces)] }
        if Self.tagLabels.contains(label) { return [.tags(Self.tagList(value))] }
        if Self.relatedLabels.contains(label) { return value.isEmpty ? [.relatedHeading] : [.related(Self.relatedList(value))] }
        if Self.metaKeys.contains(label), !value.isEmpty { return [.meta(key, value)] }
        return nil
    }

    /// `Updated 2:15 PM EST, Fri November 21, 2025`, `Posted on March 3, 2024 by Jane Roe`,
    /// `Posted by Jane Roe on March 3, 2024`: a date label without a colon.
    private func prefixedDate(_ text: String) -> [LineFact]? {
        guard let byte = text.utf8.first, Self.dateLabelInitials[Int(byte)],
              let first = text.unicodeScalars.first, first.properties.isAlphabetic else { return nil }
        let lower = String(text.unicodeScalars.prefix(32)).lowercased()
        var best: (label: String, updated: Bool)?
        // Only the labels starting with the line's first byte, longest first (each label was
        // tried with a `label + " "` built per line).
        for entry in Self.dateLabelsByInitial[Int(lower.utf8.first ?? 0)]
        where lower.hasPrefixFast(entry.spaced)
            || (entry.cjk && lower.hasPrefix(entry.label) && !lower.hasPrefix(entry.label + "：") && !lower.hasPrefix(entry.label + ":")) {
            best = (entry.label, entry.updated)
            break
        }
        guard let (label, updated) = best else { return nil }
        let rest = String(text.dropFirst(label.count)).trimmed
        guard let date = dates.parse(rest) else {
            // `Posted by Jane Roe` with no date. Whoever edited or updated a story is not its
            // author: `Edited by Zhang San` is a credit (meta).
            if rest.lowercased().hasPrefix("by "), let names = Self.names(String(rest.dropFirst(3)), requireCapitals: true) {
                return updated ? [.meta(Self.creditKey(label), names.joined(separator: ", "))] : [.authors(names)]
            }
            return nil
        }
        // The date must come early (`Posted on …`, `Posted by X on …`), not in a sentence.
        let before = String(rest[..<date.range.lowerBound]).trimmed
        let beforeIsByline = before.lowercased().hasPrefix("by ")
        guard before.isEmpty || beforeIsByline || Self.dateFillers.contains(before.lowercased()) else {
            return nil
        }
        var facts: [LineFact] = [updated ? .updated(date, text: date.text) : .published(date, text: date.text)]
        if let names = namesBesideDate(rest, date) {
            facts.append(updated ? .meta(Self.creditKey(label), names.joined(separator: ", ")) : .authors(names))
        } else if !leftover(rest, without: date).isEmpty {
            // A second labelled date after a comma: `Publié le … à 22 h 10, modifié le …`.
            let after = String(rest[date.range.upperBound...]).trimmed
            guard before.isEmpty, after.hasPrefix(",") || after.hasPrefix(";"),
                  let more = prefixedDate(String(after.dropFirst()).trimmed) else { return nil }
            facts += more
        }
        return facts
    }

    /// Names written before or after a date on a `Posted … by …` line.
    private func namesBesideDate(_ text: String, _ date: ParsedDate) -> [String]? {
        let before = String(text[..<date.range.lowerBound])
        let after = String(text[date.range.upperBound...])
        for piece in [after, before] {
            let lower = piece.lowercased()
            // Foundation's search only when the bytes hold `by ` (it cannot match elsewhere).
            guard lower.containsASCII("by "), let by = lower.range(of: "by ") else { continue }
            let start = piece.index(piece.startIndex, offsetBy: lower.distance(from: lower.startIndex, to: by.upperBound))
            var names = String(piece[start...]).trimmed
            for tail in [" on", " at", ",", "|", "-", "–", "—", " |"] where names.lowercased().hasSuffix(tail) {
                names = String(names.dropLast(tail.count)).trimmed
            }
            if let list = Self.names(names, requireCapitals: true) { return list }
        }
        return nil
    }

    /// A place name before a date: one to three words, each starting with a capital.
    static func isPlace(_ text: String) -> Bool {
        let words = text.split(separator: " ")
        return (1...3).contains(words.count) && words.allSatisfy { $0.unicodeScalars.first?.properties.isUppercase ?? false }
    }

    /// What is left of a line besides a date, without separators and connecting words.
    private func leftover(_ text: String, without date: ParsedDate?) -> String {
        var rest = text
        if let date { rest.removeSubrange(date.range) }
        let words = rest.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
            .filter { !Self.dateFillers.contains($0.lowercased()) }
        return words.joined(separator: " ")
    }

    /// A line that is only a date (and maybe a weekday and separators).
    func wholeLineDate(_ text: String) -> ParsedDate? {
        var parsed: ParsedDate?? = nil
        return wholeLineDate(text, parsed: &parsed)
    }

    /// ``wholeLineDate(_:)``, leaving the date parsed from `text` (if it was) in `parsed`.
    private func wholeLineDate(_ text: String, parsed: inout ParsedDate??) -> ParsedDate? {
        guard text.scalarCountIsAtMost(80) else { return nil }
        let found = dates.parse(text)
        parsed = .some(found)
        guard let date = found else { return nil }
        return leftover(text, without: date).isEmpty ? date : nil
    }

    /// `By A and B`, `BY A, B AND C`, `By A, Staff Writer`, `By A | March 3, 2024`.
    func byline(_ text: String) -> [LineFact]? {
        guard let first = text.utf8.first, Self.bylineInitials[Int(first)] else { return nil }
        var rest: String
        var latin = true
        // One lower-cased prefix for every label (lower-casing the line once per label took
        // more time than the rest of the header scan).
        let lower = String(text.unicodeScalars.prefix(Self.longestBylinePrefix)).lowercased()
        if let label = Self.bylinePrefixes.first(where: { lower.hasPrefixFast($0) }) {
            rest = String(text.dropFirst(label.count))
            latin = !label.hasCJK
            // `Par`, `Von`, `Por` also open sentences (`Par ailleurs, …`): their names must be
            // full names (two capitalised words or more) or an outlet.
            if latin, !ArticleVocabulary.english.bylinePrefixes.contains(label) {
                let candidate = rest.trimmed
                guard let names = Self.names(candidate, requireCapitals: true),
                      names.allSatisfy({ $0.split(separator: " ").count >= 2 }) else { return nil }
            }
        } else if let prefix = Self.rolePrefixes.first(where: { text.hasPrefixFast($0) }), text.scalarCount <= 40 {
            // `新华社记者张三`, `本报记者 张三 李四`.
            rest = String(text.dropFirst(prefix.count))
            latin = false
        } else {
            return nil
        }
        rest = rest.trimmed
        if !latin {
            guard let names = Self.names(rest, requireCapitals: false), !names.isEmpty,
                  names.allSatisfy({ $0.hasCJK }) else { return nil }
            return [.authors(names)]
        }
        // `By A | China Daily | Updated: …` is split on its bars by the caller.
        // (Foundation's search only when the bytes hold the separator: in NFC text it cannot
        // match where they do not.)
        if rest.containsASCII(" | ") && rest.contains(" | ") { return nil }
        var facts: [LineFact] = []
        // `By A; Additional reporting by B`, `By A, edited by B`, `By A (additional reporting by
        // B)`: the credits are meta, not authors.
        if let (names, credits) = Self.splitCredits(rest) {
            facts += credits
            rest = names
        }
        if let date = dates.parse(rest) {
            let before = String(rest[..<date.range.lowerBound])
            let after = leftover(String(rest[date.range.upperBound...]), without: nil)
            guard after.isEmpty else { return nil }
            facts.append(.published(date, text: date.text))
            rest = before.trimmed
            for tail in [" on", ",", "|", "-", "–", "—", " at"] where rest.lowercased().hasSuffix(tail) {
                rest = String(rest.dropLast(tail.count)).trimmed
            }
        }
        guard let names = Self.names(rest, requireCapitals: true) else { return nil }
        return [.authors(names)] + facts
    }

    /// The alphabets of ``ArticleVocabulary/bareBylineLetters``.
    static let bareBylineAlphabets = ArticleVocabulary.builtIn.compactMap(\.bareBylineLetters)

    /// A byline without a label, right after the title: one or more names (`Иван Петров`,
    /// `Иван Петров и Анна Смирнова`) of two or three capitalised words in an alphabet whose
    /// outlets write bylines so, and nothing else on the line.
    func bareByline(_ text: String) -> [String]? {
        guard text.scalarCountIsAtMost(80), !Self.bareBylineAlphabets.isEmpty,
              text.unicodeScalars.allSatisfy({ $0 == " " || $0 == "-" || $0 == "," || $0.properties.isAlphabetic }),
              let names = Self.names(text, requireCapitals: true), !names.isEmpty else { return nil }
        for name in names {
            let words = name.split(separator: " ")
            guard (2...3).contains(words.count) else { return nil }
            for w in words {
                guard let first = w.unicodeScalars.first, first.properties.isUppercase,
                      w.unicodeScalars.dropFirst().allSatisfy({ $0 == "-" || $0.properties.isLowercase }),
                      w.unicodeScalars.allSatisfy({ c in c == "-" || Self.bareBylineAlphabets.contains { $0.contains(c.value) } })
                else { return nil }
            }
        }
        return names
    }

    // MARK: Names

    /// Roles and outlets, of every language.
    static let roleWords = ArticleVocabulary.merged(\.roleWords)
    static let bylinePrefixes = ArticleVocabulary.merged(\.bylinePrefixes)
    static let longestBylinePrefix = bylinePrefixes.map(\.unicodeScalars.count).max() ?? 0
    /// The bytes a byline can start with: a byline prefix's first byte in any case, or a role
    /// prefix's (`新华社记者张三`).
    static let bylineInitials: [Bool] = initials(bylinePrefixes + rolePrefixes)
    /// The date labels by their first byte, longest first.
    static let dateLabelsByInitial: [[(label: String, spaced: String, updated: Bool, cjk: Bool)]] = {
        var table = [[(label: String, spaced: String, updated: Bool, cjk: Bool)]](repeating: [], count: 256)
        for label in dateLabels.sorted(by: { $0.count > $1.count }) {
            guard let b = label.utf8.first else { continue }
            table[Int(b)].append((label, label + " ", updatedLabels.contains(label), label.hasCJK))
        }
        return table
    }()
    /// The bytes a date label can start with, in any case.
    static let dateLabelInitials: [Bool] = initials(Array(dateLabels))

    /// A table of the first UTF-8 bytes of `words` written in lower case, capitalised or in
    /// capitals: a line whose first byte is not in it cannot start with one of them.
    static func initials(_ words: [String]) -> [Bool] {
        var table = [Bool](repeating: false, count: 256)
        for w in words {
            for form in [w, w.capitalized, w.uppercased()] {
                if let b = form.utf8.first { table[Int(b)] = true }
            }
        }
        return table
    }
    static let rolePrefixes = ArticleVocabulary.merged(\.rolePrefixes)
    static let roleSuffixes = Set(ArticleVocabulary.merged(\.roleSuffixes))
    static let nameJoiners = ArticleVocabulary.merged(\.nameJoiners)
    static let placeWords = ArticleVocabulary.merged(\.placeWords)
    static let particles: Set<String> = [
        "de", "da", "di", "del", "della", "der", "den", "van", "von", "la", "le", "du", "dos", "das", "bin", "binti",
        "ibn", "al", "el", "ter", "ten", "y", "zu", "st.", "d'", "e",
    ]
    static let suffixes: Set<String> = ["jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d."]

    /// Splits a byline's names: `A, B and C`, `A & B`, `A; B`. Roles and outlets are dropped
    /// (`Jane Doe, Staff Writer` → `Jane Doe`; `Xinhua writer Li Ming` → `Li Ming`), as is a
    /// place (`Jane Doe in Beijing` → `Jane Doe`). Returns `nil` when a piece does not look
    /// like a name (`By the end of the year…`), and `[]` when the byline names only an outlet or
    /// a role (`By Global Times Staff Reporter`).
    static func names(_ text: String, requireCapitals: Bool) -> [String]? {
        var s = text.trimmed
        while let last = s.unicodeScalars.last, ".,;:".unicodeScalars.contains(last), !s.lowercased().hasSuffix("jr."),
              !s.lowercased().hasSuffix("sr.") {
            s = String(s.unicodeScalars.dropLast())
        }
        guard !s.isEmpty, s.scalarCount <= 200 else { return nil }
        // An agency in parentheses after the names: `Par Jean Dupont (AFP)`.
        while s.hasSuffix(")") || s.hasSuffix("）"), let open = s.lastIndex(where: { $0 == "(" || $0 == "（" }),
              s[open...].scalarCount <= 30 {
            s = String(s[..<open]).trimmed
        }
        // `with` joins a co-author or an agency (`By A with B`, `By A with the Associated Press`:
        // the agency is dropped below as an outlet); every language's `and` joins names.
        // (Byte replacement: Foundation's `replacingOccurrences` for each of the languages'
        // joiners took 7 % of the source's time.)
        for joiner in nameJoiners {
            s = s.replacingBytes(joiner, with: ", ")
        }
        // Chinese names separated by spaces: `张三 李四`, after a role (`记者`) or before `摄`.
        if s.hasCJK {
            // `李小華／綜合報導`, `王小明/台北報導`: what follows the slash is a place or a role.
            if let slash = s.firstIndex(where: { $0 == "／" || $0 == "/" }) { s = String(s[..<slash]).trimmed }
            var words = s.split(whereSeparator: { $0 == " " || $0 == "," || $0 == ";" }).map(String.init)
            if let first = words.first, let role = rolePrefixes.first(where: { first.hasPrefix($0) }) {
                words[0] = String(first.dropFirst(role.count))
                if words[0].isEmpty { words.removeFirst() }
            }
            while let last = words.last, roleSuffixes.contains(last) { words.removeLast() }
            if let last = words.last, let mark = roleSuffixes.first(where: { last.hasSuffix($0) && last.count > $0.count }) {
                words[words.count - 1] = String(last.dropLast(mark.count))
            }
            guard !words.isEmpty, words.allSatisfy({ w in
                w.hasCJK && (w.count <= 4 || (w.contains("·") && w.count <= 12))
                    && w.unicodeScalars.allSatisfy { $0.isCJK || $0 == "·" || $0 == "•" }
            }) else { return nil }
            var unique: [String] = []
            for w in words where !unique.contains(w) { unique.append(w) }
            return unique
        }
        var result: [String] = []
        var sawPiece = false
        for rawPiece in s.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            var piece = rawPiece.trimmed
            if piece.lowercased().hasPrefix("and ") { piece = String(piece.dropFirst(4)).trimmed }
            guard !piece.isEmpty else { continue }
            sawPiece = true
            if suffixes.contains(piece.lowercased()), let last = result.popLast() {
                result.append(last + " " + piece)
                continue
            }
            for place in placeWords {
                if let r = piece.asciiRange(of: place) { piece = piece.bytes(0..<r.lowerBound).trimmed }
            }
            var words = piece.split(separator: " ").map(String.init)
            if let r = words.lastIndex(where: { w in
                let key = w.lowercased().trimmingPunctuation
                return roleWords.contains(key) || (key.containsASCII(".com") && key.contains(".com"))
            }) {
                words = Array(words[(r + 1)...])
                if words.isEmpty { continue }
            }
            guard (1...6).contains(words.count), words.allSatisfy({ isNameWord($0, requireCapitals: requireCapitals) })
            else { return nil }
            let name = words.joined(separator: " ")
            if !result.contains(name) { result.append(name) }
        }
        return sawPiece ? result : nil
    }

    private static func isNameWord(_ w: String, requireCapitals: Bool) -> Bool {
        guard let first = w.unicodeScalars.first, w.scalarCount <= 30 else { return false }
        if w.unicodeScalars.contains(where: { ("0"..."9").contains($0) || "@/:()[]\"“”".unicodeScalars.contains($0) }) {
            return false
        }
        if first.properties.isUppercase { return true }
        if !first.properties.isAlphabetic { return false }
        if !first.properties.isLowercase { return true }  // scripts without case (Chinese, Arabic…)
        if particles.contains(w.lowercased()) { return true }
        // al-Assad, d'Alembert
        if let dash = w.firstIndex(where: { $0 == "-" || $0 == "'" || $0 == "’" }),
           let next = w[w.index(after: dash)...].unicodeScalars.first, next.properties.isUppercase {
            return true
        }
        return !requireCapitals
    }

    // MARK: Captions

    static let creditLabels = ArticleVocabulary.merged(\.creditLabels)
    static let creditLabelBytes = creditLabels.map { Array($0.utf8) }
    /// Which bytes start a credit label (a table: this test runs on every byte of the body).
    static let labelInitials: [Bool] = (0..<256).map { b in creditLabels.contains { $0.utf8.first == UInt8(b) } }
    /// ``creditLabelBytes`` by their first byte.
    static let creditLabelsByInitial: [[[UInt8]]] = (0..<256).map { b in creditLabelBytes.filter { $0.first == UInt8(b) } }
    static let agencies = ArticleVocabulary.merged(\.agencies)
    /// The agencies of every table as written, longest first (`新华社` at a dateline's start).
    static let agencyNames = agencies.sorted { $0.unicodeScalars.count > $1.unicodeScalars.count }

    /// A photo caption: `TEXT Photo: CREDIT`, `TEXT (Photo: CREDIT)`, `TEXT (Photo by CREDIT)`,
    /// `TEXT Photograph: CREDIT` (The Guardian), `TEXT (AP Photo/NAME)`, `TEXT (Xinhua/NAME)`,
    /// `TEXT Credit: CREDIT`, or a bare `Photo: CREDIT` line.
    func caption(_ text: String) -> ArticleCaption? {
        // At most 1,000 bytes are at most 1,000 scalars: only longer lines are counted (the count
        // was 2 % of the source's samples, on every body paragraph).
        guard text.utf8.count <= 1000 || text.scalarCount <= 1000 else { return nil }
        if let first = text.utf8.first, first >= 0xE3, let c = Self.cjkCaption(text) { return c }
        // A trailing parenthesis.
        if text.hasSuffix(")"), let open = text.lastIndex(of: "(") {
            let inner = String(text[text.index(after: open)..<text.index(before: text.endIndex)]).trimmed
            let before = String(text[..<open]).trimmed
            if let credit = Self.parenthesizedCredit(inner), before.isEmpty || Self.captionTextEnds(before) {
                return ArticleCaption(text: before.isEmpty ? nil : before, credit: credit)
            }
        }
        // A label: the last one in the line, at its start or after the end of a sentence.
        var best: Range<Int>?
        text.withBytes { b in
            // Only word starts are tried, found by skipping to each space, and only the labels
            // with that first byte (every byte against every label was 3.5 % of the source's
            // samples, on every body paragraph; a byte loop to the next space 7 %; 8 bytes at a
            // time 2 %).
            let n = b.count
            var i = 0
            while i < n {
                defer { i = nextSpace(b, from: i) + 1 }
                guard Self.labelInitials[Int(b[i])] else { continue }
                for label in Self.creditLabelsByInitial[Int(b[i])] where i + label.count <= n {
                    var j = 1
                    while j < label.count, b[i + j] == label[j] { j += 1 }
                    if j == label.count, i == 0 || Self.sentenceBoundary(b, before: i) {
                        if best == nil || i > best!.lowerBound || (i == best!.lowerBound && i + j > best!.upperBound) {
                            best = i..<(i + j)
                        }
                    }
                }
            }
        }
        guard let range = best else { return nil }
        var credit = text.bytes(from: range.upperBound).trimmed
        while credit.hasSuffix(".") && !credit.hasSuffix("Jr.") { credit = String(credit.dropLast()).trimmed }
        guard !credit.isEmpty, credit.scalarCount <= 100, credit.wordCount <= 12,
              !(credit.containsASCII(". ") && credit.contains(". ")), credit.hasLetter else { return nil }
        let before = text.bytes(0..<range.lowerBound).trimmed
        return ArticleCaption(text: before.isEmpty ? nil : before, credit: credit)
    }

    static let parenthesizedCreditLabels = ArticleVocabulary.merged(\.parenthesizedCreditLabels)
    static let captionStarts = ArticleVocabulary.merged(\.captionStarts)
    static let photographerMarks = ArticleVocabulary.merged(\.photographerMarks)

    /// A Chinese caption: `图为…。新华社记者 张三 摄`, `…（记者 张三 摄）`, a bare `（记者 张三 摄）`,
    /// or `图为…` with no credit. Captions that end in a photographer's mark give the credit as
    /// written before the mark.
    static func cjkCaption(_ text: String) -> ArticleCaption? {
        let scalars = Array(text.unicodeScalars)
        func string(_ r: Range<Int>) -> String { String(String.UnicodeScalarView(scalars[r])).trimmed }
        func creditBeforeMark(_ s: String) -> String? {
            guard let mark = photographerMarks.first(where: { s.hasSuffix($0) }) else { return nil }
            let credit = String(s.dropLast(mark.count)).trimmed
            guard !credit.isEmpty, credit.scalarCount <= 30, !credit.contains("，"), !credit.contains(",") else { return nil }
            return credit
        }
        // `…（记者 张三 摄）`
        if let last = scalars.last, last == "）" || last == ")",
           let open = scalars.lastIndex(where: { $0 == "（" || $0 == "(" }),
           let credit = creditBeforeMark(string((open + 1)..<(scalars.count - 1))) {
            let before = string(0..<open)
            return ArticleCaption(text: before.isEmpty ? nil : before, credit: credit)
        }
        // `图为…。新华社记者 张三 摄`
        if let end = scalars.lastIndex(where: { "。！？”".unicodeScalars.contains($0) }), end + 1 < scalars.count,
           let credit = creditBeforeMark(string((end + 1)..<scalars.count)) {
            return ArticleCaption(text: string(0..<(end + 1)), credit: credit)
        }
        if captionStarts.contains(where: { text.hasPrefix($0) }), text.scalarCount <= 300 {
            return ArticleCaption(text: text, credit: nil)
        }
        return nil
    }

    /// The credit inside a caption's closing parenthesis, if it is one.
    static func parenthesizedCredit(_ inner: String) -> String? {
        let lower = inner.lowercased()
        for label in parenthesizedCreditLabels where lower.hasPrefix(label) {
            let credit = String(inner.dropFirst(label.count)).trimmed
            return credit.isEmpty || credit.scalarCount > 100 ? nil : credit
        }
        // (Photo AFP), (photo Reuters / Jean Dupont)
        if lower.hasPrefix("photo "), let agency = lower.dropFirst(6).split(separator: "/").first,
           agencies.contains(agency.trimmed) {
            return String(inner.dropFirst(6)).trimmed
        }
        // (AP Photo/Name), (Xinhua/Name), (Getty Images)
        if let slash = inner.firstIndex(of: "/") {
            let agency = inner[..<slash].trimmed.lowercased()
            if (agency.hasSuffix(" photo") || agency.hasSuffix(" photos") || agencies.contains(agency)),
               inner.scalarCount <= 80 {
                return inner
            }
        }
        if agencies.contains(lower) || lower.hasSuffix("/getty images") { return inner }
        return nil
    }

    /// Whether a caption's words end where a credit may follow.
    private static func captionTextEnds(_ text: String) -> Bool {
        text.endsLikeSentence || text.unicodeScalars.last.map { "”\"'’".unicodeScalars.contains($0) } ?? false
            || text.hasSuffix(":")
    }

    /// Whether the text just before byte offset `offset` ends a sentence (`. `, `? `, `) `, `| `).
    private static func sentenceBoundary(_ u: UnsafeBufferPointer<UInt8>, before offset: Int) -> Bool {
        guard offset >= 1, u[offset - 1] == 0x20 else { return false }
        var k = offset - 2
        while k >= 0, u[k] == 0x20 { k -= 1 }
        guard k >= 0 else { return true }
        // ASCII sentence ends and closing marks…
        if ".!?)|:]\"'".utf8.contains(u[k]) { return true }
        // …or ”, ’, 。, … (E2 80 9D, E2 80 99, E3 80 82, E2 80 A6).
        guard k >= 2 else { return false }
        let (a, b, c) = (u[k - 2], u[k - 1], u[k])
        return (a == 0xE2 && b == 0x80 && (c == 0x9D || c == 0x99 || c == 0xA6)) || (a == 0xE3 && b == 0x80 && c == 0x82)
    }

    // MARK: Lists

    /// `a, b; c | #d` → `[a, b, c, d]`, without repeats.
    static func tagList(_ value: String) -> [String] {
        var result: [String] = []
        // In ASCII every character is one byte: split on the bytes (the split on `Character`s, with
        // a string search per character, was 41 % of the time of labelled lines).
        let ascii = value.utf8.allSatisfy { $0 < 0x80 }
        let pieces = ascii ? value.utf8.split(whereSeparator: { $0 == 0x2C || $0 == 0x3B || $0 == 0x7C }).map { Substring($0) }
            : value.split(whereSeparator: { ",;|·•，；、".contains($0) })
        for piece in pieces {
            var tag = piece.trimmed
            while tag.hasPrefix("#") { tag = String(tag.dropFirst()) }
            tag = tag.collapsedSpaces
            if !tag.isEmpty && !result.contains(tag) { result.append(tag) }
        }
        return result
    }

    /// The titles on a `Related:` line; several are separated by ` | `.
    static func relatedList(_ value: String) -> [String] {
        value.splitSpaced(SpacedSeparators.bar).map(relatedTitle).filter { !$0.isEmpty }
    }

    /// A related item's title without quotes around it.
    static func relatedTitle(_ text: String) -> String {
        var t = text.trimmed
        for (open, close) in [("\"", "\""), ("“", "”"), ("'", "'"), ("‘", "’")]
        where t.hasPrefix(open) && t.hasSuffix(close) && t.count > 2 {
            t = String(t.dropFirst().dropLast())
        }
        return t.collapsedSpaces
    }

    // MARK: Trailer lines

    /// The facts on a line at the end of the article, or `nil` when it is body text.
    /// `item` is set for a short line that may be a title under a `Related` heading.
    func trailer(_ line: ArticleLine) -> (facts: [LineFact], item: Bool)? {
        if line.separator { return ([.nothing], false) }
        if line.image { return ([caption(line.text).map { .caption($0) } ?? .nothing], false) }
        let text = line.text.withoutWrappingBrackets
        if let c = caption(line.text) { return ([.caption(c)], false) }
        if text.utf8.count <= 40 {
            let lower = text.lowercased()
            if Self.relatedLabels.contains(lower) || Self.relatedLabels.contains(lower.trimmingPunctuation) {
                return ([.relatedHeading], false)
            }
        }
        let lower = String(text.unicodeScalars.prefix(12)).lowercased()
        if text.hasPrefix("©") || lower.hasPrefix("copyright ") || lower.hasPrefix("(c) ") {
            let value = text.hasPrefix("©") ? String(text.dropFirst()) : String(text.dropFirst(lower.hasPrefix("(c) ") ? 4 : 10))
            return ([.meta("Copyright", value.trimmed.hasPrefix("©") ? String(value.trimmed.dropFirst()).trimmed : value.trimmed)], false)
        }
        if let credits = Self.creditLine(text) { return (credits, false) }
        // Several `Key: value` pairs on one line: `Source: Xinhua | Editor: Li Yan`.
        let parts = text.splitSpaced(SpacedSeparators.bar)
        var facts: [LineFact] = []
        for part in parts {
            guard let f = trailerPair(part) else { facts = []; break }
            facts += f
        }
        if !facts.isEmpty { return (facts, false) }
        if line.bullet || (text.scalarCountIsAtMost(150) && !text.hasSuffix(".") && text.hasLetter) {
            return ([.related([Self.relatedTitle(text)])], true)
        }
        return nil
    }

    /// Keys that mark a trailer line whatever their value looks like.
    static let trailerKeys = ArticleVocabulary.merged(\.trailerKeys)

    static let creditRoles: Set<String> = [
        "reporting", "additional reporting", "editing", "edited", "writing", "compiled", "compiling", "graphics", "research",
        "photos", "photography", "video", "design", "illustrations",
        "fact-checking", "production", "produced", "translation", "translated",
    ]

    /// A wire-service credit line: `(Reporting by A and B; Editing by C)` →
    /// `meta["Reporting"] = "A and B"`, `meta["Editing"] = "C"`.
    static func creditLine(_ text: String) -> [LineFact]? {
        // Every part needs its ` by `: a line without one is no credit line, decided without
        // splitting it into `Character`s (3.7 % of the source's samples went here, nearly all on
        // body paragraphs tried as trailer lines).
        guard text.asciiRange(of: " by ", caseInsensitive: true) != nil else { return nil }
        var facts: [LineFact] = []
        // ASCII text splits on its bytes as on its characters (the `Character` split was most of
        // the time of body paragraphs with a ` by ` tried as trailer lines).
        let parts: [Substring] = text.utf8.allSatisfy({ $0 < 0x80 })
            ? text.utf8.split(separator: 0x3B).map { Substring($0) } : text.split(separator: ";")
        for part in parts {
            let p = part.trimmed
            guard let by = p.asciiRange(of: " by ", caseInsensitive: true) else { return nil }
            let role = p.bytes(0..<by.lowerBound).trimmed
            let names = p.bytes(from: by.upperBound).trimmed
            guard creditRoles.contains(role.lowercased()), !names.isEmpty, names.scalarCount <= 120 else { return nil }
            facts.append(.meta(creditKey(role), cleanCredit(names)))
        }
        return facts.isEmpty ? nil : facts
    }

    /// A credit's key, one spelling wherever it was found: `ADDITIONAL REPORTING`, `additional
    /// reporting` → `Additional reporting`.
    static func creditKey(_ role: String) -> String {
        let lower = role.trimmed.lowercased()
        return lower.prefix(1).uppercased() + lower.dropFirst()
    }

    /// Credited names as written, without a trailing `.`/`)` or a closing place (`Ann Lee in
    /// Beijing` → `Ann Lee`).
    static func cleanCredit(_ text: String) -> String {
        var t = text.trimmed
        while let last = t.last, ".)".contains(last) { t.removeLast() }
        if let r = t.range(of: " in ", options: [.backwards, .caseInsensitive]), !t[r.upperBound...].lowercased().contains(" and "),
           t[r.upperBound...].first?.isUppercase ?? false {
            t = String(t[..<r.lowerBound])
        }
        return t.trimmed
    }

    /// A byline with credits after its names: `A; Additional reporting by B`, `A. Edited by B`,
    /// `A, edited by B`, `A with additional reporting by B`, `A (additional reporting by B)`.
    /// Returns the names part and the credits, or nil when there is no such credit.
    static func splitCredits(_ text: String) -> (names: String, credits: [LineFact])? {
        let lower = text.lowercased()
        guard lower.containsASCII(" by ") else { return nil }
        var best: (cut: Int, creditStart: Int)?
        for separator in ["; ", ". ", ", ", " (", " with "] {
            var from = 0
            while let r = lower.asciiRange(of: separator, from: from) {
                from = r.upperBound
                var tail = lower.bytes(from: r.upperBound)
                if tail.hasPrefix("with ") { tail = String(tail.dropFirst(5)) }
                guard let by = tail.asciiRange(of: " by ") else { continue }
                guard creditRoles.contains(tail.bytes(0..<by.lowerBound).trimmed) else { continue }
                if best == nil || r.lowerBound < best!.cut { best = (r.lowerBound, r.upperBound) }
                break
            }
        }
        guard let best, lower.utf8.count == text.utf8.count else { return nil }
        let names = text.bytes(0..<best.cut).trimmed
        var credit = text.bytes(from: best.creditStart).trimmed
        if credit.lowercased().hasPrefix("with ") { credit = String(credit.dropFirst(5)) }
        guard !names.isEmpty, let credits = creditLine(credit.replacingOccurrences(of: ", and ", with: "; ")) else { return nil }
        return (names, credits)
    }

    private func trailerPair(_ text: String) -> [LineFact]? {
        if let facts = labeled(text, inHeader: false) {
            // A second date is kept as text in `meta` by the caller; authors only if plain names.
            return facts
        }
        guard let (key, value) = text.keyValue(maxWords: 3, maxKeyLength: 30), !value.isEmpty,
              value.scalarCount <= 120 else { return nil }
        // Unknown keys: Title Case words only, so that `He said: "…"` stays in the body.
        guard key.split(separator: " ").allSatisfy({ $0.unicodeScalars.first?.properties.isUppercase ?? false }) else {
            return nil
        }
        // A known trailer key takes any short value. Any other key takes only a label-like
        // value: short, and not a sentence — so an interview's closing `Q: …?` / `A: ….` lines,
        // `Update: The company said …` or `Smith: We will keep fighting.` stay in the body.
        if !Self.trailerKeys.contains(key.lowercased()) {
            let words = value.split(separator: " ")
            // A final `.` makes a sentence unless it closes an abbreviation (`Acme Inc.`).
            let lastWord = words.last.map(String.init) ?? ""
            let abbreviation = lastWord.hasSuffix(".") && lastWord.count <= 4 && (lastWord.first?.isUppercase ?? false)
            let sentence = value.hasSuffix("?") || value.hasSuffix("!") || value.hasSuffix("…")
                || (value.hasSuffix(".") && !abbreviation)
            // One-letter keys are speakers in an interview (`Q:`, `A:`), not labels.
            guard key.count > 1, value.scalarCount <= 60, words.count <= 8, !sentence else { return nil }
        }
        return [.meta(key, value)]
    }
}

