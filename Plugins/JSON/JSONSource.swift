import Foundation
import SluiceCore
import SluiceFormats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `json` source: reads JSON Lines, JSON arrays or single JSON documents from files, a glob
/// or standard input, one record per JSON object.
///
/// How each input is read (`format`):
/// - `lines`: one JSON document per line (JSON Lines / NDJSON), streamed in constant memory.
///   CRLF and LF endings, a final line without a newline and a UTF-8 byte order mark are
///   accepted; blank lines are skipped. A bad line becomes a dead letter with its file, line
///   and column, and the next line goes on. An empty input gives no records.
/// - `array`: each file is one JSON array (or, with `pointer`, holds one at the pointer); its
///   elements are the records, parsed one at a time from the memory-mapped file. An input
///   that does not start with `[` (without `pointer`) or is empty is a dead letter.
/// - `object`: each file is one JSON document: an object is one record, an array's elements
///   are records. An empty file is a dead letter.
/// - `auto` (the default) decides per file: a `.jsonl`, `.ndjson`, `.jsonlines` or `.ldjson`
///   file is `lines`. Otherwise the first byte that is not whitespace decides: `[` means
///   `array`; `{` means `lines` when the first line is a complete JSON value on its own or
///   more values follow the first one, and `object` when the file holds a single document
///   spread over several lines; anything else is read as `lines` (so each bad line is
///   reported on its own). An empty or blank file is a dead letter ("empty file"), except for
///   JSON Lines extensions and standard input, where it simply has no records.
///
/// `pointer` (RFC 6901) selects, in each document (each line for `lines`), the array whose
/// elements are the records; an object at the pointer is one record. A document where the
/// pointer names nothing is a dead letter.
///
/// Every record must be a JSON object; any other value (`42`, `[1,2]`) is a dead letter
/// ("a record must be a JSON object, got integer"). Lines longer than `max_line_bytes` are
/// skipped without being held in memory, and values nested deeper than `max_depth` are
/// refused; both are dead letters. Records carry their file (relative to the path's root) and
/// line as their origin.
public struct JSONSource: Source, ConfiguredStage {
    /// How the input is laid out.
    public enum Format: String, Sendable, CaseIterable, OptionChoice {
        /// Decide per file (see ``JSONSource``).
        case auto
        /// JSON Lines: one document per line.
        case lines
        /// One JSON array per file; its elements are the records.
        case array
        /// One JSON document per file.
        case object
    }

    /// File extensions read as JSON Lines by `format: auto`.
    public static let lineExtensions: Set<String> = ["jsonl", "ndjson", "jsonlines", "ldjson"]
    /// File extensions kept by default when `path` is a folder.
    public static let defaultExtensions = ["json", "jsonl", "ndjson"]
    /// The most nesting `max_depth` may allow. The parser, the writer and the Lua marshaller
    /// recurse once per level on an 8 MiB thread stack: a debug build crashed at about 4,600
    /// levels, and Lua rules take at most 1,000, so 1,000 keeps a wide margin.
    public static let depthLimit = 1_000
    /// How many bytes of bad input a dead letter keeps.
    public static let rawLimit = 4096

    /// The options of a `json` source.
    public struct Configuration: SourceConfiguration {
        /// The type name in configs.
        public static let type = "json"
        /// One line for `sluice stages`.
        public static let summary = "Reads records from JSON Lines, JSON arrays or JSON documents (files, globs or -)."
        /// An entry for `sluice stages json`.
        public static let example = """
            type: json
            path: exports/**/*.jsonl
            max_line_bytes: 4MiB
            """
        /// Every option.
        public static let options: [ConfigOption<Self>] = [
            .init("path", \.path, .path, required: true,
                  doc: "a file, a folder, a glob such as data/**/*.jsonl, or - for standard input"),
            .init("format", \.format, doc: "lines (JSON Lines), array, object (one document per file), or auto: decide per file"),
            .init("pointer", \.pointer, doc: "RFC 6901 pointer to the array of records inside each document, e.g. /data/items"),
            .init("max_line_bytes", \.maxLineBytes, .size, range: OptionRange(1...),
                  doc: "longer lines are dead letters, skipped without being held in memory"),
            .init("max_depth", \.maxDepth, range: OptionRange(1...JSONSource.depthLimit),
                  doc: "deeper nesting of arrays and objects is a dead letter"),
            .init("extensions", \.extensions, doc: "file extensions read when path is a folder (a glob or a file is taken as written)"),
        ]

