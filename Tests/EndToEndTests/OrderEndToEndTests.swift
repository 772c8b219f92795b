import Foundation
import Testing
import TestSupport

/// `cpsync order` through the real binary: the county's order of handling units and sites, set from a GB18030 or
/// UTF-8 file or the command line, used by `cpsync report` and the member list; refusals change nothing.
@Suite struct OrderEndToEndTests {
    @Test func theReportAndListsFollowTheOrderTheCountySet() throws {
        let ws = TempDir("order")
        defer { ws.cleanup() }
        let db = ["--db", ws.path("county.db")]
        #expect(try run(Binaries.cpsync, ["demo", "seed"] + db).ok)
        let file = ws.path("承办单位顺序.txt")
        try Data("\u{FEFF}县住房和城乡建设局\r\n县水利局\r\n县教育局\r\n".utf8).write(to: URL(fileURLWithPath: file))
        let set = try run(Binaries.cpsync, ["order", "units", "--file", file] + db, env: ["LANG": "zh_CN.UTF-8"])
        #expect(set.ok && set.stdout.contains("3 项"), "\(set.stdout) \(set.stderr)")
        let report = try run(Binaries.cpsync, ["report", "--year", "2026", "--format", "csv", "--english-headers"] + db).stdout
        let units = report.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("unit:") }.map { String($0.prefix { $0 != "," }) }
        var seen: [String] = []
        for u in units where !seen.contains(u) { seen.append(u) }
        #expect(Array(seen.prefix(3)) == ["unit:县住房和城乡建设局", "unit:县水利局", "unit:县教育局"], "\(seen)")

        #expect(try run(Binaries.cpsync, ["order", "sites", "taohe", "chengguan"] + db).ok)
        let shown = try run(Binaries.cpsync, ["order", "show", "--json"] + db)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect((json["sites"] as? [String])?.prefix(3) == ["county", "taohe", "chengguan"], "\(shown.stdout)")
        let members = try run(Binaries.cpsync, ["member", "list"] + db).stdout.split(whereSeparator: \.isNewline).dropFirst()
        let firstTaohe = try #require(members.firstIndex { $0.contains("桃河乡政协工委") })
        let firstHuashan = try #require(members.firstIndex { $0.contains("华山镇政协工委") })
        #expect(firstTaohe < firstHuashan, "\(members)")

        let bad = try run(Binaries.cpsync, ["order", "sites", "taohe", "atlantis"] + db)
        #expect(bad.status == 65 && bad.stderr.contains("atlantis"), "\(bad.stderr)")
        let again = try run(Binaries.cpsync, ["order", "show", "--json"] + db)
        #expect(again.stdout == shown.stdout, "the refused order changed nothing")
        #expect(try run(Binaries.cpsync, ["order", "clear", "sites"] + db).ok)
    }
}
