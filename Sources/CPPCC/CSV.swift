import CPSyncText
import CPSyncCore
import Foundation

/// RFC 4180 CSV as Excel reads and writes it: UTF-8 with a byte-order mark, CRLF line ends, fields quoted when they
/// hold a comma, a quote or a line break (quotes doubled).
///
/// Every CSV the tools write (`cpsync export`, `cpsync report --format csv`) goes through `write`, which also makes
/// each cell open in a spreadsheet (Excel, WPS, LibreOffice) as the text it is (`spreadsheetCell`):
/// - **number codes stay text**: a cell of digits and the separators people write (`0937-1234567`,
///   `+86 138 0000 0000`, `13800000001`, `007`, 案号 `2026-001`) is written as the text formula `="…"`, the usual
///   idiom Excel and WPS read as a text cell, so leading zeros, long numbers (no `1.38E+10`, no rounding after 15
///   digits) and codes that look like dates survive opening and saving again. Plain counts, years and decimals
///   (`7`, `2026`, `57.1`) and ISO dates stay numbers and dates;
/// - **no formula runs** (CSV injection, OWASP; ASVS 1.2.10): any other cell beginning with `=`, `+`, `-`, `@`,
///   a tab or a carriage return gets a leading apostrophe (`'=1+1`), so it is shown as text.
/// `value` undoes both when a file is imported again (and `parse` reads the unquoted `="…"` other programs write).
public enum CSV {
    /// One record and the physical line (1-based) it starts on, for error messages.
    public struct Record: Sendable, Equatable {
        public let line: Int
        public let fields: [String]
    }

    /// A malformed file; `line` is where the offending record starts.
    public struct SyntaxError: Error, Sendable, Equatable {
        public let line: Int
        public let reason: Phrase
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
            case "=" where atFieldStart && i < scalars.count && scalars[i] == "\"":
                // `="0937"` unquoted, as other programs write Excel's text idiom: the quoted text is the cell.
                continue
            case "\"":
                guard atFieldStart else {
                    throw SyntaxError(line: line, reason: Phrase(en: "a quote inside an unquoted field (quote the whole field and double the quote)",
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
                    throw SyntaxError(line: line, reason: Phrase(en: "text after a closing quote", zh: "右引号之后还有文字"))
                }
                field.append(c)
                atFieldStart = false
            }
        }
        if inQuotes {
            throw SyntaxError(line: recordLine, reason: Phrase(en: "a quoted field is never closed", zh: "引号没有闭合"))
        }
        if !field.isEmpty || !fields.isEmpty || wasQuoted {
            endField()
            records.append(Record(line: recordLine, fields: fields))
        }
        return records
    }

    /// Writes rows; `bom` prefixes the UTF-8 byte-order mark Excel needs to read Chinese correctly. Each cell is made
    /// safe for a spreadsheet first (`spreadsheetCell`): the one CSV writer of every export.
    public static func write(_ rows: [[String]], bom: Bool = true) -> String {
        (bom ? "\u{FEFF}" : "") + rows.map { $0.map { quote(spreadsheetCell($0)) }.joined(separator: ",") + "\r\n" }.joined()
    }

    /// The first characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// What a cell is written as so that a spreadsheet shows `text` and runs nothing (see the type's notes):
    /// `="0937-1234567"` for a number code, `'=…` for a cell that would start a formula, else `text` itself.
    public static func spreadsheetCell(_ text: String) -> String {
        if isNumberCode(text) { return "=\"" + text + "\"" }
        if let first = text.unicodeScalars.first, formulaStarts.contains(first) { return "'" + text }
        return text
    }

    /// The cell as it was before `spreadsheetCell`: `="…"` unwrapped, the apostrophe before a formula character dropped.
    public static func value(_ cell: String) -> String {
        let s = cell.unicodeScalars
        if s.count >= 3, cell.hasPrefix("=\""), cell.hasSuffix("\""), !s.dropFirst(2).dropLast().contains("\"") {
            return String(String.UnicodeScalarView(s.dropFirst(2).dropLast()))
        }
        if s.count >= 2, s.first == "'", formulaStarts.contains(s[s.index(after: s.startIndex)]) { return String(String.UnicodeScalarView(s.dropFirst())) }
        return cell
    }