        /// `path`.
        public var path = ""
        /// `format`.
        public var format = Format.auto
        /// `pointer`.
        public var pointer: String?
        /// `max_line_bytes`.
        public var maxLineBytes = 16 << 20
        /// `max_depth`.
        public var maxDepth = JSONReader.defaultMaxDepth
        /// `extensions`.
        public var extensions = JSONSource.defaultExtensions

        /// Every option at its default.
        public init() {}

        /// Parses the pointer and builds the source.
        public func makeSource(_ context: BuildContext) throws -> any Source { try JSONSource(self, context) }
    }

    /// Builds the source from its configuration; a pointer that does not parse is a config error.
    public init(_ configuration: Configuration, _ context: BuildContext) throws(ConfigError) {
        var pointer: JSONPointer?
        if let text = configuration.pointer {
            do {
                pointer = try JSONPointer(text)
            } catch {
                throw context.error(\Configuration.pointer, "option 'pointer' is not a valid JSON pointer: \(error.message)")
            }
        }
        self.init(path: configuration.path, format: configuration.format, pointer: pointer,
                  maxLineBytes: configuration.maxLineBytes, maxDepth: configuration.maxDepth,
                  extensions: configuration.extensions)
    }

    /// The configured path: a file, a folder, a glob, or `-` for standard input.
    public let path: String
    /// How the input is laid out.
    public let format: Format
    /// The pointer to the records inside each document, if any.
    public let pointer: JSONPointer?
    /// The longest line (in bytes, without its newline) that is parsed.
    public let maxLineBytes: Int
    /// The deepest nesting that is parsed.
    public let maxDepth: Int
    /// Extensions kept when `path` is a folder.
    public let extensions: [String]
    /// Where `-` reads from (standard input unless a test injects a pipe).
    let standardInput: FileHandle
    /// In a cluster run: the one work unit to read (see JSONSourceUnits.swift).
    var unitScope: WorkUnit?

    /// Creates a source directly.
    public init(path: String, format: Format = .auto, pointer: JSONPointer? = nil, maxLineBytes: Int = 16 << 20,
                maxDepth: Int = JSONReader.defaultMaxDepth, extensions: [String] = JSONSource.defaultExtensions) {
        self.init(path: path, format: format, pointer: pointer, maxLineBytes: maxLineBytes, maxDepth: maxDepth,
                  extensions: extensions, standardInput: FileHandle.standardInput)
    }

    /// Creates a source that reads `-` from `standardInput` (tests).
    init(path: String, format: Format = .auto, pointer: JSONPointer? = nil, maxLineBytes: Int = 16 << 20,
         maxDepth: Int = JSONReader.defaultMaxDepth, extensions: [String] = JSONSource.defaultExtensions,
         standardInput: FileHandle) {
        self.path = path
        self.format = format
        self.pointer = pointer
        self.maxLineBytes = max(1, maxLineBytes)
        self.maxDepth = min(max(1, maxDepth), JSONSource.depthLimit)
        self.extensions = extensions
        self.standardInput = standardInput
    }

    /// Reads the files of `path` (nothing for standard input): a sink may not write one of them.
    public var resources: [StageResource] { fileSet.map { [.reads($0)] } ?? [] }

    /// The files read (nil for standard input).
    var fileSet: FileSet? {
        guard path != "-" else { return nil }
        var isFolder: ObjCBool = false
        let folder = !FileSet.hasWildcard(path) && FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            && isFolder.boolValue
        return FileSet(pattern: path, extensions: folder ? extensions : [])
    }

    /// Reads every input to its end.
    public func run(_ context: SourceContext) throws {
        let reader = JSONSourceReader(source: self, context: context)
        try reader.run()
    }
}

/// A place in a document where something is wrong that is not a syntax error (a pointer that
/// names nothing).
struct DocumentProblem: Error {
    var message: String
    var offset: Int
}

/// The working half of ``JSONSource``: one per run, on the source's thread.
final class JSONSourceReader {
    /// The field count of the last JSON Lines record (``JSONReader/parse(_:maxDepth:fieldsHint:)``).
    private var fieldsHint = 0
    let source: JSONSource
    let context: SourceContext
    private var batch: [Record] = []
    private var linesSinceCheck = 0
    /// The file being read, for positions and checkpoints (nil: standard input).
    var current: CurrentInput?
    /// The splitter of the JSON Lines input being read, for the offsets of its lines.
    var splitter: LineSplitter?
    /// Bytes of the current file counted as read for the progress display.
    private var reportedOffset: Int64 = 0

