import Foundation
import SluiceCore
import SluiceFormats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The whole content of an input, memory-mapped when it is a regular file, else read into memory.
final class FileBytes {
    private let mapped: UnsafeMutableRawPointer?
    private let mappedCount: Int
    private let heap: [UInt8]

    /// Maps a regular file from its start; for anything else (a pipe), `head` (the bytes
    /// already read from it) followed by everything left.
    init(fd: Int32, file: String, head: [UInt8], whileWaiting: (() -> Bool)? = nil) throws(IOFailure) {
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 {
            let size = Int(info.st_size)
            let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
            if let p, p != MAP_FAILED {
                mapped = p
                mappedCount = size
                heap = []
                return
            }
        }
        mapped = nil
        mappedCount = 0
        heap = head + (try RawIO.readAll(fd, file: file, whileWaiting: whileWaiting))
    }

    /// Wraps bytes already in memory (standard input).
    init(bytes: [UInt8]) {
        mapped = nil
        mappedCount = 0
        heap = bytes
    }

    deinit {
        if let mapped { munmap(mapped, mappedCount) }
    }

    /// Calls `body` with the bytes; they stay valid only during the call.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let mapped { return try body(UnsafeRawBufferPointer(start: mapped, count: mappedCount)) }
        return try heap.withUnsafeBytes(body)
    }
}

/// What ``LineSplitter`` hands out for each line.
enum LineEvent {
    /// A complete line without its `\n` (a trailing `\r` is still there).
    case line(UnsafeRawBufferPointer)
    /// A line longer than the limit: its first bytes and its full length (without `\n`).
    case tooLong(prefix: UnsafeRawBufferPointer, length: Int)
}

/// Splits a byte stream into lines in constant memory: complete lines inside a read chunk are
/// handed out in place, a line spanning chunks is gathered (up to the limit), and a line over
/// the limit is skipped to its newline, keeping only its first bytes for the report.
final class LineSplitter {
    /// Bytes per `read(2)`.
    let chunkSize: Int
    /// The longest line that is gathered; longer lines become ``LineEvent/tooLong(prefix:length:)``.
    let maxLineBytes: Int
    /// How many leading bytes of an over-long line are kept.
    let keepBytes: Int

    private var carry: [UInt8] = []
    private var skipping = false
    private var skipPrefix: [UInt8] = []
    private var skipLength = 0
    /// The number of the line being read (during a callback), or of the next line.
    private(set) var lineNumber = 1
    /// The stream offset of the first byte of the data being fed.
    private var fed: Int64 = 0
    /// During a callback: the stream offset where the current line starts.
    private(set) var lineStart: Int64 = 0
    /// During a callback: the stream offset just past the current line's newline (or its last
    /// byte, for a last line without one).
    private(set) var lineEnd: Int64 = 0
    /// During a callback: whether the current line ended with a newline.
    private(set) var lineTerminated = true

    /// `startOffset` and `startLine`: where in the stream the first byte fed sits (a read
    /// resumed after a checkpoint), so offsets and line numbers stay those of the whole file.
    init(chunkSize: Int = 256 * 1024, maxLineBytes: Int, keepBytes: Int = 4096, startOffset: Int64 = 0, startLine: Int = 1) {
        self.chunkSize = max(16, chunkSize)
        self.maxLineBytes = max(1, maxLineBytes)
        self.keepBytes = keepBytes
        self.fed = startOffset
        self.lineStart = startOffset
        self.lineNumber = max(1, startLine)
    }

    /// Splits `initial`, then everything read from `fd` (when given) to its end, or up to
    /// `limit` bytes of it (a cluster run's byte range). `body` gets the
    /// 1-based line number and the event; the bytes are valid only during the call.
    func run(initial: UnsafeRawBufferPointer, fd: Int32?, file: String, whileWaiting: (() -> Bool)? = nil,
             limit: Int64? = nil, _ body: (Int, LineEvent) throws -> Void) throws {
        try feed(initial, body)
        if let fd {
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
            defer { chunk.deallocate() }
            var left = limit ?? Int64.max
            while left > 0 {
                let window = left < Int64(chunkSize) ? UnsafeMutableRawBufferPointer(rebasing: chunk[0..<Int(left)]) : chunk
                let n = try RawIO.read(fd, into: window, file: file, whileWaiting: whileWaiting)
                left -= Int64(n)
                if n == 0 { break }
                try feed(UnsafeRawBufferPointer(rebasing: chunk[0..<n]), body)
            }
        }
        if skipping || !carry.isEmpty {
            lineEnd = fed
            lineTerminated = false
        }
        if skipping {
            try finishSkip(body)
        } else if !carry.isEmpty {
            try deliverCarry(body)
        }
    }

