import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

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
        let r = try fixture(dir).report(year: 2026, in: .english)
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
        let r = try fixture(dir).report(year: 2026, in: .english)
        let county = try #require(r.bySite.first { $0.siteID == "county" }).figures
        #expect(county.proposals.filingRate.text == "75.0%" && county.proposals.completionRate.text == "66.7%")
        let t1 = try #require(r.bySite.first { $0.siteID == "t1" }).figures
        #expect(t1.proposals.received == 3 && t1.proposals.filingRate.text == "33.3%" && t1.proposals.completionRate.text == "0.0%")
        let t2 = try #require(r.bySite.first { $0.siteID == "t2" }).figures
        #expect(t2.proposals.filingRate.text == "—" && t2.handling.satisfactionRate.text == "—")
        #expect(t2.proposals.filingRate.percent == nil)
        let json = try ReportFormat.json.render(r, in: .english)
        #expect(!json.contains("NaN") && json.contains("\"filing_rate\" : null") && json.contains("\"filing_rate\" : 57.1"))
        for format in ReportFormat.allCases { #expect(!(try format.render(r, in: .english)).contains("NaN")) }
    }

    @Test func aSiteReportIncludesItsDescendantsOnly() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let r = try fixture(dir).report(year: 2026, site: "t1", in: .english)
        #expect(r.overall.proposals.received == 3)
        #expect(r.overall.socialReports.received == 1)  // from station s1
        #expect(r.overall.activities.byKind["study"] == 2)
        #expect(Set(r.bySite.map(\.siteID)) == ["t1", "s1"])
        #expect(throws: CPPCCError.notFound(kind: "site", key: "nowhere")) { try fixture(TempDir()).report(year: 2026, site: "nowhere", in: .english) }
    }

    @Test func htmlIsOneSelfContainedPageWithCharts() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let html = try ReportFormat.html.render(try fixture(dir).report(year: 2026, in: .english), in: .english)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && html.contains("@media print"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"))
    }

    @Test func eachHandlingUnitCountsLeadAndCoProposalsApartFromItsResponses() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try fixture(dir)
        try o.replica.database.execute("""
            INSERT INTO proposal_handlers(id, proposal_id, unit, role, replied_on, reply, category, met_proposer, satisfaction) VALUES
              ('h9', 'p1', '县教育局', 'co', '2026-05-05', '协办答复', 'A', 0, 'satisfied');
            """)
        let r = try o.report(year: 2026, in: .english)
        let edu = try #require(r.categoriesByUnit.first { $0.unit == "县教育局" })
        #expect([edu.lead, edu.co, edu.handled, edu.closed] == [1, 1, 2, 1] as [Int])
        #expect([edu.replies, edu.a, edu.b, edu.c, edu.metProposer, edu.evaluated, edu.satisfied] == [2, 1, 1, 0, 0, 2, 1] as [Int])
        #expect(edu.completionRate.text == "50.0%" && edu.faceToFaceRate.text == "0.0%" && edu.satisfactionRate.text == "50.0%")
        let water = try #require(r.categoriesByUnit.first { $0.unit == "县水利局" })
        #expect([water.lead, water.co, water.closed, water.metProposer] == [2, 0, 2, 2] as [Int])
        #expect(water.completionRate.text == "100.0%" && water.faceToFaceRate.text == "100.0%" && water.satisfactionRate.text == "50.0%")
        let traffic = try #require(r.categoriesByUnit.first { $0.unit == "县交通局" })
        #expect(traffic.lead == 1 && traffic.replies == 0 && traffic.faceToFaceRate.text == "—" && traffic.completionRate.text == "0.0%")
        // The busiest units first.
        #expect(r.categoriesByUnit.map(\.unit).prefix(2).sorted() == ["县教育局", "县水利局"])
        let json = try ReportFormat.json.render(r, in: .english)
        for key in ["\"lead\" : 1", "\"co\" : 1", "\"completion_rate\" : 50", "\"face_to_face_rate\" : 0", "\"a_share\" : 50"] {
            #expect(json.contains(key), "JSON lacks \(key)")
        }
    }

    @Test func aPeriodCountsWhatWasSubmittedInItAndWhatHappenedByItsLastDay() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try fixture(dir)
        try o.replica.database.execute("""
            UPDATE proposals SET closed_on = '2026-06-20' WHERE id = 'p1';
            UPDATE proposals SET closed_on = '2026-07-10' WHERE id = 'p8';
            UPDATE proposals SET submitted_on = '2026-07-05' WHERE id = 'p2';
            """)
        let half = try o.report(period: .range(from: "2026-01-01", to: "2026-06-30"), in: .english)
        #expect(half.year == nil && half.period.from == "2026-01-01" && half.period.to == "2026-06-30")
        #expect(half.overall.proposals.received == 6)  // p2 was submitted in July
        #expect(half.overall.proposals.closed == 1)  // p8 was closed in July
        #expect(half.overall.handling.replies == 3)
        let may = try o.report(period: .range(from: "2026-01-01", to: "2026-05-01"), in: .english)
        #expect(may.overall.handling.replies == 1 && may.overall.handling.evaluated == 1)
        let march = try o.report(period: .range(from: "2026-03-01", to: "2026-03-31"), in: .english)
        #expect(march.overall.socialReports.received == 1 && march.overall.activities.total == 0)
        #expect(half.title(chinese: true) == "某县政协 2026年1月1日至6月30日工作统计")
        #expect(try ReportPeriod.range(from: "2026-01-01", to: "2026-12-31") == .year(2026))
        #expect(throws: DateError.periodReversed(from: "2026-07-01", to: "2026-06-30")) { try ReportPeriod.range(from: "2026-07-01", to: "2026-06-30") }
        #expect(throws: DateError.noSuchDay(field: "--to", value: "2026-06-31", daysInMonth: 30)) { try ReportPeriod.range(from: "2026-01-01", to: "2026-06-31") }
    }

    @Test func theCommitteesNameIsInTheTitleOfEveryFormat() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let r = try fixture(dir).report(year: 2026, in: .english)
        #expect(r.committee == "某县政协")
        #expect(r.title(chinese: true) == "某县政协 2026 年度工作统计" && r.title(chinese: false).hasPrefix("某县政协 — "))
        for format in ReportFormat.allCases { #expect(try format.render(r, in: .english).contains("某县政协"), "\(format) lacks the committee") }
        #expect(ReportFormat.csv(r, chineseHeaders: true).contains("报表,标题,某县政协 2026 年度工作统计"))
        let t1 = try fixture(TempDir()).report(year: 2026, site: "t1", in: .english)
        #expect(t1.title(chinese: true) == "某县政协 2026 年度工作统计（华山镇政协工委及下属站点）")
        // No county in the site tree: no name rather than a wrong one.
        let bare = try makeOffice(dir, "x").report(year: 2026, in: .english)
        #expect(bare.committee == nil && bare.title(chinese: false) == "CPPCC statistics 2026")
    }

    @Test func aTownshipReportsItsOwnAreaUnderItsOwnNameAndNamesNoProposerById() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        // The township's replica also holds the county's filed proposals; its report counts its own area only.
        let county = try fixture(dir)
        try county.replica.database.execute("""
            INSERT INTO members(id, name, site_id) VALUES ('m-t1', '王丽', 't1');
            UPDATE proposals SET proposer_id = 'm-county-elsewhere' WHERE id = 'p6';
            INSERT INTO proposals(id, number, year, title, site_id, status, is_key, proposer_id) VALUES
              ('p9', 'huashan-2026-009', 2026, '九', 's1', 'submitted', 1, 'm-t1');
            """)
        let o = try makeOffice(dir, "t1")
        try exchange(county, o)
        let r = try o.report(year: 2026, in: .english)
        #expect(r.committee == "华山镇政协工委" && r.site == "t1")
        #expect(r.title(chinese: true) == "华山镇政协工委 2026 年度工作统计")
        let p = r.overall.proposals
        #expect([p.received, p.filed] == [4, 1] as [Int], "\(p)")
        #expect(p.filingRate.text == "25.0%")
        #expect(r.bySite.map(\.siteID) == ["t1", "s1"])
        #expect(r.keyProposals.map(\.proposer) == [Office.outsideMemberLabel(in: .english), "王丽"], "\(r.keyProposals)")
        for format in ReportFormat.allCases { #expect(!(try format.render(r, in: .english)).contains("m-county-elsewhere"), "\(format)") }
        // The same figures as the county's report of that township.
        let countyView = try fixture(TempDir()).report(year: 2026, site: "t1", in: .english)
        #expect(countyView.overall.proposals.received == 3 && countyView.overall.proposals.filed == 1)
        // A station under it is in its area; another township is not (its data is not all here).
        #expect(try o.report(year: 2026, site: "s1", in: .english).title(chinese: true) == "华山镇政协工委 2026 年度工作统计（新街社区联络站及下属站点）")
        #expect(throws: CPPCCError.outsideOfficeArea(site: "桃河乡政协工委", office: "华山镇政协工委")) { try o.report(year: 2026, site: "t2", in: .english) }
    }

    @Test func aCityReportIsTitledWithItsTopAndEachCountyCountsItsSubtree() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        // The city's own office: its site is the top; two counties (kind county) under it, with townships.
        let o = try makeOffice(dir, "3301")
        try o.replica.database.execute("""
            INSERT INTO sites(id, name, kind, parent_id) VALUES ('3301', '杭州市政协', 'county', NULL),
              ('330102', '上城区政协', 'county', '3301'), ('330102-q', '清波街道政协工委', 'street', '330102'),
              ('330106', '西湖区政协', 'county', '3301'), ('330106-l', '灵隐街道政协工委', 'street', '330106'),
              ('330106-jg', '西湖区政协机关', 'county', '330106');
            INSERT INTO proposals(id, number, year, title, site_id, status) VALUES
              ('a', '1', 2026, '一', '330102-q', 'filed'), ('b', '2', 2026, '二', '330102-q', 'submitted'),
              ('c', '3', 2026, '三', '330106-l', 'filed'), ('d', '4', 2026, '四', '330106', 'closed'), ('e', '5', 2026, '五', '3301', 'filed');
            INSERT INTO members(id, name, site_id) VALUES ('m1', '甲', '330102-q'), ('m2', '乙', '330106-l'), ('m3', '丙', '330106-jg');
            """)
        let r = try o.report(year: 2026, in: .english)
        #expect(r.committee == "杭州市政协" && r.title(chinese: true) == "杭州市政协 2026 年度工作统计")
        #expect(r.bySite.map(\.siteID) == ["3301", "330102", "330106"])
        let counts = r.bySite.map { [$0.figures.proposals.received, $0.figures.proposals.filed, $0.figures.members.members] }
        #expect(counts == [[1, 1, 0], [2, 1, 1], [2, 2, 2]], "\(counts)")
        #expect(r.overall.proposals.received == 5)
        // A county of the city asked for by --site: its own rows, as at the county.
        let west = try o.report(year: 2026, site: "330106", in: .english)
        #expect(west.bySite.map(\.siteID) == ["330106", "330106-jg", "330106-l"] && west.title(chinese: true).hasPrefix("杭州市政协 2026 年度工作统计（西湖区政协"))
    }

    @Test func membersAreCountedPerSiteWithWomenSectorsAndParties() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try fixture(dir)
        try o.replica.database.execute("""
            INSERT INTO members(id, name, gender, sector, party, site_id) VALUES
              ('m1', '张伟', '男', '科技', '中共', 'county'), ('m2', '刘芳', '女', '经济', '民盟', 'county'),
              ('m3', '王丽', '女', '科技', '', 't1'), ('m4', '赵明', '男', '教育', '民进', 's1');
            """)
        let r = try o.report(year: 2026, in: .english)
        let all = r.overall.members
        #expect([all.members, all.women, all.sectorsRepresented] == [4, 2, 3] as [Int])
        #expect(all.womenShare.text == "50.0%" && all.sectors["科技"] == 2)
        #expect(all.byParty == ["中共": 1, "民盟": 1, "": 1, "民进": 1])
        let t1 = try #require(r.bySite.first { $0.siteID == "t1" }).figures.members
        #expect([t1.members, t1.women, t1.sectorsRepresented] == [1, 1, 1] as [Int])
        #expect(try o.report(year: 2026, site: "t1", in: .english).overall.members.members == 2)  // with station s1
        let text = try ReportFormat.text.render(r, in: .english)
        #expect(text.contains("中共 1") && text.contains("not given 1"))
        #expect(try ReportFormat.json.render(r, in: .english).contains("\"sectors_represented\" : 3"))
    }

    @Test func theCSVHasChineseHeadersAndNamesOrTheEnglishKeys() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let r = try fixture(dir).report(year: 2026, in: .english)
        let zh = ReportFormat.csv(r, chineseHeaders: true)
        #expect(zh.hasPrefix("\u{FEFF}范围,指标,数值\r\n") || zh.hasPrefix("\u{FEFF}范围,指标,数值\n"), "\(zh.prefix(40))")
        for line in ["合计,收到提案,7", "华山镇政协工委,收到提案,3", "承办单位：县水利局,主办件数,2", "承办单位：县水利局,A类占比,50.0%", "重点提案：2026-006,状态,已评价"] {
            #expect(zh.contains(line), "Chinese CSV lacks \(line)")
        }
        #expect(!zh.contains("scope") && !zh.contains("unit:"))
        let en = ReportFormat.csv(r, chineseHeaders: false)
        for line in ["scope,metric,value", "overall,received,7", "t1,received,3", "unit:县水利局,lead,2", "unit:县水利局,a_share,50.0%", "key:2026-006,status,evaluated"] {
            #expect(en.contains(line), "English CSV lacks \(line)")
        }
    }

    @Test func theHTMLIsLaidOutForA4WithASignOffBlock() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let html = try ReportFormat.html.render(try fixture(dir).report(year: 2026, in: .english), in: .english)
        #expect(html.contains("@page{size:A4") && html.contains("width:100%"))
        #expect(html.contains("class=\"sign\"") && html.contains("某县政协"))
        // The figures come first, right under the title: no page of charts before them.
        let figures = try #require(html.range(of: "<table>")), chart = try #require(html.range(of: "<svg"))
        #expect(figures.lowerBound < chart.lowerBound)
    }
}
