/// Tests on eight bytes at once (a little-endian `UInt64` read from a byte buffer), the bit
/// tricks the byte scanners share (JSON strings, UTF-8 checks, text decoding, article text).
/// Each result has the high bit (0x80) set in exactly the bytes that pass, so
/// `trailingZeroBitCount / 8` is the first such byte; no carry crosses a byte.
public enum ByteWords {
    /// 0x01 in every byte.
    public static let ones: UInt64 = 0x0101_0101_0101_0101
    /// 0x80 in every byte.
    public static let highs: UInt64 = 0x8080_8080_8080_8080
    /// 0x7F in every byte.
    public static let lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F

    /// The eight bytes at `offset` of `base` (unaligned), as a little-endian word.
    @inlinable @inline(__always)
    public static func load(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The bytes that are 0.
    @inlinable @inline(__always)
    public static func zero(_ w: UInt64) -> UInt64 {
        ~(((w & lows) &+ lows) | w) & highs
    }

    /// The bytes equal to `byte`.
    @inlinable @inline(__always)
    public static func equal(_ w: UInt64, _ byte: UInt8) -> UInt64 {
        zero(w ^ (ones &* UInt64(byte)))
    }

    /// The bytes below `limit` (at most 0x80).
    @inlinable @inline(__always)
    public static func below(_ w: UInt64, _ limit: UInt8) -> UInt64 {
        ~(((w & lows) &+ (ones &* UInt64(0x80 - limit))) | w) & highs
    }

    /// Non-zero exactly when some byte is 0; cheaper than ``zero(_:)`` when only that is asked
    /// (a borrow may mark a byte after a zero, so it does not say which). Results of several
    /// tests can be or-ed and checked with one branch.
    @inlinable @inline(__always)
    public static func anyZero(_ w: UInt64) -> UInt64 { (w &- ones) & ~w & highs }

    /// Non-zero exactly when some byte is below `limit` (at most 0x80), as cheap as ``anyZero(_:)``.
    @inlinable @inline(__always)
    public static func anyBelow(_ w: UInt64, _ limit: UInt8) -> UInt64 {
        (w &- ones &* UInt64(limit)) & ~w & highs
    }

    /// The bytes at or above 0x80.
    @inlinable @inline(__always)
    public static func nonASCII(_ w: UInt64) -> UInt64 { w & highs }
}
