import Synchronization

/// Live per-stage counters, safe to update from any thread.
public final class StageMetrics: Sendable {
    /// The stage's name.
    public let name: String
    /// `source`, `transform` or `sink`.
    public let kind: StageKind
    /// The stage's type name.
    public let type: String
    private let inCount = Atomic<Int>(0)
    private let outCount = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)
    private let deadCount = Atomic<Int>(0)

    /// Creates zeroed counters.
    public init(name: String, kind: StageKind, type: String) {
        self.name = name
        self.kind = kind
        self.type = type
    }

    /// Counts records received.
    public func addIn(_ n: Int) { inCount.wrappingAdd(n, ordering: .relaxed) }
    /// Counts records passed on (or, for a sink, written).
    public func addOut(_ n: Int) { outCount.wrappingAdd(n, ordering: .relaxed) }
    /// Counts records dropped on purpose.
    public func addDropped(_ n: Int) { droppedCount.wrappingAdd(n, ordering: .relaxed) }
    /// Counts dead letters.
    public func addDeadLettered(_ n: Int) { deadCount.wrappingAdd(n, ordering: .relaxed) }

    /// The counters now.
    public var snapshot: StageCounts {
        StageCounts(name: name, kind: kind, type: type,
                    received: inCount.load(ordering: .relaxed), emitted: outCount.load(ordering: .relaxed),
                    dropped: droppedCount.load(ordering: .relaxed), deadLettered: deadCount.load(ordering: .relaxed))
    }
}

/// A stage's counters at one moment.
public struct StageCounts: Sendable, Equatable {
    /// The stage's name.
    public var name: String
    /// Its kind.
    public var kind: StageKind
    /// Its type name.
    public var type: String
    /// Records in (a source has none).
    public var received: Int
    /// Records out (for a sink: written).
    public var emitted: Int
    /// Records dropped on purpose.
    public var dropped: Int
    /// Dead letters.
    public var deadLettered: Int

    /// The counters as a JSON object (for `--metrics`).
    public var json: Value {
        ["name": .string(name), "kind": .string(kind.rawValue), "type": .string(type),
         "in": .int(Int64(received)), "out": .int(Int64(emitted)),
         "dropped": .int(Int64(dropped)), "dead_lettered": .int(Int64(deadLettered))]
    }
}
