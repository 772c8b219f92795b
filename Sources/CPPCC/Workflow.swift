import CPSyncText
import CPSyncCore
import Foundation

/// The proposal workflow:
///
///     draft → submitted → under_review → filed (立案) | not_filed (不予立案) | merged (并案) | converted (转来信/社情民意)
///     filed → assigned (交办) → replied (答复) → evaluated (评价) → closed (办结)
///
/// A review outcome may also be recorded straight from `submitted` (the review happened on paper). Status only ever
/// moves to a higher rank (`ProposalStatus.rank`), which is what the `rank` merge rule needs: a later stage wins a
/// merge, and two offices reaching different outcomes of the same rank is a conflict for the admin.
public enum Workflow {
    /// The statuses a proposal may move to from `status` by one step.
    public static func next(after status: ProposalStatus) -> [ProposalStatus] {
        switch status {
        case .draft: [.submitted]
        case .submitted: [.underReview, .filed, .notFiled, .merged, .converted]
        case .underReview: [.filed, .notFiled, .merged, .converted]
        case .filed: [.assigned]
        case .assigned: [.replied]
        case .replied: [.evaluated]
        case .evaluated: [.closed]
        case .notFiled, .merged, .converted, .closed: []
        }
    }

    public static func canMove(from: ProposalStatus, to: ProposalStatus) -> Bool { next(after: from).contains(to) }
}

/// A workflow step that cannot be taken; nothing was changed. Exit code 65.
public enum WorkflowError: UserFacingError, Sendable, Equatable {
    case illegalTransition(String, from: ProposalStatus, to: ProposalStatus)
    case notAssignedYet(String)
    case noHandlers(String)
    case leadRepliesMissing(String, units: [String])
    case evaluationsMissing(String, units: [String])
    case mergeIntoItself(String)
    case mergeTargetMissing(String, String)
    case mergeTargetNotActive(String, target: String, status: ProposalStatus)
    case unknownUnit(String, unit: String, units: [String])
    case unitNeeded(String, units: [String])
    case duplicateUnit(String, unit: String)
    case notRepliedByUnit(String, unit: String)
    case alreadyPast(String, status: ProposalStatus, step: Phrase)

    public var exitCode: ExitCode { .dataError }

    private static func s(_ status: ProposalStatus) -> String { "\(status.chinese) (\(status.rawValue))" }

