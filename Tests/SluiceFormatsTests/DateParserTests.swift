import Foundation
import SluiceCore
@testable import SluiceFormats
import Testing

/// `DateParser` (SluiceCore): free-text dates to ISO 8601.
@Suite("DateParser")
struct DateParserTests {
    /// (text, ISO 8601, the date as written)
    static let cases: [(String, String, String)] = [
        ("Published: Nov 20, 2025 10:10 PM", "2025-11-20T22:10:00", "Nov 20, 2025 10:10 PM"),
        ("Nov. 2, 2025", "2025-11-02", "Nov. 2, 2025"),
        ("March 3, 2024 4:45 PM", "2024-03-03T16:45:00", "March 3, 2024 4:45 PM"),
        ("20 November 2025", "2025-11-20", "20 November 2025"),
        ("2025-07-15", "2025-07-15", "2025-07-15"),
        ("2025-07-15T10:20:30Z", "2025-07-15T10:20:30Z", "2025-07-15T10:20:30Z"),
        ("2025-07-15T10:20:30.123+08:00", "2025-07-15T10:20:30.123+08:00", "2025-07-15T10:20:30.123+08:00"),
        ("2025-07-15T10:20-0530", "2025-07-15T10:20:00-05:30", "2025-07-15T10:20-0530"),
        ("2025-11-02 18:30:15", "2025-11-02T18:30:15", "2025-11-02 18:30:15"),
        ("2025/11/02", "2025-11-02", "2025/11/02"),
        ("Thursday, Nov 20, 2025", "2025-11-20", "Thursday, Nov 20, 2025"),
        ("Thu 20 Nov 2025 14.30 GMT", "2025-11-20T14:30:00Z", "Thu 20 Nov 2025 14.30 GMT"),
        ("Updated 2:15 PM EST, Fri November 21, 2025", "2025-11-21T14:15:00-05:00", "2:15 PM EST, Fri November 21, 2025"),
        ("November 20th, 2025 at 9 a.m. PT", "2025-11-20T09:00:00-08:00", "November 20th, 2025 at 9 a.m. PT"),
        ("July 4, 2025, 9:30 a.m. ET", "2025-07-04T09:30:00-04:00", "July 4, 2025, 9:30 a.m. ET"),
        ("2025-11-21 09:05 (Beijing time)", "2025-11-21T09:05:00+08:00", "2025-11-21 09:05 (Beijing time)"),
        ("Sept. 9, 2024, 18:05 CEST", "2024-09-09T18:05:00+02:00", "Sept. 9, 2024, 18:05 CEST"),
        ("on 3 March 2024 at 16:45 UTC+1", "2024-03-03T16:45:00+01:00", "3 March 2024 at 16:45 UTC+1"),
        ("June 1, 2024 8:00 PM PDT", "2024-06-01T20:00:00-07:00", "June 1, 2024 8:00 PM PDT"),
        ("1 Jan 2025 09:00 JST", "2025-01-01T09:00:00+09:00", "1 Jan 2025 09:00 JST"),
        ("12 May 2025 10:00 BST", "2025-05-12T10:00:00+01:00", "12 May 2025 10:00 BST"),
        ("March 12, 2024 6:30 p.m. IST", "2024-03-12T18:30:00+05:30", "March 12, 2024 6:30 p.m. IST"),
        ("12:30 AM, Jan 1, 2025", "2025-01-01T00:30:00", "12:30 AM, Jan 1, 2025"),
        ("Dec 31, 2024 12:00 PM", "2024-12-31T12:00:00", "Dec 31, 2024 12:00 PM"),
        ("11/20/2025", "2025-11-20", "11/20/2025"),
        ("20/11/2025", "2025-11-20", "20/11/2025"),
        ("20.11.2025", "2025-11-20", "20.11.2025"),
        ("2025年11月20日 22:10", "2025-11-20T22:10:00", "2025年11月20日 22:10"),
        ("Feb 29, 2024", "2024-02-29", "Feb 29, 2024"),
        ("the vote on 2 October 2025 was close", "2025-10-02", "2 October 2025"),
        ("Nov 20 2025 22:10:05", "2025-11-20T22:10:05", "Nov 20 2025 22:10:05"),
    ]

