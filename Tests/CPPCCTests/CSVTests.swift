import CPPCC
import CPSyncCore
import CPSyncText
import Foundation
import Testing
import TestSupport

@Suite struct CSVTests {
    @Test func quotedFieldsKeepCommasQuotesAndLineBreaks() throws {
        let text = "\u{FEFF}a,b,c\r\n\"x, y\",\"他说\"\"好\"\"\",\"第一行\n第二行\"\r\nlast,,\n"
        let records = try CSV.parse(text)
        #expect(records.map(\.fields) == [["a", "b", "c"], ["x, y", "他说\"好\"", "第一行\n第二行"], ["last", "", ""]])
        #expect(records.map(\.line) == [1, 2, 4])
        #expect(try CSV.parse(CSV.write(records.map(\.fields))).map(\.fields) == records.map(\.fields))
        #expect(CSV.write([["a"]]).hasPrefix("\u{FEFF}"))
    }

    @Test func numberCodesStayTextInExcelAndNoCellRunsAsAFormula() throws {
        for code in ["0937-1234567", "13800000001", "007", "+86 138 0000 0000", "2026-001", "(0937)1234567", "1234567"] {
            #expect(CSV.spreadsheetCell(code) == "=\"\(code)\"", "\(code)")
            #expect(CSV.value(CSV.spreadsheetCell(code)) == code)
        }
        for plain in ["7", "0", "2026", "57.1", "0.5", "57.1%", "—", "2026-03-01", "张伟", "", "八届四次会议", "县水利局"] {
            #expect(CSV.spreadsheetCell(plain) == plain, "\(plain)")
        }
        for formula in ["=1+1", "+SUM(A1:A9)", "-A1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x.example\",\"点此\")", "-", "+"] {
            #expect(CSV.spreadsheetCell(formula) == "'" + formula, "\(formula)")
            #expect(CSV.value(CSV.spreadsheetCell(formula)) == formula)
        }
        // Through the writer and back: quoted as RFC 4180 wants, read back as what was written.
        let rows = [["姓名", "电话", "备注"], ["张伟", "0937-1234567", "=cmd|' /C calc'!A0"], ["李娜", "13800000001", "@李娜"]]
        let text = CSV.write(rows)
        #expect(text.contains("\"=\"\"0937-1234567\"\"\"") && text.contains("'=cmd|' /C calc'!A0") && text.contains("'@李娜"), "\(text)")
        #expect(try CSV.parse(text).map { $0.fields.map(CSV.value) } == rows)
        // The unquoted form other programs write is read too; an apostrophe before anything else is kept.
        #expect(try CSV.parse("电话,名\r\n=\"0937\",'s\r\n").map { $0.fields.map(CSV.value) } == [["电话", "名"], ["0937", "'s"]])
    }

    @Test func exportThenImportIntoAnotherReplicaRoundTrips() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let a = try makeOffice(dir, "county")
        try a.seedDemo()
        // Awkward values survive too.
        let m = try a.member("张伟")
        var edited = m
        edited.employer = "华山镇\"农技\"站, 二楼\n东侧"
        try a.updateMember(edited)
        let members = try a.exportCSV(.members, in: .english), proposals = try a.exportCSV(.proposals, in: .english)
        let b = try makeOffice(dir, "other")
        for site in try a.sites() { try b.saveSite(site) }  // every office holds the site tree: 站点 is written by name
        #expect(try b.importCSV(.members, text: members, fileName: "m.csv", in: .english).added.count == 12)
        #expect(try b.importCSV(.proposals, text: proposals, fileName: "p.csv", in: .english).added.count == 14)
        let (bm, bp) = (try b.exportCSV(.members, in: .english), try b.exportCSV(.proposals, in: .english))
        #expect(bm == members, "\(bm)\n\(members)")
        #expect(bp == proposals, "\(bp)\n\(proposals)")
        #expect(try b.member(m.id).employer == edited.employer)
        // Importing the same file again updates in place: nothing is duplicated.
        let again = try b.importCSV(.members, text: members, fileName: "m.csv", in: .english)
        #expect(try b.members().count == 12)
        #expect(again.added.isEmpty && again.updated.isEmpty && again.unchanged.count == 12)
    }

    @Test func chineseAndEnglishHeadersAreBothAccepted() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        try o.importCSV(.members, text: "\u{FEFF}姓名,性别,界别,党派\r\n李秀英,女,教育,民盟\r\n", fileName: "zh.csv", in: .english)
        try o.importCSV(.members, text: "name,gender,sector\nJohn,M,经济\n", fileName: "en.csv", in: .english)
        #expect(try o.member("李秀英").sector == "教育")
        #expect(try o.member("John").gender == "男")
    }

    @Test func aBadRowNamesItsLineAndNothingFromTheFileIsImported() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        // Line 2 spans two physical lines; the bad gender is on the record starting at line 4.
        let text = "姓名,性别,工作单位\r\n王建国,男,\"县发改局\r\n二楼\"\r\n李四,未知,县教育局\r\n"
        #expect(throws: CPPCCError.self) { try o.importCSV(.members, text: text, fileName: "members.csv", in: .english) }
        do {
            try o.importCSV(.members, text: text, fileName: "members.csv", in: .english)
        } catch let e as CPPCCError {
            guard case .csv(let file, let line, _) = e else { Issue.record("wrong error \(e)"); return }
            #expect(file == "members.csv" && line == 4)
            #expect(e.description.contains("members.csv") && e.description.contains("4"))
            #expect(e.exitCode.rawValue == 65)
        }
        #expect(try o.members().isEmpty)
        #expect(try o.replica.changes(after: 0).changes.filter { $0.table == "members" }.isEmpty)
    }

    @Test func aDayThatDoesNotExistInAnImportedRowNamesItsLine() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        let text = "number,year,title,submitted_on\n2026-001,2026,一,2026-02-28\n2026-002,2026,二,2026-02-30\n"
        #expect(throws: CPPCCError.self) { try o.importCSV(.proposals, text: text, fileName: "p.csv", in: .english) }
        do { try o.importCSV(.proposals, text: text, fileName: "p.csv", in: .english) } catch let e as CPPCCError {
            guard case .csv(_, let line, let reason) = e else { Issue.record("wrong error \(e)"); return }
            #expect(line == 3 && reason.english.contains("2026-02-30"), "\(e)")
        }
        #expect(try o.proposals().isEmpty)
    }

    @Test func malformedQuotingAndBadValuesAreRefusedWithALine() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        #expect(throws: CPPCCError.csv(file: "f.csv", line: 3, reason: CSVReason.unclosed)) {
            try o.importCSV(.members, text: "姓名\n张三\n\"李四\n", fileName: "f.csv", in: .english)
        }
        #expect(throws: CPPCCError.self) { try o.importCSV(.proposals, text: "标题,状态\n提案,飞了\n", fileName: "p.csv", in: .english) }
        #expect(try o.members().isEmpty && o.proposals().isEmpty)
    }
}

enum CSVReason {
    static var unclosed: Phrase { (try? CSV.parse("\"x")).map { _ in "" } ?? syntaxReason("\"x") }
    static func syntaxReason(_ text: String) -> Phrase {
        do { _ = try CSV.parse(text); return "" } catch { return error.reason }
    }
}
