import CPSyncCore
import CPSyncProtocol

/// Turns a CHECK / NOT NULL failure of a push into an answer an office can act on: the table, the column and the
/// index of the first change SQLite refuses, instead of SQLite's text. Runs after the failed transaction was rolled
/// back; its own trial merges are rolled back too, so nothing is applied.
struct ConstraintLocator {
    let store: ServerStore

    /// The `constraint_violated` answer for `error`, raised while merging `changes`.
    func errorBody(for error: SQLiteError, in changes: [Change]) -> ErrorBody {
        let named = Self.namedCell(in: error.message)
        let guess = named.flatMap { cell in guessCell(cell, in: changes) }
        // Try the changes that can have broken the rule (all cell changes when the message names no column we know).
        let candidates = changes.indices.filter { i in
            guard changes[i].column != nil else { return false }
            guard let guess else { return true }
            return changes[i].table == guess.table && changes[i].column == guess.column
        }
        if let (i, refusal) = firstRefused(candidates, of: changes) {
            let c = changes[i]
            return ErrorBody(code: .constraintViolated,
                             message: "changes[\(i)]: \(c.table).\(c.column ?? "") does not accept this value (\(refusal.message)); fix it at the office; nothing was applied",
                             table: c.table, column: c.column, index: i)
        }
        let place = guess.map { "\($0.table).\($0.column)" } ?? "a column"
        return ErrorBody(code: .constraintViolated,
                         message: "\(place) does not accept a value of this push (\(error.message)); fix it at the office; nothing was applied",
                         table: guess?.table, column: guess?.column)
    }

    /// `constraint_violated` without a push to search (an admin's resolution): the table and column only when
    /// SQLite's message names them (NOT NULL does).
    static func errorBody(for error: SQLiteError) -> ErrorBody {
        let named = namedCell(in: error.message)
        let column = named?.table == nil ? nil : named?.identifiers.first
        return ErrorBody(code: .constraintViolated, message: "the schema does not accept this value (\(error.message)); nothing was applied",
                         table: named?.table, column: column)
    }

    /// What SQLite's message names: `NOT NULL constraint failed: members.name` names table and column;
    /// `CHECK constraint failed: gender IN ('', '男', '女')` names the identifiers of the expression.
    static func namedCell(in message: String) -> (table: String?, identifiers: [String])? {
        if let r = message.range(of: "NOT NULL constraint failed: ") {
            let parts = message[r.upperBound...].split(separator: ".", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], [parts[1]]) : (nil, parts)
        }
        if let r = message.range(of: "CHECK constraint failed: ") {
            return (nil, identifiers(in: String(message[r.upperBound...])))
        }
        return nil
    }

    /// The bare and double-quoted identifiers of an SQL expression, in order; string literals are skipped.
    static func identifiers(in expression: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quote: Character? = nil
        func flush() {
            if let first = current.first, !first.isNumber { out.append(current) }
            current = ""
        }
        for ch in expression {
            if let q = quote {
                if ch == q { if q == "\"" { out.append(current) }; current = ""; quote = nil } else if q == "\"" { current.append(ch) }
            } else if ch == "'" || ch == "\"" {
                flush()
                quote = ch
            } else if ch.isLetter || ch.isNumber || ch == "_" {
                current.append(ch)
            } else {
                flush()
            }
        }
        if quote == nil { flush() }
        return out
    }

    /// The first change (in request order) whose table has a column the message names, and that column.
    private func guessCell(_ named: (table: String?, identifiers: [String]), in changes: [Change]) -> (table: String, column: String)? {
        let identifiers = Set(named.identifiers)
        for c in changes {
            guard let column = c.column, identifiers.contains(column) else { continue }
            if let table = named.table, table != c.table { continue }
            return (c.table, column)
        }
        return nil
    }

    /// The first candidate SQLite refuses when merged alone (each trial rolled back), with SQLite's error.
    private func firstRefused(_ candidates: [Int], of changes: [Change]) -> (Int, SQLiteError)? {
        struct RolledBack: Error {}
        return try? store.write { r -> (Int, SQLiteError)? in
            for i in candidates {
                do {
                    try r.database.transaction {
                        try r.merge([changes[i]])
                        throw RolledBack()
                    }
                } catch is RolledBack {
                    continue
                } catch {
                    if let s = SyncService.sqliteError(error), s.isConstraint { return (i, s) }
                }
            }
            return nil
        }
    }
}
