import Foundation
import Logging
import SluiceCore
import SluiceFormats

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
/// flush. The file's folder is created. With `format: array` the file is a valid JSON array
/// after every flush (`[]` when there are no records): the closing `]` is written at each flush
/// and overwritten by the next records.
///
/// **Exactly once, across runs and crashes.** For a file, every flush and the close are
/// commits: the data is written out and synced, then a small state file,
/// `<data dir>/sinks/<stage name>.json` (the name escaped: letters, digits, `-` and `_` stay,
/// other bytes become `%XX`), is replaced atomically (temporary file, sync, rename, sync of the
/// folder). It holds the output's absolute path, its committed length, a fingerprint of its
/// committed content (its first and last 4 KiB), whether it is the partial file of a full run,
/// and the delivery marks of the records committed (see `DeliveryLedger`). The state file is
/// the commit point: what lies in the output beyond the committed length was not committed.
///
/// - First run (no state for this path): the old content of the file is replaced at the first
///   write or at the close (a run that fails before writing anything leaves it in place), and
///   the state starts with the first commit.
/// - Later runs: the output is continued, not replaced, so a run adds only what its sources
///   read anew. If the file still holds its committed content (at least the committed length,
///   same fingerprint), anything after the committed length is cut off (bytes a run that was
///   killed wrote after its last commit; a notice says how many) and records committed before
///   are skipped when the sources read them again: each record is written once even after
///   `kill -9`. If the file is missing, shorter, or its committed content changed (it was
///   edited or replaced outside Sluice), a warning says so, the file is kept as it is (a
///   missing one is created) and added to (an array must still end with `]`), and no marks are
///   used for this run: records read again may be written again.
/// - `run --full` (and the continuation of an interrupted one) writes `<path>.partial` in the
///   same folder and renames it over the output only when the run closes successfully; the
///   state then says the output is complete. A full run that fails or is killed never replaces
///   a complete earlier output: its partial file stays with its state, and the next full run
///   continues it (cut back and skipping as above). A run that is not a full run removes the
///   partial file of an abandoned full run and starts the output as on a first run.
/// - After a failure elsewhere in the pipeline the file is cut back to its last commit.
/// - A changed `format` starts the output as on a first run (with a warning).
/// - `format: array` is exactly once too: the committed length includes the closing `]` that
///   each commit writes; the fingerprint covers the content before it, which the next records
///   extend, so a run that was killed while replacing the `]` is continued like a torn line.
///   After a crash the array is incomplete until the next run (or a `run --full`) closes it.
///
/// `append: true` never replaces existing content: the first run adds to the file (a missing
/// final newline is added; an array is continued, the file must end with `]`), later runs
/// continue as above, and a full run adds to the file too (no partial file).
///
/// Standard output, and a path that is no regular file (a pipe, a device), keep no state:
/// records are written at least once (after a crash, records read again are written again).
public struct JSONSink: Sink {
    /// How records are laid out in the output.
    public enum Format: String, Sendable, CaseIterable, OptionChoice {
        /// One compact JSON object per line.
        case lines
        /// One JSON array, one element per line.
        case array
    }

    /// Bytes gathered before they are written out.
    public static let bufferSize = 1 << 20

    /// The options of a `json` sink.
    public struct Configuration: SinkConfiguration {
        /// The type name in configs.
        public static let type = "json"
        /// One line for `sluice stages`.
        public static let summary = "Writes records as JSON Lines or a JSON array to a file or - (standard output)."
        /// An entry for `sluice stages json`.
        public static let example = """
            type: json
            inputs: articles
            path: out/articles.jsonl
            """
        /// Every option.
        public static let options: [ConfigOption<Self>] = [
            .init("path", \.path, .path, required: true, doc: "the output file (its folder is created), or - for standard output"),
            .init("format", \.format, doc: "lines (JSON Lines) or array (one JSON array)"),
            .init("append", \.append, doc: "add to an existing file instead of replacing it (an array is continued)"),
        ]

        /// `path`.
        public var path = ""
        /// `format`.
        public var format = Format.lines
        /// `append`.
        public var append = false

        /// Every option at its default.
        public init() {}

        /// The sink.
        public func makeSink(_ context: BuildContext) throws -> any Sink {
            JSONSink(path: path, format: format, append: append)
        }
    }

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

    /// Writes the file alone (nothing for standard output): no source may read it, no other
    /// sink write it.
    public var resources: [StageResource] { path == "-" ? [] : [.writes(path)] }

