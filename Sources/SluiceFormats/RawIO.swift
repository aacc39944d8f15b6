import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An I/O failure on an input or output file, with the system's reason.
public struct IOFailure: Error, Sendable, CustomStringConvertible {
    /// `cannot read data.jsonl: Is a directory`.
    public var message: String
    /// The system's reason alone (`Is a directory`), or the message when there is none.
    public var reason: String
    /// The read was abandoned because the run is stopping (SIGINT while waiting on a pipe).
    public var stopped = false
    /// The read was abandoned because the input has more than the `maxBytes` allowed: the
    /// bytes read when it gave up.
    public var tooLarge: Int?
    /// The message.
    public var description: String { message }

    /// A failure with its message; `reason` defaults to the message.
    public init(message: String, reason: String? = nil, stopped: Bool = false, tooLarge: Int? = nil) {
        self.message = message
        self.reason = reason ?? message
        self.stopped = stopped
        self.tooLarge = tooLarge
    }

    /// The read gave up because a stop was requested.
    public static let stop = IOFailure(message: "stopped", stopped: true)

    /// A failure of `action` (`read`, `open`…) on `file`, with the text of the current `errno`.
    public static func system(_ action: String, _ file: String) -> IOFailure {
        let reason = String(cString: strerror(errno))
        return IOFailure(message: "cannot \(action) \(file): \(reason)", reason: reason)
    }
}

/// `read(2)`, named apart from ``RawIO/read(_:into:file:whileWaiting:)``.
private func systemRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }
/// `write(2)`, named apart from ``RawIO/writeAll(_:_:file:)``.
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

/// Low-level POSIX reads and writes that retry on `EINTR`, shared by the sources that read
/// files and pipes themselves (so that failures carry the system's reason, `Permission denied`).
public enum RawIO {
    /// Reads up to `buffer.count` bytes; 0 at the end of input.
    ///
    /// With `whileWaiting`, waits for data in slices of 200 ms, calling it after each quiet slice,
    /// and throws ``IOFailure/stop`` once it returns true: a source blocked on a quiet pipe
    /// (standard input) still honours SIGINT, and may pass on what it has meanwhile.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, file: String,
                            whileWaiting: (() -> Bool)? = nil) throws(IOFailure) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if let whileWaiting {
            var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&waiting, 1, 200) == 0 || (waiting.revents == 0 && errno == EINTR) {
                if whileWaiting() { throw IOFailure.stop }
                waiting.revents = 0
            }
        }
        while true {
            let n = systemRead(fd, base, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw IOFailure.system("read", file)
        }
    }

    /// Reads everything left in `fd`; past `maxBytes` it stops and throws a failure whose
    /// ``IOFailure/tooLarge`` is the number of bytes read.
    public static func readAll(_ fd: Int32, file: String, sizeHint: Int = 0, maxBytes: Int = .max,
                               whileWaiting: (() -> Bool)? = nil) throws(IOFailure) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(min(sizeHint, maxBytes), 64 * 1024))
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let n = try read(fd, into: chunk, file: file, whileWaiting: whileWaiting)
            if n == 0 { return bytes }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            if bytes.count > maxBytes {
                throw IOFailure(message: "\(file) has more than \(maxBytes) bytes", tooLarge: bytes.count)
            }
        }
    }

    /// Writes all of `bytes`, retrying short writes and `EINTR`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, file: String) throws(IOFailure) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw IOFailure.system("write to", file)
            }
            left -= n
            p += n
        }
    }
}
