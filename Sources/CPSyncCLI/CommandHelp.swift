/// One option of a command as its help prints it: `--name VALUE` and what it does, in English and Chinese.
public struct HelpOption: Sendable {
    public let spelling: String
    public let en: String
    public let zh: String
    public init(_ spelling: String, _ en: String, _ zh: String) { self.spelling = spelling; self.en = en; self.zh = zh }
}

/// The help of one command: a verb (`report`) or a verb's sub-verb (`member add`).
public struct CommandHelp: Sendable {
    public let verb: String
    public let sub: String?
    /// The arguments after the command name, e.g. `ID --unit UNIT --category A|B|C --text TEXT [--met]`.
    public let synopsis: String
    public let en: String
    public let zh: String
    public let options: [HelpOption]
    public let example: String

    public init(_ verb: String, _ sub: String? = nil, _ synopsis: String, en: String, zh: String, options: [HelpOption] = [],
                example: String) {
        self.verb = verb; self.sub = sub; self.synopsis = synopsis; self.en = en; self.zh = zh; self.options = options
        self.example = example
    }
}

/// A program's verbs, sub-verbs and their help; decides, before any command runs, whether the command line asks
/// for help or the version, or names a verb or sub-verb that does not exist. Nothing here touches a file.
public struct HelpCatalog: Sendable {
    public struct Verb: Sendable {
        public let name: String
        public let en: String
        public let zh: String
        public init(_ name: String, en: String, zh: String) { self.name = name; self.en = en; self.zh = zh }
    }

    public let program: String
    public let version: String
    public let verbs: [Verb]
    public let commands: [CommandHelp]
    /// Options every command takes (`--db`, `--data`), listed in each command's help.
    public let common: [HelpOption]
    /// The lines after the verb list in the overview (environment, where files are).
    public let footer: (en: String, zh: String)

    public init(program: String, version: String, verbs: [Verb], commands: [CommandHelp], common: [HelpOption],
                footer: (en: String, zh: String)) {
        self.program = program; self.version = version; self.verbs = verbs; self.commands = commands; self.common = common
        self.footer = footer
    }

    /// What `main` should do with a command line.
    public enum Decision: Sendable, Equatable {
        /// Run the verb's command.
        case run(verb: String)
        /// Print `text` (to standard output when `exitCode` is 0, else standard error) and exit.
        case print(text: String, exitCode: Int32)
    }

    public func subs(of verb: String) -> [String] { commands.filter { $0.verb == verb }.compactMap(\.sub) }

    public func decide(_ argv: [String]) -> Decision {
        let isHelp: (String) -> Bool = { $0 == "--help" || $0 == "-h" }
        guard let first = argv.first else { return .print(text: overview, exitCode: ExitCode.usage.rawValue) }
        if first == "--version" || first == "-V" || first == "version" { return .print(text: "\(program) \(version)", exitCode: 0) }
        if isHelp(first) { return .print(text: overview, exitCode: 0) }
        if first == "help" {
            let words = argv.dropFirst().filter { !isHelp($0) }
            guard let verb = words.first else { return .print(text: overview, exitCode: 0) }
            return help(verb: verb, sub: words.dropFirst().first)
        }
        guard verbs.contains(where: { $0.name == first }) else {
            return usageError(.unknownCommand(first, didYouMean: Suggestion.nearest(to: first, among: verbs.map(\.name))), hint: nil)
        }
        // Options after `--` are positionals: `--help` there is a value, not a request for help.
        let rest = Array(argv.dropFirst().prefix { $0 != "--" })
        let subs = subs(of: first)
        let sub = rest.first.flatMap { $0.hasPrefix("-") ? nil : $0 }
        if rest.contains(where: isHelp) { return help(verb: first, sub: subs.isEmpty ? nil : sub) }
        if !subs.isEmpty, let sub, !subs.contains(sub) {
            return usageError(.unknownCommand("\(first) \(sub)", didYouMean: Suggestion.nearest(to: sub, among: subs).map { "\(first) \($0)" }), hint: first)
        }
        return .run(verb: first)
    }

