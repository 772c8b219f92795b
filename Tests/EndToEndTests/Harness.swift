import CPPCC
import CPSyncCore
import Foundation
import TestSupport

/// Runs the real `cpsyncd` and `cpsync` binaries on 127.0.0.1 with random ports and temporary directories.
/// Everything started here is stopped by `stop()`/`cleanup()` (tests call them in `defer`).
enum Binaries {
    /// The directory the test bundle was built into; the executables sit beside it.
    static let directory: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("cpsyncd").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }()

    static var cpsyncd: String { directory.appendingPathComponent("cpsyncd").path }
    static var cpsync: String { directory.appendingPathComponent("cpsync").path }
}

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
    var ok: Bool { status == 0 }
}

enum HarnessError: Error, CustomStringConvertible {
    case failed(String)
    var description: String { if case .failed(let m) = self { m } else { "" } }
}

/// Runs a command to completion (bounded by `timeout`), capturing its output.
@discardableResult
func run(_ executable: String, _ args: [String], env: [String: String] = [:], cwd: String? = nil, timeout: Double = 120) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    environment["LANG"] = "C.UTF-8"
    environment.removeValue(forKey: "LC_ALL")
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    // Read both pipes concurrently so a chatty child never blocks on a full pipe.
    let outData = Guard<Data>(Data()), errData = Guard<Data>(Data())
    let group = DispatchGroup()
    for (pipe, box) in [(out, outData), (err, errData)] {
        group.enter()
        DispatchQueue.global().async {
            let d = pipe.fileHandleForReading.readDataToEndOfFile()
            box.set(d)
            group.leave()
        }
    }
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(10_000) }
    if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        throw HarnessError.failed("\(executable) \(args.joined(separator: " ")) did not finish within \(timeout) s")
    }
    p.waitUntilExit()
    group.wait()
    return RunResult(status: p.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
                     stderr: String(decoding: errData.get(), as: UTF8.self))
}

final class Guard<T>: @unchecked Sendable {
    // Sound: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func update(_ f: (inout T) -> Void) { lock.lock(); f(&value); lock.unlock() }
}

/// A real `cpsyncd serve` on 127.0.0.1 with a random port.
final class Daemon {
    let dataDir: String
    private(set) var process: Process?
    private(set) var port: UInt16 = 0
    let log = Guard<String>("")
    var url: String { "http://127.0.0.1:\(port)" }

    init(dataDir: String) { self.dataDir = dataDir }

