import Foundation
import Testing
import TestSupport

/// Through the real `cpsync`: lists print site names, and records are addressed by a short unique start of their id
/// as well as by number or name; an ambiguous start is refused (exit 65) listing the candidates.
@Suite struct LookupEndToEndTests {
    @Test func listsShowSiteNamesAndAShortIdPicksTheRecord() throws {
        let ws = TempDir("lookup")
        defer { ws.cleanup() }
        let db = ["--db", ws.path("county.db")]
        #expect(try run(Binaries.cpsync, ["demo", "seed"] + db).ok)

        let members = try run(Binaries.cpsync, ["member", "list"] + db)
        #expect(members.ok && members.stdout.contains("华山镇政协工委") && members.stdout.contains("某县政协"), "\(members.stdout)")
        #expect(!members.stdout.split(whereSeparator: \.isNewline).contains { $0.contains(" huashan ") }, "a site id in the list: \(members.stdout)")
        let proposals = try run(Binaries.cpsync, ["proposal", "list"] + db)
        #expect(proposals.ok && proposals.stdout.contains("桃河乡政协工委"), "\(proposals.stdout)")
        for verb in ["social", "activity"] {
            let list = try run(Binaries.cpsync, [verb, "list"] + db)
            #expect(list.ok && list.stdout.contains("政协"), "\(verb): \(list.stdout)")
        }

        // A member by the first characters of the id the list prints.
        let json = try run(Binaries.cpsync, ["member", "show", "张伟", "--json"] + db)
        let id = try #require((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["id"] as? String)
        let short = try run(Binaries.cpsync, ["member", "show", String(id.prefix(8))] + db)
        #expect(short.ok && short.stdout.contains("张伟") && short.stdout.contains("华山镇政协工委 (huashan)"), "\(short.stderr)")

        // A proposal by a unique start of its id; a shared start is refused naming every candidate.
        let one = try run(Binaries.cpsync, ["proposal", "show", "p2025"] + db)
        #expect(one.ok && one.stdout.contains("关于建设华山镇农贸市场的提案"), "\(one.stderr)")
        let many = try run(Binaries.cpsync, ["proposal", "show", "p2026-01"] + db)
        #expect(many.status == 65, "\(many.stdout)")
        for candidate in ["p2026-010", "p2026-011", "p2026-012", "p2026-013"] {
            #expect(many.stderr.contains(candidate), "\(candidate) missing: \(many.stderr)")
        }
        let zh = try run(Binaries.cpsync, ["proposal", "file", "p2026-01"] + db, env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.status == 65 && zh.stderr.contains("对应多个提案") && zh.stderr.contains("未做任何更改"), "\(zh.stderr)")
        let status = try run(Binaries.cpsync, ["proposal", "show", "p2026-011", "--json"] + db)
        #expect(status.ok && status.stdout.contains("under_review"), "the refused step changed nothing: \(status.stdout)")
    }
}
