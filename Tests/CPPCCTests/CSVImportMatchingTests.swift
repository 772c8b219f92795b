import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// Importing a file twice adds nothing the second time; rows are matched by id, else by a natural key (members:
/// name + phone; proposals: 案号, else title + proposer); unknown columns are ignored and named; duplicates warned.
@Suite struct CSVImportMatchingTests {
    @Test func theSameFileTwiceWithoutIdsAddsNothingTheSecondTime() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        let file = "\u{FEFF}序号,姓名,性别,电话,界别,备注,鞋码\r\n1,张伟,男,13800000001,经济,,42\r\n2,李秀英,女,,教育,新任,\r\n"
        let first = try o.importCSV(.members, text: file, fileName: "m.csv", in: .english)
        #expect(first.added.count == 2 && first.updated.isEmpty && first.unchanged.isEmpty)
        #expect(first.ignoredColumns == ["序号", "备注", "鞋码"])
        let second = try o.importCSV(.members, text: file, fileName: "m.csv", in: .english)
        #expect(second.added.isEmpty && second.updated.isEmpty && second.unchanged.map(\.line) == [2, 3])
        #expect(try o.members().count == 2)
        // A changed cell updates the record it matches, by name and phone.
        let third = try o.importCSV(.members, text: file.replacingOccurrences(of: "经济", with: "科技"), fileName: "m.csv", in: .english)
        #expect(third.updated.map(\.label) == ["张伟 (13800000001)"] && third.unchanged.count == 1 && third.added.isEmpty)
        #expect(try o.member("张伟").sector == "科技")
        // A file with fewer columns updates only those: the sector and gender stay.
        let partial = try o.importCSV(.members, text: "姓名,电话,职务\n张伟,13800000001,主任\n", fileName: "short.csv", in: .english)
        #expect(partial.updated.count == 1 && partial.added.isEmpty)
        let zhang = try o.member("张伟")
        #expect(zhang.position == "主任" && zhang.sector == "科技" && zhang.gender == "男")
        // The list again after 张伟's phone changed: the one 张伟 is updated (not added twice), and the summary says what changed.
        let changed = try o.importCSV(.members, text: "姓名,电话\n张伟,13900000002\n", fileName: "m2.csv", in: .english)
        #expect(changed.added.isEmpty && changed.updated.count == 1 && changed.warnings.isEmpty, "\(changed)")
        #expect(changed.updated.first?.changes == ["phone: 13800000001 → 13900000002"], "\(changed.updated)")
        #expect(try o.members().count == 2 && o.member("张伟").phone == "13900000002")
    }

    @Test func membersOfTheSameNameAreToldApartByPhoneAndSiteOrSkippedNeverGuessed() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        try o.replica.database.execute("""
            INSERT INTO sites(id, name, kind, parent_id) VALUES ('county', '某县政协', 'county', NULL),
              ('huashan', '华山镇政协工委', 'township', 'county'), ('taohe', '桃河乡政协工委', 'township', 'county');
            """)
        // Two people of one name in one file (two phones): two members, the second warned about.
        let first = try o.importCSV(.members, text: "姓名,电话,站点\n李娜,13700000001,华山镇政协工委\n李娜,13700000002,华山镇政协工委\n", fileName: "a.csv", in: .english)
        #expect(first.added.count == 2 && first.warnings.count == 1 && first.warnings[0].contains("line 2"), "\(first)")
        // Their site has two 李娜 now: a phone that fits one picks it; a phone that fits none is skipped and listed.
        let again = try o.importCSV(.members, text: "姓名,电话,站点,职务\n李娜,13700000002,华山镇政协工委,站长\n李娜,13799999999,华山镇政协工委,主任\n", fileName: "b.csv", in: .english)
        #expect(again.updated.count == 1 && again.added.isEmpty && again.skipped.map(\.line) == [3], "\(again)")
        #expect(again.skipped.first?.reason.contains("13700000001") == true, "the candidates are listed: \(again.skipped)")
        #expect(try o.members().count == 2)
        // 李娜 at another site is nobody's twin there: matched within that site only (none: added, and warned about).
        let other = try o.importCSV(.members, text: "姓名,站点\n李娜,taohe\n", fileName: "c.csv", in: .english)
        #expect(other.added.count == 1 && other.warnings.count == 1 && other.warnings[0].contains("华山镇政协工委"), "\(other)")
        // Without a site the name is looked for everywhere: three 李娜, skipped.
        let nowhere = try o.importCSV(.members, text: "姓名,界别\n李娜,教育\n", fileName: "d.csv", in: .english)
        #expect(nowhere.skipped.count == 1 && nowhere.updated.isEmpty && nowhere.added.isEmpty, "\(nowhere)")
        // A voided member is not matched: the row adds one, and says a voided member had the name.
        let zhao = try o.addMember(Member(name: "赵强", siteID: "taohe"))
        _ = try o.void(.member, zhao.id, reason: "误录")
        let revived = try o.importCSV(.members, text: "姓名,站点\n赵强,桃河乡政协工委\n", fileName: "e.csv", in: .english)
        #expect(revived.added.count == 1 && revived.warnings.count == 1, "\(revived)")
    }

    @Test func duplicateMembersInTheFileOrTheDatabaseAreWarnedAbout() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        let inFile = try o.importCSV(.members, text: "姓名,电话,界别\n王芳,13700000000,教育\n刘强,,经济\n王芳,13700000000,科技\n", fileName: "m.csv", in: .english)
        #expect(inFile.added.count == 1 + 1 && inFile.warnings.count == 1, "\(inFile)")
        #expect(inFile.warnings[0].contains("line 4") && inFile.warnings[0].contains("line 2"), "\(inFile.warnings)")
        #expect(try o.members().count == 2 && o.member("王芳").sector == "科技")
        // A row with its own id that looks like a member already there: added, and warned about.
        let withID = try o.importCSV(.members, text: "编号,姓名,电话\nm-900,王芳,13700000000\n", fileName: "ids.csv", in: .english)
        #expect(withID.added.count == 1 && withID.warnings.count == 1 && withID.warnings[0].contains("王芳"), "\(withID)")
        // Now two 王芳 with that phone are in the database: a row without id is not guessed: skipped and listed.
        let ambiguous = try o.importCSV(.members, text: "姓名,电话,职务\n王芳,13700000000,主任\n", fileName: "m.csv", in: .english)
        #expect(ambiguous.updated.isEmpty && ambiguous.added.isEmpty && ambiguous.skipped.map(\.line) == [2], "\(ambiguous)")
        #expect(ambiguous.skipped.first?.reason.contains("m-900") == true, "\(ambiguous.skipped)")
    }

    @Test func proposalsMatchByNumberElseByTitleAndProposer() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        try o.importCSV(.members, text: "姓名\n张伟\n李秀英\n", fileName: "m.csv", in: .english)
        let byNumber = "案号,年度,标题,第一提案人\n2026-001,2026,关于农贸市场的提案,张伟\n"
        #expect(try o.importCSV(.proposals, text: byNumber, fileName: "p.csv", in: .english).added.count == 1)
        let renamed = try o.importCSV(.proposals, text: byNumber.replacingOccurrences(of: "农贸市场", with: "农贸市场改造"), fileName: "p.csv", in: .english)
        #expect(renamed.updated.count == 1 && renamed.added.isEmpty)
        let byTitle = "备注,年度,标题,第一提案人,内容\n,2026,关于乡村公路的提案,李秀英,正文\n,2026,关于乡村公路的提案,张伟,另一人的同名提案\n"
        let first = try o.importCSV(.proposals, text: byTitle, fileName: "q.csv", in: .english)
        #expect(first.added.count == 2 && first.ignoredColumns == ["备注"])
        let second = try o.importCSV(.proposals, text: byTitle, fileName: "q.csv", in: .english)
        #expect(second.added.isEmpty && second.unchanged.count == 2, "\(second)")
        #expect(try o.proposals().count == 3)
    }

    @Test func gb18030BytesAreReadAndOtherEncodingsAreRefusedWithTheFix() throws {
        // "序号,姓名,界别\r\n1,张伟,经济\r\n" as GB18030 (what older Excel saves as CSV on a Chinese Windows).
        let gb: [UInt8] = [0xD0, 0xF2, 0xBA, 0xC5, 0x2C, 0xD0, 0xD5, 0xC3, 0xFB, 0x2C, 0xBD, 0xE7, 0xB1, 0xF0, 0x0D, 0x0A,
                           0x31, 0x2C, 0xD5, 0xC5, 0xCE, 0xB0, 0x2C, 0xBE, 0xAD, 0xBC, 0xC3, 0x0D, 0x0A]
        let decoded = try CSVEncoding.decode(Data(gb), file: "gb.csv")
        #expect(decoded.encoding == .gb18030 && decoded.text == "序号,姓名,界别\r\n1,张伟,经济\r\n")
        let bom = try CSVEncoding.decode(Data([0xEF, 0xBB, 0xBF] + Array("姓名\n".utf8)), file: "u.csv")
        #expect(bom.encoding == .utf8BOM)
        #expect(try CSVEncoding.decode(Data("姓名\n".utf8), file: "u.csv").encoding == .utf8)
        #expect(throws: CSVEncoding.Unreadable.self) { try CSVEncoding.decode(Data([0xFF, 0xFE, 0x53, 0x59]), file: "u16.csv") }
        // 0xFF is no lead byte in GB18030 and invalid in UTF-8.
        do {
            _ = try CSVEncoding.decode(Data([0x61, 0xFF, 0x62, 0x0A]), file: "bad.csv")
            Issue.record("accepted bytes that are neither UTF-8 nor GB18030")
        } catch {
            #expect(error.description.contains("CSV UTF-8") && error.description.contains("bad.csv"))
        }
    }
}
