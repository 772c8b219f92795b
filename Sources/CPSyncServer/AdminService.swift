import CPPCC
import CPSyncCore
import CPSyncProtocol
import Foundation

/// The admin endpoints: list, show and resolve conflicts; the audit trails (resolutions; sites, tokens and admins).
public struct AdminService: Sendable {
    public let store: ServerStore
    public let log: EventLog
    /// Each office's pushes, pulls and refusals (the dashboard); the router records into it.
    public let activity: SiteActivity

    public init(store: ServerStore, log: EventLog = EventLog(), activity: SiteActivity? = nil) {
        self.store = store
        self.log = log
        self.activity = activity ?? SiteActivity(store: store)
    }

    public struct Filter: Sendable {
        public var status: Conflict.Status? = .open
        public var table: String?
        public var site: String?
        /// Detection date bounds, milliseconds since 1970 (from inclusive, to exclusive).
        public var from: Int64?
        public var to: Int64?
        public init() {}
    }

    /// Parses the list query (`status=open|resolved|all`, `table`, `site`, `from`/`to` as YYYY-MM-DD).
    public static func filter(from query: [String: String]) throws(ErrorBody) -> Filter {
        var f = Filter()
        switch query["status"] ?? "open" {
        case "open": f.status = .open
        case "resolved": f.status = .resolved
        case "all": f.status = nil
        case let s: throw ErrorBody(code: .badRequest, message: "status '\(s)' must be open, resolved or all")
        }
        f.table = query["table"].flatMap { $0.isEmpty ? nil : $0 }
        f.site = query["site"].flatMap { $0.isEmpty ? nil : $0 }
        for (key, dayOffset) in [("from", 0), ("to", 1)] {
            guard let text = query[key], !text.isEmpty else { continue }
            guard let ms = Self.day(text) else { throw ErrorBody(code: .badRequest, message: "\(key) '\(text)' must be a date YYYY-MM-DD") }
            if key == "from" { f.from = ms } else { f.to = ms + Int64(dayOffset) * 86_400_000 }
        }
        return f
    }

