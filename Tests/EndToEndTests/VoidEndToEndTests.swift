import Foundation
import Testing

/// Void (作废) through the real binaries and a real daemon: a township voids its own member and proposal, the void
/// reaches the county, the records leave lists and the report there, the township cannot restore, the county can.
@Suite(.serialized) struct VoidEndToEndTests {
    @Test func aTownshipVoidsTheCountySeesItAndOnlyTheCountyRestores() throws {
        let county = try County("void", sites: ["huashan"])
        defer { county.cleanup() }
        let countyOffice = try county.office("county"), huashan = try county.office("huashan")
        for o in [countyOffice, huashan] { try o.must(["sync"]) }
        try huashan.verb(["member", "add", "--name", "张伟"])
        try huashan.verb(["member", "add", "--name", "刘芳"])
        try huashan.verb(["proposal", "add", "--title", "关于乡村公路养护的提案", "--proposer", "张伟", "--year", "2026"])
        try huashan.verb(["proposal", "add", "--title", "关于乡村公路养护的提案（重复）", "--proposer", "张伟", "--year", "2026"])

        let noReason = try huashan.tryVerb(["proposal", "void", "huashan-2026-002"])
        #expect(noReason.status == 64 && noReason.stderr.contains("--reason"), "\(noReason.stderr)")
        let voided = try huashan.verb(["proposal", "void", "huashan-2026-002", "--reason", "重复提交", "--date", "2026-03-02"])
        #expect(voided.stdout.contains("huashan-2026-002"), "\(voided.stdout)")
        try huashan.verb(["member", "void", "刘芳", "--reason", "误录"])
        #expect(!(try huashan.verb(["proposal", "list"]).stdout.contains("huashan-2026-002")))
        #expect(!(try huashan.verb(["member", "list"]).stdout.contains("刘芳")))
        let show = try huashan.verb(["proposal", "show", "huashan-2026-002"]).stdout
        #expect(show.contains("VOIDED") && show.contains("重复提交"), "the record is kept, marked: \(show)")

        let refused = try huashan.tryVerb(["proposal", "restore", "huashan-2026-002"])
        #expect(refused.status == 65 && refused.stderr.contains("county"), "\(refused.stderr)")
        let refusedZh = try huashan.tryVerb(["proposal", "restore", "huashan-2026-002"], env: ["LANG": "zh_CN.UTF-8"])
        #expect(refusedZh.status == 65 && refusedZh.stderr.contains("县政协"), "\(refusedZh.stderr)")

        for o in [huashan, countyOffice] { try o.must(["sync"]) }
        let list = try countyOffice.verb(["proposal", "list"]).stdout
        #expect(list.contains("huashan-2026-001") && !list.contains("huashan-2026-002"), "\(list)")
        #expect(try countyOffice.verb(["proposal", "list", "--voided"]).stdout.contains("huashan-2026-002"))
        let report = try countyOffice.verb(["report", "--year", "2026", "--format", "csv", "--english-headers"]).stdout
        #expect(report.contains("overall,received,1"), "\(report)")

        try countyOffice.verb(["proposal", "restore", "huashan-2026-002"])
        try countyOffice.verb(["member", "restore", "刘芳"])
        let again = try countyOffice.verb(["report", "--year", "2026", "--format", "csv", "--english-headers"]).stdout
        #expect(again.contains("overall,received,2"), "\(again)")
        for o in [countyOffice, huashan] { try o.must(["sync"]) }
        #expect(try huashan.verb(["proposal", "list"]).stdout.contains("huashan-2026-002"))
        #expect(try huashan.verb(["member", "list"]).stdout.contains("刘芳"))
    }
}
