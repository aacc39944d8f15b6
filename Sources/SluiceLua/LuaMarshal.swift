import CLua
import Foundation
import SluiceCore
import SluiceFormats

/// Why a Lua value could not become a JSON value, and where in the value it was.
struct MarshalError: Error {
    /// What is wrong ("a function value cannot be converted to JSON").
    var problem: String
    /// Field names and 1-based indexes from the outside in.
    var path: [String] = []

    init(_ problem: String) { self.problem = problem }

    /// `field 'meta.tags[2]': PROBLEM` or just the problem.
    var message: String {
        guard !path.isEmpty else { return problem }
        var text = ""
        for part in path.prefix(8) {
            if part.first == "[" { text += part } else { text += text.isEmpty ? part : "." + part }
        }
        if path.count > 8 { text += "..." }
        return "field '\(text)': \(problem)"
    }
}

/// Moves values between Swift (`Value`, `Fields`) and Lua, exactly and cheaply.
///
/// The rules (the Lua side of SPEC §4 and §6):
/// - integers stay integers (`lua_isinteger`), doubles stay doubles;
/// - JSON null is the `sluice.null` sentinel;
/// - tables made from JSON arrays carry the shared array metatable, so an array stays an array
///   even when empty; `sluice.array()` makes one; `getmetatable(t)` answers `"sluice.array"`;
/// - tables made from JSON objects carry the shared object metatable (`"sluice.object"`),
///   whose `__newindex` notes new keys in the order they are first assigned;
/// - a table the script made itself is an array when its keys are exactly 1..n, else an object
///   (an empty `{}` is an object) whose keys come back **sorted**, because Lua's hash order is
///   randomized per process and sorted keys keep the output deterministic;
/// - an object that came from Swift comes back with its original keys in their original order,
///   then the keys the script added, in the order it first assigned them.
///
/// Cheapness (the boundary is a measured 2.8–4.6 µs per 1.8 KB record, `make bench BENCH=lua`): metatables and the null sentinel are made once per state; when a
/// string read back has the same bytes as the string Swift pushed there (same length and
/// `memcmp`), the original Swift `String` is reused instead of decoding and validating UTF-8
/// again; keys read from Lua are cached by the address of the interned Lua string, which is kept
/// alive in an anchor table so the address cannot be reused.
final class LuaMarshal {
    /// Registry references of the shared objects.
    let nullRef: Int32
    let objectMetaRef: Int32
    let arrayMetaRef: Int32
    let newKeysRef: Int32
    private let anchorsRef: Int32
    /// Their addresses, for cheap identity tests (they live as long as the state).
    let nullPointer: UnsafeRawPointer?
    private let objectMetaPointer: UnsafeRawPointer?
    private let arrayMetaPointer: UnsafeRawPointer?

    /// What Swift pushed for each container table of the current call, by table address.
    private enum Original { case object(Fields), array([Value]) }
    private var originals = PointerMap<Original>()
    /// Long strings Swift pushed in the current call, by the Lua string's address.
    private var longStrings = PointerMap<String>()
    /// Decoded keys by the address of their anchored Lua string.
    private var keyCache: [UnsafeRawPointer: String] = [:]
    private var anchored: Int32 = 0

    /// Deepest nesting converted either way. Deeper input is not silently cut: pushing it sets
    /// ``truncated`` and the caller fails the record.
    static let maxDepth = 1000
    /// Whether a push in this call met a value nested deeper than ``maxDepth`` (and pushed
    /// `null` in its place); the caller must fail the call rather than run on altered data.
    private(set) var truncated = false
    /// Strings at least this long are remembered for reuse wherever they come back.
    static let longStringThreshold = 128
    /// Most keys kept in the key cache (each holds a small Lua string alive).
    static let maxCachedKeys: Int32 = 8192

