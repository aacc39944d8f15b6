import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a file-reading source does with one file, given what earlier runs delivered from it.
public enum FilePlan: Sendable, Equatable {
    /// Nothing new: every record of the file was delivered before.
    case skip
    /// The file grew: read on from the checkpoint's offset (line-oriented inputs only).
    case resume(InputCheckpoint)
    /// Read the whole file as version `epoch`. `changed` says why an input seen before is read
    /// again ("changed", "shrank"), or is nil for a new input or one never finished.
    case read(epoch: Int64, changed: String?)
}

/// A file's size and modification time.
public struct FileStamp: Sendable, Equatable {
    /// Size in bytes.
    public var size: Int64
    /// Modification time, seconds since 1970 (with nanoseconds).
    public var modified: Double

    /// Reads the stamp of `path`, or nil when it cannot be read.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        size = Int64(info.st_size)
        #if canImport(Darwin)
        modified = Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) / 1e9
        #else
        modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        #endif
    }

    /// Creates a stamp.
    public init(size: Int64, modified: Double) {
        self.size = size
        self.modified = modified
    }
}

/// A cheap fingerprint of a file's first `length` bytes: FNV-1a (64 bits) over its first and its
/// last 4 KiB before `length`, plus the length. It tells "the file that grew" (same prefix)
/// from "a file rewritten in place" without reading the whole file on every run.
///
/// Not a cryptographic hash: it detects accidental change (a file replaced, rotated, cut), which
/// is what a checkpoint needs. A change in the middle of a large file, away from both ends,
/// that keeps its size is not seen; `run --full` re-reads such inputs.
public enum FileFingerprint {
    /// Bytes hashed at each end.
    public static let window = 4096

    /// The fingerprint of the first `length` bytes of `path`, or nil when it cannot be read.
    public static func of(path: String, length: Int64) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return of(fd: fd, length: length)
    }

    /// The fingerprint of the first `length` bytes of an open file (read with `pread`).
    public static func of(fd: Int32, length: Int64) -> String? {
        var hash = FNV1a()
        var buffer = [UInt8](repeating: 0, count: window)
        func hashRange(_ start: Int64, _ count: Int) -> Bool {
            guard count > 0 else { return true }
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(start)) }
            guard n == count else { return false }
            buffer.withUnsafeBytes { hash.add(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            return true
        }
        let head = Int(min(length, Int64(window)))
        guard hashRange(0, head) else { return nil }
        if length > Int64(window) {
            let tailStart = max(Int64(head), length - Int64(window))
            guard hashRange(tailStart, Int(length - tailStart)) else { return nil }
        }
        return hash.finish(length: length)
    }

    /// FNV-1a (64 bits) of all of `bytes`, as hex: the fingerprint of a file read whole.
    public static func whole(_ bytes: UnsafeRawBufferPointer) -> String {
        var hash = FNV1a()
        hash.add(bytes)
        return hash.finish(length: Int64(bytes.count))
    }

    /// FNV-1a, 64 bits; the length is mixed in last.
    private struct FNV1a {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            for b in bytes {
                state ^= UInt64(b)
                state = state &* 0x0000_0100_0000_01b3
            }
        }
        mutating func finish(length: Int64) -> String {
            withUnsafeBytes(of: length.littleEndian) { add($0) }
            return String(state, radix: 16)
        }
    }
}

extension SourceCheckpoint {
    /// What to do with a line-oriented file (JSON Lines) that may have grown since it was read:
    /// skip it when nothing was added, resume at the last delivered offset when it grew and its
    /// delivered part is unchanged, read it whole as a new version when it changed or shrank.
    /// Throws when the checkpoint store cannot be read.
    public func planAppendable(input: String, path: String, stamp: FileStamp) throws -> FilePlan {
        guard enabled, let saved = try self[input] else { return .read(epoch: baseEpoch, changed: nil) }
        if stamp.size < saved.offset { return .read(epoch: saved.epoch + 1, changed: "shrank") }
        if stamp.size == saved.size && stamp.modified == saved.modified && stamp.size == saved.offset { return .skip }
        guard let now = FileFingerprint.of(path: path, length: saved.offset), now == saved.fingerprint else {
            return .read(epoch: saved.epoch + 1, changed: "changed")
        }
        return stamp.size == saved.offset ? .skip : .resume(saved)
    }

    /// What to do with a file that is read whole (an article, a JSON document): skip it when
    /// its size and time, or else its content fingerprint, match what was delivered; read it
    /// again as a new version when it changed. `fingerprint` is asked for only when needed.
    /// Throws when the checkpoint store cannot be read.
    public func planWhole(input: String, stamp: FileStamp, fingerprint: () -> String?) throws -> FilePlan {
        guard enabled, let saved = try self[input] else { return .read(epoch: baseEpoch, changed: nil) }
        guard saved.complete else { return .read(epoch: saved.epoch, changed: nil) }
        if stamp.size == saved.size && stamp.modified == saved.modified { return .skip }
        if let now = fingerprint(), now == saved.fingerprint { return .skip }
        return .read(epoch: saved.epoch + 1, changed: "changed")
    }
}
