import Foundation
import CPSyncText

/// A value stored as a short English code and shown in Chinese (or English), parsed from either.
public protocol Labelled: RawRepresentable, CaseIterable, Sendable where RawValue == String {
    var chinese: String { get }
    var english: String { get }
    /// Other spellings people use for the same value (short Chinese names: 乡镇 for 乡镇政协工委).
    var aliases: [String] { get }
}

extension Labelled {
    /// The label for people in `language`.
    public func label(in language: Language) -> String { language.pick(en: english, zh: chinese) }

    public var aliases: [String] { [] }

    /// Parses the stored code, the Chinese label, the English label (case-insensitive) or an alias.
    public static func parse(_ text: String) -> Self? {
        let t = text.trimmingCharacters(in: .whitespaces)
        return allCases.first { $0.rawValue == t || $0.chinese == t || $0.english.lowercased() == t.lowercased() || $0.aliases.contains(t) }
    }

    /// Every accepted spelling, for error messages.
    public static var choices: String { allCases.map { "\($0.rawValue)/\($0.chinese)" }.joined(separator: ", ") }
}

/// Where a proposal stands. Ranks order the stages for the merge rule; review outcomes share one rank, so two
/// offices reaching different outcomes concurrently is a conflict for the admin, not a silent overwrite.
public enum ProposalStatus: String, Labelled, Codable {
    case draft, submitted
    case underReview = "under_review"
    case filed
    case notFiled = "not_filed"
    case merged, converted, assigned, replied, evaluated, closed

    public var rank: Int {
        switch self {
        case .draft: 0
        case .submitted: 1
        case .underReview: 2
        case .filed, .notFiled, .merged, .converted: 3
        case .assigned: 4
        case .replied: 5
        case .evaluated: 6
        case .closed: 7
        }
    }

    /// The workflow as a tree: each stage's previous stage (a review outcome may also follow `submitted` directly,
    /// which lies on the same path).
    public static var previousStages: [String: String] {
        let previous: [ProposalStatus: ProposalStatus] = [
            .submitted: .draft, .underReview: .submitted, .filed: .underReview, .notFiled: .underReview, .merged: .underReview,
            .converted: .underReview, .assigned: .filed, .replied: .assigned, .evaluated: .replied, .closed: .evaluated,
        ]
        return previous.reduce(into: [:]) { $0[$1.key.rawValue] = $1.value.rawValue }
    }

    /// The ranking for `MergeRule.rank`.
    public static var ranks: [String: Int] { Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0.rank) }) }

    public var chinese: String {
        switch self {
        case .draft: "草稿"
        case .submitted: "已提交"
        case .underReview: "审查中"
        case .filed: "立案"
        case .notFiled: "不予立案"
        case .merged: "并案"
        case .converted: "转来信/社情民意"
        case .assigned: "已交办"
        case .replied: "已答复"
        case .evaluated: "已评价"
        case .closed: "办结"
        }
    }

    public var english: String {
        switch self {
        case .underReview: "under review"
        case .notFiled: "not filed"
        default: rawValue
        }
    }

    /// Whether the proposal was filed (立案) — it is at `filed` or any later handling stage.
    public var isFiled: Bool { [.filed, .assigned, .replied, .evaluated, .closed].contains(self) }
    /// Whether the proposal was received (submitted by the proposer), i.e. it is past the draft.
    public var isReceived: Bool { self != .draft }
}

/// The proposer's evaluation of a reply.
public enum Satisfaction: String, Labelled {
    case satisfied
    case basically
    case dissatisfied

    public var chinese: String {
        switch self {
        case .satisfied: "满意"
        case .basically: "基本满意"
        case .dissatisfied: "不满意"
        }
    }

    public var english: String {
        switch self {
        case .satisfied: "satisfied"
        case .basically: "basically satisfied"
        case .dissatisfied: "dissatisfied"
        }
    }
}

/// Duty activities (履职活动).
public enum ActivityKind: String, Labelled {
    case inspection, research, consultation, evaluation, study, visit, forum, charity

    public var chinese: String {
        switch self {
        case .inspection: "视察"
        case .research: "调研"
        case .consultation: "协商"
        case .evaluation: "民主评议"
        case .study: "学习"
        case .visit: "走访"
        case .forum: "座谈"
        case .charity: "公益"
        }
    }

    public var english: String { rawValue }
}

/// The level of an office in the site tree.
public enum SiteKind: String, Labelled {
    case county, township, street, station

    public var chinese: String {
        switch self {
        case .county: "区/县政协"
        case .township: "乡镇政协工委"
        case .street: "街道委员工作室"
        case .station: "社区联络站"
        }
    }

    public var english: String { rawValue }

    /// The short names clerks write (乡镇, 街道, 联络站; 区县 for the county) and the admin page's.
    public var aliases: [String] {
        switch self {
        case .county: ["区县", "县", "区", "县政协", "区政协", "县级"]
        case .township: ["乡镇", "乡", "镇", "乡镇政协", "政协工委", "联络组"]
        case .street: ["街道", "街道工作室"]
        case .station: ["联络站", "社区", "站"]
        }
    }

    /// Every accepted kind, short: for messages and help.
    public static func shortChoices(in language: Language) -> String {
        language.pick(en: "county, township, street or station (or 区县, 乡镇, 街道, 联络站)", zh: "区县（county）、乡镇（township）、街道（street）或联络站（station）")
    }
}

/// A handling unit's role: 主办 (lead) or 协办 (co).
public enum HandlerRole: String, Labelled {
    case lead, co

    public var chinese: String { self == .lead ? "主办" : "协办" }
    public var english: String { self == .lead ? "lead" : "co-handler" }
}

/// What a proposal was converted into (转委员来信 / 转社情民意).
public enum ConversionTarget: String, Labelled {
    case letter
    case socialReport = "social_report"

    public var chinese: String { self == .letter ? "委员来信" : "社情民意" }
    public var english: String { self == .letter ? "letter" : "social" }
}

/// Reply category: A solved/adopted, B being solved/planned, C kept for reference/explained.
public enum ReplyCategory: String, Labelled {
    case a = "A", b = "B", c = "C"

    public var chinese: String { rawValue + "类" }
    public var english: String { rawValue }
}

/// 男 / 女, stored as the Chinese character (what the rosters print).
public enum Gender: String, Labelled {
    case male = "男", female = "女"

    public var chinese: String { rawValue }
    public var english: String { self == .male ? "male" : "female" }

    /// Also accepts M/F.
    public static func parseLoose(_ text: String) -> Gender? {
        switch text.trimmingCharacters(in: .whitespaces).uppercased() {
        case "M": .male
        case "F": .female
        default: parse(text)
        }
    }
}
