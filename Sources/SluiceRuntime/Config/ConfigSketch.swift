import Foundation
import SluiceCore
import Yams

/// The drawing of a pipeline's stages and wiring (`sluice graph`): of a loaded ``Pipeline``, or
/// of a config read as leniently as possible, for drawing a config that does not validate (`sluice graph` of an invalid config): whatever has a name is a node, every
/// `inputs` entry an edge. Problems are marked on the drawing instead of stopping it: an unknown
/// or missing stage type, an input that names no stage (drawn as a dashed "missing" node), and
/// the edges of every cycle (drawn in red).
public struct ConfigSketch: Sendable {
    /// One stage as written.
    public struct Node: Sendable, Equatable {
        /// The stage's name.
        public var name: String
        /// Its section.
        public var kind: StageKind
        /// Its `type`, when it has one.
        public var type: String?
        /// Its `inputs`.
        public var inputs: [String]
        /// What is wrong with the stage itself (its type), if anything.
        public var problem: String?
    }

    /// The stages, sources then transforms then sinks, each in config order.
    public var nodes: [Node]
    /// The edges (input → stage) that are part of a cycle.
    public var cycleEdges: Set<[String]>
    /// Inputs that name no stage.
    public var missing: [String]

    /// The drawing of a pipeline that loaded: every stage as it is wired, nothing to mark.
    public init(_ pipeline: Pipeline) {
        nodes = pipeline.stages.map { Node(name: $0.name, kind: $0.kind, type: $0.type, inputs: $0.inputs, problem: nil) }
        cycleEdges = []
        missing = []
    }

    /// Reads `yaml` leniently; nil when it is not YAML at all or has no stage sections.
    public init?(yaml text: String, registry: StageRegistry) {
        guard let root = try? Yams.compose(yaml: text), let top = root.mapping else { return nil }
        var nodes: [Node] = []
        for kind in [StageKind.source, .transform, .sink] {
            guard let section = top[kind.section]?.mapping else { continue }
            for (key, body) in section {
                guard let name = key.string else { continue }
                let type = body.mapping?["type"]?.string
                var inputs: [String] = []
                if let list = body.mapping?["inputs"] {
                    if let items = list.sequence { inputs = items.compactMap(\.string) } else if let one = list.string { inputs = [one] }
                }
                var problem: String?
                if let type {
                    if registry.descriptor(kind, type) == nil { problem = "unknown \(kind.rawValue) type '\(type)'" }
                } else {
                    problem = "no type"
                }
                nodes.append(Node(name: name, kind: kind, type: type, inputs: inputs, problem: problem))
            }
        }
        guard !nodes.isEmpty else { return nil }
        self.nodes = nodes
        let names = Set(nodes.map(\.name))
        var missing: [String] = []
        for node in nodes { for input in node.inputs where !names.contains(input) && !missing.contains(input) { missing.append(input) } }
        self.missing = missing
        self.cycleEdges = Self.cycleEdges(nodes)
    }

    /// Edges inside a strongly connected component (Tarjan), plus self-loops: exactly the edges
    /// that lie on some cycle.
    static func cycleEdges(_ nodes: [Node]) -> Set<[String]> {
        var successors: [String: [String]] = [:]
        for node in nodes { for input in node.inputs { successors[input, default: []].append(node.name) } }
        var index = 0
        var indices: [String: Int] = [:]
        var lowlink: [String: Int] = [:]
        var stack: [String] = []
        var onStack: Set<String> = []
        var component: [String: Int] = [:]
        var components = 0
        func connect(_ v: String) {
            indices[v] = index
            lowlink[v] = index
            index += 1
            stack.append(v)
            onStack.insert(v)
            for w in successors[v] ?? [] {
                if indices[w] == nil {
                    connect(w)
                    lowlink[v] = min(lowlink[v] ?? 0, lowlink[w] ?? 0)
                } else if onStack.contains(w) {
                    lowlink[v] = min(lowlink[v] ?? 0, indices[w] ?? 0)
                }
            }
            if lowlink[v] == indices[v] {
                while let w = stack.popLast() {
                    onStack.remove(w)
                    component[w] = components
                    if w == v { break }
                }
                components += 1
            }
        }
        for node in nodes where indices[node.name] == nil { connect(node.name) }
        var edges: Set<[String]> = []
        for node in nodes {
            for input in node.inputs where input == node.name
                || (component[input] != nil && component[input] == component[node.name]) {
                edges.insert([input, node.name])
            }
        }
        return edges
    }

    /// Graphviz DOT: problems in red (stages with a bad type, cycle edges), missing inputs as
    /// dashed red nodes.
    public func dot() -> String {
        func quote(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
        var lines = ["digraph sluice {", "  rankdir=LR;"]
        for node in nodes {
            let shape = node.kind == .source ? "invhouse" : node.kind == .sink ? "house" : "box"
            var label = "\(node.name)\n(\(node.type ?? "no type"))"
            var style = ""
            if let problem = node.problem {
                label += "\n\(problem)"
                style = ", color=red, fontcolor=red"
            }
            lines.append("  \(quote(node.name)) [shape=\(shape), label=\(quote(label))\(style)];")
        }
        for name in missing {
            lines.append("  \(quote(name)) [shape=box, style=dashed, color=red, fontcolor=red, label=\(quote("\(name)\n(no such stage)"))];")
        }
        for node in nodes {
            for input in node.inputs {
                let cycle = cycleEdges.contains([input, node.name])
                lines.append("  \(quote(input)) -> \(quote(node.name))\(cycle ? " [color=red, penwidth=2, label=\"cycle\", fontcolor=red]" : "");")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// A Mermaid flowchart with the same marks (red classes, `cycle` edge labels).
    public func mermaid() -> String {
        var ids: [String: String] = [:]
        for (k, node) in nodes.enumerated() where ids[node.name] == nil { ids[node.name] = "n\(k)" }
        for (k, name) in missing.enumerated() { ids[name] = "m\(k)" }
        var lines = ["flowchart LR"]
        var red: [String] = []
        for node in nodes {
            var label = "\(node.name)<br/>(\(node.type ?? "no type"))"
            if let problem = node.problem { label += "<br/>\(problem)" }
            label = label.replacingOccurrences(of: "\"", with: "#quot;")
            let id = ids[node.name] ?? node.name
            switch node.kind {
            case .source: lines.append("  \(id)[/\"\(label)\"/]")
            case .transform: lines.append("  \(id)[\"\(label)\"]")
            case .sink: lines.append("  \(id)[(\"\(label)\")]")
            }
            if node.problem != nil { red.append(id) }
        }
        for name in missing {
            let id = ids[name] ?? name
            lines.append("  \(id)[\"\(name.replacingOccurrences(of: "\"", with: "#quot;"))<br/>(no such stage)\"]")
            red.append(id)
        }
        var edge = 0
        var redEdges: [Int] = []
        for node in nodes {
            for input in node.inputs {
                let cycle = cycleEdges.contains([input, node.name])
                lines.append("  \(ids[input] ?? input) -->\(cycle ? "|cycle|" : "") \(ids[node.name] ?? node.name)")
                if cycle { redEdges.append(edge) }
                edge += 1
            }
        }
        if !red.isEmpty {
            lines.append("  classDef problem stroke:#d00,color:#d00,stroke-dasharray:4")
            lines.append("  class \(red.joined(separator: ",")) problem")
        }
        if !redEdges.isEmpty {
            lines.append("  linkStyle \(redEdges.map(String.init).joined(separator: ",")) stroke:#d00,stroke-width:2px")
        }
        return lines.joined(separator: "\n")
    }
}