    /// What is known of the file being read.
    struct CurrentInput {
        var input: String
        var epoch: Int64
        var stamp: FileStamp
        var fd: Int32
        /// Whether progress is saved line by line (JSON Lines read in order) or only at the end.
        var lineByLine: Bool
        /// Records delivered from this input before this run (resumed) and in it.
        var records: Int64
    }
    /// Called every 200 ms while a read waits on a quiet pipe (standard input): hands on the
    /// records read so far, so that `tail -f log | sluice run` streams instead of waiting for a
    /// full batch, and gives up (true) when the run stops.
    private var whileWaiting: () -> Bool {
        { [unowned self] in
            if context.isStopping { return true }
            do { try flushBatch() } catch { return true }
            return false
        }
    }

    init(source: JSONSource, context: SourceContext) {
        self.source = source
        self.context = context
        batch.reserveCapacity(context.batchSize)
    }

    func run() throws {
        if source.path == "-" {
            try readInput(fd: source.standardInput.fileDescriptor, label: "<stdin>", isStandardInput: true)
            try flushBatch()
            return
        }
        if let unit = source.unitScope, let fileSet = source.fileSet {
            // A cluster unit reads its own files, without listing the whole input again.
            let files = fileSet.files(relativePaths: unit.files)
            if unit.kind == .byteRange {
                for file in files { try readRange(file, unit) }
                try flushBatch()
                return
            }
            try read(files)
            return
        }
        var isFolder: ObjCBool = false
        let folder = !FileSet.hasWildcard(source.path)
            && FileManager.default.fileExists(atPath: source.path, isDirectory: &isFolder) && isFolder.boolValue
        let files: [MatchedFile]
        do {
            files = try FileSet(pattern: source.path, extensions: folder ? source.extensions : []).files()
        } catch {
            throw StageError(stage: context.name, message: "\(error)")
        }
        if files.isEmpty {
            // Almost always a mistyped path: say so and fail, as text_articles does, rather
            // than report a clean run of nothing.
            let kinds = folder ? " with extension " + source.extensions.map { "." + $0 }.joined(separator: ", ") : ""
            throw StageError(stage: context.name, message: "path '\(source.path)' matches no files\(kinds)")
        }
        try read(files)
    }

    /// Reads `files` in order, each from where the last run stopped (JSON Lines) or whole.
    private func read(_ files: [MatchedFile]) throws {
        var skipped = 0
        context.announceInputs(files)   // progress: files and bytes of total
        for file in files {
            if context.isStopping {
                try flushBatch()   // deliver what was read (standard input cannot be read again)
                throw PipelineStop()
            }
            let label = file.relativePath
            guard let stamp = FileStamp(path: file.path) else {
                let failure = IOFailure.system("read", label)
                context.deadLetter(raw: nil, error: failure.message, origin: Origin(source: context.name, file: label))
                continue
            }
            // JSON Lines (by format or extension) resume where the last run stopped; other
            // files are read whole again when they changed.
            let ext = (label as NSString).pathExtension.lowercased()
            let lineByLine = source.format == .lines || (source.format == .auto && JSONSource.lineExtensions.contains(ext))
            let checkpoint = context.checkpoint
            let plan = try lineByLine
                ? checkpoint.planAppendable(input: label, path: file.path, stamp: stamp)
                : checkpoint.planWhole(input: label, stamp: stamp) { FileFingerprint.of(path: file.path, length: stamp.size) }
            var epoch = checkpoint.baseEpoch
            var resume: InputCheckpoint?
            switch plan {
            case .skip:
                skipped += 1
                context.skipInput(bytes: stamp.size)
                continue
            case .resume(let saved):
                resume = saved
                context.skipInput(bytes: saved.offset, wholeFile: false)
                epoch = saved.epoch
                context.logger.debug("\(label) grew: reading on from byte \(saved.offset)")
            case .read(let e, let changed):
                epoch = e
                if let changed {
                    context.logger.notice("\(label) \(changed) since it was read: reading it again whole")
                }
            }
            let fd = open(file.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let failure = IOFailure.system("open", label)
                context.deadLetter(raw: nil, error: failure.message, origin: Origin(source: context.name, file: label))
                continue
            }
            defer { close(fd) }
            current = checkpoint.enabled
                ? CurrentInput(input: label, epoch: epoch, stamp: stamp, fd: fd, lineByLine: lineByLine,
                               records: resume?.records ?? 0)
                : nil
            if let resume, lseek(fd, off_t(resume.offset), SEEK_SET) != off_t(resume.offset) {
                let failure = IOFailure.system("seek in", label)
                context.deadLetter(raw: nil, error: failure.message, origin: Origin(source: context.name, file: label))
                continue
            }
            context.reading(label)
            reportedOffset = resume?.offset ?? 0
            defer { context.finishedInput(bytes: max(0, stamp.size - reportedOffset)) }
            if let resume {
                try streamLines(fd: fd, initial: UnsafeRawBufferPointer(start: nil, count: 0), label: label,
                                startOffset: resume.offset, startLine: Int(resume.line))
            } else {
                try readInput(fd: fd, label: label, isStandardInput: false)
            }
            inputDone()
            current = nil
        }
        if skipped > 0 {
            context.logger.info("\(skipped) file\(skipped == 1 ? "" : "s") unchanged since the last run: skipped")
        }
        try flushBatch()
    }

