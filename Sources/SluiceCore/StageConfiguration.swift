import Foundation

/// A stage type's configuration: one value type that is the only place its options are written.
///
/// Its stored properties hold the options' values, and their initial values (what `init()`
/// leaves) are the defaults; ``options`` names each option once — its key, the property it binds
/// to, its type, range and one-line doc — and ``rules`` says which options go together. From
/// that one declaration Sluice checks a config entry, binds the values into a typed value,
/// prints `sluice stages TYPE`, writes docs/stages.md and the JSON Schema of `sluice schema`.
/// The stage's code then reads typed properties, never an option by its name.
///
/// ```swift
/// struct UpperConfiguration: TransformConfiguration {
///     static let type = "upper"
///     static let summary = "Upper-cases one string field."
///     static let example = "type: upper\ninputs: articles\nfield: title"
///     static let options: [ConfigOption<Self>] = [
///         .init("field", \.field, required: true, doc: "the field to upper-case"),
///     ]
///     var field = ""
///     func makeTransform(_ context: BuildContext) throws -> any Transform { Upper(field: field) }
/// }
/// ```
///
/// Register it with one line: `try registry.register(UpperConfiguration.self)`. Adopt
/// ``SourceConfiguration``, ``TransformConfiguration`` or ``SinkConfiguration``, which say
/// what kind of stage the configuration builds.
public protocol StageConfiguration: Sendable {
    /// The config `type` name (`text_articles`, `lua`, `sqlite`…).
    static var type: String { get }
    /// The kind of stage built (given by the refining protocol).
    static var kind: StageKind { get }
    /// One line for `sluice stages`.
    static var summary: String { get }
    /// A complete entry of this stage type as YAML (`type:` first, then its options; `inputs:`
    /// for transforms and sinks), printed by `sluice stages TYPE` and checked by a test.
    static var example: String { get }
    /// Every option, once: key, bound property, type, range, doc. The default is the property's
    /// value in `init()`.
    static var options: [ConfigOption<Self>] { get }
    /// Rules across options (exactly one of, at least one of, goes with). Default: none.
    static var rules: [OptionRule] { get }
    /// A configuration with every option at its default.
    init()
    /// The factory the registry keeps (given by the refining protocol): binds a stage's options
    /// onto `base` (normally `init()`), then builds the stage.
    static func factory(from base: Self) -> StageFactory
}

extension StageConfiguration {
    /// No rules across options.
    public static var rules: [OptionRule] { [] }

    /// The descriptor generated from the declaration: what the config loader, `sluice stages`,
    /// docs/stages.md and `sluice schema` read.
    public static var descriptor: StageDescriptor { descriptor(from: Self()) }

    /// The descriptor of stages whose options are bound onto `base` rather than `init()`: a
    /// host program that embeds Sluice can hand its stages what no config file can hold (an
    /// in-memory store, a callback). Options the config gives still override `base`.
    public static func descriptor(from base: Self) -> StageDescriptor {
        StageDescriptor(type: type, summary: summary, options: options.map(\.spec), rules: rules,
                        example: example, factory: factory(from: base))
    }

    /// Binds checked options into a configuration: each value given (or defaulted) is written to
    /// its property; required options, ranges and ``rules`` are checked. Every problem is
    /// reported at once, each at its option's place.
    public static func bind(_ options: StageOptions, onto base: Self = Self()) throws(ConfigError) -> Self {
        let bound = binding(options, onto: base)
        guard bound.problems.isEmpty else { throw ConfigError(bound.problems) }
        return bound.configuration
    }

