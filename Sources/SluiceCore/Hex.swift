/// Lower-case hexadecimal text of bytes (digests in ids, `sluice.hash`, state file names).
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The hex digits of `bytes`, two per byte, as UTF-8.
    public static func utf8<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return out
    }

    /// The hex digits of `bytes`, two per byte.
    public static func string<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        String(decoding: utf8(bytes), as: UTF8.self)
    }
}
