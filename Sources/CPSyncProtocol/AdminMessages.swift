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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"value\":")
        w.value(value)
        w.raw(",\"site\":")
        w.string(site)
        w.raw(",\"siteName\":")
        w.string(siteName)
        w.raw(",\"hlc\":")
        w.int(hlc)
        w.raw(",\"at\":")
        w.int(at)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["value", "site", "siteName", "hlc", "at"])
    public static func read(from r: inout JSONReader) throws(WireError) -> ConflictSideDTO {
        var st = try r.beginObject()
        var m = ConflictSideDTO(value: .null, site: "", siteName: "", hlc: 0, at: 0)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.value = try r.memberValue("value")
            case 1: m.site = try r.memberString("site")
            case 2: m.siteName = try r.memberString("siteName")
            case 3: m.hlc = try r.memberInt64("hlc")
            case 4: m.at = try r.memberInt64("at")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b1_1111)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"action\":")
        w.string(action.rawValue)
        w.raw(",\"value\":")
        w.value(value)
        w.raw(",\"before\":")
        w.value(before)
        w.raw(",\"by\":")
        w.string(by)
        w.raw(",\"at\":")
        w.int(at)
        w.raw(",\"note\":")
        w.optionalString(note)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["action", "value", "before", "by", "at", "note"])
    public static func read(from r: inout JSONReader) throws(WireError) -> ResolutionDTO {
        var st = try r.beginObject()
        var m = ResolutionDTO(action: .keep, value: .null, before: .null, by: "", at: 0, note: nil)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.action = try r.memberAction("action")
            case 1: m.value = try r.memberValue("value")
            case 2: m.before = try r.memberValue("before")
            case 3: m.by = try r.memberString("by")
            case 4: m.at = try r.memberInt64("at")
            case 5: m.note = try r.memberOptionalString("note")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b01_1111)
        return m
    }
}

extension JSONReader {
    mutating func memberAction(_ key: String) throws(WireError) -> Resolution.Action {
        try member(key) { (r: inout JSONReader) throws(WireError) -> Resolution.Action in
            let at = r.offset
            let s = try r.readString()
            guard let a = Resolution.Action(rawValue: s) else {
                throw WireError(message: "expected \"keep\", \"take-other\" or \"set\", found \"\(s)\"", offset: at)
            }
            return a
        }
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"id\":")
        w.string(id)
        w.raw(",\"table\":")
        w.string(table)
        w.raw(",\"tableLabel\":")
        w.string(tableLabel)
        w.raw(",\"column\":")
        w.string(column)
        w.raw(",\"columnLabel\":")
        w.string(columnLabel)
        w.raw(",\"pk\":")
        w.string(pk)
        w.raw(",\"rowLabel\":")
        w.string(rowLabel)
        w.raw(",\"winner\":")
        winner.encode(to: &w)
        w.raw(",\"other\":")
        other.encode(to: &w)
        w.raw(",\"detectedAt\":")
        w.int(detectedAt)
        w.raw(",\"status\":")
        w.string(status.rawValue)
        w.raw(",\"resolution\":")
        w.optionalMessage(resolution)
        if let expects {
            w.raw(",\"expects\":")
            w.string(expects)
        }
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["id", "table", "tableLabel", "column", "columnLabel", "pk", "rowLabel", "winner", "other",
                                        "detectedAt", "status", "resolution", "expects"])
    public static func read(from r: inout JSONReader) throws(WireError) -> ConflictDTO {
        var st = try r.beginObject()
        let empty = ConflictSideDTO(value: .null, site: "", siteName: "", hlc: 0, at: 0)
        var m = ConflictDTO(id: "", table: "", tableLabel: "", column: "", columnLabel: "", pk: "", rowLabel: "", winner: empty,
                            other: empty, detectedAt: 0, status: .open, resolution: nil)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.id = try r.memberString("id")
            case 1: m.table = try r.memberString("table")
            case 2: m.tableLabel = try r.memberString("tableLabel")
            case 3: m.column = try r.memberString("column")
            case 4: m.columnLabel = try r.memberString("columnLabel")
            case 5: m.pk = try r.memberString("pk")
            case 6: m.rowLabel = try r.memberString("rowLabel")
            case 7: m.winner = try r.memberMessage("winner", ConflictSideDTO.self)
            case 8: m.other = try r.memberMessage("other", ConflictSideDTO.self)
            case 9: m.detectedAt = try r.memberInt64("detectedAt")
            case 10:
                m.status = try r.member("status") { (r: inout JSONReader) throws(WireError) -> Conflict.Status in
                    let at = r.offset
                    let s = try r.readString()
                    guard let v = Conflict.Status(rawValue: s) else {
                        throw WireError(message: "expected \"open\" or \"resolved\", found \"\(s)\"", offset: at)
                    }
                    return v
                }
            case 11: m.resolution = try r.memberOptionalMessage("resolution", ResolutionDTO.self)
            case 12: m.expects = try r.memberString("expects")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b0111_1111_1111)
        return m
    }
}

