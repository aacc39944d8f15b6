import ArgumentParser
import SluiceCore

struct StagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stages",
        abstract: "List every stage type with a one-line summary; with TYPE, its options.")

    @Argument(help: "A stage type to describe (e.g. lua, sqlite).",
              completion: .list(Array(Set(StageKind.allCases.flatMap { SluiceMain.registry.typeNames($0) })).sorted()))
    var type: String?

    func run() throws {
        let registry = SluiceMain.registry
        guard let type else {
            for kind in StageKind.allCases {
                let names = registry.typeNames(kind)
                guard !names.isEmpty else { continue }
                print("\(kind.section):")
                let width = names.map(\.count).max() ?? 0
                for name in names {
                    let summary = registry.descriptor(kind, name)?.summary ?? ""
                    print("  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(summary)")
                }
            }
            return
        }
        let found = StageKind.allCases.compactMap { registry.descriptor($0, type) }
        guard !found.isEmpty else {
            let all = Set(StageKind.allCases.flatMap { registry.typeNames($0) })
            let suggestion = Suggest.closest(to: type, in: all).map { " (did you mean '\($0)'?)" } ?? ""
            printError("error: unknown stage type '\(type)'\(suggestion); known: \(all.sorted().joined(separator: ", "))")
            throw ExitCode(ExitStatus.usage)
        }
        for (k, d) in found.enumerated() {
            if k > 0 { print("") }
            print("\(d.type) (\(d.kind)): \(d.summary)")
            var rows: [[String]] = [["option", "type", "default", "description"]]
            if d.kind != .source { rows.append(["inputs", "[string]", "(required)", "The stages this one reads."]) }
            for o in d.options {
                let def = o.required ? "(required)" : o.defaultValue.map { JSONWriter.string($0) } ?? "-"
                rows.append([o.name, o.typeDescription + (o.notEmpty ? ", not empty" : ""), def, o.doc])
            }
            let widths = (0..<3).map { c in rows.map { $0[c].count }.max() ?? 0 }
            for row in rows {
                let cells = (0..<3).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                print("  " + cells.joined(separator: "  ") + "  " + row[3])
            }
            if !d.rules.isEmpty {
                print("rules:")
                for rule in d.rules { print("  \(rule)") }
            }
            if !d.example.isEmpty {
                print("example:")
                for line in d.example.split(separator: "\n", omittingEmptySubsequences: false) { print("  \(line)") }
            }
        }
    }
}
