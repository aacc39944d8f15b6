import Foundation
import SluiceCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `json` sink: writes records as JSON Lines (the default) or as one JSON array, to a file
/// or to standard output (`-`).
///
/// Records are written exactly (integers stay integers, `1.0` stays `1.0`, key order is kept,
/// non-ASCII stays UTF-8) through a large buffer that is written out when full and on every
/// flush. The file's folder is created. Without `append` the file is truncated when the sink
/// opens. With `format: array` the file is a valid JSON array after every flush (`[]` when
/// there are no records): the closing `]` is written at each flush and overwritten by the next
/// records. `append: true` adds to an existing file; for an array it continues the array
/// (the file must end with `]`).
public struct JSONSink: Sink {
    /// The type name in configs.
    public static let type = "json"
    /// One line for `sluice stages`.
    public static let summary = "Writes records as JSON Lines or a JSON array to a file or - (standard output)."
    /// How records are laid out in the output.
    public enum Format: String, Sendable, CaseIterable {
        /// One compact JSON object per line.
        case lines
        /// One JSON array, one element per line.
        case array
    }

    /// Bytes gathered before they are written out.
    public static let bufferSize = 1 << 20

    /// The options of the `json` sink, as `sluice stages json` shows them.
    public static let optionSpecs: [OptionSpec] = [
        OptionSpec("path", .path, required: true, doc: "the output file (its folder is created), or - for standard output"),
        OptionSpec("format", .oneOf(Format.allCases.map(\.rawValue)), default: "lines",
                   doc: "lines (JSON Lines) or array (one JSON array)"),
        OptionSpec("append", .boolean, default: false,
                   doc: "add to an existing file instead of replacing it (an array is continued)"),
    ]

    /// The output path, or `-` for standard output.
    public let path: String
    /// The layout.
    public let format: Format
    /// Whether to add to an existing file.
    public let append: Bool
    /// Where `-` writes to (standard output unless a test injects a pipe).
    let standardOutput: FileHandle

    /// Creates a sink directly.
    public init(path: String, format: Format = .lines, append: Bool = false) {
        self.init(path: path, format: format, append: append, standardOutput: FileHandle.standardOutput)
    }

    /// Creates a sink whose `-` writes to `standardOutput` (tests).
    init(path: String, format: Format = .lines, append: Bool = false, standardOutput: FileHandle) {
        self.path = path
        self.format = format
        self.append = append
        self.standardOutput = standardOutput
    }

    /// The file written (nil for standard output): no source may read it, no other sink write it.
    public var outputFile: String? { path == "-" ? nil : path }

    /// Builds the sink from checked config options.
    public init(options: StageOptions) throws {
        try self.init(options: options, standardOutput: FileHandle.standardOutput)
    }

    /// Builds the sink from options, writing `-` to `standardOutput` (tests).
    init(options: StageOptions, standardOutput: FileHandle) throws {
        guard let configured = options.string("path"), !configured.isEmpty else {
            throw options.error("the option 'path' is required")
        }
        // The config loader resolves paths already; resolving again keeps options made by hand working.
        let path = options.environment.resolve(configured)
        self.init(path: path, format: options.string("format").flatMap(Format.init(rawValue:)) ?? .lines,
                  append: options.bool("append") ?? false, standardOutput: standardOutput)
    }

    /// Opens (creates or truncates) the output.
    public func makeWriter(_ context: StageContext) throws -> any SinkWriter {
        do {
            return try JSONSinkWriter(sink: self, stage: context.name)
        } catch let failure as IOFailure {
            throw StageError(stage: context.name, message: failure.message)
        }
    }
}

/// The working half of ``JSONSink``.
final class JSONSinkWriter: SinkWriter {
    private let format: JSONSink.Format
    private let stage: String
    private let label: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let isRegularFile: Bool
    private var buffer: [UInt8] = []
    /// Records in the array so far (array format).
    private var elements = 0
    private var closed = false
    /// The file's old content is still there and must go before the first byte is written.
    private var pendingTruncate = false

    private static let arrayOpen: [UInt8] = Array("[\n".utf8)
    private static let separator: [UInt8] = Array(",\n".utf8)
    private static let emptyArray: [UInt8] = Array("[]\n".utf8)
    private static let arrayClose: [UInt8] = Array("\n]\n".utf8)

    init(sink: JSONSink, stage: String) throws {
        self.format = sink.format
        self.stage = stage
        buffer.reserveCapacity(JSONSink.bufferSize + 64 * 1024)
        if sink.path == "-" {
            label = "standard output"
            fd = sink.standardOutput.fileDescriptor
            ownsDescriptor = false
            isRegularFile = false
            return
        }
        label = sink.path
        let folder = (sink.path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw IOFailure(message: "cannot create the folder \(folder): \(error.localizedDescription)")
            }
        }
        // Without append the old content is cut at the first write (or at close), not at open:
        // a run that fails before writing anything leaves the previous output in place.
        var flags = O_CREAT | O_CLOEXEC
        if sink.append {
            flags |= O_RDWR
        } else {
            flags |= O_WRONLY
            pendingTruncate = true
        }
        let opened = open(sink.path, flags, 0o644)
        guard opened >= 0 else { throw IOFailure.system("open", "\(sink.path) for writing") }
        fd = opened
        ownsDescriptor = true
        var info = stat()
        isRegularFile = fstat(opened, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        if sink.append && isRegularFile {
            do {
                try prepareAppend()
            } catch {
                closeDescriptor(opened)
                throw error
            }
        }
    }

