/// The three kinds of stage, as the config's top-level sections name them.
public enum StageKind: String, Sendable, CaseIterable, Hashable {
    /// Under `sources:`.
    case source
    /// Under `transforms:`.
    case transform
    /// Under `sinks:`.
    case sink

    /// The config section that holds stages of this kind.
    public var section: String { rawValue + "s" }
}

/// The type of one stage option, used to check configs and to document stages.
public indirect enum OptionType: Sendable, Hashable, CustomStringConvertible {
    /// Any string.
    case string
    /// A 64-bit integer.
    case integer
    /// An integer or a decimal number.
    case number
    /// `true` or `false`.
    case boolean
    /// A file or folder path (or glob); relative paths resolve against the config's folder.
    /// `-` (standard input/output) is kept as is.
    case path
    /// A byte count: an integer, or a string such as `64MiB`, `512 KB`, `2GiB`.
    case size
    /// One of a fixed set of strings.
    case oneOf([String])
    /// A list of values of one type.
    case list(OptionType)
    /// One string or a list of strings; always a list after validation.
    case stringOrList
    /// A mapping of free-form values (handed to the stage as an object).
    case object
    /// Anything.
    case any

    /// How `sluice stages TYPE` shows the type.
    public var description: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .number: return "number"
        case .boolean: return "boolean"
        case .path: return "path"
        case .size: return "size"
        case .oneOf(let names): return names.joined(separator: "|")
        case .list(let t): return "[\(t)]"
        case .stringOrList: return "string or [string]"
        case .object: return "mapping"
        case .any: return "any"
        }
    }
}

/// One option a stage type accepts.
public struct OptionSpec: Sendable, Hashable {
    /// The key in the config.
    public var name: String
    /// Its type.
    public var type: OptionType
    /// Whether the config must give it.
    public var required: Bool
    /// The value used when the config does not give it (`nil`: absent).
    public var defaultValue: Value?
    /// One line for `sluice stages TYPE`.
    public var doc: String

    /// Creates an option spec.
    public init(_ name: String, _ type: OptionType, required: Bool = false, default defaultValue: Value? = nil, doc: String) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

/// Builds a stage from its validated options.
public enum StageFactory: Sendable {
    /// Builds a source.
    case source(@Sendable (StageOptions) throws -> any Source)
    /// Builds a transform.
    case transform(@Sendable (StageOptions) throws -> any Transform)
    /// Builds a sink.
    case sink(@Sendable (StageOptions) throws -> any Sink)

    /// The kind of stage this factory builds.
    public var kind: StageKind {
        switch self {
        case .source: return .source
        case .transform: return .transform
        case .sink: return .sink
        }
    }
}

/// Everything Sluice knows about one stage type: its name, documentation, options and factory.
public struct StageDescriptor: Sendable {
    /// The config `type` name (`text_articles`, `lua`, `sqlite`…).
    public var type: String
    /// One line for `sluice stages`.
    public var summary: String
    /// The options it accepts (besides `type` and, for transforms and sinks, `inputs`).
    public var options: [OptionSpec]
    /// Builds the stage.
    public var factory: StageFactory

    /// The kind of stage.
    public var kind: StageKind { factory.kind }

    /// Creates a descriptor.
    public init(type: String, summary: String, options: [OptionSpec], factory: StageFactory) {
        self.type = type
        self.summary = summary
        self.options = options
        self.factory = factory
    }
}

/// The stage types a `sluice` binary knows, by kind and type name.
public struct StageRegistry: Sendable {
    private var entries: [StageKind: [String: StageDescriptor]] = [:]

    /// Creates an empty registry.
    public init() {}

    /// Creates a registry with the stages of the given plugins.
    public init(plugins: [any SluicePlugin.Type]) {
        for plugin in plugins { plugin.register(in: &self) }
    }

    /// Adds a stage type. A later registration of the same kind and name replaces the earlier.
    public mutating func register(_ descriptor: StageDescriptor) {
        entries[descriptor.kind, default: [:]][descriptor.type] = descriptor
    }

    /// Registers a source type.
    public mutating func source(_ type: String, summary: String, options: [OptionSpec],
                                make: @escaping @Sendable (StageOptions) throws -> any Source) {
        register(StageDescriptor(type: type, summary: summary, options: options, factory: .source(make)))
    }

    /// Registers a transform type.
    public mutating func transform(_ type: String, summary: String, options: [OptionSpec],
                                   make: @escaping @Sendable (StageOptions) throws -> any Transform) {
        register(StageDescriptor(type: type, summary: summary, options: options, factory: .transform(make)))
    }

    /// Registers a sink type.
    public mutating func sink(_ type: String, summary: String, options: [OptionSpec],
                              make: @escaping @Sendable (StageOptions) throws -> any Sink) {
        register(StageDescriptor(type: type, summary: summary, options: options, factory: .sink(make)))
    }

    /// The descriptor of a type, if registered.
    public func descriptor(_ kind: StageKind, _ type: String) -> StageDescriptor? {
        entries[kind]?[type]
    }

    /// The type names of one kind, sorted.
    public func typeNames(_ kind: StageKind) -> [String] {
        (entries[kind]?.keys).map { $0.sorted() } ?? []
    }

    /// Every descriptor, by kind then name.
    public var all: [StageDescriptor] {
        StageKind.allCases.flatMap { kind in typeNames(kind).compactMap { entries[kind]?[$0] } }
    }
}

/// A family of stages that registers its types. Built-in families and third-party plugins
/// implement the same protocol.
public protocol SluicePlugin {
    /// Adds the family's stage types.
    static func register(in registry: inout StageRegistry)
}
