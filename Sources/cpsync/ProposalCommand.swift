import CPPCC
import CPSyncCLI
import Foundation

/// `cpsync proposal …`: proposals (提案) and their workflow, from submission to 办结.
enum ProposalCommand {
    // Every sub-verb and option is described in Help.swift.
    static let subVerbs = ["add", "list", "show", "edit", "submit", "review", "file", "reject", "merge", "convert", "assign", "reply",
                           "evaluate", "close", "void", "restore"]

    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("proposal " + subVerbs.joined(separator: "|")) }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json", "draft", "key", "not-key", "met", "voided"])
        let office = try Office(OfficeFile.open(&args))
        let json = args.flag("json")
        if try VoidVerbs.run(.proposal, sub, &args, office, json: json) { return ExitCode.ok.rawValue }
        // Checked before any step: 2026-02-30 is refused here, naming --date.
        let verbs = Verbs(office: office, json: json, date: try Office.date(args.option("date"), field: "--date"))
        switch sub {
        case "add": try verbs.add(&args)
        case "list": try verbs.list(&args)
        case "show": try verbs.show(&args)
        case "edit": try verbs.edit(&args)
        case "submit": try verbs.submit(&args)
        case "review": try verbs.review(&args)
        case "file": try verbs.file(&args)
        case "reject": try verbs.reject(&args)
        case "merge": try verbs.merge(&args)
        case "convert": try verbs.convert(&args)
        case "assign": try verbs.assign(&args)
        case "reply": try verbs.reply(&args)
        case "evaluate": try verbs.evaluate(&args)
        case "close": try verbs.close(&args)
        default: throw UsageError.unknownCommand("proposal \(sub)", didYouMean: Suggestion.nearest(to: sub, among: subVerbs).map { "proposal " + $0 })
        }
        return ExitCode.ok.rawValue
    }

    /// The sub-verbs, each given what every one of them shares: the office, the output form and the checked --date.
    private struct Verbs {
        let office: Office
        let json: Bool
        let date: String?

        /// The proposal a step names.
        private func key(_ args: Arguments) throws -> String {
            try MemberCommand.positional(args, "proposal number (案号), ID or the ID's first characters")
        }

        /// Prints a workflow step's outcome: the proposal, or its key, what was done and the status it is now in.
        private func done(_ id: String, en: String, zh: String) throws {
            let p = try office.proposal(id)
            Console.out(json ? try CPPCCJSON.encode(p) : L10n.pick(en: "proposal \(p.displayKey): \(en) — now \(p.status.label(in: L10n.language))",
                                                                 zh: "提案 \(p.displayKey)：\(zh)，当前状态 \(p.status.label(in: L10n.language))"))
        }

        func add(_ args: inout Arguments) throws {
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
        }

        func list(_ args: inout Arguments) throws {
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
        }

        func show(_ args: inout Arguments) throws {
            let k = try key(args)
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
        }

        func edit(_ args: inout Arguments) throws {
            let k = try key(args)
            var p = try office.proposal(k)
            try applyEdits(&args, to: &p)
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
        }

        /// The fields `proposal edit` sets from its options (all but the co-signers).
        private func applyEdits(_ args: inout Arguments, to p: inout Proposal) throws {
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
        }

        func submit(_ args: inout Arguments) throws {
            let k = try key(args); try args.checkAllConsumed()
            try office.submit(k, on: date)
            try done(k, en: "submitted", zh: "已提交")
        }

        func review(_ args: inout Arguments) throws {
            let k = try key(args); try args.checkAllConsumed()
            try office.startReview(k)
            try done(k, en: "under review", zh: "进入审查")
        }

        func file(_ args: inout Arguments) throws {
            let k = try key(args)
            let isKey = args.flag("key")
            let supervisor = args.option("supervisor")
            try args.checkAllConsumed()
            let before = try office.proposal(k)
            let filed = try office.file(before.id, on: date, isKey: isKey, supervisor: supervisor)
            // The key the clerk typed may be the provisional number the filing just replaced.
            let was = before.number == filed.number ? "" : L10n.pick(en: " (was \(before.displayKey))", zh: "（原编号 \(before.displayKey)）")
            try done(filed.id, en: "filed as 案号 \(filed.number)" + was, zh: "已立案，案号 \(filed.number)" + was)
        }

        func reject(_ args: inout Arguments) throws {
            let k = try key(args)
            let reason = try args.required("reason")
            try args.checkAllConsumed()
            try office.reject(k, reason: reason)
            try done(k, en: "not filed", zh: "不予立案")
        }

        func merge(_ args: inout Arguments) throws {
            let k = try key(args)
            let target = try args.required("into")
            try args.checkAllConsumed()
            try office.merge(k, into: target)
            try done(k, en: "merged into \(target)", zh: "已并入 \(target)")
        }

        func convert(_ args: inout Arguments) throws {
            let k = try key(args)
            let to = try args.required("to")
            guard let target = ConversionTarget.parse(to) else {
                throw UsageError.invalidValue(option: "to", value: to, expected: L10n.pick(en: "letter/委员来信 or social/社情民意", zh: "委员来信（letter）或社情民意（social）"))
            }
            try args.checkAllConsumed()
            try office.convert(k, to: target, on: date)
            try done(k, en: "converted to \(target.english)", zh: "已转为\(target.chinese)")
        }

        func assign(_ args: inout Arguments) throws {
            let k = try key(args)
            let unit = try args.required("unit")
            let roleText = args.option("role") ?? "lead"
            guard let role = HandlerRole.parse(roleText) else { throw UsageError.invalidValue(option: "role", value: roleText, expected: L10n.pick(en: "lead/主办 or co/协办", zh: "主办（lead）或协办（co）")) }
            let due = try Office.date(args.option("due"), field: "--due")
            try args.checkAllConsumed()
            try office.assign(k, unit: unit, role: role, due: due, on: date)
            try done(k, en: "assigned to \(unit)", zh: "已交办 \(unit)")
        }

        func reply(_ args: inout Arguments) throws {
            let k = try key(args)
            let unit = args.option("unit")
            let c = try args.required("category")
            guard let category = ReplyCategory.parse(c.uppercased()) else { throw UsageError.invalidValue(option: "category", value: c, expected: L10n.pick(en: "A, B or C", zh: "A、B 或 C")) }
            let text = try args.required("text")
            let met = args.flag("met")
            try args.checkAllConsumed()
            try office.reply(k, unit: unit, category: category, text: text, metProposer: met, on: date)
            try done(k, en: "reply recorded", zh: "已登记答复")
        }

        func evaluate(_ args: inout Arguments) throws {
            let k = try key(args)
            let unit = args.option("unit")
            let s = try args.required("satisfaction")
            guard let satisfaction = Satisfaction.parse(s) else { throw UsageError.invalidValue(option: "satisfaction", value: s, expected: L10n.pick(en: "满意/satisfied, 基本满意/basically, 不满意/dissatisfied", zh: "满意、基本满意或不满意")) }
            try args.checkAllConsumed()
            try office.evaluate(k, unit: unit, satisfaction: satisfaction, on: date)
            try done(k, en: "evaluation recorded", zh: "已登记评价")
        }

        func close(_ args: inout Arguments) throws {
            let k = try key(args); try args.checkAllConsumed()
            try office.close(k, on: date)
            try done(k, en: "closed", zh: "已办结")
        }
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
