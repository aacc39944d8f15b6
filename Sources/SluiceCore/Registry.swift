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
    /// The allowed range of a number (`nil`: any).
    public var range: OptionRange?
    /// Whether an empty string or list is refused.
    public var notEmpty: Bool
    /// One line for `sluice stages TYPE`.
    public var doc: String

    /// Creates an option spec. Stage types do not write these: ``ConfigOption`` generates them
    /// from a ``StageConfiguration``.
    public init(_ name: String, _ type: OptionType, required: Bool = false, default defaultValue: Value? = nil,
                range: OptionRange? = nil, notEmpty: Bool = false, doc: String) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.range = range
        self.notEmpty = notEmpty
        self.doc = doc
    }

    /// The message for a stage that lacks this required option: `source 'in' (json) is missing
    /// the required option 'path' (path: …)`. The config loader and binding say the same.
    public func missingMessage(kind: StageKind, stage: String, type: String) -> String {
        "\(kind) '\(stage)' (\(type)) is missing the required option '\(name)' (\(self.type): \(doc))"
    }

    /// The type as `sluice stages TYPE` shows it, with its range (`integer 1..256`).
    public var typeDescription: String {
        guard let range, !range.description.isEmpty else { return type.description }
        return "\(type) \(range.description)"
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

/// Everything Sluice knows about one stage type, generated from its ``StageConfiguration``: its
/// name, documentation, options, rules, example and factory.
public struct StageDescriptor: Sendable {
    /// The config `type` name (`text_articles`, `lua`, `sqlite`…).
    public var type: String
    /// One line for `sluice stages`.
    public var summary: String
    /// The options it accepts (besides `type` and, for transforms and sinks, `inputs`).
    public var options: [OptionSpec]
    /// Rules across its options.
    public var rules: [OptionRule]
    /// A complete entry of this type as YAML.
    public var example: String
    /// Builds the stage from checked options (binding them into its configuration first).
    public var factory: StageFactory

    /// The kind of stage.
    public var kind: StageKind { factory.kind }

    /// Creates a descriptor (``StageConfiguration/descriptor`` makes these).
    public init(type: String, summary: String, options: [OptionSpec], rules: [OptionRule] = [],
                example: String = "", factory: StageFactory) {
        self.type = type
        self.summary = summary
        self.options = options
        self.rules = rules
        self.example = example
        self.factory = factory
    }
}

/// A stage type registered twice: two plugins (or one, twice) claim the same kind and name.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    /// The kind of the clashing types.
    public var kind: StageKind
    /// The type name registered twice.
    public var type: String
    /// `the sink type 'sqlite' is registered twice`.
    public var description: String { "the \(kind) type '\(type)' is registered twice; type names must be unique per kind" }
}

/// The stage types a `sluice` binary knows, by kind and type name.
public struct StageRegistry: Sendable {
    private var entries: [StageKind: [String: StageDescriptor]] = [:]

    /// Creates an empty registry.
    public init() {}

    /// Creates a registry with the stages of the given plugins; throws when two register the
    /// same kind and type name.
    public init(plugins: [any SluicePlugin.Type]) throws(RegistryError) {
        for plugin in plugins { try plugin.register(in: &self) }
    }

    /// Adds a stage type — the one way to register one, for built-in and third-party stages
    /// alike. A second registration of the same kind and name is an error, never a replacement.
    public mutating func register<C: StageConfiguration>(_ configuration: C.Type) throws(RegistryError) {
        try register(C.self, from: C())
    }

    /// Adds a stage type whose options are bound onto `base` instead of `C()`: for a program
    /// that embeds Sluice and hands its stages values no config can hold (an in-memory store).
    public mutating func register<C: StageConfiguration>(_ configuration: C.Type, from base: C) throws(RegistryError) {
        guard entries[C.kind]?[C.type] == nil else { throw RegistryError(kind: C.kind, type: C.type) }
        entries[C.kind, default: [:]][C.type] = C.descriptor(from: base)
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
    /// Adds the family's stage types: one `try registry.register(SomeConfiguration.self)` each.
    static func register(in registry: inout StageRegistry) throws(RegistryError)
}