    @Test("accepted date forms give ISO 8601 and the date as written", arguments: cases)
    func accepted(_ c: (String, String, String)) throws {
        let parsed = try #require(DateParser().parse(c.0), "no date in \(c.0)")
        #expect(parsed.iso == c.1)
        #expect(parsed.text == c.2)
        #expect(String(c.0[parsed.range]) == c.2)
    }

    /// Dates as Chinese, Russian, French, German and Spanish papers write them.
    static let otherLanguages: [(String, String, String)] = [
        ("2025年11月20日 22:10", "2025-11-20T22:10:00", "2025年11月20日 22:10"),
        ("2025年11月20日22时10分", "2025-11-20T22:10:00", "2025年11月20日22时10分"),
        ("北京时间2025年11月20日22时10分", "2025-11-20T22:10:00+08:00", "北京时间2025年11月20日22时10分"),
        ("2025年11月20日 22:10（北京时间）", "2025-11-20T22:10:00+08:00", "2025年11月20日 22:10（北京时间）"),
        ("發布時間：2025年11月20日 22:10 北京時間", "2025-11-20T22:10:00+08:00", "2025年11月20日 22:10 北京時間"),
        ("20 ноября 2025 г.", "2025-11-20", "20 ноября 2025 г."),
        ("20 ноября 2025 года, 22:10 МСК", "2025-11-20T22:10:00+03:00", "20 ноября 2025 года, 22:10 МСК"),
        ("четверг, 20 ноября 2025, 09:30 по московскому времени", "2025-11-20T09:30:00+03:00",
         "четверг, 20 ноября 2025, 09:30 по московскому времени"),
        ("le 20 novembre 2025 à 22 h 10", "2025-11-20T22:10:00", "20 novembre 2025 à 22 h 10"),
        ("Publié le 1er décembre 2025 à 07h00", "2025-12-01T07:00:00", "1er décembre 2025 à 07h00"),
        ("jeudi 20 novembre 2025 à 22 h 10 (heure de Paris)", "2025-11-20T22:10:00+01:00",
         "jeudi 20 novembre 2025 à 22 h 10 (heure de Paris)"),
        ("20. November 2025", "2025-11-20", "20. November 2025"),
        ("Donnerstag, 20. November 2025, 22:10 Uhr MEZ", "2025-11-20T22:10:00+01:00",
         "Donnerstag, 20. November 2025, 22:10 Uhr MEZ"),
        ("Stand: 20.11.2025 22.10 Uhr", "2025-11-20T22:10:00", "20.11.2025 22.10 Uhr"),
        ("30. Oktober 2024 um 8 Uhr", "2024-10-30T08:00:00", "30. Oktober 2024 um 8 Uhr"),
        ("Madrid, 5 de febrero de 2025", "2025-02-05", "5 de febrero de 2025"),
        ("5 de febrero de 2025, 22:10 horas", "2025-02-05T22:10:00", "5 de febrero de 2025, 22:10 horas"),
        ("2025年11月20日 22点", "2025-11-20T22:00:00", "2025年11月20日 22点"),
        ("jueves, 20 de noviembre de 2025 a las 22:10 CET", "2025-11-20T22:10:00+01:00",
         "jueves, 20 de noviembre de 2025 a las 22:10 CET"),
        ("20 de julio de 2025, 22:10 hora peninsular", "2025-07-20T22:10:00+02:00",
         "20 de julio de 2025, 22:10 hora peninsular"),
    ]

    @Test("dates written in Chinese, Russian, French, German and Spanish", arguments: otherLanguages)
    func otherLanguage(_ c: (String, String, String)) throws {
        let parsed = try #require(DateParser().parse(c.0), "no date in \(c.0)")
        #expect(parsed.iso == c.1)
        #expect(parsed.text == c.2)
    }

