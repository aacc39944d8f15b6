import SluiceCore

/// Stages in any language: the `exec` source, transform and sink run a program and speak JSON
/// Lines with it over its stdin and stdout (see ``ExecTransform`` for the protocol).
public enum ExecPlugin: SluicePlugin {
    /// Registers the `exec` source, transform and sink.
    public static func register(in registry: inout StageRegistry) {
        registry.source(ExecSource.type, summary: ExecSource.summary, options: ExecSource.options) {
            try ExecSource($0)
        }
        registry.transform(ExecTransform.type, summary: ExecTransform.summary, options: ExecTransform.options) {
            try ExecTransform($0)
        }
        registry.sink(ExecSink.type, summary: ExecSink.summary, options: ExecSink.options) {
            try ExecSink($0)
        }
    }
}
