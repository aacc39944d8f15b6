import SluiceCore
import Testing

@Suite("Eight bytes at once (ByteWords)")
struct ByteWordsTests {
    /// The high bit of each byte of `bytes` for which `test` holds.
    private func expected(_ bytes: [UInt8], _ test: (UInt8) -> Bool) -> UInt64 {
        var out: UInt64 = 0
        for (k, b) in bytes.enumerated() where test(b) { out |= 0x80 << (8 * UInt64(k)) }
        return out
    }

    @Test("every byte value in every lane, beside neighbours that could carry or borrow, is judged exactly")
    func everyByteEveryLane() {
        for value in 0...255 {
            for lane in 0..<8 {
                for fill: UInt8 in [0x00, 0x01, 0x1F, 0x20, 0x7F, 0x80, 0xFF] {
                    var bytes = [UInt8](repeating: fill, count: 8)
                    bytes[lane] = UInt8(value)
                    let w = bytes.withUnsafeBytes { ByteWords.load($0.baseAddress!, 0) }
                    #expect(ByteWords.zero(w) == expected(bytes) { $0 == 0 })
                    #expect(ByteWords.equal(w, 0x22) == expected(bytes) { $0 == 0x22 })
                    #expect(ByteWords.below(w, 0x20) == expected(bytes) { $0 < 0x20 })
                    #expect(ByteWords.below(w, 0x80) == expected(bytes) { $0 < 0x80 })
                    #expect(ByteWords.nonASCII(w) == expected(bytes) { $0 >= 0x80 })
                    #expect((ByteWords.anyZero(w) != 0) == bytes.contains(0))
                    #expect((ByteWords.anyBelow(w, 0x20) != 0) == bytes.contains { $0 < 0x20 })
                }
            }
        }
    }
}
