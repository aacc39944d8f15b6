import Foundation

/// ISO 8601 times with milliseconds (`2026-11-26T23:10:00.123Z`), as dead letters and the
/// checkpoint stores write them.
public enum Timestamp {
    /// The text of `date` in UTC, to the millisecond (rounded). Written by hand: a checkpoint
    /// save writes one per batch, and a new `ISO8601DateFormatter` per call (it is not
    /// Sendable) cost 640,000 instructions — 9 % of the sqlite sink's thread in job 1 of
    /// `make bench` (callgrind). This is a few hundred.
    public static func string(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (days, inDay) = floorDivide(milliseconds, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        var text = ""
        text.reserveCapacity(24)
        func append(_ n: Int64, width: Int) {
            let digits = String(n)
            if digits.count < width { text += String(repeating: "0", count: width - digits.count) }
            text += digits
        }
        append(year, width: 4); text += "-"; append(month, width: 2); text += "-"; append(day, width: 2)
        text += "T"
        append(inDay / 3_600_000, width: 2); text += ":"
        append(inDay / 60_000 % 60, width: 2); text += ":"
        append(inDay / 1_000 % 60, width: 2); text += "."
        append(inDay % 1_000, width: 3); text += "Z"
        return text
    }

    /// `a / b` and `a % b` rounded towards minus infinity (dates before 1970).
    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    /// The proleptic Gregorian year, month and day of a count of days since 1970-01-01 (Howard
    /// Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097).0
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The date of `text`, with or without fractional seconds; nil when it is not one.
    public static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
