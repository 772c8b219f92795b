import CPSyncCLI
import CPSyncCore
import Foundation

/// RFC 4180 CSV as Excel reads and writes it: UTF-8 with a byte-order mark, CRLF line ends, fields quoted when they
/// hold a comma, a quote or a line break (quotes doubled).
public enum CSV {
    /// One record and the physical line (1-based) it starts on, for error messages.
    public struct Record: Sendable, Equatable {
        public let line: Int
        public let fields: [String]
    }

    /// A malformed file; `line` is where the offending record starts.
    public struct SyntaxError: Error, Sendable, Equatable {
        public let line: Int
        public let reason: String
    }

    /// Parses `text` (a leading BOM is ignored). Accepts CRLF, LF and CR line ends.
    public static func parse(_ text: String) throws(SyntaxError) -> [Record] {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var records: [Record] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var line = 1, recordLine = 1
        var i = 0
        var inQuotes = false, wasQuoted = false, atFieldStart = true
        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            wasQuoted = false
            atFieldStart = true
        }
        while i < scalars.count {
            let c = scalars[i]
            i += 1
            if inQuotes {
                if c == "\"" {
                    if i < scalars.count && scalars[i] == "\"" { field.append("\""); i += 1 } else { inQuotes = false }
                } else {
                    if c == "\n" || (c == "\r" && !(i < scalars.count && scalars[i] == "\n")) { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                guard atFieldStart else {
                    throw SyntaxError(line: line, reason: L10n.pick(en: "a quote inside an unquoted field (quote the whole field and double the quote)",
                                                                  zh: "未加引号的字段中出现引号（请用引号括起整个字段，并把引号写两遍）"))
                }
                inQuotes = true
                wasQuoted = true
                atFieldStart = false
            case ",":
                endField()
            case "\r", "\n":
                if c == "\r" && i < scalars.count && scalars[i] == "\n" { i += 1 }
                endField()
                records.append(Record(line: recordLine, fields: fields))
                fields = []
                line += 1
                recordLine = line
            default:
                if wasQuoted {
                    throw SyntaxError(line: line, reason: L10n.pick(en: "text after a closing quote", zh: "右引号之后还有文字"))
                }
                field.append(c)
                atFieldStart = false
            }
        }
        if inQuotes {
            throw SyntaxError(line: recordLine, reason: L10n.pick(en: "a quoted field is never closed", zh: "引号没有闭合"))
        }
        if !field.isEmpty || !fields.isEmpty || wasQuoted {
            endField()
            records.append(Record(line: recordLine, fields: fields))
        }
        return records
    }

    /// Writes rows; `bom` prefixes the UTF-8 byte-order mark Excel needs to read Chinese correctly.
    public static func write(_ rows: [[String]], bom: Bool = true) -> String {
        (bom ? "\u{FEFF}" : "") + rows.map { $0.map(quote).joined(separator: ",") + "\r\n" }.joined()
    }

    static func quote(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Which records a CSV file holds.
public enum CSVTable: String, CaseIterable, Sendable {
    case members, proposals

    /// Columns: the key, the Chinese header written on export, and every header accepted on import.
    struct Column {
        let key: String
        let chinese: String
        let aliases: [String]
    }

    var columns: [Column] {
        switch self {
        case .members: [
            Column(key: "id", chinese: "编号", aliases: ["ID"]),
            Column(key: "name", chinese: "姓名", aliases: ["名字"]),
            Column(key: "gender", chinese: "性别", aliases: []),
            Column(key: "sector", chinese: "界别", aliases: []),
            Column(key: "party", chinese: "党派", aliases: ["政治面貌"]),
            Column(key: "term", chinese: "届别", aliases: ["届次", "届"]),
            Column(key: "site_id", chinese: "站点", aliases: ["所属站点", "site"]),
            Column(key: "phone", chinese: "电话", aliases: ["联系电话", "手机"]),
            Column(key: "employer", chinese: "工作单位", aliases: ["单位"]),
            Column(key: "position", chinese: "职务", aliases: []),
        ]
        case .proposals: [
            Column(key: "id", chinese: "编号", aliases: ["ID"]),
            Column(key: "number", chinese: "案号", aliases: []),
            Column(key: "session", chinese: "会议", aliases: ["届次会议"]),
            Column(key: "year", chinese: "年度", aliases: ["年份"]),
            Column(key: "title", chinese: "标题", aliases: ["案由", "提案标题"]),
            Column(key: "body", chinese: "内容", aliases: ["正文", "提案内容"]),
            Column(key: "proposer_id", chinese: "提案人编号", aliases: []),
            Column(key: "proposer", chinese: "第一提案人", aliases: ["提案人"]),
            Column(key: "cosigners", chinese: "联名委员", aliases: ["附议人"]),
            Column(key: "site_id", chinese: "站点", aliases: ["所属站点", "site"]),
            Column(key: "submitted_on", chinese: "提交日期", aliases: []),
            Column(key: "status", chinese: "状态", aliases: ["办理状态"]),
            Column(key: "merged_into", chinese: "并入提案", aliases: []),
            Column(key: "converted_to", chinese: "转为", aliases: []),
            Column(key: "review_note", chinese: "审查意见", aliases: []),
            Column(key: "is_key", chinese: "重点提案", aliases: []),
            Column(key: "supervisor", chinese: "督办领导", aliases: ["督办"]),
            Column(key: "filed_on", chinese: "立案日期", aliases: []),
            Column(key: "closed_on", chinese: "办结日期", aliases: []),
        ]
        }
    }

    var required: [String] { self == .members ? ["name"] : ["title"] }

    /// Maps a header cell to a column key (English key, Chinese header or alias; case and spaces ignored).
    func key(for header: String) -> String? {
        let h = header.trimmingCharacters(in: .whitespaces)
        return columns.first { $0.key.lowercased() == h.lowercased() || $0.chinese == h || $0.aliases.contains { $0.lowercased() == h.lowercased() } }?.key
    }
}

extension Office {
    /// Exports members or proposals as CSV (Chinese headers unless `englishHeaders`).
    public func exportCSV(_ table: CSVTable, englishHeaders: Bool = false) throws -> String {
        let cols = table.columns
        var rows = [cols.map { englishHeaders ? $0.key : $0.chinese }]
        switch table {
        case .members:
            for m in try members() {
                rows.append([m.id, m.name, m.gender, m.sector, m.party, m.term, m.siteID ?? "", m.phone, m.employer, m.position])
            }
        case .proposals:
            let names = Dictionary(try members().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
            for p in try proposals() {
                let cos = try db.query("SELECT member_id FROM proposal_cosigners WHERE proposal_id = ? ORDER BY member_id", [.text(p.id)]).map { $0[0].str }
                rows.append([p.id, p.number, p.session, String(p.year), p.title, p.body, p.proposerID ?? "",
                             p.proposerID.flatMap { names[$0] } ?? "", cos.joined(separator: ";"), p.siteID ?? "",
                             p.submittedOn ?? "", p.status.rawValue, p.mergedInto ?? "", p.convertedTo ?? "", p.reviewNote,
                             p.isKey ? "1" : "0", p.supervisor, p.filedOn ?? "", p.closedOn ?? ""])
            }
        }
        return CSV.write(rows)
    }

    /// Imports a CSV file of members or proposals in one transaction: a row with a known `id` updates that record,
    /// any other row adds one. The first bad row stops the import with its line number and nothing is kept.
    /// Returns the number of records imported.
    @discardableResult
    public func importCSV(_ table: CSVTable, text: String, fileName: String) throws -> Int {
        let records: [CSV.Record]
        do { records = try CSV.parse(text) } catch { throw CPPCCError.csv(file: fileName, line: error.line, reason: error.reason) }
        guard let header = records.first else {
            throw CPPCCError.csv(file: fileName, line: 1, reason: L10n.pick(en: "the file is empty", zh: "文件为空"))
        }
        var keys: [String?] = []
        for h in header.fields {
            let k = table.key(for: h)
            if k == nil && !h.trimmingCharacters(in: .whitespaces).isEmpty {
                throw CPPCCError.csv(file: fileName, line: header.line, reason: L10n.pick(
                    en: "unknown column '\(h)' (known: \(table.columns.map { "\($0.key)/\($0.chinese)" }.joined(separator: ", ")))",
                    zh: "未知列 '\(h)'（可用列：\(table.columns.map { "\($0.chinese)/\($0.key)" }.joined(separator: "、"))）"))
            }
            keys.append(k)
        }
        for r in table.required where !keys.contains(r) {
            let c = table.columns.first { $0.key == r }!
            throw CPPCCError.csv(file: fileName, line: header.line, reason: L10n.pick(en: "missing column \(c.chinese)/\(c.key)", zh: "缺少列 \(c.chinese)/\(c.key)"))
        }
        return try db.transaction {
            var count = 0
            // Merged proposals may point at a row further down the file: their target is checked after all rows.
            var mergeTargets: [(line: Int, id: String, target: String)] = []
            for record in records.dropFirst() {
                if record.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
                if record.fields.count > keys.count {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: L10n.pick(
                        en: "\(record.fields.count) fields but the header has \(keys.count)", zh: "有 \(record.fields.count) 个字段，但表头只有 \(keys.count) 列"))
                }
                var row: [String: String] = [:]
                for (k, v) in zip(keys, record.fields) { if let k { row[k] = v.trimmingCharacters(in: .whitespaces) } }
                do {
                    switch table {
                    case .members: try importMember(row)
                    case .proposals:
                        if let m = try importProposal(row) { mergeTargets.append((record.line, m.id, m.target)) }
                    }
                } catch let e as CPPCCError {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: e.description)
                } catch let e as WorkflowError {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: e.description)
                } catch let e as DateError {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: e.description)
                } catch let e as SQLiteError {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: e.message)
                }
                count += 1
            }
            for m in mergeTargets {
                let key = try proposal(m.id).displayKey
                if m.target == m.id { throw CPPCCError.csv(file: fileName, line: m.line, reason: WorkflowError.mergeIntoItself(key).description) }
                if try db.scalar("SELECT count(*) FROM proposals WHERE id = ?", [.text(m.target)])?.int64Value == 0 {
                    throw CPPCCError.csv(file: fileName, line: m.line, reason: WorkflowError.mergeTargetMissing(key, m.target).description)
                }
                try db.run("UPDATE proposals SET merged_into = ? WHERE id = ?", [.text(m.target), .text(m.id)])
            }
            return count
        }
    }

    private func importMember(_ row: [String: String]) throws {
        func v(_ k: String) -> String { row[k] ?? "" }
        var m = Member(name: v("name"), gender: v("gender"), sector: v("sector"), party: v("party"), term: v("term"),
                       siteID: v("site_id").isEmpty ? nil : v("site_id"), phone: v("phone"), employer: v("employer"), position: v("position"))
        if !v("id").isEmpty { m.id = v("id") }
        if try db.scalar("SELECT count(*) FROM members WHERE id = ?", [.text(m.id)])?.int64Value != 0 {
            try updateMember(m)
        } else {
            try addMember(m)
        }
    }

    /// Imports one proposal row; returns its merge target, to be checked once every row is in.
    private func importProposal(_ row: [String: String]) throws -> (id: String, target: String)? {
        func v(_ k: String) -> String? { row[k].flatMap { $0.isEmpty ? nil : $0 } }
        let submitted = try Office.date(v("submitted_on"), field: L10n.pick(en: "submitted date", zh: "提交日期"))
        guard let year = v("year").map({ Int($0) }) ?? submitted.flatMap({ Int($0.prefix(4)) }) else {
            throw CPPCCError.invalidValue(field: L10n.pick(en: "year", zh: "年度"), value: v("year") ?? "", expected: L10n.pick(en: "a year such as 2026", zh: "年份，如 2026"))
        }
        guard let status = v("status").map({ ProposalStatus.parse($0) }) ?? .submitted else {
            throw CPPCCError.invalidValue(field: L10n.pick(en: "status", zh: "状态"), value: v("status") ?? "", expected: ProposalStatus.choices)
        }
        let isKey: Bool
        switch v("is_key") ?? "0" {
        case "1", "是", "true", "yes", "Y", "y": isKey = true
        case "0", "否", "false", "no", "N", "n": isKey = false
        case let other: throw CPPCCError.invalidValue(field: L10n.pick(en: "key proposal", zh: "重点提案"), value: other, expected: "1/0, 是/否")
        }
        var converted: String?
        if let c = v("converted_to") {
            guard let t = ConversionTarget.parse(c) else { throw CPPCCError.invalidValue(field: "converted_to", value: c, expected: ConversionTarget.choices) }
            converted = t.rawValue
        }
        var proposer = v("proposer_id")
        if proposer == nil, let name = v("proposer") { proposer = try member(name).id }
        var p = Proposal(number: v("number") ?? "", session: v("session") ?? "", year: year, title: v("title") ?? "",
                         body: row["body"] ?? "", proposerID: proposer, siteID: v("site_id"), submittedOn: submitted,
                         status: status, mergedInto: nil, convertedTo: converted, reviewNote: v("review_note") ?? "",
                         isKey: isKey, supervisor: v("supervisor") ?? "",
                         filedOn: try Office.date(v("filed_on"), field: "filed_on"), closedOn: try Office.date(v("closed_on"), field: "closed_on"))
        if let id = v("id") { p.id = id }
        let cosigners = (v("cosigners") ?? "").split(whereSeparator: { ";；、,，".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if status == .merged && v("merged_into") == nil { throw CPPCCError.missingValue(field: L10n.pick(en: "merged into", zh: "并入提案")) }
        if let existing = try? proposal(p.id), existing.id == p.id {
            if status.rank < existing.status.rank {
                throw WorkflowError.illegalTransition(existing.displayKey, from: existing.status, to: status)
            }
            try updateProposalDetails(p)
            try validate(&p)
            try db.run("UPDATE proposals SET status = ?, converted_to = ?, review_note = ?, filed_on = ?, closed_on = ? WHERE id = ?",
                       [.text(status.rawValue), textOrNull(p.convertedTo), .text(p.reviewNote),
                        textOrNull(p.filedOn), textOrNull(p.closedOn), .text(p.id)])
            for c in cosigners { try addCosigner(p.id, member: c) }
        } else {
            // Imported rows carry their recorded status as is: a CSV is historical data, not a workflow step.
            // No number: `addProposal` gives the county's next 案号 to a filed row, else a provisional one.
            try addProposal(p, cosigners: cosigners)
        }
        return v("merged_into").map { (p.id, $0) }
    }
}
