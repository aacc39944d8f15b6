import Foundation
import SluiceCore
import SluiceFormats
import SluiceTestSupport
import Testing

@Suite("sluice commands and exit statuses")
struct CommandTests {
    @Test("validate: a misspelled key prints FILE:LINE:COL: error: with a suggestion and exits 2")
    func validateMisspelledKey() throws {
        let dir = TemporaryDirectory()
        try dir.write("in.jsonl", "{}\n")
        try dir.write("p.yaml", """
            sources:
              input:
                type: json
                paht: in.jsonl
            sinks:
              out: { type: json, inputs: [input], path: out.jsonl }
            """)
        let result = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("p.yaml:4:5: error: source 'input' (json): unknown option 'paht'; did you mean 'path'?"),
                "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("validate reports every problem at once, one line each, in file order")
    func validateAllProblems() throws {
        let dir = TemporaryDirectory()
        try dir.write("p.yaml", """
            sources:
              input: { type: jsno, path: in.jsonl }
            transforms:
              rule: { type: lua, inputs: [inptu], script: missing.lua }
            sinks:
              out: { type: json, path: out.jsonl }
            """)
        let result = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(result.status == 2)
        let lines = result.stderr.lines
        #expect(lines.count >= 4, "stderr: \(result.stderr)")
        #expect(lines.allSatisfy { $0.hasPrefix("p.yaml:") && $0.contains(": error: ") })
        #expect(result.stderr.contains("unknown source type 'jsno' (did you mean 'json'?)"))
        #expect(result.stderr.contains("reads 'inptu', which is not defined; did you mean 'input'?"))
        #expect(result.stderr.contains("sink 'out' has no 'inputs'"))
    }

    @Test("run: a Lua error in one record sends it to dead letters, the others are delivered, exit 3")
    func luaErrorDeadLetters() throws {
        let dir = TemporaryDirectory()
        try dir.write("in.jsonl", """
            {"n": 1, "text": "fine"}
            {"n": 2}
            {"n": 3, "text": "also fine"}

            """)
        try dir.write("rule.lua", """
            function process(record, emit)
              record.upper = string.upper(record.text)
              return record
            end
            """)
        try dir.write("p.yaml", """
            dead_letter: out/dead.jsonl
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              rule: { type: lua, inputs: [input], script: rule.lua }
            sinks:
              out: { type: json, inputs: [rule], path: out/records.jsonl }
            """)
        let result = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(result.status == 3, "stderr: \(result.stderr)")
        let out = try String(contentsOfFile: dir.file("out/records.jsonl"), encoding: .utf8).lines
        #expect(out == [#"{"n":1,"text":"fine","upper":"FINE"}"#, #"{"n":3,"text":"also fine","upper":"ALSO FINE"}"#])
        let dead = try String(contentsOfFile: dir.file("out/dead.jsonl"), encoding: .utf8).lines
        #expect(dead.count == 1)
        let letter = try JSONReader.parse(dead[0])
        #expect(letter["stage"] == "rule")
        #expect(letter["source"] == "input")
        #expect(letter["location"]?.stringValue?.hasSuffix("in.jsonl:2") == true)
        #expect(letter["record"] == ["n": 2])
        #expect(letter["error"]?.stringValue?.hasPrefix("rule.lua:2: ") == true, "error: \(letter["error"] ?? .null)")
        #expect(result.stderr.contains("1 record went to dead letters"))
    }

    @Test("test: one passing and one failing case print a diff and '1 passed, 1 failed', exit 1")
    func testCommand() throws {
        let dir = TemporaryDirectory()
        try dir.write("rule.lua", """
            function process(record, emit)
              record.words = #sluice.text.words(record.body or "")
              return record
            end
            """)
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              rule: { type: lua, inputs: [input], script: rule.lua }
            sinks:
              out: { type: json, inputs: [rule], path: out.jsonl }
            tests:
              - name: counts words
                transform: rule
                input: { body: "one two three" }
                expect: [ { words: 3 } ]
              - name: wrong on purpose
                transform: rule
                input: { body: "one two" }
                expect: [ { words: 5 } ]
            """)
        let result = try Sluice.run(["test", "p.yaml"], in: dir.path)
        #expect(result.status == 1)
        #expect(result.stdout.contains("PASS  counts words"))
        #expect(result.stdout.contains("FAIL  wrong on purpose"))
        #expect(result.stdout.contains("record 1.words: expected 5, got 2"))
        #expect(result.stdout.lines.last == "1 passed, 1 failed")
    }

    @Test("test: each case starts from empty state and leaves the run's data_dir alone (dedupe keys)")
    func testCasesAreIsolatedFromRunState() throws {
        let dir = TemporaryDirectory()
        try dir.write("in.jsonl", "{\"id\":1}\n{\"id\":2}\n")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              d: { type: dedupe, inputs: [input], key: id }
            sinks:
              out: { type: json, inputs: [d], path: out.jsonl }
            tests:
              - name: repeats are dropped
                transform: d
                inputs: [ { id: 1 }, { id: 1 }, { id: 2 } ]
                expect: [ { id: 1 }, { id: 2 } ]
              - name: the same case again passes too
                transform: d
                inputs: [ { id: 1 }, { id: 1 }, { id: 2 } ]
                expect: [ { id: 1 }, { id: 2 } ]
            """)
        for _ in 0..<2 {
            let result = try Sluice.run(["test", "p.yaml"], in: dir.path)
            #expect(result.status == 0, "\(result.stdout)")
            #expect(result.stdout.lines.last == "2 passed, 0 failed")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file(".sluice/dedupe")))
        let run = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8).lines == ["{\"id\":1}", "{\"id\":2}"])
    }

    @Test("try: applies a rule to JSON Lines from a file or stdin and prints JSON Lines")
    func tryCommand() throws {
        let dir = TemporaryDirectory()
        try dir.write("rule.lua", """
            function process(record, emit)
              if record.skip then return nil end
              emit({ kind = "extra", of = record.n })
              record.n = record.n * 2
              return record
            end
            """)
        try dir.write("in.jsonl", "{\"n\":1}\n{\"n\":2,\"skip\":true}\n{\"n\":3}\n")
        let fromFile = try Sluice.run(["try", "rule.lua", "--input", "in.jsonl"], in: dir.path)
        #expect(fromFile.status == 0, "stderr: \(fromFile.stderr)")
        #expect(fromFile.stdout.lines == [
            #"{"kind":"extra","of":1}"#, #"{"n":2}"#, #"{"kind":"extra","of":3}"#, #"{"n":6}"#,
        ])
        let fromStdin = try Sluice.run(["try", "rule.lua"], in: dir.path, stdin: "{\"n\":5}\n")
        #expect(fromStdin.stdout.lines == [#"{"kind":"extra","of":5}"#, #"{"n":10}"#])
    }

    @Test("try: with no --input on a terminal it says it is reading standard input instead of waiting silently; from a pipe it says nothing")
    func tryNamesStandardInputOnATerminal() throws {
        let dir = TemporaryDirectory()
        try dir.write("rule.lua", "function process(record, emit)\n  return record\nend\n")
        // script(1) gives `try` a pseudo-terminal as standard input; its own standard input is
        // empty, so the terminal sees end of input and `try` ends.
        let onTerminal = try Sluice.runProgram("/usr/bin/script", ["-q", "-e", "-c", "\(Sluice.binary) try rule.lua", "/dev/null"],
                                               in: dir.path, timeout: 60)
        #expect(onTerminal.status == 0, "output: \(onTerminal.stdout)")
        #expect(onTerminal.stdout.contains("reading JSON Lines records from standard input"), "output: \(onTerminal.stdout)")
        #expect(onTerminal.stdout.contains("Ctrl-D to end, or give --input FILE"), "output: \(onTerminal.stdout)")
        let fromPipe = try Sluice.run(["try", "rule.lua"], in: dir.path, stdin: "{\"n\":1}\n")
        #expect(fromPipe.status == 0)
        #expect(!fromPipe.stderr.contains("reading JSON Lines records from standard input"), "stderr: \(fromPipe.stderr)")
        #expect(fromPipe.stdout.lines == [#"{"n":1}"#])
    }

    @Test("try: paths and --options are data: a '$' in them is not taken for an environment variable")
    func tryKeepsDollarSigns() throws {
        let dir = TemporaryDirectory()
        try dir.write("cost$rule.lua", "function init(o) price = o.price end\nfunction process(r) r.price = price return r end\n")
        let result = try Sluice.run(["try", "cost$rule.lua", "--options", #"{"price":"${HOME} $5 $$"}"#], in: dir.path,
                                    stdin: "{\"n\":1}\n")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.lines == [#"{"n":1,"price":"${HOME} $5 $$"}"#])
    }

    @Test("run: an unwritable --metrics path is refused before any record moves (exit 2)")
    func metricsPathCheckedFirst() throws {
        let dir = TemporaryDirectory()
        try dir.write("in.jsonl", "{\"n\":1}\n")
        try dir.write("blocker", "a file where a folder should be")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            sinks:
              out: { type: json, inputs: [input], path: out.jsonl }
            """)
        let result = try Sluice.run(["run", "p.yaml", "--progress", "never", "--metrics", "blocker/m.json"], in: dir.path)
        #expect(result.status == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("error: cannot write metrics to blocker/m.json"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.jsonl")))
    }

    @Test("try: a runtime error names script and line on stderr and exits 3")
    func tryError() throws {
        let dir = TemporaryDirectory()
        try dir.write("rule.lua", "function process(record, emit)\n  return record.a.b\nend\n")
        let result = try Sluice.run(["try", "rule.lua"], in: dir.path, stdin: "{\"x\":1}\n")
        #expect(result.status == 3)
        #expect(result.stderr.contains("rule.lua:2:"), "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("stages lists every built-in type; stages TYPE shows its options")
    func stages() throws {
        let dir = TemporaryDirectory()
        let all = try Sluice.run(["stages"], in: dir.path)
        #expect(all.status == 0)
        for type in ["text_articles", "json", "sqlite", "lua", "filter", "fields", "dedupe"] {
            #expect(all.stdout.contains("  \(type) "), "missing \(type) in \(all.stdout)")
        }
        let lua = try Sluice.run(["stages", "lua"], in: dir.path)
        #expect(lua.stdout.contains("script"))
        #expect(lua.stdout.contains("max_instructions"))
        let unknown = try Sluice.run(["stages", "luaa"], in: dir.path)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("did you mean 'lua'?"))
    }

    @Test("graph prints DOT by default and Mermaid on request")
    func graph() throws {
        let dir = try Sluice.workspace()
        let dot = try Sluice.run(["graph", "examples/articles.yaml"], in: dir.path)
        #expect(dot.status == 0)
        #expect(dot.stdout.hasPrefix("digraph sluice {"))
        #expect(dot.stdout.contains("\"articles\" -> \"facts\";"))
        let mermaid = try Sluice.run(["graph", "examples/articles.yaml", "--format", "mermaid"], in: dir.path)
        #expect(mermaid.stdout.hasPrefix("flowchart LR"))
    }

    @Test("bad usage exits 2; a fatal error at run time exits 1")
    func exitStatuses() throws {
        let dir = TemporaryDirectory()
        #expect(try Sluice.run(["run"], in: dir.path).status == 2)
        #expect(try Sluice.run(["frobnicate"], in: dir.path).status == 2)
        #expect(try Sluice.run(["run", "missing.yaml"], in: dir.path).status == 2)
        try dir.write("in.jsonl", "{\"a\":1}\n")
        // A path that can be written but holds no database: found only when the sink opens it.
        try dir.write("x.db", "not a database, but some text that is long enough to have a header")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            sinks:
              out: { type: sqlite, inputs: [input], path: x.db, table: t }
            """)
        let fatal = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(fatal.status == 1, "stderr: \(fatal.stderr)")
        #expect(fatal.stderr.contains("error: stage 'out'"))
    }

    @Test("SIGINT stops reading, flushes what was read, and exits 130")
    func interrupt() throws {
        let dir = TemporaryDirectory()
        var big = ""
        for n in 0..<400_000 { big += "{\"n\":\(n),\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n" }
        try dir.write("in.jsonl", big)
        try dir.write("rule.lua", "function process(r) for i = 1, 200 do r.k = i end return r end\n")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              slow: { type: lua, inputs: [input], script: rule.lua, workers: 1 }
            sinks:
              out: { type: json, inputs: [slow], path: out.jsonl }
            """)
        let running = try Sluice.start(["run", "p.yaml", "--progress", "never"], in: dir.path)
        // Interrupt once the first records have landed (however slow the machine is).
        try waitFor(dir.file("out.jsonl"), lines: 1)
        running.process.interrupt()
        let result = try running.wait()
        #expect(result.status == 130, "stderr: \(result.stderr)")
        let lines = try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8).lines
        #expect(lines.count > 0 && lines.count < 400_000)
        // Every line written is whole, and they are the first N in order.
        for (k, line) in lines.enumerated() {
            #expect(try JSONReader.parse(line)["n"] == .int(Int64(k)))
            if k > 50 { break }
        }
        #expect(try JSONReader.parse(lines[lines.count - 1])["n"] == .int(Int64(lines.count - 1)))
    }

    @Test("a run that fails before the json sink writes anything leaves its previous output as it was")
    func failedRunKeepsPreviousOutput() throws {
        let dir = TemporaryDirectory()
        try dir.write("in.jsonl", "{\"n\":1}\n")
        try dir.write("out/previous.jsonl", "{\"kept\":true}\n")
        try dir.write("broken.db", String(repeating: "not a database ", count: 100))
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            sinks:
              lines: { type: json, inputs: [input], path: out/previous.jsonl }
              db: { type: sqlite, inputs: [input], path: broken.db, table: t }
            """)
        let result = try Sluice.run(["run", "p.yaml", "--progress", "never"], in: dir.path)
        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("is not an SQLite database"))
        #expect(try String(contentsOfFile: dir.file("out/previous.jsonl"), encoding: .utf8) == "{\"kept\":true}\n")
    }

    @Test("validate refuses a sink that would overwrite the rule script or the config file")
    func sinkOverwritingScriptOrConfig() throws {
        let dir = TemporaryDirectory()
        try dir.write("in.jsonl", "{}\n")
        try dir.write("rule.lua", "function process(r) return r end\n")
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: in.jsonl }
            transforms:
              rule: { type: lua, inputs: [input], script: rule.lua }
            sinks:
              a: { type: json, inputs: [rule], path: rule.lua }
              b: { type: json, inputs: [rule], path: p.yaml }
            """)
        let result = try Sluice.run(["validate", "p.yaml"], in: dir.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("p.yaml:6:42: error: sink 'a': writes rule.lua, which transform 'rule' reads"), "\(result.stderr)")
        #expect(result.stderr.contains("sink 'b': writes p.yaml, which the config file itself reads"), "\(result.stderr)")
        #expect(try String(contentsOfFile: dir.file("rule.lua"), encoding: .utf8) == "function process(r) return r end\n")
    }

    @Test("dead letters that cannot be written (disk full) fail the run with exit 1 and say how many were lost; a blocked folder is refused before the run")
    func unwritableDeadLetters() throws {
        let dir = TemporaryDirectory()
        try dir.write("in.jsonl", "{\"n\":1}\nnot json\n{\"n\":3}\n")
        try dir.write("blocker", "a file where a folder should be")
        for target in ["/dev/full", "blocker/dead.jsonl"] {
            try dir.write("p.yaml", """
                dead_letter: \(target)
                sources:
                  input: { type: json, path: in.jsonl }
                sinks:
                  out: { type: json, inputs: [input], path: out.jsonl }
                """)
            // --full: the second target reads the same input again.
            let result = try Sluice.run(["run", "p.yaml", "--progress", "never", "--full"], in: dir.path)
            if target.hasPrefix("blocker") {
                // A folder that cannot be made is found before the run (exit 2, nothing read).
                #expect(result.status == 2, "\(target): stderr: \(result.stderr)")
                #expect(result.stderr.contains("'dead_letter': cannot write"), "\(target): \(result.stderr)")
                continue
            }
            #expect(result.status == 1, "\(target): stderr: \(result.stderr)")
            #expect(result.stderr.contains("1 dead letter could not be written"), "\(target): \(result.stderr)")
            // The good records were still delivered.
            #expect(try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8).lines == ["{\"n\":1}", "{\"n\":3}"])
        }
    }

    @Test("SIGINT while waiting on a quiet standard input stops the run and keeps the records already read")
    func interruptWhileReadingStandardInput() throws {
        let dir = TemporaryDirectory()
        try dir.write("p.yaml", """
            sources:
              input: { type: json, path: "-" }
            sinks:
              out: { type: json, inputs: [input], path: out.jsonl }
            """)
        let pipe = Pipe()
        let running = try Sluice.start(["run", "p.yaml", "--progress", "never"], in: dir.path, stdinPipe: pipe)
        pipe.fileHandleForWriting.write(Data("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n".utf8))
        // The pipe stays open: the source is blocked reading it when the signal comes.
        try waitFor(dir.file("out.jsonl"), lines: 3)
        running.process.interrupt()
        let result = try running.wait(timeout: 60)
        try? pipe.fileHandleForWriting.close()
        #expect(result.status == 130, "stderr: \(result.stderr)")
        let lines = try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8).lines
        #expect(lines == ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"])
    }

    /// Waits (at most a minute) until `path` holds at least `lines` complete lines.
    private func waitFor(_ path: String, lines: Int) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               text.split(separator: "\n").count >= lines, text.hasSuffix("\n") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("\(path) did not reach \(lines) lines within a minute")
    }
}

@Suite("Docs stay true")
struct DocsTests {
    @Test("docs/stages.md shows exactly what `sluice stages TYPE` prints for every type (run `make docs` after changing options)")
    func stagesReference() throws {
        let doc = try String(contentsOfFile: Sluice.repository + "/docs/stages.md", encoding: .utf8)
        let dir = TemporaryDirectory()
        let list = try Sluice.run(["stages"], in: dir.path)
        let types = Set(list.stdout.lines.filter { $0.hasPrefix("  ") }.compactMap { $0.split(separator: " ").first.map(String.init) })
        #expect(types.count >= 7)
        for type in types {
            let block = try Sluice.run(["stages", type], in: dir.path).stdout
            #expect(doc.contains("## `\(type)`\n\n```\n\(block)```"), "docs/stages.md is stale for \(type)")
        }
    }
}
