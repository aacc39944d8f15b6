import SluiceCore

/// Strings made from UTF-8 bytes with one validation pass instead of two.
///
/// `String(decoding:as:)` validates its bytes (and repairs them) itself; a reader that must also
/// know *whether* the bytes were valid (to report the byte, not to repair it) paid for a second
/// pass, and the standard library's pass goes scalar by scalar once it meets a non-ASCII byte.
/// Measured hot path (issue 13, job 1): that pass was 42 % of the JSON source's thread on
/// article-like records (a 1.5 KB body with a few accented letters or dashes is "non-ASCII" as a
/// whole). ``firstInvalid(_:)`` skips ASCII eight bytes at a time inside such strings too, and
/// the string is then copied without a second check (`UTF8Span(unchecked:)` +
/// `String(copying:)`, public since Swift 6.2). Micro-benchmark on this machine: 4.4 KB of
/// dense non-ASCII prose, 200,000 times — `String(decoding:)` 1.46 s, this 0.50 s.
public enum UTF8Text {
    /// The offset of the first byte of `bytes` that does not begin a well-formed UTF-8 sequence
    /// (the lead byte of a sequence that is cut short, overlong, a surrogate or beyond U+10FFFF),
    /// or `nil` when all of `bytes` is well-formed UTF-8. The rules are Unicode's (Table 3-7), the
    /// same the standard library applies.
    public static func firstInvalid(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let p = bytes.baseAddress else { return nil }
        let n = bytes.count
        var i = 0
        while i < n {
            if i &+ 8 <= n {
                let high = ByteWords.nonASCII(ByteWords.load(UnsafeRawPointer(p), i))
                if high == 0 { i &+= 8; continue }
                i &+= high.trailingZeroBitCount >> 3
            } else if p[i] < 0x80 {
                i &+= 1
                continue
            }
            let lead = p[i]
            switch lead {
            case 0xC2...0xDF:
                guard i &+ 1 < n, isContinuation(p[i &+ 1]) else { return i }
                i &+= 2
            case 0xE0...0xEF:
                guard i &+ 2 < n else { return i }
                let second = p[i &+ 1]
                let low: UInt8 = lead == 0xE0 ? 0xA0 : 0x80  // no overlong forms
                let high: UInt8 = lead == 0xED ? 0x9F : 0xBF  // no surrogates
                guard second >= low, second <= high, isContinuation(p[i &+ 2]) else { return i }
                i &+= 3
            case 0xF0...0xF4:
                guard i &+ 3 < n else { return i }
                let second = p[i &+ 1]
                let low: UInt8 = lead == 0xF0 ? 0x90 : 0x80  // no overlong forms
                let high: UInt8 = lead == 0xF4 ? 0x8F : 0xBF  // nothing past U+10FFFF
                guard second >= low, second <= high, isContinuation(p[i &+ 2]), isContinuation(p[i &+ 3])
                else { return i }
                i &+= 4
            default:
                return i  // a continuation byte alone, C0/C1 (always overlong) or F5…FF
            }
        }
        return nil
    }

    /// The string of `bytes` when they are well-formed UTF-8, `nil` otherwise (never repaired).
    public static func string(validating bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard firstInvalid(bytes) == nil else { return nil }
        return string(validUTF8: bytes)
    }

    /// The string of `bytes`, which the caller has checked are well-formed UTF-8 (the bytes of a
    /// `String` with whole scalars and ASCII removed or added, or bytes ``firstInvalid(_:)``
    /// passed). Copies them without checking again: bytes that are not valid UTF-8 here would
    /// make a broken `String`, hence `package`, not `public`.
    /// `isASCII` says every byte is below 0x80 (the copy then skips its own ASCII scan).
    package static func string(validUTF8 bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool = false) -> String {
        guard bytes.count > 0 else { return "" }
        return unsafe String(copying: UTF8Span(unchecked: bytes.span, isKnownASCII: isASCII))
    }

    @inline(__always)
    private static func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
}
