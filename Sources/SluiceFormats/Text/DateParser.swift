import Foundation
import SluiceCore

/// A time zone as users write it: a fixed offset (`+08:00`, `UTC`, `EST`, `Beijing time`) or a
/// named zone whose offset depends on the date (`Asia/Shanghai`, `America/New_York`, `ET`).
public struct TimeZoneSpec: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case fixed(Int)
        case named(TimeZone)
    }

    let kind: Kind

    /// A fixed offset, in seconds east of UTC.
    public init(secondsFromUTC: Int) { kind = .fixed(secondsFromUTC) }

    /// Parses a zone: an offset (`+08:00`, `+0800`, `+8`, `-05:30`), `Z`, `UTC`/`GMT` with or
    /// without an offset (`UTC+8`, `GMT-05:00`), a common abbreviation (`EST`, `CEST`, `JST`…;
    /// see ``DateParser`` for the table), a city's time (`Beijing time`), or an IANA zone name
    /// (`Asia/Shanghai`). Returns `nil` for anything else.
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if let zone = TimeZone(identifier: trimmed), trimmed.contains("/") {
            kind = .named(zone)
            return
        }
        // Abbreviations are matched in capitals inside text; an option may be written in any case.
        let tokens = DateTokenizer.tokens(trimmed.uppercased())
        var i = 0
        if let (spec, end) = DateParser.zone(tokens, &i, allowZ: true), end == tokens.count {
            self = spec
            return
        }
        if let zone = TimeZone(identifier: trimmed) {
            kind = .named(zone)
            return
        }
        return nil
    }

    /// The offset from UTC, in seconds, that applies at a local date and time.
    public func secondsFromUTC(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int {
        switch kind {
        case .fixed(let seconds): return seconds
        case .named(let zone):
            let local = DateParser.epochSeconds(year: year, month: month, day: day) + hour * 3600 + minute * 60 + second
            let guess = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(local)))
            return zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(local - guess)))
        }
    }

    /// `+08:00`, or the zone's identifier.
    public var description: String {
        switch kind {
        case .fixed(let seconds): return CivilCalendar.offsetText(seconds)
        case .named(let zone): return zone.identifier
        }
    }
}

/// A day of the proleptic Gregorian calendar, without a time: what relative dates are read
/// against.
public struct CivilDay: Sendable, Hashable {
    /// The year.
    public var year: Int
    /// The month, 1–12.
    public var month: Int
    /// The day of the month.
    public var day: Int

    /// Creates a day; `nil` when the month or day does not exist.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= CivilCalendar.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init?(iso text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        self.init(year: y, month: m, day: d)
    }
}

/// A date found in text.
public struct ParsedDate: Sendable, Hashable {
    /// The year (four digits).
    public var year: Int
    /// The month, 1–12.
    public var month: Int
    /// The day of the month.
    public var day: Int
    /// The hour (0–23), when the text gives a time.
    public var hour: Int?
    /// The minute, when the text gives a time.
    public var minute: Int?
    /// The second, when the text gives a time (0 when it gives only hours and minutes).
    public var second: Int?
    /// The digits of a fraction of a second, as written (`"123"` for `10:20:30.123`).
    public var fraction: String?
    /// The offset from UTC in seconds, when the text gives a zone or the parser has a default
    /// zone; always `nil` for a date without a time.
    public var offset: Int?
    /// The date as written in the text (`Thursday, Nov 20, 2025 10:10 PM`).
    public var text: String
    /// Where ``text`` is in the parsed string.
    public var range: Range<String.Index>
    /// Whether the date was written relative to a day the text does not give — a relative day
    /// (`yesterday`, `вчера`, `昨天`) or a date without a year (`20 ноября`, `11月20日`) — and
    /// was read against ``DateParser/reference`` (or, with ``DateParser/acceptsRelative`` and no
    /// reference, against a placeholder day: re-parse ``text`` once the reference is known).
    public var isRelative = false

    /// Whether the text gave a time of day.
    public var hasTime: Bool { hour != nil }

    /// ISO 8601: `2025-11-20`; `2025-11-20T22:10:00` for a time in no known zone;
    /// `2025-11-20T22:10:00+08:00` (or `…Z` for UTC) with an offset.
    public var iso: String {
        var s = CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(month, 2) + "-" + CivilCalendar.pad(day, 2)
        guard let hour else { return s }
        s += "T" + CivilCalendar.pad(hour, 2) + ":" + CivilCalendar.pad(minute ?? 0, 2) + ":" + CivilCalendar.pad(second ?? 0, 2)
        if let fraction { s += "." + fraction }
        if let offset { s += CivilCalendar.offsetText(offset) }
        return s
    }

    /// The instant, when both the time and the offset are known.
    public var date: Date? {
        guard let hour, let offset else { return nil }
        let seconds = DateParser.epochSeconds(year: year, month: month, day: day) + hour * 3600 + (minute ?? 0) * 60
            + (second ?? 0) - offset
        let fractionValue = fraction.flatMap { Double("0." + $0) } ?? 0
        return Date(timeIntervalSince1970: TimeInterval(seconds) + fractionValue)
    }
}

