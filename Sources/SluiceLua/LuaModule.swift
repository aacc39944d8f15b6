import CLua
import Crypto
import Foundation
import Logging
import SluiceCore
import SluiceFormats

/// The `sluice` module every script sees as a global (and through `require "sluice"`):
///
/// | name | does |
/// | --- | --- |
/// | `sluice.null` | JSON null (`tostring` gives "null"); compare with `==` |
/// | `sluice.array(...)` | a table that stays a JSON array, even empty |
/// | `sluice.log.debug/info/warn/error(...)`, `sluice.log(...)` | the stage's log, with the record's place |
/// | `sluice.json.encode(v [, {pretty=true}])`, `sluice.json.decode(s)` | JSON text (Sluice's own reader and writer) |
/// | `sluice.text.words(s)` / `sentences(s)` / `normalize(s)` | Unicode-aware text helpers |
/// | `sluice.date.parse(text [, zone])` | the first date in text as ISO 8601, or nil |
/// | `sluice.date.format(iso_or_epoch [, format])` | `strftime`-style formatting |
/// | `sluice.hash.sha256(s)` | lower-case hex digest |
/// | `sluice.re.find/match/gmatch/gsub/split/exec` | regular expressions (see `LuaRegex.swift`) |
/// | `sluice.stage`, `sluice.worker` | the stage's name and this state's worker index |
extension LuaEngine {
    func installModule() {
        lua_createtable(L, 0, 16)
        lua_rawgeti(L, luaRegistryIndex, lua_Integer(marshal.nullRef))
        lua_setfield(L, -2, "null")
        pushString(L, settings.stageName)
        lua_setfield(L, -2, "stage")
        lua_pushinteger(L, lua_Integer(workerIndex))
        lua_setfield(L, -2, "worker")
        lua_pushstring(L, "1")
        lua_setfield(L, -2, "version")

        vm.setFunction("array") { [unowned self] t throws(LuaRaise) in
            let n = lua_gettop(t)
            self.marshal.pushEmptyArray(t, capacity: n)
            var i: Int32 = 1
            while i <= n {
                if lua_type(t, i) == LUA_TNIL {
                    lua_rawgeti(t, luaRegistryIndex, lua_Integer(self.marshal.nullRef))
                } else {
                    lua_pushvalue(t, i)
                }
                lua_rawseti(t, -2, lua_Integer(i))
                i += 1
            }
            return 1
        }

        installLog()
        installJSON()
        installText()
        installDate()
        installHash()
        installRegex()

        lua_pushvalue(L, -1)
        lua_setglobal(L, "sluice")
        // print goes to the log: standard output may be the pipeline's own output.
        vm.pushFunction { [unowned self] thread throws(LuaRaise) in
            self.log(thread, level: .info, first: 1)
            return 0
        }
        lua_setglobal(L, "print")
        lua_getfield(L, luaRegistryIndex, "_LOADED")
        lua_pushvalue(L, -2)
        lua_setfield(L, -2, "sluice")
        lua_settop(L, 0)

        emitFunctionRef = makeEmitFunction()
    }

    /// `emit(t)`: one more output record, before the returned one.
    private func makeEmitFunction() -> Int32 {
        vm.pushFunction { [unowned self] t throws(LuaRaise) in
            guard self.emitAllowed else {
                throw .message("emit can only be called while process or finish runs")
            }
            do throws(MarshalError) {
                self.emitted.append(try self.marshal.record(t, at: 1))
            } catch {
                throw .message("emit: \(error.message)")
            }
            return 0
        }
        return luaL_ref(L, luaRegistryIndex)
    }

    // MARK: - log

