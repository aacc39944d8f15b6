/// Where a record came from: the source stage and the place in its input.
///
/// It travels with the record but is not a field; dead letters and error messages use it.
public struct Origin: Sendable, Hashable {
    /// The name of the source stage that produced the record (its key under `sources:`).
    public var source: String
    /// The input file (as the user configured or relative to the source's root), if any.
    public var file: String?
    /// The 1-based line in `file`, if the input is line-oriented.
    public var line: Int?
    /// The 1-based column in `line`, if known (for example where a JSON error was found).
    public var column: Int?
    /// The row id, for a database source.
    public var row: Int64?
    /// The record's place in its source's input, the same on every run over the same input;
    /// `nil` for input that cannot be read again (standard input) and for records made up by
    /// tools. Sinks use it to write each record exactly once (see ``Position``).
    public var position: Position?

    /// Creates an origin.
    public init(source: String, file: String? = nil, line: Int? = nil, column: Int? = nil, row: Int64? = nil,
                position: Position? = nil) {
        self.source = source
        self.file = file
        self.line = line
        self.column = column
        self.row = row
        self.position = position
    }

    /// An origin for records made up inside a stage (tests, `sluice try`, aggregates).
    public static func synthetic(_ name: String) -> Origin { Origin(source: name) }

    /// The place as people write it: `file:line:col`, `file#rowid`, or `file`; `nil` when unknown.
    public var location: String? {
        var text = file ?? ""
        if let line {
            text += text.isEmpty ? "line \(line)" : ":\(line)"
            if let column { text += ":\(column)" }
        }
        if let row { text += text.isEmpty ? "row \(row)" : "#\(row)" }
        return text.isEmpty ? nil : text
    }
}

/// One record: ordered fields plus the metadata of where it came from.
public struct Record: Sendable, Hashable {
    /// The record's fields, in order.
    public var fields: Fields
    /// Where the record came from.
    public var origin: Origin

    /// Creates a record from its fields and origin.
    public init(_ fields: Fields, origin: Origin) {
        self.fields = fields
        self.origin = origin
    }

    /// Reads or writes a field; writing `nil` removes the field.
    public subscript(field: String) -> Value? {
        get { fields[field] }
        set { fields[field] = newValue }
    }

    /// The fields as one object value.
    public var value: Value { .object(fields) }
}
