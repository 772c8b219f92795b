import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

@Suite struct RankMergeTests {
    /// Two offices sharing one proposal under review.
    func pair(_ dir: TempDir) throws -> (Office, Office, String) {
        let a = try makeOffice(dir, "huashan"), b = try makeOffice(dir, "county")
        let m = try a.addMember(Member(name: "张伟"))
        let p = try a.addProposal(Proposal(number: "2026-001", year: 2026, title: "提案", proposerID: m.id))
        try a.startReview(p.id)
        try exchange(a, b)
        return (a, b, p.id)
    }

    @Test func twoBranchesOfTheWorkflowAreAConflictAndTheLaterStageStands() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, b, p) = try pair(dir)
        try b.file(p)
        try b.assign(p, unit: "县水利局")
        try a.reject(p, reason: "不予立案")  // later on the clock, but an earlier stage, on another branch
        let r1 = try exchange(a, b), r2 = try exchange(b, a)
        #expect(try status(a, p) == "assigned" && status(b, p) == "assigned")
        #expect((r1.conflicts + r2.conflicts).contains { $0.column == "status" })
        #expect(try dump(a) == dump(b))
    }

    @Test func aLaterStageOnTheSameRoadIsNotAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, b, p) = try pair(dir)
        try b.file(p)
        try b.assign(p, unit: "县水利局")
        try a.file(p)  // concurrently, the same outcome one step behind
        let r1 = try exchange(a, b), r2 = try exchange(b, a)
        #expect(try status(a, p) == "assigned" && status(b, p) == "assigned")
        #expect(!(r1.conflicts + r2.conflicts).contains { $0.column == "status" })
        #expect(try dump(a) == dump(b))
    }

    @Test func filedAgainstNotFiledIsAConflict() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (a, b, p) = try pair(dir)
        try a.file(p)
        try b.reject(p, reason: "不属于提案范围")
        let r = try exchange(a, b)
        try exchange(b, a)
        #expect(r.conflicts.contains { $0.table == "proposals" && $0.column == "status" })
        #expect(try b.replica.conflicts(status: .open).contains { $0.column == "status" })
        #expect(try status(a, p) == status(b, p))
        #expect(try dump(a) == dump(b))
    }

    /// 40 seeds; each seed plays a random history on three fresh proposals shared by the same three replicas
    /// (replica set-up is the slow part, so the replicas are reused and every seed brings its own rows).
    @Test func randomConcurrentStatusMovesOnThreeReplicasConverge() throws {
        let order = ProposalStatus.allCases
        let dir = TempDir(); defer { dir.cleanup() }
        let offices = try ["a", "b", "c"].map { try makeOffice(dir, $0) }
        for seed in UInt64(1)...40 {
            var rng = SeededRandom(seed: seed)
            let ids = (1...3).map { "s\(seed)-p\($0)" }
            let creator = offices[Int(seed % 3)]
            for id in ids {
                try creator.replica.database.run("INSERT INTO proposals(id, year, title, status) VALUES (?, 2026, '提案', 'submitted')", [.text(id)])
            }
            for o in offices where o !== creator { try exchange(creator, o) }
            for _ in 0..<30 {
                let o = offices[Int.random(in: 0..<3, using: &rng)]
                if Bool.random(using: &rng) {
                    // A local move to any status of the same or a later rank (what the trigger allows).
                    let id = ids.randomElement(using: &rng)!
                    let current = ProposalStatus(rawValue: try status(o, id))!
                    let next = order.filter { $0.rank >= current.rank }.randomElement(using: &rng)!
                    try o.replica.database.run("UPDATE proposals SET status = ? WHERE id = ?", [.text(next.rawValue), .text(id)])
                } else {
                    try exchange(o, offices.randomElement(using: &rng)!)
                }
            }
            for _ in 0..<2 { for x in offices { for y in offices where x !== y { try exchange(x, y) } } }
            let dumps = try offices.map { try dump($0) }
            #expect(dumps[0] == dumps[1] && dumps[1] == dumps[2], "seed \(seed) diverged")
            let final = try ids.map { try status(offices[0], $0) }
            #expect(final.allSatisfy { ProposalStatus(rawValue: $0) != nil })
        }
    }
}

extension Office {
    static func !== (a: Office, b: Office) -> Bool { a.replica !== b.replica }
}
