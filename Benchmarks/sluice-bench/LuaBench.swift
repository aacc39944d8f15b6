import Foundation
import Logging
import SluiceCore
import SluiceFormats
import SluiceLua

/// Measures the Lua engine on one core with article-like records (FACTS.md: id, url, section,
/// title, published, author and a ~1,500-character body): the cost of the Lua boundary
/// (`return record`), a realistic rule, a filter condition, the instruction hook's overhead,
/// what a real rule spends of the instruction budget, and how long the default budget lets a
/// runaway loop run.
enum LuaBench {
    static func run() throws {
        let count = Int(ProcessInfo.processInfo.environment["LUA_BENCH_RECORDS"] ?? "") ?? 50_000
        let records = makeRecords(count)
        let bytes = records.reduce(0) { total, record in
            var out: [UInt8] = []
            JSONWriter.write(record.fields, to: &out)
            return total + out.count
        }
        print("Lua engine, one thread, \(count) records of \(bytes / count) bytes of JSON each")
        let folder = NSTemporaryDirectory() + "sluice-lua-bench-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        let trivial = "function process(record) return record end"
        let rule = """
            function process(record, emit)
              local money = {}
              for amount, unit in string.gmatch(record.body, "%$([%d%.,]+)%s*(%a*)") do
                money[#money + 1] = { text = "$" .. amount .. (unit ~= "" and (" " .. unit) or ""), unit = unit }
              end
              record.money = money
              record.word_count = #sluice.text.words(record.body)
              record.title = string.upper(record.title)
              return record
            end
            """
        let loopy = """
            function process(record)
              local n = 0
              for i = 1, #record.body do
                if string.byte(record.body, i) == 32 then n = n + 1 end
              end
              record.spaces = n
              return record
            end
            """
        var limits = LuaLimits()
        try measure("trivial `return record` (the boundary)", trivial, records, bytes, folder, limits)
        try measure("`return nil` (record in, nothing back)", "function process(record) return nil end", records, bytes, folder, limits)
        try measure("rule: money gmatch + word count + upper", rule, records, bytes, folder, limits)
        try measure("loop-heavy rule, instruction limit on", loopy, records, bytes, folder, limits)
        limits.maxInstructions = 0
        try measure("loop-heavy rule, instruction limit off", loopy, records, bytes, folder, limits)
        if let path = ProcessInfo.processInfo.environment["LUA_BENCH_SCRIPT"],
           let input = ProcessInfo.processInfo.environment["LUA_BENCH_TEXT"] {
            try measureScript(path, text: input)
        }
        if ProcessInfo.processInfo.environment["LUA_BENCH_ONLY"] != nil { return }
        try measureFilter(records, bytes)
        try budgetUsed(rule, records[0], folder)
        try budgetUsed(loopy, records[0], folder)
        try runawayTime(folder)
    }

    /// A real rule file on a record made of a text file (first line: title; the rest: body).
    static func measureScript(_ path: String, text: String) throws {
        let content = try String(contentsOfFile: text, encoding: .utf8)
        let record: Record
        if text.hasSuffix(".jsonl"), let line = content.split(separator: "\n").first,
           case .object(let fields) = try JSONReader.parse(String(line)) {
            record = Record(fields, origin: .synthetic("bench"))
        } else {
            let lines = content.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            record = Record(["title": .string(String(lines.first ?? "")), "body": .string(lines.count > 1 ? String(lines[1]) : "")],
                            origin: .synthetic("bench"))
        }
        let script = try LuaScript(path: path, baseDirectory: (path as NSString).deletingLastPathComponent)
        let unlimited = ProcessInfo.processInfo.environment["LUA_BENCH_UNLIMITED"] != nil
        let rule = try LuaRule(script: script, settings: LuaSettings(
            stageName: "bench", limits: unlimited ? LuaLimits(maxInstructions: 0, maxMemory: 0) : LuaLimits()))
        switch rule.process(record) {
        case .failure(let failure):
            print("  \(script.displayName) failed: \(failure.message)")
            return
        case .success(let result):
            if ProcessInfo.processInfo.environment["LUA_BENCH_PRINT"] != nil {
                for fields in result.records { print(JSONWriter.string(.object(fields))) }
            }
        }
        // CPU time of this thread, min and median over rounds (as the rule's own bench.lua
        // does with os.clock), so that other processes on the machine do not count.
        let rounds = 7
        let n = Int(ProcessInfo.processInfo.environment["LUA_BENCH_PASSES"] ?? "") ?? 200
        var times: [Double] = []
        for _ in 0..<rounds {
            let start = cpuTime()
            for _ in 0..<n { _ = rule.process(record) }
            times.append((cpuTime() - start) / Double(n) * 1e6)
        }
        times.sort()
        let us = times[0]
        let median = times[rounds / 2]
        print(String(format: "  %@ on %@ (%d bytes): min %.1f, median %.1f µs/record (CPU time)", script.displayName as NSString,
                     (text as NSString).lastPathComponent as NSString, content.utf8.count, us, median))
        if ProcessInfo.processInfo.environment["LUA_BENCH_NO_BUDGET"] != nil { return }
        var low = 1_000
        var high = 50_000_000
        while high - low > 1_000 {
            let mid = (low + high) / 2
            let limited = try? LuaRule(script: script, settings: LuaSettings(stageName: "bench", limits: LuaLimits(maxInstructions: mid)))
            if case .success? = limited?.process(record) { high = mid } else { low = mid }
        }
        print("  budget one record needs (init and top level included): ~\(high) units")
    }

