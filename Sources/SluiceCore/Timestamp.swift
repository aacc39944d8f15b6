import Foundation

/// ISO 8601 times with milliseconds (`2026-11-26T23:10:00.123Z`), as dead letters and the
/// checkpoint stores write them.
public enum Timestamp {
    /// The text of `date` in UTC, to the millisecond (rounded). Written by hand: a checkpoint
    /// save writes one per batch, and a new `ISO8601DateFormatter` per call (it is not
    /// Sendable) cost 640,000 instructions — 9 % of the sqlite sink's thread in job 1 of
    /// `make bench` (callgrind). This is a few hundred.
    public static func string(_ date: Date) -> String {
        let milliseconds = Int((date.timeIntervalSince1970 * 1000).rounded())
        let (days, inDay) = floorDivide(milliseconds, 86_400_000)
        let (year, month, day) = CivilCalendar.civil(fromDays: days)
        let pad = CivilCalendar.pad
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(inDay / 3_600_000, 2)):"
            + "\(pad(inDay / 60_000 % 60, 2)):\(pad(inDay / 1_000 % 60, 2)).\(pad(inDay % 1_000, 3))Z"
    }

    /// `a / b` and `a % b` rounded towards minus infinity (dates before 1970).
    static func floorDivide(_ a: Int, _ b: Int) -> (Int, Int) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
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
