import Foundation
import Testing
import TestSupport

/// `cpsync member edit` and `cpsync proposal edit` through the real binary: every field, checked as when adding,
/// the changed fields named, an empty value clearing a field, co-signers added, removed and replaced.
@Suite struct EditEndToEndTests {
    static func json(_ r: RunResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout) \(r.stderr)")
    }

    @Test func everyMemberFieldIsEditedAndCheckedAndAnEmptyValueClearsIt() throws {
        let ws = TempDir("member-edit")
        defer { ws.cleanup() }
        let db = ["--db", ws.path("county.db")]
        #expect(try run(Binaries.cpsync, ["demo", "seed"] + db).ok)
        #expect(try run(Binaries.cpsync, ["member", "add", "--name", "欧阳丽", "--phone", "0937-1234567", "--site", "huashan"] + db).ok)
        let edit = try run(Binaries.cpsync, ["member", "edit", "欧阳丽", "--name", "欧阳丽华", "--gender", "女", "--sector", "教育", "--party", "民盟",
                                             "--term", "八届", "--site", "chengguan", "--phone", "+86 138 0000 0000", "--employer", "县一中",
                                             "--position", "副校长"] + db, env: ["LANG": "zh_CN.UTF-8"])
        #expect(edit.ok && edit.stdout.contains("已更新委员 欧阳丽华") && edit.stdout.contains("界别") && edit.stdout.contains("职务"), "\(edit.stdout) \(edit.stderr)")
        let m = try Self.json(try run(Binaries.cpsync, ["member", "show", "欧阳丽华", "--json"] + db))
        #expect(m["gender"] as? String == "女" && m["sector"] as? String == "教育" && m["party"] as? String == "民盟" && m["term"] as? String == "八届")
        #expect(m["site_id"] as? String == "chengguan" && m["phone"] as? String == "+86 138 0000 0000" && m["employer"] as? String == "县一中" && m["position"] as? String == "副校长")

        // Checked as when adding: nothing changes on a refusal.
        for (option, value) in [("--gender", "未知"), ("--phone", "call me"), ("--site", "atlantis")] {
            let bad = try run(Binaries.cpsync, ["member", "edit", "欧阳丽华", option, value] + db)
            #expect(bad.status == 65 && bad.stderr.contains(value), "\(option): \(bad.stderr)")
        }
        let same = try run(Binaries.cpsync, ["member", "edit", "欧阳丽华", "--party", "民盟"] + db)
        #expect(same.ok && same.stdout.contains("nothing changed"), "\(same.stdout)")
        let cleared = try run(Binaries.cpsync, ["member", "edit", "欧阳丽华", "--phone", "", "--position="] + db)
        #expect(cleared.ok && cleared.stdout.contains("phone") && cleared.stdout.contains("position"), "\(cleared.stdout)")
        let after = try Self.json(try run(Binaries.cpsync, ["member", "show", "欧阳丽华", "--json"] + db))
        #expect(after["phone"] as? String == "" && after["position"] as? String == "" && after["employer"] as? String == "县一中")
    }

    @Test func everyProposalDetailAndItsCosignersAreEdited() throws {
        let ws = TempDir("proposal-edit")
        defer { ws.cleanup() }
        let db = ["--db", ws.path("county.db")]
        #expect(try run(Binaries.cpsync, ["demo", "seed"] + db).ok)
        for name in ["甲委员", "乙委员", "丙委员"] { #expect(try run(Binaries.cpsync, ["member", "add", "--name", name, "--site", "huashan"] + db).ok) }
        let added = try Self.json(try run(Binaries.cpsync, ["proposal", "add", "--title", "关于乡村公路的提案", "--proposer", "甲委员", "--cosigner", "乙委员",
                                                            "--year", "2026", "--site", "huashan", "--json"] + db))
        let id = try #require(added["id"] as? String)
        let bodyFile = ws.path("正文.txt")
        try Data("\u{FEFF}一、现状\n二、建议\n".utf8).write(to: URL(fileURLWithPath: bodyFile))
        let edit = try run(Binaries.cpsync, ["proposal", "edit", id, "--title", "关于乡村公路养护的提案", "--body-file", bodyFile, "--session", "八届五次会议",
                                             "--year", "2027", "--date", "2027/1/5", "--proposer", "丙委员", "--cosigner", "甲委员", "--remove-cosigner", "乙委员",
                                             "--key", "--supervisor", "张主席"] + db)
        #expect(edit.ok && edit.stdout.contains("title") && edit.stdout.contains("co-signer") && edit.stdout.contains("supervisor"), "\(edit.stdout) \(edit.stderr)")
        let show = try Self.json(try run(Binaries.cpsync, ["proposal", "show", id, "--json"] + db))
        let p = try #require(show["proposal"] as? [String: Any])
        #expect(p["title"] as? String == "关于乡村公路养护的提案" && p["body"] as? String == "一、现状\n二、建议" && p["session"] as? String == "八届五次会议")
        #expect(p["year"] as? Int == 2027 && p["submitted_on"] as? String == "2027-01-05" && p["is_key"] as? Bool == true && p["supervisor"] as? String == "张主席")
        #expect((show["cosigners"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["甲委员"])
        // Replace every co-signer; then none.
        #expect(try run(Binaries.cpsync, ["proposal", "edit", id, "--cosigners", "乙委员、丙委员", "--not-key"] + db).ok)
        let replaced = try Self.json(try run(Binaries.cpsync, ["proposal", "show", id, "--json"] + db))
        #expect(Set((replaced["cosigners"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []) == ["乙委员", "丙委员"])
        #expect((replaced["proposal"] as? [String: Any])?["is_key"] as? Bool == false)
        #expect(try run(Binaries.cpsync, ["proposal", "edit", id, "--cosigners", ""] + db).ok)
        #expect((try Self.json(try run(Binaries.cpsync, ["proposal", "show", id, "--json"] + db))["cosigners"] as? [Any])?.isEmpty == true)

        // Refused with a clear message and exit 65, nothing changed: a day that does not exist, an unknown member,
        // removing someone who is not a co-signer; a bad year is a usage error.
        for (args, code, says) in [(["--date", "2027-02-30"], Int32(65), "2027-02-30"), (["--proposer", "查无此人"], 65, "查无此人"),
                                   (["--remove-cosigner", "甲委员"], 65, "甲委员"), (["--year", "二〇二七"], 64, "--year")] {
            let bad = try run(Binaries.cpsync, ["proposal", "edit", id] + args + db)
            #expect(bad.status == code && bad.stderr.contains(says), "\(args): \(bad.stderr)")
        }
        let unchanged = try Self.json(try run(Binaries.cpsync, ["proposal", "show", id, "--json"] + db))
        #expect((unchanged["proposal"] as? [String: Any])?["proposer_id"] as? String == (p["proposer_id"] as? String))
    }
}
