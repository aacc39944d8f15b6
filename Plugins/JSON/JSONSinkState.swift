import Foundation
import SluiceCore
import SluiceFormats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the `json` sink keeps about its output file between runs: the sink's commit point.
///
/// Stored as `<data dir>/sinks/<escaped stage name>.json` and replaced atomically at every
/// commit, after the output's data is durable. Everything up to ``length`` of the output was
/// committed, together with the delivery ``marks`` of the records in it.
struct JSONSinkState: Codable, Equatable {
    /// The layout version of this file.
    static let currentVersion = 1

    /// The layout version the file was written with.
    var version: Int = JSONSinkState.currentVersion
    /// The output's absolute path (the final one, also while a full run writes `<path>.partial`).
    var path: String
    /// The format written (`lines` or `array`).
    var format: String
    /// Whether the numbers below describe `<path>.partial`, the unfinished output of a full run.
    var partial: Bool
    /// The committed length of the file (for an array: including the closing bytes).
    var length: Int64
    /// Where the next record goes: ``length`` for JSON Lines; for an array, where the closing
    /// bytes start (the next records replace them).
    var body: Int64
    /// The elements of the array so far (0 or more; 0 for JSON Lines).
    var elements: Int
    /// ``FileFingerprint`` of the file's first ``body`` bytes.
    var fingerprint: String
    /// The delivery marks of the committed records.
    var marks: [MarkEntry]

    /// One ``DeliveryLedger`` mark, as stored.
    struct MarkEntry: Codable, Equatable {
        var source: String
        var input: String
        var route: String
        var epoch: Int64
        var offset: Int64
        var count: Int64
    }

    /// The marks as the ledger takes them.
    var ledgerMarks: [DeliveryLedger.Key: DeliveryLedger.Mark] {
        var out: [DeliveryLedger.Key: DeliveryLedger.Mark] = [:]
        for entry in marks {
            out[DeliveryLedger.Key(source: entry.source, input: entry.input, route: entry.route)] =
                DeliveryLedger.Mark(epoch: entry.epoch, offset: entry.offset, count: entry.count)
        }
        return out
    }

