import CPPCC
import CPSyncCore
import Foundation
import Testing

@Suite struct ReportTests {
    /// A hand-built year: county (4 received, 3 filed, 2 closed), township t1 (3 received, 1 filed, a draft that
    /// does not count), township t2 with nothing, station s1 under t1 with one social report.
    func fixture(_ dir: TempDir) throws -> Office {
        let o = try makeOffice(dir, "county")
        let db = o.replica.database
        try db.execute("""
            INSERT INTO sites(id, name, kind, parent_id) VALUES ('county', '某县政协', 'county', NULL),
              ('t1', '华山镇政协工委', 'township', 'county'), ('t2', '桃河乡政协工委', 'township', 'county'),
              ('s1', '新街社区联络站', 'station', 't1');
            INSERT INTO proposals(id, number, year, title, site_id, status, is_key, supervisor, merged_into, converted_to) VALUES
              ('p1', '2026-001', 2026, '一', 'county', 'closed', 1, '主席', NULL, NULL),
              ('p2', '2026-002', 2026, '二', 'county', 'filed', 0, '', NULL, NULL),
              ('p3', '2026-003', 2026, '三', 'county', 'not_filed', 0, '', NULL, NULL),
              ('p8', '2026-008', 2026, '八', 'county', 'closed', 0, '', NULL, NULL),
              ('p4', '2026-004', 2026, '四', 't1', 'merged', 0, '', 'p2', NULL),
              ('p5', '2026-005', 2026, '五', 't1', 'converted', 0, '', NULL, 'letter'),
              ('p6', '2026-006', 2026, '六', 't1', 'evaluated', 1, '副主席', NULL, NULL),
              ('p7', '2026-007', 2026, '七', 't1', 'draft', 0, '', NULL, NULL),
              ('old', '2025-001', 2025, '去年', 'county', 'closed', 0, '', NULL, NULL);
            INSERT INTO proposal_handlers(id, proposal_id, unit, role, replied_on, reply, category, met_proposer, satisfaction) VALUES
              ('h1', 'p1', '县水利局', 'lead', '2026-05-01', '答复', 'A', 1, 'satisfied'),
              ('h8', 'p8', '县水利局', 'lead', '2026-05-02', '答复', 'C', 1, 'dissatisfied'),
              ('h6', 'p6', '县教育局', 'lead', '2026-05-03', '答复', 'B', 0, 'basically'),
              ('h2', 'p2', '县交通局', 'lead', NULL, NULL, NULL, 0, NULL),
              ('hold', 'old', '县水利局', 'lead', '2025-05-01', '答复', 'A', 1, 'satisfied');
            INSERT INTO social_reports(id, title, site_id, reported_on, adopted) VALUES
              ('r1', '社情一', 'county', '2026-03-01', 1), ('r2', '社情二', 's1', '2026-04-01', 0), ('r3', '去年', 'county', '2025-04-01', 1);
            INSERT INTO activities(id, kind, topic, held_on, site_id) VALUES
              ('a1', 'inspection', '视察', '2026-04-01', 'county'), ('a2', 'study', '学习', '2026-05-01', 't1'),
              ('a3', 'study', '学习', '2026-06-01', 's1'), ('a4', 'forum', '去年', '2025-06-01', 't1');
            """)
        return o
    }

    @Test func overallFiguresMatchTheHandCountedYear() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let r = try fixture(dir).report(year: 2026)
        let p = r.overall.proposals, h = r.overall.handling
        #expect([p.received, p.filed, p.notFiled, p.merged, p.converted, p.closed] == [7, 4, 1, 1, 1, 2] as [Int])
        #expect(p.filingRate.text == "57.1%")
        #expect(p.completionRate.text == "50.0%")
        #expect([h.replies, h.metProposer, h.evaluated, h.satisfied, h.basicallySatisfied, h.dissatisfied] == [3, 2, 3, 1, 1, 1] as [Int])
        #expect(h.faceToFaceRate.text == "66.7%")
        #expect(h.satisfactionRate.text == "33.3%")
        #expect(h.satisfiedOrBasicallyRate.text == "66.7%")
        #expect(r.overall.socialReports.received == 2 && r.overall.socialReports.adopted == 1)
        #expect(r.overall.activities.byKind["study"] == 2 && r.overall.activities.total == 3)
        #expect(r.keyProposals.map(\.number) == ["2026-001", "2026-006"])
        let water = try #require(r.categoriesByUnit.first { $0.unit == "县水利局" })
        #expect([water.a, water.b, water.c] == [1, 0, 1] as [Int])
        #expect(Rate(water.a, water.replies).text == "50.0%" && Rate(water.b, water.replies).text == "0.0%")
    }

    @Test func perSiteFiguresAndEmptySitesPrintADashNotNaN() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let r = try fixture(dir).report(year: 2026)
        let county = try #require(r.bySite.first { $0.siteID == "county" }).figures
        #expect(county.proposals.filingRate.text == "75.0%" && county.proposals.completionRate.text == "66.7%")
        let t1 = try #require(r.bySite.first { $0.siteID == "t1" }).figures
        #expect(t1.proposals.received == 3 && t1.proposals.filingRate.text == "33.3%" && t1.proposals.completionRate.text == "0.0%")
        let t2 = try #require(r.bySite.first { $0.siteID == "t2" }).figures
        #expect(t2.proposals.filingRate.text == "—" && t2.handling.satisfactionRate.text == "—")
        #expect(t2.proposals.filingRate.percent == nil)
        let json = try ReportFormat.json.render(r)
        #expect(!json.contains("NaN") && json.contains("\"filing_rate\" : null") && json.contains("\"filing_rate\" : 57.1"))
        for format in ReportFormat.allCases { #expect(!(try format.render(r)).contains("NaN")) }
    }

    @Test func aSiteReportIncludesItsDescendantsOnly() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let r = try fixture(dir).report(year: 2026, site: "t1")
        #expect(r.overall.proposals.received == 3)
        #expect(r.overall.socialReports.received == 1)  // from station s1
        #expect(r.overall.activities.byKind["study"] == 2)
        #expect(Set(r.bySite.map(\.siteID)) == ["t1", "s1"])
        #expect(throws: CPPCCError.notFound(kind: "site", key: "nowhere")) { try fixture(TempDir()).report(year: 2026, site: "nowhere") }
    }

    @Test func htmlIsOneSelfContainedPageWithCharts() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let html = try ReportFormat.html.render(try fixture(dir).report(year: 2026))
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && html.contains("@media print"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"))
    }
}
