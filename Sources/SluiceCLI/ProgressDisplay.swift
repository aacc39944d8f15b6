import Dispatch
import Foundation
import Logging
import SluiceCore
import SluiceRuntime
import Synchronization

/// Live progress of a run on standard error.
///
/// On a terminal (`.live`), one line per stage, redrawn in place four times a second:
///
///     articles  text_articles   1,234/10,000 files  12.1/98.0 MB  12%  ETA 0:42  1,100 rec/s  2024/a.txt
///     facts     lua             in 1,200  out 1,190
///     db        sqlite          in 1,190  written 1,150
///     lines     json            in 1,190  written 1,190
///     elapsed 3.2 s
///
/// Each sink has its own line: a record written by two sinks is not counted twice. Elsewhere
/// (`.log`), the same as one log line every few seconds. The block is cleared when the run ends,
/// so the summary takes its place.
final class ProgressDisplay: Sendable {
    enum Mode: Sendable {
        /// Redrawn in place (a terminal).
        case live
        /// A log line every so many seconds.
        case log(every: Double)
    }

    private let runner: PipelineRunner
    private let mode: Mode
    private let done = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(runner: PipelineRunner, mode: Mode) {
        self.runner = runner
        self.mode = mode
    }

    func start() {
        let thread = Thread { [self] in
            let start = Date()
            var drawn = 0
            var lastLog = Date()
            var window = RateWindow()
            let logger = Logger(label: "sluice.progress")
            while !done.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.25)
                if done.load(ordering: .relaxed) { break }
                let counts = runner.metrics.map(\.snapshot)
                let elapsed = Date().timeIntervalSince(start)
                window.add(counts: counts, at: elapsed)
                switch mode {
                case .live:
                    let width = Self.terminalWidth()
                    let lines = Self.lines(counts, elapsed: elapsed, rates: window.rates).map { Self.fit($0, width: width) }
                    var out = drawn > 0 ? "\u{1B}[\(drawn)A" : ""
                    for line in lines { out += "\r\u{1B}[K" + line + "\n" }
                    if lines.count < drawn { out += "\u{1B}[J" }
                    drawn = lines.count
                    FileHandle.standardError.write(Data(out.utf8))
                case .log(let every):
                    if Date().timeIntervalSince(lastLog) >= every {
                        lastLog = Date()
                        logger.info("\(Self.logLine(counts, elapsed: elapsed, rates: window.rates))")
                    }
                }
            }
            if drawn > 0 { FileHandle.standardError.write(Data("\u{1B}[\(drawn)A\r\u{1B}[J".utf8)) }
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        done.store(true, ordering: .relaxed)
        finished.wait()
    }

    // MARK: - Text

    /// The block's lines: a line per stage, then the elapsed time.
    static func lines(_ counts: [StageCounts], elapsed: Double, rates: [String: Double]) -> [String] {
        let nameWidth = counts.map(\.name.count).max() ?? 0
        let typeWidth = counts.map(\.type.count).max() ?? 0
        var lines = counts.map { c in
            c.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                + c.type.padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  "
                + stageText(c, elapsed: elapsed, rate: rates[c.name] ?? 0)
        }
        lines.append("elapsed \(Summary.seconds(elapsed))")
        return lines
    }

    /// All stages on one line, for logs.
    static func logLine(_ counts: [StageCounts], elapsed: Double, rates: [String: Double]) -> String {
        "progress after \(Summary.seconds(elapsed)): "
            + counts.map { "\($0.name) \(stageText($0, elapsed: elapsed, rate: rates[$0.name] ?? 0))" }.joined(separator: "; ")
    }

    /// One stage's progress. A source: what it read of the total, a percentage and an ETA when
    /// it announced a total, its rate and the current input; a transform: in and out; a sink:
    /// in and written.
    static func stageText(_ c: StageCounts, elapsed: Double, rate: Double) -> String {
        var parts: [String] = []
        switch c.kind {
        case .source:
            let read = c.emitted + c.deadLettered
            if let files = c.filesTotal {
                parts.append("\(Summary.grouped(c.filesDone))/\(Summary.grouped(files)) file\(files == 1 ? "" : "s")")
            }
            if let bytes = c.bytesTotal {
                parts.append("\(Summary.byteText(c.bytesRead))/\(Summary.byteText(bytes))")
            } else if c.bytesRead > 0 {
                parts.append(Summary.byteText(c.bytesRead))
            }
            parts.append("\(Summary.grouped(read)) record\(read == 1 ? "" : "s")" + (c.recordsTotal.map { " of ~\(Summary.grouped($0))" } ?? ""))
            if let fraction = fraction(c) {
                parts.append("\(Int((fraction * 100).rounded(.down)))%")
                if fraction > 0.005 && fraction < 1 && elapsed >= 1 {
                    parts.append("ETA \(Summary.clock(elapsed * (1 - fraction) / fraction))")
                }
            }
            parts.append("\(Summary.rateText(rate)) rec/s")
            if let current = c.currentInput { parts.append(current) }
        case .transform:
            parts.append("in \(Summary.grouped(c.received))")
            parts.append("out \(Summary.grouped(c.emitted))")
            if c.dropped > 0 { parts.append("dropped \(Summary.grouped(c.dropped))") }
        case .sink:
            parts.append("in \(Summary.grouped(c.received))")
            parts.append("written \(Summary.grouped(c.emitted))")
            if c.dropped > 0 { parts.append("skipped \(Summary.grouped(c.dropped))") }
            if let r = c.rows, r.updated + r.unchanged > 0 {
                parts.append("(\(Summary.grouped(r.inserted)) new, \(Summary.grouped(r.updated)) updated, \(Summary.grouped(r.unchanged)) unchanged)")
            }
        }
        if c.deadLettered > 0 { parts.append("dead \(Summary.grouped(c.deadLettered))") }
        return parts.joined(separator: "  ")
    }

    /// How much of its announced input a source has read (bytes, else files, else records).
    static func fraction(_ c: StageCounts) -> Double? {
        if let total = c.bytesTotal, total > 0 { return min(1, Double(c.bytesRead) / Double(total)) }
        if let total = c.filesTotal, total > 0 { return min(1, Double(c.filesDone) / Double(total)) }
        if let total = c.recordsTotal, total > 0 { return min(1, Double(c.emitted + c.deadLettered) / Double(total)) }
        if c.filesTotal == 0 || c.bytesTotal == 0 || c.recordsTotal == 0 { return 1 }
        return nil
    }

    /// Cuts a line to the terminal's width (a wrapped line would break the redraw).
    static func fit(_ line: String, width: Int) -> String {
        line.count < width ? line : String(line.prefix(max(1, width - 2))) + "…"
    }

    static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return 80
    }
}

/// Records per second of each source over the last few seconds (not since the start: a run that
/// slows down shows it).
struct RateWindow {
    private var samples: [(time: Double, read: [String: Int])] = []
    private(set) var rates: [String: Double] = [:]

    mutating func add(counts: [StageCounts], at time: Double) {
        var read: [String: Int] = [:]
        for c in counts where c.kind == .source { read[c.name] = c.emitted + c.deadLettered }
        samples.append((time, read))
        while samples.count > 2, let first = samples.first, time - first.time > 5 { samples.removeFirst() }
        let oldest = samples.count > 1 ? samples[0] : (time: 0, read: [:])
        let span = time - oldest.time
        guard span > 0 else { return }
        for (name, n) in read { rates[name] = Double(n - (oldest.read[name] ?? 0)) / span }
    }
}
