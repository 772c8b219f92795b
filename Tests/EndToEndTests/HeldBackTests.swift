import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// Invariant 4: one bad change never blocks the others. Writes SQLite accepts but the county refuses are set aside
/// visibly at the office (with the reason) while every other change keeps flowing; fixing the record sends it.
/// Invariant 5: keys and text are bytes.
@Suite(.serialized) struct HeldBackTests {
    @Test func legalSQLiteWritesTheCountyRefusesAreSetAsideAndEverythingElseFlows() throws {
        let county = try County("held", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let a = try county.office("huashan"), b = try county.office("chengguan")
        try a.must(["sync"])
        let longKey = String(repeating: "k", count: 129)
        try a.sql("INSERT INTO proposals(id, title, year, site_id) VALUES ('p-real', '年份写成小数', 2026.5, 'huashan')")
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('m-blob', x'00ff', 'huashan')")
        try a.sql("INSERT INTO members(id, name, site_id) VALUES (?, '键太长', 'huashan')", [.text(longKey)])
        try a.sql("INSERT INTO members(id, name, site_id) VALUES ('m-bad-utf8', CAST(x'e78e8bff' AS TEXT), 'huashan')")
        try a.sql("INSERT INTO members(id, name, gender, site_id) VALUES ('m-good', '王芳', '女', 'huashan')")
        let first = try a.cpsync(["sync"])
        #expect(first.status == 65, "\(first.stderr)")
        #expect(first.stderr.contains("set aside"), "\(first.stderr)")
        // In Chinese, each names the record and the field and says what to do; the technical detail stands apart.
        let zhStatus = try a.cpsync(["status"], env: ["LANG": "zh_CN.UTF-8"])
        #expect(zhStatus.stdout.contains("提案「年份写成小数」 · 年度：该字段的值类型不对") && zhStatus.stdout.contains("（技术信息："), "\(zhStatus.stdout)")
        #expect(zhStatus.stdout.contains("文字不是有效的编码") && zhStatus.stdout.contains("记录编号无效"), "\(zhStatus.stdout)")
        let beforeDetail = zhStatus.stdout.split(separator: "\n").filter { $0.contains("技术信息") }.map { $0.components(separatedBy: "（技术信息")[0] }
        #expect(!beforeDetail.isEmpty && beforeDetail.allSatisfy { !$0.contains("column") && !$0.contains("takes") }, "English only in the technical part: \(beforeDetail)")
        let server = try Database(path: county.serverDB)
        #expect(try server.scalar("SELECT name FROM members WHERE id = 'm-good'") == .text("王芳"))
        #expect(try server.scalar("SELECT count(*) FROM members WHERE id = ?", [.text(longKey)]) == .integer(0))
        // Of the other bad rows, only the bad cells wait; the rest of each row went.
        #expect(try server.scalar("SELECT title FROM proposals WHERE id = 'p-real'") == .text("年份写成小数"))
        #expect(try server.query("SELECT name, site_id FROM members WHERE id IN ('m-blob', 'm-bad-utf8')") == [[.text(""), .text("huashan")], [.text(""), .text("huashan")]])
        let status = try a.cpsync(["status", "--json"])
        let held = try #require(JSONText.member(status.stdout, "held"))
        for needle in ["\"proposals\"", "\"year\"", "m-blob", "m-bad-utf8", longKey, "wrong_type", "malformed_key", "invalid_text"] {
            #expect(held.contains(needle), "status does not list \(needle): \(status.stdout)")
        }
        // Later valid changes are not stuck behind them.
        try a.sql("UPDATE members SET phone = '13900000000' WHERE id = 'm-good'")
        #expect(try a.cpsync(["sync"]).status == 65)
        #expect(try server.scalar("SELECT phone FROM members WHERE id = 'm-good'") == .text("13900000000"))
        // The clerk fixes the records: the fixes go, the held list empties (the over-long key is deleted instead).
        try a.sql("UPDATE proposals SET year = 2026 WHERE id = 'p-real'")
        try a.sql("UPDATE members SET name = '李强' WHERE id IN ('m-blob', 'm-bad-utf8')")
        try a.sql("DELETE FROM members WHERE id = ?", [.text(longKey)])
        let fixed = try a.cpsync(["sync"])
        #expect(fixed.ok, "\(fixed.stderr)")
        #expect(try server.scalar("SELECT year FROM proposals WHERE id = 'p-real'") == .integer(2026))
        #expect(try server.scalar("SELECT count(*) FROM members WHERE name = '李强'") == .integer(2))
        #expect(JSONText.objects(try a.cpsync(["status", "--json"]).stdout, "held")?.isEmpty == true)
        try b.must(["sync"])
        #expect(try contentDump(b.db) == contentDump(county.serverDB, scope: b.site))
    }

    @Test func keysThatAreCanonicallyEqualButDifferentBytesStayTwoRowsEverywhere() throws {
        let county = try County("nfd", sites: ["huashan"])
        defer { county.cleanup() }
        let a = try county.office("huashan"), b = try county.office("county")
        let nfc = "m-\u{00e9}", nfd = "m-e\u{0301}"
        #expect(nfc == nfd && Array(nfc.utf8) != Array(nfd.utf8))
        try a.sql("INSERT INTO members(id, name, site_id) VALUES (?, '组合前', 'huashan')", [.text(nfc)])
        try a.sql("INSERT INTO members(id, name, site_id) VALUES (?, '组合后', 'huashan')", [.text(nfd)])
        try a.must(["sync"])
        try b.must(["sync"])
        for db in [county.serverDB, b.db] {
            let rows = try Database(path: db).query("SELECT hex(id), name FROM members ORDER BY id")
            #expect(rows.count == 2, "\(db): \(rows)")
            #expect(Set(rows.map { $0[1] }) == [.text("组合前"), .text("组合后")])
        }
        #expect(try contentDump(b.db) == contentDump(county.serverDB, scope: b.site))
    }

    @Test func aCausalLengthNearTheIntegerLimitIsRefusedAndHarmsNobody() throws {
        let county = try County("cl", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let b = try county.office("chengguan")
        try b.must(["sync"])
        let change = Change(table: "members", pk: "m-evil", column: nil, value: .null,
                            version: Version(hlc: HLC.wallClock(), site: "huashan"), causalLength: Int64.max - 1)
        let body = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "evil", site: "huashan", changes: [change]).encoded()
        let file = county.ws.path("evil.json")
        try Data(body).write(to: URL(fileURLWithPath: file))
        let curl = try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "--data-binary", "@" + file,
                                             "-H", "Authorization: Bearer \(county.tokens["huashan"]!)", "-H", "Content-Type: application/json",
                                             county.daemon.url + "/v1/push"])
        #expect(curl.stdout == "400", "\(curl.stdout) \(curl.stderr)")
        try b.sql("INSERT INTO members(id, name, site_id) VALUES ('m-b', '李强', 'chengguan')")
        try b.must(["sync"])
        try b.must(["status"])
        #expect(try Database(path: county.serverDB).scalar("SELECT count(*) FROM members WHERE id = 'm-evil'") == .integer(0))
    }
}