    @Test("day first for all-number dates with slashes when asked (05/02/2025 is 5 February), month first by default")
    func dayFirst() {
        #expect(DateParser().parse("05/02/2025")?.iso == "2025-05-02")
        #expect(DateParser(dayFirst: true).parse("05/02/2025")?.iso == "2025-02-05")
        #expect(DateParser(dayFirst: true).parse("11/20/2025")?.iso == "2025-11-20", "a number over 12 decides")
    }

    @Test("zone names of other languages are time zone specs too")
    func otherLanguageZones() {
        #expect(TimeZoneSpec("北京时间") == TimeZoneSpec(secondsFromUTC: 8 * 3600))
        #expect(TimeZoneSpec("МСК") == TimeZoneSpec(secondsFromUTC: 3 * 3600))
        #expect(TimeZoneSpec("MESZ") == TimeZoneSpec(secondsFromUTC: 2 * 3600))
    }

    @Test("text without a full date gives nothing", arguments: [
        "no date here", "Nov. 2", "BEIJING, Nov. 2 (Xinhua) --", "Feb 29, 2023", "2025-13-01", "32 March 2024",
        "The 2024 budget", "at 10:30 on the day", "May we see it 2025", "",
        "БИШКЕК, 20 ноября — РИА Новости.", "新华社比什凯克11月20日电", "le 20 novembre", "Bischkek (dpa) -",
    ])
    func rejected(_ text: String) {
        #expect(DateParser().parse(text) == nil)
    }

    @Test("a default zone is applied to times without one, never to dates or times that have one")
    func defaultZone() throws {
        let shanghai = try #require(TimeZoneSpec("Asia/Shanghai"))
        let parser = DateParser(defaultTimeZone: shanghai)
        #expect(parser.parse("Nov 20, 2025 10:10 PM")?.iso == "2025-11-20T22:10:00+08:00")
        #expect(parser.parse("Nov 20, 2025")?.iso == "2025-11-20")
        #expect(parser.parse("Nov 20, 2025 10:10 PM EST")?.iso == "2025-11-20T22:10:00-05:00")
        let fixed = try #require(TimeZoneSpec("+08:00"))
        #expect(DateParser(defaultTimeZone: fixed).parse("2025-01-02 03:04")?.iso == "2025-01-02T03:04:00+08:00")
    }

    @Test("a named zone follows daylight saving time")
    func daylightSaving() throws {
        let newYork = try #require(TimeZoneSpec("America/New_York"))
        let parser = DateParser(defaultTimeZone: newYork)
        #expect(parser.parse("July 4, 2025 9:00 AM")?.offset == -4 * 3600)
        #expect(parser.parse("January 4, 2025 9:00 AM")?.offset == -5 * 3600)
    }

    @Test("time zone specs: offsets, UTC in any case, abbreviations, city times and IANA names")
    func zoneSpecs() {
        #expect(TimeZoneSpec("+08:00") == TimeZoneSpec(secondsFromUTC: 8 * 3600))
        #expect(TimeZoneSpec("-0530") == TimeZoneSpec(secondsFromUTC: -(5 * 3600 + 1800)))
        #expect(TimeZoneSpec("utc") == TimeZoneSpec(secondsFromUTC: 0))
        #expect(TimeZoneSpec("EST") == TimeZoneSpec(secondsFromUTC: -5 * 3600))
        #expect(TimeZoneSpec("Beijing time") == TimeZoneSpec(secondsFromUTC: 8 * 3600))
        #expect(TimeZoneSpec("GMT+8") == TimeZoneSpec(secondsFromUTC: 8 * 3600))
        #expect(TimeZoneSpec("Asia/Shanghai")?.description == "Asia/Shanghai")
        #expect(TimeZoneSpec("Mars/Olympus_Mons") == nil)
        #expect(TimeZoneSpec("+25:00") == nil)
        #expect(TimeZoneSpec("") == nil)
        #expect(TimeZoneSpec(secondsFromUTC: -18000).description == "-05:00")
    }