    static func day(_ text: String) -> Int64? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "Asia/Shanghai")
        f.dateFormat = "yyyy-MM-dd"
        return f.date(from: text).map { Int64($0.timeIntervalSince1970 * 1000) }
    }

    public func list(_ f: Filter, chinese: Bool = false) throws(ErrorBody) -> ConflictListResponse {
        do {
            return try store.read { r in
                let conflicts = try r.conflicts(status: f.status).filter { c in
                    (f.table == nil || c.table == f.table) && (f.site == nil || c.winnerVersion.site == f.site || c.otherVersion.site == f.site)
                        && (f.from == nil || c.detectedAt >= f.from!) && (f.to == nil || c.detectedAt < f.to!)
                }
                return ConflictListResponse(conflicts: conflicts.map { dto($0, r, chinese) })
            }
        } catch {
            throw ErrorBody(code: .serverError, message: "could not list conflicts: \(error)")
        }
    }

    /// The open conflicts in which `site`'s own value was not kept (its edit lost to another site's concurrent one or
    /// to a delete): the office whose edit lost is told at its next sync, with what was kept instead and by whom.
    public func lost(by site: String, chinese: Bool = false) throws(ErrorBody) -> ConflictListResponse {
        var f = Filter()
        f.site = site
        return ConflictListResponse(conflicts: try list(f, chinese: chinese).conflicts.filter { $0.other.site == site })
    }

    /// The table and column a conflict is about (404 for an unknown id).
    func column(of id: String) throws(ErrorBody) -> (table: String, column: String) {
        let c = try show(id)
        return (c.table, c.column)
    }

    public func show(_ id: String, chinese: Bool = false) throws(ErrorBody) -> ConflictDTO {
        do {
            return try store.read { r in dto(try r.conflict(id: id), r, chinese) }
        } catch let e as ReplicaError {
            throw SyncService.errorBody(e)
        } catch {
            throw ErrorBody(code: .serverError, message: "\(error)")
        }
    }

    public func resolve(_ id: String, body: [UInt8], admin: String, chinese: Bool = false) throws(ErrorBody) -> ConflictDTO {
        let request: ResolveRequest
        do { request = try ResolveRequest.decode(body) } catch {
            throw ErrorBody(code: .badRequest, message: "malformed resolve request: \(error)")
        }
        let action: ResolveAction
        switch request.action {
        case .keep: action = .keep
        case .takeOther: action = .takeOther
        case .set:
            // The value an admin types is held to the field's rules, as a clerk's is (a phone is a phone).
            let field = try column(of: id)
            do throws(FieldRules.Problem) {
                action = .set(try FieldRules.check(table: field.table, column: field.column, value: request.value ?? .null))
            } catch {
                throw ErrorBody(code: .constraintViolated, message: error.english + "; nothing was changed", table: error.table, column: error.column)
            }
        }
        do {
            let c = try store.write { r -> ConflictDTO in
                try r.resolve(conflictID: id, action: action, by: admin, note: request.note)
                return dto(try r.conflict(id: id), r, chinese)
            }
            log.event("resolve", ["conflict": .text(id), "admin": .text(admin), "action": .text(request.action.rawValue)])
            return c
        } catch let e as ReplicaError {
            throw SyncService.errorBody(e, databasePath: store.databasePath)
        } catch let e as SQLiteError {
            // A full disk or a value the schema refuses gets its own code, not a 500 with SQL text.
            throw SyncService.errorBody(.sqlite(e), databasePath: store.databasePath)
        } catch {
            throw ErrorBody(code: .serverError, message: "\(error)")
        }
    }

    /// The audit trail, oldest first; `filter.from`/`to` bound the resolution time.
    public func audit(_ filter: Filter = Filter(), chinese: Bool = false) throws(ErrorBody) -> AuditListResponse {
        do {
            return try store.read { r in
                AuditListResponse(entries: try r.resolutions().filter { _, res in
                    (filter.from == nil || res.at >= filter.from!) && (filter.to == nil || res.at < filter.to!)
                }.map { c, res in
                    AuditEntryDTO(id: c.id, at: res.at, by: res.by, action: "resolve:\(res.action.rawValue)", conflictId: c.id,
                                  table: c.table, column: c.column, pk: c.pk, before: res.before, after: res.value, note: res.note,
                                  tableLabel: FieldLabels.table(c.table, chinese: chinese), columnLabel: FieldLabels.column(c.column, chinese: chinese),
                                  rowLabel: FieldLabels.row(c.table, pk: c.pk, in: r.database))
                })
            }
        } catch {
            throw ErrorBody(code: .serverError, message: "\(error)")
        }
    }

    /// Changes to sites, tokens and admins, oldest first; `filter.from`/`to` bound the time of the change.
    public func accountsAudit(_ filter: Filter = Filter()) throws(ErrorBody) -> AccountAuditResponse {
        do {
            return AccountAuditResponse(entries: try store.accountEvents(from: filter.from, to: filter.to).map {
                AccountEventDTO(id: String($0.id), at: $0.at, actor: $0.actor, action: $0.action, subject: $0.subject, detail: $0.detail)
            })
        } catch {
            throw ErrorBody(code: .serverError, message: "could not read the account audit trail: \(error)")
        }
    }

    public func openConflictCount() -> Int {
        (try? store.read { r in try r.database.scalar("SELECT count(*) FROM _cp_conflicts WHERE status = 'open'")?.int64Value ?? 0 }).map(Int.init) ?? 0
    }

    /// A side's site as the admin knows it: its name, and at a city (or province) the member county it came from —
    /// two counties may both have a 城关镇 — or the county's own name for its daemon's writes.
    private func siteName(_ site: String, _ chinese: Bool) -> String? {
        let name = store.siteName(site)
        guard let county = store.tierCounty(of: site), county != site else { return name }
        let countyName = store.siteName(county) ?? county
        guard let name else { return countyName }
        return chinese ? "\(name)（\(countyName)）" : "\(name) (\(countyName))"
    }

    private func dto(_ c: Conflict, _ r: Replica, _ chinese: Bool) -> ConflictDTO {
        var d = ConflictDTO(c, tableLabel: FieldLabels.table(c.table, chinese: chinese), columnLabel: FieldLabels.column(c.column, chinese: chinese),
                            rowLabel: FieldLabels.row(c.table, pk: c.pk, in: r.database), siteName: { siteName($0, chinese) })
        d.expects = FieldRules.expected(table: c.table, column: c.column).map { chinese ? $0.zh : $0.en }
        return d
    }
}
