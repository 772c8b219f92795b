import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

@Suite struct WorkflowTests {
    func office(_ dir: TempDir) throws -> (Office, String) {
        let o = try makeOffice(dir, "county")
        try o.saveSite(Site(id: "county", name: "某县政协", kind: .county, parentID: nil))
        let m = try o.addMember(Member(name: "张伟", gender: "男", sector: "科技", siteID: "county"))
        return (o, m.id)
    }

    @Test func aProposalWalksTheWholeWorkflowToClosed() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (o, m) = try office(dir)
        let p = try o.addProposal(Proposal(number: "2026-015", year: 2026, title: "关于加强农村饮水安全的提案", proposerID: m, status: .draft))
        try o.submit(p.id)
        try o.startReview(p.id)
        try o.file(p.id, isKey: true, supervisor: "主席")
        try o.assign(p.id, unit: "县水利局")
        try o.assign(p.id, unit: "县卫生健康局", role: .co)
        #expect(try status(o, p.id) == "assigned")
        try o.reply(p.id, unit: "县卫生健康局", category: .b, text: "协办意见", metProposer: false)
        #expect(try status(o, p.id) == "assigned")  // the lead unit has not replied yet
        try o.reply(p.id, unit: "县水利局", category: .a, text: "已解决", metProposer: true)
        #expect(try status(o, p.id) == "replied")
        try o.evaluate(p.id, unit: "县水利局", satisfaction: .satisfied)
        #expect(try status(o, p.id) == "replied")
        try o.evaluate(p.id, unit: "县卫生健康局", satisfaction: .basically)
        #expect(try status(o, p.id) == "evaluated")
        try o.close(p.id)
        #expect(try o.proposal("2026-015").status == .closed)
    }

    @Test func replyingBeforeAssignmentIsRefusedWithTheProposalNumber() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (o, m) = try office(dir)
        let p = try o.addProposal(Proposal(number: "2026-015", year: 2026, title: "提案", proposerID: m))
        try o.file(p.id)
        #expect(throws: WorkflowError.notAssignedYet("2026-015")) {
            try o.reply(p.id, category: .a, text: "x", metProposer: false)
        }
        #expect(WorkflowError.notAssignedYet("2026-015").description.contains("2026-015"))
        #expect(WorkflowError.notAssignedYet("2026-015").exitCode.rawValue == 65)
        #expect(try status(o, p.id) == "filed")
    }

    @Test func impossibleStepsAreRefusedAndChangeNothing() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (o, m) = try office(dir)
        let p = try o.addProposal(Proposal(number: "2026-001", year: 2026, title: "提案一", proposerID: m))
        let q = try o.addProposal(Proposal(number: "2026-002", year: 2026, title: "提案二", proposerID: m))
        #expect(throws: WorkflowError.self) { try o.close(p.id) }
        #expect(throws: WorkflowError.mergeIntoItself("2026-001")) { try o.merge(p.id, into: p.id) }
        #expect(throws: WorkflowError.mergeTargetMissing("2026-001", "2026-999")) { try o.merge(p.id, into: "2026-999") }
        #expect(throws: WorkflowError.illegalTransition("2026-001", from: .submitted, to: .assigned)) {
            try o.assign(p.id, unit: "县水利局")
        }
        #expect(try o.handlers(of: p.id).isEmpty)  // the refused assignment left no handler behind
        try o.reject(p.id, reason: "不属于政协提案范围")
        #expect(throws: WorkflowError.illegalTransition("2026-001", from: .notFiled, to: .filed)) { try o.file(p.id) }
        #expect(throws: WorkflowError.self) { try o.merge(q.id, into: p.id) }  // not-filed proposals take no merges
        try o.file(q.id)
        try o.assign(q.id, unit: "县水利局")
        #expect(throws: WorkflowError.duplicateUnit("2026-002", unit: "县水利局")) { try o.assign(q.id, unit: "县水利局") }
        #expect(throws: WorkflowError.leadRepliesMissing("2026-002", units: ["县水利局"])) { try o.evaluate(q.id, satisfaction: .satisfied) }
        #expect(try status(o, p.id) == "not_filed")
        #expect(try status(o, q.id) == "assigned")
    }

    @Test func mergingPointsAtAnExistingOtherProposal() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (o, m) = try office(dir)
        let a = try o.addProposal(Proposal(year: 2026, title: "修路", proposerID: m))
        let b = try o.addProposal(Proposal(year: 2026, title: "修路（二）", proposerID: m))
        // Filing gives `a` its 案号 in place of the provisional number it was added with.
        let filed = try o.file(a.id)
        try o.merge(b.number, into: filed.number)
        let merged = try o.proposal(b.id)
        #expect(merged.status == .merged && merged.mergedInto == a.id)
    }

    @Test func sqlWritesCannotMoveStatusBackwards() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (o, m) = try office(dir)
        let p = try o.addProposal(Proposal(year: 2026, title: "提案", proposerID: m))
        try o.file(p.id)
        #expect(throws: SQLiteError.self) {
            try o.replica.database.run("UPDATE proposals SET status = 'submitted' WHERE id = ?", [.text(p.id)])
        }
        #expect(try status(o, p.id) == "filed")
        // A sideways move within one rank is not backwards (a review outcome corrected on paper).
        try o.replica.database.run("UPDATE proposals SET status = 'not_filed' WHERE id = ?", [.text(p.id)])
    }

    @Test func convertingToASocialReportRecordsTheReport() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (o, m) = try office(dir)
        let p = try o.addProposal(Proposal(year: 2026, title: "关于传统村落保护的提案", proposerID: m))
        let id = try o.convert(p.id, to: .socialReport, on: "2026-03-01")
        #expect(try o.proposal(p.id).convertedTo == "social_report")
        #expect(try o.socialReport(id!).title == "关于传统村落保护的提案")
    }

    @Test func aStepCannotBeDatedBeforeTheStepItFollowsAndNothingChanges() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (o, m) = try office(dir)
        let p = try o.addProposal(Proposal(number: "2026-020", year: 2026, title: "提案", proposerID: m, submittedOn: "2026-01-12"))
        try o.file(p.id, on: "2026-02-01")
        #expect(throws: DateError.outOfOrder(proposal: "2026-020", step: .assigned, date: "2026-01-31", earlierStep: .filed, earlierDate: "2026-02-01")) {
            try o.assign(p.id, unit: "县水利局", on: "2026-01-31")
        }
        #expect(throws: DateError.self) { try o.assign(p.id, unit: "县水利局", due: "2026-02-15", on: "2026-03-01") }
        #expect(try o.handlers(of: p.id).isEmpty)
        try o.assign(p.id, unit: "县水利局", due: "2026-06-30", on: "2026-03-01")
        #expect(throws: DateError.self) { try o.reply(p.id, category: .a, text: "已解决", metProposer: true, on: "2026-02-28") }
        try o.reply(p.id, category: .a, text: "已解决", metProposer: true, on: "2026-05-20")
        #expect(throws: DateError.self) { try o.evaluate(p.id, satisfaction: .satisfied, on: "2026-05-19") }
        try o.evaluate(p.id, satisfaction: .satisfied, on: "2026-06-10")
        #expect(throws: DateError.outOfOrder(proposal: "2026-020", step: .closed, date: "2026-01-20", earlierStep: .filed, earlierDate: "2026-02-01")) {
            try o.close(p.id, on: "2026-01-20")
        }
        #expect(throws: DateError.outOfOrder(proposal: "2026-020", step: .closed, date: "2026-05-10", earlierStep: .replied, earlierDate: "2026-05-20")) {
            try o.close(p.id, on: "2026-05-10")
        }
        #expect(throws: DateError.outOfOrder(proposal: "2026-020", step: .closed, date: "2026-06-09", earlierStep: .evaluated, earlierDate: "2026-06-10")) {
            try o.close(p.id, on: "2026-06-09")
        }
        #expect(try status(o, p.id) == "evaluated")
        try o.close(p.id, on: "2026-06-20")
        #expect(try o.proposal(p.id).closedOn == "2026-06-20")
        // Replied to after it was closed: refused.
        #expect(throws: WorkflowError.self) { try o.reply(p.id, category: .a, text: "补充", metProposer: true, on: "2026-07-01") }
    }

    @Test func aWorkflowDateThatIsNoRealDayIsRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (o, m) = try office(dir)
        let p = try o.addProposal(Proposal(number: "2026-021", year: 2026, title: "提案", proposerID: m, submittedOn: "2026-01-12"))
        #expect(throws: DateError.noSuchDay(field: "date", value: "2026-02-30", daysInMonth: 28)) { try o.file(p.id, on: "2026-02-30") }
        #expect(try status(o, p.id) == "submitted")
    }
}
