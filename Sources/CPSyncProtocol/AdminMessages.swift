import CPSyncCore

/// One side of a conflict: `{"value":V,"site":"…","siteName":"…","hlc":<int>,"at":<ms>}`.
public struct ConflictSideDTO: WireMessage, Hashable {
    public var value: Value
    public var site: String
    /// The office's display name (e.g. 华山镇); the site id when the server knows none.
    public var siteName: String
    public var hlc: Int64
    /// The HLC's wall-clock part, ms since 1970.
    public var at: Int64

    public init(value: Value, site: String, siteName: String, hlc: Int64, at: Int64) {
        self.value = value
        self.site = site
        self.siteName = siteName
        self.hlc = hlc
        self.at = at
    }

    public init(value: Value, version: Version, siteName: String? = nil) {
        self.init(value: value, site: version.site, siteName: siteName ?? version.site, hlc: version.hlc.rawValue,
                  at: version.hlc.milliseconds)
    }

    public var version: Version { Version(hlc: HLC(rawValue: hlc), site: site) }

    public static let wire = WireShape(ConflictSideDTO(value: .null, site: "", siteName: "", hlc: 0, at: 0), [
        .required("value", \.value), .required("site", \.site), .required("siteName", \.siteName), .required("hlc", \.hlc),
        .required("at", \.at),
    ])
}

/// How a conflict was resolved: `{"action":…,"value":V,"before":V,"by":"…","at":<ms>,"note":"…"|null}`.
public struct ResolutionDTO: WireMessage, Hashable {
    public var action: Resolution.Action
    /// The value the resolution wrote.
    public var value: Value
    /// The value the cell held just before.
    public var before: Value
    /// The admin's name (from `cpsyncd admin add --name NAME`).
    public var by: String
    public var at: Int64
    public var note: String?

    public init(action: Resolution.Action, value: Value, before: Value, by: String, at: Int64, note: String?) {
        self.action = action
        self.value = value
        self.before = before
        self.by = by
        self.at = at
        self.note = note
    }

    public init(_ r: Resolution) {
        self.init(action: r.action, value: r.value, before: r.before, by: r.by, at: r.at, note: r.note)
    }

    public static let wire = WireShape(ResolutionDTO(action: .keep, value: .null, before: .null, by: "", at: 0, note: nil), [
        .required("action", \.action, .oneOf([.keep, .takeOther, .set])), .required("value", \.value), .required("before", \.before),
        .required("by", \.by), .required("at", \.at), .optional("note", \.note),
    ])
}

/// A conflict as the admin endpoints show it. Member order: id, table, tableLabel, column, columnLabel, pk,
/// rowLabel, winner, other, detectedAt, status, resolution (null while open).
public struct ConflictDTO: WireMessage, Hashable {
    public var id: String
    public var table: String
    /// The table's display name (提案); the table name when the schema has none.
    public var tableLabel: String
    public var column: String
    public var columnLabel: String
    public var pk: String
    /// A human name of the row (e.g. the proposal's number and title); the pk when there is none.
    public var rowLabel: String
    public var winner: ConflictSideDTO
    public var other: ConflictSideDTO
    public var detectedAt: Int64
    public var status: Conflict.Status
    public var resolution: ResolutionDTO?
    /// What the field takes, in the request's language, when it has a rule (a phone number, a date…); omitted
    /// otherwise. The admin page's new-value box says it.
    public var expects: String?

    public init(id: String, table: String, tableLabel: String, column: String, columnLabel: String, pk: String, rowLabel: String,
                winner: ConflictSideDTO, other: ConflictSideDTO, detectedAt: Int64, status: Conflict.Status, resolution: ResolutionDTO?) {
        self.id = id
        self.table = table
        self.tableLabel = tableLabel
        self.column = column
        self.columnLabel = columnLabel
        self.pk = pk
        self.rowLabel = rowLabel
        self.winner = winner
        self.other = other
        self.detectedAt = detectedAt
        self.status = status
        self.resolution = resolution
    }

    /// From a core conflict plus the display names the server looks up (each defaults to the raw name).
    public init(_ c: Conflict, tableLabel: String? = nil, columnLabel: String? = nil, rowLabel: String? = nil,
                siteName: (String) -> String? = { _ in nil }) {
        self.init(id: c.id, table: c.table, tableLabel: tableLabel ?? c.table, column: c.column, columnLabel: columnLabel ?? c.column,
                  pk: c.pk, rowLabel: rowLabel ?? c.pk,
                  winner: ConflictSideDTO(value: c.winnerValue, version: c.winnerVersion, siteName: siteName(c.winnerVersion.site)),
                  other: ConflictSideDTO(value: c.otherValue, version: c.otherVersion, siteName: siteName(c.otherVersion.site)),
                  detectedAt: c.detectedAt, status: c.status, resolution: c.resolution.map(ResolutionDTO.init))
    }

    public static let wire = WireShape(
        ConflictDTO(id: "", table: "", tableLabel: "", column: "", columnLabel: "", pk: "", rowLabel: "", winner: ConflictSideDTO.wire.blank,
                    other: ConflictSideDTO.wire.blank, detectedAt: 0, status: .open, resolution: nil), [
        .required("id", \.id), .required("table", \.table), .required("tableLabel", \.tableLabel), .required("column", \.column),
        .required("columnLabel", \.columnLabel), .required("pk", \.pk), .required("rowLabel", \.rowLabel),
        .required("winner", \.winner), .required("other", \.other), .required("detectedAt", \.detectedAt),
        .required("status", \.status, .oneOf([.open, .resolved])), .optional("resolution", \.resolution),
        .omitted("expects", \.expects, String.wireCodec.whenPresent),
    ])
}

