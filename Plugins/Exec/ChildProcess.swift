import Foundation
import Logging
import SluiceCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `kill(2)` (the name is taken inside ``ChildProcess``).
private func signalProcess(_ pid: pid_t, _ signal: Int32) { _ = kill(pid, signal) }

/// A program to run: what the `command`, `env` options and the config's folder say.
struct ExecCommand: Sendable {
    /// The program's absolute path (found on `PATH` or resolved against the config's folder).
    var program: String
    /// The arguments after the program.
    var arguments: [String]
    /// Variables added to (or replacing in) Sluice's own environment.
    var environment: [String: String]
    /// The working directory: the config's folder.
    var directory: String
    /// The command as the config wrote it, for messages.
    var display: String
}

/// The `posix_spawn` file actions glibc has but Swift's Glibc module does not import
/// (`_np` functions behind `_GNU_SOURCE`): looked up once with `dlsym`.
enum SpawnExtras {
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    private static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: AddChdir.self) }
    private static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// Makes the child start in `directory`; non-zero when the C library cannot.
    static func chdir(_ actions: inout posix_spawn_file_actions_t, _ directory: String) -> Int32 {
        guard let addChdir else { return ENOSYS }
        return addChdir(&actions, directory)
    }

    /// Closes every descriptor from 3 up in the child (glibc 2.34+). An older C library leaves
    /// them to `O_CLOEXEC` (Sluice's own pipes to children always have it).
    static func closeFrom3(_ actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom { _ = addCloseFrom(&actions, 3) }
    }
}

/// How a child process ended.
enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    /// `exit(code)`.
    case exited(Int32)
    /// Killed by a signal.
    case signalled(Int32)

    /// Decodes a `waitpid` status (the `WIFEXITED` macros do not import into Swift).
    init(waitStatus status: Int32) {
        if status & 0x7F == 0 {
            self = .exited((status >> 8) & 0xFF)
        } else {
            self = .signalled(status & 0x7F)
        }
    }

    var isSuccess: Bool { self == .exited(0) }

    /// `the program exited with status N` / `the program was killed by signal N (SIGKILL)`.
    var description: String {
        switch self {
        case .exited(let code): return "the program exited with status \(code)"
        case .signalled(let signal):
            let name: String
            switch signal {
            case SIGKILL: name = " (SIGKILL)"
            case SIGTERM: name = " (SIGTERM)"
            case SIGSEGV: name = " (SIGSEGV)"
            case SIGABRT: name = " (SIGABRT)"
            case SIGPIPE: name = " (SIGPIPE)"
            default: name = ""
            }
            return "the program was killed by signal \(signal)\(name)"
        }
    }
}

/// A failure to start or talk to a program; the message says what and names the command.
struct ExecFailure: Error, Sendable, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The lines a child writes to a stream nobody else reads (stderr; a sink's stdout): each goes
/// to the log, labelled with the stage's name, and the last few are kept for error messages.
/// A thread of its own reads them, so a chatty program never blocks on a full pipe.
final class LogTail: Sendable {
    /// How many lines error messages quote.
    static let keep = 10
    private let state = Mutex<(lines: [String], ended: Bool)>(([], false))
    private let ended = DispatchSemaphore(value: 0)

    /// Starts reading `fd` (and closes it at its end) on a new thread.
    init(fd: Int32, logger: Logger, stream: String, pid: pid_t) {
        let thread = Thread { [self] in
            var pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                pending += chunk[0..<n]
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    self.log(pending[..<newline], logger: logger, stream: stream, pid: pid)
                    pending.removeSubrange(...newline)
                }
                if pending.count > 64 << 10 {  // a huge line without a newline: log it in pieces
                    self.log(pending[...], logger: logger, stream: stream, pid: pid)
                    pending.removeAll()
                }
            }
            if !pending.isEmpty { self.log(pending[...], logger: logger, stream: stream, pid: pid) }
            close(fd)
            self.state.withLock { $0.ended = true }
            self.ended.signal()
        }
        thread.name = "sluice-exec-\(stream)"
        thread.start()
    }

    private func log(_ bytes: ArraySlice<UInt8>, logger: Logger, stream: String, pid: pid_t) {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        logger.info("\(text)", metadata: ["stream": .string(stream), "pid": .stringConvertible(pid)])
        state.withLock { s in
            s.lines.append(text)
            if s.lines.count > Self.keep { s.lines.removeFirst(s.lines.count - Self.keep) }
        }
    }

    /// The last lines, after waiting up to `wait` seconds for the stream to end (a program that
    /// just exited may still have lines in the pipe).
    func lastLines(wait: Double = 1) -> [String] {
        if !state.withLock({ $0.ended }) { _ = ended.wait(timeout: .now() + wait) }
        return state.withLock { $0.lines }
    }

    /// `; its last stderr lines: …` or nothing.
    func suffix(wait: Double = 1) -> String {
        let lines = lastLines(wait: wait)
        return lines.isEmpty ? "" : "; its last stderr lines:\n  " + lines.joined(separator: "\n  ")
    }
}

