/// "Did you mean …?" for a mistyped verb, sub-verb or option: the nearest known name by edit distance.
public enum Suggestion {
    /// The known name closest to `typed`, if it is close enough to be a typo (at most 2 edits, and fewer than
    /// half the letters), or if `typed` is an unambiguous prefix of it.
    public static func nearest(to typed: String, among known: [String]) -> String? {
        guard !typed.isEmpty else { return nil }
        let prefixed = known.filter { $0.hasPrefix(typed) }
        if prefixed.count == 1 { return prefixed[0] }
        let limit = min(2, max(1, typed.count / 2))
        let scored = known.map { ($0, distance(typed, $0)) }.filter { $0.1 <= limit }
        return scored.min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }?.0
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours count one.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
