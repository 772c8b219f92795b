import CPSyncCore
import Foundation
import Testing

/// Proposal numbers through the real binaries: two township offices add proposals offline, sync through a real
/// `cpsyncd`, and the county files them. Provisional numbers differ by office, the 案号 are given by the county at
/// 立案, and every replica can address each proposal by its number.
@Suite(.serialized) struct NumberingEndToEndTests {
    static func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    /// Adds a proposal at `office` (with a proposer of its own) and returns (id, number) from `--json`.
    static func add(_ office: Office, title: String, proposer: String) throws -> (id: String, number: String) {
        let r = try office.verb(["proposal", "add", "--title", title, "--proposer", proposer, "--year", "2026", "--json"])
        let p = try json(r.stdout) as! [String: Any]
        return (p["id"] as! String, p["number"] as! String)
    }

    @Test func twoOfflineOfficesAndTheCountyNeverGiveTheSameNumber() throws {
        let county = try County("numbering", sites: ["huashan", "chengguan"])
        defer { county.cleanup() }
        let countyOffice = try county.office("county")
        let huashan = try county.office("huashan"), chengguan = try county.office("chengguan")
        for o in [countyOffice, huashan, chengguan] { try o.must(["sync"]) }  // the site tree

        // Offline: neither office syncs while it enters its proposals.
        try huashan.verb(["member", "add", "--name", "张伟"])
        try chengguan.verb(["member", "add", "--name", "周红梅"])
        let h1 = try Self.add(huashan, title: "关于农村饮水安全的提案", proposer: "张伟")
        let h2 = try Self.add(huashan, title: "关于乡村公路养护的提案", proposer: "张伟")
        let c1 = try Self.add(chengguan, title: "关于小区停车难的提案", proposer: "周红梅")
        #expect(h1.number == "huashan-2026-001" && h2.number == "huashan-2026-002" && c1.number == "chengguan-2026-001")
        // An office cannot give itself a county 案号.
        let typed = try huashan.tryVerb(["proposal", "add", "--title", "提案", "--proposer", "张伟", "--number", "2026-001"])
        #expect(typed.status == 65 && typed.stderr.contains("county") && typed.stderr.contains("huashan-2026-003"), "\(typed.stderr)")
        let typedZh = try huashan.tryVerb(["proposal", "add", "--title", "提案", "--proposer", "张伟", "--number", "2026-001"], env: ["LANG": "zh_CN.UTF-8"])
        #expect(typedZh.status == 65 && typedZh.stderr.contains("立案时"), "\(typedZh.stderr)")

        for o in [huashan, chengguan, countyOffice] { try o.must(["sync"]) }
        // The county files them by the provisional numbers the offices report; each gets the year's next 案号.
        let filedC = try countyOffice.verb(["proposal", "file", "chengguan-2026-001", "--key", "--supervisor", "县政协主席"])
        #expect(filedC.stdout.contains("2026-001") && filedC.stdout.contains("chengguan-2026-001"), "\(filedC.stdout)")
        try countyOffice.verb(["proposal", "file", "huashan-2026-001", "--key", "--supervisor", "县政协副主席"])
        try countyOffice.verb(["proposal", "file", "huashan-2026-002"])
        for o in [countyOffice, huashan, chengguan, countyOffice] { try o.must(["sync"]) }

        let expected = [c1.id: "2026-001", h1.id: "2026-002", h2.id: "2026-003"]
        for o in [countyOffice, huashan, chengguan] {
            // Filed proposals are shared: every replica holds all three, each under its own number.
            let list = try Self.json(try o.verb(["proposal", "list", "--json"]).stdout) as! [[String: Any]]
            let numbers = Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as! String, $0["number"] as! String) })
            #expect(numbers == expected, "\(o.site): \(numbers)")
            for (id, number) in expected {
                let show = try o.tryVerb(["proposal", "show", number, "--json"])
                #expect(show.ok, "\(o.site): proposal show \(number): \(show.stderr)")
                let detail = try? Self.json(show.stdout) as? [String: Any]
                #expect((detail?["proposal"] as? [String: Any])?["id"] as? String == id, "\(o.site): \(number) is not \(id)")
                let human = try o.tryVerb(["proposal", "show", number])
                #expect(human.ok && human.stdout.contains(number), "\(o.site): \(human.stderr)")
            }
            // The key-proposal list names each number once.
            let key = try o.verb(["proposal", "list", "--key"]).stdout
            #expect(key.components(separatedBy: "2026-001").count == 2 && key.components(separatedBy: "2026-002").count == 2, "\(o.site): \(key)")
        }
        let report = try countyOffice.verb(["report", "--year", "2026", "--format", "csv", "--english-headers"]).stdout
        // The report's key-proposal list: one entry per 案号.
        let keyEntries = report.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("key:") && $0.contains(",status,") }.map { $0.prefix { $0 != "," } }
        #expect(keyEntries == ["key:2026-001", "key:2026-002"], "\(report)")
    }
}

extension Office {
    /// `cpsync VERB SUB … --db FILE` (the harness's `cpsync` puts `--db` right after the verb, before a sub-verb).
    func tryVerb(_ args: [String], env: [String: String] = [:]) throws -> RunResult {
        try run(Binaries.cpsync, args + ["--db", db], env: env)
    }

    /// `tryVerb`, failing the test's precondition when it exits non-zero.
    @discardableResult
    func verb(_ args: [String]) throws -> RunResult {
        let r = try tryVerb(args)
        guard r.ok else { throw HarnessError.failed("cpsync \(args.joined(separator: " ")) at \(site) exited \(r.status): \(r.stderr)") }
        return r
    }
}
