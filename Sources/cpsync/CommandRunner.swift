import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import Foundation

/// Runs one verb: maps every error to one message on stderr and one exit code, in one place.
enum CommandRunner {
    /// `--json` was given: errors are printed as one JSON object on stderr (JSONOutput.error), and nothing else is.
    static let jsonErrors = CommandLine.arguments.dropFirst().contains("--json")

    static func run(_ body: () throws -> Int32) -> Int32 {
        guard jsonErrors else { return runReportingText(body) }
        do {
            return try body()
        } catch let e as ClientError {
            if case .server(let status, let errorBody) = e {
                Console.err(JSONOutput.error(code: errorBody.code.rawValue, message: ServerErrors.describe(e), exit: e.exitCode.rawValue, status: status))
            } else {
                Console.err(JSONOutput.error(code: JSONOutput.code(forExit: e.exitCode.rawValue), message: e.description, exit: e.exitCode.rawValue))
            }
            return e.exitCode.rawValue
        } catch {
            // The same message and exit code as without --json, in one object.
            let captured = CapturedError()
            let status = runReportingText({ throw error }, report: captured.add)
            Console.err(JSONOutput.error(code: JSONOutput.code(forExit: status), message: captured.text, exit: status))
            return status
        }
    }

    /// Collects what the text reporting would print, to put it in the JSON error instead.
    final class CapturedError {
        var lines: [String] = []
        func add(_ line: String) { lines.append(line.hasPrefix("cpsync: ") ? String(line.dropFirst(8)) : line) }
        var text: String { lines.joined(separator: "\n") }
    }

    static func runReportingText(_ body: () throws -> Int32, report: (String) -> Void = { Console.err($0) }) -> Int32 {
        do {
            return try body()
        } catch let e where AccessRules.violation(in: e) != nil {
            // A rule of the site tree refused the write at the moment it was made: nothing was changed or queued.
            report("cpsync: \(AccessRules.violation(in: e)!)")
            return ExitCode.dataError.rawValue
        } catch let e as UsageError {
            report("cpsync: \(e)")
            return ExitCode.usage.rawValue
        } catch let e as ReplicaError {
            if case .notAReplica(let path) = e {
                // The engine's words are English; the clerk's are Chinese under zh.
                report("cpsync: " + L10n.pick(en: e.description,
                                                   zh: "'\(path)' 不是 cpsync 数据库（没有同步信息）；请先用 `cpsync init` 创建"))
                return ExitCode.ioError.rawValue
            }
            report("cpsync: \(e)")
            if case .sqlite = e { return ExitCode.ioError.rawValue }
            return ExitCode.dataError.rawValue
        } catch let e as SQLiteError {
            report("cpsync: \(e)")
            return ExitCode.ioError.rawValue
        } catch let e as ClientError {
            report("cpsync: \(ServerErrors.describe(e))")
            return e.exitCode.rawValue
        } catch let e as any ExitCodeProviding {
            report("cpsync: \(e)")
            return e.exitCode.rawValue
        } catch {
            report("cpsync: \(error)")
            return ExitCode.failure.rawValue
        }
    }
}

/// Where the office replica lives: `--db PATH`, else `$CPSYNC_DB`, else `./cpsync.db`.
enum OfficeDatabase {
    static func path(_ args: inout Arguments) -> String {
        args.option("db") ?? ProcessInfo.processInfo.environment["CPSYNC_DB"] ?? "cpsync.db"
    }

    /// Opens an existing office replica (never creates one: `cpsync init` does that).
    static func open(_ args: inout Arguments) throws -> Replica {
        try Replica(path: path(&args), create: false)
    }
}
