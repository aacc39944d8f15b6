import Foundation

/// ISO 8601 times with milliseconds (`2026-11-26T23:10:00.123Z`), as dead letters and the
/// checkpoint stores write them.
public enum Timestamp {
    /// The text of `date`. A new formatter per call: `ISO8601DateFormatter` is not Sendable, and
    /// the callers (dead letters, run records) are rare.
    public static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
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