/// `GET /v1/admin/conflicts` answer: `{"conflicts":[…]}`, oldest detection first.
public struct ConflictListResponse: WireMessage, Hashable {
    public var conflicts: [ConflictDTO]
    public init(conflicts: [ConflictDTO]) { self.conflicts = conflicts }

    public static let wire = WireShape(ConflictListResponse(conflicts: []), [.required("conflicts", \.conflicts)])
}

/// `POST /v1/admin/conflicts/{id}/resolve` body: `{"action":"keep"|"take-other"|"set","value":V,"note":"…"}`;
/// `value` present exactly when action is `set`; `note` optional (omitted when nil).
public struct ResolveRequest: WireMessage, Hashable {
    public var action: Resolution.Action
    public var value: Value?
    public var note: String?

    public init(action: Resolution.Action, value: Value? = nil, note: String? = nil) {
        self.action = action
        self.value = value
        self.note = note
    }

    public static let wire = WireShape(ResolveRequest(action: .keep), [
        .required("action", \.action, .oneOf([.keep, .takeOther, .set])), .omitted("value", \.value, Value.wireCodec.whenPresent),
        .omitted("note", \.note),
    ]) { m in
        if m.action == .set && m.value == nil { return "action \"set\" needs a \"value\"" }
        if m.action != .set && m.value != nil { return "only action \"set\" takes a \"value\"" }
        return nil
    }
}

/// One audit-log entry. Member order: id, at, by, action, conflictId, table, column, pk, before, after, note,
/// tableLabel, columnLabel, rowLabel; the nullable ones are written as null, never omitted.
public struct AuditEntryDTO: WireMessage, Hashable {
    public var id: String
    public var at: Int64
    /// Admin name, or `site:<id>` / `system` for entries not made by an admin.
    public var by: String
    /// What happened: `resolve` (the resolution's action is in `note`-independent `conflictId` + before/after),
    /// `site-add`, `site-remove`, `admin-add`, `admin-remove`.
    public var action: String
    public var conflictId: String?
    public var table: String?
    public var column: String?
    public var pk: String?
    public var before: Value
    public var after: Value
    public var note: String?
    /// The table's and the column's display names (提案 · 标题 under zh), and the record's human name (a proposal's 案号
    /// and title, a member's name, a report's or activity's title); null when not applicable.
    public var tableLabel: String?
    public var columnLabel: String?
    public var rowLabel: String?

    public init(id: String, at: Int64, by: String, action: String, conflictId: String? = nil, table: String? = nil,
                column: String? = nil, pk: String? = nil, before: Value = .null, after: Value = .null, note: String? = nil,
                tableLabel: String? = nil, columnLabel: String? = nil, rowLabel: String? = nil) {
        self.tableLabel = tableLabel
        self.columnLabel = columnLabel
        self.rowLabel = rowLabel
        self.id = id
        self.at = at
        self.by = by
        self.action = action
        self.conflictId = conflictId
        self.table = table
        self.column = column
        self.pk = pk
        self.before = before
        self.after = after
        self.note = note
    }

    public static let wire = WireShape(AuditEntryDTO(id: "", at: 0, by: "", action: ""), [
        .required("id", \.id), .required("at", \.at), .required("by", \.by), .required("action", \.action),
        .optional("conflictId", \.conflictId), .optional("table", \.table), .optional("column", \.column), .optional("pk", \.pk),
        .optional("before", \.before), .optional("after", \.after), .optional("note", \.note),
        .optional("tableLabel", \.tableLabel), .optional("columnLabel", \.columnLabel), .optional("rowLabel", \.rowLabel),
    ])
}

/// `GET /v1/admin/audit` answer: `{"entries":[…]}`, oldest first.
public struct AuditListResponse: WireMessage, Hashable {
    public var entries: [AuditEntryDTO]
    public init(entries: [AuditEntryDTO]) { self.entries = entries }

    public static let wire = WireShape(AuditListResponse(entries: []), [.required("entries", \.entries)])
}

/// One change to sites, tokens or admins: `{"id","at","actor","action","subject","detail"}`, all members always
/// present. `actor` is `cli:<os user>` for `cpsyncd` commands; `action` is one of `site-add`, `site-revoke`,
/// `site-activate`, `site-token`, `site-move`, `site-kind`, `admin-add`, `admin-revoke`; `subject` the site id or admin name;
/// `detail` `key=value` pairs (tokens only as the first 8 hex digits of their SHA-256).
public struct AccountEventDTO: WireMessage, Hashable {
    public var id: String
    public var at: Int64
    public var actor: String
    public var action: String
    public var subject: String
    public var detail: String

    public init(id: String, at: Int64, actor: String, action: String, subject: String, detail: String) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
    }

    public static let wire = WireShape(AccountEventDTO(id: "", at: 0, actor: "", action: "", subject: "", detail: ""), [
        .required("id", \.id), .required("at", \.at), .required("actor", \.actor), .required("action", \.action),
        .required("subject", \.subject), .required("detail", \.detail),
    ])
}

/// `GET /v1/admin/accounts-audit` answer: `{"entries":[AccountEvent…]}`, oldest first.
public struct AccountAuditResponse: WireMessage, Hashable {
    public var entries: [AccountEventDTO]
    public init(entries: [AccountEventDTO]) { self.entries = entries }

    public static let wire = WireShape(AccountAuditResponse(entries: []), [.required("entries", \.entries)])
}
