import SluiceCore

/// The JSON family: the `json` source (JSON Lines, arrays and documents from files, globs or
/// standard input) and the `json` sink (JSON Lines or an array, to a file or standard output).
public enum JSONPlugin: SluicePlugin {
    /// Registers the `json` source and the `json` sink.
    public static func register(in registry: inout StageRegistry) {
        registry.source("json", summary: "Reads records from JSON Lines, JSON arrays or JSON documents (files, globs or -).",
                        options: JSONSource.optionSpecs) { try JSONSource(options: $0) }
        registry.sink("json", summary: "Writes records as JSON Lines or a JSON array to a file or - (standard output).",
                      options: JSONSink.optionSpecs) { try JSONSink(options: $0) }
    }
}
