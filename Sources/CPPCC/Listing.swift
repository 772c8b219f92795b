import CPSyncText
import Foundation

/// Table headers and rows for the human output of the office verbs (the executables print them with
/// `Console.table`), so the wording lives in one place.
public enum Listing {
    /// A site as lists print it: its name (`sites`: names by id, from `Office.siteNames()`), else its id.
    public static func site(_ id: String?, _ sites: [String: String]) -> String {
        guard let id else { return "" }
        return sites[id].flatMap { $0.isEmpty ? nil : $0 } ?? id
    }

    /// A site as a detail view prints it: "华山镇政协工委 (huashan)".
    static func siteWithID(_ id: String?, _ sites: [String: String]) -> String {
        guard let id else { return "" }
        guard let name = sites[id], !name.isEmpty else { return id }
        return "\(name) (\(id))"
    }

    /// `ids`: the short ids to print (`Office.shortIDs(in:)`); the first eight characters when absent.
    static func short(_ id: String, _ ids: [String: String]) -> String { ids[id] ?? String(id.prefix(Office.shortIDLength)) }

    public static func members(_ ms: [Member], sites: [String: String] = [:], ids: [String: String] = [:], in language: Language) -> (header: [String], rows: [[String]]) {
        (header: [language.pick(en: "name", zh: "姓名"), language.pick(en: "gender", zh: "性别"), language.pick(en: "sector", zh: "界别"),
                  language.pick(en: "party", zh: "党派"), language.pick(en: "term", zh: "届别"), language.pick(en: "site", zh: "站点"), "id"],
         rows: ms.map { [$0.name, $0.gender, $0.sector, $0.party, $0.term, site($0.siteID, sites), short($0.id, ids)] })
    }

    public static func member(_ m: Member, sites: [String: String] = [:], in language: Language) -> [(String, String)] {
        [("id", m.id), (language.pick(en: "name", zh: "姓名"), m.name), (language.pick(en: "gender", zh: "性别"), m.gender),
         (language.pick(en: "sector", zh: "界别"), m.sector), (language.pick(en: "party", zh: "党派"), m.party),
         (language.pick(en: "term", zh: "届别"), m.term), (language.pick(en: "site", zh: "站点"), siteWithID(m.siteID, sites)),
         (language.pick(en: "phone", zh: "电话"), m.phone), (language.pick(en: "employer", zh: "工作单位"), m.employer),
         (language.pick(en: "position", zh: "职务"), m.position)]
    }

    public static func proposals(_ ps: [Proposal], names: [String: String], sites: [String: String] = [:], ids: [String: String] = [:], in language: Language) -> (header: [String], rows: [[String]]) {
        (header: [language.pick(en: "number", zh: "案号"), language.pick(en: "title", zh: "标题"), language.pick(en: "proposer", zh: "提案人"),
                  language.pick(en: "site", zh: "站点"), language.pick(en: "status", zh: "状态"), language.pick(en: "key", zh: "重点"), "id"],
         rows: ps.map { [$0.number, $0.title, $0.proposerID.flatMap { names[$0] } ?? "", site($0.siteID, sites), $0.status.label(in: language), $0.isKey ? "★" : "",
                         short($0.id, ids)] })
    }