    private func installLog() {
        lua_createtable(L, 0, 4)
        let levels: [(String, Logger.Level)] = [("debug", .debug), ("info", .info), ("warn", .warning), ("error", .error)]
        for (name, level) in levels {
            vm.setFunction(name) { [unowned self] t throws(LuaRaise) in
                self.log(t, level: level, first: 1)
                return 0
            }
        }
        // sluice.log(...) is sluice.log.info(...).
        lua_createtable(L, 0, 1)
        vm.setFunction("__call") { [unowned self] t throws(LuaRaise) in
            self.log(t, level: .info, first: 2)
            return 0
        }
        lua_setmetatable(L, -2)
        lua_setfield(L, -2, "log")
    }

    /// Logs the arguments from `first` on, joined by spaces, with the stage, the script line and
    /// the record's place in the metadata.
    func log(_ t: OpaquePointer, level: Logger.Level, first: Int32) {
        guard logger.logLevel <= level else { return }
        var parts: [String] = []
        var i = first
        while i <= lua_gettop(t) {
            parts.append(describe(t, i))
            i += 1
        }
        var metadata: Logger.Metadata = ["stage": .string(settings.stageName)]
        if let place = currentOrigin?.location ?? currentOrigin?.source { metadata["record"] = .string(place) }
        var ar = lua_Debug()
        if lua_getstack(t, 1, &ar) != 0, lua_getinfo(t, "Sl", &ar) != 0, ar.currentline > 0 {
            let source = withUnsafeBytes(of: ar.short_src) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            metadata["script"] = .string("\(expandChunkName(source)):\(ar.currentline)")
        }
        logger.log(level: level, "\(parts.joined(separator: " "))", metadata: metadata)
    }

    /// A value as log text: strings as they are, tables as JSON when possible.
    func describe(_ t: OpaquePointer, _ index: Int32) -> String {
        switch lua_type(t, index) {
        case LUA_TSTRING: return stringValue(t, index) ?? ""
        case LUA_TNUMBER:
            if lua_isinteger(t, index) != 0 { return String(lua_tointegerx(t, index, nil)) }
            lua_pushvalue(t, index)
            defer { lua_settop(t, -2) }
            return stringValue(t, -1) ?? ""
        case LUA_TBOOLEAN: return lua_toboolean(t, index) != 0 ? "true" : "false"
        case LUA_TNIL: return "nil"
        case LUA_TTABLE:
            if let value = try? marshal.value(t, at: index) { return JSONWriter.string(value) }
            return "table"
        default:
            if marshal.isNull(t, index) { return "null" }
            return typeName(t, index)
        }
    }

    // MARK: - json

    private func installJSON() {
        lua_createtable(L, 0, 2)
        vm.setFunction("encode") { [unowned self] t throws(LuaRaise) in
            let args = LuaArguments(t, "sluice.json.encode")
            if lua_type(t, 1) == LUA_TNONE { throw args.typeError(1, expected: "value") }
            var pretty = false
            if lua_type(t, 2) == LUA_TTABLE {
                lua_pushstring(t, "pretty")
                _ = lua_rawget(t, 2)
                pretty = lua_toboolean(t, -1) != 0
                lua_settop(t, -2)
            } else if lua_type(t, 2) == LUA_TBOOLEAN {
                pretty = lua_toboolean(t, 2) != 0
            }
            let value: Value
            do throws(MarshalError) {
                value = try self.marshal.value(t, at: 1)
            } catch {
                throw .message("sluice.json.encode: \(error.message)")
            }
            var out: [UInt8] = []
            JSONWriter.write(value, to: &out, pretty: pretty)
            pushBytes(t, out)
            return 1
        }
        vm.setFunction("decode") { [unowned self] t throws(LuaRaise) in
            let bytes = try LuaArguments(t, "sluice.json.decode").bytes(1)
            let value: Value
            do throws(JSONError) {
                value = try JSONReader.parse(UnsafeRawBufferPointer(bytes))
            } catch {
                throw .message("sluice.json.decode: invalid JSON at \(error.description)")
            }
            self.marshal.push(t, value)
            return 1
        }
        lua_setfield(L, -2, "json")
    }

    // MARK: - text