    /// What ``bind(_:onto:)`` found: the configuration (a value out of its range or of the
    /// wrong type leaves its option at the default), the problems, and whether a missing
    /// option or a broken rule makes building pointless.
    static func binding(_ options: StageOptions, onto base: Self) -> (configuration: Self, problems: [Diagnostic], incomplete: Bool) {
        var configuration = base
        var problems: [Diagnostic] = []
        var incomplete = false
        for option in Self.options {
            guard let value = options.values[option.name], value != .null else {
                if option.spec.required {
                    incomplete = true
                    problems.append(Diagnostic(options.position,
                                               option.spec.missingMessage(kind: options.kind, stage: options.name, type: options.type)))
                }
                continue
            }
            if let problem = option.assign(value, to: &configuration, environment: options.environment) {
                problems += options.error(option.name, "option '\(option.name)' \(problem)").diagnostics
            }
        }
        for rule in rules {
            if let (option, problem) = rule.violation(in: options.values) {
                incomplete = true
                problems += (option.map { options.error($0, problem) } ?? options.error(problem)).diagnostics
            }
        }
        return (configuration, problems, incomplete)
    }

    /// Binds, then builds with `make`. When only some values were refused (out of range, the
    /// wrong type), the stage is still built with their defaults, so that its own checks (a
    /// script's syntax, a program that is missing) are reported in the same pass.
    static func build<Built>(_ options: StageOptions, onto base: Self,
                             _ make: (Self, BuildContext) throws -> Built) throws -> Built {
        let bound = binding(options, onto: base)
        guard !bound.problems.isEmpty else { return try make(bound.configuration, BuildContext(options)) }
        var problems = bound.problems
        if !bound.incomplete {
            do {
                _ = try make(bound.configuration, BuildContext(options))
            } catch let error as ConfigError {
                problems += error.diagnostics
            } catch {}
        }
        throw ConfigError(problems.sorted { $0.position < $1.position })
    }

    /// The key of the option bound to `keyPath`, for messages about it.
    public static func optionName<V>(_ keyPath: KeyPath<Self, V>) -> String? {
        options.first { ($0.keyPath as AnyKeyPath) == (keyPath as AnyKeyPath) }?.name
    }
}

/// A configuration that builds a source.
public protocol SourceConfiguration: StageConfiguration {
    /// Builds the source; a problem found now (a file that is not there, a bad combination the
    /// rules cannot say) is thrown as a ``ConfigError`` from `context`.
    func makeSource(_ context: BuildContext) throws -> any Source
}

/// A configuration that builds a transform.
public protocol TransformConfiguration: StageConfiguration {
    /// Builds the transform.
    func makeTransform(_ context: BuildContext) throws -> any Transform
}

/// A configuration that builds a sink.
public protocol SinkConfiguration: StageConfiguration {
    /// Builds the sink.
    func makeSink(_ context: BuildContext) throws -> any Sink
}

extension SourceConfiguration {
    /// A source.
    public static var kind: StageKind { .source }
    /// Binds, then ``makeSource(_:)``.
    public static func factory(from base: Self) -> StageFactory {
        .source { options in try build(options, onto: base) { try $0.makeSource($1) } }
    }
}

extension TransformConfiguration {
    /// A transform.
    public static var kind: StageKind { .transform }
    /// Binds, then ``makeTransform(_:)``.
    public static func factory(from base: Self) -> StageFactory {
        .transform { options in try build(options, onto: base) { try $0.makeTransform($1) } }
    }
}

extension SinkConfiguration {
    /// A sink.
    public static var kind: StageKind { .sink }
    /// Binds, then ``makeSink(_:)``.
    public static func factory(from base: Self) -> StageFactory {
        .sink { options in try build(options, onto: base) { try $0.makeSink($1) } }
    }
}

/// What a stage's factory knows (at build time, before any run) besides its typed configuration: its name, where it is in the
/// config file (for messages) and facts about the run.
public struct BuildContext: Sendable {
    let options: StageOptions

    /// The context of the stage whose checked options are `options`.
    public init(_ options: StageOptions) { self.options = options }

    /// The stage's name in the config.
    public var name: String { options.name }
    /// Its type name.
    public var type: String { options.type }
    /// Its kind.
    public var kind: StageKind { options.kind }
    /// Where the stage's entry is in the config.
    public var position: SourcePosition { options.position }
    /// Facts about the run: folders, default workers.
    public var environment: BuildEnvironment { options.environment }

