import Foundation
import Testing
import TestSupport

/// `cpsync import` through the real binary: the same file twice adds nothing the second time and the summary says
/// what was added, updated and unchanged; a GB18030 file (made here with iconv, as older Excel saves it) is read;
/// a UTF-8 BOM is accepted; 序号/备注 and unknown columns are ignored and named; duplicates are warned about.
@Suite struct ImportEndToEndTests {
    /// `text` encoded by the system's iconv (the same bytes Excel writes when it saves "CSV" on a Chinese Windows).
    static func iconv(_ text: String, to encoding: String, in ws: TempDir) throws -> Data {
        let utf8 = ws.path("utf8-\(UUID().uuidString.prefix(6)).txt")
        try Data(text.utf8).write(to: URL(fileURLWithPath: utf8))
        // `run` decodes stdout as UTF-8: the converted bytes go to a file.
        let out = ws.path("converted-\(UUID().uuidString.prefix(6)).csv")
        let p = try run("/bin/sh", ["-c", "/usr/bin/iconv -f UTF-8 -t \(encoding) '\(utf8)' > '\(out)'"])
        guard p.ok else { throw HarnessError.failed("iconv: \(p.stderr)") }
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    @Test func aGB18030FileFromOlderExcelImportsAndTheSecondImportAddsNothing() throws {
        let ws = TempDir("import")
        defer { ws.cleanup() }
        let db = ws.path("office.db")
        #expect(try run(Binaries.cpsync, ["demo", "seed", "--db", db]).ok)
        let before = try run(Binaries.cpsync, ["member", "list", "--json", "--db", db])
        let count = try #require(try JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [Any]).count

        let csv = "序号,姓名,性别,界别,电话,备注,微信\r\n1,欧阳明,男,经济,13811112222,新任,ouyang\r\n2,司马丽,女,教育,13833334444,,\r\n3,欧阳明,男,经济,13811112222,重复行,\r\n"
        let gb = try Self.iconv(csv, to: "GB18030", in: ws)
        #expect(String(data: gb, encoding: .utf8) == nil, "the test file must not be valid UTF-8")
        let file = ws.path("委员名单.csv")
        try gb.write(to: URL(fileURLWithPath: file))

        let first = try run(Binaries.cpsync, ["import", "members", file, "--db", db], env: ["LANG": "zh_CN.UTF-8"])
        #expect(first.ok, "\(first.stderr)")
        #expect(first.stdout.contains("新增 2 条") && first.stdout.contains("GB18030"), "\(first.stdout)")
        #expect(first.stdout.contains("序号") && first.stdout.contains("备注") && first.stdout.contains("微信"), "ignored columns named: \(first.stdout)")
        #expect(first.stderr.contains("第 4 行") && first.stderr.contains("第 2 行"), "the duplicate row is warned about: \(first.stderr)")

        let second = try run(Binaries.cpsync, ["import", "members", file, "--db", db])
        #expect(second.ok && second.stdout.contains("0 added, 0 updated, 2 unchanged"), "\(second.stdout) \(second.stderr)")
        let after = try run(Binaries.cpsync, ["member", "list", "--json", "--db", db])
        let members = try #require(try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [[String: Any]])
        #expect(members.count == count + 2)
        #expect(members.contains { $0["name"] as? String == "司马丽" && $0["sector"] as? String == "教育" })

        // One changed cell, in UTF-8 with a BOM this time: one update, the rest unchanged.
        let edited = ws.path("edited.csv")
        try Data(("\u{FEFF}" + csv.replacingOccurrences(of: "教育", with: "文化艺术")).utf8).write(to: URL(fileURLWithPath: edited))
        let third = try run(Binaries.cpsync, ["import", "members", edited, "--db", db, "--json"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(third.stdout.utf8)) as? [String: Any], "\(third.stdout) \(third.stderr)")
        #expect((summary["added"] as? [Any])?.count == 0 && (summary["updated"] as? [Any])?.count == 1 && (summary["unchanged"] as? [Any])?.count == 1)
        #expect(summary["encoding"] as? String == "UTF-8 (BOM)" && summary["ignored_columns"] as? [String] == ["序号", "备注", "微信"])

        // Adding by hand a member already imported (same name and phone) is warned about too.
        let twin = try run(Binaries.cpsync, ["member", "add", "--name", "欧阳明", "--phone", "13811112222", "--db", db], env: ["LANG": "zh_CN.UTF-8"])
        #expect(twin.ok && twin.stderr.contains("警告") && twin.stderr.contains("姓名和电话相同"), "\(twin.stderr)")
        let other = try run(Binaries.cpsync, ["member", "add", "--name", "欧阳明", "--phone", "13900000000", "--db", db])
        #expect(other.ok && other.stderr.isEmpty, "another phone is another person: \(other.stderr)")
    }

    @Test func aFileInNeitherEncodingIsRefusedWithTheFixAndNothingIsImported() throws {
        let ws = TempDir("import-bad")
        defer { ws.cleanup() }
        let db = ws.path("office.db")
        #expect(try run(Binaries.cpsync, ["demo", "seed", "--db", db]).ok)
        let before = try run(Binaries.cpsync, ["member", "list", "--db", db]).stdout
        let utf16 = ws.path("unicode.txt")
        try Self.iconv("姓名\t电话\r\n王五\t1\r\n", to: "UTF-16", in: ws).write(to: URL(fileURLWithPath: utf16))
        let bad = ws.path("bad.csv")
        try Data([0xD5, 0xC5, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: bad))
        for file in [utf16, bad] {
            let zh = try run(Binaries.cpsync, ["import", "members", file, "--db", db], env: ["LANG": "zh_CN.UTF-8"])
            #expect(zh.status == 65 && zh.stderr.contains("CSV UTF-8") && zh.stderr.contains("未导入"), "\(zh.stderr)")
        }
        #expect(try run(Binaries.cpsync, ["member", "list", "--db", db]).stdout == before)
    }
}
