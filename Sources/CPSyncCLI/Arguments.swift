import Foundation

/// A small, strict argument parser shared by the executables: `--name value`, `--name=value`, boolean `--flag`,
/// positionals. Unknown options and missing values are errors that name the option.
public struct Arguments: Sendable {
    public private(set) var positionals: [String] = []
    private var options: [String: [String]] = [:]
    private var flags: Set<String> = []
    private var consumed: Set<String> = []
    /// Options given last with no value: a typo of a flag or a forgotten value, told apart once the command has
    /// asked for the options it knows.
    private var dangling: Set<String> = []

    /// Parses `args` (without the program name and verb). `flagNames` are the options that take no value.
    public init(_ args: [String], flags flagNames: Set<String> = []) throws(UsageError) {
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("--") || arg == "-" {
                positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            var name = String(arg.dropFirst(2))
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if flagNames.contains(name) {
                if value != nil { throw UsageError.flagTakesNoValue(name) }
                flags.insert(name)
                continue
            }
            if value == nil {
                guard i < args.count else {
                    dangling.insert(name)
                    continue
                }
                value = args[i]
                i += 1
            }
            options[name, default: []].append(value!)
        }
    }

    /// The last value given for `--name`, if any.
    public mutating func option(_ name: String) -> String? {
        consumed.insert(name)
        return options[name]?.last
    }

    /// Every value given for a repeatable `--name`.
    public mutating func options(_ name: String) -> [String] {
        consumed.insert(name)
        return options[name] ?? []
    }

    public mutating func required(_ name: String) throws(UsageError) -> String {
        guard let v = option(name), !v.isEmpty else {
            if dangling.contains(name) { throw UsageError.missingValue(name) }
            // `--nmae 王芳` without `--name`: the typo is the mistake to report, not the missing option. Only one edit
            // away: an option not asked for yet may be a real one (`--site` is two edits from `--title`).
            let given = Set(options.keys).union(flags).union(dangling).subtracting(consumed)
            if let typo = given.sorted().first(where: { Suggestion.distance($0, name) == 1 }) {
                throw UsageError.unknownOption(typo, didYouMean: name)
            }
            throw UsageError.missingOption(name)
        }
        return v
    }

    public mutating func flag(_ name: String) -> Bool {
        consumed.insert(name)
        return flags.contains(name)
    }

    public mutating func int(_ name: String) throws(UsageError) -> Int? {
        guard let s = option(name) else { return nil }
        guard let v = Int(s) else { throw UsageError.invalidValue(option: name, value: s, expected: L10n.pick(en: "a whole number", zh: "整数")) }
        return v
    }

    /// Fails on options nobody asked for: a typo must not be silently ignored.
    public func checkAllConsumed() throws(UsageError) {
        let unknown = Set(options.keys).union(flags).union(dangling).subtracting(consumed).sorted()
        if let first = unknown.first {
            throw UsageError.unknownOption(first, didYouMean: Suggestion.nearest(to: first, among: consumed.sorted()))
        }
        if let known = dangling.sorted().first { throw UsageError.missingValue(known) }
    }
}

/// A command-line mistake; the executables print it with the command's usage and exit 64.
public enum UsageError: Error, CustomStringConvertible, Sendable, Equatable {
    case missingValue(String)
    case missingOption(String)
    case flagTakesNoValue(String)
    /// An option the command does not take, with the nearest one it does take when that looks like a typo.
    case unknownOption(String, didYouMean: String? = nil)
    case invalidValue(option: String, value: String, expected: String)
    /// A verb or sub-verb that does not exist, with the nearest one that does when that looks like a typo.
    case unknownCommand(String, didYouMean: String? = nil)
    case missingArgument(String)
    case unexpectedArgument(String)

    public var description: String {
        switch self {
        case .missingValue(let n): L10n.pick(en: "option --\(n) needs a value", zh: "选项 --\(n) 需要一个值")
        case .missingOption(let n): L10n.pick(en: "missing required option --\(n)", zh: "缺少必需的选项 --\(n)")
        case .flagTakesNoValue(let n): L10n.pick(en: "option --\(n) takes no value", zh: "选项 --\(n) 不接受值")
        case .unknownOption(let n, let near):
            L10n.pick(en: "unknown option --\(n)", zh: "未知选项 --\(n)") + Self.didYouMean(near.map { "--" + $0 })
        case .invalidValue(let n, let v, let e):
            L10n.pick(en: "invalid value '\(v)' for --\(n): expected \(e)", zh: "选项 --\(n) 的值 '\(v)' 无效：应为\(e)")
        case .unknownCommand(let c, let near):
            L10n.pick(en: "unknown command '\(c)'", zh: "未知命令 '\(c)'") + Self.didYouMean(near)
        case .missingArgument(let a): L10n.pick(en: "missing argument: \(a)", zh: "缺少参数：\(a)")
        case .unexpectedArgument(let a): L10n.pick(en: "unexpected argument '\(a)'", zh: "多余的参数 '\(a)'")
        }
    }
}

extension UsageError {
    private static func didYouMean(_ near: String?) -> String {
        guard let near else { return "" }
        return L10n.pick(en: "; did you mean '\(near)'?", zh: "；您是不是要输入 '\(near)'？")
    }
}