    private func feed(_ data: UnsafeRawBufferPointer, _ body: (Int, LineEvent) throws -> Void) throws {
        guard let base = data.baseAddress else { return }
        var pos = 0
        let count = data.count
        while pos < count {
            let found = memchr(base + pos, 0x0A, count - pos)
            if let found {
                let end = base.distance(to: UnsafeRawPointer(found))
                let segment = UnsafeRawBufferPointer(rebasing: data[pos..<end])
                lineEnd = fed + Int64(end) + 1
                lineTerminated = true
                if skipping {
                    skipLength += segment.count
                    try finishSkip(body)
                } else if carry.isEmpty {
                    if segment.count > maxLineBytes {
                        try body(lineNumber, .tooLong(prefix: UnsafeRawBufferPointer(rebasing: segment.prefix(keepBytes)),
                                                      length: segment.count))
                    } else {
                        try body(lineNumber, .line(segment))
                    }
                } else if carry.count + segment.count > maxLineBytes {
                    beginSkip(with: segment)
                    try finishSkip(body)
                } else {
                    carry.append(contentsOf: segment)
                    try deliverCarry(body)
                }
                lineNumber += 1
                pos = end + 1
                lineStart = lineEnd
            } else {
                let segment = UnsafeRawBufferPointer(rebasing: data[pos..<count])
                if skipping {
                    skipLength += segment.count
                } else if carry.count + segment.count > maxLineBytes {
                    beginSkip(with: segment)
                } else {
                    carry.append(contentsOf: segment)
                }
                pos = count
            }
        }
        fed += Int64(count)
    }

    /// Starts skipping the current line: keeps its first bytes and counts the rest.
    private func beginSkip(with segment: UnsafeRawBufferPointer) {
        skipping = true
        skipLength = carry.count + segment.count
        skipPrefix = Array(carry.prefix(keepBytes))
        if skipPrefix.count < keepBytes {
            skipPrefix.append(contentsOf: segment.prefix(keepBytes - skipPrefix.count))
        }
        releaseCarry()
    }

    private func finishSkip(_ body: (Int, LineEvent) throws -> Void) throws {
        let prefix = skipPrefix
        let length = skipLength
        skipping = false
        skipPrefix = []
        skipLength = 0
        try prefix.withUnsafeBytes { try body(lineNumber, .tooLong(prefix: $0, length: length)) }
    }

    private func deliverCarry(_ body: (Int, LineEvent) throws -> Void) throws {
        defer { releaseCarry() }
        try carry.withUnsafeBytes { try body(lineNumber, .line($0)) }
    }

    /// Empties the carry; a big one (a long line) gives its memory back.
    private func releaseCarry() {
        if carry.capacity > 1 << 20 { carry = [] } else { carry.removeAll(keepingCapacity: true) }
    }
}

/// Turns byte offsets into 1-based lines and columns (in characters), moving forward only, so
/// that walking a whole file costs one pass.
struct PositionTracker {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    private var line = 1
    private var column = 1

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The line and column of `target`, which must not be before the previous one asked for.
    mutating func position(of target: Int) -> (line: Int, column: Int) {
        let end = min(target, bytes.count)
        if end < offset { return (line, column) }
        while offset < end {
            let b = bytes[offset]
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            offset += 1
        }
        return (line, column)
    }
}

/// Raw input for a dead letter: at most `limit` bytes (cut on a character boundary), with
/// details saying when it was cut.
func rawExcerpt(_ bytes: UnsafeRawBufferPointer, totalLength: Int? = nil, limit: Int = 4096) -> (String, Fields) {
    let total = totalLength ?? bytes.count
    if bytes.count <= limit && total == bytes.count {
        return (String(decoding: bytes, as: UTF8.self), [:])
    }
    var cut = min(limit, bytes.count)
    while cut > 0 && cut < bytes.count && bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
    let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<cut]), as: UTF8.self)
    return (text, ["raw_truncated": .bool(true), "raw_bytes": .int(Int64(total))])
}

/// Whether the bytes are only JSON whitespace.
func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
    for b in bytes where !(b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A) { return false }
    return true
}

/// The UTF-8 byte order mark.
let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

/// Whether `bytes` start with a UTF-8 byte order mark.
func startsWithBOM(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
}