    public func text(in language: Language) -> String {
        switch self {
        case .illegalTransition(let p, let from, let to):
            let allowed = Workflow.next(after: from)
            let hint = allowed.isEmpty
                ? language.pick(en: "it is final", zh: "该状态为终态")
                : language.pick(en: "next steps: ", zh: "可进行的下一步：") + allowed.map { Self.s($0) }.joined(separator: ", ")
            return language.pick(en: "proposal \(p) is \(Self.s(from)); it cannot move to \(Self.s(to)) (\(hint))",
                             zh: "提案 \(p) 当前为 \(Self.s(from))，不能改为 \(Self.s(to))（\(hint)）")
        case .notAssignedYet(let p):
            return language.pick(en: "proposal \(p) has not been assigned yet; assign it before recording a reply",
                             zh: "提案 \(p) 尚未交办；请先交办承办单位，再登记答复")
        case .noHandlers(let p):
            return language.pick(en: "proposal \(p) has no handling unit; name one with --unit to assign it",
                             zh: "提案 \(p) 没有承办单位；请用 --unit 指定承办单位后交办")
        case .leadRepliesMissing(let p, let units):
            return language.pick(en: "proposal \(p) still waits for the reply of its lead unit(s): \(units.joined(separator: ", "))",
                             zh: "提案 \(p) 仍在等待主办单位答复：\(units.joined(separator: "、"))")
        case .evaluationsMissing(let p, let units):
            return language.pick(en: "proposal \(p) has replies not yet evaluated: \(units.joined(separator: ", ")); evaluate them before closing",
                             zh: "提案 \(p) 尚有答复未评价：\(units.joined(separator: "、"))；请先评价再办结")
        case .mergeIntoItself(let p):
            return language.pick(en: "proposal \(p) cannot be merged into itself", zh: "提案 \(p) 不能并入自身")
        case .mergeTargetMissing(let p, let t):
            return language.pick(en: "proposal \(p) cannot be merged into '\(t)': no such proposal",
                             zh: "提案 \(p) 不能并入 '\(t)'：找不到该提案")
        case .mergeTargetNotActive(let p, let t, let status):
            return language.pick(en: "proposal \(p) cannot be merged into \(t), which is \(Self.s(status)); merge it into a proposal that is still being handled",
                             zh: "提案 \(p) 不能并入 \(t)（\(Self.s(status))）；请并入仍在办理的提案")
        case .unknownUnit(let p, let unit, let units):
            return language.pick(en: "'\(unit)' is not a handling unit of proposal \(p) (units: \(units.joined(separator: ", ")))",
                             zh: "'\(unit)' 不是提案 \(p) 的承办单位（承办单位：\(units.joined(separator: "、"))）")
        case .unitNeeded(let p, let units):
            return language.pick(en: "proposal \(p) has several handling units (\(units.joined(separator: ", "))); name one with --unit",
                             zh: "提案 \(p) 有多个承办单位（\(units.joined(separator: "、"))）；请用 --unit 指定")
        case .duplicateUnit(let p, let unit):
            return language.pick(en: "'\(unit)' already handles proposal \(p)", zh: "'\(unit)' 已是提案 \(p) 的承办单位")
        case .notRepliedByUnit(let p, let unit):
            return language.pick(en: "'\(unit)' has not replied to proposal \(p) yet; record its reply before the evaluation",
                             zh: "'\(unit)' 尚未答复提案 \(p)；请先登记答复再评价")
        case .alreadyPast(let p, let status, let step):
            return language.pick(en: "proposal \(p) is already \(Self.s(status)); \(step.english) is no longer possible",
                             zh: "提案 \(p) 已是 \(Self.s(status))，不能再\(step.chinese)")
        }
    }
}

extension Office {
    /// Moves the status one step after checking the step is allowed. Runs inside the caller's transaction.
    private func move(_ p: Proposal, to status: ProposalStatus, extra: String = "", _ values: [Value] = []) throws {
        guard Workflow.canMove(from: p.status, to: status) else {
            throw WorkflowError.illegalTransition(p.displayKey, from: p.status, to: status)
        }
        try db.run("UPDATE proposals SET status = ?\(extra) WHERE id = ?", [.text(status.rawValue)] + values + [.text(p.id)])
    }

    /// 提交: draft → submitted.
    public func submit(_ key: String, on date: String? = nil) throws {
        try db.transaction {
            let p = try proposal(key)
            try move(p, to: .submitted, extra: ", submitted_on = coalesce(submitted_on, ?)", [.text(try Office.date(date, field: "date") ?? Office.today())])
        }
    }

    /// 审查: submitted → under_review.
    public func startReview(_ key: String) throws {
        try db.transaction { try move(try proposal(key), to: .underReview) }
    }

    /// 立案, optionally as a key proposal (重点提案) with its supervisor (督办). Gives the proposal its 案号
    /// (`filingNumber`: the next of its year unless it already carries a unique county number); returns it.
    @discardableResult
    public func file(_ key: String, on date: String? = nil, isKey: Bool = false, supervisor: String? = nil) throws -> Proposal {
        try db.transaction {
            let p = try proposal(key)
            let day = try Office.date(date, field: "date") ?? Office.today()
            // Not checked against the submitted date: when a clerk enters a paper proposal late, that date defaults
            // to the day of entry, which says nothing about when it was really submitted.
            let number = try filingNumber(p)
            try move(p, to: .filed, extra: ", filed_on = ?, number = ?", [.text(day), .text(number)])
            if isKey || supervisor != nil {
                try db.run("UPDATE proposals SET is_key = 1, supervisor = ? WHERE id = ?", [.text(supervisor ?? p.supervisor), .text(p.id)])
            }
            return try proposal(p.id)
        }
    }

    /// 不予立案, with the reason.
    public func reject(_ key: String, reason: String) throws {
        try db.transaction {
            try move(try proposal(key), to: .notFiled, extra: ", review_note = ?", [.text(reason)])
        }
    }

