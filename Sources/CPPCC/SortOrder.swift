import CPSyncText
import CPSyncCore
import Foundation

/// The order in which a county lists its sites and its handling units (承办单位): the county's own order (县政府 first,
/// then the bureaus as its documents list them; townships in their administrative order), not the order of the
/// characters' code points. Set with `cpsync order sites|units …` and used by the lists and by `cpsync report`.
///
/// Kept in the replica's own metadata (one setting row per list, `cppcc.order.sites` / `cppcc.order.units`), so no
/// schema version is needed: it is a setting of the office that prints the lists and the report (in practice the
/// county office), not synced data. Anything the list does not name comes after the named ones, in Chinese
/// (pinyin) order, and sites keep the county first and parents before their children's kind.
public enum OrderedList: String, CaseIterable, Sendable {
    case sites, units

    var metaKey: String { "cppcc.order.\(rawValue)" }
}

extension Office {
    /// The county's order for `list`, as set (empty when never set).
    public func order(_ list: OrderedList) throws -> [String] {
        guard let text = try replica.meta(list.metaKey)?.stringValue, !text.isEmpty else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    /// Sets the county's order for `list` (an empty list clears it). Site ids must be in the tree, when the tree is
    /// here; a name given twice is refused. Returns the names the list holds.
    @discardableResult
    public func setOrder(_ list: OrderedList, _ items: [String]) throws -> [String] {
        let cleaned = items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var seen = Set<String>()
        for item in cleaned where !seen.insert(item).inserted {
            throw CPPCCError.invalidValue(field: list == .sites ? FieldName(en: "site order", zh: "站点顺序") : FieldName(en: "unit order", zh: "承办单位顺序"),
                                          value: item, expected: Phrase(en: "each name once", zh: "每项只出现一次"))
        }
        if list == .sites { for id in cleaned { try checkSite(id) } }
        try replica.setMeta(list.metaKey, .text(cleaned.joined(separator: "\n")))
        return cleaned
    }

    /// Handling units named in the data (承办单位 of any proposal), for `cpsync order show`.
    public func handlingUnits() throws -> [String] {
        try sortedUnits(try db.query("SELECT DISTINCT unit FROM proposal_handlers WHERE unit != ''").map { $0[0].str })
    }

    /// `units` in the county's order: the named ones first, as named, then the rest in Chinese (pinyin) order.
    public func sortedUnits(_ units: [String]) throws -> [String] {
        let rank = Self.ranks(try order(.units))
        return units.sorted { Self.before(rank[$0], $0, rank[$1], $1) }
    }

    /// Sites in the county's order: the county first, then the sites the setting names, as named, then the rest by
    /// kind (township, street, station) and name in Chinese order.
    func sortedSites(_ sites: [Site]) throws -> [Site] {
        let rank = Self.ranks(try order(.sites))
        func kindRank(_ k: SiteKind) -> Int { [SiteKind.county, .township, .street, .station].firstIndex(of: k) ?? 4 }
        return sites.sorted { a, b in
            if (a.kind == .county) != (b.kind == .county) { return a.kind == .county }
            switch (rank[a.id], rank[b.id]) {
            case let (x?, y?): return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil):
                if kindRank(a.kind) != kindRank(b.kind) { return kindRank(a.kind) < kindRank(b.kind) }
                return Self.before(nil, a.name.isEmpty ? a.id : a.name, nil, b.name.isEmpty ? b.id : b.name) || (a.name == b.name && a.id < b.id)
            }
        }
    }

    /// For each site id, its place in the county's order (for sorting records by their site).
    func siteRanks() throws -> [String: Int] {
        Self.ranks(try sortedSites(try sites()).map(\.id))
    }

    static func ranks(_ list: [String]) -> [String: Int] {
        Dictionary(list.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Named before unnamed; named by their place; unnamed in Chinese (pinyin) order, code points only as the last tie-break.
    static func before(_ ra: Int?, _ a: String, _ rb: Int?, _ b: String) -> Bool {
        switch (ra, rb) {
        case let (x?, y?): return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return chineseOrder(a, b)
        }
    }

    static let chinese = Locale(identifier: "zh_CN")

    /// Chinese (pinyin) collation, as a county office sorts names by hand; code points only to break a tie.
    public static func chineseOrder(_ a: String, _ b: String) -> Bool {
        switch a.compare(b, locale: chinese) {
        case .orderedAscending: true
        case .orderedDescending: false
        case .orderedSame: a < b
        }
    }
}