    /// Makes the shared objects in `L`.
    init(_ L: OpaquePointer) {
        // New keys of Swift objects: weak-keyed table  object -> { key1, key2, ... }.
        lua_createtable(L, 0, 0)
        lua_createtable(L, 0, 1)
        lua_pushstring(L, "k")
        lua_setfield(L, -2, "__mode")
        lua_setmetatable(L, -2)
        lua_pushvalue(L, -1)
        newKeysRef = luaL_ref(L, luaRegistryIndex)

        lua_createtable(L, 0, 2)
        lua_pushvalue(L, -2)
        lua_pushcclosure(L, sluice_object_newindex, 1)
        lua_setfield(L, -2, "__newindex")
        lua_pushstring(L, "sluice.object")
        lua_setfield(L, -2, "__metatable")
        objectMetaPointer = lua_topointer(L, -1)
        objectMetaRef = luaL_ref(L, luaRegistryIndex)
        lua_settop(L, -2)

        lua_createtable(L, 0, 2)
        lua_pushcclosure(L, sluice_array_newindex, 0)
        lua_setfield(L, -2, "__newindex")
        lua_pushstring(L, "sluice.array")
        lua_setfield(L, -2, "__metatable")
        arrayMetaPointer = lua_topointer(L, -1)
        arrayMetaRef = luaL_ref(L, luaRegistryIndex)

        _ = lua_newuserdatauv(L, 0, 0)
        lua_createtable(L, 0, 3)
        lua_pushcclosure(L, sluice_null_tostring, 0)
        lua_setfield(L, -2, "__tostring")
        lua_pushstring(L, "sluice.null")
        lua_setfield(L, -2, "__name")
        lua_pushstring(L, "sluice.null")
        lua_setfield(L, -2, "__metatable")
        lua_setmetatable(L, -2)
        nullPointer = lua_topointer(L, -1)
        nullRef = luaL_ref(L, luaRegistryIndex)

        lua_createtable(L, 64, 0)
        anchorsRef = luaL_ref(L, luaRegistryIndex)
    }

    /// Forgets what was pushed in the previous call.
    func beginCall() {
        originals.removeAll()
        longStrings.removeAll()
        truncated = false
    }

    // MARK: - Swift to Lua

    /// Pushes a value.
    func push(_ L: OpaquePointer, _ value: Value, depth: Int = 0) {
        switch value {
        case .null: lua_rawgeti(L, luaRegistryIndex, lua_Integer(nullRef))
        case .bool(let b): lua_pushboolean(L, b ? 1 : 0)
        case .int(let i): lua_pushinteger(L, i)
        case .double(let d): lua_pushnumber(L, d)
        case .string(let s): push(L, string: s)
        case .array(let items): push(L, array: items, depth: depth)
        case .object(let fields): push(L, object: fields, depth: depth)
        }
    }

    /// Pushes a string, remembering long ones for reuse.
    @inline(__always)
    func push(_ L: OpaquePointer, string s: String) {
        pushString(L, s)
        if s.utf8.count >= LuaMarshal.longStringThreshold, let bytes = lua_tolstring(L, -1, nil) {
            longStrings.set(UnsafeRawPointer(bytes), s)
        }
    }

