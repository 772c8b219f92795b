import CPSyncText
import CPSyncCore

/// Words for the CPPCC tables and columns, and a human label for a row: what an admin sees in a conflict.
public enum FieldLabels {
    public static let tables: [String: (zh: String, en: String)] = [
        "sites": ("站点", "site"), "members": ("委员", "member"), "proposals": ("提案", "proposal"),
        "proposal_cosigners": ("联名", "co-signer"), "proposal_handlers": ("承办单位", "handling unit"),
        "social_reports": ("社情民意", "social report"), "activities": ("履职活动", "activity"),
        "activity_participants": ("活动参加人", "participant"),
        "proposal_attachments": ("提案附件", "proposal attachment"), "activity_attachments": ("活动附件", "activity attachment"),
        "social_report_attachments": ("社情民意附件", "social report attachment"), "member_attachments": ("委员附件", "member attachment"),
    ]
    public static let columns: [String: (zh: String, en: String)] = [
        "name": ("名称", "name"), "gender": ("性别", "gender"), "sector": ("界别", "sector"), "party": ("党派", "party"),
        "term": ("届次", "term"), "site_id": ("站点", "site"), "phone": ("电话", "phone"), "number": ("案号", "number"),
        "session": ("会议", "session"), "year": ("年度", "year"), "title": ("标题", "title"), "body": ("正文", "body"),
        "proposer_id": ("领衔提案人", "lead proposer"), "submitted_on": ("提交日期", "submitted on"), "status": ("状态", "status"),
        "merged_into": ("并入提案", "merged into"), "converted_to": ("转为", "converted to"), "is_key": ("重点提案", "key proposal"),
        "supervisor": ("督办领导", "supervisor"), "unit": ("承办单位", "unit"), "role": ("主办/协办", "role"),
        "assigned_on": ("交办日期", "assigned on"), "due_on": ("办理期限", "due on"), "replied_on": ("答复日期", "replied on"),
        "reply": ("答复内容", "reply"), "category": ("办理类别", "category"), "met_proposer": ("见面/面商", "met proposer"),
        "satisfaction": ("满意度", "satisfaction"), "evaluated_on": ("评价日期", "evaluated on"), "reporter_id": ("反映人", "reporter"),
        "reported_on": ("反映日期", "reported on"), "forwarded_to": ("报送单位", "forwarded to"), "adopted": ("是否采用", "adopted"),
        "instruction": ("领导批示", "instruction"), "kind": ("类别", "kind"), "topic": ("主题", "topic"), "held_on": ("日期", "held on"),
        "outcome": ("成果", "outcome"), "parent_id": ("上级站点", "parent site"),
        "employer": ("工作单位", "employer"), "size": ("大小", "size"), "sha256": ("校验值", "SHA-256"),
        "media_type": ("文件类型", "media type"), "added_by": ("添加站点", "added by"), "added_at": ("添加时间", "added at"),
        "proposal_id": ("提案", "proposal"), "activity_id": ("活动", "activity"), "social_report_id": ("社情民意", "social report"),
        "member_id": ("委员", "member"), "position": ("职务", "position"), "review_note": ("审查意见", "review note"),
    ]

    /// Names messages give a value that are not a synced column (an option's, or a CSV column's of its own).
    static let otherFields: [String: (zh: String, en: String)] = [
        "filed_on": ("立案日期", "filed on"), "closed_on": ("办结日期", "closed on"), "date": ("日期", "date"),
        "due": ("答复期限", "due"), "id": ("编号", "id"), "site id": ("站点标识", "site id"),
    ]

    /// A field named in a message (a column, or a name the message's caller used): in Chinese the column's label,
    /// never the identifier (`filed_on` → 立案日期); in English as given. An unknown name (an option such as `--date`,
    /// or a label already in the reader's language) is kept.
    public static func field(_ f: String, chinese: Bool) -> String {
        guard chinese else { return f }
        return (columns[f] ?? otherFields[f])?.zh ?? f
    }

    public static func table(_ t: String, chinese: Bool) -> String { tables[t].map { chinese ? $0.zh : $0.en } ?? t }
    public static func column(_ c: String, chinese: Bool) -> String { columns[c].map { chinese ? $0.zh : $0.en } ?? c }

    /// A row's human label: proposal number + title, member name, report title…; the key when there is none.
    public static func row(_ table: String, pk: String, in db: Database) -> String {
        let sql: String
        switch table {
        case "proposals": sql = "SELECT trim(coalesce(number, '') || ' ' || coalesce(title, '')) FROM proposals WHERE id = ?"
        case "members", "sites": sql = "SELECT name FROM \"\(table)\" WHERE id = ?"
        case "social_reports": sql = "SELECT title FROM social_reports WHERE id = ?"
        case "activities": sql = "SELECT topic FROM activities WHERE id = ?"
        case "proposal_handlers":
            sql = "SELECT trim(coalesce(p.number, '') || ' ' || coalesce(p.title, '') || ' · ' || h.unit) FROM proposal_handlers h LEFT JOIN proposals p ON p.id = h.proposal_id WHERE h.id = ?"
        default:
            guard Attachments.kind(of: table) != nil else { return pk }
            sql = "SELECT name FROM \"\(table)\" WHERE id = ?"
        }
        guard let label = (try? db.scalar(sql, [.text(pk)]))??.stringValue, !label.isEmpty else { return pk }
        return label
    }
}

/// A field a message names: a column or option as the code knows it (`submitted_on`, `--reason`), shown in Chinese by
/// its label (`FieldLabels.field`), or a name given in both languages where no column has it (“site order”).
public struct FieldName: Renderable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let name: String
    let chinese: String?

    public init(_ name: String) {
        self.name = name
        chinese = nil
    }

    public init(en: String, zh: String) {
        name = en
        chinese = zh
    }

    public init(stringLiteral value: String) { self.init(value) }

    public func text(in language: Language) -> String {
        language.isChinese ? chinese ?? FieldLabels.field(name, chinese: true) : name
    }

    public var description: String { name }
}
