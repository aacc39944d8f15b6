import Foundation
import SluiceCore
import SluiceFormats
import Yams

/// The config's `tests:` section.
extension LoadSession {
    mutating func parseTests(_ node: Node?, entries: [StageEntry]) -> [TestCase] {
        guard let node else { return [] }
        guard case .sequence(let seq) = node else {
            if case .scalar(let s) = node, s.string.isEmpty || s.string == "~" || s.string == "null" { return [] }
            report(node, "'tests' must be a list of test cases")
            return []
        }
        let transforms = entries.filter { $0.kind == .transform }.map(\.name)
        var cases: [TestCase] = []
        for (k, item) in seq.enumerated() {
            guard case .mapping(let mapping) = item else { report(item, "test \(k + 1) must be a mapping"); continue }
            var fields: [String: (Node, Value)] = [:]
            var ok = true
            for (kn, vn) in mapping {
                guard let key = scalarKey(kn) else { ok = false; continue }
                guard ConfigLoader.testKeys.contains(key) else {
                    report(kn, "unknown key '\(key)' in a test case\(Suggest.didYouMean(key, in: ConfigLoader.testKeys))")
                    ok = false
                    continue
                }
                guard let v = value(of: vn) else { ok = false; continue }
                fields[key] = (vn, v)
            }
            let label = fields["name"]?.1.stringValue ?? "test \(k + 1)"
            guard case .string(let transform)? = fields["transform"]?.1 else {
                report(fields["transform"]?.0 ?? item, "test '\(label)' must name a 'transform'")
                continue
            }
            if !transforms.contains(transform) {
                report(fields["transform"]?.0, "test '\(label)' names '\(transform)', which is not a transform\(Suggest.didYouMean(transform, in: transforms))")
                ok = false
            }
            var inputs: [Fields] = []
            switch (fields["input"], fields["inputs"]) {
            case (let one?, nil):
                if case .object(let o) = one.1 { inputs = [o] } else { report(one.0, "test '\(label)': 'input' must be a mapping (one record)"); ok = false }
            case (nil, let many?):
                if case .array(let items) = many.1, items.allSatisfy({ $0.objectValue != nil }) {
                    inputs = items.compactMap(\.objectValue)
                } else { report(many.0, "test '\(label)': 'inputs' must be a list of mappings (records)"); ok = false }
            case (_?, _?):
                report(fields["inputs"]?.0, "test '\(label)': give 'input' or 'inputs', not both"); ok = false
            case (nil, nil):
                report(item, "test '\(label)' has no 'input' or 'inputs'"); ok = false
            }
            var expect: [Value] = []
            if let e = fields["expect"] {
                if case .array(let items) = e.1 { expect = items } else { report(e.0, "test '\(label)': 'expect' must be a list of records ([] when all are dropped)"); ok = false }
            } else {
                report(item, "test '\(label)' has no 'expect' (use 'expect: []' when the records must be dropped)"); ok = false
            }
            if ok {
                cases.append(TestCase(name: label, transform: transform, inputs: inputs, expect: expect, position: position(item)))
            }
        }
        return cases
    }
}