    /// Digits with the separators of phone numbers and codes, which a spreadsheet would turn into a number or a date
    /// (losing leading zeros, digits after the 15th, or the code itself) — but not a plain count, year or decimal
    /// without leading zeros (at most six digits before the point) nor an ISO date, which are meant as such.
    static func isNumberCode(_ text: String) -> Bool {
        let separators: Set<Unicode.Scalar> = [" ", "+", "-", "(", ")", "/", ".", "（", "）"]
        var digits = 0, dots = 0, others = 0
        for c in text.unicodeScalars {
            if ("0"..."9").contains(c) { digits += 1 } else if c == "." { dots += 1 } else if separators.contains(c) { others += 1 } else { return false }
        }
        guard digits > 0 else { return false }
        let u = Array(text.utf8)
        if others == 0 && dots <= 1 && u.first != UInt8(ascii: ".") && u.last != UInt8(ascii: ".") {
            let whole = u.prefix { $0 != UInt8(ascii: ".") }
            let plain = whole.count <= 6 && (whole.count == 1 || whole.first != UInt8(ascii: "0"))
            if plain { return false }
        }
        if u.count == 10 && others == 2 && dots == 0 && u[4] == UInt8(ascii: "-") && u[7] == UInt8(ascii: "-") { return false }
        return true
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
            Column(key: "site", chinese: "站点", aliases: ["所属站点", "站点名称"]),
            Column(key: "phone", chinese: "电话", aliases: ["联系电话", "手机", "手机号码"]),
            Column(key: "employer", chinese: "工作单位", aliases: ["单位"]),
            Column(key: "position", chinese: "职务", aliases: []),
            Column(key: "site_id", chinese: "站点编号", aliases: ["站点ID"]),
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
            Column(key: "site", chinese: "站点", aliases: ["所属站点", "站点名称"]),
            Column(key: "submitted_on", chinese: "提交日期", aliases: []),
            Column(key: "status", chinese: "状态", aliases: ["办理状态"]),
            Column(key: "merged_into", chinese: "并入提案", aliases: []),
            Column(key: "converted_to", chinese: "转为", aliases: []),
            Column(key: "review_note", chinese: "审查意见", aliases: []),
            Column(key: "is_key", chinese: "重点提案", aliases: []),
            Column(key: "supervisor", chinese: "督办领导", aliases: ["督办"]),
            Column(key: "filed_on", chinese: "立案日期", aliases: []),
            Column(key: "closed_on", chinese: "办结日期", aliases: []),
            Column(key: "cosigner_ids", chinese: "联名委员编号", aliases: []),
            Column(key: "site_id", chinese: "站点编号", aliases: ["站点ID"]),
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
    /// Exports members or proposals as CSV (Chinese headers unless `englishHeaders`). With Chinese headers under a
    /// zh_* locale, the coded values are Chinese too (状态 已立案, 转为 社情民意, 重点提案 是/否); import reads both.
    /// People and places are named as people read them: 站点 is the site's name, 第一提案人 and 联名委员 the members'
    /// names (a member this office does not hold: `outsideMemberLabel`), 并入提案 the target's 案号; the ids follow
    /// in their own columns (编号, 提案人编号, 联名委员编号, 站点编号) so that the file imports back exactly.
    public func exportCSV(_ table: CSVTable, englishHeaders: Bool = false, in language: Language) throws -> String {
        let cols = table.columns
        let zh = !englishHeaders && language.isChinese
        var rows = [cols.map { englishHeaders ? $0.key : $0.chinese }]
        let sites = try siteNames()
        switch table {
        case .members:
            for m in try members(MemberFilter(), countyOrder: false) {
                rows.append([m.id, m.name, m.gender, m.sector, m.party, m.term, Listing.site(m.siteID, sites), m.phone, m.employer, m.position, m.siteID ?? ""])
            }
        case .proposals:
            let names = try memberNames()
            func name(_ id: String) -> String { names[id].flatMap { $0.isEmpty ? nil : $0 } ?? Office.outsideMemberLabel(in: language) }
            let numbers = Dictionary(try db.query("SELECT id, number FROM proposals").map { ($0[0].str, $0[1].str) }, uniquingKeysWith: { a, _ in a })
            for p in try proposals() {
                let cos = try db.query("SELECT member_id FROM proposal_cosigners WHERE proposal_id = ? ORDER BY member_id", [.text(p.id)]).map { $0[0].str }
                rows.append([p.id, p.number, p.session, String(p.year), p.title, p.body, p.proposerID ?? "",
                             p.proposerID.map(name) ?? "", cos.map(name).joined(separator: "、"), Listing.site(p.siteID, sites),
                             p.submittedOn ?? "", zh ? p.status.chinese : p.status.rawValue,
                             p.mergedInto.map { numbers[$0].flatMap { $0.isEmpty ? nil : $0 } ?? $0 } ?? "",
                             p.convertedTo.map { c in zh ? ConversionTarget(rawValue: c)?.chinese ?? c : c } ?? "", p.reviewNote,
                             zh ? (p.isKey ? "是" : "否") : (p.isKey ? "1" : "0"), p.supervisor, p.filedOn ?? "", p.closedOn ?? "",
                             cos.joined(separator: ";"), p.siteID ?? ""])
            }
        }
        return CSV.write(rows)
    }

    /// How a member this office does not hold is named (another office's member: its personal data stays there).
    public static func outsideMemberLabel(in language: Language) -> String { language.pick(en: "(a member of another office)", zh: "（其他站点委员）") }

    /// Whether `name` is the label of a member this office does not hold, in either language.
    static func isOutsideMemberLabel(_ name: String) -> Bool { name == "（其他站点委员）" || name == "(a member of another office)" }

    /// Imports a CSV file of members or proposals in one transaction. Each row is matched to a record already in the
    /// database (see `CSVImportSummary.matching`): a matched record is updated (or left unchanged when the row says
    /// nothing new), any other row adds one, so importing the same file twice adds nothing the second time.
    /// Columns the program does not know (序号, 备注, …) are ignored and named in the summary. The first bad row
    /// stops the import with its line number and nothing is kept.
    @discardableResult
    public func importCSV(_ table: CSVTable, text: String, fileName: String, in language: Language) throws -> CSVImportSummary {
        let records: [CSV.Record]
        do { records = try CSV.parse(text) } catch { throw CPPCCError.csv(file: fileName, line: error.line, reason: error.reason) }
        guard let header = records.first else {
            throw CPPCCError.csv(file: fileName, line: 1, reason: Phrase(en: "the file is empty", zh: "文件为空"))
        }
        var summary = CSVImportSummary(table: table)
        var keys: [String?] = []
        for h in header.fields {
            let k = table.key(for: h)
            let name = h.trimmingCharacters(in: .whitespaces)
            if k == nil && !name.isEmpty { summary.ignoredColumns.append(name) }
            // A column given twice: the first one counts, the second is ignored and named.
            if let k, keys.contains(k) { summary.ignoredColumns.append(name); keys.append(nil); continue }
            keys.append(k)
        }
        for r in table.required where !keys.contains(r) {
            let c = table.columns.first { $0.key == r }!
            throw CPPCCError.csv(file: fileName, line: header.line, reason: Phrase(
                en: "missing column \(c.chinese)/\(c.key)" + Self.ignoredNote(summary.ignoredColumns, en: true),
                zh: "缺少列 \(c.chinese)/\(c.key)" + Self.ignoredNote(summary.ignoredColumns, en: false)))
        }
        return try db.transaction {
            // Merged proposals may point at a row further down the file: their target is checked after all rows.
            var mergeTargets: [(line: Int, id: String, target: String)] = []
            // The natural key of every row so far, to warn about the same member or proposal twice in the file.
            var seen: [String: Int] = [:]
            // The live members, read once (the table has no index on names) and kept up to date as rows add.
            var roster = table == .members ? try MemberRoster(self) : MemberRoster()
            for record in records.dropFirst() {
                if record.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
                if record.fields.count > keys.count {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: Phrase(
                        en: "\(record.fields.count) fields but the header has \(keys.count)", zh: "有 \(record.fields.count) 个字段，但表头只有 \(keys.count) 列"))
                }
                var row: [String: String] = [:]
                for (k, v) in zip(keys, record.fields) { if let k { row[k] = CSV.value(v).trimmingCharacters(in: .whitespaces) } }
                do {
                    switch table {
                    case .members: try importMember(row, line: record.line, seen: &seen, roster: &roster, into: &summary, language)
                    case .proposals:
                        if let m = try importProposal(row, line: record.line, seen: &seen, into: &summary, language) { mergeTargets.append((record.line, m.id, m.target)) }
                    }
                } catch let e as CPPCCError {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: Phrase(e))
                } catch let e as WorkflowError {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: Phrase(e))
                } catch let e as DateError {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: Phrase(e))
                } catch let e as NumberingError {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: Phrase(e))
                } catch let e as SQLiteError {
                    throw CPPCCError.csv(file: fileName, line: record.line, reason: Phrase(stringLiteral: e.message))
                }
            }
            for m in mergeTargets {
                let key = try proposal(m.id).displayKey
                // 并入提案 is the target's id or its 案号 (what the export writes).
                let target: String
                do { target = try resolveID(m.target, in: .proposals) } catch CPPCCError.notFound {
                    throw CPPCCError.csv(file: fileName, line: m.line, reason: Phrase(WorkflowError.mergeTargetMissing(key, m.target)))
                } catch let e as CPPCCError {
                    throw CPPCCError.csv(file: fileName, line: m.line, reason: Phrase(e))
                }
                if target == m.id { throw CPPCCError.csv(file: fileName, line: m.line, reason: Phrase(WorkflowError.mergeIntoItself(key))) }
                let before = try db.scalar("SELECT merged_into FROM proposals WHERE id = ?", [.text(m.id)])?.stringValue
                try db.run("UPDATE proposals SET merged_into = ? WHERE id = ?", [.text(target), .text(m.id)])
                if before != target { summary.markUpdated(line: m.line) }
            }
            return summary
        }
    }

    static func ignoredNote(_ columns: [String], en: Bool) -> String {
        guard !columns.isEmpty else { return "" }
        return en ? " (ignored columns: \(columns.joined(separator: ", ")))" : "（已忽略的列：\(columns.joined(separator: "、"))）"
    }

    /// Everything a record is made of, to tell an update from a row that changed nothing.
    private func snapshot(_ table: CSVTable, _ id: String) throws -> [[Value]] {
        var rows = try db.query("SELECT * FROM \(table.rawValue) WHERE id = ?", [.text(id)])
        if table == .proposals { rows += try db.query("SELECT member_id FROM proposal_cosigners WHERE proposal_id = ? ORDER BY member_id", [.text(id)]) }
        return rows
    }

    /// The natural key of a member in a file: name and phone.
    static func memberKey(_ name: String, _ phone: String) -> String { "\(name)\u{1F}\(phone)" }

    /// The site a row names: its 站点 cell (a site's name or id) when the file has one, else its 站点编号; nil when
    /// neither is given. A 站点 cell naming no known site falls back to the 站点编号 when there is one (so does a
    /// new office before its first pull brought the site tree).
    func importedSite(_ row: [String: String]) throws -> String? {
        let id = row["site_id"].flatMap { $0.isEmpty ? nil : $0 }
        guard let key = row["site"], !key.isEmpty else { return id }
        if try db.scalar("SELECT count(*) FROM sites")?.int64Value == 0 { return id ?? key }
        do { return try resolveID(key, in: .sites) } catch CPPCCError.notFound where id != nil { return id }
    }

    /// Imports one member row. Which member it is (see `CSVImportSummary`): the 编号 when the row has one; else the
    /// live member with the same name and phone; else the one live member of that name at the row's site (at any
    /// site this office holds when the row names none), so a changed phone updates the member instead of adding a
    /// second one. Two or more members it could be: the row is skipped and listed, never guessed.
    private func importMember(_ row: [String: String], line: Int, seen: inout [String: Int], roster: inout MemberRoster,
                              into summary: inout CSVImportSummary, _ language: Language) throws {
        func v(_ k: String) -> String { row[k] ?? "" }
        let site = try importedSite(row)
        var m = Member(name: v("name"), gender: v("gender"), sector: v("sector"), party: v("party"), term: v("term"),
                       siteID: site, phone: v("phone"), employer: v("employer"), position: v("position"))
        let label = m.phone.isEmpty ? m.name : "\(m.name) (\(m.phone))"
        let natural = Self.memberKey(m.name, m.phone)
        if let earlier = seen[natural] {
            summary.warnings.append(language.pick(
                en: "line \(line): \(label) is already on line \(earlier) (same name and phone); both lines were taken as one member, line \(line)'s values kept",
                zh: "第 \(line) 行：\(label) 与第 \(earlier) 行姓名和电话相同，按同一委员处理，保留第 \(line) 行的内容"))
        }
        seen[natural] = line
        let imported = ImportedMember(line: line, label: label, natural: natural)
        var existing: String?
        if !v("id").isEmpty {
            m.id = v("id")
            existing = try memberByID(m, imported, roster: roster, into: &summary, language)
        } else if !m.name.isEmpty {
            switch try memberByName(m, imported, roster: roster, into: &summary, language) {
            case .member(let id): existing = id
            case .newMember: break
            case .skipped: return
            }
        }
        if let existing {
            try updateImportedMember(existing, to: m, cells: row, imported, roster: &roster, into: &summary, language)
        } else {
            let added = try addMember(m)
            summary.recordAdded(line: line, label: label, id: added.id)
            roster.save(added, line: line, natural: natural)
        }
    }

    /// A member row of a file: its line, what the messages call it, and its name and phone (`memberKey`).
    private struct ImportedMember {
        let line: Int
        let label: String
        let natural: String
    }

    /// Which member a row without an 编号 is.
    private enum MemberMatch {
        case member(String)
        case newMember
        /// More than one member it could be: listed in the summary, not imported.
        case skipped
    }

    /// The member a row with an 编号 updates (nil: a new member with that id). Warns when live members have its
    /// name and phone under other ids.
    private func memberByID(_ m: Member, _ imported: ImportedMember, roster: MemberRoster, into summary: inout CSVImportSummary,
                            _ language: Language) throws -> String? {
        let (line, label) = (imported.line, imported.label)
        let existing = try db.scalar("SELECT count(*) FROM members WHERE id = ?", [.text(m.id)])?.int64Value != 0 ? m.id : nil
        let twins = m.phone.isEmpty ? [] : roster.named(m.name, phone: m.phone).filter { $0 != m.id }
        if !twins.isEmpty {
            summary.warnings.append(language.pick(
                en: "line \(line): \(label) has the same name and phone as member \(twins.joined(separator: ", ")) already in the database (a duplicate? void one with `cpsync member void`)",
                zh: "第 \(line) 行：\(label) 与数据库中已有的委员 \(twins.joined(separator: "、")) 姓名和电话相同（是否重复？可用 `cpsync member void` 作废其一）"))
        }
        return existing
    }

    /// The member a row without an 编号 is, by name and phone, else by name at its site (see `importMember`).
    private func memberByName(_ m: Member, _ imported: ImportedMember, roster: MemberRoster, into summary: inout CSVImportSummary,
                              _ language: Language) throws -> MemberMatch {
        let (line, label, site, sites) = (imported.line, imported.label, m.siteID, roster.siteNames)
        let samePhone = m.phone.isEmpty ? [] : roster.named(m.name, phone: m.phone)
        let sameName = roster.named(m.name, site: site)
        if samePhone.count == 1 { return .member(samePhone[0]) }
        if samePhone.count > 1 {
            let candidates = Self.describe(samePhone, roster, language)
            summary.skip(line: line, label: label, reason: language.pick(
                en: "\(samePhone.count) members named \(m.name) have this phone (\(candidates)), probably entered twice; the line was not imported: void the extra one with `cpsync member void`, or give the member's id in an 编号 column",
                zh: "有 \(samePhone.count) 位委员姓名和电话都相同（\(candidates)），可能重复登记；本行未导入：请用 `cpsync member void` 作废多余的一位，或在文件中加“编号”列填写其编号"))
            return .skipped
        }
        if sameName.count > 1 {
            let whereText = site.map { Listing.site($0, sites) }
            let candidates = Self.describe(sameName, roster, language)
            summary.skip(line: line, label: label, reason: language.pick(
                en: "\(sameName.count) members are named \(m.name)\(whereText.map { " at \($0)" } ?? "") (\(candidates)) and the phone fits none; the line was not imported (which one is not guessed): give the member's id in an 编号 column (`cpsync export members` writes it), or correct the phone",
                zh: "\(whereText ?? "本办公室")有 \(sameName.count) 位名叫 \(m.name) 的委员（\(candidates)），电话与其中任何一位都不符，无法确定是哪一位；本行未导入：请在文件中加“编号”列填写其编号（`cpsync export members` 导出的文件带有此列），或改正电话"))
            return .skipped
        }
        if let only = sameName.first {
            guard let claim = roster.claimed[only], claim.natural != imported.natural else { return .member(only) }
            // An earlier line of this file is that member, with another phone: this line is another person.
            summary.warnings.append(language.pick(
                en: "line \(line): \(label) has the name of line \(claim.line) but another phone: added as another member; if it is the same person, keep one of the two lines (and void the extra member with `cpsync member void`)",
                zh: "第 \(line) 行：\(label) 与第 \(claim.line) 行同名但电话不同，已作为另一位委员新增；如为同一人，请只保留其中一行（并用 `cpsync member void` 作废多余的委员）"))
            return .newMember
        }
        // Nobody of that name here: added. Say so when the name is at another site or among voided members.
        let elsewhere = site == nil ? [] : roster.named(m.name, site: nil)
        if !elsewhere.isEmpty {
            let candidates = Self.describe(elsewhere, roster, language)
            summary.warnings.append(language.pick(
                en: "line \(line): \(label) was added at \(Listing.site(site, sites)); a member of that name is at another site (\(candidates)): if it is the same person, give the member's id in an 编号 column instead",
                zh: "第 \(line) 行：\(label) 已在 \(Listing.site(site, sites)) 新增；其他站点已有同名委员（\(candidates)）：如为同一人，请改为在“编号”列填写其编号"))
        } else if try db.scalar("SELECT count(*) FROM members WHERE name = ? AND \(Office.voidCondition(voidedOnly: true))", [.text(m.name)])?.int64Value != 0 {
            summary.warnings.append(language.pick(
                en: "line \(line): \(label) was added; a voided member has the same name (if it is the same person, ask the county to restore that record and void this one)",
                zh: "第 \(line) 行：\(label) 已新增；有一位已作废的委员与其同名（如为同一人，请县政协恢复原记录并作废本条）"))
        }
        return .newMember
    }

    /// The members a row could be, for its message: short id, site and phone of each.
    private static func describe(_ ids: [String], _ roster: MemberRoster, _ language: Language) -> String {
        ids.map { id in
            let x = roster.members[id]!
            let place = Listing.site(x.site, roster.siteNames)
            return language.pick(en: "\(id.prefix(Office.shortIDLength)) \(place)" + (x.phone.isEmpty ? "" : " phone \(x.phone)"),
                                 zh: "\(id.prefix(Office.shortIDLength)) \(place)" + (x.phone.isEmpty ? "" : " 电话 \(x.phone)"))
        }.joined(separator: language.pick(en: "; ", zh: "；"))
    }

    /// Updates member `existing` from a row. Columns the file does not have keep what the record holds (a file of
    /// names and phones does not blank every member's sector); a cell left empty in a column the file has clears it,
    /// except the site, which an empty cell leaves where it is.
    private func updateImportedMember(_ existing: String, to given: Member, cells row: [String: String], _ imported: ImportedMember,
                                      roster: inout MemberRoster, into summary: inout CSVImportSummary, _ language: Language) throws {
        var m = given
        let old = try member(existing)
        m.id = existing
        if row["gender"] == nil { m.gender = old.gender }
        if row["sector"] == nil { m.sector = old.sector }
        if row["party"] == nil { m.party = old.party }
        if row["term"] == nil { m.term = old.term }
        if m.siteID == nil { m.siteID = old.siteID }
        if row["phone"] == nil { m.phone = old.phone }
        if row["employer"] == nil { m.employer = old.employer }
        if row["position"] == nil { m.position = old.position }
        let before = try snapshot(.members, existing)
        try updateMember(m)
        let saved = try member(existing)
        summary.record(line: imported.line, label: imported.label, id: existing, changed: try snapshot(.members, existing) != before,
                       changes: Self.memberChanges(old, saved, sites: roster.siteNames, in: language))
        roster.save(saved, line: imported.line, natural: imported.natural)
    }

    /// "电话：13800000001 → 13900000002" for every field an update changed, as the summary lists them.
    static func memberChanges(_ old: Member, _ new: Member, sites: [String: String], in language: Language) -> [String] {
        let fields: [(String, (Member) -> String)] = [
            ("name", \.name), ("gender", \.gender), ("sector", \.sector), ("party", \.party), ("term", \.term),
            ("site", { Listing.site($0.siteID, sites) }), ("phone", \.phone), ("employer", \.employer), ("position", \.position),
        ]
        let empty = language.pick(en: "(empty)", zh: "（空）")
        return fields.compactMap { key, get in
            let a = get(old), b = get(new)
            guard a != b, let column = CSVTable.members.columns.first(where: { $0.key == key }) else { return nil }
            return language.pick(en: "\(key): \(a.isEmpty ? empty : a) → \(b.isEmpty ? empty : b)",
                             zh: "\(column.chinese)：\(a.isEmpty ? empty : a) → \(b.isEmpty ? empty : b)")
        }
    }

    /// Imports one proposal row; returns its merge target, to be checked once every row is in.
    private func importProposal(_ row: [String: String], line: Int, seen: inout [String: Int], into summary: inout CSVImportSummary, _ language: Language) throws -> (id: String, target: String)? {
        func v(_ k: String) -> String? { Self.cell(row, k) }
        var proposer = v("proposer_id")
        if proposer == nil, let name = v("proposer"), !Self.isOutsideMemberLabel(name) { proposer = try member(name).id }
        let existing = try importedProposalRecord(row, proposer: proposer)
        let label = [v("number"), v("title")].compactMap { $0 }.joined(separator: " ")
        let natural = v("id") ?? v("number") ?? "\(v("title") ?? "")\u{1F}\(proposer ?? "")"
        if let earlier = seen[natural] {
            summary.warnings.append(language.pick(en: "line \(line): \(label) is already on line \(earlier); both lines were taken as one proposal, line \(line)'s values kept",
                                              zh: "第 \(line) 行：\(label) 与第 \(earlier) 行是同一提案，按同一提案处理，保留第 \(line) 行的内容"))
        }
        seen[natural] = line
        var p = try importedProposal(row, proposer: proposer, existing: existing)
        let cosigners = try importedCosigners(row)
        if p.status == .merged && v("merged_into") == nil && existing?.mergedInto == nil { throw CPPCCError.missingValue(field: FieldName(en: "merged into", zh: "并入提案")) }
        if let existing {
            let changed = try updateImportedProposal(&p, existing, cells: row, cosigners: cosigners)
            summary.record(line: line, label: label.isEmpty ? existing.displayKey : label, id: p.id, changed: changed)
        } else {
            // Imported rows carry their recorded status as is: a CSV is historical data, not a workflow step.
            // No number: `addProposal` gives the county's next 案号 to a filed row, else a provisional one.
            let added = try addProposal(p, cosigners: cosigners)
            summary.recordAdded(line: line, label: "\(added.number) \(added.title)", id: added.id)
        }
        // Saved as given, as `proposal add` does, but a date years ahead is probably a typo: said per line.
        if let w = DateWarning.check(p) {
            summary.warnings.append(language.pick(en: "line \(line): ", zh: "第 \(line) 行：") + w.detail(in: language))
        }
        return v("merged_into").map { (p.id, $0) }
    }

    /// A proposal row's cell, nil when the file has no such column or the cell is empty.
    private static func cell(_ row: [String: String], _ key: String) -> String? { row[key].flatMap { $0.isEmpty ? nil : $0 } }

    /// The record a proposal row is: its id, else its 案号, else its title and proposer; nil for a new one.
    private func importedProposalRecord(_ row: [String: String], proposer: String?) throws -> Proposal? {
        func v(_ k: String) -> String? { Self.cell(row, k) }
        if let id = v("id") {
            return try db.scalar("SELECT count(*) FROM proposals WHERE id = ?", [.text(id)])?.int64Value != 0 ? try proposal(id) : nil
        } else if let number = v("number") {
            return try db.query("SELECT id FROM proposals WHERE number = ? ORDER BY id LIMIT 1", [.text(number)]).first.map { try proposal($0[0].str) }
        } else if let title = v("title") {
            return try db.query("SELECT id FROM proposals WHERE title = ? AND proposer_id IS ? ORDER BY id LIMIT 1", [.text(title), textOrNull(proposer)])
                .first.map { try proposal($0[0].str) }
        }
        return nil
    }

    /// The proposal a row gives, its cells checked; an empty year, status or key cell keeps what `existing` has.
    private func importedProposal(_ row: [String: String], proposer: String?, existing: Proposal?) throws -> Proposal {
        func v(_ k: String) -> String? { Self.cell(row, k) }
        let submitted = try Office.date(v("submitted_on"), field: FieldName(en: "submitted date", zh: "提交日期"))
        guard let year = v("year").map({ Int($0) }) ?? submitted.flatMap({ Int($0.prefix(4)) }) ?? existing?.year else {
            throw CPPCCError.invalidValue(field: FieldName(en: "year", zh: "年度"), value: v("year") ?? "", expected: Phrase(en: "a year such as 2026", zh: "年份，如 2026"))
        }
        // No status column (or an empty cell) keeps a known proposal's status; a new one is 已提交.
        guard let status = v("status").map({ ProposalStatus.parse($0) }) ?? existing?.status ?? .submitted else {
            throw CPPCCError.invalidValue(field: FieldName(en: "status", zh: "状态"), value: v("status") ?? "", expected: Phrase(stringLiteral: ProposalStatus.choices))
        }
        let isKey: Bool
        switch v("is_key") ?? (existing?.isKey == true ? "1" : "0") {
        case "1", "是", "true", "yes", "Y", "y": isKey = true
        case "0", "否", "false", "no", "N", "n": isKey = false
        case let other: throw CPPCCError.invalidValue(field: FieldName(en: "key proposal", zh: "重点提案"), value: other, expected: "1/0, 是/否")
        }
        var converted: String?
        if let c = v("converted_to") {
            guard let t = ConversionTarget.parse(c) else { throw CPPCCError.invalidValue(field: "converted_to", value: c, expected: Phrase(stringLiteral: ConversionTarget.choices)) }
            converted = t.rawValue
        }
        var p = Proposal(number: v("number") ?? "", session: v("session") ?? "", year: year, title: v("title") ?? "",
                         body: row["body"] ?? "", proposerID: proposer, siteID: try importedSite(row), submittedOn: submitted,
                         status: status, mergedInto: nil, convertedTo: converted, reviewNote: v("review_note") ?? "",
                         isKey: isKey, supervisor: v("supervisor") ?? "",
                         filedOn: try Office.date(v("filed_on"), field: "filed_on"), closedOn: try Office.date(v("closed_on"), field: "closed_on"))
        if let id = v("id") { p.id = id }
        return p
    }

    /// A proposal row's co-signers: by their ids (联名委员编号) when the file has them, and by name (联名委员) for every
    /// name that is not already one of those members (a name added by hand in Excel); another office's member is only
    /// an id.
    private func importedCosigners(_ row: [String: String]) throws -> [String] {
        func list(_ k: String) -> [String] {
            (Self.cell(row, k) ?? "").split(whereSeparator: { ";；、,，".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let cosignerIDs = list("cosigner_ids")
        let knownNames = Set(try cosignerIDs.compactMap { try db.scalar("SELECT name FROM members WHERE id = ?", [.text($0)])?.stringValue })
        return cosignerIDs + list("cosigners").filter { !Self.isOutsideMemberLabel($0) && !knownNames.contains($0) }
    }

    /// Updates `existing` from a row's proposal `p` (which takes its id) and adds the row's co-signers; cells the file
    /// leaves out keep what the record has. A status is never moved back. Returns whether the record changed.
    private func updateImportedProposal(_ p: inout Proposal, _ existing: Proposal, cells row: [String: String], cosigners: [String]) throws -> Bool {
        let status = p.status
        p.id = existing.id
        if row["body"] == nil { p.body = existing.body }
        if p.session.isEmpty { p.session = existing.session }
        if p.proposerID == nil { p.proposerID = existing.proposerID }
        if p.siteID == nil { p.siteID = existing.siteID }
        if p.submittedOn == nil { p.submittedOn = existing.submittedOn }
        if Self.cell(row, "review_note") == nil { p.reviewNote = existing.reviewNote }
        if Self.cell(row, "supervisor") == nil { p.supervisor = existing.supervisor }
        if p.convertedTo == nil { p.convertedTo = existing.convertedTo }
        if p.filedOn == nil { p.filedOn = existing.filedOn }
        if p.closedOn == nil { p.closedOn = existing.closedOn }
        if status.rank < existing.status.rank {
            throw WorkflowError.illegalTransition(existing.displayKey, from: existing.status, to: status)
        }
        let before = try snapshot(.proposals, p.id)
        try updateProposalDetails(p)
        try validate(&p)
        try db.run("UPDATE proposals SET status = ?, converted_to = ?, review_note = ?, filed_on = ?, closed_on = ? WHERE id = ?",
                   [.text(status.rawValue), textOrNull(p.convertedTo), .text(p.reviewNote),
                    textOrNull(p.filedOn), textOrNull(p.closedOn), .text(p.id)])
        for c in cosigners { try addCosigner(p.id, member: c) }
        return try snapshot(.proposals, p.id) != before
    }
}

/// The live (not voided) members an import matches its rows against, by name, kept up to date as rows add and
/// update members, and which line of the file took each member.
struct MemberRoster {
    struct Entry {
        var name: String
        var phone: String
        var site: String?
    }

    var members: [String: Entry] = [:]
    /// Site names by id, for the messages.
    var siteNames: [String: String] = [:]
    private var byName: [String: Set<String>] = [:]
    /// Member id → the line of the file that matched or added it, and that line's name and phone (`memberKey`).
    var claimed: [String: (line: Int, natural: String)] = [:]

    init() {}

    init(_ office: Office) throws {
        siteNames = try office.siteNames()
        for r in try office.db.query("SELECT id, name, phone, site_id FROM members WHERE \(Office.voidCondition(voidedOnly: false))") {
            put(r[0].str, Entry(name: r[1].str, phone: r[2].str, site: r[3].opt))
        }
    }

    private mutating func put(_ id: String, _ e: Entry) {
        if let old = members[id] { byName[old.name]?.remove(id) }
        members[id] = e
        byName[e.name, default: []].insert(id)
    }

    /// The members named `name` with this phone, in id order.
    func named(_ name: String, phone: String) -> [String] { (byName[name] ?? []).filter { members[$0]?.phone == phone }.sorted() }

    /// The members named `name` at `site` (at any site when nil), in id order.
    func named(_ name: String, site: String?) -> [String] { (byName[name] ?? []).filter { site == nil || members[$0]?.site == site }.sorted() }

    mutating func save(_ m: Member, line: Int, natural: String) {
        put(m.id, Entry(name: m.name, phone: m.phone, site: m.siteID))
        claimed[m.id] = (line, natural)
    }
}

/// What an import did, row by row. Rows are matched to records already in the database so that importing the same
/// file twice adds nothing the second time, and a list re-imported after a member's phone changed updates that
/// member instead of adding a second one:
/// - members: by the `id` (编号) column when the row has one; else the live member with the same name and phone
///   (姓名+电话, at any site: a member who moved); else the one live member with that name at the row's site (站点 or
///   站点编号; at any site this office holds when the row names none). When two or more members could be the row's,
///   it is not guessed: the row is skipped and listed with the candidates (`skipped`), and the rest is imported.
///   A row with the name of an earlier line's member but another phone is another person (added, and warned about);
/// - proposals: by `id` when given, else by 案号 (number), else by title and first proposer together.
public struct CSVImportSummary: Sendable, Encodable {
    public struct Entry: Sendable, Equatable, Encodable {
        public let line: Int
        public let id: String
        public let label: String
        /// For an update: what changed, "电话：13800000001 → 13900000002" (members; empty for proposals).
        public var changes: [String] = []

        init(line: Int, id: String, label: String, changes: [String] = []) {
            self.line = line
            self.id = id
            self.label = label
            self.changes = changes
        }
    }

    /// A line that was not imported, and why (which members it could be).
    public struct Skipped: Sendable, Equatable, Encodable {
        public let line: Int
        public let label: String
        public let reason: String
    }

    public let table: CSVTable
    public var added: [Entry] = []
    public var updated: [Entry] = []
    public var unchanged: [Entry] = []
    /// Lines not imported because the member they mean cannot be told (two members of the same name).
    public var skipped: [Skipped] = []
    /// Header cells the program does not know, ignored (序号, 备注, …).
    public var ignoredColumns: [String] = []
    /// Possible duplicates: the same member or proposal twice in the file, or a row like a record already there.
    public var warnings: [String] = []
    /// The encoding the file was read in (set by the caller that decoded it).
    public var encoding: String?

    public var total: Int { added.count + updated.count + unchanged.count }

    public init(table: CSVTable) { self.table = table }

    /// What became of each record so far (by id), so a record several rows match counts once.
    private var outcome: [String: Outcome] = [:]
    private enum Outcome { case added, updated, unchanged }

    mutating func recordAdded(line: Int, label: String, id: String) {
        added.append(Entry(line: line, id: id, label: label))
        outcome[id] = .added
    }

    mutating func skip(line: Int, label: String, reason: String) {
        skipped.append(Skipped(line: line, label: label, reason: reason))
    }

    /// A row matched a record: updated when it changed anything, else unchanged. A record matched by an earlier row
    /// of the file counts once, as its last row (an added one stays added).
    mutating func record(line: Int, label: String, id: String, changed: Bool, changes: [String] = []) {
        switch outcome[id] {
        case .added: return
        case .updated:
            let earlier = updated.first { $0.id == id }?.changes ?? []
            updated.removeAll { $0.id == id }
            updated.append(Entry(line: line, id: id, label: label, changes: earlier + changes))
        case .unchanged:
            unchanged.removeAll { $0.id == id }
            fallthrough
        case nil:
            if changed {
                updated.append(Entry(line: line, id: id, label: label, changes: changes))
                outcome[id] = .updated
            } else {
                unchanged.append(Entry(line: line, id: id, label: label))
                outcome[id] = .unchanged
            }
        }
    }

    /// A merge target set after the rows: the row's record changed after all.
    mutating func markUpdated(line: Int) {
        if let i = unchanged.firstIndex(where: { $0.line == line }) {
            let e = unchanged.remove(at: i)
            updated.append(e)
            outcome[e.id] = .updated
        }
    }

    enum CodingKeys: String, CodingKey {
        case table, added, updated, unchanged, skipped, warnings, encoding
        case ignoredColumns = "ignored_columns"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(table.rawValue, forKey: .table)
        try c.encode(added, forKey: .added)
        try c.encode(updated, forKey: .updated)
        try c.encode(unchanged, forKey: .unchanged)
        try c.encode(skipped, forKey: .skipped)
        try c.encode(ignoredColumns, forKey: .ignoredColumns)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(encoding, forKey: .encoding)
    }
}