    /// CPU seconds used by the calling thread.
    static func cpuTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The records of ``BenchRecords`` (the same data `make bench` writes as JSON Lines).
    static func makeRecords(_ count: Int) -> [Record] {
        var generator = BenchRecords()
        return (0..<count).map { n in
            Record(generator.fields(n), origin: Origin(source: "bench", file: "bench.jsonl", line: n + 1))
        }
    }

    static func script(_ source: String, _ folder: String) throws -> LuaScript {
        let path = folder + "/rule-\(abs(source.hashValue)).lua"
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        return try LuaScript(path: path, baseDirectory: folder)
    }

    static func measure(_ label: String, _ source: String, _ records: [Record], _ bytes: Int, _ folder: String,
                        _ limits: LuaLimits) throws {
        if let only = ProcessInfo.processInfo.environment["LUA_BENCH_ONLY"], !label.contains(only) { return }
        let rule = try LuaRule(script: script(source, folder), settings: LuaSettings(stageName: "bench", limits: limits))
        // Warm up, then take the best of three passes (the machine is shared and noisy).
        for record in records.prefix(2000) { _ = rule.process(record) }
        var best = Double.infinity
        var failures = 0
        let passes = Int(ProcessInfo.processInfo.environment["LUA_BENCH_PASSES"] ?? "") ?? 3
        for _ in 0..<passes {
            let start = DispatchTime.now().uptimeNanoseconds
            for record in records {
                if case .failure = rule.process(record) { failures += 1 }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        report(label, seconds: best, records: records.count, bytes: bytes, failures: failures)
    }

    static func measureFilter(_ records: [Record], _ bytes: Int) throws {
        let expression = try LuaExpression("#record.body > 1000 and record.section ~= sluice.null",
                                           settings: LuaSettings(stageName: "bench"))
        var best = Double.infinity
        var kept = 0
        for _ in 0..<3 {
            kept = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for record in records {
                if case .success(true) = expression.evaluate(record) { kept += 1 }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        report("filter condition over the record (kept \(kept))", seconds: best, records: records.count, bytes: bytes, failures: 0)
    }

    static func report(_ label: String, seconds: Double, records: Int, bytes: Int, failures: Int) {
        let perRecord = seconds / Double(records) * 1e6
        let line = String(format: "  %-48@ %8.0f records/s %7.1f MB/s %6.2f µs/record", label as NSString,
                          Double(records) / seconds, Double(bytes) / seconds / 1e6, perRecord)
        print(line + (failures > 0 ? "  (\(failures) failures!)" : ""))
    }

    /// The smallest instruction budget the rule passes one record with (1,000-step granularity).
    static func budgetUsed(_ source: String, _ record: Record, _ folder: String) throws {
        var low = 1_000
        var high = 50_000_000
        let s = try script(source, folder)
        while high - low > 1_000 {
            let mid = (low + high) / 2
            let rule = try? LuaRule(script: s, settings: LuaSettings(stageName: "bench", limits: LuaLimits(maxInstructions: mid)))
            if case .success? = rule?.process(record) { high = mid } else { low = mid }
        }
        let name = source.split(separator: "\n").dropFirst().first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        print("  budget one record needs: ~\(high) units (\(name.prefix(40))…)")
    }

    /// How long the default budget lets `while true do end` run before stopping it.
    static func runawayTime(_ folder: String) throws {
        let rule = try LuaRule(script: script("function process(r) while true do end end", folder),
                               settings: LuaSettings(stageName: "bench"))
        let start = DispatchTime.now().uptimeNanoseconds
        let result = rule.process(Record(["x": 1], origin: .synthetic("bench")))
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        if case .failure(let failure) = result {
            print(String(format: "  runaway loop stopped after %.0f ms: %@", ms, failure.message))
        }
        let pattern = try LuaRule(script: script(#"function process(r) return { x = string.find(string.rep("a", 5000), ".-.-.-b") } end"#, folder),
                                  settings: LuaSettings(stageName: "bench"))
        let p0 = DispatchTime.now().uptimeNanoseconds
        let presult = pattern.process(Record(["x": 1], origin: .synthetic("bench")))
        let pms = Double(DispatchTime.now().uptimeNanoseconds - p0) / 1e6
        if case .failure(let failure) = presult {
            print(String(format: "  pathological pattern stopped after %.0f ms: %@", pms, failure.message))
        }
    }
}