    /// Opens the output: continues it, starts it, or starts a full run's partial file (see above).
    public func makeWriter(_ context: StageContext) throws -> any SinkWriter {
        do {
            return try JSONSinkWriter(sink: self, context: context)
        } catch let failure as IOFailure {
            throw StageError(stage: context.name, message: failure.message)
        }
    }
}

/// The working half of ``JSONSink``.
final class JSONSinkWriter: SinkWriter {
    /// How the writer found its output when it opened (tests read it).
    enum Opening: Equatable {
        /// Standard output, or a path that is no regular file (a pipe, a device): no state.
        case stream
        /// No state for this output: a first run (its old content is replaced, or added to
        /// with `append`).
        case firstRun
        /// A full run that starts a new `<path>.partial`.
        case newPartial
        /// The committed output (or the partial file of an interrupted full run) is continued;
        /// `cut` bytes written after its last commit were cut off.
        case resumed(cut: Int64)
        /// The output changed outside Sluice since its last commit (the reason): it is kept as
        /// it is and added to, without the marks of earlier runs.
        case changedOutside(String)
    }

    /// Where the output stood at a commit: `body` bytes of content, then (for an array) the
    /// closing bytes up to `length`.
    struct CommitPoint: Equatable {
        var length: Int64
        var body: Int64
        var elements: Int
    }

    private let format: JSONSink.Format
    private let stage: String
    private let logger: Logger
    private let ledger: DeliveryLedger
    private var label: String = ""
    private var fd: Int32 = -1
    private var ownsDescriptor = false
    private var isRegularFile = false
    private var buffer: [UInt8] = []
    /// Records in the array so far (array format).
    private var elements = 0
    private var closed = false
    /// The file's old content is still there and must go before the first byte is written.
    private var pendingTruncate = false
    /// The state file, for a regular file output.
    private var sidecar: JSONSinkSidecar?
    /// The output's absolute path.
    private var outputPath = ""
    /// Whether the open file is `<outputPath>.partial` (a full run), renamed at close.
    private var writingPartial = false
    /// The last commit point, or where the output stood when the writer opened.
    private var commitPoint = CommitPoint(length: 0, body: 0, elements: 0)
    /// Whether ``commitPoint`` is the one the state file holds (loaded, or committed by this run).
    private var pointSaved = false
    /// How the output was found.
    private(set) var opening: Opening = .stream

    private static let arrayOpen: [UInt8] = Array("[\n".utf8)
    private static let separator: [UInt8] = Array(",\n".utf8)
    private static let emptyArray: [UInt8] = Array("[]\n".utf8)
    private static let arrayClose: [UInt8] = Array("\n]\n".utf8)

    private var partialPath: String { outputPath + ".partial" }

    init(sink: JSONSink, context: StageContext) throws {
        self.format = sink.format
        self.stage = context.name
        self.logger = context.logger
        self.ledger = context.ledger
        buffer.reserveCapacity(JSONSink.bufferSize + 64 * 1024)
        if sink.path == "-" {
            label = "standard output"
            fd = sink.standardOutput.fileDescriptor
            return
        }
        label = sink.path
        do {
            try openFile(sink, context)
        } catch {
            if ownsDescriptor { closeDescriptor(fd) }
            closed = true
            throw error
        }
    }

    deinit {
        if !closed && ownsDescriptor { closeDescriptor(fd) }
    }

    private func openDescriptor(_ path: String, _ flags: Int32) throws(IOFailure) {
        let opened = open(path, flags, 0o644)
        guard opened >= 0 else { throw IOFailure.system("open", "\(path) for writing") }
        fd = opened
        ownsDescriptor = true
    }

