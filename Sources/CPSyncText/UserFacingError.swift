/// Exit codes shared by `cpsync` and `cpsyncd` (documented in the README). Errors below the tools say which one they
/// map to; only the tools exit.
public enum ExitCode: Int32, Sendable {
    case ok = 0
    /// A general failure not covered below.
    case failure = 1
    /// The data given was refused (bad value, impossible workflow step, bad CSV row); nothing was changed.
    case dataError = 65
    /// The server could not be reached, or the connection broke; nothing was lost, run the command again.
    case unavailable = 69
    /// The server refused the request (authentication, authorisation, clock skew, conflict state).
    case refused = 77
    /// A local file or database problem (missing, locked, not a replica).
    case ioError = 74
    /// The command line was wrong.
    case usage = 64
}

/// An error that knows which exit code it maps to.
public protocol ExitCodeProviding: Error, CustomStringConvertible {
    var exitCode: ExitCode { get }
}

/// Text a person reads, rendered in the language of whoever is shown it (`Language`): the value holds what happened
/// (a case and its parameters), never words; the words are chosen by `text(in:)` where it is shown.
public protocol Renderable: Sendable, CustomStringConvertible {
    func text(in language: Language) -> String
}

extension Renderable {
    /// The text in the tools' language (`Language.locale`), for a tool that prints or interpolates the value; the
    /// server and the modules below call `text(in:)` with the reader's language instead.
    public var description: String { text(in: .locale) }
}

/// A refusal a person reads: its case and parameters are the code (what scripts and tests compare, never the words),
/// and `text(in:)` is its one wording in each language. `description` renders it for the tools' own locale, so that
/// the tools print it as they always did; the server renders it per request instead.
public protocol UserFacingError: ExitCodeProviding, Renderable {}

/// A short text given in both languages where it arises, chosen where it is shown: a value an error carries as a
/// parameter ("expected 1900–2999", "the reply letter's date") and that has no case of its own. A string literal is the
/// same in both languages (a number range, a command line, a name).
public struct Phrase: Renderable, Hashable, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public let english: String
    public let chinese: String

    public init(en: String, zh: String) {
        english = en
        chinese = zh
    }

    /// Another text's two wordings (a refusal quoted inside another: a CSV line's).
    public init(_ text: some Renderable) { self.init(en: text.text(in: .english), zh: text.text(in: .chinese)) }

    public init(stringLiteral value: String) { self.init(en: value, zh: value) }

    public init(stringInterpolation: DefaultStringInterpolation) {
        let s = String(stringInterpolation: stringInterpolation)
        self.init(en: s, zh: s)
    }

    public func text(in language: Language) -> String { language.pick(en: english, zh: chinese) }
}
