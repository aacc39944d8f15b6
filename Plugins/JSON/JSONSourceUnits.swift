import Foundation
import SluiceCore
import SluiceFormats

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `json` source in a cluster run: whole files grouped into units, and JSON Lines files of
/// at least twice the unit size cut into byte ranges at line boundaries. A range's records carry
/// the input `FILE#START-END` (offsets stay the file's byte offsets), so each range has delivery
/// marks of its own in the sinks.
extension JSONSource: SplittableSource {
    /// The units of what is new or changed: files planned as a normal run plans them (skipped
    /// when delivered, resumed when a JSON Lines file grew), large JSON Lines parts cut in ranges.
    public func workUnits(_ listing: UnitListing) throws -> [WorkUnit] {
        guard path != "-" else {
            throw StageError(stage: listing.source, message: "standard input cannot be split into work units")
        }
        guard let fileSet else { return [] }
        let files: [MatchedFile]
        do {
            files = try fileSet.files()
        } catch {
            throw StageError(stage: listing.source, message: "\(error)")
        }
        if files.isEmpty { throw StageError(stage: listing.source, message: "path '\(path)' matches no files") }
        let checkpoint = listing.checkpoint
        var whole: [(relativePath: String, size: Int64)] = []
        var ranges: [WorkUnit] = []
        for file in files {
            let label = file.relativePath
            // A file that cannot be read is a unit of its own: its run files the dead letter.
            guard let stamp = FileStamp(path: file.path) else { whole.append((label, 0)); continue }
            let ext = (label as NSString).pathExtension.lowercased()
            let lineByLine = format == .lines || (format == .auto && JSONSource.lineExtensions.contains(ext))
            let plan = try lineByLine
                ? checkpoint.planAppendable(input: label, path: file.path, stamp: stamp)
                : checkpoint.planWhole(input: label, stamp: stamp) { FileFingerprint.of(path: file.path, length: stamp.size) }
            var from: Int64 = 0
            var line: Int64 = 1
            var epoch = checkpoint.baseEpoch
            switch plan {
            case .skip:
                continue
            case .resume(let saved):
                from = saved.offset
                line = max(1, saved.line)
                epoch = saved.epoch
            case .read(let e, _):
                epoch = e
            }
            guard lineByLine, stamp.size - from >= 2 * listing.targetSize else {
                whole.append((label, stamp.size - from))
                continue
            }
            let cuts = try LineRanges.split(path: file.path, from: from, to: stamp.size, target: listing.targetSize,
                                            firstLine: line)
            guard let last = cuts.last else { continue }
            // Once every range is done, the file counts as delivered up to the last range's end.
            let rollup = InputCheckpoint(input: label, epoch: epoch, offset: last.end, complete: true, size: stamp.size,
                                         modified: stamp.modified,
                                         fingerprint: FileFingerprint.of(path: file.path, length: last.end) ?? "")
            for cut in cuts {
                ranges.append(WorkUnit(source: listing.source, kind: .byteRange, files: [label], start: cut.start,
                                       end: cut.end, epoch: epoch, firstLine: cut.firstLine, size: cut.end - cut.start,
                                       rollup: rollup))
            }
        }
        return listing.groupFiles(whole) + ranges
    }

    /// Reads one unit: its files as a normal run reads them, or its byte range.
    public func run(unit: WorkUnit, _ context: SourceContext) throws {
        var scoped = self
        scoped.unitScope = unit
        try scoped.run(context)
    }
}

extension JSONSourceReader {
    /// Reads the lines of bytes `unit.start ..< unit.end` of `file`, resuming after what an
    /// earlier holder of the unit delivered (its checkpoint under the range's input name).
    func readRange(_ file: MatchedFile, _ unit: WorkUnit) throws {
        let input = unit.rangeInput
        let label = file.relativePath
        guard let stamp = FileStamp(path: file.path), stamp.size >= unit.end else {
            context.deadLetter(raw: nil, error: "\(label) is shorter than when the cluster run cut it into ranges "
                               + "(bytes \(unit.start)-\(unit.end)): the range is skipped; run again to read the file anew",
                               origin: Origin(source: context.name, file: label))
            return
        }
        var start = unit.start
        var line = max(1, unit.firstLine)
        var records: Int64 = 0
        if context.checkpoint.enabled, let saved = try context.checkpoint[input], saved.epoch == unit.epoch {
            if saved.complete { return }
            if saved.offset > unit.start, saved.offset <= unit.end,
               FileFingerprint.of(path: file.path, length: saved.offset) == saved.fingerprint {
                start = saved.offset
                line = max(1, saved.line)
                records = saved.records
            }
        }
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let failure = IOFailure.system("open", label)
            context.deadLetter(raw: nil, error: failure.message, origin: Origin(source: context.name, file: label))
            return
        }
        defer { close(fd) }
        guard lseek(fd, off_t(start), SEEK_SET) == off_t(start) else {
            let failure = IOFailure.system("seek in", label)
            context.deadLetter(raw: nil, error: failure.message, origin: Origin(source: context.name, file: label))
            return
        }
        current = context.checkpoint.enabled
            ? CurrentInput(input: input, epoch: unit.epoch, stamp: stamp, fd: fd, lineByLine: true, records: records)
            : nil
        try streamLines(fd: fd, initial: UnsafeRawBufferPointer(start: nil, count: 0), label: label, startOffset: start,
                        startLine: Int(line), limit: unit.end - start)
        inputDone()
        current = nil
    }
}
