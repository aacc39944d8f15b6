import Foundation

/// Where a record sits in its source's input: the same on every run over the same input.
///
/// - `input` names one input of the source: a file's path relative to the source's root, a
///   table, or `finish:STAGE` for the aggregates a transform emits at the end of its input.
/// - `epoch` is the version of that input: it goes up when the input's content changed (a file
///   rewritten or cut short) or when `run --full` starts everything afresh, so records of a new
///   version are never mistaken for ones delivered before.
/// - `offset` orders records inside one epoch: a JSON Lines line's byte offset, an array
///   element's byte offset, a rowid, or the ordinal of a row in an `incremental` column's order.
///
/// Records that a transform makes from one input record share its position; they are told apart
/// by their order (the second output of the record at offset 120 is "offset 120, second"),
/// which is the same on every run when the rule is deterministic and `workers` keep order.
public struct Position: Sendable, Hashable {
    /// The input inside the source (relative file path, table, `finish:STAGE`).
    public var input: String
    /// The version of the input.
    public var epoch: Int64
    /// The record's place inside the input's version.
    public var offset: Int64

    /// Creates a position.
    public init(input: String, epoch: Int64, offset: Int64) {
        self.input = input
        self.epoch = epoch
        self.offset = offset
    }
}

/// What earlier runs fully delivered from one input of a source: every record before
/// ``offset`` (or, when ``complete``, all of it) was committed by every sink it reached.
public struct InputCheckpoint: Sendable, Hashable {
    /// The input's name (the ``Position/input`` of its records).
    public var input: String
    /// The version of the input that was read.
    public var epoch: Int64
    /// Where reading resumes: a byte offset, the next rowid, the next ordinal.
    public var offset: Int64
    /// The 1-based line number at ``offset`` (for messages after a resume), or 0.
    public var line: Int64
    /// Whether the whole input was delivered.
    public var complete: Bool
    /// The file's size when it was read, or -1.
    public var size: Int64
    /// The file's modification time (seconds since 1970) when it was read, or 0.
    public var modified: Double
    /// A fingerprint of the delivered content (see ``FileFingerprint``), or "".
    public var fingerprint: String
    /// The last value of an `incremental` column, when the source has one.
    public var lastValue: Value?
    /// Records delivered from this input so far (all runs of this version).
    public var records: Int64

    /// Creates a checkpoint.
    public init(input: String, epoch: Int64, offset: Int64 = 0, line: Int64 = 0, complete: Bool = false,
                size: Int64 = -1, modified: Double = 0, fingerprint: String = "", lastValue: Value? = nil,
                records: Int64 = 0) {
        self.input = input
        self.epoch = epoch
        self.offset = offset
        self.line = line
        self.complete = complete
        self.size = size
        self.modified = modified
        self.fingerprint = fingerprint
        self.lastValue = lastValue
        self.records = records
    }
}

/// What a source finds of earlier runs when it starts.
public struct SourceCheckpoint: Sendable {
    /// The inputs earlier runs delivered from, by name, when the store gave them all at once;
    /// a store that looks them up one at a time (``init(baseEpoch:lookup:)``) leaves it empty.
    /// Read an input's checkpoint with the subscript, which sees both.
    public var inputs: [String: InputCheckpoint]
    /// The epoch a new input starts at (raised by `run --full`).
    public var baseEpoch: Int64
    /// Whether checkpoints are in use; false for tools (`try`, `tap`, tests) and for standard input.
    public var enabled: Bool

    /// Reads one input's checkpoint from the store, for a view made by ``init(baseEpoch:lookup:)``.
    private let lookup: (@Sendable (String) throws -> InputCheckpoint?)?

    /// Creates a checkpoint view of the inputs given.
    public init(inputs: [String: InputCheckpoint] = [:], baseEpoch: Int64 = 1, enabled: Bool = true) {
        self.inputs = inputs
        self.baseEpoch = baseEpoch
        self.enabled = enabled
        self.lookup = nil
    }

    /// Creates a checkpoint view that asks `lookup` for an input's checkpoint when a source
    /// wants it: a folder of a million articles has a million checkpoints, which a run need not
    /// hold at once (the SPEC: memory does not grow with the input).
    public init(baseEpoch: Int64, lookup: @escaping @Sendable (String) throws -> InputCheckpoint?) {
        self.inputs = [:]
        self.baseEpoch = baseEpoch
        self.enabled = true
        self.lookup = lookup
    }

    /// No earlier runs, nothing saved: every input is read whole.
    public static let none = SourceCheckpoint(enabled: false)

    /// The saved state of `input`, if any. Throws the store's error when it cannot be read.
    public subscript(input: String) -> InputCheckpoint? {
        get throws {
            if let saved = inputs[input] { return saved }
            return try lookup?(input)
        }
    }
}
