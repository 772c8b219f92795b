import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import Foundation

/// `cpsync-bench sync`: N cell changes pushed from one office and pulled into another through a real `cpsyncd` on
/// loopback, against a baseline in the same run: POST of the same request bytes to a sink server plus a plain
/// SQLite insert of the same rows on each side. Also the daemon's peak RSS (VmHWM) during the run.
enum SyncBenchmark {
    static let memberColumns = ["name", "gender", "sector", "party", "term", "site_id", "phone", "employer", "position"]

    static func run(_ argv: [String]) throws {
        var args = try Arguments(argv, flags: ["json"])
        let cells = try args.int("cells") ?? 100_000
        let json = args.flag("json")
        try args.checkAllConsumed()
        let workspace = try BenchWorkspace("sync")
        defer { workspace.remove() }
        let dir = workspace.dir, daemonPath = workspace.daemonPath
        let data = workspace.data
        func admin(_ a: [String]) throws -> String { try workspace.cpsyncd(a) }
        _ = try admin(["site", "add", "--id", "county", "--name", "县政协", "--kind", "county"])
        let tokenA = try admin(["site", "add", "--id", "office-a", "--name", "甲镇", "--kind", "township", "--parent", "county"])
        // B is of kind county: it holds every township's records (a township would hold only its own scope).
        let tokenB = try admin(["site", "add", "--id", "office-b", "--name", "县政协机关", "--kind", "county", "--parent", "county"])
        let daemon = try DaemonProcess(path: daemonPath, data: data)
        defer { daemon.stop() }

        let a = try OfficeConfig.initialise(path: dir.appendingPathComponent("a.db").path,
                                            config: OfficeConfig(server: daemon.url, site: "office-a", token: tokenA))
        // Office A holds the rows: an inserted row sends every column of the table (not only the ones written) plus
        // its existence, so N cells are N / (columns + 1) rows.
        let cellsPerRow = try a.columns(of: "members").count + 1
        let rows = max(1, (cells + cellsPerRow / 2) / cellsPerRow)
        let b = try OfficeConfig.initialise(path: dir.appendingPathComponent("b.db").path,
                                            config: OfficeConfig(server: daemon.url, site: "office-b", token: tokenB))
        try a.database.transaction {
            let insert = try a.database.statement(insertSQL("members"))
            for i in 0..<rows { try insert.execute(row(i)) }
        }
        let own = try a.allChanges().filter { $0.version.site == "office-a" }

        // The sync: push from A, pull into B.
        let clientA = try SyncClient(replica: a), clientB = try SyncClient(replica: b)
        clientB.pullPageSize = ProtocolLimits.maxPageSize
        let pushSeconds = try BenchData.time { _ = try clientA.push() }
        let peakAfterPush = daemon.peakRSSBytes()
        var pulled = 0
        let pullSeconds = try BenchData.time { pulled = try clientB.pull().received }
        guard try b.database.scalar("SELECT count(*) FROM members")?.int64Value == Int64(rows) else {
            throw BenchError("office B holds the wrong number of rows after the pull")
        }

        // Baseline: the same request bytes to a sink, and a plain insert of the same rows on both sides.
        let sink = HTTPServer(configuration: { var c = HTTPServerConfiguration(); c.port = 0; return c }(), responder: Sink())
        try sink.start()
        defer { sink.shutdown(gracePeriodSeconds: 1) }
        var bodies: [[UInt8]] = []
        var start = 0
        let perPage = ProtocolLimits.maxChangesPerPush / cellsPerRow * cellsPerRow
        while start < own.count {
            let page = Array(own[start..<min(own.count, start + perPage)])
            bodies.append(PushRequest(schemaVersion: CPPCCSchema.version, batchId: UUID().uuidString, site: "office-a", changes: page).encoded())
            start += perPage
        }
        let transport = HTTPTransport(baseURL: "http://127.0.0.1:\(sink.boundPort)", token: nil)
        let postSeconds = try BenchData.time {
            for body in bodies {
                // Twice: once up (the push) and once down (the pull carries the same bytes back).
                _ = try transport.send("POST", "/sink", body: body)
                _ = try transport.send("POST", "/sink", body: body)
            }
        }
        var insertSeconds = 0.0
        for side in ["plain-a.db", "plain-b.db"] {
            let plain = try Database(path: dir.appendingPathComponent(side).path)
            try plain.execute("CREATE TABLE members (id TEXT PRIMARY KEY, \(memberColumns.map { "\($0) TEXT" }.joined(separator: ", ")))")
            insertSeconds += try BenchData.time {
                try plain.transaction {
                    let insert = try plain.statement(insertSQL("members"))
                    for i in 0..<rows { try insert.execute(row(i)) }
                }
            }
        }
        let peak = max(peakAfterPush, daemon.peakRSSBytes())
        let syncSeconds = pushSeconds + pullSeconds
        let baseline = postSeconds + insertSeconds
        let figures: [(String, Double)] = [
            ("cells", Double(own.count)), ("rows", Double(rows)), ("pulled_changes", Double(pulled)),
            ("push_s", pushSeconds), ("pull_s", pullSeconds), ("sink_post_s", postSeconds), ("plain_insert_s", insertSeconds),
            ("sync_ratio", syncSeconds / baseline), ("daemon_peak_rss_mb", Double(peak) / 1_048_576),
        ]
        if json {
            Console.out("{" + figures.map { "\"\($0.0)\":\(CoreBenchmark.format($0.1))" }.joined(separator: ",") + "}")
        } else {
            for (k, v) in figures { Console.out(k.padding(toLength: 22, withPad: " ", startingAt: 0) + CoreBenchmark.format(v)) }
            Console.out("goals: sync_ratio <= 3.0, daemon_peak_rss_mb <= 150")
        }
    }