    /// Where an option's value is in the config (the stage's position when absent).
    public func position(of option: String) -> SourcePosition { options.position(of: option) }

    /// A config error pointing at an option's value.
    public func error(_ option: String, _ message: String) -> ConfigError { options.error(option, message) }

    /// A config error pointing at the option bound to `keyPath`.
    public func error<C: StageConfiguration, V>(_ keyPath: KeyPath<C, V>, _ message: String) -> ConfigError {
        C.optionName(keyPath).map { options.error($0, message) } ?? options.error(message)
    }

    /// A config error pointing at the stage.
    public func error(_ message: String) -> ConfigError { options.error(message) }
}

// MARK: - Options

/// A Swift type an option can bind to, with its ``OptionType`` and its conversion from the
/// checked config value.
public protocol OptionValue: Sendable {
    /// How the option is typed in the config (and documented).
    static var optionType: OptionType { get }
    /// The value from a checked config value (`nil`: not of this type).
    init?(optionValue: Value)
    /// The value as the config would write it (for documented defaults; `nil`: no default).
    var optionValue: Value? { get }
    /// Why `value` is not one (completing "option 'x' …"), for types whose shape has more to
    /// say than their type name; default: none, and the message names the type.
    static func problem(with value: Value) -> String?
}

extension OptionValue {
    /// No more to say than the type name.
    public static func problem(with value: Value) -> String? { nil }
}

/// Groups of field names, as an `indexes` option takes them: one field, or a list whose items
/// are fields or lists of fields (composite). Always groups after binding: `a` is `[[a]]`,
/// `[a, [b, c]]` is `[[a], [b, c]]`.
public struct FieldGroups: OptionValue, Equatable {
    /// The groups, in config order.
    public var groups: [[String]]

    /// Groups given directly.
    public init(_ groups: [[String]] = []) { self.groups = groups }

    /// Written as a mapping or anything but a field or a list: not a group.
    public static var optionType: OptionType { .any }

    /// The groups of `optionValue`, or nil when it has another shape (see ``problem(with:)``).
    public init?(optionValue: Value) {
        guard Self.problem(with: optionValue) == nil else { return nil }
        switch optionValue {
        case .string(let field): groups = [[field]]
        case .array(let items):
            groups = items.map { item in
                if case .string(let field) = item { return [field] }
                return item.arrayValue?.compactMap(\.stringValue) ?? []
            }
        default: groups = []
        }
    }

    /// The config's writing: a list of fields or lists; none when empty.
    public var optionValue: Value? {
        groups.isEmpty ? nil : .array(groups.map { $0.count == 1 ? .string($0[0]) : .array($0.map { .string($0) }) })
    }

    /// Which item is not a field or a non-empty list of fields.
    public static func problem(with value: Value) -> String? {
        switch value {
        case .string, .null: return nil
        case .array(let items):
            for (n, item) in items.enumerated() {
                switch item {
                case .string: continue
                case .array(let fields) where !fields.isEmpty && fields.allSatisfy({ $0.stringValue != nil }): continue
                default: return "item \(n + 1) must be a field or a list of fields, not \(item.kindName) \(item)"
                }
            }
            return nil
        default:
            return "must be a field or a list of fields, not \(value.kindName) \(value)"
        }
    }
}

extension String: OptionValue {
    /// `string`.
    public static var optionType: OptionType { .string }
    /// A string.
    public init?(optionValue: Value) {
        guard let s = optionValue.stringValue else { return nil }
        self = s
    }
    /// The string.
    public var optionValue: Value? { .string(self) }
}

extension Int: OptionValue {
    /// `integer`.
    public static var optionType: OptionType { .integer }
    /// An integer.
    public init?(optionValue: Value) {
        guard let n = optionValue.intValue else { return nil }
        self = Int(n)
    }
    /// The integer.
    public var optionValue: Value? { .int(Int64(self)) }
}