    /// Pushes an object as a table with the object metatable.
    func push(_ L: OpaquePointer, object fields: Fields, depth: Int = 0) {
        guard depth < LuaMarshal.maxDepth, lua_checkstack(L, 4) != 0 else {
            truncated = true
            lua_rawgeti(L, luaRegistryIndex, lua_Integer(nullRef))
            return
        }
        lua_createtable(L, 0, Int32(clamping: fields.count))
        // Walks the key and value storage directly: iterating the dictionary copies (retains
        // and releases) every key and value, a measured third of the boundary's cost.
        fields.keys.elements.withUnsafeBufferPointer { keys in
            fields.values.elements.withUnsafeBufferPointer { values in
                for i in 0..<keys.count {
                    pushString(L, keys[i])
                    push(L, values[i], depth: depth + 1)
                    lua_rawset(L, -3)
                }
            }
        }
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(objectMetaRef))
        lua_setmetatable(L, -2)
        if let p = lua_topointer(L, -1) { originals.set(p, .object(fields)) }
    }

    /// Pushes an array as a table with the array metatable.
    func push(_ L: OpaquePointer, array items: [Value], depth: Int = 0) {
        guard depth < LuaMarshal.maxDepth, lua_checkstack(L, 4) != 0 else {
            truncated = true
            lua_rawgeti(L, luaRegistryIndex, lua_Integer(nullRef))
            return
        }
        lua_createtable(L, Int32(clamping: items.count), 0)
        items.withUnsafeBufferPointer { buffer in
            for k in 0..<buffer.count {
                push(L, buffer[k], depth: depth + 1)
                lua_rawseti(L, -2, lua_Integer(k + 1))
            }
        }
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(arrayMetaRef))
        lua_setmetatable(L, -2)
        if let p = lua_topointer(L, -1) { originals.set(p, .array(items)) }
    }

    /// Pushes a new empty table marked as an array.
    func pushEmptyArray(_ L: OpaquePointer, capacity: Int32 = 0) {
        lua_createtable(L, capacity, 0)
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(arrayMetaRef))
        lua_setmetatable(L, -2)
    }

    /// Marks the table on the stack top as an array.
    func markArray(_ L: OpaquePointer) {
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(arrayMetaRef))
        lua_setmetatable(L, -2)
    }

    // MARK: - Lua to Swift

    /// Whether the value at `index` is `sluice.null`.
    @inline(__always)
    func isNull(_ L: OpaquePointer, _ index: Int32) -> Bool {
        lua_type(L, index) == LUA_TUSERDATA && lua_topointer(L, index) == nullPointer
    }

    /// The kind of a table, from its metatable.
    enum TableKind { case swiftObject, array, plain }

    /// The kind of the table at `index`.
    func tableKind(_ L: OpaquePointer, _ index: Int32) -> TableKind {
        guard lua_getmetatable(L, index) != 0 else { return .plain }
        let meta = lua_topointer(L, -1)
        lua_settop(L, -2)
        if meta == objectMetaPointer { return .swiftObject }
        if meta == arrayMetaPointer { return .array }
        return .plain
    }

    /// Reads the value at `index`. `hint` is what Swift pushed there, if known: a string with
    /// the same bytes is reused as it is.
    func value(_ L: OpaquePointer, at index: Int32, hint: Value? = nil, depth: Int = 0) throws(MarshalError) -> Value {
        var same = false
        return try value(L, at: index, hint: hint, depth: depth, same: &same)
    }

    /// Reads the value at `index`; `same` tells whether it equals `hint` (then `hint` itself is
    /// returned, so an unchanged record costs no rebuilding).
    func value(_ L: OpaquePointer, at index: Int32, hint: Value?, depth: Int, same: inout Bool) throws(MarshalError) -> Value {
        let index = lua_absindex(L, index)
        same = false
        switch lua_type(L, index) {
        case LUA_TNIL:
            return .null
        case LUA_TBOOLEAN:
            let b = lua_toboolean(L, index) != 0
            if case .bool(let h)? = hint, h == b { same = true; return .bool(b) }
            return .bool(b)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 {
                let i = lua_tointegerx(L, index, nil)
                if case .int(let h)? = hint, h == i { same = true }
                return .int(i)
            }
            let d = lua_tonumberx(L, index, nil)
            if case .double(let h)? = hint, h.bitPattern == d.bitPattern { same = true }
            return .double(d)
        case LUA_TSTRING:
            var length = 0
            guard let p = lua_tolstring(L, index, &length) else { return .string("") }
            let bytes = UnsafeRawPointer(p)
            if case .string(let original)? = hint, sameBytes(original, bytes, length) {
                same = true
                return hint ?? .string(original)
            }
            return .string(string(L, at: index, hint: nil))
        case LUA_TTABLE:
            return try table(L, at: index, hint: hint, depth: depth, same: &same)
        case LUA_TUSERDATA where lua_topointer(L, index) == nullPointer:
            if case .null? = hint { same = true }
            return .null
        default:
            throw MarshalError("a \(typeName(L, index)) value cannot be converted to JSON")
        }
    }

    /// Reads the string at `index` (a string, not a number), reusing a Swift original when the
    /// bytes are the same.
    @inline(__always)
    func string(_ L: OpaquePointer, at index: Int32, hint: Value?) -> String {
        var length = 0
        guard let p = lua_tolstring(L, index, &length) else { return "" }
        let bytes = UnsafeRawPointer(p)
        if case .string(let original)? = hint, sameBytes(original, bytes, length) { return original }
        if length >= LuaMarshal.longStringThreshold, let original = longStrings.get(bytes),
           sameBytes(original, bytes, length) {
            return original
        }
        // Checked once (UTF8Text: ASCII eight bytes at a time) and repaired by the standard
        // library only when not valid UTF-8 (a rule may build any bytes).
        let units = UnsafeBufferPointer(start: bytes.assumingMemoryBound(to: UInt8.self), count: length)
        return UTF8Text.string(validating: units) ?? String(decoding: units, as: UTF8.self)
    }

    @inline(__always)
    private func sameBytes(_ s: String, _ bytes: UnsafeRawPointer, _ length: Int) -> Bool {
        let utf8 = s.utf8
        guard utf8.count == length else { return false }
        if length == 0 { return true }
        return utf8.withContiguousStorageIfAvailable { buf in
            guard let base = buf.baseAddress else { return false }
            return memcmp(base, bytes, length) == 0
        } ?? false
    }

    /// Reads a table: an array or an object, by the rules above.
    func table(_ L: OpaquePointer, at index: Int32, depth: Int) throws(MarshalError) -> Value {
        var same = false
        return try table(L, at: index, hint: nil, depth: depth, same: &same)
    }

    private func table(_ L: OpaquePointer, at index: Int32, hint: Value?, depth: Int, same: inout Bool) throws(MarshalError) -> Value {
        same = false
        guard depth < LuaMarshal.maxDepth, lua_checkstack(L, 8) != 0 else {
            throw MarshalError("tables nested more than \(LuaMarshal.maxDepth) levels deep (does a table contain itself?)")
        }
        switch tableKind(L, index) {
        case .swiftObject:
            if let p = lua_topointer(L, index), case .object(let fields)? = originals.get(p) {
                // An unchanged table gives back the original storage; it counts as "changed" for
                // the parent only because proving it is the same value as the hint would cost a
                // deep comparison (the parent then stores it, which copies nothing).
                var unchanged = false
                return .object(try swiftObject(L, at: index, original: fields, depth: depth, unchanged: &unchanged))
            }
            return try plainTable(L, at: index, depth: depth)
        case .array:
            var original: [Value]?
            if let p = lua_topointer(L, index), case .array(let items)? = originals.get(p) { original = items }
            var unchanged = false
            return .array(try array(L, at: index, original: original, depth: depth, unchanged: &unchanged))
        case .plain:
            return try plainTable(L, at: index, depth: depth)
        }
    }

    /// Reads a table that must be an object (a record): the returned or emitted table.
    func record(_ L: OpaquePointer, at index: Int32) throws(MarshalError) -> Fields {
        let index = lua_absindex(L, index)
        guard lua_type(L, index) == LUA_TTABLE else {
            let got = lua_type(L, index) == LUA_TNONE ? "nothing" : "a \(typeName(L, index)) value"
            throw MarshalError("a record must be a table, not \(got)")
        }
        if tableKind(L, index) == .swiftObject, let p = lua_topointer(L, index), case .object(let fields)? = originals.get(p) {
            var unchanged = false
            return try swiftObject(L, at: index, original: fields, depth: 0, unchanged: &unchanged)
        }
        switch try table(L, at: index, depth: 0) {
        case .object(let fields): return fields
        default: throw MarshalError("a record must be a table with named fields, not an array")
        }
    }

    /// Reads an array table; `original` is what Swift pushed for it, if anything. `unchanged`
    /// tells whether the result is exactly `original`.
    private func array(_ L: OpaquePointer, at t: Int32, original: [Value]?, depth: Int,
                       unchanged: inout Bool) throws(MarshalError) -> [Value] {
        let n = Int(lua_rawlen(L, t))
        var out: [Value] = []
        var allSame = original?.count == n
        out.reserveCapacity(n)
        var i = 1
        while i <= n {
            lua_rawgeti(L, t, lua_Integer(i))
            let hint = original.flatMap { i - 1 < $0.count ? $0[i - 1] : nil }
            var same = false
            do {
                out.append(try value(L, at: -1, hint: hint, depth: depth + 1, same: &same))
            } catch {
                var e = error
                e.path.insert("[\(i)]", at: 0)
                throw e
            }
            if !same { allSame = false }
            lua_settop(L, -2)
            i += 1
        }
        unchanged = allSame
        if allSame, let original { return original }
        return out
    }

    /// Reads an object that came from Swift: the original keys in order (values replaced only
    /// where they changed, so an untouched record is the original `Fields`, not a rebuilt one),
    /// then the keys the script added, in the order it first assigned them.
    private func swiftObject(_ L: OpaquePointer, at t: Int32, original: Fields, depth: Int,
                             unchanged: inout Bool) throws(MarshalError) -> Fields {
        var out = original
        var removed: [Int] = []
        var allSame = true
        try original.keys.elements.withUnsafeBufferPointer { (keys) throws(MarshalError) in
            try original.values.elements.withUnsafeBufferPointer { (hints) throws(MarshalError) in
                for i in 0..<keys.count {
                    pushString(L, keys[i])
                    if lua_rawget(L, t) == LUA_TNIL {
                        removed.append(i)
                        allSame = false
                    } else {
                        var same = false
                        do throws(MarshalError) {
                            let v = try value(L, at: -1, hint: hints[i], depth: depth + 1, same: &same)
                            if !same {
                                out.values[i] = v
                                allSame = false
                            }
                        } catch {
                            var e = error
                            e.path.insert(keys[i], at: 0)
                            throw e
                        }
                    }
                    lua_settop(L, -2)
                }
            }
        }
        for i in removed.reversed() { out.remove(at: i) }
        // Keys the script added, in the order it first assigned them.
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(newKeysRef))
        lua_pushvalue(L, t)
        if lua_rawget(L, -2) == LUA_TTABLE {
            let list = lua_gettop(L)
            let n = lua_rawlen(L, list)
            var i: lua_Integer = 1
            while i <= lua_Integer(n) {
                lua_rawgeti(L, list, i)
                let keyIndex = lua_gettop(L)
                let key = try objectKey(L, at: keyIndex)
                if original[key] == nil && out[key] == nil {
                    lua_pushvalue(L, keyIndex)
                    if lua_rawget(L, t) != LUA_TNIL {
                        do {
                            out[key] = try value(L, at: -1, depth: depth + 1)
                            allSame = false
                        } catch {
                            var e = error
                            e.path.insert(key, at: 0)
                            throw e
                        }
                    }
                }
                lua_settop(L, keyIndex - 1)
                i += 1
            }
        }
        lua_settop(L, -3)
        unchanged = allSame
        return out
    }

    private enum PlainKey { case index(lua_Integer), name(String) }

    private func plainTable(_ L: OpaquePointer, at t: Int32, depth: Int) throws(MarshalError) -> Value {
        var entries: [(key: PlainKey, value: Value)] = []
        var sequence = true
        var maxIndex: lua_Integer = 0
        lua_pushnil(L)
        while lua_next(L, t) != 0 {
            let key: PlainKey
            if lua_type(L, -2) == LUA_TNUMBER && lua_isinteger(L, -2) != 0 {
                let i = lua_tointegerx(L, -2, nil)
                key = .index(i)
                if i < 1 { sequence = false } else if i > maxIndex { maxIndex = i }
            } else {
                key = .name(try objectKey(L, at: -2))
                sequence = false
            }
            do {
                entries.append((key, try value(L, at: -1, depth: depth + 1)))
            } catch {
                var e = error
                switch key {
                case .index(let i): e.path.insert("[\(i)]", at: 0)
                case .name(let n): e.path.insert(n, at: 0)
                }
                lua_settop(L, t)
                throw e
            }
            lua_settop(L, -2)
        }
        if entries.isEmpty { return .object([:]) }
        if sequence && maxIndex == lua_Integer(entries.count) {
            var items = [Value](repeating: .null, count: entries.count)
            for entry in entries {
                if case .index(let i) = entry.key { items[Int(i) - 1] = entry.value }
            }
            return .array(items)
        }
        // An object made by the script: keys sorted, so output does not depend on Lua's
        // per-process hash order. A name beats an index that prints the same ("1" vs 1).
        var named: [(key: String, isName: Bool, value: Value)] = entries.map { entry in
            switch entry.key {
            case .index(let i): return (String(i), false, entry.value)
            case .name(let n): return (n, true, entry.value)
            }
        }
        named.sort { a, b in a.key != b.key ? a.key < b.key : (a.isName && !b.isName) }
        var fields = Fields(minimumCapacity: named.count)
        for item in named where fields[item.key] == nil { fields[item.key] = item.value }
        return .object(fields)
    }

    /// The JSON key for the Lua key at `index` (a string or a number; numbers print as Lua
    /// prints them). Short string keys are cached by the address of their anchored Lua string.
    private func objectKey(_ L: OpaquePointer, at index: Int32) throws(MarshalError) -> String {
        switch lua_type(L, index) {
        case LUA_TSTRING:
            var length = 0
            guard let p = lua_tolstring(L, index, &length) else { return "" }
            let address = UnsafeRawPointer(p)
            if let cached = keyCache[address] { return cached }
            let key = String(decoding: UnsafeRawBufferPointer(start: address, count: length), as: UTF8.self)
            // Short strings are interned in Lua 5.4 (LUAI_MAXSHORTLEN 40): one object per text.
            if length <= 40 && anchored < LuaMarshal.maxCachedKeys {
                lua_rawgeti(L, luaRegistryIndex, lua_Integer(anchorsRef))
                lua_pushvalue(L, index)
                anchored += 1
                lua_rawseti(L, -2, lua_Integer(anchored))
                lua_settop(L, -2)
                keyCache[address] = key
            }
            return key
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return String(lua_tointegerx(L, index, nil)) }
            let d = lua_tonumberx(L, index, nil)
            return d.description
        default:
            throw MarshalError("a \(typeName(L, index)) cannot be a JSON object key (keys must be strings)")
        }
    }
}