    /// 并案: merges into another proposal, which must exist, differ and still be in play.
    public func merge(_ key: String, into targetKey: String) throws {
        try db.transaction {
            let p = try proposal(key)
            let target: Proposal
            do { target = try proposal(targetKey) } catch CPPCCError.notFound {
                throw WorkflowError.mergeTargetMissing(p.displayKey, targetKey)
            } catch NumberingError.provisionalNotFound {
                throw WorkflowError.mergeTargetMissing(p.displayKey, targetKey)
            }
            if target.id == p.id { throw WorkflowError.mergeIntoItself(p.displayKey) }
            if [.notFiled, .merged, .converted].contains(target.status) {
                throw WorkflowError.mergeTargetNotActive(p.displayKey, target: target.displayKey, status: target.status)
            }
            try move(p, to: .merged, extra: ", merged_into = ?", [.text(target.id)])
        }
    }

    /// 转委员来信 / 转社情民意. Converting to a social report also records that report. Returns its id.
    @discardableResult
    public func convert(_ key: String, to target: ConversionTarget, on date: String? = nil) throws -> String? {
        try db.transaction {
            let p = try proposal(key)
            let day = try Office.date(date, field: "date") ?? Office.today()
            try move(p, to: .converted, extra: ", converted_to = ?", [.text(target.rawValue)])
            guard target == .socialReport else { return nil }
            let report = SocialReport(title: p.title, body: p.body, reporterID: p.proposerID, siteID: p.siteID,
                                      reportedOn: day)
            return try addSocialReport(report).id
        }
    }

    /// 交办: adds a handling unit; the first assignment moves a filed proposal to `assigned`.
    @discardableResult
    public func assign(_ key: String, unit: String, role: HandlerRole = .lead, due: String? = nil, on date: String? = nil) throws -> Handler {
        try db.transaction {
            let p = try proposal(key)
            let unit = unit.trimmingCharacters(in: .whitespaces)
            if unit.isEmpty { throw WorkflowError.noHandlers(p.displayKey) }
            switch p.status {
            case .filed, .assigned: break
            case .replied, .evaluated, .closed: throw WorkflowError.alreadyPast(p.displayKey, status: p.status, step: Phrase(en: "assigning", zh: "交办"))
            default: throw WorkflowError.illegalTransition(p.displayKey, from: p.status, to: .assigned)
            }
            if try handlers(of: p.id).contains(where: { $0.unit == unit }) { throw WorkflowError.duplicateUnit(p.displayKey, unit: unit) }
            let day = try Office.date(date, field: "date") ?? Office.today()
            try Office.checkOrder(p, .assigned, on: day, after: .filed, on: p.filedOn)
            let dueDay = try Office.date(due, field: "due")
            if let dueDay { try Office.checkOrder(p, .due, on: dueDay, after: .assigned, on: day) }
            let id = Office.newID()
            try db.run("INSERT INTO proposal_handlers(id, proposal_id, unit, role, assigned_on, due_on) VALUES (?, ?, ?, ?, ?, ?)",
                       [.text(id), .text(p.id), .text(unit), .text(role.rawValue), .text(day), textOrNull(dueDay)])
            if p.status == .filed { try move(p, to: .assigned) }
            return try handlers(of: p.id).first { $0.id == id }!
        }
    }

    /// Finds the handler a reply or evaluation is for: the named unit, or the only one.
    private func handler(_ p: Proposal, unit: String?, among all: [Handler]) throws -> Handler {
        if let unit {
            guard let h = all.first(where: { $0.unit == unit }) else {
                throw WorkflowError.unknownUnit(p.displayKey, unit: unit, units: all.map(\.unit))
            }
            return h
        }
        if all.count == 1 { return all[0] }
        if all.isEmpty { throw WorkflowError.notAssignedYet(p.displayKey) }
        throw WorkflowError.unitNeeded(p.displayKey, units: all.map(\.unit))
    }