    @Test("the instant of a date with time and offset")
    func instant() throws {
        let parsed = try #require(DateParser().parse("2025-11-20T22:10:00+08:00"))
        #expect(parsed.date == Date(timeIntervalSince1970: 1_763_647_800))
        #expect(parsed.hasTime && parsed.offset == 28800)
        #expect(DateParser().parse("2025-11-20")?.date == nil)
    }
}

/// Relative days, dates without a year, parts of the day, Chinese numerals and full-width
/// digits (issue 12).
@Suite("DateParser: relative dates and Chinese forms")
struct RelativeDateTests {
    static let reference = CivilDay(year: 2025, month: 11, day: 21)

    /// (text, ISO 8601 against 2025-11-21, the date as written)
    static let relative: [(String, String, String)] = [
        ("Updated: today 11:45 PM", "2025-11-21T23:45:00", "today 11:45 PM"),
        ("yesterday at 4pm", "2025-11-20T16:00:00", "yesterday at 4pm"),
        ("昨天 22:10", "2025-11-20T22:10:00", "昨天 22:10"),
        ("今天下午3时20分", "2025-11-21T15:20:00", "今天下午3时20分"),
        ("前天", "2025-11-19", "前天"),
        ("вчера в 22:10", "2025-11-20T22:10:00", "вчера в 22:10"),
        ("сегодня, 09:30 МСК", "2025-11-21T09:30:00+03:00", "сегодня, 09:30 МСК"),
        ("hier à 22 h 10", "2025-11-20T22:10:00", "hier à 22 h 10"),
        ("aujourd'hui à 8 h", "2025-11-21T08:00:00", "aujourd'hui à 8 h"),
        ("avant-hier", "2025-11-19", "avant-hier"),
        ("gestern, 22:10 Uhr", "2025-11-20T22:10:00", "gestern, 22:10 Uhr"),
        ("heute um 8 Uhr MEZ", "2025-11-21T08:00:00+01:00", "heute um 8 Uhr MEZ"),
        ("ayer a las 22:10", "2025-11-20T22:10:00", "ayer a las 22:10"),
        ("hoy", "2025-11-21", "hoy"),
        // Without a year: the year that puts the date nearest the reference.
        ("БИШКЕК, 20 ноября — РИА Новости.", "2025-11-20", "20 ноября"),
        ("新华社比什凯克11月20日电", "2025-11-20", "11月20日"),
        ("BEIJING, Nov. 2 (Xinhua) --", "2025-11-02", "Nov. 2"),
        ("MADRID, 5 feb (EFE) –", "2026-02-05", "5 feb"),
        ("20. November, 22:10 Uhr", "2025-11-20T22:10:00", "20. November, 22:10 Uhr"),
    ]

    @Test("with a reference day, relative days and dates without a year are read against it", arguments: relative)
    func againstReference(_ c: (String, String, String)) throws {
        let parsed = try #require(DateParser(reference: Self.reference).parse(c.0), "no date in \(c.0)")
        #expect(parsed.iso == c.1)
        #expect(parsed.text == c.2)
        #expect(parsed.isRelative)
    }

    @Test("a date without a year near New Year takes the nearer year")
    func nearestYear() throws {
        let january = try #require(CivilDay(year: 2026, month: 1, day: 3))
        #expect(DateParser(reference: january).parse("Dec. 30 (Reuters)")?.iso == "2025-12-30")
        let december = try #require(CivilDay(year: 2025, month: 12, day: 30))
        #expect(DateParser(reference: december).parse("2 января")?.iso == "2026-01-02")
    }

    @Test("without a reference, relative days are not dates; acceptsRelative finds them and marks them")
    func withoutReference() throws {
        #expect(DateParser().parse("yesterday at 4pm") == nil)
        #expect(DateParser().parse("昨天 22:10") == nil)
        let marked = try #require(DateParser(acceptsRelative: true).parse("вчера в 22:10"))
        #expect(marked.isRelative && marked.text == "вчера в 22:10")
        #expect(DateParser(acceptsRelative: true).parse("Nov 20, 2025")?.isRelative == false)
    }

