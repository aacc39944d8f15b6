import OrderedCollections
import SluiceCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Sluice reads and writes JSON with its own byte scanner instead of Foundation's
// JSONSerialization/JSONDecoder. Three reasons, measured (`make bench BENCH=stores`):
// JSONSerialization cannot tell `1` from `1.0` and loses key order, JSONEncoder does not keep
// key order either, and JSONSerialization's writer runs at ~17 MB/s against >200 MB/s here.

/// A JSON syntax error with the place it was found.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, in words (`expected ':' after object key`).
    public var message: String
    /// The 1-based line of the offending byte within the parsed text.
    public var line: Int
    /// The 1-based column (in characters) of the offending byte within its line.
    public var column: Int
    /// The 0-based byte offset of the offending byte.
    public var offset: Int

    /// `LINE:COL: message`.
    public var description: String { "\(line):\(column): \(message)" }
}

/// A fast, strict JSON parser over UTF-8 bytes that keeps integers and key order.
///
/// Use ``parse(_:maxDepth:)`` for a whole document; use an instance to read a stream of values
/// (for example the elements of a top-level array) without holding them all.
public struct JSONReader: ~Copyable {
    /// The default limit on nesting of arrays and objects.
    public static let defaultMaxDepth = 512

    private let base: UnsafeRawBufferPointer
    /// The current byte offset.
    public private(set) var offset: Int
    private let maxDepth: Int
    private var depth = 0
    /// Fields of the last top-level object: the next record's storage is reserved at that size
    /// (records of one input share a shape) instead of growing 1, 2, 4, 8 (job 1 profile: the
    /// regrowth was ~3 % of the JSON source's instructions).
    private var recordFieldsHint = 0

    /// Creates a reader over `bytes`, which must stay valid while the reader is used.
    public init(bytes: UnsafeRawBufferPointer, maxDepth: Int = JSONReader.defaultMaxDepth) {
        self.base = bytes
        self.offset = 0
        self.maxDepth = maxDepth
    }