    /// Registers a site and returns its token.
    func addSite(_ id: String, name: String, kind: String = "township", parent: String? = "county") throws -> String {
        var args = ["site", "add", "--data", dataDir, "--id", id, "--name", name, "--kind", kind]
        if let parent { args += ["--parent", parent] }
        let r = try run(Binaries.cpsyncd, args)
        guard r.ok else { throw HarnessError.failed("site add \(id) failed: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func addAdmin(_ name: String) throws -> String {
        let r = try run(Binaries.cpsyncd, ["admin", "add", "--data", dataDir, "--name", name])
        guard r.ok else { throw HarnessError.failed("admin add failed: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts the daemon and waits until it listens (on the same port as before when restarting).
    func start(extraArgs: [String] = [], env: [String: String] = [:]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Binaries.cpsyncd)
        p.arguments = ["serve", "--data", dataDir, "--listen", "127.0.0.1:\(port)"] + extraArgs
        var environment = ProcessInfo.processInfo.environment
        environment["LANG"] = "C.UTF-8"
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        let log = self.log
        // Only this run's output counts: an earlier run's "listening" line must not be mistaken for this one.
        let earlier = log.get().utf8.count
        try p.run()
        process = p
        // A plain thread reads the log until the daemon closes it. (FileHandle.readabilityHandler runs on a dispatch
        // source that libdispatch on Linux was seen to crash in when the pipe went away with the daemon.)
        try? err.fileHandleForWriting.close()
        let reader = err.fileHandleForReading
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = read(reader.fileDescriptor, &buffer, buffer.count)
                if n <= 0 { break }
                log.update { $0 += String(decoding: buffer[0..<n], as: UTF8.self) }
            }
            try? reader.close()
        }.start()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let output = String(decoding: Array(log.get().utf8.dropFirst(earlier)), as: UTF8.self)
            if let line = output.split(separator: "\n").last(where: { $0.contains("\"listening\"") }),
               let range = line.range(of: "127.0.0.1:"),
               let port = UInt16(line[range.upperBound...].prefix { $0.isNumber }) {
                self.port = port
                return
            }
            if !p.isRunning { throw HarnessError.failed("cpsyncd exited: \(log.get())") }
            usleep(20_000)
        }
        throw HarnessError.failed("cpsyncd did not start listening: \(log.get())")
    }

    /// SIGTERM and wait (graceful); returns the exit status.
    @discardableResult
    func stop() -> Int32? {
        guard let p = process else { return nil }
        process = nil
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(30)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// SIGKILL: a crash.
    func crash() {
        guard let p = process else { return }
        process = nil
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    deinit { stop() }
}

/// An office: a replica file driven through the real `cpsync` binary.
struct Office {
    let site: String
    let db: String

    /// `attachments`: the office's file policy (`all` when nil: `init` without `--attachments`).
    static func create(_ site: String, in ws: TempDir, daemon: Daemon, token: String, attachments: String? = nil) throws -> Office {
        let office = Office(site: site, db: ws.path("\(site).db"))
        let r = try run(Binaries.cpsync, ["init", "--db", office.db, "--server", daemon.url, "--site", site, "--token", token]
                        + (attachments.map { ["--attachments", $0] } ?? []))
        guard r.ok else { throw HarnessError.failed("init \(site): \(r.stderr)") }
        return office
    }

    /// Runs `cpsync` on this office: `--db` goes after the leading words (`member add`, `proposal edit KEY`), since a
    /// verb with sub-verbs reads its sub-verb first.
    @discardableResult
    func cpsync(_ args: [String], env: [String: String] = [:]) throws -> RunResult {
        let words = max(1, args.prefix { !$0.hasPrefix("-") }.count)
        return try run(Binaries.cpsync, Array(args.prefix(words)) + ["--db", db] + args.dropFirst(words), env: env)
    }

    /// Runs `cpsync VERB` and fails the test's precondition when it exits non-zero.
    @discardableResult
    func must(_ args: [String]) throws -> RunResult {
        let r = try cpsync(args)
        guard r.ok else { throw HarnessError.failed("cpsync \(args.joined(separator: " ")) at \(site) exited \(r.status): \(r.stderr)") }
        return r
    }

    func sql(_ statement: String, _ values: [Value] = []) throws {
        let db = try Database(path: self.db)
        try db.run(statement, values)
    }

    func query(_ sql: String) throws -> [[Value]] { try Database(path: db).query(sql) }
}

/// The domain tables of a replica file, rows ordered by key, as text (sync metadata excluded). With `scope`, only
/// the rows that site holds under partial replication (what a quiescent office of that site must hold exactly).
func contentDump(_ path: String, scope site: String? = nil,
                 tables: [String] = ["sites", "members", "proposals", "proposal_cosigners", "proposal_handlers",
                                     "social_reports", "activities", "activity_participants"]) throws -> String {
    let db = try Database(path: path)
    let scope = try site.flatMap { try SiteScope.of(site: $0, in: db) }
    var out = ""
    for t in tables {
        let columns = try db.columns(of: t).map(\.name)
        for row in try db.query("SELECT * FROM \"\(t)\" ORDER BY id") {
            if let scope {
                let values = Dictionary(uniqueKeysWithValues: zip(columns, row))
                guard try scope.contains(table: t, pk: values["id"]?.stringValue ?? "", value: { values[$0] ?? .null }) else { continue }
            }
            out += t + "|" + row.map { "\($0.typeName):\($0)" }.joined(separator: "|") + "\n"
        }
    }
    return out
}

/// A county daemon with sites county, huashan, chengguan, taohe (or the ones given) registered, started.
struct County {
    let ws: TempDir
    let daemon: Daemon
    var tokens: [String: String] = [:]

    init(_ name: String, sites: [String] = ["huashan", "chengguan", "taohe"], start: Bool = true) throws {
        ws = TempDir(name)
        daemon = Daemon(dataDir: ws.path("data"))
        tokens["county"] = try daemon.addSite("county", name: "某县政协", kind: "county", parent: nil)
        let names = ["huashan": "华山镇政协工委", "chengguan": "城关镇政协工委", "taohe": "桃河镇政协联络组"]
        for s in sites { tokens[s] = try daemon.addSite(s, name: names[s] ?? s) }
        if start { try daemon.start() }
    }

    func office(_ site: String, attachments: String? = nil) throws -> Office {
        try Office.create(site, in: ws, daemon: daemon, token: tokens[site]!, attachments: attachments)
    }
    var serverDB: String { daemon.dataDir + "/county.db" }
    func cleanup() { daemon.stop(); ws.cleanup() }
}
