import Foundation
import SluiceCore
import SluiceFormats

/// The free-text date parser behind `sluice.date.parse`: SluiceCore's `DateParser`, the same
/// one `text_articles` uses for `published`, so a rule and the source agree on every format.
enum ArticleDates {
    /// The first date in `text` as ISO 8601 (`2025-11-20`, `2025-11-20T22:10:00`,
    /// `2025-11-20T22:10:00-05:00`), or nil. A time without a zone takes `defaultTimeZone`
    /// (`+08:00`, `UTC`, `EST`, `Beijing time`, `Asia/Shanghai`) when one is given.
    static func parse(_ text: String, defaultTimeZone: String?) -> String? {
        DateParser(defaultTimeZone: defaultTimeZone.flatMap(TimeZoneSpec.init)).parse(text)?.iso
    }

    /// Whether `zone` names a time zone `parse` accepts.
    static func isKnownZone(_ zone: String) -> Bool {
        TimeZoneSpec(zone) != nil
    }
}

/// A civil date, optionally with a time and a UTC offset, as ISO 8601 writes it; the reader and
/// formatter behind `sluice.date.format`.
struct ISODateTime: Equatable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int?
    var minute = 0
    var second = 0
    /// Digits of a fraction of a second, as written.
    var fraction: String?
    /// Seconds east of UTC; nil when the time is in no known zone.
    var offset: Int?

    /// Reads `YYYY-MM-DD`, optionally followed by `T` (or a space) and `HH:MM[:SS[.fff]]`, and
    /// `Z` or an offset (`+05:30`, `+0530`, `+05`).
    init?(_ text: String) {
        let b = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= b.count else { return nil }
            var v = 0
            for k in i..<(i + width) {
                guard b[k] >= 0x30 && b[k] <= 0x39 else { return nil }
                v = v * 10 + Int(b[k] - 0x30)
            }
            i += width
            return v
        }
        func take(_ c: UInt8) -> Bool {
            if i < b.count && b[i] == c { i += 1; return true }
            return false
        }
        guard let y = number(4), take(0x2D), let m = number(2), take(0x2D), let d = number(2) else { return nil }
        guard (1...12).contains(m), d >= 1, d <= CivilCalendar.daysIn(month: m, year: y) else { return nil }
        year = y
        month = m
        day = d
        if i == b.count { return }
        guard take(0x54) || take(0x74) || take(0x20), let h = number(2), take(0x3A), let mi = number(2),
              h <= 23, mi <= 59 else { return nil }
        hour = h
        minute = mi
        if take(0x3A) {
            guard let s = number(2), s <= 60 else { return nil }
            second = s
            if take(0x2E) || take(0x2C) {
                let start = i
                while i < b.count && b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
                guard i > start else { return nil }
                fraction = String(decoding: b[start..<i], as: UTF8.self)
            }
        }
        if i == b.count { return }
        if take(0x5A) || take(0x7A) {
            offset = 0
        } else if i < b.count, b[i] == 0x2B || b[i] == 0x2D {
            let sign = b[i] == 0x2D ? -1 : 1
            i += 1
            guard let oh = number(2), oh <= 14 else { return nil }
            var om = 0
            if take(0x3A) {
                guard let v = number(2) else { return nil }
                om = v
            } else if i < b.count {
                guard let v = number(2) else { return nil }
                om = v
            }
            guard om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        }
        guard i == b.count else { return nil }
    }

    /// The UTC date and time of a Unix time.
    init(epochSeconds: Double) {
        let whole = Int(epochSeconds.rounded(.down))
        let days = whole >= 0 ? whole / 86_400 : (whole - 86_399) / 86_400
        let secs = whole - days * 86_400
        (year, month, day) = CivilCalendar.civil(fromDays: days)
        hour = secs / 3600
        minute = secs % 3600 / 60
        second = secs % 60
        let frac = epochSeconds - Double(whole)
        if frac > 0 {
            var digits = String(Int((frac * 1000).rounded()))
            while digits.count < 3 { digits = "0" + digits }
            while digits.hasSuffix("0") { digits.removeLast() }
            if !digits.isEmpty && digits != "1000" { fraction = digits }
        }
        offset = 0
    }

    /// ISO 8601 text, as `DateParser` writes it (`Z` for UTC).
    var iso: String {
        var s = CivilCalendar.pad(year, 4) + "-" + CivilCalendar.pad(month, 2) + "-" + CivilCalendar.pad(day, 2)
        guard let hour else { return s }
        s += "T" + CivilCalendar.pad(hour, 2) + ":" + CivilCalendar.pad(minute, 2) + ":" + CivilCalendar.pad(second, 2)
        if let fraction { s += "." + fraction }
        if let offset { s += CivilCalendar.offsetText(offset, colon: true, zulu: true) }
        return s
    }

    /// Days since 1970-01-01 of the date.
    var daysSinceEpoch: Int { CivilCalendar.daysSinceEpoch(year: year, month: month, day: day) }

    /// Seconds since the Unix epoch (the offset applied; none counts as UTC).
    var epochSeconds: Int {
        daysSinceEpoch * 86_400 + (hour ?? 0) * 3600 + minute * 60 + second - (offset ?? 0)
    }

    /// The offset of a zone (`Z`, `UTC`, `GMT`, `+08:00`, `-0500`, an IANA name) at a date.
    static func offsetSeconds(of zone: String, at date: ISODateTime) -> Int? {
        let z = zone.trimmingCharacters(in: .whitespaces)
        if ["Z", "z", "UTC", "utc", "GMT", "gmt"].contains(z) { return 0 }
        if let parsed = ISODateTime("1970-01-01T00:00" + z), let offset = parsed.offset { return offset }
        guard z.contains("/"), let tz = TimeZone(identifier: z) else { return nil }
        var local = date
        local.offset = 0
        let guess = tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(local.epochSeconds)))
        return tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(local.epochSeconds - guess)))
    }

    static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                             "October", "November", "December"]
    static let dayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// Formats with `strftime` conversions (C locale): `%Y %y %m %d %e %H %I %M %S %p %j %a %A %b
    /// %B %h %u %w %z %Z %s %F %T %R %D %f %%`. `%z` is `+hhmm` and `%Z` is `UTC` or `+hh:mm`,
    /// both empty for a time in no known zone; `%f` is the fraction's digits. Throws the text of
    /// an unknown conversion.
    func format(_ pattern: String) throws(DateFormatError) -> String {
        var out = ""
        var chars = pattern.makeIterator()
        let weekday = ((daysSinceEpoch % 7) + 11) % 7  // 1970-01-01 was a Thursday (4)
        let h = hour ?? 0
        while let c = chars.next() {
            guard c == "%" else { out.append(c); continue }
            guard let k = chars.next() else { throw DateFormatError(conversion: "%") }
            switch k {
            case "Y": out += CivilCalendar.pad(year, 4)
            case "y": out += CivilCalendar.pad(year % 100, 2)
            case "C": out += CivilCalendar.pad(year / 100, 2)
            case "m": out += CivilCalendar.pad(month, 2)
            case "d": out += CivilCalendar.pad(day, 2)
            case "e": out += day < 10 ? " \(day)" : "\(day)"
            case "H": out += CivilCalendar.pad(h, 2)
            case "I": out += CivilCalendar.pad(h % 12 == 0 ? 12 : h % 12, 2)
            case "M": out += CivilCalendar.pad(minute, 2)
            case "S": out += CivilCalendar.pad(second, 2)
            case "p": out += h < 12 ? "AM" : "PM"
            case "j":
                let start = ISODateTime(year: year, month: 1, day: 1)
                out += CivilCalendar.pad(daysSinceEpoch - start.daysSinceEpoch + 1, 3)
            case "a": out += String(ISODateTime.dayNames[weekday].prefix(3))
            case "A": out += ISODateTime.dayNames[weekday]
            case "b", "h": out += String(ISODateTime.monthNames[month - 1].prefix(3))
            case "B": out += ISODateTime.monthNames[month - 1]
            case "u": out += String(weekday == 0 ? 7 : weekday)
            case "w": out += String(weekday)
            case "z": if let offset { out += CivilCalendar.offsetText(offset, colon: false, zulu: false) }
            case "Z": if let offset { out += offset == 0 ? "UTC" : CivilCalendar.offsetText(offset, colon: true, zulu: false) }
            case "s": out += String(epochSeconds)
            case "F": out += try format("%Y-%m-%d")
            case "T": out += try format("%H:%M:%S")
            case "R": out += try format("%H:%M")
            case "D": out += try format("%m/%d/%y")
            case "f": out += fraction ?? "0"
            case "%": out += "%"
            case "n": out += "\n"
            case "t": out += "\t"
            default: throw DateFormatError(conversion: "%" + String(k))
            }
        }
        return out
    }

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }
}

/// An unknown conversion in a date format.
struct DateFormatError: Error {
    var conversion: String
}