    /// 答复: records a unit's reply. When every lead unit has replied the proposal moves to `replied`.
    public func reply(_ key: String, unit: String? = nil, category: ReplyCategory, text: String, metProposer: Bool,
                      on date: String? = nil) throws {
        try db.transaction {
            let p = try proposal(key)
            if p.status.rank < ProposalStatus.assigned.rank { throw WorkflowError.notAssignedYet(p.displayKey) }
            if p.status.rank > ProposalStatus.replied.rank {
                throw WorkflowError.alreadyPast(p.displayKey, status: p.status, step: Phrase(en: "recording a reply", zh: "登记答复"))
            }
            let all = try handlers(of: p.id)
            let h = try handler(p, unit: unit, among: all)
            let day = try Office.date(date, field: "date") ?? Office.today()
            try Office.checkOrder(p, .replied, on: day, after: .assigned, on: h.assignedOn)
            try Office.checkOrder(p, .replied, on: day, after: .filed, on: p.filedOn)
            try db.run("UPDATE proposal_handlers SET replied_on = ?, reply = ?, category = ?, met_proposer = ? WHERE id = ?",
                       [.text(day), .text(text), .text(category.rawValue),
                        .integer(metProposer ? 1 : 0), .text(h.id)])
            if p.status == .assigned, try pendingLeadReplies(p.id).isEmpty { try move(p, to: .replied) }
        }
    }

    /// Lead units (or, when none is lead, all units) that have not replied.
    func pendingLeadReplies(_ proposalID: String) throws -> [String] {
        let all = try handlers(of: proposalID)
        let leads = all.contains { $0.role == .lead } ? all.filter { $0.role == .lead } : all
        return leads.filter { !$0.hasReplied }.map(\.unit)
    }

    /// 评价: records the proposer's evaluation of one unit's reply (or of every replied, unevaluated unit when
    /// `unit` is nil). Once every replied unit is evaluated the proposal moves to `evaluated`.
    public func evaluate(_ key: String, unit: String? = nil, satisfaction: Satisfaction, on date: String? = nil) throws {
        try db.transaction {
            let p = try proposal(key)
            if p.status.rank < ProposalStatus.assigned.rank { throw WorkflowError.notAssignedYet(p.displayKey) }
            if p.status == .assigned {
                throw WorkflowError.leadRepliesMissing(p.displayKey, units: try pendingLeadReplies(p.id))
            }
            if p.status.rank > ProposalStatus.evaluated.rank {
                throw WorkflowError.alreadyPast(p.displayKey, status: p.status, step: Phrase(en: "evaluating", zh: "评价"))
            }
            let all = try handlers(of: p.id)
            let targets: [Handler]
            if let unit {
                let h = try handler(p, unit: unit, among: all)
                guard h.hasReplied else { throw WorkflowError.notRepliedByUnit(p.displayKey, unit: h.unit) }
                targets = [h]
            } else {
                targets = all.filter { $0.hasReplied && $0.satisfaction == nil }
            }
            let day = try Office.date(date, field: "date") ?? Office.today()
            for h in targets { try Office.checkOrder(p, .evaluated, on: day, after: .replied, on: h.repliedOn) }
            for h in targets {
                try db.run("UPDATE proposal_handlers SET satisfaction = ?, evaluated_on = ? WHERE id = ?",
                           [.text(satisfaction.rawValue), .text(day), .text(h.id)])
            }
            if p.status == .replied, try handlers(of: p.id).allSatisfy({ !$0.hasReplied || $0.satisfaction != nil }) {
                try move(p, to: .evaluated)
            }
        }
    }

    /// 办结: evaluated → closed.
    public func close(_ key: String, on date: String? = nil) throws {
        try db.transaction {
            let p = try proposal(key)
            if p.status == .replied {
                let missing = try handlers(of: p.id).filter { $0.hasReplied && $0.satisfaction == nil }.map(\.unit)
                throw WorkflowError.evaluationsMissing(p.displayKey, units: missing)
            }
            let day = try Office.date(date, field: "date") ?? Office.today()
            try Office.checkOrder(p, .closed, on: day, after: .filed, on: p.filedOn)
            // Not before the last reply or evaluation: 办结 ends the handling.
            for h in try handlers(of: p.id) {
                try Office.checkOrder(p, .closed, on: day, after: .replied, on: h.repliedOn)
                try Office.checkOrder(p, .closed, on: day, after: .evaluated, on: h.evaluatedOn)
            }
            try move(p, to: .closed, extra: ", closed_on = ?", [.text(day)])
        }
    }
}