/// One running program with pipes to its standard streams.
///
/// Started with `posix_spawn` in a process group of its own (so Ctrl-C on the terminal reaches
/// Sluice, which then closes the program in order, and a kill reaches its children too), in
/// the config's folder, with only the three standard descriptors open and default signal
/// handling. Every child is reaped: ``wait(timeout:)`` after it ends, or ``kill()`` (which also
/// runs on `deinit`).
final class ChildProcess {
    let pid: pid_t
    let command: ExecCommand
    /// The program's stderr, to the log.
    let stderr: LogTail
    /// The program's stdout when the stage does not read it (sinks), to the log.
    private var stdoutTail: LogTail?
    /// Our end of its stdin (non-blocking), or -1.
    private(set) var input: Int32
    /// Our end of its stdout (non-blocking), or -1.
    private var output: Int32
    /// Bytes read from stdout not yet handed out as lines.
    private var buffer: [UInt8] = []
    private(set) var status: ExitStatus?
    private var chunk = [UInt8](repeating: 0, count: 64 << 10)

    /// What the child's standard streams are connected to.
    enum Wiring {
        /// stdin from /dev/null, stdout read by the stage (a source).
        case readOnly
        /// stdin and stdout both to the stage (a transform).
        case both
        /// stdin from the stage, stdout to the log (a sink).
        case writeOnly
    }

    /// Starts the program. Throws a message naming the command when it cannot start.
    init(_ command: ExecCommand, wiring: Wiring, logger: Logger) throws(ExecFailure) {
        Self.prepare()
        self.command = command
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        func closeAll() { for fd in inPipe + outPipe + errPipe where fd >= 0 { close(fd) } }
        guard Self.makePipe(&outPipe), Self.makePipe(&errPipe) else {
            let reason = String(cString: strerror(errno))
            closeAll()
            throw ExecFailure(message: "cannot start \(command.display): cannot make a pipe: \(reason)")
        }
        if wiring == .readOnly {
            inPipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)
        } else if !Self.makePipe(&inPipe) {
            let reason = String(cString: strerror(errno))
            closeAll()
            throw ExecFailure(message: "cannot start \(command.display): cannot make a pipe: \(reason)")
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        guard SpawnExtras.chdir(&actions, command.directory) == 0 else {
            closeAll()
            throw ExecFailure(message: "cannot start \(command.display): this C library cannot set a program's working directory (glibc 2.29 or later can)")
        }
        // Descriptors Sluice has open (databases, outputs) must not leak into the program.
        SpawnExtras.closeFrom3(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), defaults = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var environment = ProcessInfo.processInfo.environment
        for (key, value) in command.environment { environment[key] = value }
        let argv = ([command.program] + command.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command.program, &actions, &attributes, argv, envp)
        // Our copies of the child's ends.
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard result == 0 else {
            if inPipe[1] >= 0 { close(inPipe[1]) }
            close(outPipe[0]); close(errPipe[0])
            throw ExecFailure(message: "cannot start \(command.display): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        stderr = LogTail(fd: errPipe[0], logger: logger, stream: "stderr", pid: pid)
        if wiring == .writeOnly {
            stdoutTail = LogTail(fd: outPipe[0], logger: logger, stream: "stdout", pid: pid)
            output = -1
        } else {
            output = outPipe[0]
            _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK)
        }
        input = inPipe[1]
        if input >= 0 { _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK) }
    }

