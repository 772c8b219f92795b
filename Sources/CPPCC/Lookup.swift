import CPSyncText
import CPSyncCore

/// Finding the record a clerk means: by its exact id, by what people call it (a member's name, a proposal's 案号),
/// or by the first characters of its id (at least `Office.minimumIDPrefix`), as the lists print them. A key that
/// fits several records is refused, listing each candidate with the short id that picks it.
extension Office {
    /// The fewest characters of an id a lookup accepts as a prefix.
    public static let minimumIDPrefix = 4
    /// The fewest characters lists print of an id.
    public static let shortIDLength = 8

    /// A lookup target: the table, the kind named in messages, the column people use as a name (matched exactly)
    /// and a SQL expression describing a row in a list of candidates.
    struct LookupTable {
        let table: String
        let kind: String
        let label: String?
        let describe: String

        static let members = LookupTable(table: "members", kind: "member", label: "name", describe: "name")
        static let proposals = LookupTable(table: "proposals", kind: "proposal", label: "number", describe: "trim(number || ' ' || title)")
        static let socialReports = LookupTable(table: "social_reports", kind: "social report", label: nil, describe: "trim(coalesce(reported_on, '') || ' ' || title)")
        static let activities = LookupTable(table: "activities", kind: "activity", label: nil, describe: "trim(coalesce(held_on, '') || ' ' || topic)")
        static let sites = LookupTable(table: "sites", kind: "site", label: "name", describe: "name")
    }

    /// The id of the one row of `t` that `key` names: the exact id, else the rows whose label equals the key,
    /// else the ids starting with the key. Several matches: `CPPCCError.ambiguous` listing "short-id description".
    func resolveID(_ key: String, in t: LookupTable) throws -> String {
        let key = key.trimmingCharacters(in: .whitespaces)
        if try db.scalar("SELECT count(*) FROM \(t.table) WHERE id = ?", [.text(key)])?.int64Value != 0 { return key }
        var matches: [[Value]] = []
        if let label = t.label {
            matches = try db.query("SELECT id, \(t.describe) FROM \(t.table) WHERE \(label) = ? ORDER BY id", [.text(key)])
        }
        if matches.isEmpty && key.count >= Office.minimumIDPrefix {
            matches = try db.query("SELECT id, \(t.describe) FROM \(t.table) WHERE substr(id, 1, ?) = ? ORDER BY id",
                                   [.integer(Int64(key.utf8.count)), .text(key)])
        }
        if matches.count == 1 { return matches[0][0].str }
        if matches.isEmpty { throw CPPCCError.notFound(kind: t.kind, key: key) }
        let short = try shortIDs(in: t.table)
        throw CPPCCError.ambiguous(kind: t.kind, key: key,
                                   candidates: matches.map { "\(short[$0[0].str] ?? $0[0].str) \($0[1].str)".trimmingCharacters(in: .whitespaces) })
    }

    /// For every id of `table`, the shortest start of it (at least `shortIDLength` characters, or the whole id)
    /// that no other id of the table shares: what lists print and what a lookup accepts.
    public func shortIDs(in table: String) throws -> [String: String] {
        let ids = try db.query("SELECT id FROM \(table) ORDER BY id").map { Array($0[0].str) }
        func common(_ a: [Character], _ b: [Character]) -> Int {
            var n = 0
            while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
            return n
        }
        var out: [String: String] = [:]
        for (i, id) in ids.enumerated() {
            var need = Office.shortIDLength
            if i > 0 { need = max(need, common(id, ids[i - 1]) + 1) }
            if i + 1 < ids.count { need = max(need, common(id, ids[i + 1]) + 1) }
            out[String(id)] = String(id.prefix(need))
        }
        return out
    }

    /// Site names by id, for listings.
    public func siteNames() throws -> [String: String] {
        Dictionary(try sites().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    }
}
