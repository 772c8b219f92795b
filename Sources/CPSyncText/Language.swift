import Foundation

/// The language a person reads: user text is chosen here only where it is shown — the tools by their locale, the server
/// per request by `Accept-Language`, the admin page by its own setting. Modules below the edge never pick a language:
/// they return errors and results that render themselves in the language they are given (`text(in:)`).
public enum Language: String, Sendable, Hashable, CaseIterable {
    case english = "en"
    case chinese = "zh"

    /// The tools' language: Chinese when LC_ALL, LC_MESSAGES or LANG (the first one set) is zh_*. Only the edge reads it
    /// (the `cpsync`/`cpsyncd` entry points, their commands, and an error's `description`); a test keeps it out of the
    /// modules below.
    public static let locale: Language = of(environment: ProcessInfo.processInfo.environment)

    public static func of(environment env: [String: String]) -> Language {
        for key in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let v = env[key], !v.isEmpty { return v.lowercased().hasPrefix("zh") ? .chinese : .english }
        }
        return .english
    }

    /// The language an HTTP request asks for: the supported language of highest weight in `Accept-Language`
    /// (RFC 9110 §12.5.4); English when the header is absent, or names neither language (the server's one rule for
    /// every body it renders — the daemon's own locale never decides).
    public init(acceptLanguage header: String?) {
        var best: (Language, Double)?
        for item in (header ?? "").split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let tag = parts.first, !tag.isEmpty else { continue }
            var weight = 1.0
            for p in parts.dropFirst() where p.hasPrefix("q=") { weight = Double(p.dropFirst(2)) ?? 0 }
            guard weight > 0 else { continue }
            let lang: Language? = tag == "zh" || tag.hasPrefix("zh-") ? .chinese : tag == "en" || tag.hasPrefix("en-") ? .english : nil
            if let lang, weight > (best?.1 ?? -1) { best = (lang, weight) }
        }
        self = best?.0 ?? .english
    }

    public var isChinese: Bool { self == .chinese }

    /// One of two wordings of the same text.
    public func pick(en: @autoclosure () -> String, zh: @autoclosure () -> String) -> String {
        self == .chinese ? zh() : en()
    }

    /// The value of an `Accept-Language` header asking for this language.
    public var acceptLanguage: String { self == .chinese ? "zh-CN,zh;q=0.9" : "en" }
}