extension Double: OptionValue {
    /// `number`.
    public static var optionType: OptionType { .number }
    /// An integer or decimal number.
    public init?(optionValue: Value) {
        guard let n = optionValue.doubleValue else { return nil }
        self = n
    }
    /// The number.
    public var optionValue: Value? { .double(self) }
}

extension Bool: OptionValue {
    /// `boolean`.
    public static var optionType: OptionType { .boolean }
    /// A boolean.
    public init?(optionValue: Value) {
        guard let b = optionValue.boolValue else { return nil }
        self = b
    }
    /// The boolean.
    public var optionValue: Value? { .bool(self) }
}

extension Array: OptionValue where Element == String {
    /// `[string]`.
    public static var optionType: OptionType { .list(.string) }
    /// A list of strings, or one string as a list of one.
    public init?(optionValue: Value) {
        switch optionValue {
        case .array(let items):
            var strings: [String] = []
            for item in items {
                guard let s = item.stringValue else { return nil }
                strings.append(s)
            }
            self = strings
        case .string(let s): self = [s]
        default: return nil
        }
    }
    /// The list; an empty list is no default.
    public var optionValue: Value? { isEmpty ? nil : .array(map { .string($0) }) }
}

extension Value: OptionValue {
    /// `any`.
    public static var optionType: OptionType { .any }
    /// Any value.
    public init?(optionValue: Value) { self = optionValue }
    /// The value; `null` is no default.
    public var optionValue: Value? { self == .null ? nil : self }
}

extension Optional: OptionValue where Wrapped: OptionValue {
    /// The wrapped type's.
    public static var optionType: OptionType { Wrapped.optionType }
    /// The wrapped value.
    public init?(optionValue: Value) {
        guard let wrapped = Wrapped(optionValue: optionValue) else { return nil }
        self = wrapped
    }
    /// `nil` (no default) when absent.
    public var optionValue: Value? { self.flatMap(\.optionValue) }
}

/// An option whose value is one of a fixed set of names: a `String` enum. Conforming is all it
/// takes; the choices are its cases.
public protocol OptionChoice: OptionValue, RawRepresentable, CaseIterable where RawValue == String {}

extension OptionChoice {
    /// One of the cases' raw values.
    public static var optionType: OptionType { .oneOf(allCases.map(\.rawValue)) }
    /// The case named by the value.
    public init?(optionValue: Value) {
        guard let s = optionValue.stringValue, let choice = Self(rawValue: s) else { return nil }
        self = choice
    }
    /// The case's name.
    public var optionValue: Value? { .string(rawValue) }
}

/// The allowed range of a numeric option, documented and checked when binding.
public struct OptionRange: Sendable, Hashable {
    /// The smallest value allowed.
    public var minimum: Double?
    /// The largest value allowed.
    public var maximum: Double?
    /// Whether the minimum itself is excluded (`> 0` rather than `≥ 0`).
    public var exclusiveMinimum = false

    /// A range from `minimum` to `maximum`.
    public init(minimum: Double? = nil, maximum: Double? = nil, exclusiveMinimum: Bool = false) {
        self.minimum = minimum
        self.maximum = maximum
        self.exclusiveMinimum = exclusiveMinimum
    }

    /// `n...m`.
    public init(_ range: ClosedRange<Int>) {
        self.init(minimum: Double(range.lowerBound), maximum: Double(range.upperBound))
    }

    /// `n...`.
    public init(_ range: PartialRangeFrom<Int>) { self.init(minimum: Double(range.lowerBound)) }

    /// Greater than zero (a positive number of seconds…).
    public static let positive = OptionRange(minimum: 0, exclusiveMinimum: true)

    /// What the range says, for `sluice stages` (`1..256`, `≥ 0`, `> 0`).
    public var description: String {
        let low = minimum.map(Self.text)
        let high = maximum.map(Self.text)
        switch (low, high) {
        case let (l?, h?): return "\(l)..\(h)"
        case let (l?, nil): return exclusiveMinimum ? "> \(l)" : "≥ \(l)"
        case let (nil, h?): return "≤ \(h)"
        case (nil, nil): return ""
        }
    }

