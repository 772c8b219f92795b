import CPPCC
import CPSyncCLI

/// `cpsync activity add|list`: duty activities (履职活动: 视察、调研、协商、民主评议、学习、走访、座谈、公益).
enum ActivityCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("activity add|list|void|restore") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json", "voided"])
        let office = try Office(OfficeFile.open(&args))
        let json = args.flag("json")
        if try VoidVerbs.run(.activity, sub, &args, office, json: json) { return ExitCode.ok.rawValue }
        func kind(_ text: String) throws -> ActivityKind {
            guard let k = ActivityKind.parse(text) else { throw UsageError.invalidValue(option: "kind", value: text, expected: ActivityKind.choices) }
            return k
        }
        switch sub {
        case "add":
            var a = Activity(kind: try kind(try args.required("kind")), topic: try args.required("topic"), heldOn: args.option("date"),
                             siteID: args.option("site"), outcome: args.option("outcome") ?? "", participants: args.options("participant"))
            try args.checkAllConsumed()
            a = try office.addActivity(a)
            if let w = DateWarning.check(a.heldOn, field: "held_on") { Console.err(w.description) }
            Console.out(json ? try CPPCCJSON.encode(a) : L10n.pick(en: "added activity \(a.id)", zh: "已登记履职活动 \(a.id)"))
        case "list":
            let year = try args.int("year")
            let site = args.option("site")
            let k = try args.option("kind").map(kind)
            let voided = args.flag("voided")
            try args.checkAllConsumed()
            let acts = try office.activities(year: year, site: site, kind: k, voidedOnly: voided)
            if json { Console.out(try CPPCCJSON.encode(acts)) } else {
                let t = Listing.activities(acts, names: try office.memberNames(), sites: try office.siteNames(), ids: try office.shortIDs(in: "activities"), in: L10n.language)
                Console.out(Console.table(header: t.header, rows: t.rows))
            }
        default:
            throw UsageError.unknownCommand("activity \(sub)")
        }
        return ExitCode.ok.rawValue
    }
}
