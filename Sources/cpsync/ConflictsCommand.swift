import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation

/// `cpsync conflicts list | show ID | resolve ID --keep|--take-other|--set VALUE [--note TEXT]` (admin token).
enum ConflictsCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("list | show ID | resolve ID") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json", "keep", "take-other"])
        let json = args.flag("json")
        let transport = try transport(&args)
        switch sub {
        case "list":
            var query: [String] = []
            for key in ["status", "table", "site", "from", "to"] {
                if let v = args.option(key) { query.append("\(key)=\(v.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? v)") }
            }
            try args.checkAllConsumed()
            let path = "/v1/admin/conflicts" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            let list = try transport.call("GET", path, as: ConflictListResponse.self)
            if json { Console.out(JSONOutput.snakeCasedKeys(String(decoding: list.encoded(), as: UTF8.self))); return 0 }
            // Open and resolved ones side by side (`--status all`): each says which it is, and a resolved one what it
            // was resolved to (the value the record holds since), not only what won when it was found.
            let header = L10n.isChinese ? ["编号", "状态", "表 · 字段", "记录", "胜出值", "另一值", "处理结果", "发现时间"]
                : ["ID", "STATUS", "TABLE · COLUMN", "ROW", "WINNER", "OTHER", "RESOLVED TO", "DETECTED"]
            Console.out(Console.table(header: header, rows: list.conflicts.map {
                [$0.id, status($0), "\($0.tableLabel) · \($0.columnLabel)", short($0.rowLabel), "\(short(text($0.winner.value))) (\($0.winner.siteName))",
                 "\(short(text($0.other.value))) (\($0.other.siteName))", $0.resolution.map { short(text($0.value)) } ?? "", time($0.detectedAt)]
            }))
            if list.conflicts.isEmpty { Console.out(L10n.pick(en: "no conflicts", zh: "没有冲突")) }
        case "show":
            guard let id = args.positionals.first else { throw UsageError.missingArgument("conflict id") }
            try args.checkAllConsumed()
            let c = try transport.call("GET", "/v1/admin/conflicts/\(id)", as: ConflictDTO.self)
            if json { Console.out(JSONOutput.snakeCasedKeys(String(decoding: c.encoded(), as: UTF8.self))); return 0 }
            Console.out(describe(c))
        case "resolve":
            guard let id = args.positionals.first else { throw UsageError.missingArgument("conflict id") }
            let keep = args.flag("keep"), other = args.flag("take-other")
            let set = args.option("set")
            let note = args.option("note")
            try args.checkAllConsumed()
            guard [keep, other, set != nil].filter({ $0 }).count == 1 else {
                throw UsageError.missingArgument(L10n.pick(en: "exactly one of --keep, --take-other, --set VALUE", zh: "--keep、--take-other、--set 值 三者选一"))
            }
            var request = ResolveRequest(action: keep ? .keep : other ? .takeOther : .set, note: note)
            if let set {
                // The value's type follows the column: ask the server what the other values look like.
                let c = try transport.call("GET", "/v1/admin/conflicts/\(id)", as: ConflictDTO.self)
                // The field's rules, here first (the county checks again): a phone is a phone, a date a date.
                let value = try typed(set, like: c.winner.value)
                do throws(FieldRules.Problem) {
                    request.value = try FieldRules.check(table: c.table, column: c.column, value: value)
                } catch {
                    throw UsageError.invalidValue(option: "set", value: set, expected: L10n.pick(en: error.expectedEN, zh: error.expectedZH))
                }
            }
            let c = try transport.call("POST", "/v1/admin/conflicts/\(id)/resolve", body: request.encoded(), as: ConflictDTO.self)
            if json { Console.out(JSONOutput.snakeCasedKeys(String(decoding: c.encoded(), as: UTF8.self))); return 0 }
            Console.out(L10n.pick(en: "conflict \(id) resolved: \(c.columnLabel) = \(text(c.resolution?.value ?? .null))",
                                  zh: "冲突 \(id) 已处理：\(c.columnLabel) = \(text(c.resolution?.value ?? .null))"))
        default:
            throw UsageError.unknownCommand("conflicts \(sub)")
        }
        return 0
    }

    /// `--server`/`--token`, else the admin settings file (AdminConfig.swift), else the office replica's (with --db).
    static func transport(_ args: inout Arguments) throws -> HTTPTransport { try AdminConfig.transport(&args) }

    static func typed(_ text: String, like sample: Value) throws -> Value {
        switch sample {
        case .integer:
            guard let i = Int64(text) else { throw UsageError.invalidValue(option: "set", value: text, expected: "a whole number") }
            return .integer(i)
        case .real:
            guard let d = Double(text) else { throw UsageError.invalidValue(option: "set", value: text, expected: "a number") }
            return .real(d)
        default:
            return .text(text)
        }
    }

    static func text(_ v: Value) -> String {
        switch v {
        case .null: "—"
        case .text(let s): s
        default: v.description
        }
    }

    static func short(_ s: String) -> String { s.count > 24 ? String(s.prefix(23)) + "…" : s }

    static func time(_ ms: Int64) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func status(_ c: ConflictDTO) -> String {
        c.status == .open ? L10n.pick(en: "open", zh: "待处理") : L10n.pick(en: "resolved", zh: "已处理")
    }

    static func describe(_ c: ConflictDTO) -> String {
        let zh = L10n.isChinese
        var lines = [
            (zh ? "冲突 " : "conflict ") + c.id + " · " + status(c),
            "\(c.tableLabel) · \(c.columnLabel) · \(c.rowLabel)",
            (zh ? "胜出值（当前）：" : "winner (current): ") + text(c.winner.value) + "  — \(c.winner.siteName) \(time(c.winner.at))",
            (zh ? "另一值：" : "other value: ") + text(c.other.value) + "  — \(c.other.siteName) \(time(c.other.at))",
        ]
        if let r = c.resolution {
            let action = zh ? ["keep": "保留胜出值", "take-other": "改用另一值", "set": "写入新值"][r.action.rawValue] ?? r.action.rawValue : r.action.rawValue
            lines.append((zh ? "处理：" : "resolution: ") + "\(action) → \(text(r.value)) · \(r.by) · \(time(r.at))" + (r.note.map { " · \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
