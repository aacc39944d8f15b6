import Crypto
import Foundation
import SluiceCore

/// The `dedupe` transform: passes the first record per key and drops later ones, across runs.
///
/// The key is the JSON of the listed fields' values; what is remembered is 128 bits of its
/// SHA-256, kept in `<data_dir>/<pipeline>/dedupe/<stage>.keys` (16 bytes a key). The keys a
/// batch let through are saved when that batch has been committed by every sink, just before
/// its source's checkpoint moves past it (``TransformOutput/afterCommit(_:)``): after a crash
/// the next run re-reads exactly the records whose keys were not saved, so none is lost and
/// none passes twice.
struct DedupeTransform: Transform {
    /// The options of a `dedupe` stage.
    struct Configuration: TransformConfiguration {
        static let type = "dedupe"
        static let summary = "Keeps the first record per key, across runs."
        static let example = """
            type: dedupe
            inputs: articles
            key: [source, id]
            """
        static let options: [ConfigOption<Self>] = [
            .init("key", \.key, .stringOrList, required: true, notEmpty: true,
                  doc: "the field or fields that identify a record"),
            .init("across_runs", \.acrossRuns, doc: "remember keys in data_dir so that later runs drop records seen before"),
        ]

        var key: [String] = []
        var acrossRuns = true

        func makeTransform(_ context: BuildContext) throws -> any Transform {
            guard !key.contains(where: \.isEmpty) else {
                throw context.error(\Self.key, "'key' needs at least one field, and field names must not be empty")
            }
            return DedupeTransform(key: key, stateName: acrossRuns ? DedupeTransform.fileName(for: context.name) : nil)
        }
    }

    let key: [String]
    /// The state file's name inside `<data_dir>/dedupe/`, or nil without `across_runs`.
    let stateName: String?

    /// One worker: the set of keys seen must be shared.
    var workers: Int { 1 }

    /// A file name for a stage name: letters and digits (any script), `-` and `_` stay; anything
    /// else becomes `%XX` per UTF-8 byte, so two stage names never share a file (`a.b` vs
    /// `a_b`). A name that would pass 200 bytes is cut and ends with a hash of the whole name.
    static func fileName(for stage: String) -> String {
        var name = ""
        for character in stage {
            if character.isLetter || character.isNumber || character == "-" || character == "_" {
                name.append(character)
            } else {
                for byte in String(character).utf8 { name += String(format: "%%%02X", byte) }
            }
        }
        if name.utf8.count > 200 {
            let digest = Hex.string(SHA256.hash(data: Data(stage.utf8)).prefix(8))
            var cut = ""
            for character in name {
                if cut.utf8.count + String(character).utf8.count > 180 { break }
                cut.append(character)
            }
            name = cut + "-" + digest
        }
        return name + ".keys"
    }

    /// Keys live in the run's `data_dir` (a `sluice test` case gets a scratch one).
    func makeWorker(_ context: StageContext) throws -> any TransformWorker {
        let stateFile = stateName.map {
            URL(fileURLWithPath: context.dataDirectory).appendingPathComponent("dedupe").appendingPathComponent($0).path
        }
        return try Worker(stage: context.name, key: key, stateFile: stateFile)
    }

    struct Digest: Hashable, Sendable {
        var high: UInt64
        var low: UInt64
    }

    final class Worker: TransformWorker {
        let stage: String
        let key: [String]
        let stateFile: String?
        var seen: Set<Digest> = []
        var fresh: [Digest] = []

        init(stage: String, key: [String], stateFile: String?) throws {
            self.stage = stage
            self.key = key
            self.stateFile = stateFile
            guard let stateFile, let data = FileManager.default.contents(atPath: stateFile) else { return }
            // A torn last entry (a crash while appending) is ignored.
            let count = data.count / 16
            seen.reserveCapacity(count)
            data.withUnsafeBytes { raw in
                for i in 0..<count {
                    let high = raw.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self)
                    let low = raw.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self)
                    seen.insert(Digest(high: high, low: low))
                }
            }
        }

        func process(_ batch: [Record], into output: inout TransformOutput) throws {
            for record in batch {
                var parts: [Value] = []
                parts.reserveCapacity(key.count)
                var missing: String?
                for name in key {
                    guard let v = record.fields[name] else { missing = name; break }
                    parts.append(v)
                }
                if let missing {
                    output.deadLetter(record, error: "dedupe key field '\(missing)' is missing")
                    continue
                }
                var bytes: [UInt8] = []
                JSONWriter.write(.array(parts), to: &bytes)
                let hash = SHA256.hash(data: bytes)
                let digest = hash.withUnsafeBytes { raw in
                    Digest(high: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                           low: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                }
                if seen.insert(digest).inserted {
                    fresh.append(digest)
                    output.emit(record)
                } else {
                    output.drop(record)
                }
            }
            if let stateFile, !fresh.isEmpty {
                let keys = fresh
                let stage = self.stage
                output.afterCommit { try Worker.save(keys, to: stateFile, stage: stage) }
                fresh.removeAll(keepingCapacity: true)
            }
        }

        /// Appends keys to the state file and syncs it.
        static func save(_ fresh: [Digest], to stateFile: String, stage: String) throws {
            var data = Data(capacity: fresh.count * 16)
            for d in fresh {
                withUnsafeBytes(of: d.high) { data.append(contentsOf: $0) }
                withUnsafeBytes(of: d.low) { data.append(contentsOf: $0) }
            }
            do {
                let url = URL(fileURLWithPath: stateFile)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                if !FileManager.default.fileExists(atPath: stateFile) {
                    guard FileManager.default.createFile(atPath: stateFile, contents: nil) else {
                        throw StageError(stage: stage, message: "cannot create \(stateFile)")
                    }
                }
                let handle = try FileHandle(forWritingTo: url)
                defer { try? handle.close() }
                // Keep whole 16-byte entries: drop a torn tail before appending.
                let size = try handle.seekToEnd()
                if size % 16 != 0 { try handle.truncate(atOffset: size - size % 16); try handle.seekToEnd() }
                try handle.write(contentsOf: data)
                try handle.synchronize()
            } catch let error as StageError {
                throw error
            } catch {
                throw StageError(stage: stage, message: "cannot save the keys seen to \(stateFile): \(error.localizedDescription)")
            }
        }
    }
}
