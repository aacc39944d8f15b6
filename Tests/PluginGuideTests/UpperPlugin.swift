import SluiceCore

/// The `upper` transform: upper-cases string fields.
struct UpperTransform: Transform, ConfiguredStage {
    /// The options: the only place they are written.
    struct Configuration: TransformConfiguration {
        static let type = "upper"
        static let summary = "Upper-cases string fields."
        static let example = """
            type: upper
            inputs: articles
            fields: [title, section]
            """
        static let options: [ConfigOption<Self>] = [
            .init("fields", \.fields, .stringOrList, required: true, notEmpty: true,
                  doc: "the fields to upper-case"),
            .init("keep_original", \.keepOriginal, doc: "also keep each field's old value as <field>_original"),
            .init("max_length", \.maxLength, range: OptionRange(1...),
                  doc: "longer values are dead letters"),
        ]

        var fields: [String] = []
        var keepOriginal = false
        var maxLength = 100_000

        func makeTransform(_ context: BuildContext) throws -> any Transform {
            try UpperTransform(self, context)
        }
    }

    let fields: [String]
    let keepOriginal: Bool
    let maxLength: Int

    init(_ configuration: Configuration, _ context: BuildContext) throws {
        if let empty = configuration.fields.firstIndex(of: "") {
            // Reported at the option's line and column by `sluice validate`.
            throw context.error(\Configuration.fields, "field \(empty + 1) of 'fields' is empty")
        }
        fields = configuration.fields
        keepOriginal = configuration.keepOriginal
        maxLength = configuration.maxLength
    }

    func makeWorker(_ context: StageContext) throws -> any TransformWorker { Worker(stage: self) }

    final class Worker: TransformWorker {
        let stage: UpperTransform
        init(stage: UpperTransform) { self.stage = stage }

        func process(_ batch: [Record], into output: inout TransformOutput) throws {
            records: for var record in batch {
                for field in stage.fields {
                    guard case .string(let text)? = record[field] else { continue }
                    guard text.utf8.count <= stage.maxLength else {
                        output.deadLetter(record, error: "'\(field)' is longer than \(stage.maxLength) bytes")
                        continue records
                    }
                    if stage.keepOriginal { record[field + "_original"] = .string(text) }
                    record[field] = .string(text.uppercased())
                }
                output.emit(record)
            }
        }
    }
}

/// The family: one line per stage type.
enum UpperPlugin: SluicePlugin {
    static func register(in registry: inout StageRegistry) throws(RegistryError) {
        try registry.register(UpperTransform.Configuration.self)
    }
}