    @Test("上午/下午/晚上 before the hour, Chinese numerals and full-width digits", arguments: [
        ("2025年11月20日下午3时20分", "2025-11-20T15:20:00"),
        ("2025年11月20日 下午3:20", "2025-11-20T15:20:00"),
        ("2025年11月20日 上午9时", "2025-11-20T09:00:00"),
        ("2025年11月20日 晚上8点", "2025-11-20T20:00:00"),
        ("2025年11月20日 中午12时", "2025-11-20T12:00:00"),
        ("2025年11月20日 下午15:20", "2025-11-20T15:20:00"),
        ("二〇二五年十一月二十日", "2025-11-20"),
        ("二〇二五年十一月二十一日 下午三时", "2025-11-21T15:00:00"),
        ("２０２５年１１月２０日　上午９：３０", "2025-11-20T09:30:00"),
        ("北京时间2025年11月20日下午3时20分", "2025-11-20T15:20:00+08:00"),
    ])
    func chineseForms(_ c: (String, String)) {
        #expect(DateParser().parse(c.0)?.iso == c.1, "\(c.0)")
    }

    @Test("Chinese numerals not before a date or time mark are not numbers", arguments: ["一带一路", "十一届三中全会", "三个月"])
    func numeralsInWords(_ text: String) {
        #expect(DateParser().parse(text) == nil)
    }

    @Test("CivilDay parses YYYY-MM-DD and refuses days that do not exist")
    func civilDay() {
        #expect(CivilDay(iso: "2025-11-21") == CivilDay(year: 2025, month: 11, day: 21))
        #expect(CivilDay(iso: "2025-02-29") == nil)
        #expect(CivilDay(iso: "21.11.2025") == nil)
    }

    @Test("a symbol token is one of a set's characters, ASCII on its byte and others as Foundation finds them")
    func symbolSets() {
        #expect(DateParser.isSymbol("-", in: "-/."))
        #expect(DateParser.isSymbol("/", in: ",|-–—@/·•"))
        #expect(!DateParser.isSymbol("x", in: "-/."))
        #expect(!DateParser.isSymbol(".", in: ",|-–—@/·•"))
        #expect(DateParser.isSymbol("–", in: ",|-–—@/·•"))
        #expect(DateParser.isSymbol("·", in: ",|-–—@/·•"))
        #expect(!DateParser.isSymbol("−", in: "-/."))
    }

    @Test("dates across each separator a symbol test decides", arguments: [
        ("2025.07.15", "2025-07-15"), ("2025/07/15", "2025-07-15"), ("15/07/2025", "2025-07-15"),
        ("15.07.2025", "2025-07-15"), ("Nov 20, 2025 | 10:10 PM", "2025-11-20T22:10:00"),
        ("Nov 20, 2025 – 10:10 PM", "2025-11-20T22:10:00"), ("Nov 20, 2025 @ 10:10 PM", "2025-11-20T22:10:00"),
        ("Nov 20, 2025 · 10:10 PM", "2025-11-20T22:10:00"), ("2025-07-15 / 10:30", "2025-07-15T10:30:00"),
    ])
    func separators(_ text: String, _ iso: String) {
        #expect(DateParser(dayFirst: true).parse(text)?.iso == iso)
    }
}

/// The parser tries a match only at numbers and at words a table holds
/// (`DateVocabulary.Merged.startWords`): words before a date change nothing.
@Suite("DateParser: where a match can start")
struct DateStartTests {
    static let filler = "Lorem ipsum dolor sit "

    @Test("a date after words that cannot start one is the date found without them",
          arguments: DateParserTests.cases + DateParserTests.otherLanguages)
    func afterOtherWords(_ c: (String, String, String)) throws {
        let parsed = try #require(DateParser().parse(Self.filler + c.0), "no date in \(Self.filler + c.0)")
        #expect(parsed.iso == c.1)
        #expect(parsed.text == c.2)
    }

    @Test("relative days, parts of the day and year-less dates after other words are still found",
          arguments: RelativeDateTests.relative)
    func relativeAfterOtherWords(_ c: (String, String, String)) throws {
        let parsed = try #require(DateParser(reference: RelativeDateTests.reference).parse(Self.filler + c.0))
        #expect(parsed.iso == c.1)
        #expect(parsed.text == c.2)
    }