    /// Why `value` is outside the range (completing "option 'x' …"), or `nil` when inside.
    public func problem(_ value: Double, unit: String = "") -> String? {
        let tooLow = minimum.map { exclusiveMinimum ? value <= $0 : value < $0 } ?? false
        let tooHigh = maximum.map { value > $0 } ?? false
        guard tooLow || tooHigh || !value.isFinite else { return nil }
        let shown = Self.text(value)
        switch (minimum, maximum) {
        case let (l?, h?): return "must be between \(Self.text(l)) and \(Self.text(h))\(Self.plural(unit, h)), not \(shown)"
        case (0?, nil) where !exclusiveMinimum: return "must not be negative, not \(shown)"
        case (0?, nil): return "must be positive, not \(shown)"
        case let (l?, nil): return "must be at least \(Self.text(l))\(Self.plural(unit, l)), not \(shown)"
        case let (nil, h?): return "must be at most \(Self.text(h))\(Self.plural(unit, h)), not \(shown)"
        case (nil, nil): return "must be a finite number, not \(shown)"
        }
    }

    static func text(_ n: Double) -> String {
        n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
    }

    static func plural(_ unit: String, _ n: Double) -> String {
        unit.isEmpty ? "" : n == 1 ? " \(unit)" : " \(unit)s"
    }
}

/// One option of a ``StageConfiguration``: its key, the property it binds to, its type, range
/// and doc. The default is the property's value in the configuration's `init()`.
public struct ConfigOption<Configuration: StageConfiguration>: Sendable {
    /// The option's key in the config.
    public var name: String { spec.name }
    /// The generated documentation row (type, required, default, doc) the loader checks against.
    public let spec: OptionSpec
    let keyPath: PartialKeyPath<Configuration> & Sendable
    let write: @Sendable (inout Configuration, Value, BuildEnvironment) -> String?

    /// An option bound to `keyPath`, typed by the property (`String`, `Int`, `Double`, `Bool`,
    /// `[String]`, `Value`, an ``OptionChoice`` enum, or an optional of one).
    ///
    /// - Parameters:
    ///   - name: the key in the config.
    ///   - keyPath: the property that holds the value; its initial value is the default.
    ///   - type: overrides the type taken from the property: `.path` (resolved against the
    ///     config's folder), `.size` (`64MiB`), `.stringOrList`, `.object`.
    ///   - required: whether the config must give it.
    ///   - range: the allowed values of a number (checked when binding, shown in the docs).
    ///   - notEmpty: an empty string or list is refused.
    ///   - doc: one line for `sluice stages TYPE`.
    public init<V: OptionValue>(_ name: String, _ keyPath: WritableKeyPath<Configuration, V> & Sendable,
                                _ type: OptionType? = nil, required: Bool = false,
                                range: OptionRange? = nil, notEmpty: Bool = false, doc: String) {
        let optionType = type ?? V.optionType
        var defaultValue = required ? nil : Configuration()[keyPath: keyPath].optionValue
        if optionType == .size, let bytes = defaultValue?.intValue { defaultValue = .string(Self.sizeText(bytes)) }
        spec = OptionSpec(name, optionType, required: required, default: defaultValue, range: range,
                          notEmpty: notEmpty, doc: doc)
        self.keyPath = keyPath
        let unit = optionType == .size ? "byte" : ""
        write = { configuration, value, environment in
            var value = value
            // The loader resolved paths already; options made by hand (tools, tests) are too.
            if optionType == .path, let path = value.stringValue { value = .string(environment.resolve(path)) }
            if optionType == .list(.path), case .array(let items) = value {
                value = .array(items.map { $0.stringValue.map { .string(environment.resolve($0)) } ?? $0 })
            }
            guard let typed = V(optionValue: value) else {
                return V.problem(with: value) ?? "must be \(optionType), not \(value.kindName) \(value)"
            }
            if notEmpty {
                switch value {
                case .string(let s) where s.isEmpty: return "must not be empty"
                case .array(let items) where items.isEmpty: return "must not be empty"
                default: break
                }
            }
            if let range, let number = value.doubleValue, let problem = range.problem(number, unit: unit) {
                return problem
            }
            configuration[keyPath: keyPath] = typed
            return nil
        }
    }