    /// Picks the file to write from the state of earlier runs, and positions the writer in it.
    private func openFile(_ sink: JSONSink, _ context: StageContext) throws {
        let folder = (sink.path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw IOFailure(message: "cannot create the folder \(folder): \(error.localizedDescription)")
            }
        }
        var info = stat()
        if stat(sink.path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            // A pipe or a device: written as a stream, without state (at least once).
            try openDescriptor(sink.path, O_WRONLY | O_CLOEXEC)
            return
        }
        isRegularFile = true
        outputPath = URL(fileURLWithPath: sink.path).standardizedFileURL.path
        let sidecar = JSONSinkSidecar(dataDirectory: context.dataDirectory, stage: context.name)
        self.sidecar = sidecar
        var saved = try sidecar.load()
        if let state = saved, state.path != outputPath { saved = nil }
        if let state = saved, state.format != format.rawValue {
            logger.warning("the format of \(label) changed from \(state.format) to \(format.rawValue): the output is started as on a first run")
            saved = nil
        }
        // A full run that renamed its finished output but stopped before recording it: the
        // output is the partial file it committed.
        var renamed = false
        if var state = saved, state.partial, !FileManager.default.fileExists(atPath: partialPath),
           matches(outputPath, state) {
            state.partial = false
            saved = state
            renamed = true
        }
        let fullRun = context.fullRun && !sink.append
        if let state = saved, state.partial, !fullRun {
            logger.notice("the unfinished full run's \(partialPath) is abandoned (this run is not a full run); it is removed")
            _ = unlink(partialPath)
            saved = nil
        }
        if fullRun {
            if let state = saved, state.partial || renamed {
                writingPartial = state.partial
                try resume(state, at: state.partial ? partialPath : outputPath)
            } else {
                writingPartial = true
                label = sink.path + ".partial"
                try openDescriptor(partialPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC)
                ledger.load([:])
                opening = .newPartial
            }
            return
        }
        if let state = saved {
            try resume(state, at: outputPath)
            return
        }
        // A first run. Without append the old content is cut at the first write (or at close),
        // not at open: a run that fails before writing anything leaves the previous output in place.
        try openDescriptor(sink.path, O_RDWR | O_CREAT | O_CLOEXEC)
        ledger.load([:])
        opening = .firstRun
        if sink.append {
            try prepareAppend()
            commitPoint = try currentPoint()
        } else {
            pendingTruncate = true
        }
    }

    /// Whether `path` holds the committed content `state` describes.
    private func matches(_ path: String, _ state: JSONSinkState) -> Bool {
        guard let stamp = FileStamp(path: path), stamp.size >= state.body else { return false }
        return FileFingerprint.of(path: path, length: state.body) == state.fingerprint
    }

    /// Continues the file `state` describes: cuts off what was written after its last commit
    /// and loads its marks; or, when the file changed outside Sluice, keeps it and adds to it.
    private func resume(_ state: JSONSinkState, at path: String) throws {
        if path != outputPath { label += ".partial" }
        let existed = FileManager.default.fileExists(atPath: path)
        try openDescriptor(path, O_RDWR | O_CREAT | O_CLOEXEC)
        let size = Int64(lseek(fd, 0, SEEK_END))
        guard size >= 0 else { throw IOFailure.system("seek in", label) }
        let problem: String?
        if !existed {
            problem = "it is missing"
        } else if size < state.body {
            problem = "it has \(size) bytes, fewer than the \(state.length) committed"
        } else if FileFingerprint.of(fd: fd, length: state.body) != state.fingerprint {
            problem = "its committed content is different"
        } else {
            problem = nil
        }
        if let problem {
            logger.warning("\(label) changed outside Sluice since the last commit (\(problem)): it is kept as it is and added to, and records written before may be written again")
            ledger.load([:])
            opening = .changedOutside(problem)
            try prepareAppend()
            commitPoint = try currentPoint()
            return
        }
        guard ftruncate(fd, off_t(state.body)) == 0, lseek(fd, off_t(state.body), SEEK_SET) == off_t(state.body) else {
            throw IOFailure.system("cut back", label)
        }
        elements = state.elements
        let cut = max(0, size - state.length)
        if cut > 0 {
            logger.notice("cut \(cut) bytes off the end of \(label): written after the last commit by a run that stopped; their records are written again")
        }
        ledger.load(state.ledgerMarks)
        commitPoint = CommitPoint(length: state.length, body: state.body, elements: state.elements)
        pointSaved = true
        opening = .resumed(cut: cut)
    }

    /// Where the file stands now: the write position is the end of the content.
    private func currentPoint() throws(IOFailure) -> CommitPoint {
        let body = Int64(lseek(fd, 0, SEEK_CUR))
        guard body >= 0 else { throw IOFailure.system("seek in", label) }
        return CommitPoint(length: body + Int64(closing(elements).count), body: body, elements: elements)
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

    /// What closes an array of `count` elements (nothing for JSON Lines).
    private func closing(_ count: Int) -> [UInt8] {
        guard format == .array else { return [] }
        return count == 0 ? JSONSinkWriter.emptyArray : JSONSinkWriter.arrayClose
    }

    private func sync() throws {
        if fsync(fd) != 0 && errno != EINVAL {
            throw StageError(stage: stage, message: IOFailure.system("sync", label).message)
        }
    }

    /// Records in the state file that the output's first `body` bytes (and an array's closing
    /// bytes after them), which are durable, are committed, with the ledger's marks. The state
    /// file is the commit point. Skipped when nothing changed since the last commit.
    private func commit(body: Int64, force: Bool = false) throws {
        guard let sidecar, !pendingTruncate else { return }
        let point = CommitPoint(length: body + Int64(closing(elements).count), body: body, elements: elements)
        if !force && pointSaved && point == commitPoint && ledger.pendingMarks.isEmpty && !ledger.droppedMarks { return }
        guard let fingerprint = FileFingerprint.of(fd: fd, length: body) else {
            throw StageError(stage: stage, message: IOFailure.system("read", label).message)
        }
        let state = JSONSinkState(path: outputPath, format: format.rawValue, partial: writingPartial,
                                  length: point.length, body: body, elements: elements, fingerprint: fingerprint,
                                  marks: JSONSinkState.entries(ledger.allMarks))
        do {
            try sidecar.save(state)
        } catch {
            throw StageError(stage: stage, message: error.message)
        }
        ledger.committed()
        commitPoint = point
        pointSaved = true
    }

    func flush() throws {
        try drain()
        guard isRegularFile else { return }
        if format == .array {
            // Leave a complete array on disk, then step back so the next records replace the `]`.
            let tail = closing(elements)
            buffer.append(contentsOf: tail)
            try drain()
            if lseek(fd, -off_t(tail.count), SEEK_CUR) < 0 {
                throw StageError(stage: stage, message: IOFailure.system("seek in", label).message)
            }
        }
        try sync()
        guard sidecar != nil, !pendingTruncate else { return }
        let body = Int64(lseek(fd, 0, SEEK_CUR))
        guard body >= 0 else { throw StageError(stage: stage, message: IOFailure.system("seek in", label).message) }
        try commit(body: body)
    }

    /// After a failure elsewhere (or in this sink): nothing more is committed. If nothing
    /// reached the file yet, the previous file stays as it was; otherwise the file is cut back
    /// to its last commit, so that it holds what the state file says (records after it are
    /// written again by the next run). A full run's partial file is never renamed: an earlier
    /// complete output stays in place; a partial file this run started and never committed is
    /// removed.
    func abort() throws {
        guard !closed else { return }
        guard isRegularFile else { return try close() }
        closed = true
        defer { closeDescriptor(fd) }
        buffer.removeAll()
        if pendingTruncate { return }
        if opening == .newPartial && !pointSaved {
            _ = unlink(partialPath)
            return
        }
        let point = commitPoint
        let tail = closing(point.elements)
        guard ftruncate(fd, off_t(point.body)) == 0 else {
            throw StageError(stage: stage, message: IOFailure.system("cut back", label).message)
        }
        if !tail.isEmpty {
            let n = tail.withUnsafeBytes { pwrite(fd, $0.baseAddress, tail.count, off_t(point.body)) }
            guard n == tail.count else {
                throw StageError(stage: stage, message: IOFailure.system("write to", label).message)
            }
        }
        try sync()
    }

    func close() throws {
        guard !closed else { return }
        if pendingTruncate && isRegularFile {
            // An empty run still replaces the old output (with nothing, or `[]`).
            pendingTruncate = false
            if ftruncate(fd, 0) != 0 { throw StageError(stage: stage, message: IOFailure.system("empty", label).message) }
        }
        let tail = closing(elements)
        buffer.append(contentsOf: tail)
        try drain()
        closed = true
        defer { if ownsDescriptor { closeDescriptor(fd) } }
        guard isRegularFile else { return }
        let end = lseek(fd, 0, SEEK_CUR)
        guard end >= 0, ftruncate(fd, end) == 0 else {
            throw StageError(stage: stage, message: IOFailure.system("cut", label).message)
        }
        try sync()
        guard sidecar != nil else { return }
        let body = Int64(end) - Int64(tail.count)
        try commit(body: body)
        if writingPartial {
            // The partial file is committed whole; now it becomes the output.
            guard rename(partialPath, outputPath) == 0 else {
                throw StageError(stage: stage, message: IOFailure.system("rename \(partialPath) to", outputPath).message)
            }
            do {
                try syncFolder((outputPath as NSString).deletingLastPathComponent)
            } catch {
                throw StageError(stage: stage, message: error.message)
            }
            writingPartial = false
            label = outputPath
            try commit(body: body, force: true)
        }
    }
}
