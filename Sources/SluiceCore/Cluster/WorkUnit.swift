import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One piece of a source's input that one process of a cluster run reads on its own: a few
/// whole files, a byte range of a large JSON Lines file (cut at line boundaries), or a rowid
/// range of a table.
///
/// Every record a unit produces has a position whose ``Position/input`` belongs to that unit
/// alone (a file of the unit, `FILE#START-END` for a byte range, `TABLE#FIRST-LAST` for a rowid
/// range): the delivery marks a shared sink keeps per input then tell, for a unit taken over from
/// a process that died, exactly which of its records were committed already.
public struct WorkUnit: Sendable, Hashable {
    /// What the unit covers.
    public enum Kind: String, Sendable, Hashable {
        /// Whole files (``WorkUnit/files``), each read as the source reads it in a normal run.
        case files
        /// Bytes ``WorkUnit/start`` ..< ``WorkUnit/end`` of the one file in ``WorkUnit/files``.
        case byteRange = "bytes"
        /// Rowids ``WorkUnit/start`` ... ``WorkUnit/end`` of the table in ``WorkUnit/files``.
        case rowRange = "rows"
    }

    /// The source stage the unit belongs to.
    public var source: String
    /// What it covers.
    public var kind: Kind
    /// The files (paths relative to the source's root) of a `files` unit; the one file of a
    /// byte range; the table of a row range.
    public var files: [String]
    /// First byte (a byte range) or first rowid (a row range); 0 for files.
    public var start: Int64
    /// End byte, exclusive (a byte range) or last rowid, inclusive (a row range); 0 for files.
    public var end: Int64
    /// The input version the unit's records get (byte and row ranges; files plan their own).
    public var epoch: Int64
    /// The 1-based line number at ``start`` of a byte range (for dead letters), or 0.
    public var firstLine: Int64
    /// About how many bytes (or rows) the unit holds: for status and scheduling.
    public var size: Int64
    /// For a range: the checkpoint of the whole input to save once every range of it that was
    /// registered together is done (the next run then reads only what was added after it).
    public var rollup: InputCheckpoint?

    /// Creates a unit.
    public init(source: String, kind: Kind, files: [String], start: Int64 = 0, end: Int64 = 0, epoch: Int64 = 1,
                firstLine: Int64 = 0, size: Int64 = 0, rollup: InputCheckpoint? = nil) {
        self.source = source
        self.kind = kind
        self.files = files
        self.start = start
        self.end = end
        self.epoch = epoch
        self.firstLine = firstLine
        self.size = size
        self.rollup = rollup
    }

    /// The unit's identity, the same whenever the same input is listed the same way:
    /// `SOURCE/FILE` (one file), `SOURCE/FILE+N` (FILE and the N files after it),
    /// `SOURCE/FILE#START-END@EPOCH` (a byte range), `SOURCE/TABLE#FIRST-LAST@EPOCH` (rows).
    public var id: String {
        let first = files.first ?? ""
        switch kind {
        case .files: return "\(source)/\(first)" + (files.count > 1 ? "+\(files.count - 1)" : "")
        case .byteRange, .rowRange: return "\(source)/\(first)#\(start)-\(end)@\(epoch)"
        }
    }

    /// The ``Position/input`` the records of a range unit carry: `FILE#START-END`.
    public var rangeInput: String { "\(files.first ?? "")#\(start)-\(end)" }

    /// The unit as JSON (what a coordinator stores).
    public var json: Value {
        var fields: Fields = ["source": .string(source), "kind": .string(kind.rawValue),
                              "files": .array(files.map { .string($0) }), "start": .int(start), "end": .int(end),
                              "epoch": .int(epoch), "first_line": .int(firstLine), "size": .int(size)]
        if let rollup { fields["rollup"] = Self.checkpointJSON(rollup) }
        return .object(fields)
    }

    /// Reads a unit back from ``json``; nil when the value is not one.
    public init?(json: Value) {
        guard case .object(let f) = json, let source = f["source"]?.stringValue,
              let kind = f["kind"]?.stringValue.flatMap(Kind.init(rawValue:)),
              let files = f["files"]?.arrayValue?.compactMap(\.stringValue) else { return nil }
        self.init(source: source, kind: kind, files: files, start: f["start"]?.intValue ?? 0, end: f["end"]?.intValue ?? 0,
                  epoch: f["epoch"]?.intValue ?? 1, firstLine: f["first_line"]?.intValue ?? 0, size: f["size"]?.intValue ?? 0,
                  rollup: f["rollup"].flatMap(Self.checkpoint(json:)))
    }