    /// The position of a record starting at `offset` of the current input.
    func position(_ offset: Int) -> Position? {
        current.map { Position(input: $0.input, epoch: $0.epoch, offset: Int64(offset)) }
    }

    /// The position of the line being read.
    private func linePosition() -> Position? {
        guard let current, let splitter else { return nil }
        return Position(input: current.input, epoch: current.epoch, offset: splitter.lineStart)
    }

    /// Tells the runtime how far the current JSON Lines input is read (with the batch going
    /// out): up to the start of the line being handled, whose records may not all be in the
    /// batch yet (a pointer's array). That line is read again after a crash, and the sinks'
    /// positions keep its records from being written twice.
    private func lineProgress() {
        guard let current, current.lineByLine, let splitter else { return }
        context.progress(checkpoint(for: current, offset: splitter.lineStart, line: Int64(splitter.lineNumber), complete: false))
    }

    private func checkpoint(for current: CurrentInput, offset: Int64, line: Int64, complete: Bool) -> InputCheckpoint {
        InputCheckpoint(input: current.input, epoch: current.epoch, offset: offset, line: line, complete: complete,
                        size: current.stamp.size, modified: current.stamp.modified,
                        fingerprint: FileFingerprint.of(fd: current.fd, length: offset) ?? "",
                        records: current.records)
    }

    /// The current input was read to its end.
    func inputDone() {
        guard let current else { return }
        if current.lineByLine, let splitter {
            // After the last line: everything up to the last newline is read; a last line
            // without one is read again next time.
            context.progress(checkpoint(for: current, offset: splitter.lineStart, line: Int64(splitter.lineNumber),
                                        complete: true))
        } else if !current.lineByLine {
            context.progress(InputCheckpoint(input: current.input, epoch: current.epoch, offset: current.stamp.size,
                                             complete: true, size: current.stamp.size, modified: current.stamp.modified,
                                             fingerprint: FileFingerprint.of(fd: current.fd, length: current.stamp.size) ?? "",
                                             records: current.records))
        } else {
            // An empty JSON Lines file: nothing read, nothing to resume.
            context.progress(checkpoint(for: current, offset: 0, line: 1, complete: true))
        }
        splitter = nil
    }

    // MARK: - Choosing the format

    /// Reads one input, reporting a read failure as a dead letter for that input.
    private func readInput(fd: Int32, label: String, isStandardInput: Bool) throws {
        do {
            try readFormatted(fd: fd, label: label, isStandardInput: isStandardInput)
        } catch let failure as IOFailure {
            if failure.stopped {
                try flushBatch()
                throw PipelineStop()
            }
            context.deadLetter(raw: nil, error: failure.message, origin: Origin(source: context.name, file: label))
        }
    }

    private func readFormatted(fd: Int32, label: String, isStandardInput: Bool) throws {
        let ext = (label as NSString).pathExtension.lowercased()
        let linesByName = JSONSource.lineExtensions.contains(ext)
        switch source.format {
        case .lines:
            try streamLines(fd: fd, initial: UnsafeRawBufferPointer(start: nil, count: 0), label: label)
        case .array, .object:
            let whole = try FileBytes(fd: fd, file: label, head: [], whileWaiting: whileWaiting)
            try whole.withBytes { try readDocument($0, label: label, emptyIsError: true) }
        case .auto:
            if linesByName {
                try streamLines(fd: fd, initial: UnsafeRawBufferPointer(start: nil, count: 0), label: label)
            } else {
                try detect(fd: fd, label: label, emptyIsError: !isStandardInput)
            }
        }
    }

