import ArgumentParser
import SluiceCore
import SluiceRuntime

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the `tests:` cases declared in the config.",
        discussion: "Each case feeds records to one transform and compares what comes out. Exit 0 when all pass, 1 otherwise.")

    @Argument(help: "The pipeline config (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var config: String

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let pipeline = try loadPipeline(config, workers: 1)
        var passed = 0
        var failed = 0
        for outcome in TestCaseRunner.run(pipeline) {
            if outcome.passed {
                passed += 1
                print("PASS  \(outcome.test.name)")
                continue
            }
            failed += 1
            print("FAIL  \(outcome.test.name)  (\(outcome.test.position))")
            for problem in outcome.problems { print("      - \(problem)") }
            print("      expected:")
            print(indent(JSONWriter.string(.array(outcome.test.expect), pretty: true), by: 8))
            print("      actual:")
            print(indent(JSONWriter.string(.array(outcome.actual.map(Value.object)), pretty: true), by: 8))
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(ExitStatus.fatal) }
    }

    private func indent(_ text: String, by n: Int) -> String {
        let pad = String(repeating: " ", count: n)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { pad + $0 }.joined(separator: "\n")
    }
}
