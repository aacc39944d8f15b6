import Foundation

/// Facts about the run that stage factories may need.
public struct BuildEnvironment: Sendable {
    /// The config file's path (or a label such as `<try>`).
    public var configFile: String
    /// The folder relative paths resolve against.
    public var baseDirectory: String
    /// The folder for state: checkpoints, dedupe keys.
    public var dataDirectory: String
    /// The default number of workers for parallel stages (`--workers`, default: the cores).
    public var defaultWorkers: Int

    /// Creates an environment.
    public init(configFile: String, baseDirectory: String, dataDirectory: String,
                defaultWorkers: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.configFile = configFile
        self.baseDirectory = baseDirectory
        self.dataDirectory = dataDirectory
        self.defaultWorkers = max(1, defaultWorkers)
    }

    /// `path` made absolute against ``baseDirectory`` (`-` and absolute paths are kept).
    public func resolve(_ path: String) -> String {
        if path == "-" || path.hasPrefix("/") { return path }
        if path.hasPrefix("~/") { return NSString(string: path).expandingTildeInPath }
        return URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardizedFileURL.path
    }
}

/// A stage's options after the config was checked against its ``OptionSpec``s: every value has
/// its declared type, defaults are filled in, paths are resolved, sizes are byte counts and
/// `string or [string]` options are lists.
public struct StageOptions: Sendable {
    /// The stage's name in the config.
    public var name: String
    /// Its type name.
    public var type: String
    /// Its kind.
    public var kind: StageKind
    /// The checked values, in config order, then defaults.
    public var values: Fields
    /// Where the stage's entry is in the config.
    public var position: SourcePosition
    /// Facts about the run.
    public var environment: BuildEnvironment
    var positions: [String: SourcePosition]

    /// Creates options directly (tests and tools; the config loader normally makes these).
    public init(name: String, type: String, kind: StageKind, values: Fields,
                environment: BuildEnvironment, position: SourcePosition? = nil,
                positions: [String: SourcePosition] = [:]) {
        self.name = name
        self.type = type
        self.kind = kind
        self.values = values
        self.environment = environment
        self.position = position ?? SourcePosition(file: environment.configFile, line: 1, column: 1)
        self.positions = positions
    }

    /// The value of an option, or `nil` when absent.
    public subscript(option: String) -> Value? { values[option] }

    /// A string option.
    public func string(_ option: String) -> String? { values[option]?.stringValue }
    /// An integer option (also for `size` options).
    public func int(_ option: String) -> Int? { values[option]?.intValue.map { Int($0) } }
    /// A number option.
    public func double(_ option: String) -> Double? { values[option]?.doubleValue }
    /// A boolean option.
    public func bool(_ option: String) -> Bool? { values[option]?.boolValue }
    /// A list-of-strings option (also `string or [string]`).
    public func strings(_ option: String) -> [String]? {
        switch values[option] {
        case .array(let items)?: return items.compactMap(\.stringValue)
        case .string(let s)?: return [s]
        default: return nil
        }
    }

    /// Where an option's value is in the config (the stage's position when absent).
    public func position(of option: String) -> SourcePosition { positions[option] ?? position }

    /// A config error pointing at an option's value.
    public func error(_ option: String, _ message: String) -> ConfigError {
        ConfigError(position(of: option), "\(kind) '\(name)': \(message)")
    }

    /// A config error pointing at the stage.
    public func error(_ message: String) -> ConfigError {
        ConfigError(position, "\(kind) '\(name)': \(message)")
    }
}