    deinit { kill() }

    /// `pipe` with both ends close-on-exec (`pipe2` is not imported; a child spawned by another
    /// thread in between still gets only fds 0-2, see `closeFrom3`).
    private static func makePipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// Writing to a program that died raises SIGPIPE, which would end Sluice: it is ignored
    /// once for the whole process (writes then fail with EPIPE, which every writer handles);
    /// children get the default back (`setsigdefault` above).
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()
    private static func prepare() { _ = ignoreSIGPIPE }

    // MARK: - Talking

    /// What one attempt to hand lines over and read answers came to.
    enum Exchange: Equatable {
        /// Every expected answer arrived.
        case complete
        /// The program closed its stdout (it exited or is exiting).
        case ended
        /// No answer within the timeout.
        case timedOut
    }

    /// Writes `payload` to stdin while reading answer lines from stdout, handing each to
    /// `answer`, until `expected` lines have come, stdout ends, or `timeout` seconds pass without
    /// an answer. Writing and reading interleave in one `poll` loop, so neither side can block
    /// the other however large the batch. Returns how it ended and how many answers came.
    func exchange(_ payload: [UInt8], expected: Int, timeout: Double,
                  answer: (Int, ArraySlice<UInt8>) throws -> Void) rethrows -> (Exchange, answered: Int) {
        var written = 0
        var answered = 0
        var lastProgress = ContinuousClock.now
        let limit = Duration.milliseconds(Int64(timeout * 1000))
        // Answers that were already read.
        while answered < expected, let line = nextBufferedLine() {
            try answer(answered, line)
            answered += 1
        }
        while answered < expected {
            guard output >= 0 else { return (.ended, answered) }
            let writing = written < payload.count && input >= 0
            var fds = [pollfd(fd: output, events: Int16(POLLIN), revents: 0)]
            if writing { fds.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
            let remaining = limit - (ContinuousClock.now - lastProgress)
            if remaining <= .zero { return (.timedOut, answered) }
            let ms = Int32(clamping: max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&fds, nfds_t(fds.count), ms)
            if ready < 0 {
                if errno == EINTR { continue }
                return (.ended, answered)
            }
            if ready == 0 { continue }
            if writing && fds[1].revents != 0 {
                let n = payload.withUnsafeBytes { write(input, $0.baseAddress! + written, $0.count - written) }
                if n > 0 {
                    written += n
                } else if n < 0 && errno != EAGAIN && errno != EINTR {
                    closeInput()  // EPIPE: it is gone; read what it said before it went
                }
            }
            if fds[0].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
                if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) {
                    close(output)
                    output = -1
                } else if n > 0 {
                    buffer += chunk[0..<n]
                    while answered < expected, let line = nextBufferedLine() {
                        try answer(answered, line)
                        answered += 1
                        lastProgress = .now
                    }
                }
            }
        }
        return (.complete, answered)
    }

    /// Whether the program wrote something nobody asked for (checked before a batch: such
    /// lines would be taken for the next records' answers).
    func hasUnaskedOutput() -> Bool {
        if buffer.count > consumed { return true }
        guard output >= 0 else { return false }
        var fd = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
        guard poll(&fd, 1, 0) > 0 else { return false }
        let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
        if n > 0 { buffer += chunk[0..<n]; return true }
        if n == 0 { close(output); output = -1 }
        return false
    }

    /// The next line read (for a source): waits up to `idle` seconds for one; `nil` with
    /// `ended` when stdout ended, `nil` alone when the wait ran out.
    func readLine(idle: Double) -> (line: [UInt8]?, ended: Bool) {
        while true {
            if let line = nextBufferedLine() { return (Array(line), false) }
            guard output >= 0 else {
                // A last line without a newline.
                if buffer.count == consumed { return (nil, true) }
                defer { buffer.removeAll(); consumed = 0 }
                return (Array(buffer[consumed...]), false)
            }
            var fd = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&fd, 1, Int32(idle * 1000))
            if ready == 0 { return (nil, false) }
            if ready < 0 && errno == EINTR { continue }
            let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer += chunk[0..<n]
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                close(output)
                output = -1
            }
        }
    }

    private var consumed = 0
    /// Takes the next complete line out of the buffer (without its `\n`, or `\r\n`).
    private func nextBufferedLine() -> ArraySlice<UInt8>? {
        if consumed > 0 && consumed == buffer.count { buffer.removeAll(keepingCapacity: true); consumed = 0 }
        guard let newline = buffer[consumed...].firstIndex(of: UInt8(ascii: "\n")) else {
            if consumed > 0 { buffer.removeSubrange(..<consumed); consumed = 0 }
            return nil
        }
        var end = newline
        if end > consumed && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = buffer[consumed..<end]
        consumed = newline + 1
        return line
    }

    /// Writes all of `payload` to stdin, waiting up to `timeout` seconds for the program to
    /// take each part (a sink). Throws when it stopped reading or is gone.
    func writeAll(_ payload: [UInt8], timeout: Double) throws(ExecFailure) {
        var written = 0
        var lastProgress = ContinuousClock.now
        let limit = Duration.milliseconds(Int64(timeout * 1000))
        while written < payload.count {
            guard input >= 0 else { throw ExecFailure(message: "its input is closed") }
            let n = payload.withUnsafeBytes { write(input, $0.baseAddress! + written, $0.count - written) }
            if n > 0 { written += n; lastProgress = .now; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno != EAGAIN {
                closeInput()
                throw ExecFailure(message: "it stopped reading its input (\(String(cString: strerror(errno))))")
            }
            let remaining = limit - (ContinuousClock.now - lastProgress)
            if remaining <= .zero { throw ExecFailure(message: "it read nothing of its input within \(Self.seconds(timeout))") }
            var fd = pollfd(fd: input, events: Int16(POLLOUT), revents: 0)
            _ = poll(&fd, 1, Int32(clamping: max(1, Int64(remaining.components.seconds) * 1000 + 1)))
        }
    }

    /// Closes stdin: the program sees the end of its input.
    func closeInput() {
        if input >= 0 { close(input); input = -1 }
    }

    // MARK: - Ending

    /// Waits up to `timeout` seconds (nil: forever) for the program to exit; reaps it.
    @discardableResult
    func wait(timeout: Double?) -> ExitStatus? {
        if let status { return status }
        let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        var pause = 1  // ms, growing to 50
        while true {
            var raw: Int32 = 0
            let r = waitpid(pid, &raw, deadline == nil ? 0 : WNOHANG)
            if r == pid {
                status = ExitStatus(waitStatus: raw)
                closePipes()
                return status
            }
            if r < 0 && errno == EINTR { continue }
            if r < 0 { status = .exited(-1); closePipes(); return status }  // not our child any more
            if let deadline, ContinuousClock.now >= deadline { return nil }
            usleep(useconds_t(pause * 1000))
            pause = min(50, pause * 2)
        }
    }

    /// Kills the program and everything it started (its process group) and reaps it. Safe to
    /// call more than once.
    func kill() {
        guard status == nil else { closePipes(); return }
        signalProcess(-pid, SIGKILL)
        signalProcess(pid, SIGKILL)
        wait(timeout: nil)
    }

    /// Ends the program politely: closes its input, waits up to `grace` seconds for it to exit,
    /// then kills it.
    @discardableResult
    func finish(grace: Double) -> ExitStatus {
        closeInput()
        if let status = wait(timeout: grace) { return status }
        kill()
        return status ?? .signalled(SIGKILL)
    }

    private func closePipes() {
        closeInput()
        if output >= 0 { close(output); output = -1 }
    }

    /// `2.5 s`, `30 s`.
    static func seconds(_ t: Double) -> String {
        t == t.rounded() ? "\(Int(t)) s" : "\(t) s"
    }
}