    /// `help VERB [SUB]`: the verb's or the sub-verb's help; an unknown name is a usage error with a suggestion.
    public func help(verb: String, sub: String?) -> Decision {
        guard let v = verbs.first(where: { $0.name == verb }) else {
            return usageError(.unknownCommand(verb, didYouMean: Suggestion.nearest(to: verb, among: verbs.map(\.name))), hint: nil)
        }
        let subs = subs(of: verb)
        if let sub, !subs.isEmpty {
            guard let c = commands.first(where: { $0.verb == verb && $0.sub == sub }) else {
                return usageError(.unknownCommand("\(verb) \(sub)", didYouMean: Suggestion.nearest(to: sub, among: subs).map { "\(verb) \($0)" }), hint: verb)
            }
            return .print(text: render(c), exitCode: 0)
        }
        let own = commands.filter { $0.verb == verb }
        var text = "\(program) \(verb) — " + L10n.pick(en: v.en, zh: v.zh)
        if own.count > 1 {
            text += "\n\n" + own.map { c in
                "  " + ([program, c.verb, c.sub].compactMap { $0 } + (c.synopsis.isEmpty ? [] : [c.synopsis])).joined(separator: " ")
            }.joined(separator: "\n")
        }
        text += "\n\n" + own.map(render).joined(separator: "\n\n")
        return .print(text: text, exitCode: 0)
    }

    /// The help of one command: usage line, summary, every option and an example.
    public func render(_ c: CommandHelp) -> String {
        let name = [program, c.verb, c.sub].compactMap { $0 }.joined(separator: " ")
        var lines = [L10n.pick(en: "usage: ", zh: "用法：") + name + (c.synopsis.isEmpty ? "" : " " + c.synopsis), "  " + L10n.pick(en: c.en, zh: c.zh)]
        let options = c.options + common
        let width = options.map { Console.displayWidth($0.spelling) }.max() ?? 0
        lines.append(L10n.pick(en: "options:", zh: "选项："))
        for o in options {
            lines.append("  " + o.spelling + String(repeating: " ", count: width - Console.displayWidth(o.spelling) + 2) + L10n.pick(en: o.en, zh: o.zh))
        }
        lines.append(L10n.pick(en: "example:", zh: "示例："))
        lines.append("  " + c.example)
        return lines.joined(separator: "\n")
    }

    /// `PROGRAM --help`: every verb in one line, then where to find more.
    public var overview: String {
        let width = verbs.map { $0.name.count }.max() ?? 0
        var lines = [L10n.pick(en: "usage: \(program) VERB [options]", zh: "用法：\(program) 命令 [选项]")]
        for v in verbs {
            let subs = subs(of: v.name)
            let name = v.name + String(repeating: " ", count: width - v.name.count)
            lines.append("  \(name)  " + L10n.pick(en: v.en, zh: v.zh) + (subs.isEmpty ? "" : "  (" + subs.joined(separator: " | ") + ")"))
        }
        lines.append(L10n.pick(en: footer.en, zh: footer.zh))
        lines.append(L10n.pick(en: "`\(program) help VERB` or `\(program) VERB --help` shows every option and an example; `\(program) --version` the version.",
                               zh: "`\(program) help 命令` 或 `\(program) 命令 --help` 列出全部选项和示例；`\(program) --version` 显示版本。"))
        return lines.joined(separator: "\n")
    }

    /// After a usage error: where the right spelling is.
    public func hint(verb: String?) -> String {
        let target = verb.map { "\(program) \($0) --help" } ?? "\(program) --help"
        return L10n.pick(en: "see `\(target)` for the options and an example", zh: "请查看 `\(target)` 中的选项和示例")
    }

    private func usageError(_ e: UsageError, hint verb: String?) -> Decision {
        .print(text: "\(program): \(e)\n" + hint(verb: verb), exitCode: ExitCode.usage.rawValue)
    }
}