/// `GET /v1/admin/conflicts` answer: `{"conflicts":[…]}`, oldest detection first.
public struct ConflictListResponse: WireMessage, Hashable {
    public var conflicts: [ConflictDTO]
    public init(conflicts: [ConflictDTO]) { self.conflicts = conflicts }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"conflicts\":")
        w.messages(conflicts)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["conflicts"])
    public static func read(from r: inout JSONReader) throws(WireError) -> ConflictListResponse {
        var st = try r.beginObject()
        var m = ConflictListResponse(conflicts: [])
        while let k = try r.nextKey(&st, keys) {
            if k == 0 { m.conflicts = try r.memberArray("conflicts", ConflictDTO.self) } else { try r.skipValue() }
        }
        try r.requireMembers(st, keys, 0b1)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"action\":")
        w.string(action.rawValue)
        if let value { w.raw(",\"value\":"); w.value(value) }
        if let note { w.raw(",\"note\":"); w.string(note) }
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["action", "value", "note"])
    public static func read(from r: inout JSONReader) throws(WireError) -> ResolveRequest {
        var st = try r.beginObject()
        var m = ResolveRequest(action: .keep)
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.action = try r.memberAction("action")
            case 1: m.value = try r.memberValue("value")
            case 2: m.note = try r.memberOptionalString("note")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b1)
        if m.action == .set && m.value == nil { throw r.fail("action \"set\" needs a \"value\"") }
        if m.action != .set && m.value != nil { throw r.fail("only action \"set\" takes a \"value\"") }
        return m
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"id\":")
        w.string(id)
        w.raw(",\"at\":")
        w.int(at)
        w.raw(",\"by\":")
        w.string(by)
        w.raw(",\"action\":")
        w.string(action)
        w.raw(",\"conflictId\":")
        w.optionalString(conflictId)
        w.raw(",\"table\":")
        w.optionalString(table)
        w.raw(",\"column\":")
        w.optionalString(column)
        w.raw(",\"pk\":")
        w.optionalString(pk)
        w.raw(",\"before\":")
        w.value(before)
        w.raw(",\"after\":")
        w.value(after)
        w.raw(",\"note\":")
        w.optionalString(note)
        w.raw(",\"tableLabel\":")
        w.optionalString(tableLabel)
        w.raw(",\"columnLabel\":")
        w.optionalString(columnLabel)
        w.raw(",\"rowLabel\":")
        w.optionalString(rowLabel)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["id", "at", "by", "action", "conflictId", "table", "column", "pk", "before", "after", "note",
                                        "tableLabel", "columnLabel", "rowLabel"])
    public static func read(from r: inout JSONReader) throws(WireError) -> AuditEntryDTO {
        var st = try r.beginObject()
        var m = AuditEntryDTO(id: "", at: 0, by: "", action: "")
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.id = try r.memberString("id")
            case 1: m.at = try r.memberInt64("at")
            case 2: m.by = try r.memberString("by")
            case 3: m.action = try r.memberString("action")
            case 4: m.conflictId = try r.memberOptionalString("conflictId")
            case 5: m.table = try r.memberOptionalString("table")
            case 6: m.column = try r.memberOptionalString("column")
            case 7: m.pk = try r.memberOptionalString("pk")
            case 8: m.before = try r.memberValue("before")
            case 9: m.after = try r.memberValue("after")
            case 10: m.note = try r.memberOptionalString("note")
            case 11: m.tableLabel = try r.memberOptionalString("tableLabel")
            case 12: m.columnLabel = try r.memberOptionalString("columnLabel")
            case 13: m.rowLabel = try r.memberOptionalString("rowLabel")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b1111)
        return m
    }
}

/// `GET /v1/admin/audit` answer: `{"entries":[…]}`, oldest first.
public struct AuditListResponse: WireMessage, Hashable {
    public var entries: [AuditEntryDTO]
    public init(entries: [AuditEntryDTO]) { self.entries = entries }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"entries\":")
        w.messages(entries)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["entries"])
    public static func read(from r: inout JSONReader) throws(WireError) -> AuditListResponse {
        var st = try r.beginObject()
        var m = AuditListResponse(entries: [])
        while let k = try r.nextKey(&st, keys) {
            if k == 0 { m.entries = try r.memberArray("entries", AuditEntryDTO.self) } else { try r.skipValue() }
        }
        try r.requireMembers(st, keys, 0b1)
        return m
    }
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

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"id\":")
        w.string(id)
        w.raw(",\"at\":")
        w.int(at)
        w.raw(",\"actor\":")
        w.string(actor)
        w.raw(",\"action\":")
        w.string(action)
        w.raw(",\"subject\":")
        w.string(subject)
        w.raw(",\"detail\":")
        w.string(detail)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["id", "at", "actor", "action", "subject", "detail"])
    public static func read(from r: inout JSONReader) throws(WireError) -> AccountEventDTO {
        var st = try r.beginObject()
        var m = AccountEventDTO(id: "", at: 0, actor: "", action: "", subject: "", detail: "")
        while let k = try r.nextKey(&st, keys) {
            switch k {
            case 0: m.id = try r.memberString("id")
            case 1: m.at = try r.memberInt64("at")
            case 2: m.actor = try r.memberString("actor")
            case 3: m.action = try r.memberString("action")
            case 4: m.subject = try r.memberString("subject")
            case 5: m.detail = try r.memberString("detail")
            default: try r.skipValue()
            }
        }
        try r.requireMembers(st, keys, 0b11_1111)
        return m
    }
}

/// `GET /v1/admin/accounts-audit` answer: `{"entries":[AccountEvent…]}`, oldest first.
public struct AccountAuditResponse: WireMessage, Hashable {
    public var entries: [AccountEventDTO]
    public init(entries: [AccountEventDTO]) { self.entries = entries }

    public func encode(to w: inout JSONWriter) {
        w.raw("{\"entries\":")
        w.messages(entries)
        w.byte(UInt8(ascii: "}"))
    }

    private static let keys = KeyTable(["entries"])
    public static func read(from r: inout JSONReader) throws(WireError) -> AccountAuditResponse {
        var st = try r.beginObject()
        var m = AccountAuditResponse(entries: [])
        while let k = try r.nextKey(&st, keys) {
            if k == 0 { m.entries = try r.memberArray("entries", AccountEventDTO.self) } else { try r.skipValue() }
        }
        try r.requireMembers(st, keys, 0b1)
        return m
    }
}
