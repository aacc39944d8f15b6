import Foundation
import SluiceCore
import SluiceTestSupport
import Testing

/// `sluice schema` checked with an independent validator: Python's `jsonschema` (draft 2020-12)
/// on configs loaded with PyYAML, installed from PyPI once when missing.
@Suite("sluice schema validates the shipped configs and refuses what the loader refuses")
struct SchemaTests {
    /// The validator script: `check.py SCHEMA CONFIG…` prints `CONFIG: ok` or one line per
    /// error, and exits 1 when any config is invalid (2 when the schema itself is not a
    /// draft 2020-12 schema).
    static let script = """
        import json, re, sys
        import jsonschema, yaml

        # Type plain scalars the YAML 1.2 way, as Sluice does: PyYAML's YAML 1.1 would make
        # dates of `2024-05-01` and booleans of `yes`/`on`, which Sluice reads as strings.
        class Loader(yaml.SafeLoader):
            pass
        Loader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers
                    if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
        Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                     re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

        schema = json.load(open(sys.argv[1]))
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            print("bad schema:", e.message)
            sys.exit(2)
        validator = jsonschema.Draft202012Validator(schema)
        status = 0
        for path in sys.argv[2:]:
            with open(path) as f:
                document = yaml.load(f, Loader=Loader)
            errors = list(validator.iter_errors(document))
            for e in errors:
                print(f"{path}: /{'/'.join(map(str, e.absolute_path))}: {e.message}")
                status = 1
            if not errors:
                print(f"{path}: ok")
        sys.exit(status)
        """

    /// Whether `python3` can import jsonschema and yaml; installs them with pip once when not.
    static let pythonReady: Result<Void, StageError> = {
        func run(_ arguments: [String]) -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3"] + arguments
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { return -1 }
            p.waitUntilExit()
            return p.terminationStatus
        }
        let probe = ["-c", "import jsonschema, yaml"]
        if run(probe) == 0 { return .success(()) }
        _ = run(["-m", "pip", "install", "-q", "jsonschema", "pyyaml"])
        if run(probe) == 0 { return .success(()) }
        return .failure(StageError(stage: "test", message: "python3 with jsonschema and pyyaml is needed (python3 -m pip install jsonschema pyyaml)"))
    }()

    /// Writes the binary's schema and the validator into `dir`; runs it on `configs`.
    static func validate(_ configs: [String], in dir: TemporaryDirectory) throws -> Sluice.Result {
        try pythonReady.get()
        let schema = try Sluice.run(["schema"], in: dir.path)
        #expect(schema.status == 0 && schema.stderr.isEmpty, "stderr: \(schema.stderr)")
        let schemaFile = try dir.write("sluice.schema.json", schema.stdout)
        let checker = try dir.write("check.py", script)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", checker, schemaFile] + configs
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return Sluice.Result(status: p.terminationStatus, stdout: text, stderr: "")
    }

    @Test("every examples/ config and the project sluice init writes are valid against the schema")
    func shippedConfigsAreValid() throws {
        let dir = TemporaryDirectory("sluice-schema")
        let examples = Sluice.repository + "/examples"
        let found = FileManager.default.enumerator(atPath: examples)?.compactMap { $0 as? String } ?? []
        var configs = found.filter { $0.hasSuffix(".yaml") }.sorted().map { examples + "/" + $0 }
        #expect(configs.count >= 3, "examples/*.yaml and examples/exec/pipeline.yaml: \(configs)")
        let created = try Sluice.run(["init", "proj"], in: dir.path)
        #expect(created.status == 0, "stderr: \(created.stderr)")
        configs.append(dir.file("proj/pipeline.yaml"))
        let result = try Self.validate(configs, in: dir)
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.lines.count == configs.count && result.stdout.lines.allSatisfy { $0.hasSuffix(": ok") },
                "\(result.stdout)")
    }

    @Test("what the loader accepts beyond the plain shapes (one input name, ${VAR}, sizes with units, empty sections) is valid")
    func loaderFormsAreValid() throws {
        let dir = TemporaryDirectory("sluice-schema")
        _ = try dir.write("in.jsonl", "{\"n\": 1}\n")
        let config = try dir.write("p.yaml", """
            transforms:
            sources:
              input: { type: json, path: in.jsonl, max_line_bytes: 64 MiB }
            sinks:
              db:
                type: sqlite
                inputs: input
                path: out.db
                table: t
                batch_size: ${BATCH:-500}
            """)
        let loaded = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(loaded.status == 0, "the loader accepts it: \(loaded.stderr)")
        let result = try Self.validate([config], in: dir)
        #expect(result.status == 0, "\(result.stdout)")
    }

    @Test("a misspelled option, a wrong type, an unknown stage type or a missing required option fail against the schema, as they fail validate")
    func mistakesAreRefused() throws {
        let dir = TemporaryDirectory("sluice-schema")
        _ = try dir.write("in.jsonl", "{\"n\": 1}\n")
        let mistakes: [(String, String, String)] = [
            ("misspelled.yaml", "db: { type: sqlite, inputs: [input], path: out.db, tabel: t }", "'tabel' was unexpected"),
            ("wrong-type.yaml", "db: { type: sqlite, inputs: [input], path: out.db, table: t, batch_size: lots }", "'lots'"),
            ("unknown-type.yaml", "db: { type: sqlit, inputs: [input], path: out.db, table: t }", "'sqlit' is not one of"),
            ("no-path.yaml", "db: { type: json, inputs: [input] }", "'path' is a required property"),
        ]
        var configs: [String] = []
        for (name, sink, _) in mistakes {
            configs.append(try dir.write(name, """
                sources:
                  input: { type: json, path: in.jsonl }
                sinks:
                  \(sink)
                """))
            let loaded = try Sluice.run(["validate", name], in: dir.path)
            #expect(loaded.status == 2, "the loader refuses \(name) too: \(loaded.stderr)")
        }
        let result = try Self.validate(configs, in: dir)
        #expect(result.status == 1, "\(result.stdout)")
        for (name, _, message) in mistakes {
            let lines = result.stdout.lines.filter { $0.contains(name) }
            #expect(!lines.isEmpty && lines.allSatisfy { !$0.hasSuffix(": ok") }, "\(name): \(result.stdout)")
            #expect(lines.contains { $0.contains(message) }, "\(name) should say \(message): \(result.stdout)")
        }
    }
}
