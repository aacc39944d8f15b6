import Foundation
import SluiceFormats
import SluiceTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("RawIO: the POSIX reads the json and text_articles sources share")
struct RawIOTests {
    @Test("readAll returns every byte of a file larger than one read chunk")
    func readsEverything() throws {
        let dir = TemporaryDirectory()
        let text = String(repeating: "0123456789abcdef", count: 40_000)   // 640,000 bytes: three chunks
        let path = try dir.write("big.txt", text)
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let bytes = try RawIO.readAll(fd, file: path)
        #expect(bytes.count == text.utf8.count && bytes == Array(text.utf8))
    }

    @Test("past maxBytes, readAll stops with the count read so far and a message naming the file")
    func refusesTooLarge() throws {
        let dir = TemporaryDirectory()
        let path = try dir.write("big.txt", String(repeating: "x", count: 5000))
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect {
            _ = try RawIO.readAll(fd, file: path, maxBytes: 1000)
        } throws: { error in
            guard let failure = error as? IOFailure else { return false }
            return failure.tooLarge == 5000 && failure.message.contains("big.txt") && !failure.stopped
        }
    }

    @Test("a failed read carries the system's reason alone and in the message")
    func systemReason() throws {
        let dir = TemporaryDirectory()
        let fd = open(dir.path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect {
            _ = try RawIO.readAll(fd, file: "folder")
        } throws: { error in
            guard let failure = error as? IOFailure else { return false }
            return failure.reason == String(cString: strerror(EISDIR)) && failure.message == "cannot read folder: \(failure.reason)"
                && failure.tooLarge == nil
        }
    }

    @Test("while waiting on a quiet pipe, a stop request ends the read with IOFailure.stop")
    func stopsWhileWaiting() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var asked = 0
        #expect {
            _ = try RawIO.readAll(fds[0], file: "-", whileWaiting: { asked += 1; return true })
        } throws: { error in
            (error as? IOFailure)?.stopped == true
        }
        #expect(asked == 1)
    }
}
