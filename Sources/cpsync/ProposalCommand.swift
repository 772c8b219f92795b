import CPPCC
import CPSyncCLI
import Foundation

/// `cpsync proposal …`: proposals (提案) and their workflow, from submission to 办结.
enum ProposalCommand {
    // Every sub-verb and option is described in Help.swift.
    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("proposal add|list|show|edit|file|reject|merge|convert|assign|reply|evaluate|close|void|restore") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json", "draft", "key", "not-key", "met", "voided"])
        let office = try Office(OfficeFile.open(&args))
        let json = args.flag("json")
        if try VoidVerbs.run(.proposal, sub, &args, office, json: json) { return ExitCode.ok.rawValue }
        // Checked before any step: 2026-02-30 is refused here, naming --date.
        let date = try Office.date(args.option("date"), field: "--date")
        func key() throws -> String { try MemberCommand.positional(args, "proposal number (案号), ID or the ID's first characters") }
        func done(_ id: String, en: String, zh: String) throws {
            let p = try office.proposal(id)
            Console.out(json ? try CPPCCJSON.encode(p) : L10n.pick(en: "proposal \(p.displayKey): \(en) — now \(p.status.label(in: L10n.language))",
                                                                 zh: "提案 \(p.displayKey)：\(zh)，当前状态 \(p.status.label(in: L10n.language))"))
        }
        switch sub {
        case "add":
            let title = try args.required("title")
            let submitted = date
            let year = try args.int("year") ?? submitted.flatMap { Int($0.prefix(4)) } ?? Int(Office.today().prefix(4))!
            var p = Proposal(number: args.option("number") ?? "", session: args.option("session") ?? "", year: year, title: title,
                             body: args.option("body") ?? "", proposerID: try args.required("proposer"), siteID: args.option("site"),
                             submittedOn: submitted, status: args.flag("draft") ? .draft : .submitted)
            if let id = args.option("id") { p.id = id }
            let cosigners = args.options("cosigner")
            try args.checkAllConsumed()
            p = try office.addProposal(p, cosigners: cosigners)
            if let w = DateWarning.check(p) { Console.err(w.description) }
            let provisional = Proposal.countySequence(of: p.number) == nil
                ? L10n.pick(en: ", provisional number until the county files it", zh: "，立案前为临时编号") : ""
            Console.out(json ? try CPPCCJSON.encode(p) : L10n.pick(en: "added proposal \(p.number) (\(p.id)\(provisional))",
                                                                 zh: "已登记提案 \(p.number)（\(p.id)\(provisional)）"))
        case "list":
            var filter = ProposalFilter(year: try args.int("year"), site: args.option("site"), keyOnly: args.flag("key"), voidedOnly: args.flag("voided"))
            if let s = args.option("status") {
                guard let st = ProposalStatus.parse(s) else { throw UsageError.invalidValue(option: "status", value: s, expected: ProposalStatus.choices) }
                filter.status = st
            }
            try args.checkAllConsumed()
            let ps = try office.proposals(filter)
            if json { Console.out(try CPPCCJSON.encode(ps)) } else {
                let t = Listing.proposals(ps, names: try office.memberNames(), sites: try office.siteNames(), ids: try office.shortIDs(in: "proposals"), in: L10n.language)
                Console.out(Console.table(header: t.header, rows: t.rows))
            }
        case "show":
            let k = try key()
            try args.checkAllConsumed()
            let p = try office.proposal(k)
            let handlers = try office.handlers(of: p.id)
            let cosigners = try office.cosigners(of: p.id)
            if json {
                struct Detail: Encodable { let proposal: Proposal; let cosigners: [Member]; let handlers: [Handler] }
                Console.out(try CPPCCJSON.encode(Detail(proposal: p, cosigners: cosigners, handlers: handlers)))
            } else {
                // Another office's filed proposal arrives without its proposer (members stay in their own scope).
                let proposer = p.proposerID.flatMap { (try? office.member($0))?.name }
                Console.out(Listing.details(Listing.proposal(p, proposer: proposer, cosigners: cosigners, sites: try office.siteNames(), in: L10n.language)
                                                + (try VoidVerbs.detail(.proposal, id: p.id, office))))
                if !handlers.isEmpty {
                    let t = Listing.handlers(handlers, in: L10n.language)
                    Console.out("\n" + Console.table(header: t.header, rows: t.rows))
                }
            }
        case "edit":
            let k = try key()
            var p = try office.proposal(k)
            if let v = args.option("title") { p.title = v }
            if let v = args.option("body") { p.body = v }
            if let path = args.option("body-file") { p.body = try bodyFile(path) }
            if let v = args.option("session") { p.session = v }
            if let y = try args.int("year") { p.year = y }
            if let v = args.option("number") { p.number = v }
            if let v = args.option("proposer") { p.proposerID = v.isEmpty ? nil : try office.member(v).id }
            if let v = args.option("site") { p.siteID = v.isEmpty ? nil : v }
            if let d = date { p.submittedOn = d }
            if let v = args.option("supervisor") { p.supervisor = v }
            let key = args.flag("key"), notKey = args.flag("not-key")
            if key && notKey { throw UsageError.invalidValue(option: "key", value: "--not-key", expected: L10n.pick(en: "one of --key and --not-key", zh: "--key 与 --not-key 二选一")) }
            if key { p.isKey = true } else if notKey { p.isKey = false }
            let replace = args.option("cosigners").map { $0.split(whereSeparator: { ";；、,，".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            let adding = args.options("cosigner"), removing = args.options("remove-cosigner")
            try args.checkAllConsumed()
            let changed = try office.editProposal(p, cosigners: replace, adding: adding, removing: removing)
            let saved = try office.proposal(p.id)
            if date != nil || args.option("year") != nil, let w = DateWarning.check(saved) { Console.err(w.description) }
            if json { Console.out(try CPPCCJSON.encode(saved)) } else {
                Console.out(changed.isEmpty ? L10n.pick(en: "proposal \(saved.displayKey): nothing changed", zh: "提案 \(saved.displayKey)：没有修改")
                            : L10n.pick(en: "updated proposal \(saved.displayKey): \(changed.map { $0.text(in: .english) }.joined(separator: ", "))",
                                        zh: "已更新提案 \(saved.displayKey)：\(changed.map { $0.text(in: .chinese) }.joined(separator: "、"))"))
            }
        case "submit":
            let k = try key(); try args.checkAllConsumed()
            try office.submit(k, on: date)
            try done(k, en: "submitted", zh: "已提交")
        case "review":
            let k = try key(); try args.checkAllConsumed()
            try office.startReview(k)
            try done(k, en: "under review", zh: "进入审查")
        case "file":
            let k = try key()
            let isKey = args.flag("key")
            let supervisor = args.option("supervisor")
            try args.checkAllConsumed()
            let before = try office.proposal(k)
            let filed = try office.file(before.id, on: date, isKey: isKey, supervisor: supervisor)
            // The key the clerk typed may be the provisional number the filing just replaced.
            let was = before.number == filed.number ? "" : L10n.pick(en: " (was \(before.displayKey))", zh: "（原编号 \(before.displayKey)）")
            try done(filed.id, en: "filed as 案号 \(filed.number)" + was, zh: "已立案，案号 \(filed.number)" + was)
        case "reject":
            let k = try key()
            let reason = try args.required("reason")
            try args.checkAllConsumed()
            try office.reject(k, reason: reason)
            try done(k, en: "not filed", zh: "不予立案")
        case "merge":
            let k = try key()
            let target = try args.required("into")
            try args.checkAllConsumed()
            try office.merge(k, into: target)
            try done(k, en: "merged into \(target)", zh: "已并入 \(target)")
        case "convert":
            let k = try key()
            let to = try args.required("to")
            guard let target = ConversionTarget.parse(to) else {
                throw UsageError.invalidValue(option: "to", value: to, expected: L10n.pick(en: "letter/委员来信 or social/社情民意", zh: "委员来信（letter）或社情民意（social）"))
            }
            try args.checkAllConsumed()
            try office.convert(k, to: target, on: date)
            try done(k, en: "converted to \(target.english)", zh: "已转为\(target.chinese)")
        case "assign":
            let k = try key()
            let unit = try args.required("unit")
            let roleText = args.option("role") ?? "lead"
            guard let role = HandlerRole.parse(roleText) else { throw UsageError.invalidValue(option: "role", value: roleText, expected: L10n.pick(en: "lead/主办 or co/协办", zh: "主办（lead）或协办（co）")) }
            let due = try Office.date(args.option("due"), field: "--due")
            try args.checkAllConsumed()
            try office.assign(k, unit: unit, role: role, due: due, on: date)
            try done(k, en: "assigned to \(unit)", zh: "已交办 \(unit)")
        case "reply":
            let k = try key()
            let unit = args.option("unit")
            let c = try args.required("category")
            guard let category = ReplyCategory.parse(c.uppercased()) else { throw UsageError.invalidValue(option: "category", value: c, expected: L10n.pick(en: "A, B or C", zh: "A、B 或 C")) }
            let text = try args.required("text")
            let met = args.flag("met")
            try args.checkAllConsumed()
            try office.reply(k, unit: unit, category: category, text: text, metProposer: met, on: date)
            try done(k, en: "reply recorded", zh: "已登记答复")
        case "evaluate":
            let k = try key()
            let unit = args.option("unit")
            let s = try args.required("satisfaction")
            guard let satisfaction = Satisfaction.parse(s) else { throw UsageError.invalidValue(option: "satisfaction", value: s, expected: L10n.pick(en: "满意/satisfied, 基本满意/basically, 不满意/dissatisfied", zh: "满意、基本满意或不满意")) }
            try args.checkAllConsumed()
            try office.evaluate(k, unit: unit, satisfaction: satisfaction, on: date)
            try done(k, en: "evaluation recorded", zh: "已登记评价")
        case "close":
            let k = try key(); try args.checkAllConsumed()
            try office.close(k, on: date)
            try done(k, en: "closed", zh: "已办结")
        default:
            throw UsageError.unknownCommand("proposal \(sub)")
        }
        return ExitCode.ok.rawValue
    }

    /// A proposal's text from a file (UTF-8, or GB18030 as older Windows editors save it).
    static func bodyFile(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFileError(path: path, reason: "not readable") }
        do {
            var text = try CSVEncoding.decode(data, file: path).text
            if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
            return text.trimmingCharacters(in: .newlines)
        } catch { throw ImportFileError(underlying: error) }
    }
}