    static func checkpointJSON(_ cp: InputCheckpoint) -> Value {
        var fields: Fields = ["input": .string(cp.input), "epoch": .int(cp.epoch), "offset": .int(cp.offset),
                              "line": .int(cp.line), "complete": .bool(cp.complete), "size": .int(cp.size),
                              "modified": .double(cp.modified), "fingerprint": .string(cp.fingerprint),
                              "records": .int(cp.records)]
        if let v = cp.lastValue { fields["last_value"] = v }
        return .object(fields)
    }

    static func checkpoint(json: Value) -> InputCheckpoint? {
        guard case .object(let f) = json, let input = f["input"]?.stringValue else { return nil }
        return InputCheckpoint(input: input, epoch: f["epoch"]?.intValue ?? 1, offset: f["offset"]?.intValue ?? 0,
                               line: f["line"]?.intValue ?? 0, complete: f["complete"]?.boolValue ?? false,
                               size: f["size"]?.intValue ?? -1, modified: f["modified"]?.doubleValue ?? 0,
                               fingerprint: f["fingerprint"]?.stringValue ?? "", lastValue: f["last_value"],
                               records: f["records"]?.intValue ?? 0)
    }
}

/// What a source needs to list its work units.
public struct UnitListing: Sendable {
    /// The source's name.
    public var source: String
    /// What earlier runs delivered (the shared checkpoint store): inputs delivered in full are
    /// not listed again, grown JSON Lines files only from where they were delivered to.
    public var checkpoint: SourceCheckpoint
    /// About how many bytes (or rows) one unit should hold.
    public var targetSize: Int64

    /// Creates a listing request.
    public init(source: String, checkpoint: SourceCheckpoint, targetSize: Int64) {
        self.source = source
        self.checkpoint = checkpoint
        self.targetSize = max(1, targetSize)
    }

    /// Groups whole files, in the given (path) order, into units of about ``targetSize`` bytes
    /// each (a file larger than that is a unit of its own).
    public func groupFiles(_ files: [(relativePath: String, size: Int64)], maxFiles: Int = 10_000) -> [WorkUnit] {
        var units: [WorkUnit] = []
        var group: [String] = []
        var bytes: Int64 = 0
        func close() {
            guard !group.isEmpty else { return }
            units.append(WorkUnit(source: source, kind: .files, files: group, epoch: checkpoint.baseEpoch, size: bytes))
            group = []
            bytes = 0
        }
        for file in files {
            if !group.isEmpty && (bytes + file.size > targetSize || group.count >= maxFiles) { close() }
            group.append(file.relativePath)
            bytes += file.size
        }
        close()
        return units
    }
}

/// A source whose input can be cut into ``WorkUnit``s, each read on its own by whichever process
/// of a cluster run claims it. The `json`, `text_articles` and `sqlite` sources are splittable.
public protocol SplittableSource: Source {
    /// The units of what is new or changed in the current input (nothing for input delivered in
    /// full before). Called by one process per cluster run, under the coordinator's lock.
    func workUnits(_ listing: UnitListing) throws -> [WorkUnit]

    /// Reads one unit, emitting its records (positions per unit, see ``WorkUnit``) and its
    /// progress through `context` as ``Source/run(_:)`` does. `context.checkpoint` holds what
    /// was delivered before, so a unit taken over from a dead process reads on from there.
    func run(unit: WorkUnit, _ context: SourceContext) throws
}

/// Cuts a JSON Lines file into byte ranges that start and end at line boundaries.
public enum LineRanges {
    /// Ranges of about `target` bytes covering bytes `from ..< to` of the file at `path`, each
    /// ending just after a newline (the last one at `to`), with the 1-based line number at each
    /// range's start counted from `firstLine` at `from`. Every line of `from ..< to` lies in
    /// exactly one range. Reads the file once, in 1 MiB chunks.
    public static func split(path: String, from: Int64, to: Int64, target: Int64,
                             firstLine: Int64 = 1) throws -> [(start: Int64, end: Int64, firstLine: Int64)] {
        guard to > from else { return [] }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CheckpointError(message: "cannot open \(path) to cut it into ranges: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let target = max(1, target)
        var ranges: [(start: Int64, end: Int64, firstLine: Int64)] = []
        var rangeStart = from
        var rangeLine = firstLine
        var line = firstLine
        var offset = from
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while offset < to {
            let want = Int(min(Int64(buffer.count), to - offset))
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
            if n < 0 {
                throw CheckpointError(message: "cannot read \(path) to cut it into ranges: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }   // the file is shorter than it was: the last range ends where it ends
            for k in 0..<n where buffer[k] == 0x0A {
                line += 1
                let afterNewline = offset + Int64(k) + 1
                if afterNewline - rangeStart >= target && afterNewline < to {
                    ranges.append((rangeStart, afterNewline, rangeLine))
                    rangeStart = afterNewline
                    rangeLine = line
                }
            }
            offset += Int64(n)
        }
        if offset > rangeStart { ranges.append((rangeStart, offset, rangeLine)) }
        return ranges
    }
}
