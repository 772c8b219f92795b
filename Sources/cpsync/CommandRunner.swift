import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import Foundation

/// Runs one verb: maps every error to one message on stderr and one exit code, in one place.
enum CommandRunner {
    static func run(_ body: () throws -> Int32) -> Int32 {
        do {
            return try body()
        } catch let e where AccessRules.violation(in: e) != nil {
            // A rule of the site tree refused the write at the moment it was made: nothing was changed or queued.
            Console.err("cpsync: \(AccessRules.violation(in: e)!)")
            return ExitCode.dataError.rawValue
        } catch let e as UsageError {
            Console.err("cpsync: \(e)")
            return ExitCode.usage.rawValue
        } catch let e as ReplicaError {
            if case .notAReplica(let path) = e {
                // The engine's words are English; the clerk's are Chinese under zh.
                Console.err("cpsync: " + L10n.pick(en: e.description,
                                                   zh: "'\(path)' 不是 cpsync 数据库（没有同步信息）；请先用 `cpsync init` 创建"))
                return ExitCode.ioError.rawValue
            }
            Console.err("cpsync: \(e)")
            if case .sqlite = e { return ExitCode.ioError.rawValue }
            return ExitCode.dataError.rawValue
        } catch let e as SQLiteError {
            Console.err("cpsync: \(e)")
            return ExitCode.ioError.rawValue
        } catch let e as ClientError {
            Console.err("cpsync: \(ServerErrors.describe(e))")
            return e.exitCode.rawValue
        } catch let e as any ExitCodeProviding {
            Console.err("cpsync: \(e)")
            return e.exitCode.rawValue
        } catch {
            Console.err("cpsync: \(error)")
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
