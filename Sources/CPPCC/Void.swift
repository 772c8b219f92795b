import CPSyncText
import CPSyncCore

/// Void (作废): a record entered by mistake, or that should no longer count, is kept — with the day it was voided
/// and why, and the change log saying who did it — but leaves the lists and the report. Nothing is deleted, so the
/// audit trail and every reference to it stay whole. Voiding is a write like any other (an office voids its own
/// area's records; a proposal only while it is a draft or submitted, after that it is the county's); restoring
/// is the county's (a county-kind site, checked here).
public enum VoidRecords {
    /// The tables whose records can be voided (schema v2 adds `voided_on` and `void_reason` to each).
    public static let tables = ["members", "proposals", "social_reports", "activities"]

    /// The records a clerk voids, by the verb they are under.
    public enum Kind: String, Sendable, CaseIterable {
        case member, proposal, social, activity

        var lookup: Office.LookupTable {
            switch self {
            case .member: .members
            case .proposal: .proposals
            case .social: .socialReports
            case .activity: .activities
            }
        }
    }
}

/// When and why a record was voided.
public struct VoidState: Sendable, Equatable {
    public var on: String
    public var reason: String
    public init(on: String, reason: String) {
        self.on = on
        self.reason = reason
    }
}

/// A void or restore that cannot be done; nothing was changed. Exit code 65.
public enum VoidError: UserFacingError, Sendable, Equatable {
    case alreadyVoided(kind: String, key: String, on: String)
    case notVoided(kind: String, key: String)
    case restoreIsCounty(kind: String, key: String)

    public var exitCode: ExitCode { .dataError }

    public func text(in language: Language) -> String {
        switch self {
        case .alreadyVoided(let kind, let key, let on):
            language.pick(en: "\(kind) \(key) was already voided on \(on); nothing was changed",
                      zh: "\(CPPCCError.zh(kind)) \(key) 已于 \(on) 作废；未做任何更改")
        case .notVoided(let kind, let key):
            language.pick(en: "\(kind) \(key) is not voided; nothing was changed", zh: "\(CPPCCError.zh(kind)) \(key) 未作废；未做任何更改")
        case .restoreIsCounty(let kind, let key):
            language.pick(en: "restoring a voided \(kind) (\(key)) is done by the county committee; ask the county office; nothing was changed",
                      zh: "恢复已作废的\(CPPCCError.zh(kind))（\(key)）须由县政协办理；请联系县政协；未做任何更改")
        }
    }
}

extension Office {
    /// The SQL condition on `voided_on` for lists: voided records only, or (the default) the others.
    static func voidCondition(voidedOnly: Bool) -> String { voidedOnly ? "voided_on IS NOT NULL" : "voided_on IS NULL" }

    /// When and why the record `id` of `kind` was voided, nil when it is not.
    public func voidState(_ kind: VoidRecords.Kind, id: String) throws -> VoidState? {
        guard let r = try db.query("SELECT voided_on, void_reason FROM \(kind.lookup.table) WHERE id = ?", [.text(id)]).first,
              let on = r[0].opt else { return nil }
        return VoidState(on: on, reason: r[1].str)
    }

    /// 作废: marks the record `key` names (id, a unique start of it, a proposal's number, a member's name) void
    /// with the reason and the day (default today). Returns its id.
    @discardableResult
    public func void(_ kind: VoidRecords.Kind, _ key: String, reason: String, on date: String? = nil) throws -> String {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason.isEmpty { throw CPPCCError.missingValue(field: FieldName(en: "--reason", zh: "作废原因 --reason")) }
        let day = try Office.date(date, field: "--date") ?? Office.today()
        return try db.transaction {
            let id = try resolveVoidable(kind, key)
            if let state = try voidState(kind, id: id) { throw VoidError.alreadyVoided(kind: kind.lookup.kind, key: key, on: state.on) }
            try db.run("UPDATE \(kind.lookup.table) SET voided_on = ?, void_reason = ? WHERE id = ?", [.text(day), .text(reason), .text(id)])
            return id
        }
    }

    /// Restores a voided record: it counts again. Only a county-kind site (or a replica that does not know its
    /// site yet, as the permission rules) may. Returns its id.
    @discardableResult
    public func restore(_ kind: VoidRecords.Kind, _ key: String) throws -> String {
        try db.transaction {
            let id = try resolveVoidable(kind, key)
            if let own = try ownSiteKind(), own != .county { throw VoidError.restoreIsCounty(kind: kind.lookup.kind, key: key) }
            guard try voidState(kind, id: id) != nil else { throw VoidError.notVoided(kind: kind.lookup.kind, key: key) }
            try db.run("UPDATE \(kind.lookup.table) SET voided_on = NULL, void_reason = NULL WHERE id = ?", [.text(id)])
            return id
        }
    }

    private func resolveVoidable(_ kind: VoidRecords.Kind, _ key: String) throws -> String {
        kind == .proposal ? try proposal(key).id : try resolveID(key, in: kind.lookup)
    }
}
