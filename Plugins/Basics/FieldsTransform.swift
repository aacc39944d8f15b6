import SluiceCore

/// The `fields` transform: reshapes records without a script.
///
/// Applied in this order: `select` (keep only these fields, in the listed order), `drop`,
/// `rename` (in place: a renamed field keeps its position, and replaces a field that already
/// has the new name), `set` (constant values; new fields are appended). Field names are
/// top-level names; dots are not paths.
struct FieldsTransform: Transform {
    /// The options of a `fields` stage.
    struct Configuration: TransformConfiguration {
        static let type = "fields"
        static let summary = "Selects, drops, renames and sets fields without a script."
        static let example = """
            type: fields
            inputs: articles
            select: [id, title, body]
            rename: {body: text}
            set: {origin: newsroom}
            """
        static let options: [ConfigOption<Self>] = [
            .init("select", \.select, .stringOrList, doc: "keep only these fields, in this order (missing ones are skipped)"),
            .init("drop", \.drop, .stringOrList, doc: "remove these fields"),
            .init("rename", \.rename, .object, doc: "rename fields, {old: new}; a renamed field keeps its place and replaces a field already named new"),
            .init("set", \.set, .object, doc: "set fields to constant values, {field: value}"),
        ]
        static let rules: [OptionRule] = [.atLeastOne(["select", "drop", "rename", "set"])]

        var select: [String]?
        var drop: [String] = []
        var rename: Value?
        var set: Value?

        func makeTransform(_ context: BuildContext) throws -> any Transform {
            try FieldsTransform(self, context)
        }
    }

    let select: [String]?
    let drop: Set<String>
    let rename: [(from: String, to: String)]
    let set: Fields

    init(_ configuration: Configuration, _ context: BuildContext) throws {
        select = configuration.select
        drop = Set(configuration.drop)
        var rename: [(String, String)] = []
        var targets: [String: String] = [:]
        for (from, to) in configuration.rename?.objectValue ?? [:] {
            guard case .string(let name) = to else {
                throw context.error(\Configuration.rename, "'rename' maps each old name to a new name (a string); '\(from)' maps to \(to.kindName)")
            }
            guard !name.isEmpty else {
                throw context.error(\Configuration.rename, "'rename' maps '\(from)' to an empty name")
            }
            if let other = targets[name] {
                throw context.error(\Configuration.rename, "'rename' maps both '\(other)' and '\(from)' to '\(name)'; one value would be lost")
            }
            targets[name] = from
            rename.append((from, name))
        }
        self.rename = rename
        set = configuration.set?.objectValue ?? [:]
    }

    func makeWorker(_ context: StageContext) throws -> any TransformWorker { Worker(spec: self) }

    final class Worker: TransformWorker {
        let spec: FieldsTransform
        init(spec: FieldsTransform) { self.spec = spec }

        func process(_ batch: [Record], into output: inout TransformOutput) throws {
            for var record in batch {
                record.fields = spec.apply(record.fields)
                output.emit(record)
            }
        }
    }

    func apply(_ input: Fields) -> Fields {
        var fields = input
        if let select {
            var kept = Fields(minimumCapacity: select.count)
            for name in select { if let v = fields[name] { kept[name] = v } }
            fields = kept
        }
        for name in drop { fields.removeValue(forKey: name) }
        if !rename.isEmpty {
            var renamed = Fields(minimumCapacity: fields.count)
            let map = Dictionary(rename.map { ($0.from, $0.to) }, uniquingKeysWith: { a, _ in a })
            // Targets that a field present in this record is renamed to: the old field of that
            // name gives way to the renamed one.
            let replaced = Set(rename.filter { fields[$0.from] != nil }.map(\.to))
            for (k, v) in fields {
                if let target = map[k] {
                    renamed[target] = v
                } else if !replaced.contains(k) {
                    renamed[k] = v
                }
            }
            fields = renamed
        }
        for (k, v) in set { fields[k] = v }
        return fields
    }
}