    /// The state as JSON, keys sorted (what `JSONEncoder` with `.sortedKeys` writes, read back
    /// with `JSONDecoder`). Written by hand: the state is saved at every commit with every mark
    /// of the run, and `JSONEncoder` built a tree of the whole state each time — measured on
    /// 50,000 articles into a json sink: 112 MB peak.
    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + marks.count * 96)
        func key(_ name: String, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            JSONWriter.writeString(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        func number(_ n: some BinaryInteger) { out.append(contentsOf: String(n).utf8) }
        out.append(UInt8(ascii: "{"))
        key("body", first: true); number(body)
        key("elements"); number(elements)
        key("fingerprint"); JSONWriter.writeString(fingerprint, to: &out)
        key("format"); JSONWriter.writeString(format, to: &out)
        key("length"); number(length)
        key("marks")
        out.append(UInt8(ascii: "["))
        for (i, mark) in marks.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            key("count", first: true); number(mark.count)
            key("epoch"); number(mark.epoch)
            key("input"); JSONWriter.writeString(mark.input, to: &out)
            key("offset"); number(mark.offset)
            key("route"); JSONWriter.writeString(mark.route, to: &out)
            key("source"); JSONWriter.writeString(mark.source, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        key("partial"); out.append(contentsOf: (partial ? "true" : "false").utf8)
        key("path"); JSONWriter.writeString(path, to: &out)
        key("version"); number(version)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The ledger's marks as stored, in a stable order.
    static func entries(_ marks: [DeliveryLedger.Key: DeliveryLedger.Mark]) -> [MarkEntry] {
        marks.map { key, mark in
            MarkEntry(source: key.source, input: key.input, route: key.route,
                      epoch: mark.epoch, offset: mark.offset, count: mark.count)
        }.sorted { ($0.source, $0.input, $0.route) < ($1.source, $1.input, $1.route) }
    }
}

/// The file that holds a ``JSONSinkState``, written atomically.
struct JSONSinkSidecar {
    /// The state file's path.
    let file: String
    /// Its folder (`<data dir>/sinks`).
    let folder: String

    /// The state file of the sink stage `stage` in `dataDirectory`.
    init(dataDirectory: String, stage: String) {
        folder = (dataDirectory as NSString).appendingPathComponent("sinks")
        file = (folder as NSString).appendingPathComponent(JSONSinkSidecar.fileName(for: stage))
    }

    /// A safe file name for any stage name: letters, digits, `-` and `_` stay, every other
    /// byte becomes `%XX`; a very long name is shortened and made unique with a hash.
    static func fileName(for stage: String) -> String {
        var name = ""
        for byte in stage.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                name.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                name += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        if name.isEmpty { name = "%" }
        if name.utf8.count > 160 {
            let hash = Array(stage.utf8).withUnsafeBytes { FileFingerprint.whole($0) }
            name = String(name.prefix(140)) + "~" + hash
        }
        return name + ".json"
    }

    /// The saved state, or nil when there is none. Temporary files left by a process that was
    /// killed while saving are removed.
    func load() throws(IOFailure) -> JSONSinkState? {
        let prefix = (file as NSString).lastPathComponent + "."
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            // `<name>.json.<pid>.<random>.tmp`: only a process that is gone left it.
            let parts = name.dropFirst(prefix.count).split(separator: ".")
            guard parts.count == 3, let pid = Int32(parts[0]), pid != getpid(),
                  kill(pid, 0) != 0 && errno == ESRCH else { continue }
            _ = unlink((folder as NSString).appendingPathComponent(name))
        }
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw IOFailure(message: "cannot read the sink state \(file)")
        }
        let state: JSONSinkState
        do {
            state = try JSONDecoder().decode(JSONSinkState.self, from: data)
        } catch {
            throw IOFailure(message: "the sink state \(file) is damaged (\(error)); delete it to start the output afresh")
        }
        guard state.version == JSONSinkState.currentVersion else {
            throw IOFailure(message: "the sink state \(file) has layout version \(state.version), this sluice reads \(JSONSinkState.currentVersion)")
        }
        return state
    }

    /// Replaces the saved state atomically and durably: a temporary file, fsync, rename, fsync
    /// of the folder.
    func save(_ state: JSONSinkState) throws(IOFailure) {
        let data = state.encoded()
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw IOFailure(message: "cannot create the folder \(folder): \(error.localizedDescription)")
        }
        let temporary = file + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IOFailure.system("create", temporary) }
        var ok = false
        defer { if !ok { _ = unlink(temporary) } }
        var failure: IOFailure?
        data.withUnsafeBytes { raw in
            do throws(IOFailure) {
                try RawIO.writeAll(fd, raw, file: temporary)
            } catch {
                failure = error
            }
        }
        if let failure {
            closeDescriptor(fd)
            throw failure
        }
        if fsync(fd) != 0 {
            let failure = IOFailure.system("sync", temporary)
            closeDescriptor(fd)
            throw failure
        }
        closeDescriptor(fd)
        guard rename(temporary, file) == 0 else { throw IOFailure.system("rename \(temporary) to", file) }
        ok = true
        try syncFolder(folder)
    }
}

/// `close(2)`, named apart from the `close()` of writers.
@discardableResult
func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }

/// Makes a folder's entries (a rename, a new file) durable. File systems that cannot sync a
/// folder (`EINVAL`) are accepted.
func syncFolder(_ folder: String) throws(IOFailure) {
    let fd = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw IOFailure.system("open the folder", folder) }
    defer { closeDescriptor(fd) }
    if fsync(fd) != 0 && errno != EINVAL { throw IOFailure.system("sync the folder", folder) }
}
