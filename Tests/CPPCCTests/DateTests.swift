import CPPCC
import CPSyncText
import Testing

@Suite struct DateTests {
    @Test func realDaysAreNormalisedAndDaysAMonthDoesNotHaveAreRefusedNamingTheField() throws {
        #expect(try Office.date("2026/3/5", field: "--date") == "2026-03-05")
        #expect(try Office.date("2024-02-29", field: "--date") == "2024-02-29")
        #expect(try Office.date(" ", field: "--date") == nil)
        #expect(throws: DateError.noSuchDay(field: "--date", value: "2026-02-30", daysInMonth: 28)) { try Office.date("2026-02-30", field: "--date") }
        #expect(throws: DateError.noSuchDay(field: "--date", value: "2026-02-29", daysInMonth: 28)) { try Office.date("2026-02-29", field: "--date") }
        #expect(throws: DateError.noSuchDay(field: "--due", value: "2026-04-31", daysInMonth: 30)) { try Office.date("2026-04-31", field: "--due") }
        #expect(throws: DateError.noSuchDay(field: "--date", value: "2100-02-29", daysInMonth: 28)) { try Office.date("2100-02-29", field: "--date") }
        #expect(throws: DateError.self) { try Office.date("2026-13-01", field: "--date") }
        #expect(throws: DateError.malformed(field: "--date", value: "5 March")) { try Office.date("5 March", field: "--date") }
        #expect(throws: DateError.malformed(field: "--date", value: "26-03-05")) { try Office.date("26-03-05", field: "--date") }
    }

    @Test func theMessageNamesTheFieldAndTheMonthLengthInEitherLanguage() {
        let e = DateError.noSuchDay(field: "--date", value: "2026-02-30", daysInMonth: 28)
        #expect(e.description.contains("--date") && e.description.contains("28"))
        #expect(e.exitCode == .dataError)
        let order = DateError.outOfOrder(proposal: "2026-001", step: .closed, date: "2026-01-05", earlierStep: .filed, earlierDate: "2026-02-01")
        #expect(order.description.contains("2026-001") && order.description.contains("2026-02-01") && order.description.contains("filed"))
    }
}
