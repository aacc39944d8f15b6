// The writer half of Sluice's JSON (the reader is `JSONReader` in SluiceFormats): a value's
// JSON text is part of the record model — `Value.description`, dead-letter lines and the
// checkpoint stores' last values are written with it — so it lives beside `Value`.

/// Writes values as JSON: compact by default, keys in their order, `/` not escaped, non-ASCII
/// kept as UTF-8, doubles in their shortest round-trip form (`1.0` stays `1.0`).
public enum JSONWriter {
    /// Appends the JSON text of `value` to `out`. Non-finite doubles are written as `null`.
    public static func write(_ value: Value, to out: inout [UInt8], pretty: Bool = false, indent: Int = 0) {
        switch value {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): writeDouble(d, to: &out)
        case .string(let s): writeString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            if items.isEmpty { out.append(UInt8(ascii: "]")); return }
            for (k, item) in items.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { newline(indent + 1, &out) }
                write(item, to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(indent, &out) }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            if fields.isEmpty { out.append(UInt8(ascii: "}")); return }
            var first = true
            for (key, item) in fields {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                if pretty { newline(indent + 1, &out) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(0x20) }
                write(item, to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(indent, &out) }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends the fields of a record as one JSON object.
    public static func write(_ fields: Fields, to out: inout [UInt8]) {
        write(.object(fields), to: &out)
    }

    /// The JSON text of `value`.
    public static func string(_ value: Value, pretty: Bool = false) -> String {
        var out: [UInt8] = []
        write(value, to: &out, pretty: pretty)
        return String(decoding: out, as: UTF8.self)
    }

    private static func newline(_ indent: Int, _ out: inout [UInt8]) {
        out.append(0x0A)
        for _ in 0..<indent { out.append(0x20); out.append(0x20) }
    }

    private static func writeDouble(_ d: Double, to out: inout [UInt8]) {
        guard d.isFinite else { out.append(contentsOf: Array("null".utf8)); return }
        // Swift's description is the shortest text that reads back to the same double, and keeps
        // ".0" on integral values so they stay doubles on the next read.
        out.append(contentsOf: d.description.utf8)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` as a quoted JSON string.
    ///
    /// Measured hot path (FACTS.md: the byte-by-byte loop ran 11–12 instructions per byte, ~20 %
    /// of the json sink's thread): bytes that need no escape are found 8 at a time
    /// (``scanPlain(_:from:)`` finds `"`, `\\` and control characters) and copied
    /// as runs; only the escaped bytes are written one by one.
    public static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        var copy = s
        copy.withUTF8 { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            var i = 0
            while i < bytes.count {
                let (stop, _) = scanPlain(raw, from: i)
                if i < stop { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<stop])) }
                guard stop < bytes.count else { break }
                let c = bytes[stop]
                switch c {
                case 0x22: out.append(0x5C); out.append(0x22)
                case 0x5C: out.append(0x5C); out.append(0x5C)
                case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
                case 0x08: out.append(0x5C); out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(0x5C); out.append(UInt8(ascii: "f"))
                default:
                    out.append(0x5C); out.append(UInt8(ascii: "u")); out.append(0x30); out.append(0x30)
                    out.append(hex[Int(c >> 4)]); out.append(hex[Int(c & 0xF)])
                }
                i = stop + 1
            }
        }
        out.append(0x22)
    }

    /// The offset of the first `"`, `\` or control character (below 0x20) at or after `from`
    /// (or the end), and whether a byte before it is non-ASCII. Eight bytes at a time with the
    /// usual bit tricks: `(x - 0x01…) & ~x & 0x80…` is non-zero exactly when a byte of `x` is 0.
    /// Shared with `JSONReader` (SluiceFormats), which finds the end of a string with it.
    @inlinable
    package static func scanPlain(_ base: UnsafeRawBufferPointer, from: Int) -> (stop: Int, nonASCII: Bool) {
        var i = from
        let count = base.count
        var high: UInt64 = 0
        if let p = base.baseAddress {
            while i &+ 8 <= count {
                let w = ByteWords.load(p, i)
                let stops = ByteWords.anyZero(w ^ (ByteWords.ones &* 0x22)) | ByteWords.anyZero(w ^ (ByteWords.ones &* 0x5C))
                    | ByteWords.anyBelow(w, 0x20)
                if stops != 0 { break }
                high |= w
                i &+= 8
            }
            while i < count {
                let c = p.load(fromByteOffset: i, as: UInt8.self)
                if c == 0x22 || c == 0x5C || c < 0x20 { break }
                high |= UInt64(c)
                i &+= 1
            }
        }
        return (i, ByteWords.nonASCII(high) != 0)
    }
}
