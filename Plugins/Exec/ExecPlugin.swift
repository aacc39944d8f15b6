import SluiceCore

/// Stages in any language: the `exec` source, transform and sink run a program and speak JSON
/// Lines with it over its stdin and stdout (see ``ExecTransform`` for the protocol).
public enum ExecPlugin: SluicePlugin {
    /// Registers the `exec` source, transform and sink.
    public static func register(in registry: inout StageRegistry) throws(RegistryError) {
        try registry.register(ExecSource.Configuration.self)
        try registry.register(ExecTransform.Configuration.self)
        try registry.register(ExecSink.Configuration.self)
    }
}