    private func installText() {
        lua_createtable(L, 0, 3)
        vm.setFunction("words") { [unowned self] t throws(LuaRaise) in
            let bytes = try LuaArguments(t, "sluice.text.words").bytes(1)
            let ranges = TextTools.wordRanges(bytes)
            self.marshal.pushEmptyArray(t, capacity: Int32(clamping: ranges.count))
            for (k, r) in ranges.enumerated() {
                pushBytes(t, UnsafeBufferPointer(rebasing: bytes[r]))
                lua_rawseti(t, -2, lua_Integer(k + 1))
            }
            return 1
        }
        vm.setFunction("sentences") { [unowned self] t throws(LuaRaise) in
            let text = try LuaArguments(t, "sluice.text.sentences").string(1)
            let sentences = TextTools.sentences(text)
            self.marshal.pushEmptyArray(t, capacity: Int32(clamping: sentences.count))
            for (k, s) in sentences.enumerated() {
                pushString(t, s)
                lua_rawseti(t, -2, lua_Integer(k + 1))
            }
            return 1
        }
        vm.setFunction("normalize") { t throws(LuaRaise) in
            let text = try LuaArguments(t, "sluice.text.normalize").string(1)
            pushString(t, TextTools.normalize(text))
            return 1
        }
        lua_setfield(L, -2, "text")
    }

    // MARK: - date

    private func installDate() {
        lua_createtable(L, 0, 2)
        vm.setFunction("parse") { t throws(LuaRaise) in
            let args = LuaArguments(t, "sluice.date.parse")
            if lua_type(t, 1) == LUA_TNIL || lua_type(t, 1) == LUA_TNONE { lua_pushnil(t); return 1 }
            let text = try args.string(1)
            let zone = try args.optionalString(2)
            if let zone, !ArticleDates.isKnownZone(zone) {
                throw args.error(2, "unknown time zone '\(zone)'")
            }
            if let iso = ArticleDates.parse(text, defaultTimeZone: zone) {
                pushString(t, iso)
            } else {
                lua_pushnil(t)
            }
            return 1
        }
        vm.setFunction("format") { t throws(LuaRaise) in
            let args = LuaArguments(t, "sluice.date.format")
            let date: ISODateTime
            switch lua_type(t, 1) {
            case LUA_TNUMBER:
                // Years 0000 to 9999 only: beyond that ISO 8601 needs an expanded form, and a
                // huge, infinite or NaN number would overflow the calendar arithmetic.
                let seconds = lua_tonumberx(t, 1, nil)
                guard seconds.isFinite, seconds >= -62_167_219_200, seconds < 253_402_300_800 else {
                    throw args.error(1, "seconds since 1970 out of range (years 0000 to 9999)")
                }
                date = ISODateTime(epochSeconds: seconds)
            case LUA_TSTRING:
                let text = try args.string(1)
                guard let parsed = ISODateTime(text)
                    ?? ArticleDates.parse(text, defaultTimeZone: nil).flatMap({ ISODateTime($0) }) else {
                    throw args.error(1, "not a date: '\(text)'")
                }
                date = parsed
            default:
                throw args.typeError(1, expected: "ISO 8601 string or epoch seconds")
            }
            guard let format = try args.optionalString(2) else {
                pushString(t, date.iso)
                return 1
            }
            do throws(DateFormatError) {
                pushString(t, try date.format(format))
            } catch {
                throw args.error(2, "unknown conversion '\(error.conversion)'")
            }
            return 1
        }
        lua_setfield(L, -2, "date")
    }

    // MARK: - hash

    private func installHash() {
        lua_createtable(L, 0, 1)
        vm.setFunction("sha256") { t throws(LuaRaise) in
            let bytes = try LuaArguments(t, "sluice.hash.sha256").bytes(1)
            pushBytes(t, Hex.utf8(SHA256.hash(data: UnsafeRawBufferPointer(bytes))))
            return 1
        }
        lua_setfield(L, -2, "hash")
    }
}