    @Test("every month, weekday, zone phrase, relative day and part of the day of the tables opens a match")
    func startWordsCoverTheTables() {
        let starts = DateVocabulary.all.startWords
        for v in DateVocabulary.builtIn {
            for m in v.months.keys { #expect(starts.contains(m), "month \(m)") }
            for w in v.weekdays { #expect(starts.contains(w), "weekday \(w)") }
            for phrase in Array(v.relativeDays.keys) + Array(v.dayPeriods.keys) + v.zones.map(\.0) {
                let first = DateTokenizer.tokens(phrase).first?.lower ?? ""
                #expect(starts.contains(first), "first word of \(phrase)")
            }
        }
        #expect(!starts.contains("lorem"))
        #expect(!starts.contains("economic"))
    }

    @Test("titles ending in a number, a weekday or a month name hold no date", arguments: [
        "Cut said agreed first annual economic 8379", "Talks on Monday", "Storm expected in May",
        "Second week long coast 8359 and 12", "Vote 2024 at 10", "Ставки выросли 20",
    ])
    func titlesWithoutDates(_ text: String) {
        #expect(DateParser().parse(text) == nil)
    }

    @Test("a date right after a title's number is found", arguments: [
        ("Budget 8379 20 November 2025", "2025-11-20"), ("Report 12 Monday, Nov 3, 2025", "2025-11-03"),
        ("Vote 7 on 2025-07-15 10:20", "2025-07-15T10:20:00"), ("Talks 3 北京时间2025年11月20日22时10分", "2025-11-20T22:10:00+08:00"),
    ])
    func afterANumber(_ text: String, _ iso: String) {
        #expect(DateParser().parse(text)?.iso == iso)
    }
}

/// `DateTokenizer.asciiTokens` reads ASCII text from its bytes; it must give the tokens of the
/// scalar-by-scalar tokenizer.
@Suite("DateTokenizer: the ASCII byte path")
struct DateTokenizerASCIITests {
    static func same(_ text: String) {
        guard let fast = DateTokenizer.asciiTokens(text) else {
            Issue.record("no ASCII tokens for \(text)")
            return
        }
        let slow = DateTokenizer.scalarTokens(text)
        #expect(fast.count == slow.count, "\(text)")
        for (a, b) in zip(fast, slow) {
            #expect(a.kind == b.kind && a.text == b.text && a.lower == b.lower && a.range == b.range
                    && a.spaceBefore == b.spaceBefore && a.value == b.value && a.valueDigits == b.valueDigits, "\(text): \(a.text)")
        }
    }

    @Test("ASCII tokens are the scalar tokenizer's", arguments: [
        "", " ", "Nov 20, 2025 10:10 PM EST", "2025-07-15T10:20:30.123+08:00", "  Updated\t2:15 PM,\r\nFri  ",
        "MiXeD CaSe WORDS lower", "a.m. p.m. AM PM", "x", "Z", "9", "@#$%^&*()[]{}<>?/\\|~`'\"", "abc123def456",
        "Cut said agreed first annual economic 8379", "Vote\u{0B}at\u{0C}ten", "ZZZ zzz AaZz", "[@`{",
    ])
    func sameTokens(_ text: String) {
        Self.same(text)
    }

    @Test("every ASCII byte alone and between letters and digits gives the scalar tokenizer's tokens")
    func everyByte() {
        for b in UInt8(0)..<0x80 {
            let c = String(decoding: [b], as: UTF8.self)
            Self.same(c)
            Self.same("Ab" + c + "Cd 12" + c + "34 " + c)
        }
    }

    @Test("text with a byte over 0x7F goes the scalar way", arguments: ["20 ноября 2025", "café 2025", "2025年", "a\u{00A0}b"])
    func nonASCII(_ text: String) {
        #expect(DateTokenizer.asciiTokens(text) == nil)
        #expect(!DateTokenizer.tokens(text).isEmpty)
    }
}
