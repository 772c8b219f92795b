import CPPCC
import CPSyncCLI

/// `cpsync social add|list|adopt`: social-conditions information (社情民意信息).
enum SocialCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        guard let sub = argv.first else { throw UsageError.missingArgument("social add|list|adopt|void|restore") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json", "adopted", "voided"])
        let office = try Office(OfficeFile.open(&args))
        let json = args.flag("json")
        if try VoidVerbs.run(.social, sub, &args, office, json: json) { return ExitCode.ok.rawValue }
        switch sub {
        case "add":
            var r = SocialReport(title: try args.required("title"), body: args.option("body") ?? "", reporterID: args.option("reporter"),
                                 siteID: args.option("site"), reportedOn: args.option("date"), forwardedTo: args.option("forwarded-to") ?? "")
            try args.checkAllConsumed()
            r = try office.addSocialReport(r)
            Console.out(json ? try CPPCCJSON.encode(r) : L10n.pick(en: "added social report \(r.id)", zh: "已登记社情民意信息 \(r.id)"))
        case "list":
            let year = try args.int("year")
            let site = args.option("site")
            let adopted = args.flag("adopted")
            let voided = args.flag("voided")
            try args.checkAllConsumed()
            let rs = try office.socialReports(year: year, site: site, adoptedOnly: adopted, voidedOnly: voided)
            if json { Console.out(try CPPCCJSON.encode(rs)) } else {
                let t = Listing.socialReports(rs, names: try office.memberNames(), sites: try office.siteNames(), ids: try office.shortIDs(in: "social_reports"), in: L10n.language)
                Console.out(Console.table(header: t.header, rows: t.rows))
            }
        case "adopt":
            let id = try MemberCommand.positional(args, "social report ID (or its first characters)")
            let instruction = args.option("instruction")
            let forwarded = args.option("forwarded-to")
            try args.checkAllConsumed()
            try office.adoptSocialReport(id, instruction: instruction, forwardedTo: forwarded)
            let r = try office.socialReport(id)
            Console.out(json ? try CPPCCJSON.encode(r) : L10n.pick(en: "social report \(r.id) adopted", zh: "社情民意信息 \(r.id) 已采用"))
        default:
            throw UsageError.unknownCommand("social \(sub)")
        }
        return ExitCode.ok.rawValue
    }
}
