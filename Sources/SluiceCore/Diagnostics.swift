/// A place in a text file: path, 1-based line and column.
public struct SourcePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The file's path as the user gave it.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    /// Creates a position.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COL`.
    public var description: String { "\(file):\(line):\(column)" }

    /// Orders by file, then line, then column.
    public static func < (a: SourcePosition, b: SourcePosition) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

/// One problem found in a config or a script, with its place.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    /// Where the problem is.
    public var position: SourcePosition
    /// What is wrong, and where useful how to fix it.
    public var message: String

    /// Creates a diagnostic.
    public init(_ position: SourcePosition, _ message: String) {
        self.position = position
        self.message = message
    }

    /// `FILE:LINE:COL: error: MESSAGE`, the line `sluice validate` prints.
    public var description: String { "\(position): error: \(message)" }
}

/// A config (or script) that cannot run, with every problem found, in file order.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The problems, sorted by position.
    public var diagnostics: [Diagnostic]

    /// Creates an error from one or more diagnostics.
    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted { $0.position < $1.position }
    }

    /// Creates an error with a single diagnostic.
    public init(_ position: SourcePosition, _ message: String) {
        self.init([Diagnostic(position, message)])
    }

    /// One `FILE:LINE:COL: error: MESSAGE` line per problem.
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A fatal error while a pipeline runs, naming the stage it happened in.
public struct StageError: Error, Sendable, CustomStringConvertible {
    /// The stage's name in the config.
    public var stage: String
    /// What went wrong.
    public var message: String

    /// Creates a stage error.
    public init(stage: String, message: String) {
        self.stage = stage
        self.message = message
    }

    /// `stage 'NAME': MESSAGE`.
    public var description: String { "stage '\(stage)': \(message)" }
}

/// Suggestions for misspelled names.
public enum Suggest {
    /// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
    public static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
        let w = Array(word.lowercased().utf8)
        var best: (String, Int)?
        for candidate in candidates {
            let d = distance(w, Array(candidate.lowercased().utf8))
            if best == nil || d < best!.1 { best = (candidate, d) }
        }
        guard let (name, d) = best else { return nil }
        // Short words only get suggestions for a swap of two letters ("lau" → "lua").
        let limit = w.count < 3 ? 0 : max(1, min(3, (max(w.count, name.count) + 2) / 3))
        return d <= limit ? name : nil
    }

    /// `; did you mean 'x'?` or the empty string.
    public static func didYouMean(_ word: String, in candidates: some Sequence<String>) -> String {
        closest(to: word, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
    }

    /// Damerau–Levenshtein (optimal string alignment) distance.
    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev2 = [Int](repeating: 0, count: b.count + 1)
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    cur[j] = min(cur[j], prev2[j - 2] + 1)
                }
            }
            (prev2, prev, cur) = (prev, cur, prev2)
        }
        return prev[b.count]
    }
}
