import SluiceCore

/// The JSON family: the `json` source (JSON Lines, arrays and documents from files, globs or
/// standard input) and the `json` sink (JSON Lines or an array, to a file or standard output).
public enum JSONPlugin: SluicePlugin {
    /// Registers the `json` source and the `json` sink.
    public static func register(in registry: inout StageRegistry) throws(RegistryError) {
        try registry.register(JSONSource.Configuration.self)
        try registry.register(JSONSink.Configuration.self)
    }
}
