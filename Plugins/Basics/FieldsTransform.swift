import SluiceCore

/// The `fields` transform: reshapes records without a script.
///
/// Applied in this order: `select` (keep only these fields, in the listed order), `drop`,
/// `rename` (in place: a renamed field keeps its position, and replaces a field that already
/// has the new name), `set` (constant values; new fields are appended). Field names are
/// top-level names; dots are not paths.
struct FieldsTransform: Transform {
    /// The type name in configs.
    static let type = "fields"
    static let descriptor = StageDescriptor(
        type: type,
        summary: "Selects, drops, renames and sets fields without a script.",
        options: [
            OptionSpec("select", .stringOrList, doc: "keep only these fields, in this order (missing ones are skipped)"),
            OptionSpec("drop", .stringOrList, doc: "remove these fields"),
            OptionSpec("rename", .object, doc: "rename fields, {old: new}; a renamed field keeps its place and replaces a field already named new"),
            OptionSpec("set", .object, doc: "set fields to constant values, {field: value}"),
        ],
        factory: .transform { try FieldsTransform($0) })

    let select: [String]?
    let drop: Set<String>
    let rename: [(from: String, to: String)]
    let set: Fields

    init(_ options: StageOptions) throws {
        select = options.strings("select")
        drop = Set(options.strings("drop") ?? [])
        var rename: [(String, String)] = []
        var targets: [String: String] = [:]
        for (from, to) in options["rename"]?.objectValue ?? [:] {
            guard case .string(let name) = to else {
                throw options.error("rename", "'rename' maps each old name to a new name (a string); '\(from)' maps to \(to.kindName)")
            }
            guard !name.isEmpty else {
                throw options.error("rename", "'rename' maps '\(from)' to an empty name")
            }
            if let other = targets[name] {
                throw options.error("rename", "'rename' maps both '\(other)' and '\(from)' to '\(name)'; one value would be lost")
            }
            targets[name] = from
            rename.append((from, name))
        }
        self.rename = rename
        set = options["set"]?.objectValue ?? [:]
        if select == nil && drop.isEmpty && rename.isEmpty && set.isEmpty {
            throw options.error("give at least one of 'select', 'drop', 'rename' or 'set'")
        }
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