    /// A byte count as the config would write it: `64MiB`, `512KiB`, `1000`.
    static func sizeText(_ bytes: Int64) -> String {
        for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] where bytes > 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return String(bytes)
    }

    /// Writes a checked value into `configuration`; returns why it cannot be (completing
    /// "option 'x' …").
    func assign(_ value: Value, to configuration: inout Configuration, environment: BuildEnvironment) -> String? {
        write(&configuration, value, environment)
    }
}

/// A rule across a stage's options, checked when binding and shown by `sluice stages TYPE` and
/// in the JSON Schema.
public enum OptionRule: Sendable, Hashable, CustomStringConvertible {
    /// Exactly one of these options must be given.
    case exactlyOne([String])
    /// At least one of these options must be given.
    case atLeastOne([String])
    /// At most one of these options may be given.
    case atMostOne([String])
    /// The first option may only be given together with the second.
    case goesWith(String, String)

    /// The rule in words, for `sluice stages TYPE`.
    public var description: String {
        switch self {
        case .exactlyOne(let names): return "exactly one of \(Self.list(names, "and"))"
        case .atLeastOne(let names): return "at least one of \(Self.list(names, "or"))"
        case .atMostOne(let names): return "at most one of \(Self.list(names, "and"))"
        case .goesWith(let a, let b): return "'\(a)' only together with '\(b)'"
        }
    }

    /// The option to point at and the message, when `values` break the rule.
    public func violation(in values: Fields) -> (option: String?, message: String)? {
        // Given: present, not null, and not an empty list or mapping (which would ask for nothing).
        func given(_ name: String) -> Bool {
            switch values[name] {
            case nil, .null?: return false
            case .array(let items)?: return !items.isEmpty
            case .object(let fields)?: return !fields.isEmpty
            default: return true
            }
        }
        switch self {
        case .exactlyOne(let names):
            let present = names.filter(given)
            if present.isEmpty { return (nil, "give \(names.count == 2 ? "either" : "one of") \(Self.list(names, "or"))") }
            if present.count > 1 {
                return (present[1], "give \(names.count == 2 ? "either" : "one of") \(Self.list(names, "or")), not \(present.count == 2 ? "both" : "several")")
            }
        case .atLeastOne(let names):
            if !names.contains(where: given) { return (nil, "give at least one of \(Self.list(names, "or"))") }
        case .atMostOne(let names):
            let present = names.filter(given)
            if present.count > 1 {
                return (present[1], "give at most one of \(Self.list(names, "and")), not \(Self.list(present, "and"))")
            }
        case .goesWith(let a, let b):
            if given(a) && !given(b) { return (a, "option '\(a)' goes with '\(b)'; give '\(b)' too") }
        }
        return nil
    }

    /// `'a', 'b' or 'c'`.
    static func list(_ names: [String], _ last: String) -> String {
        let quoted = names.map { "'\($0)'" }
        guard quoted.count > 1 else { return quoted.first ?? "" }
        return quoted.dropLast().joined(separator: ", ") + " \(last) " + (quoted.last ?? "")
    }
}

/// A stage that is built from its typed configuration (most are; a configuration's
/// `makeSource`/`makeTransform`/`makeSink` then just calls this initializer).
public protocol ConfiguredStage {
    /// The stage type's configuration.
    associatedtype Configuration: StageConfiguration
    /// Builds the stage; problems are config errors at the options' places.
    init(_ configuration: Configuration, _ context: BuildContext) throws
}

extension ConfiguredStage {
    /// Binds checked options (the config loader's, or made by hand in tools and tests) and
    /// builds the stage, exactly as a pipeline would.
    public init(stageOptions options: StageOptions) throws {
        try self.init(Configuration.bind(options), BuildContext(options))
    }
}
