import CPSyncText

/// The dated steps of a proposal, in the order they happen.
public enum Milestone: String, Sendable, Equatable {
    case filed, assigned, due, replied, evaluated, closed

    var english: String {
        switch self {
        case .filed: "filed"
        case .assigned: "assigned"
        case .due: "due"
        case .replied: "replied to"
        case .evaluated: "evaluated"
        case .closed: "closed"
        }
    }

    var chinese: String {
        switch self {
        case .filed: "立案"
        case .assigned: "交办"
        case .due: "答复期限"
        case .replied: "答复"
        case .evaluated: "评价"
        case .closed: "办结"
        }
    }
}

/// A date that is not a real day, or a step dated before the step it follows. Nothing was changed; exit 65.
public enum DateError: UserFacingError, Sendable, Equatable {
    /// Not of the form YYYY-MM-DD (or YYYY/MM/DD, YYYY.MM.DD).
    case malformed(field: FieldName, value: String)
    /// Well formed, but the month has no such day (2026-02-30) or there is no such month.
    case noSuchDay(field: FieldName, value: String, daysInMonth: Int)
    /// `step` on `date` would come before `earlierStep`, which happened on `earlierDate`.
    case outOfOrder(proposal: String, step: Milestone, date: String, earlierStep: Milestone, earlierDate: String)
    /// A period whose first day comes after its last.
    case periodReversed(from: String, to: String)

    public var exitCode: ExitCode { .dataError }

    public func text(in language: Language) -> String {
        let label = { (f: FieldName) in f.text(in: language) }
        switch self {
        case .malformed(let raw, let value):
            let field = label(raw)
            return language.pick(en: "\(field) '\(value)' is not a date; write it as YYYY-MM-DD, e.g. 2026-03-05",
                             zh: "\(field) 的值 '\(value)' 不是日期；请按 YYYY-MM-DD 填写，如 2026-03-05")
        case .noSuchDay(let raw, let value, let days):
            let field = label(raw)
            let parts = value.split(whereSeparator: { $0 == "-" || $0 == "/" || $0 == "." })
            let (y, m) = (parts.first.map(String.init) ?? "", parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
            if !(1...12).contains(m) {
                return language.pick(en: "\(field) '\(value)' is not a date: there is no month \(m)", zh: "\(field) 的值 '\(value)' 不是有效日期：没有 \(m) 月")
            }
            return language.pick(en: "\(field) '\(value)' is not a date: \(y)-\(String(format: "%02d", m)) has \(days) days",
                             zh: "\(field) 的值 '\(value)' 不是有效日期：\(y)年\(m)月只有 \(days) 天")
        case .periodReversed(let from, let to):
            return language.pick(en: "--from \(from) is after --to \(to); give the first day with --from and the last with --to",
                             zh: "--from \(from) 晚于 --to \(to)；请用 --from 填起始日、--to 填截止日")
        case .outOfOrder(let p, let step, let date, let earlier, let earlierDate):
            if step == .due {
                return language.pick(en: "proposal \(p): the reply cannot be due on \(date), before it was assigned (\(earlierDate)); give a later --due",
                                 zh: "提案 \(p)：答复期限 \(date) 早于交办日期 \(earlierDate)；请填写更晚的 --due")
            }
            return language.pick(en: "proposal \(p) cannot be \(step.english) on \(date): it was \(earlier.english) on \(earlierDate), and that comes first; give the real date with --date",
                             zh: "提案 \(p) 的\(step.chinese)日期 \(date) 不能早于\(earlier.chinese)日期 \(earlierDate)；请用 --date 填写实际日期")
        }
    }
}

/// Month lengths of the Gregorian calendar (a leap year every 4 years, but not every 100, but every 400).
enum Gregorian {
    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func days(inMonth m: Int, of y: Int) -> Int {
        switch m {
        case 2: isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: 30
        case 1...12: 31
        default: 0
        }
    }
}

extension Office {
    /// Refuses `step` on `date` when it would come before `earlierStep` on `earlierDate` (both YYYY-MM-DD).
    static func checkOrder(_ p: Proposal, _ step: Milestone, on date: String, after earlierStep: Milestone, on earlierDate: String?) throws(DateError) {
        guard let earlierDate, date < earlierDate else { return }
        throw DateError.outOfOrder(proposal: p.displayKey, step: step, date: date, earlierStep: earlierStep, earlierDate: earlierDate)
    }
}

/// A date saved as given that is probably a typo: more than a year after today (2062 for 2026, 2027 for 2026-01
/// in January). Nothing is refused — plans are dated ahead — but the clerk is told, in the reader's language.
public enum DateWarning: Renderable, Sendable, Equatable {
    /// `field` (a column or option name) holds `date`, more than a year after `today`.
    case farAhead(field: String, date: String, today: String)
    /// A proposal's year is more than a year after this one.
    case yearAhead(year: Int, thisYear: Int)

    /// The warning for `date` in `field`, if it is more than a year after `today` (both YYYY-MM-DD).
    public static func check(_ date: String?, field: String, today: String = Office.today()) -> DateWarning? {
        guard let date, let year = Int(today.prefix(4)) else { return nil }
        return date > String(year + 1) + today.dropFirst(4) ? .farAhead(field: field, date: date, today: today) : nil
    }

    /// The warnings for a proposal about to be or just saved: its submitted date, else its year.
    public static func check(_ p: Proposal, today: String = Office.today()) -> DateWarning? {
        if let w = check(p.submittedOn, field: "submitted_on", today: today) { return w }
        guard let thisYear = Int(today.prefix(4)), p.year > thisYear + 1 else { return nil }
        return .yearAhead(year: p.year, thisYear: thisYear)
    }

    /// The warning as a line of its own (“注意：…”).
    public func text(in language: Language) -> String { language.pick(en: "note: ", zh: "注意：") + detail(in: language) }

    /// The warning without its “note:” lead, for a list that has its own (an import's warnings).
    public func detail(in language: Language) -> String {
        switch self {
        case .farAhead(let field, let date, let today):
            let name = FieldLabels.column(field, chinese: language.isChinese)
            return language.pick(en: "\(name) \(date) is more than a year after today (\(today)); saved as given — check it is not a typo",
                             zh: "\(name) \(date) 比今天（\(today)）晚一年以上；已按所填保存，请核对是否录错")
        case .yearAhead(let year, let thisYear):
            return language.pick(en: "the year \(year) is more than a year after this one (\(thisYear)); saved as given — check it is not a typo",
                             zh: "年度 \(year) 比今年（\(thisYear)）晚一年以上；已按所填保存，请核对是否录错")
        }
    }
}
