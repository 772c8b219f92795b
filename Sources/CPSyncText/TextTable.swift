/// Plain-text tables for terminals and reports, counting CJK characters as two columns wide.
public enum TextTable {
    /// Renders rows as an aligned text table (each row cut to the header's width; the last column is not padded).
    public static func render(header: [String], rows: [[String]]) -> String {
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

    /// Columns `s` takes on a terminal: East Asian wide characters and emoji count two.
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