/// Finds the first date (and time) in free text and gives it as ISO 8601.
///
/// Dates: `Nov 20, 2025`, `Nov. 2, 2025`, `November 20th, 2025`, `20 November 2025`,
/// `20 Nov. 2025`, `2025-07-15`, `2025/07/15`, `11/20/2025` (month first unless the first number
/// is over 12), `20.11.2025` and `20-11-2025` (day first unless the second number is over 12),
/// `2025年11月20日`, and full ISO 8601 (`2025-07-15T10:20:30.123+08:00`). A weekday may come
/// first (`Thursday, Nov 20, 2025`, `Thu 20 Nov 2025`). A year is required: `Nov. 2` alone is
/// not a date. The words of other languages come from ``DateVocabulary/builtIn`` (Chinese,
/// Russian, French, German, Spanish): `20 ноября 2025 г.`, `le 1er décembre 2025 à 22 h 10`,
/// `Donnerstag, 20. November 2025, 22:10 Uhr`, `5 de febrero de 2025 a las 22:10`,
/// `2025年11月20日22时10分`, and zones such as `北京时间` (also before the date), `МСК`, `MEZ`,
/// `heure de Paris`, `hora peninsular`. With ``dayFirst`` set, `05/02/2025` is 5 February.
///
/// Times, after the date (`Nov 20, 2025 10:10 PM`, `…, 10:10 p.m.`, `… at 4pm`, `… | 22:10`) or
/// before it (`2:15 PM EST, Fri November 21, 2025`): `10:10 PM`, `10:10pm`, `10 a.m.`, `22:10`,
/// `22:10:05`, `14.30 GMT` (a dotted time needs a zone or am/pm).
///
/// Zones after a time (abbreviations only in capitals, so that words such as "est" or "cat"
/// are not zones): `Z`, `+08:00`, `+0800`, `+8`, `UTC`/`GMT` (also `UTC+8`, `GMT-05:00`);
/// `ET`/`CT`/`MT`/`PT` and `Eastern`/`Central`/`Mountain`/`Pacific` [`Standard`/`Daylight`]
/// `Time` (US zones with their daylight-saving rules); fixed abbreviations `EST` −5, `EDT` −4,
/// `CST` −6 (US Central; China's time is written `Beijing time` or `BJT`), `CDT` −5, `MST` −7,
/// `MDT` −6, `PST` −8, `PDT` −7, `AKST` −9, `AKDT` −8, `HST` −10, `AST` −4, `ADT` −3,
/// `NST` −3:30, `WET` 0, `WEST`/`BST`/`CET`/`WAT` +1, `CEST`/`EET`/`SAST`/`CAT` +2,
/// `EEST`/`MSK`/`EAT` +3, `GST` +4, `PKT` +5, `IST` +5:30 (India), `ICT`/`WIB` +7,
/// `BJT`/`HKT`/`SGT`/`PHT`/`AWST` +8, `JST`/`KST` +9, `ACST` +9:30, `AEST` +10, `AEDT` +11,
/// `NZST` +12, `NZDT` +13; and `Beijing`/`Shanghai`/`Hong Kong`/`Taipei`/`Singapore` (+8),
/// `Tokyo`/`Seoul` (+9), `Moscow` (+3) followed by `time`. A zone may be in parentheses.
public struct DateParser: Sendable {
    /// The zone for times the text gives without one (`nil`: such times stay without offset).
    public var defaultTimeZone: TimeZoneSpec?
    /// Whether an all-number date with slashes is read day first (`05/02/2025` = 5 February),
    /// as everywhere but in the United States. Default `false` (month first); a number over 12
    /// decides either way.
    public var dayFirst: Bool
    /// The day relative dates are read against: `yesterday` is the day before it, and a date
    /// without a year (`Nov. 2`, `20 ноября`, `11月20日`) takes the year that puts it nearest to
    /// it. `nil` (the default): such dates are not dates, unless ``acceptsRelative`` is set.
    public var reference: CivilDay?
    /// With no ``reference``, whether relative and year-less dates are still found (against a
    /// placeholder day, with ``ParsedDate/isRelative`` set) so that a caller can recognise them
    /// now and resolve them when it learns the reference. Default `false`.
    public var acceptsRelative: Bool

    /// Creates a parser.
    public init(defaultTimeZone: TimeZoneSpec? = nil, dayFirst: Bool = false, reference: CivilDay? = nil,
                acceptsRelative: Bool = false) {
        self.defaultTimeZone = defaultTimeZone
        self.dayFirst = dayFirst
        self.reference = reference
        self.acceptsRelative = acceptsRelative
    }

    private static let placeholder = CivilDay(year: 2000, month: 6, day: 15)

    /// The day relative dates are read against, or the placeholder when only recognising them.
    var effectiveReference: CivilDay? {
        reference ?? (acceptsRelative ? Self.placeholder : nil)
    }

    /// The first date in `text`, or `nil` when there is none. A zone named before the date
    /// (`北京时间2025年11月20日22时10分`) applies to its time.
    public func parse(_ text: String) -> ParsedDate? {
        let reference = effectiveReference
        // Most lines an article parser asks about hold no date: one pass over the bytes says so
        // before any token is made.
        guard Self.mayHoldDate(text, relative: reference != nil) else { return nil }
        let tokens = DateTokenizer.tokens(text)
        var i = 0
        let starts = DateVocabulary.all.startWords
        while i < tokens.count {
            // A word can open a date only when a table holds it (see ``DateVocabulary/Merged/startWords``):
            // a title ending in a number was tried at every word, 7 % of the text_articles source's
            // samples went to `match` and `phraseZone` on words that cannot start one.
            if tokens[i].kind == .number || (tokens[i].kind == .word && starts.contains(tokens[i].lower)) {
                // A zone phrase first: `北京时间 2025年…`, `Moscow time 20 ноября…`.
                var z = i
                if let (spec, end) = Self.phraseZone(tokens, z), end < tokens.count {
                    z = end
                    if let found = Self.match(tokens, at: z, dayFirst: dayFirst, reference: reference),
                       var time = found.time {
                        if time.zone == nil { time.zone = spec }
                        var m = found
                        m.time = time
                        m.start = i
                        return finish(m, tokens: tokens, text: text)
                    }
                }
                if let found = Self.match(tokens, at: i, dayFirst: dayFirst, reference: reference) {
                    return finish(found, tokens: tokens, text: text)
                }
            }
            i += 1
        }
        return nil
    }

