import CPPCC
import CPSyncCLI

/// `cpsync member|proposal|social|activity void KEY --reason TEXT [--date D]` and `… restore KEY`: 作废 keeps the
/// record but takes it out of lists and the report; the county restores it. Shared by the four verbs.
enum VoidVerbs {
    struct Result: Encodable {
        let kind: String
        let id: String
        let voidedOn: String?
        let voidReason: String?
        enum CodingKeys: String, CodingKey { case kind, id, voidedOn = "voided_on", voidReason = "void_reason" }
    }

    /// Runs `sub` when it is `void` or `restore`; false for any other sub-verb.
    static func run(_ kind: VoidRecords.Kind, _ sub: String, _ args: inout Arguments, _ office: Office, json: Bool) throws -> Bool {
        let what = L10n.pick(en: "\(kind.rawValue) ID (or its first characters)", zh: "记录编号（或其前几位）")
        switch sub {
        case "void":
            let key = try MemberCommand.positional(args, what)
            let reason = try args.required("reason")
            let date = try Office.date(args.option("date"), field: "--date")
            try args.checkAllConsumed()
            let id = try office.void(kind, key, reason: reason, on: date)
            let state = try office.voidState(kind, id: id)
            Console.out(json ? try CPPCCJSON.encode(Result(kind: kind.rawValue, id: id, voidedOn: state?.on, voidReason: state?.reason))
                             : L10n.pick(en: "voided \(key) (\(id)) on \(state?.on ?? ""): it is kept but leaves lists and the report; the county can restore it",
                                         zh: "已作废 \(key)（\(id)），日期 \(state?.on ?? "")：记录保留，不再出现在列表和统计中；县政协可恢复"))
        case "restore":
            let key = try MemberCommand.positional(args, what)
            try args.checkAllConsumed()
            let id = try office.restore(kind, key)
            Console.out(json ? try CPPCCJSON.encode(Result(kind: kind.rawValue, id: id, voidedOn: nil, voidReason: nil))
                             : L10n.pick(en: "restored \(key) (\(id)): it counts again", zh: "已恢复 \(key)（\(id)），重新计入列表和统计"))
        default:
            return false
        }
        return true
    }

    /// The "voided" line of a detail view, or nothing.
    static func detail(_ kind: VoidRecords.Kind, id: String, _ office: Office) throws -> [(String, String)] {
        guard let s = try office.voidState(kind, id: id) else { return [] }
        return [(L10n.pick(en: "VOIDED", zh: "已作废"), "\(s.on) \(s.reason)")]
    }
}
