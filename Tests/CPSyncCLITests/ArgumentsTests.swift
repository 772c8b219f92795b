import CPSyncCLI
import Testing

/// The usage error `body` throws, if any.
func usageError(_ body: () throws -> Void) -> UsageError? {
    do { try body() } catch let e as UsageError { return e } catch { return nil }
    return nil
}

@Suite struct ArgumentsTests {
    @Test func optionsFlagsAndPositionalsInAnyOrder() throws {
        var a = try Arguments(["edit", "王芳", "--sector", "科技", "--json", "--db=huashan.db", "--", "--not-an-option"], flags: ["json"])
        let sector = a.option("sector"), db = a.option("db"), json = a.flag("json"), quiet = a.flag("quiet")
        #expect(sector == "科技" && db == "huashan.db" && json && !quiet)
        #expect(a.positionals == ["edit", "王芳", "--not-an-option"])
        try a.checkAllConsumed()
    }

    @Test func repeatedOptionsKeepEveryValueAndTheLastWins() throws {
        var a = try Arguments(["--cosigner", "张三", "--cosigner", "李四"])
        let all = a.options("cosigner"), last = a.option("cosigner")
        #expect(all == ["张三", "李四"] && last == "李四")
    }

    @Test func aTypoIsAnUnknownOptionNotSilentlyIgnored() throws {
        var a = try Arguments(["--sectr", "科技"])
        _ = a.option("sector")
        #expect(throws: UsageError.unknownOption("sectr", didYouMean: "sector")) { try a.checkAllConsumed() }
        // Last on the line without a value: unknown if nobody asks for it, a missing value if somebody does.
        let b = try Arguments(["--bogus"])
        #expect(throws: UsageError.unknownOption("bogus")) { try b.checkAllConsumed() }
        var c = try Arguments(["--site"])
        #expect(usageError { _ = try c.required("site") } == .missingValue("site"))
        var d = try Arguments(["--note"])
        _ = d.option("note")
        #expect(throws: UsageError.missingValue("note")) { try d.checkAllConsumed() }
    }

    @Test func flagsRefuseValuesAndNumbersAreChecked() throws {
        #expect(throws: UsageError.flagTakesNoValue("json")) { _ = try Arguments(["--json=yes"], flags: ["json"]) }
        var a = try Arguments(["--year", "二〇二六"])
        #expect(usageError { _ = try a.int("year") } != nil)
        var b = try Arguments(["--year", "2026"])
        let year = try b.int("year")
        #expect(year == 2026)
        var c = try Arguments([])
        #expect(usageError { _ = try c.required("server") } == .missingOption("server"))
    }
}

@Suite struct ConsoleTests {
    @Test func tablesAlignChineseAsTwoColumnsWide() {
        let text = Console.table(header: ["姓名", "sector"], rows: [["王芳", "科技"], ["Li", "经济"]])
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        // The second column starts at the same display column on every line.
        let starts = lines.map { line -> Int in
            let first = line.split(separator: " ", maxSplits: 1)[0]
            let rest = line.dropFirst(first.count)
            return Console.displayWidth(String(first)) + rest.prefix { $0 == " " }.count
        }
        #expect(Set(starts).count == 1, "\(text)")
        #expect(Console.displayWidth("提案ab") == 6)
    }
}

@Suite struct SuggestionTests {
    @Test func aTypoOfAKnownNameIsSuggestedAndANameFarFromAllIsNot() {
        #expect(Suggestion.nearest(to: "membr", among: ["member", "proposal", "report"]) == "member")
        #expect(Suggestion.nearest(to: "porposal", among: ["member", "proposal", "report"]) == "proposal")
        #expect(Suggestion.nearest(to: "rep", among: ["member", "proposal", "report"]) == "report")
        #expect(Suggestion.nearest(to: "xyz", among: ["member", "proposal", "report"]) == nil)
        #expect(Suggestion.distance("lsit", "list") == 1)
        #expect(Suggestion.distance("", "abc") == 3)
    }

    @Test func aMisspelledRequiredOptionIsReportedAsTheTypoItIs() throws {
        var a = try Arguments(["--nmae", "王芳"])
        #expect(usageError { _ = try a.required("name") } == .unknownOption("nmae", didYouMean: "name"))
        var b = try Arguments(["--json"], flags: ["json"])
        #expect(usageError { _ = try b.required("name") } == .missingOption("name"))
        // `--site` is a real option the command has not asked for yet, not a typo of `--title`.
        var c = try Arguments(["--site", "huashan"])
        #expect(usageError { _ = try c.required("title") } == .missingOption("title"))
    }
}
