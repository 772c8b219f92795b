import Foundation

/// Picks Chinese or English user-facing text from the locale: Chinese when LC_ALL, LC_MESSAGES or LANG is zh_*.
public enum L10n {
    public static let isChinese: Bool = {
        let env = ProcessInfo.processInfo.environment
        for key in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let v = env[key], !v.isEmpty { return v.lowercased().hasPrefix("zh") }
        }
        return false
    }()

    public static func pick(en: String, zh: String) -> String { isChinese ? zh : en }
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
    public static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let n = header.count
        var widths = Array(repeating: 0, count: n)
        for row in all { for (i, cell) in row.prefix(n).enumerated() { widths[i] = max(widths[i], displayWidth(cell)) } }
        return all.map { row in
            row.prefix(n).enumerated().map { i, cell in
                i == n - 1 ? cell : cell + String(repeating: " ", count: widths[i] - displayWidth(cell))
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    public static func displayWidth(_ s: String) -> Int {
        s.unicodeScalars.reduce(0) { w, u in
            let v = u.value
            let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
                || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
                || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1FAFF).contains(v) || (0x20000...0x3FFFD).contains(v)
            return w + (wide ? 2 : 1)
        }
    }
}
