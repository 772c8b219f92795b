import CPSyncCore

/// The rules of single fields, as the clerk's commands apply them, for a value that arrives without its record: an
/// admin's `--set` on a conflict (the record's other fields are already valid). One place for each rule: the record
/// validators (`validate(_: Member)`, `validate(_: Proposal)`) use the same checks.
public enum FieldRules {
    /// Why a value does not fit its field: the field, the value, what it takes (in both languages; the reader's
    /// language is chosen where it is shown).
    public struct Problem: Error, Sendable, Equatable {
        public let table: String
        public let column: String
        public let value: String
        public let expectedEN: String
        public let expectedZH: String

        public var english: String {
            "\(FieldLabels.table(table, chinese: false)) \(FieldLabels.column(column, chinese: false)) '\(value)' is not valid: it takes \(expectedEN)"
        }
        public var chinese: String {
            "\(FieldLabels.table(table, chinese: true))的\(FieldLabels.column(column, chinese: true))「\(value)」不符合要求：应为\(expectedZH)"
        }
    }

    /// What a phone cell takes: digits with the separators people write (0937-1234567, +86 138…, two numbers with
    /// / or 、); no letters.
    static let phoneCharacters = Set("0123456789 +-()（）/、,，;；转")
    static let phoneExpected = (en: "a phone number such as 13800000000 or 0937-1234567", zh: "电话号码，如 13800000000 或 0937-1234567")

    public static func isPhone(_ text: String) -> Bool {
        text.allSatisfy(phoneCharacters.contains) && text.filter(\.isNumber).count >= 3
    }

    /// What a field takes, in both languages, for fields with a rule (the admin page's new-value box says it).
    public static func expected(table: String, column: String) -> (en: String, zh: String)? {
        switch (table, column) {
        case ("members", "phone"): phoneExpected
        case ("members", "gender"): ("男 or 女", "男 或 女")
        case ("members", "name"), ("proposals", "title"), ("social_reports", "title"), ("activities", "topic"): ("a text that is not empty", "非空的文字")
        case ("proposals", "year"): ("a year 1900–2999", "1900–2999 之间的年份")
        case (_, let c) where c.hasSuffix("_on"): ("a date YYYY-MM-DD, e.g. 2026-03-05", "YYYY-MM-DD 格式的日期，如 2026-03-05")
        default: nil
        }
    }

    /// The value normalised as the clerk's commands store it, or the problem. Fields without a rule take any value
    /// (the schema's own CHECK rules still apply when it is written).
    public static func check(table: String, column: String, value: Value) throws(Problem) -> Value {
        func problem() -> Problem {
            let e = expected(table: table, column: column) ?? ("a valid value", "有效的值")
            return Problem(table: table, column: column, value: value.stringValue ?? value.description, expectedEN: e.en, expectedZH: e.zh)
        }
        let text = value.stringValue?.trimmingCharacters(in: .whitespaces)
        switch (table, column) {
        case ("members", "phone"):
            guard let text, !text.isEmpty else { return value }
            guard isPhone(text) else { throw problem() }
            return .text(text)
        case ("members", "gender"):
            guard let text, !text.isEmpty else { return value }
            guard let g = Gender.parseLoose(text) else { throw problem() }
            return .text(g.rawValue)
        case ("members", "name"), ("proposals", "title"), ("social_reports", "title"), ("activities", "topic"):
            guard let text, !text.isEmpty else { throw problem() }
            return .text(text)
        case ("proposals", "year"):
            // A value of another type is the schema's to refuse (wrong_type); the rule is the range.
            guard case .integer(let y) = value else { return value }
            guard (1900...2999).contains(y) else { throw problem() }
            return value
        case (_, let c) where c.hasSuffix("_on"):
            guard let text, !text.isEmpty else { return value }
            do { return try Office.date(text, field: FieldName(c)).map { .text($0) } ?? value } catch {
                throw problem()
            }
        default:
            return value
        }
    }
}