    /// Parses one complete JSON document; anything but whitespace after it is an error.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> Value {
        var hint = 0
        return try parse(bytes, maxDepth: maxDepth, fieldsHint: &hint)
    }

    /// Parses one complete JSON document from bytes, one of a series (JSON Lines):
    /// `fieldsHint` carries the field count of the last top-level object from one call to the
    /// next, so that each record's storage is reserved once at its likely size.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth,
                             fieldsHint: inout Int) throws(JSONError) -> Value {
        var reader = JSONReader(bytes: bytes, maxDepth: maxDepth)
        reader.recordFieldsHint = fieldsHint
        defer { fieldsHint = reader.recordFieldsHint }
        reader.skipWhitespace()
        let value = try reader.readValue()
        reader.skipWhitespace()
        if !reader.isAtEnd { throw reader.error("unexpected \(reader.describeCurrent()) after the JSON value") }
        return value
    }

    /// Parses one complete JSON document from a string.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> Value {
        var copy = text
        let result = copy.withUTF8 { buf in
            Result { () throws(JSONError) -> Value in try parse(UnsafeRawBufferPointer(buf), maxDepth: maxDepth) }
        }
        return try result.get()
    }

    /// Parses one complete JSON document from bytes.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONError) -> Value {
        let result = bytes.withUnsafeBytes { buf in
            Result { () throws(JSONError) -> Value in try parse(buf, maxDepth: maxDepth) }
        }
        return try result.get()
    }

    /// Whether every byte has been consumed.
    public var isAtEnd: Bool { offset >= base.count }

    /// The byte at the current offset, or `nil` at the end.
    public var current: UInt8? { offset < base.count ? base[offset] : nil }

    /// Moves past one byte.
    public mutating func advance() { offset += 1 }

    /// Skips JSON whitespace (space, tab, CR, LF).
    public mutating func skipWhitespace() {
        while offset < base.count {
            switch base[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    /// Makes an error at the current offset, with its line and column.
    public func error(_ message: String) -> JSONError {
        error(message, at: offset)
    }

    /// Makes an error at `position`, with its line and column.
    public func error(_ message: String, at position: Int) -> JSONError {
        let end = min(position, base.count)
        var line = 1
        var lineStart = 0
        var i = 0
        while i < end {
            if base[i] == 0x0A { line += 1; lineStart = i + 1 }
            i += 1
        }
        var column = 1
        i = lineStart
        while i < end {
            if base[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return JSONError(message: message, line: line, column: column, offset: position)
    }

    /// Describes the current byte for a message: `'x'`, `end of input`.
    public func describeCurrent() -> String {
        guard let c = current else { return "end of input" }
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        if c == 0x20 { return "' '" }
        return "byte 0x\(String(c, radix: 16, uppercase: true))"
    }

    /// Reads one value at the current offset (whitespace before it must already be skipped).
    public mutating func readValue() throws(JSONError) -> Value {
        guard offset < base.count else { throw error("unexpected end of input, expected a value") }
        switch base[offset] {
        case UInt8(ascii: "{"): return try readObject()
        case UInt8(ascii: "["): return try readArray()
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        default: throw error("unexpected \(describeCurrent()), expected a value")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONError) {
        let start = offset
        let count = word.utf8CodeUnitCount
        let p = word.utf8Start
        for k in 0..<count {
            guard offset < base.count, base[offset] == p[k] else {
                throw error("invalid literal, expected '\(word)'", at: start)
            }
            offset += 1
        }
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
    }

    private mutating func readObject() throws(JSONError) -> Value {
        try enter()
        offset += 1
        var fields = Fields()
        let isRecord = depth == 1
        if isRecord && recordFieldsHint > 0 { fields.reserveCapacity(recordFieldsHint) }
        skipWhitespace()
        if current == UInt8(ascii: "}") { offset += 1; depth -= 1; return .object(fields) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else {
                throw error("unexpected \(describeCurrent()), expected a string key")
            }
            let key = try readString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else {
                throw error("unexpected \(describeCurrent()), expected ':' after object key")
            }
            offset += 1
            skipWhitespace()
            fields[key] = try readValue()
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                depth -= 1
                if isRecord { recordFieldsHint = min(fields.count, 64) }
                return .object(fields)
            default: throw error("unexpected \(describeCurrent()), expected ',' or '}' in object")
            }
        }
    }

    private mutating func readArray() throws(JSONError) -> Value {
        try enter()
        offset += 1
        var items: [Value] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { offset += 1; depth -= 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try readValue())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"): offset += 1; depth -= 1; return .array(items)
            default: throw error("unexpected \(describeCurrent()), expected ',' or ']' in array")
            }
        }
    }

    private mutating func readNumber() throws(JSONError) -> Value {
        let start = offset
        var isInteger = true
        if base[offset] == UInt8(ascii: "-") { offset += 1 }
        guard let first = current, first >= 0x30 && first <= 0x39 else {
            throw error("invalid number: a digit must follow '-'", at: start)
        }
        if first == 0x30 {
            offset += 1
            if let c = current, c >= 0x30 && c <= 0x39 { throw error("invalid number: leading zero", at: start) }
        } else {
            while let c = current, c >= 0x30 && c <= 0x39 { offset += 1 }
        }
        if current == UInt8(ascii: ".") {
            isInteger = false
            offset += 1
            guard let c = current, c >= 0x30 && c <= 0x39 else { throw error("invalid number: a digit must follow '.'") }
            while let c = current, c >= 0x30 && c <= 0x39 { offset += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            guard let c = current, c >= 0x30 && c <= 0x39 else { throw error("invalid number: a digit must follow the exponent") }
            while let c = current, c >= 0x30 && c <= 0x39 { offset += 1 }
        }
        let slice = UnsafeRawBufferPointer(rebasing: base[start..<offset])
        if isInteger {
            // Fast path: accumulate digits; fall back to Double on overflow.
            var negative = false
            var value: Int64 = 0
            var overflow = false
            for (k, byte) in slice.enumerated() {
                if k == 0 && byte == UInt8(ascii: "-") { negative = true; continue }
                let digit = Int64(byte &- 0x30)
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = negative ? m.subtractingReportingOverflow(digit) : m.addingReportingOverflow(digit)
                if o1 || o2 { overflow = true; break }
                value = s
            }
            if !overflow { return .int(value) }
        }
        let text = String(decoding: slice, as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw error("number out of range", at: start) }
        return .double(d)
    }

    /// Reads a string token at the current offset (which must be a `"`).
    public mutating func readString() throws(JSONError) -> String {
        let quote = offset
        offset += 1
        let start = offset
        // Fast path: no escapes, no control characters. Measured hot path (FACTS.md, "Where the
        // time goes": `String(validating:)` was ~13 % of the JSON source): the scan goes 8 bytes
        // at a time and notes whether any byte is non-ASCII; an all-ASCII run is valid UTF-8 as
        // it stands, and only other runs are checked.
        let (stop, nonASCII) = JSONWriter.scanPlain(base, from: start)
        offset = stop
        guard stop < base.count else { throw error("unterminated string", at: quote) }
        if base[stop] == UInt8(ascii: "\"") {
            let slice = UnsafeRawBufferPointer(rebasing: base[start..<stop])
            offset += 1
            if let s = Self.makeString(slice, nonASCII: nonASCII) { return s }
            throw error("invalid UTF-8 in string", at: start + firstInvalidUTF8(slice))
        }
        var bytes = [UInt8](UnsafeRawBufferPointer(rebasing: base[start..<offset]))
        var anyNonASCII = nonASCII
        while true {
            guard offset < base.count else { throw error("unterminated string", at: quote) }
            let c = base[offset]
            if c == UInt8(ascii: "\"") { offset += 1; break }
            if c < 0x20 { throw error("control character in string; it must be escaped") }
            if c != UInt8(ascii: "\\") {
                // A run of plain bytes up to the next quote, backslash or control character.
                let (runEnd, runNonASCII) = JSONWriter.scanPlain(base, from: offset)
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: base[offset..<runEnd]))
                anyNonASCII = anyNonASCII || runNonASCII
                offset = runEnd
                continue
            }
            offset += 1
            guard let e = current else { throw error("unterminated string", at: quote) }
            offset += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try readHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    if current == UInt8(ascii: "\\"), offset + 1 < base.count, base[offset + 1] == UInt8(ascii: "u") {
                        offset += 2
                        let low = try readHex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            appendUTF8(0xFFFD, to: &bytes)
                            scalar = low
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(scalar) {
                    scalar = 0xFFFD
                }
                if scalar >= 0x80 { anyNonASCII = true }
                appendUTF8(scalar, to: &bytes)
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))' in string", at: offset - 2)
            }
        }
        let made = bytes.withUnsafeBytes { Self.makeString($0, nonASCII: anyNonASCII) }
        if let s = made { return s }
        throw error("invalid UTF-8 in string", at: firstInvalidUTF8(escapedString: start..<(offset - 1)))
    }

    /// The offset of the first byte that is not valid UTF-8 in the plain runs of the string
    /// body `range` (escapes skipped: they make valid UTF-8; runs end at ASCII bytes, so no
    /// sequence spans two). Only for the message: the string was already found invalid.
    private func firstInvalidUTF8(escapedString range: Range<Int>) -> Int {
        var i = range.lowerBound
        while i < range.upperBound {
            if base[i] == UInt8(ascii: "\\") {
                i += i + 1 < range.upperBound && base[i + 1] == UInt8(ascii: "u") ? 6 : 2
                continue
            }
            var end = i
            while end < range.upperBound && base[end] != UInt8(ascii: "\\") { end += 1 }
            let run = UnsafeRawBufferPointer(rebasing: base[i..<end])
            if let bad = UTF8Text.firstInvalid(run.bindMemory(to: UInt8.self)) { return i + bad }
            i = end
        }
        return range.lowerBound
    }

    /// The string of UTF-8 `bytes`, or `nil` when they are not valid UTF-8. All-ASCII bytes are
    /// valid as they are; other bytes are checked once (``UTF8Text``, the measured hot path).
    @inline(__always)
    static func makeString(_ bytes: UnsafeRawBufferPointer, nonASCII: Bool) -> String? {
        let units = bytes.bindMemory(to: UInt8.self)
        guard nonASCII else { return UTF8Text.string(validUTF8: units, isASCII: true) }
        return UTF8Text.string(validating: units)
    }

    private mutating func readHex4() throws(JSONError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            // `base[offset]` rather than `current`: the 6.3.1 optimizer crashes (SIL verifier,
            // LoadBorrow) on `guard let c = current` in this loop in release builds.
            guard offset < base.count else { throw error("unterminated \\u escape") }
            let c = base[offset]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            offset += 1
        }
        return v
    }

    private func appendUTF8(_ scalar: UInt32, to bytes: inout [UInt8]) {
        let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        UTF8.encode(s) { bytes.append($0) }
    }

    private func firstInvalidUTF8(_ slice: UnsafeRawBufferPointer) -> Int {
        UTF8Text.firstInvalid(slice.bindMemory(to: UInt8.self)) ?? 0
    }
}