    /// `format: auto` for a file without a JSON Lines extension (see ``JSONSource``).
    private func detect(fd: Int32, label: String, emptyIsError: Bool) throws {
        var head: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
        defer { chunk.deallocate() }
        var atEnd = false
        func readMore() throws {
            let n = try RawIO.read(fd, into: chunk, file: label, whileWaiting: whileWaiting)
            if n == 0 { atEnd = true } else { head.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n])) }
        }
        // Find the first byte that is not whitespace (after a byte order mark).
        while head.count < 3 && !atEnd { try readMore() }
        let bomLength = head.starts(with: byteOrderMark) ? 3 : 0
        var first: Int?
        var scanned = bomLength
        while true {
            if let i = head[scanned...].firstIndex(where: { !isWhitespace($0) }) { first = i; break }
            scanned = head.count
            if atEnd { break }
            try readMore()
        }
        guard let first else {
            if emptyIsError {
                context.deadLetter(raw: nil, error: "empty file: expected a JSON document",
                                   origin: Origin(source: context.name, file: label))
            }
            return
        }
        switch head[first] {
        case UInt8(ascii: "["):
            let whole = try FileBytes(fd: fd, file: label, head: head, whileWaiting: whileWaiting)
            try whole.withBytes { try readDocument($0, label: label, emptyIsError: true) }
        case UInt8(ascii: "{"):
            // Read the rest of the first line (bounded by the line limit).
            var searched = first
            var newline = head[first...].firstIndex(of: 0x0A)
            while newline == nil && !atEnd && head.count - first <= source.maxLineBytes {
                searched = head.count
                try readMore()
                newline = head[searched...].firstIndex(of: 0x0A)
            }
            let lineEnd = newline ?? head.count
            let firstLineIsValue = lineEnd - first <= source.maxLineBytes && head.withUnsafeBytes { all in
                (try? JSONReader.parse(UnsafeRawBufferPointer(rebasing: all[first..<lineEnd]), maxDepth: source.maxDepth)) != nil
            }
            if firstLineIsValue {
                try head.withUnsafeBytes { try streamLines(fd: fd, initial: $0, label: label) }
                return
            }
            let whole = try FileBytes(fd: fd, file: label, head: head, whileWaiting: whileWaiting)
            try whole.withBytes { all in
                if looksLikeLines(all, firstValueAt: first) {
                    try streamLines(fd: nil, initial: all, label: label)
                } else {
                    try readDocument(all, label: label, emptyIsError: true)
                }
            }
        default:
            try head.withUnsafeBytes { try streamLines(fd: fd, initial: $0, label: label) }
        }
    }

    /// For an input starting with `{` whose first line is not a complete value: whether more
    /// values follow the first one (JSON Lines with a bad first line) rather than the first
    /// value being the whole input (one document over several lines).
    private func looksLikeLines(_ bytes: UnsafeRawBufferPointer, firstValueAt start: Int) -> Bool {
        if let end = endOfFirstValue(bytes, from: start) {
            return !isBlank(UnsafeRawBufferPointer(rebasing: bytes[end...]))
        }
        // Unbalanced: a truncated document, or a JSON Lines input whose first line is cut
        // short. It is JSON Lines if the next non-blank line is a complete value on its own.
        var pos = start
        var lineNumber = 0
        while pos < bytes.count {
            let nl = bytes[pos...].firstIndex(of: 0x0A) ?? bytes.count
            var line = UnsafeRawBufferPointer(rebasing: bytes[pos..<nl])
            if lineNumber > 0 && !isBlank(line) {
                if line.last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
                return line.count <= source.maxLineBytes
                    && (try? JSONReader.parse(line, maxDepth: source.maxDepth)) != nil
            }
            lineNumber += 1
            pos = nl + 1
        }
        return false
    }

    /// The offset just past the value starting at `start`, found by matching brackets outside
    /// strings (no validation), or `nil` when the input ends first.
    private func endOfFirstValue(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var depth = 0
        var inString = false
        var i = start
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
            } else {
                switch c {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth <= 0 { return i + 1 }
                default: break
                }
            }
            i += 1
        }
        return nil
    }

    // MARK: - JSON Lines

    func streamLines(fd: Int32?, initial: UnsafeRawBufferPointer, label: String,
                     startOffset: Int64 = 0, startLine: Int = 1, limit: Int64? = nil) throws {
        let splitter = LineSplitter(maxLineBytes: source.maxLineBytes, keepBytes: JSONSource.rawLimit,
                                    startOffset: startOffset, startLine: startLine)
        self.splitter = splitter
        try splitter.run(initial: initial, fd: fd, file: label, whileWaiting: whileWaiting, limit: limit) { number, event in
            try handleLine(number, event, label: label)
        }
    }

    private func handleLine(_ number: Int, _ event: LineEvent, label: String) throws {
        linesSinceCheck += 1
        if linesSinceCheck >= 4096 {
            linesSinceCheck = 0
            if context.isStopping {
                lineProgress()
                try flushBatch()   // deliver what was read (standard input cannot be read again)
                throw PipelineStop()
            }
        }
        switch event {
        case .tooLong(let prefix, let length):
            let (raw, details) = rawExcerpt(prefix, totalLength: length, limit: JSONSource.rawLimit)
            context.deadLetter(raw: raw,
                               error: "line is longer than max_line_bytes (\(length) bytes, the limit is \(source.maxLineBytes)); skipped",
                               origin: Origin(source: context.name, file: label, line: number), details: details)
        case .line(var bytes):
            if number == 1 && startsWithBOM(bytes) { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropFirst(3)) }
            if bytes.last == 0x0D { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropLast()) }
            if isBlank(bytes) { return }
            let value: Value
            do {
                value = try JSONReader.parse(bytes, maxDepth: source.maxDepth, fieldsHint: &fieldsHint)
            } catch {
                let (raw, details) = rawExcerpt(bytes, limit: JSONSource.rawLimit)
                context.deadLetter(raw: raw, error: syntaxMessage(error),
                                   origin: Origin(source: context.name, file: label, line: number, column: error.column),
                                   details: details)
                return
            }
            let origin = Origin(source: context.name, file: label, line: number, position: linePosition())
            guard let pointer = source.pointer else {
                if case .object(let fields) = value {
                    try emit(Record(fields, origin: origin))
                } else {
                    let (raw, details) = rawExcerpt(bytes, limit: JSONSource.rawLimit)
                    context.deadLetter(raw: raw, error: notAnObject(value), origin: origin, details: details)
                }
                return
            }
            switch pointer.resolve(in: value) {
            case .failure(let problem):
                let (raw, details) = rawExcerpt(bytes, limit: JSONSource.rawLimit)
                context.deadLetter(raw: raw, error: problem.message, origin: origin, details: details)
            case .success(.object(let fields)):
                try emit(Record(fields, origin: origin))
            case .success(.array(let items)):
                for (index, item) in items.enumerated() {
                    if case .object(let fields) = item {
                        try emit(Record(fields, origin: origin))
                    } else {
                        context.deadLetter(raw: excerpt(of: item), error: "\(notAnObject(item)) (element \(index) of '\(pointer)')",
                                           origin: origin)
                    }
                }
            case .success(let other):
                let (raw, details) = rawExcerpt(bytes, limit: JSONSource.rawLimit)
                context.deadLetter(raw: raw, error: notAnArray(other, pointer), origin: origin, details: details)
            }
        }
    }

    // MARK: - Whole documents

    /// Reads a whole input as one document, streaming the elements of its record array.
    private func readDocument(_ all: UnsafeRawBufferPointer, label: String, emptyIsError: Bool) throws {
        let bytes = startsWithBOM(all) ? UnsafeRawBufferPointer(rebasing: all.dropFirst(3)) : all
        var walker = DocumentWalker(reader: self, bytes: bytes, label: label, bomOffset: all.count - bytes.count)
        var reader = JSONReader(bytes: bytes, maxDepth: source.maxDepth)
        reader.skipWhitespace()
        if reader.isAtEnd {
            if emptyIsError {
                context.deadLetter(raw: nil, error: "empty file: expected a JSON document",
                                   origin: Origin(source: context.name, file: label))
            }
            return
        }
        do {
            if source.format == .array && source.pointer == nil && reader.current != UInt8(ascii: "[") {
                let (line, column) = walker.tracker.position(of: reader.offset)
                context.deadLetter(raw: walker.lineExcerpt(around: reader.offset),
                                   error: "expected a JSON array (format: array), found \(reader.describeCurrent())",
                                   origin: Origin(source: context.name, file: label, line: line, column: column))
                return
            }
            if let pointer = source.pointer {
                try walker.navigate(&reader, pointer: pointer, depth: 0)
            } else {
                try walker.readRecords(&reader, pointer: nil)
            }
            reader.skipWhitespace()
            if !reader.isAtEnd {
                throw reader.error("unexpected \(reader.describeCurrent()) after the JSON value")
            }
        } catch let error as JSONError {
            var message = syntaxMessage(error)
            if walker.emitted > 0 { message += "; the rest of the file was skipped" }
            context.deadLetter(raw: walker.lineExcerpt(around: error.offset), error: message,
                               origin: Origin(source: context.name, file: label, line: error.line, column: error.column))
        } catch let problem as DocumentProblem {
            let (line, column) = walker.position(of: problem.offset)
            context.deadLetter(raw: walker.lineExcerpt(around: problem.offset), error: problem.message,
                               origin: Origin(source: context.name, file: label, line: line, column: column))
        }
    }

    // MARK: - Output

    func emit(_ record: Record) throws {
        batch.append(record)
        current?.records += 1
        if batch.count >= context.batchSize {
            lineProgress()
            try flushBatch()
        }
    }

    func flushBatch() throws {
        guard !batch.isEmpty else { return }
        let out = batch
        batch.removeAll(keepingCapacity: true)
        if let splitter, current != nil, splitter.lineStart > reportedOffset {
            context.didRead(bytes: splitter.lineStart - reportedOffset)
            reportedOffset = splitter.lineStart
        }
        try context.emit(out)
    }

    // MARK: - Messages

    func syntaxMessage(_ error: JSONError) -> String {
        if error.message.hasPrefix("nesting deeper") {
            return "invalid JSON: \(error.message) (max_depth)"
        }
        return "invalid JSON: \(error.message)"
    }

    func notAnObject(_ value: Value) -> String {
        "a record must be a JSON object, got \(value.kindName)"
    }

    func notAnArray(_ value: Value, _ pointer: JSONPointer) -> String {
        "pointer '\(pointer)' selects \(JSONPointer.article(value.kindName)), not an array or an object of records"
    }

    func excerpt(of value: Value) -> String {
        var out: [UInt8] = []
        JSONWriter.write(value, to: &out)
        return out.withUnsafeBytes { rawExcerpt($0, limit: JSONSource.rawLimit).0 }
    }
}