/// A map from addresses to values for the few tables and strings of one call: a list scanned
/// from the newest entry while small (no hashing: most records have one table), indexed by a
/// dictionary once it grows. A later entry for the same address wins (an address reused after
/// the earlier object was collected).
struct PointerMap<Element> {
    private var entries: [(address: UnsafeRawPointer, value: Element)] = []
    private var index: [UnsafeRawPointer: Int]?
    private static var indexThreshold: Int { 16 }

    /// Records `value` for `address`.
    mutating func set(_ address: UnsafeRawPointer, _ value: Element) {
        entries.append((address, value))
        if index != nil {
            index?[address] = entries.count - 1
        } else if entries.count > PointerMap.indexThreshold {
            var built: [UnsafeRawPointer: Int] = [:]
            for (i, entry) in entries.enumerated() { built[entry.address] = i }
            index = built
        }
    }

    /// The latest value recorded for `address`.
    func get(_ address: UnsafeRawPointer) -> Element? {
        if let index { return index[address].map { entries[$0].value } }
        var i = entries.count - 1
        while i >= 0 {
            if entries[i].address == address { return entries[i].value }
            i -= 1
        }
        return nil
    }

    /// Forgets everything, keeping the storage.
    mutating func removeAll() {
        if !entries.isEmpty { entries.removeAll(keepingCapacity: true) }
        index = nil
    }
}
