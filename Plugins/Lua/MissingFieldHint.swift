import SluiceCore
import SluiceLua

extension LuaFailure {
    /// The same failure, told which field was nil when the failing line reads a field of
    /// `record` that the record does not have: `attempt to compare number with nil` becomes
    /// `… (record.wordcount is nil: the record has no field 'wordcount'; did you mean
    /// 'word_count'?)`. Lua's own message names no field for comparisons and calls.
    func explainingMissingFields(in fields: Fields) -> LuaFailure {
        guard kind == .script, message.contains("nil"), let line = scriptLine else { return self }
        var missing: [String] = []
        for name in Self.fieldsRead(in: line) where fields[name] == nil && !missing.contains(name) {
            missing.append(name)
        }
        guard let name = missing.first else { return self }
        var hint = " (record.\(name) is nil: the record has no field '\(name)'"
        if let guess = Suggest.closest(to: name, in: fields.keys) { hint += "; did you mean '\(guess)'?" }
        hint += ")"
        return LuaFailure(kind: kind, message: message + hint, scriptLine: scriptLine, traceback: traceback)
    }

    /// The names in `record.NAME` and `record["NAME"]` that the line reads (not the ones it only
    /// assigns: `record.NAME = …`).
    static func fieldsRead(in line: String) -> [String] {
        var names: [String] = []
        let chars = Array(line)
        var i = 0
        let prefix = Array("record")
        func isNameChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        while i + prefix.count < chars.count {
            let startsWord = i == 0 || !isNameChar(chars[i - 1])
            guard startsWord, Array(chars[i..<i + prefix.count]) == prefix else { i += 1; continue }
            var j = i + prefix.count
            var name = ""
            if j < chars.count, chars[j] == "." {
                j += 1
                while j < chars.count, isNameChar(chars[j]) { name.append(chars[j]); j += 1 }
            } else if j < chars.count, chars[j] == "[" {
                var k = j + 1
                while k < chars.count, chars[k] == " " { k += 1 }
                if k < chars.count, chars[k] == "\"" || chars[k] == "'" {
                    let quote = chars[k]
                    k += 1
                    while k < chars.count, chars[k] != quote { name.append(chars[k]); k += 1 }
                    j = k + 1
                    while j < chars.count, chars[j] == " " || chars[j] == "]" { j += 1 }
                }
            }
            // `record.x = …` assigns (but `record.x == …` compares).
            var k = j
            while k < chars.count, chars[k] == " " { k += 1 }
            let assigns = k < chars.count && chars[k] == "=" && (k + 1 >= chars.count || chars[k + 1] != "=")
            if !name.isEmpty && !assigns { names.append(name) }
            i = max(j, i + 1)
        }
        return names
    }
}