/// Walks one whole document: follows the pointer and streams the records' array element by
/// element with the reader's incremental API.
private struct DocumentWalker {
    let reader: JSONSourceReader
    let bytes: UnsafeRawBufferPointer
    let label: String
    var tracker: PositionTracker
    var emitted = 0
    /// Bytes before `bytes` in the file (a byte order mark), for positions.
    let bomOffset: Int

    init(reader: JSONSourceReader, bytes: UnsafeRawBufferPointer, label: String, bomOffset: Int = 0) {
        self.reader = reader
        self.bytes = bytes
        self.label = label
        self.tracker = PositionTracker(bytes)
        self.bomOffset = bomOffset
    }

    var name: String { reader.context.name }

    mutating func position(of offset: Int) -> (line: Int, column: Int) {
        tracker.position(of: offset)
    }

    /// Follows `pointer` from token `depth` on, then reads the records there; the rest of each
    /// container is still parsed, so a syntax error anywhere is reported.
    mutating func navigate(_ json: inout JSONReader, pointer: JSONPointer, depth: Int) throws {
        if depth == pointer.tokens.count {
            try readRecords(&json, pointer: pointer)
            return
        }
        let token = pointer.tokens[depth]
        let start = json.offset
        var found = false
        switch json.current {
        case UInt8(ascii: "{"):
            json.advance()
            json.skipWhitespace()
            if json.current == UInt8(ascii: "}") {
                json.advance()
            } else {
                members: while true {
                    json.skipWhitespace()
                    guard json.current == UInt8(ascii: "\"") else {
                        throw json.error("unexpected \(json.describeCurrent()), expected a string key")
                    }
                    let key = try json.readString()
                    json.skipWhitespace()
                    guard json.current == UInt8(ascii: ":") else {
                        throw json.error("unexpected \(json.describeCurrent()), expected ':' after object key")
                    }
                    json.advance()
                    json.skipWhitespace()
                    if !found && key == token {
                        found = true
                        try navigate(&json, pointer: pointer, depth: depth + 1)
                    } else {
                        _ = try json.readValue()
                    }
                    json.skipWhitespace()
                    switch json.current {
                    case UInt8(ascii: ","): json.advance()
                    case UInt8(ascii: "}"): json.advance(); break members
                    default: throw json.error("unexpected \(json.describeCurrent()), expected ',' or '}' in object")
                    }
                }
            }
            if !found {
                throw DocumentProblem(message: pointer.notFound("no key '\(token)' in the object at \(pointer.place(depth))").message,
                                      offset: start)
            }
        case UInt8(ascii: "["):
            guard let wanted = JSONPointer.index(token) else {
                _ = try json.readValue()
                throw DocumentProblem(
                    message: pointer.notFound("'\(token)' is not an array index (the value at \(pointer.place(depth)) is an array)").message,
                    offset: start)
            }
            json.advance()
            json.skipWhitespace()
            var index = 0
            if json.current == UInt8(ascii: "]") {
                json.advance()
            } else {
                elements: while true {
                    json.skipWhitespace()
                    if index == wanted {
                        found = true
                        try navigate(&json, pointer: pointer, depth: depth + 1)
                    } else {
                        _ = try json.readValue()
                    }
                    index += 1
                    json.skipWhitespace()
                    switch json.current {
                    case UInt8(ascii: ","): json.advance()
                    case UInt8(ascii: "]"): json.advance(); break elements
                    default: throw json.error("unexpected \(json.describeCurrent()), expected ',' or ']' in array")
                    }
                }
            }
            if !found {
                throw DocumentProblem(
                    message: pointer.notFound("index \(wanted) is past the end of the array at \(pointer.place(depth)) (\(index) elements)").message,
                    offset: start)
            }
        default:
            let value = try json.readValue()
            throw DocumentProblem(
                message: pointer.notFound("the value at \(pointer.place(depth)) is \(JSONPointer.article(value.kindName)), which has no '\(token)'").message,
                offset: start)
        }
    }