    /// Whether `text` can hold a date: it has a digit (ASCII or full-width), CJK characters
    /// (Chinese numerals, `昨天`), or — when relative days are read — a word starting like one
    /// of the tables' relative days (`yes…`, `вче…`). `false` means certainly no date.
    static func mayHoldDate(_ text: String, relative: Bool) -> Bool {
        var copy = text
        return copy.withUTF8 { b in
            let n = b.count
            var i = 0
            var wordStart = true
            while i < n {
                let c = b[i]
                if c >= 0x30 && c <= 0x39 { return true }
                if c >= 0xE3 && c <= 0xEF { return true }
                let letter = c >= 0x80 || (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A
                if letter && wordStart && relative && relativeStarts.contains(wordKey(b, i)) { return true }
                wordStart = !letter
                i += 1
                while i < n, b[i] & 0xC0 == 0x80 { i += 1 }  // the rest of a multi-byte letter
            }
            return false
        }
    }

    /// The first three letters of a word at byte `i`, lower-cased (ASCII and Cyrillic), packed.
    private static func wordKey(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> UInt64 {
        var key: UInt64 = 0
        var i = start
        for _ in 0..<3 {
            guard i < b.count else { break }
            var v: UInt32
            let c = b[i]
            if c < 0x80 {
                v = UInt32(c)
                if v >= 0x41 && v <= 0x5A { v += 0x20 }
                i += 1
            } else if c >= 0xC0 && c < 0xE0 && i + 1 < b.count {
                v = UInt32(c & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F)
                if v >= 0x410 && v <= 0x42F { v += 0x20 } else if v == 0x401 { v = 0x451 }
                i += 2
            } else {
                break
            }
            key = key << 21 | UInt64(v)
        }
        return key
    }

    private static func wordKey(_ word: String) -> UInt64 {
        var copy = word
        return copy.withUTF8 { wordKey($0, 0) }
    }

    /// ``wordKey(_:_:)`` of every relative day of the tables.
    private static let relativeStarts: Set<UInt64> = Set(DateVocabulary.builtIn.flatMap { v in
        v.relativeDays.keys.map { wordKey($0.lowercased()) }
    })

    // MARK: - Matching

    struct Day {
        var year: Int
        var month: Int
        var day: Int
        var relative = false
    }
    struct Time {
        var hour: Int
        var minute: Int
        var second: Int
        var fraction: String?
        var zone: TimeZoneSpec?
    }
    struct Match {
        var day: Day
        var time: Time?
        var start: Int
        var end: Int  // exclusive token index
    }

    private func finish(_ m: Match, tokens: [DateToken], text: String) -> ParsedDate {
        let range = tokens[m.start].range.lowerBound..<tokens[m.end - 1].range.upperBound
        var result = ParsedDate(year: m.day.year, month: m.day.month, day: m.day.day, text: String(text[range]),
                                range: range)
        result.isRelative = m.day.relative
        if let t = m.time {
            result.hour = t.hour
            result.minute = t.minute
            result.second = t.second
            result.fraction = t.fraction
            if let zone = t.zone ?? defaultTimeZone {
                result.offset = zone.secondsFromUTC(year: m.day.year, month: m.day.month, day: m.day.day,
                                                    hour: t.hour, minute: t.minute, second: t.second)
            }
        }
        return result
    }

    static func match(_ t: [DateToken], at start: Int, dayFirst: Bool = false, reference: CivilDay? = nil) -> Match? {
        // A time first: `2:15 PM EST, Fri November 21, 2025`.
        var i = start
        if let time = time(t, &i) {
            var j = i
            skipConnectors(t, &j, words: ["on"])
            _ = weekday(t, &j)
            if let day = dateCore(t, &j, dayFirst: dayFirst, reference: reference) {
                return Match(day: day, time: time, start: start, end: j)
            }
        }
        // A date, maybe after a weekday, maybe followed by a time.
        i = start
        _ = weekday(t, &i)
        let isoStart = i
        guard let day = dateCore(t, &i, dayFirst: dayFirst, reference: reference) else { return nil }
        var end = i
        var timeFound: Time?
        var j = i
        if j + 1 < t.count, t[isoStart].digits == 4, t[j].isWord("t"), !t[j].spaceBefore, !t[j + 1].spaceBefore {
            j += 1  // ISO 8601 `T`
            if let time = time(t, &j) { timeFound = time; end = j }
        } else {
            skipConnectors(t, &j, words: DateVocabulary.all.timeConnectors)
            if let time = time(t, &j) { timeFound = time; end = j }
        }
        return Match(day: day, time: timeFound, start: start, end: end)
    }

    /// Whether a symbol token is one of the characters of `set` (Foundation's `contains`). An
    /// ASCII symbol is looked up among the set's bytes: Foundation's search for it was 0.7 % of
    /// the text_articles source's samples, and no other character is canonically equivalent to it.
    @inline(__always)
    static func isSymbol(_ text: Substring, in set: String) -> Bool {
        if text.utf8.count == 1, let byte = text.utf8.first, byte < 0x80 { return set.utf8.contains(byte) }
        return set.contains(text)
    }

    /// Skips `,`, `|`, dashes, `@`, `/`, `·`, `•` and the given words between a date and a time.
    private static func skipConnectors(_ t: [DateToken], _ i: inout Int, words: Set<String>) {
        var count = 0
        while i < t.count, count < 4 {
            let tok = t[i]
            if tok.kind == .symbol, isSymbol(tok.text, in: ",|-–—@/·•") {
                i += 1
            } else if tok.kind == .word, words.contains(tok.lower) {
                i += 1
            } else {
                return
            }
            count += 1
        }
    }

    private static func weekday(_ t: [DateToken], _ i: inout Int) -> Bool {
        guard i < t.count, t[i].kind == .word, DateVocabulary.all.weekdays.contains(t[i].lower) else { return false }
        var j = i + 1
        if j < t.count, t[j].isSymbol("."), !t[j].spaceBefore { j += 1 }
        if j < t.count, t[j].isSymbol(",") { j += 1 }
        i = j
        return true
    }

    private static func month(_ t: [DateToken], _ i: inout Int) -> Int? {
        guard i < t.count, t[i].kind == .word, let m = DateVocabulary.all.months[t[i].lower] else { return nil }
        i += 1
        if i < t.count, t[i].isSymbol("."), !t[i].spaceBefore { i += 1 }
        return m
    }

    /// `20th`, `1er`, `1º`, and the German `20.` of `20. November`.
    private static func ordinalSuffix(_ t: [DateToken], _ i: inout Int) {
        guard i < t.count, !t[i].spaceBefore else { return }
        if t[i].kind == .word, DateVocabulary.all.ordinals.contains(t[i].lower) {
            i += 1
        } else if t[i].kind == .symbol, t[i].text == "." || t[i].text == "º" || t[i].text == "°" {
            i += 1
        }
    }

    /// `de` (`5 de febrero de 2025`), `of` (`20th of November`).
    private static func skipDayOf(_ t: [DateToken], _ i: inout Int) {
        if i < t.count, t[i].kind == .word, DateVocabulary.all.dayOfWords.contains(t[i].lower) { i += 1 }
    }

    /// `г.`, `года` after a Russian year.
    private static func yearMarker(_ t: [DateToken], _ i: inout Int) {
        guard i < t.count, t[i].kind == .word, DateVocabulary.all.yearMarkers.contains(t[i].lower) else { return }
        i += 1
        if i < t.count, t[i].isSymbol("."), !t[i].spaceBefore { i += 1 }
    }

    /// The date part, in any accepted order.
    static func dateCore(_ t: [DateToken], _ i: inout Int, dayFirst: Bool = false, reference: CivilDay? = nil) -> Day? {
        guard i < t.count else { return nil }
        let start = i
        if let reference, let day = relativeDay(t, &i, reference: reference) { return day }
        // Year first: 2025-07-15, 2025/07/15, 2025.07.15, 2025年7月15日.
        if t[i].digits == 4, let year = t[i].number {
            if i + 4 < t.count, t[i + 1].kind == .symbol, isSymbol(t[i + 1].text, in: "-/."), t[i + 3].text == t[i + 1].text,
               t[i + 2].digits <= 2, t[i + 4].digits <= 2, let m = t[i + 2].number, let d = t[i + 4].number,
               !t[i + 1].spaceBefore, !t[i + 2].spaceBefore, !t[i + 3].spaceBefore, !t[i + 4].spaceBefore,
               let day = valid(year, m, d) {
                i += 5
                return day
            }
            if i + 5 < t.count, t[i + 1].isWord("年"), t[i + 3].isWord("月"), t[i + 5].isWord("日") || t[i + 5].isWord("号"),
               let m = t[i + 2].number, let d = t[i + 4].number, let day = valid(year, m, d) {
                i += 6
                return day
            }
            return nil
        }
        // Month first: Nov 20, 2025 / Nov. 20th 2025.
        if let m = month(t, &i) {
            guard i < t.count, t[i].digits <= 2, let d = t[i].number else { i = start; return nil }
            i += 1
            ordinalSuffix(t, &i)
            let afterDay = i
            if i < t.count, t[i].isSymbol(",") { i += 1 }
            guard i < t.count, t[i].digits == 4, let y = t[i].number, let day = valid(y, m, d) else {
                // `Nov. 2 (Xinhua)`: the year nearest the reference.
                if let reference, let day = nearest(m, d, reference) {
                    i = afterDay
                    return day
                }
                i = start
                return nil
            }
            i += 1
            return day
        }
        guard t[i].digits <= 2, let first = t[i].number else { return nil }
        // `11月20日` without a year.
        if let reference, i + 3 < t.count, t[i + 1].isWord("月"), t[i + 2].digits <= 2, let d = t[i + 2].number,
           t[i + 3].isWord("日") || t[i + 3].isWord("号") || t[i + 3].isWord("號"), let day = nearest(first, d, reference) {
            i += 4
            return day
        }
        // Day first: 20 November 2025 / 20th of Nov. 2025 / 20. November 2025 / 1er mars 2025 /
        // 5 de febrero de 2025 / 20 ноября 2025 г.
        var j = i + 1
        ordinalSuffix(t, &j)
        skipDayOf(t, &j)
        if let m = month(t, &j) {
            let afterMonth = j
            if j < t.count, t[j].isSymbol(",") { j += 1 }
            skipDayOf(t, &j)
            guard j < t.count, t[j].digits == 4, let y = t[j].number, let day = valid(y, m, first) else {
                // `20 ноября — РИА Новости`, `5 feb (EFE)`: the year nearest the reference.
                if let reference, let day = nearest(m, first, reference) {
                    i = afterMonth
                    return day
                }
                return nil
            }
            i = j + 1
            yearMarker(t, &i)
            return day
        }
        // All numbers: 11/20/2025 (month first), 20.11.2025 and 20-11-2025 (day first).
        if i + 4 < t.count, t[i + 1].kind == .symbol, isSymbol(t[i + 1].text, in: "/.-"), t[i + 3].text == t[i + 1].text,
           t[i + 2].digits <= 2, t[i + 4].digits == 4, let second = t[i + 2].number, let y = t[i + 4].number,
           !t[i + 1].spaceBefore, !t[i + 2].spaceBefore, !t[i + 3].spaceBefore, !t[i + 4].spaceBefore {
            let monthFirst = t[i + 1].text == "/" && !dayFirst ? first <= 12 : second > 12
            let day = monthFirst ? valid(y, first, second) : valid(y, second, first)
            if day != nil {
                i += 5
                yearMarker(t, &i)
            }
            return day
        }
        return nil
    }

    /// A relative day (`yesterday`, `вчера`, `昨天`, `aujourd'hui`) at token `i`, counted from
    /// the reference.
    private static func relativeDay(_ t: [DateToken], _ i: inout Int, reference: CivilDay) -> Day? {
        guard t[i].kind == .word, let (offset, end) = phrase(t, i, DateVocabulary.all.relativeByFirstWord) else {
            return nil
        }
        let days = CivilCalendar.daysSinceEpoch(year: reference.year, month: reference.month, day: reference.day)
        let c = CivilCalendar.civil(fromDays: days + offset)
        i = end
        return Day(year: c.year, month: c.month, day: c.day, relative: true)
    }

    /// A month and day without a year: in the year (the reference's, the one before or after)
    /// that puts it nearest to the reference day.
    private static func nearest(_ m: Int, _ d: Int, _ reference: CivilDay) -> Day? {
        let ref = CivilCalendar.daysSinceEpoch(year: reference.year, month: reference.month, day: reference.day)
        var best: Day?
        var bestDistance = Int.max
        for y in [reference.year, reference.year - 1, reference.year + 1] {
            guard var day = valid(y, m, d) else { continue }
            let distance = abs(CivilCalendar.daysSinceEpoch(year: y, month: m, day: d) - ref)
            if distance < bestDistance {
                day.relative = true
                best = day
                bestDistance = distance
            }
        }
        return best
    }

    /// A phrase of a table (lower-case token texts by their first token) at token `i`, longest
    /// first; returns its value and the token index after it.
    static func phrase<V>(_ t: [DateToken], _ i: Int, _ table: [String: [([String], V)]]) -> (V, Int)? {
        guard i < t.count, let candidates = table[t[i].lower] else { return nil }
        for (words, value) in candidates where i + words.count <= t.count {
            var ok = true
            for (n, w) in words.enumerated() where t[i + n].lower != w {
                ok = false
                break
            }
            if ok { return (value, i + words.count) }
        }
        return nil
    }

    private static func valid(_ y: Int, _ m: Int, _ d: Int) -> Day? {
        guard (1000...9999).contains(y), (1...12).contains(m), d >= 1, d <= CivilCalendar.daysIn(month: m, year: y) else { return nil }
        return Day(year: y, month: m, day: d)
    }

    /// A time of day with an optional am/pm and zone.
    static func time(_ t: [DateToken], _ i: inout Int) -> Time? {
        // A part of the day before the hour: `下午3时20分`, `晚上8点`.
        var h = i
        var period: Bool?
        if h < t.count, t[h].kind == .word, let (pm, end) = phrase(t, h, DateVocabulary.all.periodsByFirstWord) {
            period = pm
            h = end
        }
        guard h < t.count, t[h].digits <= 2, var hour = t[h].number else { return nil }
        var j = h + 1
        var minute = 0, second = 0
        var fraction: String?
        var hasMinutes = false
        var dotted = false
        var marked = false
        if j < t.count, t[j].kind == .word, DateVocabulary.all.hourMarks.contains(t[j].lower) {
            // `22 h 10`, `22h10`, `22 h`, `22时10分`, `22点`.
            marked = true
            j += 1
            if j < t.count, t[j].digits <= 2, let m = t[j].number {
                minute = m
                hasMinutes = true
                j += 1
                if j < t.count, t[j].kind == .word, DateVocabulary.all.minuteMarks.contains(t[j].lower) { j += 1 }
            }
        } else if j + 1 < t.count, t[j].isSymbol(":") || t[j].isSymbol("：") || t[j].isSymbol("."), !t[j].spaceBefore,
                  !t[j + 1].spaceBefore,
           t[j + 1].digits == 2, let m = t[j + 1].number {
            dotted = t[j].text == "."
            minute = m
            hasMinutes = true
            j += 2
            if !dotted, j + 1 < t.count, t[j].isSymbol(":") || t[j].isSymbol("："), !t[j].spaceBefore, !t[j + 1].spaceBefore,
               t[j + 1].digits == 2, let s = t[j + 1].number {
                second = s
                j += 2
                if j + 1 < t.count, t[j].isSymbol(".") || t[j].isSymbol(","), !t[j].spaceBefore, !t[j + 1].spaceBefore,
                   t[j + 1].kind == .number {
                    fraction = String(t[j + 1].text)
                    j += 2
                }
            }
        }
        let meridiem = amPM(t, &j)
        // `22:10 Uhr`, `22.10 h`, `22 Uhr`, `22:10 horas`.
        if meridiem == nil, j < t.count, t[j].kind == .word, DateVocabulary.all.timeSuffixes.contains(t[j].lower) {
            marked = true
            j += 1
        }
        var zoneSpec: TimeZoneSpec?
        var k = j
        if let (spec, end) = zone(t, &k, allowZ: true) {
            zoneSpec = spec
            j = end
        }
        if meridiem == nil && period == nil && !marked && (!hasMinutes || (dotted && zoneSpec == nil)) { return nil }
        if let pm = meridiem {
            guard (0...12).contains(hour) else { return nil }
            if pm && hour < 12 { hour += 12 } else if !pm && hour == 12 { hour = 0 }
        } else if let pm = period, hour <= 12 {
            // `下午3时` is 15:00, `凌晨0时` 00:00; `中午12时` stays noon; `下午15时` is already 24-hour.
            if pm && hour < 12 { hour += 12 }
        }
        guard hour <= 23, minute <= 59, second <= 60 else { return nil }
        i = j
        return Time(hour: hour, minute: minute, second: min(second, 59), fraction: fraction, zone: zoneSpec)
    }

    /// `am`, `pm`, `a.m.`, `p.m.` (any case): `true` for pm.
    private static func amPM(_ t: [DateToken], _ i: inout Int) -> Bool? {
        guard i < t.count, t[i].kind == .word else { return nil }
        switch t[i].lower {
        case "am", "pm":
            let pm = t[i].lower == "pm"
            i += 1
            return pm
        case "a", "p":
            guard i + 2 < t.count, t[i + 1].isSymbol("."), t[i + 2].isWord("m"), !t[i + 1].spaceBefore,
                  !t[i + 2].spaceBefore else { return nil }
            let pm = t[i].lower == "p"
            i += 3
            if i < t.count, t[i].isSymbol("."), !t[i].spaceBefore { i += 1 }
            return pm
        default: return nil
        }
    }

    private static let abbreviations: [String: Int] = [
        "utc": 0, "gmt": 0, "ut": 0, "wet": 0,
        "est": -5 * 3600, "edt": -4 * 3600, "cst": -6 * 3600, "cdt": -5 * 3600, "mst": -7 * 3600, "mdt": -6 * 3600,
        "pst": -8 * 3600, "pdt": -7 * 3600, "akst": -9 * 3600, "akdt": -8 * 3600, "hst": -10 * 3600,
        "ast": -4 * 3600, "adt": -3 * 3600, "nst": -(3 * 3600 + 1800),
        "west": 3600, "bst": 3600, "cet": 3600, "wat": 3600, "cest": 2 * 3600, "eet": 2 * 3600, "sast": 2 * 3600,
        "cat": 2 * 3600, "eest": 3 * 3600, "msk": 3 * 3600, "eat": 3 * 3600, "gst": 4 * 3600, "pkt": 5 * 3600,
        "ist": 5 * 3600 + 1800, "ict": 7 * 3600, "wib": 7 * 3600, "bjt": 8 * 3600, "hkt": 8 * 3600,
        "sgt": 8 * 3600, "pht": 8 * 3600, "awst": 8 * 3600, "jst": 9 * 3600, "kst": 9 * 3600,
        "acst": 9 * 3600 + 1800, "aest": 10 * 3600, "aedt": 11 * 3600, "nzst": 12 * 3600, "nzdt": 13 * 3600,
    ]

    private static let usZones: [String: String] = [
        "et": "America/New_York", "ct": "America/Chicago", "mt": "America/Denver", "pt": "America/Los_Angeles",
        "eastern": "America/New_York", "central": "America/Chicago", "mountain": "America/Denver",
        "pacific": "America/Los_Angeles",
    ]

    private static let cities: [String: Int] = [
        "beijing": 8 * 3600, "shanghai": 8 * 3600, "taipei": 8 * 3600, "singapore": 8 * 3600,
        "tokyo": 9 * 3600, "seoul": 9 * 3600, "moscow": 3 * 3600,
    ]

    /// A zone at token `i`; returns the zone and the token index after it.
    static func zone(_ t: [DateToken], _ i: inout Int, allowZ: Bool) -> (TimeZoneSpec, Int)? {
        guard i < t.count else { return nil }
        let tok = t[i]
        if tok.isSymbol("（") { return phraseZone(t, i) }
        if tok.isSymbol("(") {
            var j = i + 1
            if let (spec, end) = zone(t, &j, allowZ: false), end < t.count, t[end].isSymbol(")") { return (spec, end + 1) }
            return nil
        }
        if let (seconds, end) = numericOffset(t, i) { return (TimeZoneSpec(secondsFromUTC: seconds), end) }
        guard tok.kind == .word else { return nil }
        if tok.lower == "z" && allowZ && tok.text == "Z" { return (TimeZoneSpec(secondsFromUTC: 0), i + 1) }
        if let base = abbreviations[tok.lower], tok.text.count > 1 {
            // Only upper-case abbreviations, so that words such as "cat" or "est" are not zones.
            guard tok.text.uppercased() == tok.text else { return nil }
            if base == 0, ["utc", "gmt"].contains(tok.lower), let (seconds, end) = numericOffset(t, i + 1),
               !t[i + 1].spaceBefore {
                return (TimeZoneSpec(secondsFromUTC: seconds), end)
            }
            return (TimeZoneSpec(secondsFromUTC: base), i + 1)
        }
        if let identifier = usZones[tok.lower], let zone = TimeZone(identifier: identifier) {
            if tok.lower.count == 2 {
                guard tok.text == tok.text.uppercased() else { return nil }
                return (TimeZoneSpec(kind: .named(zone)), i + 1)
            }
            var j = i + 1
            if j < t.count, t[j].isWord("standard") || t[j].isWord("daylight") { j += 1 }
            if j < t.count, t[j].isWord("time") { return (TimeZoneSpec(kind: .named(zone)), j + 1) }
            return nil
        }
        var j = i + 1
        var seconds = cities[tok.lower]
        if tok.lower == "hong", j < t.count, t[j].isWord("kong") { seconds = 8 * 3600; j += 1 }
        if let seconds, j < t.count, t[j].isWord("time") { return (TimeZoneSpec(secondsFromUTC: seconds), j + 1) }
        return phraseZone(t, i)
    }

    /// A zone named in words of a language's table (`北京时间`, `МСК`, `по московскому
    /// времени`, `MEZ`, `hora peninsular`) at token `i`, in parentheses or not; returns the zone
    /// and the token index after it.
    static func phraseZone(_ t: [DateToken], _ i: Int) -> (TimeZoneSpec, Int)? {
        guard i < t.count else { return nil }
        if t[i].isSymbol("(") || t[i].isSymbol("（") {
            if let (spec, end) = phraseZone(t, i + 1), end < t.count, t[end].isSymbol(")") || t[end].isSymbol("）") {
                return (spec, end + 1)
            }
            return nil
        }
        guard t[i].kind == .word else { return nil }
        return phrase(t, i, DateVocabulary.all.zonesByFirstWord)
    }

    /// `+08:00`, `+0800`, `+08`, `+8`, `-05:30` (also with U+2212 minus) at token `i`.
    private static func numericOffset(_ t: [DateToken], _ i: Int) -> (Int, Int)? {
        guard i + 1 < t.count, t[i].kind == .symbol, ["+", "-", "\u{2212}"].contains(t[i].text),
              t[i + 1].kind == .number, !t[i + 1].spaceBefore, let n = t[i + 1].number else { return nil }
        let sign = t[i].text == "+" ? 1 : -1
        var hours: Int, minutes = 0
        var end = i + 2
        switch t[i + 1].digits {
        case 4: hours = n / 100; minutes = n % 100
        case 1, 2:
            hours = n
            if end + 1 < t.count, t[end].isSymbol(":"), !t[end].spaceBefore, t[end + 1].digits == 2,
               let m = t[end + 1].number {
                minutes = m
                end += 2
            }
        default: return nil
        }
        guard hours <= 14, minutes < 60 else { return nil }
        return (sign * (hours * 3600 + minutes * 60), end)
    }

    // MARK: - Formatting helpers

    /// Seconds from 1970-01-01 to the start of a civil date (proleptic Gregorian, UTC).
    static func epochSeconds(year: Int, month: Int, day: Int) -> Int {
        CivilCalendar.daysSinceEpoch(year: year, month: month, day: day) * 86_400
    }
}

extension TimeZoneSpec {
    init(kind: Kind) { self.kind = kind }
}

/// One token of text for the date parser: a run of letters, a run of digits, or one other
/// visible character. CJK ideographs are one token each.
struct DateToken {
    enum Kind { case word, number, symbol }
    var kind: Kind
    var text: Substring
    var lower: String
    var range: Range<String.Index>
    var spaceBefore: Bool
    /// The value of a number written in full-width digits or Chinese numerals, and its digit count.
    var value: Int? = nil
    var valueDigits = 0

    /// How many digits a number token has (a large value for other tokens).
    var digits: Int { kind == .number ? (value == nil ? text.utf8.count : valueDigits) : Int.max }
    /// The value of a number token of up to nine digits.
    var number: Int? { kind == .number ? (value ?? (text.utf8.count <= 9 ? Int(text) : nil)) : nil }
    func isWord(_ w: String) -> Bool { kind == .word && lower == w }
    func isSymbol(_ s: String) -> Bool { kind == .symbol && text == s }
}

enum DateTokenizer {
    static func tokens(_ text: String) -> [DateToken] {
        if let ascii = asciiTokens(text) { return ascii }
        return scalarTokens(text)
    }

    /// The tokens of an all-ASCII text, read from its bytes; `nil` when the text has another
    /// byte (or no contiguous UTF-8). In ASCII a scalar is a byte, no character is an ideograph,
    /// a full-width digit or a Chinese numeral, and lower-casing is the ASCII one: the tokens are
    /// those of ``scalarTokens(_:)``. (The scalar walk, with an index check per scalar and
    /// `Substring.lowercased()` per word, was 3.9 % of the text_articles source's samples, most
    /// of it on English titles and header lines.)
    static func asciiTokens(_ text: String) -> [DateToken]? {
        let utf8 = text.utf8
        let base = utf8.startIndex
        return utf8.withContiguousStorageIfAvailable { b -> [DateToken]? in
            let n = b.count
            var k = 0
            while k < n {
                if b[k] >= 0x80 { return nil }
                k += 1
            }
            var tokens: [DateToken] = []
            var i = 0
            var spaceBefore = false
            while i < n {
                let c = b[i]
                if c == 0x20 || (c >= 0x09 && c <= 0x0D) {
                    spaceBefore = true
                    i += 1
                    continue
                }
                let start = i
                let kind: DateToken.Kind
                var upper = false
                if c >= 0x30 && c <= 0x39 {
                    kind = .number
                    repeat { i += 1 } while i < n && b[i] >= 0x30 && b[i] <= 0x39
                } else if (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A {
                    kind = .word
                    repeat {
                        upper = upper || b[i] <= 0x5A
                        i += 1
                    } while i < n && (b[i] | 0x20) >= 0x61 && (b[i] | 0x20) <= 0x7A
                } else {
                    kind = .symbol
                    i += 1
                }
                let range = utf8.index(base, offsetBy: start)..<utf8.index(base, offsetBy: i)
                let piece = text[range]
                let lower: String
                if upper {
                    lower = String(unsafeUninitializedCapacity: i - start) { out in
                        for j in start..<i { out[j - start] = b[j] <= 0x5A ? b[j] | 0x20 : b[j] }
                        return i - start
                    }
                } else {
                    lower = String(piece)
                }
                tokens.append(DateToken(kind: kind, text: piece, lower: lower, range: range, spaceBefore: spaceBefore))
                spaceBefore = false
            }
            return tokens
        } ?? nil
    }

    /// The tokens of any text, scalar by scalar.
    static func scalarTokens(_ text: String) -> [DateToken] {
        var tokens: [DateToken] = []
        let scalars = text.unicodeScalars
        var i = scalars.startIndex
        var spaceBefore = false
        while i < scalars.endIndex {
            let c = scalars[i]
            if isSpace(c) {
                spaceBefore = true
                i = scalars.index(after: i)
                continue
            }
            let start = i
            let kind: DateToken.Kind
            var value: Int?
            var valueDigits = 0
            if ("0"..."9").contains(c) || fullWidthDigit(c) != nil {
                kind = .number
                var v = 0, n = 0, ascii = true
                repeat {
                    let d = scalars[i]
                    ascii = ascii && d.isASCII
                    v = v &* 10 &+ (d.isASCII ? Int(d.value) - 0x30 : (fullWidthDigit(d) ?? 0))
                    n += 1
                    i = scalars.index(after: i)
                } while i < scalars.endIndex && (("0"..."9").contains(scalars[i]) || fullWidthDigit(scalars[i]) != nil)
                if !ascii, n <= 9 {
                    value = v
                    valueDigits = n
                }
            } else if let (v, n, end) = chineseNumber(scalars, i) {
                // `二〇二五年十一月二十日`: numerals right before a date or time mark.
                kind = .number
                value = v
                valueDigits = n
                i = end
            } else if isIdeograph(c) {
                kind = .word
                i = scalars.index(after: i)
            } else if isLetter(c) {
                kind = .word
                repeat { i = scalars.index(after: i) } while i < scalars.endIndex && isLetter(scalars[i])
                    && !isIdeograph(scalars[i])
            } else {
                kind = .symbol
                i = scalars.index(after: i)
            }
            let piece = text[start..<i]
            tokens.append(DateToken(kind: kind, text: piece, lower: kind == .word ? piece.lowercased() : String(piece),
                                    range: start..<i, spaceBefore: spaceBefore, value: value, valueDigits: valueDigits))
            spaceBefore = false
        }
        return tokens
    }

    /// `０`–`９` (full-width digits).
    @inline(__always)
    private static func fullWidthDigit(_ c: Unicode.Scalar) -> Int? {
        (0xFF10...0xFF19).contains(c.value) ? Int(c.value - 0xFF10) : nil
    }

    private static let numerals: [Unicode.Scalar: Int] = [
        "〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
    ]
    /// The marks a Chinese-numeral number of a date or time is written before.
    private static let numeralMarks: Set<Unicode.Scalar> = ["年", "月", "日", "号", "號", "时", "時", "点", "點", "分", "秒"]

    /// A run of Chinese numerals right before a date or time mark: positional (`二〇二五` = 2025)
    /// or with `十` (`十一` = 11, `二十` = 20, `二十一` = 21). Returns the value, its digit count
    /// and where the run ends.
    private static func chineseNumber(_ s: String.UnicodeScalarView, _ start: String.Index) -> (Int, Int, String.Index)? {
        guard numerals[s[start]] != nil else { return nil }
        var digits: [Int] = []
        var i = start
        while i < s.endIndex, let d = numerals[s[i]], digits.count < 6 {
            digits.append(d)
            i = s.index(after: i)
        }
        guard i < s.endIndex, numeralMarks.contains(s[i]) else { return nil }
        let value: Int
        if let ten = digits.firstIndex(of: 10) {
            let before = digits[..<ten], after = digits[(ten + 1)...]
            guard before.count <= 1, after.count <= 1, !before.contains(10), !after.contains(10),
                  before.first != 0 else { return nil }
            value = (before.first ?? 1) * 10 + (after.first ?? 0)
        } else {
            value = digits.reduce(0) { $0 * 10 + $1 }
        }
        return (value, digits.contains(10) ? String(value).count : digits.count, i)
    }

    /// ASCII is answered directly: Unicode property lookups dominated the tokenizer's time.
    @inline(__always)
    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c.isASCII ? (c == " " || (c.value >= 0x09 && c.value <= 0x0D)) : c.properties.isWhitespace
    }

    @inline(__always)
    private static func isLetter(_ c: Unicode.Scalar) -> Bool {
        c.isASCII ? ((c.value | 0x20) >= 0x61 && (c.value | 0x20) <= 0x7A) : c.properties.isAlphabetic
    }

    private static func isIdeograph(_ c: Unicode.Scalar) -> Bool {
        (0x3000...0x9FFF).contains(c.value) || (0xF900...0xFAFF).contains(c.value) || (0x20000...0x2FFFF).contains(c.value)
    }
}

/// The words one language writes dates and times with. The parser reads every language in
/// ``builtIn`` at once (their words do not collide), so a new language is a new table here,
/// not new code.
public struct DateVocabulary: Sendable {
    /// ISO 639-1 code of the language.
    public var language: String
    /// Month names and abbreviations, lower case (an abbreviation's `.` is optional).
    public var months: [String: Int]
    /// Weekday names and abbreviations, lower case (skipped before a date).
    public var weekdays: Set<String>
    /// Letters written right after the day number: `th` (`20th`), `er` (`1er`).
    public var ordinals: Set<String>
    /// Words between day, month and year: `of` (`20th of November`), `de` (`5 de febrero de 2025`).
    public var dayOfWords: Set<String>
    /// Words after the year: `г` (`2025 г.`), `года`.
    public var yearMarkers: Set<String>
    /// Words between a date and its time: `at`, `à`, `um`, `a las`, `в`.
    public var timeConnectors: Set<String>
    /// Words between hours and minutes: `h` (`22 h 10`), `时` (`22时10分`).
    public var hourMarks: Set<String>
    /// Words after the minutes of an hour-marked time: `分` (`22时10分`), `min`.
    public var minuteMarks: Set<String>
    /// Words after a time: `Uhr` (`22:10 Uhr`), `horas`.
    public var timeSuffixes: Set<String>
    /// Zones named in words, as written (any case): `北京时间` (+08:00), `МСК` (+03:00),
    /// `heure de Paris` (Europe/Paris).
    public var zones: [(String, TimeZoneSpec)]
    /// Days named relative to the reference day, with their offset in days: `yesterday` −1,
    /// `вчера` −1, `昨天` −1, `aujourd'hui` 0 (read only when the parser has a reference).
    public var relativeDays: [String: Int]
    /// Parts of the day written before the hour, `true` for the afternoon and evening: `上午`
    /// (`上午9时` = 09:00), `下午` (`下午3时20分` = 15:20), `晚上`.
    public var dayPeriods: [String: Bool]

    /// Creates a table; empty by default.
    public init(language: String, months: [String: Int] = [:], weekdays: Set<String> = [], ordinals: Set<String> = [],
                dayOfWords: Set<String> = [], yearMarkers: Set<String> = [], timeConnectors: Set<String> = [],
                hourMarks: Set<String> = [], minuteMarks: Set<String> = [], timeSuffixes: Set<String> = [],
                zones: [(String, TimeZoneSpec)] = [], relativeDays: [String: Int] = [:], dayPeriods: [String: Bool] = [:]) {
        self.language = language
        self.months = months
        self.weekdays = weekdays
        self.ordinals = ordinals
        self.dayOfWords = dayOfWords
        self.yearMarkers = yearMarkers
        self.timeConnectors = timeConnectors
        self.hourMarks = hourMarks
        self.minuteMarks = minuteMarks
        self.timeSuffixes = timeSuffixes
        self.zones = zones
        self.relativeDays = relativeDays
        self.dayPeriods = dayPeriods
    }

    private static func zone(_ identifier: String) -> TimeZoneSpec {
        TimeZone(identifier: identifier).map { TimeZoneSpec(kind: .named($0)) } ?? TimeZoneSpec(secondsFromUTC: 0)
    }

    /// English, Chinese (simplified and traditional), Russian, French, German and Spanish.
    public static let builtIn: [DateVocabulary] = [
        DateVocabulary(
            language: "en",
            months: ["january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
                     "september": 9, "october": 10, "november": 11, "december": 12,
                     "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
                     "oct": 10, "nov": 11, "dec": 12],
            weekdays: ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                       "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"],
            ordinals: ["st", "nd", "rd", "th"], dayOfWords: ["of"], timeConnectors: ["at"],
            relativeDays: ["today": 0, "yesterday": -1]),
        DateVocabulary(
            // 2025年11月20日 is read by the parser's year-first rule; 22时10分, 22點 and 北京时间 here.
            language: "zh", hourMarks: ["时", "時", "点", "點"], minuteMarks: ["分"],
            zones: [("北京时间", TimeZoneSpec(secondsFromUTC: 8 * 3600)), ("北京時間", TimeZoneSpec(secondsFromUTC: 8 * 3600)),
                    ("台北时间", TimeZoneSpec(secondsFromUTC: 8 * 3600)), ("台北時間", TimeZoneSpec(secondsFromUTC: 8 * 3600)),
                    ("香港时间", TimeZoneSpec(secondsFromUTC: 8 * 3600)), ("香港時間", TimeZoneSpec(secondsFromUTC: 8 * 3600)),
                    ("莫斯科时间", TimeZoneSpec(secondsFromUTC: 3 * 3600))],
            relativeDays: ["今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "前日": -2],
            dayPeriods: ["上午": false, "早上": false, "早晨": false, "清晨": false, "凌晨": false,
                         "中午": true, "下午": true, "傍晚": true, "晚上": true, "晚间": true, "晚間": true, "夜间": true,
                         "夜間": true]),
        DateVocabulary(
            language: "ru",
            months: ["января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7,
                     "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
                     "январь": 1, "февраль": 2, "март": 3, "апрель": 4, "май": 5, "июнь": 6, "июль": 7,
                     "август": 8, "сентябрь": 9, "октябрь": 10, "ноябрь": 11, "декабрь": 12,
                     "янв": 1, "фев": 2, "мар": 3, "апр": 4, "июн": 6, "июл": 7, "авг": 8, "сен": 9, "сент": 9,
                     "окт": 10, "ноя": 11, "нояб": 11, "дек": 12],
            weekdays: ["понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье",
                       "пн", "вт", "ср", "чт", "пт", "сб", "вс"],
            yearMarkers: ["г", "года", "год"], timeConnectors: ["в"],
            zones: [("МСК", TimeZoneSpec(secondsFromUTC: 3 * 3600)),
                    ("по московскому времени", TimeZoneSpec(secondsFromUTC: 3 * 3600)),
                    ("по Москве", TimeZoneSpec(secondsFromUTC: 3 * 3600)),
                    ("время московское", TimeZoneSpec(secondsFromUTC: 3 * 3600))],
            relativeDays: ["сегодня": 0, "вчера": -1, "позавчера": -2]),
        DateVocabulary(
            language: "fr",
            months: ["janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
                     "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
                     "décembre": 12, "decembre": 12,
                     "janv": 1, "févr": 2, "avr": 4, "juil": 7, "déc": 12],
            weekdays: ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
            ordinals: ["er", "re"], timeConnectors: ["à"], hourMarks: ["h"], minuteMarks: ["min"],
            zones: [("heure de Paris", zone("Europe/Paris")), ("heure française", zone("Europe/Paris")),
                    ("heure de Moscou", TimeZoneSpec(secondsFromUTC: 3 * 3600)),
                    ("heure de Pékin", TimeZoneSpec(secondsFromUTC: 8 * 3600))],
            relativeDays: ["aujourd'hui": 0, "aujourd’hui": 0, "hier": -1, "avant-hier": -2]),
        DateVocabulary(
            language: "de",
            months: ["januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "april": 4, "mai": 5, "juni": 6,
                     "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11, "dezember": 12,
                     "jän": 1, "febr": 2, "mrz": 3, "okt": 10, "dez": 12],
            weekdays: ["montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag", "sonnabend"],
            timeConnectors: ["um"], timeSuffixes: ["uhr"],
            zones: [("MEZ", TimeZoneSpec(secondsFromUTC: 3600)), ("MESZ", TimeZoneSpec(secondsFromUTC: 2 * 3600)),
                    ("Moskauer Zeit", TimeZoneSpec(secondsFromUTC: 3 * 3600)),
                    ("Pekinger Zeit", TimeZoneSpec(secondsFromUTC: 8 * 3600))],
            relativeDays: ["heute": 0, "gestern": -1, "vorgestern": -2]),
        DateVocabulary(
            language: "es",
            months: ["enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
                     "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
                     "ene": 1, "abr": 4, "ago": 8, "dic": 12],
            weekdays: ["lunes", "martes", "miércoles", "miercoles", "jueves", "viernes", "sábado", "sabado", "domingo"],
            dayOfWords: ["de", "del"], timeConnectors: ["a", "las", "la"], timeSuffixes: ["horas", "hrs", "hs"],
            zones: [("hora peninsular", zone("Europe/Madrid")), ("hora de Madrid", zone("Europe/Madrid")),
                    ("hora de Pekín", TimeZoneSpec(secondsFromUTC: 8 * 3600)),
                    ("hora de Moscú", TimeZoneSpec(secondsFromUTC: 3 * 3600))],
            relativeDays: ["hoy": 0, "ayer": -1, "anteayer": -2]),
    ]

    /// Every built-in table merged: what the parser reads.
    static let all: Merged = Merged(builtIn)

    struct Merged: Sendable {
        var months: [String: Int] = [:]
        var weekdays: Set<String> = []
        var ordinals: Set<String> = []
        var dayOfWords: Set<String> = []
        var yearMarkers: Set<String> = []
        var timeConnectors: Set<String> = []
        var hourMarks: Set<String> = []
        var minuteMarks: Set<String> = []
        var timeSuffixes: Set<String> = []
        /// Zone phrases as lower-case token texts, longest first, by their first token.
        var zonesByFirstWord: [String: [([String], TimeZoneSpec)]] = [:]
        /// Relative days and parts of the day, the same way.
        var relativeByFirstWord: [String: [([String], Int)]] = [:]
        var periodsByFirstWord: [String: [([String], Bool)]] = [:]
        /// Every word a match can start at: a zone phrase's, a part of the day's or a relative
        /// day's first word, a weekday, a month. ``DateParser/parse(_:)`` tries a match at a word
        /// token only when it is one of these: ``DateParser/phraseZone(_:_:)`` and
        /// ``DateParser/match(_:at:dayFirst:reference:)`` look a word up in exactly these tables
        /// before anything else, and need a number token otherwise.
        var startWords: Set<String> = []

        init(_ tables: [DateVocabulary]) {
            for v in tables {
                months.merge(v.months) { first, _ in first }
                weekdays.formUnion(v.weekdays)
                ordinals.formUnion(v.ordinals)
                dayOfWords.formUnion(v.dayOfWords)
                yearMarkers.formUnion(v.yearMarkers)
                timeConnectors.formUnion(v.timeConnectors)
                hourMarks.formUnion(v.hourMarks)
                minuteMarks.formUnion(v.minuteMarks)
                timeSuffixes.formUnion(v.timeSuffixes)
                for (phrase, spec) in v.zones {
                    let words = DateTokenizer.tokens(phrase).map(\.lower)
                    guard let first = words.first else { continue }
                    zonesByFirstWord[first, default: []].append((words, spec))
                }
            }
            for v in tables {
                Self.add(v.relativeDays, to: &relativeByFirstWord)
                Self.add(v.dayPeriods, to: &periodsByFirstWord)
            }
            for key in zonesByFirstWord.keys { zonesByFirstWord[key]?.sort { $0.0.count > $1.0.count } }
            startWords = weekdays.union(months.keys).union(zonesByFirstWord.keys).union(relativeByFirstWord.keys)
                .union(periodsByFirstWord.keys)
        }

        private static func add<V>(_ phrases: [String: V], to table: inout [String: [([String], V)]]) {
            for (text, value) in phrases {
                let words = DateTokenizer.tokens(text).map(\.lower)
                guard let first = words.first else { continue }
                table[first, default: []].append((words, value))
                table[first]?.sort { $0.0.count > $1.0.count }
            }
        }
    }
}
