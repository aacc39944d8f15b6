import Foundation
import SluiceCore
import SluiceFormats
import Yams

/// Wiring the graph: every input names a stage, nothing loops, every source is read and
/// every other stage has an input.
extension LoadSession {
    mutating func checkWiring(_ entries: [StageEntry]) {
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let readable = entries.filter { $0.kind != .sink }.map(\.name)
        var readers: [String: Int] = [:]
        for entry in entries where entry.kind != .source {
            var listed: Set<String> = []
            if entry.inputs.isEmpty {
                let why = entry.hasInputsKey ? "has an empty 'inputs' list" : "has no 'inputs'"
                report(entry.nameNode, "\(entry.kind) '\(entry.name)' \(why); it must read at least one source or transform")
            }
            for input in entry.inputs {
                if !listed.insert(input.name).inserted {
                    report(input.node, "\(entry.kind) '\(entry.name)' lists the input '\(input.name)' twice")
                    continue
                }
                guard let target = byName[input.name] else {
                    report(input.node, "\(entry.kind) '\(entry.name)' reads '\(input.name)', which is not defined\(Suggest.didYouMean(input.name, in: readable))")
                    continue
                }
                if target.kind == .sink {
                    report(input.node, "\(entry.kind) '\(entry.name)' reads '\(input.name)', which is a sink; only sources and transforms can be inputs")
                    continue
                }
                readers[input.name, default: 0] += 1
            }
        }
        for entry in entries where entry.kind != .sink && readers[entry.name] == nil {
            let what = entry.kind == .source ? "source" : "transform"
            report(entry.nameNode, "\(what) '\(entry.name)' is not read by any transform or sink; add it to some stage's 'inputs'")
        }
        // Cycles: depth-first search over transform → input edges.
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var stack: [String] = []
        var reported: Set<String> = []
        let order = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        func visit(_ name: String, _ session: inout LoadSession) {
            state[name] = 1
            stack.append(name)
            for input in byName[name]?.inputs ?? [] where byName[input.name]?.kind == .transform {
                switch state[input.name] {
                case 1?:
                    if let start = stack.firstIndex(of: input.name) {
                        let cycle = Array(stack[start...])
                        let key = cycle.sorted().joined(separator: ",")
                        if reported.insert(key).inserted {
                            // Name the cycle in data-flow order (each stage feeds the next), starting
                            // from the stage that comes first in the config.
                            var flow = Array(cycle.reversed())
                            if let first = flow.min(by: { (order[$0] ?? 0) < (order[$1] ?? 0) }),
                               let k = flow.firstIndex(of: first) {
                                flow = Array(flow[k...] + flow[..<k])
                            }
                            let text = (flow + [flow[0]]).joined(separator: " -> ")
                            session.report(input.node, "the pipeline has a cycle: \(text)")
                        }
                    }
                case nil: visit(input.name, &session)
                default: break
                }
            }
            stack.removeLast()
            state[name] = 2
        }
        for entry in entries where entry.kind == .transform && state[entry.name] == nil { visit(entry.name, &self) }
    }
}