    /// Reads the value at the reader: an array's elements are records (one at a time), an
    /// object is one record, anything else is a dead letter.
    mutating func readRecords(_ json: inout JSONReader, pointer: JSONPointer?) throws {
        if json.current == UInt8(ascii: "[") {
            json.advance()
            json.skipWhitespace()
            if json.current == UInt8(ascii: "]") { json.advance(); return }
            while true {
                json.skipWhitespace()
                let start = json.offset
                let value = try json.readValue()
                try element(value, from: start, to: json.offset)
                json.skipWhitespace()
                switch json.current {
                case UInt8(ascii: ","): json.advance()
                case UInt8(ascii: "]"): json.advance(); return
                default: throw json.error("unexpected \(json.describeCurrent()), expected ',' or ']' in array")
                }
            }
        }
        let start = json.offset
        let value = try json.readValue()
        if case .object(let fields) = value {
            let (line, _) = tracker.position(of: start)
            try reader.emit(Record(fields, origin: Origin(source: name, file: label, line: line,
                                                          position: reader.position(start + bomOffset))))
            emitted += 1
        } else {
            let (line, column) = tracker.position(of: start)
            let (raw, details) = rawExcerpt(UnsafeRawBufferPointer(rebasing: bytes[start..<json.offset]), limit: JSONSource.rawLimit)
            let message = pointer.map { reader.notAnArray(value, $0) } ?? reader.notAnObject(value)
            reader.context.deadLetter(raw: raw, error: message,
                                      origin: Origin(source: name, file: label, line: line, column: column), details: details)
        }
    }

