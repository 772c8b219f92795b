import CPSyncText

/// A domain request that was refused (a record not found, a bad value, a bad CSV row, an unknown schema).
/// Nothing was changed. Maps to exit code 65.
public enum CPPCCError: UserFacingError, Sendable, Equatable {
    case notFound(kind: String, key: String)
    case ambiguous(kind: String, key: String, candidates: [String])
    case invalidValue(field: FieldName, value: String, expected: Phrase)
    case missingValue(field: FieldName)
    case unknownReference(field: FieldName, kind: String, key: String)
    case duplicate(kind: String, key: String)
    case csv(file: String, line: Int, reason: Phrase)
    case schemaNotInstalled
    case schemaTooNew(replica: Int, known: Int)
    /// A report asked of an office for a site outside its own area, where it holds only part of the data.
    case outsideOfficeArea(site: String, office: String)

    public var exitCode: ExitCode { .dataError }

    public func text(in language: Language) -> String {
        switch self {
        case .notFound(let kind, let key):
            language.pick(en: "no \(kind) '\(key)'", zh: "找不到\(Self.zh(kind)) '\(key)'")
        case .ambiguous(let kind, let key, let c):
            language.pick(en: "'\(key)' matches several \(kind)s (\(c.joined(separator: "; "))); nothing was changed: give one of the ids shown",
                      zh: "'\(key)' 对应多个\(Self.zh(kind))（\(c.joined(separator: "；"))）；未做任何更改：请改用所列的编号之一")
        case .invalidValue(let f, let v, let e):
            language.pick(en: "invalid \(f.name) '\(v)': expected \(e.english)", zh: "\(f.text(in: .chinese)) 的值 '\(v)' 无效：应为 \(e.chinese)")
        case .missingValue(let f):
            language.pick(en: "\(f.name) is required", zh: "\(f.text(in: .chinese)) 不能为空")
        case .unknownReference(let f, let kind, let key):
            language.pick(en: "\(f.name) '\(key)' does not name a known \(kind)", zh: "\(f.text(in: .chinese)) '\(key)' 不是已知的\(Self.zh(kind))")
        case .duplicate(let kind, let key):
            language.pick(en: "\(kind) '\(key)' already exists", zh: "\(Self.zh(kind)) '\(key)' 已存在")
        case .csv(let file, let line, let reason):
            language.pick(en: "\(file): line \(line): \(reason.english); nothing was imported",
                      zh: "\(file)：第 \(line) 行：\(reason.chinese)；未导入任何数据")
        case .schemaNotInstalled:
            language.pick(en: "this replica has no CPPCC tables yet", zh: "此副本尚未安装政协数据表")
        case .outsideOfficeArea(let site, let office):
            language.pick(en: "this office (\(office)) holds complete records only of its own area, so a report on \(site) would be wrong; make that report at the county office, or give --site a site of this office's area",
                      zh: "本办公室（\(office)）只保存本辖区的完整数据，统计 \(site) 会得出错误的数字；请在县政协办公室生成该站点的统计，或用 --site 指定本辖区内的站点")
        case .schemaTooNew(let r, let k):
            language.pick(en: "this replica uses schema v\(r) but this cpsync knows only up to v\(k); upgrade cpsync to schema v\(r)",
                      zh: "此副本使用数据结构 v\(r)，本版 cpsync 仅支持到 v\(k)；请把 cpsync 升级到支持 v\(r) 的版本")
        }
    }

    static func zh(_ kind: String) -> String {
        switch kind {
        case "member": "委员"
        case "proposal": "提案"
        case "site": "站点"
        case "handler": "承办单位"
        case "social report": "社情民意信息"
        case "activity": "活动"
        case "attachment": "附件"
        default: kind
        }
    }
}
