@_exported import CPSyncText
import Foundation

/// The tools' language (`Language.locale`), for text the tools themselves print: help, tables, notes. Text of the
/// modules below comes as values that render themselves (`Renderable.text(in:)`), in `Language.locale` here.
public enum L10n {
    public static var isChinese: Bool { Language.locale.isChinese }
    public static var language: Language { Language.locale }

    public static func pick(en: String, zh: String) -> String { Language.locale.pick(en: en, zh: zh) }
}

/// Writes to standard output/error through FileHandle (stdout itself is not concurrency-safe in Swift 6).
public enum Console {
    public static func out(_ text: String, terminator: String = "\n") {
        FileHandle.standardOutput.write(Data((text + terminator).utf8))
    }

    public static func err(_ text: String, terminator: String = "\n") {
        FileHandle.standardError.write(Data((text + terminator).utf8))
    }

    /// Whether standard error is a terminal (progress bars only then).
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Renders rows as an aligned text table, counting CJK characters as two columns wide.
    public static func table(header: [String], rows: [[String]]) -> String { TextTable.render(header: header, rows: rows) }

    public static func displayWidth(_ s: String) -> Int { TextTable.displayWidth(s) }
}