    deinit {
        if !closed && ownsDescriptor { closeDescriptor(fd) }
    }

    /// Positions an appending writer: after the last line, or before an array's closing `]`.
    private func prepareAppend() throws {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return }
        let blockSize = Int(min(size, 64 * 1024))
        var block = [UInt8](repeating: 0, count: blockSize)
        let start = size - off_t(blockSize)
        let n = block.withUnsafeMutableBytes { pread(fd, $0.baseAddress, blockSize, start) }
        guard n == blockSize else { throw IOFailure.system("read", label) }
        switch format {
        case .lines:
            if block.last != 0x0A { buffer.append(0x0A) }
        case .array:
            let notSpace: (UInt8) -> Bool = { !isWhitespace($0) }
            guard let last = block.lastIndex(where: notSpace) else {
                // Only whitespace: start a new array.
                _ = ftruncate(fd, 0)
                _ = lseek(fd, 0, SEEK_SET)
                return
            }
            guard block[last] == UInt8(ascii: "]"), let before = block[..<last].lastIndex(where: notSpace) else {
                throw IOFailure(message: "cannot append to \(label): it does not end with a JSON array (']')")
            }
            let cut: off_t
            if block[before] == UInt8(ascii: "[") {
                cut = start + off_t(before)
                elements = 0
            } else {
                cut = start + off_t(before) + 1
                elements = 1
            }
            guard ftruncate(fd, cut) == 0, lseek(fd, cut, SEEK_SET) == cut else {
                throw IOFailure.system("append to", label)
            }
        }
    }

    func write(_ batch: [Record]) throws {
        switch format {
        case .lines:
            for record in batch {
                JSONWriter.write(record.fields, to: &buffer)
                buffer.append(0x0A)
                if buffer.count >= JSONSink.bufferSize { try drain() }
            }
        case .array:
            for record in batch {
                buffer.append(contentsOf: elements == 0 ? JSONSinkWriter.arrayOpen : JSONSinkWriter.separator)
                JSONWriter.write(record.fields, to: &buffer)
                elements += 1
                if buffer.count >= JSONSink.bufferSize { try drain() }
            }
        }
    }

    /// Writes the buffer out.
    private func drain() throws {
        guard !buffer.isEmpty else { return }
        if pendingTruncate {
            pendingTruncate = false
            if isRegularFile && ftruncate(fd, 0) != 0 {
                throw StageError(stage: stage, message: IOFailure.system("empty", label).message)
            }
        }
        do {
            try buffer.withUnsafeBytes { try RawIO.writeAll(fd, $0, file: label) }
        } catch {
            throw StageError(stage: stage, message: "\(error)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private var tail: [UInt8] { elements == 0 ? JSONSinkWriter.emptyArray : JSONSinkWriter.arrayClose }

    func flush() throws {
        try drain()
        guard isRegularFile else { return }
        if format == .array {
            // Leave a complete array on disk, then step back so the next records replace the `]`.
            let tail = self.tail
            buffer.append(contentsOf: tail)
            try drain()
            if lseek(fd, -off_t(tail.count), SEEK_CUR) < 0 {
                throw StageError(stage: stage, message: IOFailure.system("seek in", label).message)
            }
        }
        if fsync(fd) != 0 && errno != EINVAL {
            throw StageError(stage: stage, message: IOFailure.system("sync", label).message)
        }
    }

    /// After a failure elsewhere: if nothing reached the file yet, the previous file stays as it
    /// was (records still in the buffer are not written: the run failed and will be re-run).
    func abort() throws {
        guard !closed else { return }
        if pendingTruncate {
            closed = true
            if ownsDescriptor { closeDescriptor(fd) }
            return
        }
        try close()
    }

    func close() throws {
        guard !closed else { return }
        if pendingTruncate && isRegularFile {
            // An empty run still replaces the old output (with nothing, or `[]`).
            pendingTruncate = false
            if ftruncate(fd, 0) != 0 { throw StageError(stage: stage, message: IOFailure.system("empty", label).message) }
        }
        if format == .array { buffer.append(contentsOf: tail) }
        try drain()
        closed = true
        defer { if ownsDescriptor { closeDescriptor(fd) } }
        if isRegularFile {
            let end = lseek(fd, 0, SEEK_CUR)
            if end >= 0 { _ = ftruncate(fd, end) }
            if fsync(fd) != 0 && errno != EINVAL {
                throw StageError(stage: stage, message: IOFailure.system("sync", label).message)
            }
        }
    }
}

/// `close(2)`, named apart from ``JSONSinkWriter/close()``.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
