import CPPCC
import CPSyncCLI

/// `cpsync member add|list|show|edit`: the member roster (委员).
enum MemberCommand {
    // Every sub-verb and option is described in Help.swift.
    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("member add|list|show|edit|void|restore") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json", "voided"])
        let office = try Office(OfficeFile.open(&args))
        let json = args.flag("json")
        if try VoidVerbs.run(.member, sub, &args, office, json: json) { return ExitCode.ok.rawValue }
        switch sub {
        case "add":
            var m = Member(name: try args.required("name"))
            if let id = args.option("id") { m.id = id }
            apply(&args, to: &m)
            try args.checkAllConsumed()
            m = try office.addMember(m)
            Console.out(json ? try CPPCCJSON.encode(m) : L10n.pick(en: "added member \(m.name) (\(m.id))", zh: "已添加委员 \(m.name)（\(m.id)）"))
            let twins = try office.duplicates(of: m).map(\.id)
            if !json && !twins.isEmpty {
                Console.err(L10n.pick(en: "warning: \(m.name) (\(m.phone)) has the same name and phone as member \(twins.joined(separator: ", ")); if it is the same person, void one with `cpsync member void ID --reason 重复登记`",
                                      zh: "警告：\(m.name)（\(m.phone)）与委员 \(twins.joined(separator: "、")) 姓名和电话相同；如为同一人，请用 `cpsync member void 编号 --reason 重复登记` 作废其一"))
            }
        case "list":
            let filter = MemberFilter(site: args.option("site"), sector: args.option("sector"), term: args.option("term"), voidedOnly: args.flag("voided"))
            try args.checkAllConsumed()
            let ms = try office.members(filter)
            if json { Console.out(try CPPCCJSON.encode(ms)) } else {
                let t = Listing.members(ms, sites: try office.siteNames(), ids: try office.shortIDs(in: "members"), in: L10n.language)
                Console.out(Console.table(header: t.header, rows: t.rows))
            }
        case "show":
            let key = try positional(args, "member ID (or its first characters) or name")
            try args.checkAllConsumed()
            let m = try office.member(key)
            Console.out(json ? try CPPCCJSON.encode(m) : Listing.details(Listing.member(m, sites: try office.siteNames(), in: L10n.language) + (try VoidVerbs.detail(.member, id: m.id, office))))
        case "edit":
            let key = try positional(args, "member ID or name")
            var m = try office.member(key)
            if let n = args.option("name") { m.name = n }
            apply(&args, to: &m)
            try args.checkAllConsumed()
            let changed = try office.editMember(m)
            let saved = try office.member(m.id)
            Console.out(json ? try CPPCCJSON.encode(saved) : changed.isEmpty
                ? L10n.pick(en: "member \(saved.name): nothing changed", zh: "委员 \(saved.name)：没有修改")
                : L10n.pick(en: "updated member \(saved.name): \(changed.map { $0.text(in: .english) }.joined(separator: ", "))", zh: "已更新委员 \(saved.name)：\(changed.map { $0.text(in: .chinese) }.joined(separator: "、"))"))
        default:
            throw UsageError.unknownCommand("member \(sub)")
        }
        return ExitCode.ok.rawValue
    }

    private static func apply(_ args: inout Arguments, to m: inout Member) {
        if let v = args.option("gender") { m.gender = v }
        if let v = args.option("sector") { m.sector = v }
        if let v = args.option("party") { m.party = v }
        if let v = args.option("term") { m.term = v }
        if let v = args.option("site") { m.siteID = v.isEmpty ? nil : v }
        if let v = args.option("phone") { m.phone = v }
        if let v = args.option("employer") { m.employer = v }
        if let v = args.option("position") { m.position = v }
    }

    /// The one positional argument a subcommand takes.
    static func positional(_ args: Arguments, _ what: String) throws -> String {
        guard let first = args.positionals.first else { throw UsageError.missingArgument(what) }
        if args.positionals.count > 1 { throw UsageError.unexpectedArgument(args.positionals[1]) }
        return first
    }
}
