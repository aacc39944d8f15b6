import Foundation
import SluiceCore
import Testing

@Suite("Diagnostics")
struct DiagnosticsTests {
    @Test("did-you-mean finds near misses and stays quiet for unrelated words")
    func suggestions() {
        #expect(Suggest.closest(to: "proces", in: ["process", "init", "finish"]) == "process")
        #expect(Suggest.closest(to: "fnish", in: ["process", "init", "finish"]) == "finish")
        #expect(Suggest.closest(to: "tabel", in: ["table", "path"]) == "table")
        #expect(Suggest.closest(to: "zzzz", in: ["process", "init"]) == nil)
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test("the hand-written ISO 8601 text matches Foundation's formatter to the millisecond, across leap years and before 1970")
    func matchesFoundation() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var dates: [Date] = [0, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, -1, -86_400_000, -2_208_988_800_000,
                             1_764_630_000_123, 253_402_300_799_999].map { Date(timeIntervalSince1970: Double($0) / 1000) }
        for _ in 0..<2_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let ms = Int64(bitPattern: state >> 1) % 8_000_000_000_000 - 2_000_000_000_000
            dates.append(Date(timeIntervalSince1970: Double(ms) / 1000))
        }
        for date in dates {
            #expect(Timestamp.string(date) == formatter.string(from: date), "\(date.timeIntervalSince1970)")
        }
        let parsed = try #require(Timestamp.date(Timestamp.string(Date(timeIntervalSince1970: 1_764_630_000.5))))
        #expect(parsed.timeIntervalSince1970 == 1_764_630_000.5)
    }
}