    public static func proposal(_ p: Proposal, proposer: String?, cosigners: [Member], sites: [String: String] = [:], in language: Language) -> [(String, String)] {
        var out: [(String, String)] = [
            ("id", p.id), (language.pick(en: "number", zh: "案号"), p.number), (language.pick(en: "session", zh: "会议"), p.session),
            (language.pick(en: "year", zh: "年度"), String(p.year)), (language.pick(en: "title", zh: "标题"), p.title),
            (language.pick(en: "proposer", zh: "第一提案人"), proposer ?? ""),
            (language.pick(en: "co-signers", zh: "联名委员"), cosigners.map(\.name).joined(separator: "、")),
            (language.pick(en: "site", zh: "站点"), siteWithID(p.siteID, sites)), (language.pick(en: "submitted", zh: "提交日期"), p.submittedOn ?? ""),
            (language.pick(en: "status", zh: "状态"), "\(p.status.label(in: language)) (\(p.status.rawValue))"),
        ]
        if let m = p.mergedInto { out.append((language.pick(en: "merged into", zh: "并入"), m)) }
        if let c = p.convertedTo { out.append((language.pick(en: "converted to", zh: "转为"), ConversionTarget(rawValue: c)?.label(in: language) ?? c)) }
        if !p.reviewNote.isEmpty { out.append((language.pick(en: "review note", zh: "审查意见"), p.reviewNote)) }
        if p.isKey { out.append((language.pick(en: "key proposal, supervised by", zh: "重点提案督办"), p.supervisor)) }
        if let f = p.filedOn { out.append((language.pick(en: "filed", zh: "立案日期"), f)) }
        if let c = p.closedOn { out.append((language.pick(en: "closed", zh: "办结日期"), c)) }
        out.append((language.pick(en: "body", zh: "内容"), p.body))
        return out
    }

    public static func handlers(_ hs: [Handler], in language: Language) -> (header: [String], rows: [[String]]) {
        (header: [language.pick(en: "unit", zh: "承办单位"), language.pick(en: "role", zh: "类型"), language.pick(en: "due", zh: "办理期限"),
                  language.pick(en: "replied", zh: "答复日期"), language.pick(en: "category", zh: "类别"), language.pick(en: "met", zh: "见面"),
                  language.pick(en: "evaluation", zh: "评价")],
         rows: hs.map { [$0.unit, $0.role.label(in: language), $0.dueOn ?? "", $0.repliedOn ?? "", $0.category?.rawValue ?? "",
                         $0.hasReplied ? ($0.metProposer ? language.pick(en: "yes", zh: "是") : language.pick(en: "no", zh: "否")) : "",
                         $0.satisfaction?.label(in: language) ?? ""] })
    }

    public static func socialReports(_ rs: [SocialReport], names: [String: String], sites: [String: String] = [:], ids: [String: String] = [:], in language: Language) -> (header: [String], rows: [[String]]) {
        (header: [language.pick(en: "date", zh: "日期"), language.pick(en: "title", zh: "标题"), language.pick(en: "reporter", zh: "报送人"),
                  language.pick(en: "site", zh: "站点"), language.pick(en: "adopted", zh: "采用"), language.pick(en: "instruction", zh: "批示"), "id"],
         rows: rs.map { [$0.reportedOn ?? "", $0.title, $0.reporterID.flatMap { names[$0] } ?? "", site($0.siteID, sites),
                         $0.adopted ? language.pick(en: "yes", zh: "是") : "", $0.instruction, short($0.id, ids)] })
    }

    public static func activities(_ acts: [Activity], names: [String: String], sites: [String: String] = [:], ids: [String: String] = [:], in language: Language) -> (header: [String], rows: [[String]]) {
        (header: [language.pick(en: "date", zh: "日期"), language.pick(en: "kind", zh: "类型"), language.pick(en: "topic", zh: "主题"),
                  language.pick(en: "site", zh: "站点"), language.pick(en: "participants", zh: "参加委员"), "id"],
         rows: acts.map { [$0.heldOn ?? "", $0.kind.label(in: language), $0.topic, site($0.siteID, sites),
                           $0.participants.map { names[$0] ?? $0 }.joined(separator: "、"), short($0.id, ids)] })
    }

    /// "label  value" lines for a detail view.
    public static func details(_ pairs: [(String, String)]) -> String {
        TextTable.render(header: ["", ""], rows: pairs.map { [$0.0, $0.1] }).split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
    }
}

extension Office {
    /// Member names by id, for listings.
    public func memberNames() throws -> [String: String] {
        // Voided members too: their proposals and reports still name them.
        Dictionary(try (members() + members(MemberFilter(voidedOnly: true))).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    }
}