    /// One element of the records' array.
    mutating func element(_ value: Value, from start: Int, to end: Int) throws {
        let (line, column) = tracker.position(of: start)
        if case .object(let fields) = value {
            try reader.emit(Record(fields, origin: Origin(source: name, file: label, line: line,
                                                          position: reader.position(start + bomOffset))))
            emitted += 1
        } else {
            let (raw, details) = rawExcerpt(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), limit: JSONSource.rawLimit)
            reader.context.deadLetter(raw: raw, error: reader.notAnObject(value),
                                      origin: Origin(source: name, file: label, line: line, column: column), details: details)
        }
    }

    /// The text of the line holding `offset`, at most the raw limit around it.
    func lineExcerpt(around offset: Int) -> String {
        let at = min(max(0, offset), bytes.count)
        let half = JSONSource.rawLimit / 2
        var start = at
        while start > 0 && at - start < half && bytes[start - 1] != 0x0A { start -= 1 }
        var end = at
        while end < bytes.count && end - start < JSONSource.rawLimit && bytes[end] != 0x0A { end += 1 }
        while start < end && bytes[start] & 0xC0 == 0x80 { start += 1 }
        while end > start && end < bytes.count && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        var slice = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        if slice.last == 0x0D { slice = UnsafeRawBufferPointer(rebasing: slice.dropLast()) }
        return String(decoding: slice, as: UTF8.self)
    }
}

/// JSON whitespace.
@inline(__always)
func isWhitespace(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
}