    static func insertSQL(_ table: String) -> String {
        "INSERT INTO \(table) (id, \(memberColumns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: memberColumns.count + 1).joined(separator: ", ")))"
    }

    static func row(_ i: Int) -> [Value] {
        [.text(String(format: "00000000-0000-4000-8000-%012d", i)), .text(BenchData.names[i % 5] + String(i)), .text(i % 2 == 0 ? "男" : "女"),
         .text(BenchData.sectors[i % 5]), .text("无党派"), .text("第八届"), .text("office-a"), .text("1390000\(String(format: "%04d", i % 10_000))"),
         .text("某县第\(i % 7)中学"), .text("教师")]
    }

    struct Sink: HTTPResponder {
        func respond(to request: HTTPRequest) -> HTTPResponse { HTTPResponse(status: 200) }
    }
}

/// A `cpsyncd serve` child process on a random loopback port.
final class DaemonProcess {
    let process = Process()
    private(set) var url = ""

    init(path: String, data: String, extra: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["serve", "--data", data, "--listen", "127.0.0.1:0", "--quiet"] + extra
        let err = Pipe()
        process.standardError = err
        try process.run()
        var seen = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let d = err.fileHandleForReading.availableData
            if d.isEmpty { break }
            seen += String(decoding: d, as: UTF8.self)
            if let r = seen.range(of: "127.0.0.1:") {
                let port = seen[r.upperBound...].prefix { $0.isNumber }
                if !port.isEmpty, seen[r.upperBound...].dropFirst(port.count).first == "\"" { url = "http://127.0.0.1:\(port)"; break }
            }
        }
        guard !url.isEmpty else { throw BenchError("cpsyncd did not start: \(seen)") }
        // Keep draining stderr so the daemon never blocks on a full pipe (a plain thread: libdispatch's readability
        // sources were seen to crash on Linux when the pipe closed).
        let reader = err.fileHandleForReading
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while read(reader.fileDescriptor, &buffer, buffer.count) > 0 {}
        }.start()
    }

    /// VmHWM: the peak resident set size so far.
    func peakRSSBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}
