import CPSyncText
import CPSyncCore
import Foundation

/// Editing every field of a member or a proposal (`cpsync member edit`, `cpsync proposal edit`): one transaction,
/// the same checks as when adding, and the names of the fields that changed (nothing captured when none did).
extension Office {
    /// Saves `member` (every field) and returns the labels of the columns that changed.
    @discardableResult
    public func editMember(_ member: Member) throws -> [FieldName] {
        try db.transaction {
            let before = try self.member(member.id)
            try updateMember(member)
            let after = try self.member(member.id)
            return Self.changedColumns(before.values, after.values, columns: Member.columns)
        }
    }

    /// Saves a proposal's details (title, body, 案号, session, year, proposer, site, submitted date, key, supervisor; the
    /// workflow's columns change only through its steps) and its co-signers: `cosigners` replaces them all when
    /// given, then `removing` and `adding` apply. Returns the labels of what changed.
    @discardableResult
    public func editProposal(_ proposal: Proposal, cosigners replacement: [String]? = nil, adding: [String] = [], removing: [String] = []) throws -> [FieldName] {
        try db.transaction {
            let before = try self.proposal(proposal.id)
            let cosignersBefore = try cosignerIDs(of: proposal.id)
            try updateProposalDetails(proposal)
            if let replacement {
                let wanted = try Set(replacement.map { try member($0).id })
                for id in cosignersBefore where !wanted.contains(id) { try removeCosigner(proposal.id, memberID: id) }
                for id in wanted.sorted() { try addCosigner(proposal.id, member: id) }
            }
            for key in removing {
                let m = try member(key)
                guard try cosignerIDs(of: proposal.id).contains(m.id) else {
                    throw CPPCCError.invalidValue(field: FieldName(en: "co-signer", zh: "联名人"), value: m.name,
                                                  expected: Phrase(en: "a co-signer of \(before.displayKey)", zh: "提案 \(before.displayKey) 的联名人"))
                }
                try removeCosigner(proposal.id, memberID: m.id)
            }
            for key in adding { try addCosigner(proposal.id, member: key) }
            let after = try self.proposal(proposal.id)
            var changed = Self.changedColumns(before.values, after.values, columns: Proposal.columns)
            if try cosignerIDs(of: proposal.id) != cosignersBefore { changed.append(FieldName(en: FieldLabels.table("proposal_cosigners", chinese: false), zh: FieldLabels.table("proposal_cosigners", chinese: true))) }
            return changed
        }
    }

    func cosignerIDs(of proposalID: String) throws -> [String] {
        try db.query("SELECT member_id FROM proposal_cosigners WHERE proposal_id = ? ORDER BY member_id", [.text(proposalID)]).map { $0[0].str }
    }

    func removeCosigner(_ proposalID: String, memberID: String) throws {
        try db.run("DELETE FROM proposal_cosigners WHERE proposal_id = ? AND member_id = ?", [.text(proposalID), .text(memberID)])
    }

    static func changedColumns(_ a: [Value], _ b: [Value], columns: String) -> [FieldName] {
        let names = columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return zip(names, zip(a, b)).filter { $0.1.0 != $0.1.1 }.map {
            FieldName(en: FieldLabels.column($0.0, chinese: false), zh: FieldLabels.column($0.0, chinese: true))
        }
    }
}
