import CLinux
import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import CPSyncServer
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `cpsync-bench load --offices 300 --slow 50 [--pull-from now|zero] [--quiescent R]`: a whole county syncing at once against a real `cpsyncd` on loopback.
///
/// Every simulated office has its own site and token and a push of about 40 real changes (4 members from a real
/// office replica); all are released together and each runs status, push and pull over one keep-alive connection,
/// retrying 503 and broken connections as the office client does. Meanwhile `--slow` clients trickle a header byte
/// every half second (reconnecting when the daemon drops them) and a health check runs every 50 ms. Prints errors,
/// p50/p99 per request kind, the worst health-check latency and the daemon's peak RSS.
enum LoadBenchmark {
    static func run(_ argv: [String]) throws {
        var args = try Arguments(argv, flags: ["json"])
        let offices = try args.int("offices") ?? 300
        let slow = try args.int("slow") ?? 50
        let rowsPerOffice = try args.int("rows") ?? 4
        // `now`: offices synced before (yesterday) and pull from the county's cursor at the start of the run, as
        // in daily use; `zero`: first syncs, each office pulls the whole county from the beginning.
        let pullFrom = args.option("pull-from") ?? "now"
        guard pullFrom == "now" || pullFrom == "zero" else {
            throw UsageError.invalidValue(option: "pull-from", value: pullFrom, expected: "now or zero")
        }
        // Rounds of quiescent syncs after the burst (every office up to date): the daemon's CPU per such sync.
        let quiescentRounds = try args.int("quiescent") ?? 0
        let json = args.flag("json")
        try args.checkAllConsumed()
        // Every office holds a connection of its own in this one process (and the daemon one per office): 1,000
        // offices need more descriptors than a shell's usual soft limit of 1,024. Raised toward the hard limit.
        let descriptors = raiseDescriptorLimit(to: offices + slow + 256)
        guard descriptors >= offices + slow + 64 else {
            throw BenchError("\(offices + slow) connections need about \(offices + slow + 64) file descriptors; the limit is \(descriptors) (raise it with ulimit -Hn)")
        }
        let workspace = try BenchWorkspace("load")
        defer { workspace.remove() }
        let dir = workspace.dir, daemonPath = workspace.daemonPath
        let data = workspace.data

        // Sites and tokens, in process, before the daemon opens the store.
        var tokens: [String] = []
        do {
            let store = try ServerStore(dataDirectory: data)
            _ = try store.addSite(id: "county", name: "县政协", kind: "county", parent: nil)
            for i in 0..<offices {
                tokens.append(try store.addSite(id: site(i), name: "第\(i)镇", kind: "township", parent: "county"))
            }
        }
        let daemon = try DaemonProcess(path: daemonPath, data: data)
        defer { daemon.stop() }
        guard let port = UInt16(daemon.url.split(separator: ":").last ?? "") else { throw BenchError("no daemon port in \(daemon.url)") }

        // Each office's push, built by a real office replica (real HLCs, bases and row ownership).
        var pushes: [[UInt8]] = []
        for i in 0..<offices {
            let replica = try OfficeConfig.initialise(path: dir.appendingPathComponent("\(site(i)).db").path,
                                                      config: OfficeConfig(server: daemon.url, site: site(i), token: tokens[i]))
            try replica.database.transaction {
                let insert = try replica.database.statement(SyncBenchmark.insertSQL("members"))
                for r in 0..<rowsPerOffice { try insert.execute(memberRow(office: i, row: r)) }
            }
            let own = try replica.changes(after: 0).changes.filter { $0.version.site == site(i) }
            pushes.append(PushRequest(schemaVersion: CPPCCSchema.version, batchId: UUID().uuidString.lowercased(),
                                      site: site(i), changes: own).encoded())
        }
        let changesPerPush = try PushRequest.decode(pushes[0]).changes.count
        var startCursor: Int64 = 0
        if pullFrom == "now" {
            let probe = BenchConnection(port: port, token: tokens[0])
            for _ in 0..<1000 {
                let query = PullQuery(after: startCursor, limit: ProtocolLimits.maxPageSize, schemaVersion: CPPCCSchema.version)
                let page = try PullResponse.decode(try probe.request("GET", "/v1/pull?" + query.queryString, record: nil))
                startCursor = page.cursor
                if !page.hasMore { break }
            }
            probe.close()
        }
        let rssBefore = daemon.peakRSSBytes()

        let record = Recorder()
        let stop = Flag()
        let gate = Gate()
        var threads: [Thread] = []

        for _ in 0..<slow {
            threads.append(Thread { trickle(port: port, until: stop, record: record) })
        }
        let health = Thread { checkHealth(port: port, until: stop, record: record) }
        threads.forEach { $0.start() }
        Thread.sleep(forTimeInterval: 1)
        health.start()
        Thread.sleep(forTimeInterval: 0.5)

        let done = Gate()
        let finished = Counter()
        let cursors = Cursors(count: offices, start: startCursor)
        for i in 0..<offices {
            let token = tokens[i], push = pushes[i], after = startCursor
            Thread {
                // The offices are the load; the health checker stands for a prober on another machine.
                _ = cpsync_nice_current_thread(5)
                gate.wait()
                if let cursor = syncOffice(port: port, token: token, push: push, after: after, record: record) { cursors.set(i, cursor) }
                // From the moment every office pressed "sync": includes any wait before its first byte was sent.
                record.latency("sync_since_release", Date().timeIntervalSince(gate.openedAt))
                if finished.increment() == offices { done.open() }
            }.start()
        }
        Thread.sleep(forTimeInterval: 0.2)
        let released = Date()
        // The offices' own CPU shares the 2 cores with the daemon (real offices are other machines): printed beside it.
        let benchCPUBefore = processCPUSeconds(pid: getpid())
        gate.open()
        done.wait()
        let wall = Date().timeIntervalSince(released)
        let benchCPU = processCPUSeconds(pid: getpid()) - benchCPUBefore
        Thread.sleep(forTimeInterval: 0.5)
        stop.set()
        health.cancel()
        Thread.sleep(forTimeInterval: 0.6)
        let peak = daemon.peakRSSBytes()
        let cpu = threadCPUSeconds(pid: daemon.process.processIdentifier)
        let metrics = (try? String(decoding: BenchConnection(port: port, token: nil).request("GET", "/metrics", record: nil), as: UTF8.self)) ?? ""
        let quiescent = try quiescentSyncs(rounds: quiescentRounds, port: port, tokens: tokens, cursors: cursors.all,
                                           daemon: daemon.process.processIdentifier)

        let r = record.snapshot()
        var figures: [(String, Double)] = [
            ("offices", Double(offices)), ("slow_clients", Double(slow)), ("changes_per_push", Double(changesPerPush)),
            ("failed_syncs", Double(r.failures.count)), ("retries", Double(r.retries)), ("answers_503", Double(r.unavailable)),
            ("pull_from_cursor", Double(startCursor)), ("wall_s", wall), ("bench_clients_cpu_s", benchCPU),
        ]
        for kind in ["status", "push", "pull", "sync", "sync_since_release"] {
            let values = r.latencies[kind] ?? []
            figures.append(("\(kind)_count", Double(values.count)))
            figures.append(("\(kind)_p50_ms", percentile(values, 0.5) * 1000))
            figures.append(("\(kind)_p99_ms", percentile(values, 0.99) * 1000))
        }
        figures += [
            ("health_checks", Double(r.health.count)), ("health_failed", Double(r.healthFailures)),
            ("health_max_ms", (r.health.max() ?? 0) * 1000), ("slow_reconnects", Double(r.slowReconnects)),
            ("daemon_cpu_loop_s", cpu["http-loop"] ?? 0), ("daemon_cpu_workers_s", cpu["http-worker"] ?? 0),
            ("daemon_cpu_total_s", cpu.values.reduce(0, +)), ("daemon_cpu_ms_per_sync", cpu.values.reduce(0, +) * 1000 / Double(offices)),
            ("pull_rows_read", metric(metrics, "cpsync_pull_rows_read_total")), ("pull_rows_sent", metric(metrics, "cpsync_pull_rows_sent_total")),
            ("daemon_rss_before_mb", Double(rssBefore) / 1_048_576), ("daemon_peak_rss_mb", Double(peak) / 1_048_576),
        ]
        if let quiescent {
            figures += [("quiescent_syncs", Double(quiescent.syncs)), ("quiescent_failed", Double(quiescent.failed)),
                        ("quiescent_p50_ms", quiescent.p50 * 1000), ("quiescent_p99_ms", quiescent.p99 * 1000),
                        ("quiescent_daemon_cpu_ms_per_sync", quiescent.cpuSeconds * 1000 / Double(max(1, quiescent.syncs))),
                        ("daemon_peak_rss_after_quiescent_mb", Double(daemon.peakRSSBytes()) / 1_048_576)]
        }
        if json {
            Console.out("{" + figures.map { "\"\($0.0)\":\(CoreBenchmark.format($0.1))" }.joined(separator: ",") + "}")
        } else {
            for (k, v) in figures { Console.out(k.padding(toLength: 26, withPad: " ", startingAt: 0) + CoreBenchmark.format(v)) }
            for failure in r.failures.prefix(10) { Console.out("error: \(failure)") }
            Console.out("goals: failed_syncs = 0, sync_p99_ms <= 1000, status_p99_ms <= 1000, health_max_ms <= 250, daemon_peak_rss_mb <= 150"
                        + (quiescent == nil ? "" : ", quiescent_daemon_cpu_ms_per_sync <= 1"))
        }
    }

    /// The soft limit of open descriptors raised to `wanted` (at most the hard limit); the limit now in force.
    static func raiseDescriptorLimit(to wanted: Int) -> Int {
        var limit = rlimit()
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return 0 }
        if limit.rlim_cur < rlim_t(wanted) && limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return Int(limit.rlim_cur)
    }

    /// A counter's value in a `/metrics` text (0 when absent).
    static func metric(_ text: String, _ name: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    struct Quiescent {
        var syncs = 0, failed = 0
        var p50 = 0.0, p99 = 0.0
        var cpuSeconds = 0.0
    }

    /// `rounds` syncs of every office with nothing to push or pull, as `cpsync sync` makes them: a new connection,
    /// `GET /v1/status`, then `GET /v1/pull` from the office's cursor in the compact form with gzip (the client
    /// pushes nothing when nothing is pending). Eight offices at a time. The daemon's CPU (user + system, from
    /// /proc/PID/stat) over the whole phase, divided by the syncs, is the cost of a quiescent office.
    static func quiescentSyncs(rounds: Int, port: UInt16, tokens: [String], cursors: [Int64], daemon: Int32) throws -> Quiescent? {
        guard rounds > 0 else { return nil }
        // First every office pulls what the offices after it pushed (not measured), so that nothing is left to pull.
        let upToDate = Cursors(count: tokens.count, start: 0)
        let catchUp = Recorder()
        inParallel(tokens.count) { office in
            let connection = BenchConnection(port: port, token: tokens[office])
            defer { connection.close() }
            var cursor = cursors[office]
            for _ in 0..<1000 {
                let query = PullQuery(after: cursor, schemaVersion: CPPCCSchema.version)
                guard let page = try? pageEnd(connection.request("GET", "/v1/pull?" + query.queryString, record: nil)) else {
                    catchUp.failure("catch-up pull of office \(office)")
                    return
                }
                cursor = page.cursor
                if !page.hasMore { break }
            }
            upToDate.set(office, cursor)
        }
        if let failure = catchUp.snapshot().failures.first { throw BenchError(failure) }
        let heads = upToDate.all
        let record = Recorder()
        let cpuBefore = processCPUSeconds(pid: daemon)
        inParallel(rounds * tokens.count) { n in
            let office = n % tokens.count
            let connection = BenchConnection(port: port, token: tokens[office])
            defer { connection.close() }
            let started = Date()
            do {
                _ = try connection.request("GET", "/v1/status", record: nil)
                let query = PullQuery(after: heads[office], since: heads[office], limit: ProtocolLimits.defaultPageSize,
                                      maxBytes: 1 << 20, schemaVersion: CPPCCSchema.version, unsent: 0)
                let body = try connection.request("GET", "/v1/pull?" + query.queryString, record: nil, headers: [
                    ("Accept", "\(CompactForm.mediaType), application/json;q=0.5"), ("Accept-Encoding", "gzip")])
                let plain = Gzip.isGzip(body) ? try Gzip.decompress(body, maxBytes: 1 << 30) : body
                let changes = try ((try? PullResponse.decodeCompact(plain)) ?? PullResponse.decode(plain)).changes.count
                guard changes == 0 else { throw BenchError("office \(office) was not quiescent: \(changes) changes to pull") }
                record.latency("quiescent", Date().timeIntervalSince(started))
            } catch {
                record.failure("\(error)")
            }
        }
        let cpu = processCPUSeconds(pid: daemon) - cpuBefore
        let r = record.snapshot()
        if let failure = r.failures.first { Console.out("error: \(failure)") }
        let values = r.latencies["quiescent"] ?? []
        return Quiescent(syncs: values.count, failed: r.failures.count, p50: percentile(values, 0.5), p99: percentile(values, 0.99),
                         cpuSeconds: cpu)
    }

    /// `body(0..<count)` on eight threads, each taking the next number; returns when all are done.
    static func inParallel(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let next = Counter()
        for _ in 0..<8 {
            Thread {
                while true {
                    let n = next.increment() - 1
                    guard n < count else { break }
                    body(n)
                }
                next.finished()
            }.start()
        }
        next.waitFinished(8)
    }

    /// CPU seconds (user + system) of a whole process, from /proc/PID/stat (clock ticks of 1/100 s).
    static func processCPUSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / 100
    }

    /// CPU seconds (user + system) per thread name of a process, from /proc (clock ticks of 1/100 s).
    static func threadCPUSeconds(pid: Int32) -> [String: Double] {
        var result: [String: Double] = [:]
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        for task in tasks {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let name = String(stat[stat.index(after: open)..<close])
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            result[name, default: 0] += (user + system) / 100
        }
        return result
    }

    static func site(_ i: Int) -> String { "office-\(i)" }

    static func memberRow(office: Int, row: Int) -> [Value] {
        let n = office * 1000 + row
        return [.text(String(format: "00000000-0000-4000-9000-%012d", n)), .text(BenchData.names[n % 5] + String(n)),
                .text(n % 2 == 0 ? "男" : "女"), .text(BenchData.sectors[n % 5]), .text("无党派"), .text("第八届"),
                .text(site(office)), .text("1390000\(String(format: "%04d", n % 10_000))"), .text("某县第\(n % 7)中学"),
                .text("教师")]
    }

    /// One office's sync: status, push, then pull pages until none is left; 503 and broken connections retried.
    static func syncOffice(port: UInt16, token: String, push: [UInt8], after: Int64, record: Recorder) -> Int64? {
        let connection = BenchConnection(port: port, token: token)
        defer { connection.close() }
        let started = Date()
        do {
            _ = try timed("status", record) { try connection.request("GET", "/v1/status", record: record) }
            let pushed = try timed("push", record) { try connection.request("POST", "/v1/push", body: push, record: record) }
            _ = try PushResponse.decode(pushed)
            var cursor = after
            for _ in 0..<1000 {
                let query = PullQuery(after: cursor, schemaVersion: CPPCCSchema.version).queryString
                let page = pageEnd(try timed("pull", record) {
                    try connection.request("GET", "/v1/pull?" + query, record: record)
                })
                guard let page else { throw BenchConnection.Failure(description: "a pull answer without cursor and hasMore") }
                cursor = page.cursor
                if !page.hasMore { break }
            }
            record.latency("sync", Date().timeIntervalSince(started))
            return cursor
        } catch {
            record.failure("\(error)")
            return nil
        }
    }

    /// The cursor and `hasMore` from the end of a pull page, without decoding its changes: the bench's own CPU
    /// must go to the daemon, not to parsing 300 offices' pages (they share the machine).
    static func pageEnd(_ body: [UInt8]) -> (cursor: Int64, hasMore: Bool)? {
        let tail = String(decoding: body.suffix(80), as: UTF8.self)
        guard let c = tail.range(of: "\"cursor\":", options: .backwards),
              let h = tail.range(of: ",\"hasMore\":", options: .backwards),
              let cursor = Int64(tail[c.upperBound..<h.lowerBound]) else { return nil }
        return (cursor, tail[h.upperBound...].hasPrefix("true"))
    }

    static func timed(_ kind: String, _ record: Recorder, _ body: () throws -> [UInt8]) throws -> [UInt8] {
        let started = Date()
        let result = try body()
        record.latency(kind, Date().timeIntervalSince(started))
        return result
    }

    /// A slowloris: a header byte every half second on one connection, a new connection when the daemon drops it.
    static func trickle(port: UInt16, until stop: Flag, record: Recorder) {
        while !stop.isSet {
            guard let fd = BenchConnection.connect(port: port) else {
                Thread.sleep(forTimeInterval: 0.5)
                continue
            }
            record.slowReconnect()
            var alive = BenchConnection.sendAll(fd, Array("GET /v1/pull HTTP/1.1\r\nHost: county\r\n".utf8))
            while alive && !stop.isSet {
                Thread.sleep(forTimeInterval: 0.5)
                alive = BenchConnection.sendAll(fd, Array("X".utf8))
            }
            Glibc.close(fd)
        }
    }

    /// A health check every 50 ms on a fresh connection, as a load balancer would.
    static func checkHealth(port: UInt16, until stop: Flag, record: Recorder) {
        while !stop.isSet {
            let started = Date()
            let connection = BenchConnection(port: port, token: nil, retry: RetryPolicy(maxAttempts: 1))
            do {
                _ = try connection.request("GET", "/v1/health", record: nil)
                record.health(Date().timeIntervalSince(started))
            } catch {
                record.healthFailure()
            }
            connection.close()
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }
}

/// A blocking HTTP/1.1 client over one keep-alive socket, reconnecting when needed; confined to one thread.
final class BenchConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let port: UInt16
    private let token: String?
    private var fd: Int32 = -1
    private var pending: [UInt8] = []

    /// `retry`: the office client's policy (`HTTPTransport`): its attempts, and its waits (`Retry-After` with jitter,
    /// else exponential backoff). `RetryPolicy(maxAttempts: 1)` for no retries.
    init(port: UInt16, token: String?, retry: RetryPolicy = RetryPolicy()) {
        self.port = port
        self.token = token
        self.retry = retry
    }

    private let retry: RetryPolicy

    /// Sends a request and returns the 2xx body; 503 (after its Retry-After) and broken connections are retried as
    /// the office client retries them.
    func request(_ method: String, _ path: String, body: [UInt8]? = nil, record: Recorder?, headers: [(String, String)] = []) throws -> [UInt8] {
        var attempt = 0
        while true {
            attempt += 1
            let outcome: Result<(Int, [UInt8], Double?), Failure> = Result { try once(method, path, body: body, headers: headers) }
                .mapError { $0 as? Failure ?? Failure(description: "\($0)") }
            var retryAfter: Double?
            switch outcome {
            case .success(let (status, bytes, after)):
                if (200..<300).contains(status) { return bytes }
                guard status == 503, attempt < retry.maxAttempts else {
                    throw Failure(description: "\(method) \(path.prefix(20)): HTTP \(status) after \(attempt) attempts \(String(decoding: bytes.prefix(200), as: UTF8.self))")
                }
                record?.saw503()
                retryAfter = after.map { min($0, 300) }
            case .failure(let failure):
                close()
                guard attempt < retry.maxAttempts else { throw Failure(description: "\(method) \(path.prefix(20)): \(failure) after \(attempt) attempts") }
            }
            record?.retried()
            Thread.sleep(forTimeInterval: retry.delay(afterAttempt: attempt, retryAfter: retryAfter))
        }
    }

    private func once(_ method: String, _ path: String, body: [UInt8]?, headers: [(String, String)]) throws -> (Int, [UInt8], Double?) {
        if fd < 0 {
            guard let connected = Self.connect(port: port) else { throw Failure(description: "connect: errno \(errno)") }
            fd = connected
            pending = []
        }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if !headers.contains(where: { $0.0 == "Accept" }) { head += "Accept: application/json\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        guard Self.sendAll(fd, Array(head.utf8) + (body ?? [])) else { throw Failure(description: "send: errno \(errno)") }

        let terminator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        var searchFrom = 0
        while headEnd == nil {
            if pending.count >= 4 {
                headEnd = (searchFrom...(pending.count - 4)).first { pending[$0..<($0 + 4)].elementsEqual(terminator) }
                searchFrom = max(0, pending.count - 3)
            }
            if headEnd == nil { try fill() }
        }
        let lines = String(decoding: pending[..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        pending.removeFirst(headEnd! + 4)
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "bad status line \(lines[0])") }
        var length = 0
        var retryAfter: Double?
        var closes = false
        for line in lines.dropFirst() {
            let field = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard field.count == 2 else { continue }
            switch field[0].lowercased() {
            case "content-length": length = Int(field[1]) ?? 0
            case "retry-after": retryAfter = Double(field[1])
            case "connection": closes = field[1].lowercased() == "close"
            default: break
            }
        }
        while pending.count < length { try fill() }
        let answer = Array(pending.prefix(length))
        pending.removeFirst(length)
        if closes { close() }
        return (status, answer, retryAfter)
    }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: n == 0 ? "connection closed by the server" : "recv: errno \(errno)") }
        pending += buffer[0..<n]
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    static func connect(port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        // The office client's stall timeout (`SyncClient`'s default deadline): an answer that takes longer is retried.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            return nil
        }
        return fd
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}

/// What the load run measured, shared by every client thread.
///
/// `@unchecked Sendable` is sound: every stored property is only reached under `lock`.
final class Recorder: @unchecked Sendable {
    struct Snapshot {
        var latencies: [String: [Double]] = [:]
        var failures: [String] = []
        var retries = 0
        var unavailable = 0
        var health: [Double] = []
        var healthFailures = 0
        var slowReconnects = 0
    }

    private let lock = NSLock()
    private var state = Snapshot()

    func latency(_ kind: String, _ seconds: Double) { lock.withLock { state.latencies[kind, default: []].append(seconds) } }
    func failure(_ text: String) { lock.withLock { state.failures.append(text) } }
    func retried() { lock.withLock { state.retries += 1 } }
    func saw503() { lock.withLock { state.unavailable += 1 } }
    func health(_ seconds: Double) { lock.withLock { state.health.append(seconds) } }
    func healthFailure() { lock.withLock { state.healthFailures += 1 } }
    func slowReconnect() { lock.withLock { state.slowReconnects += 1 } }
    func snapshot() -> Snapshot { lock.withLock { state } }
}

/// A one-way latch threads wait on.
///
/// `@unchecked Sendable` is sound: `isOpen` is only touched under `condition`'s lock.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false
    private var opened = Date.distantPast

    /// When `open` was called.
    var openedAt: Date {
        condition.lock()
        defer { condition.unlock() }
        return opened
    }

    func open() {
        condition.lock()
        isOpen = true
        opened = Date()
        condition.broadcast()
        condition.unlock()
    }

    func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }
}

/// A stop flag. `@unchecked Sendable` is sound: `value` is only touched under `lock`.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// A shared counter, and a count of threads done. `@unchecked Sendable` is sound: `value` and `done` are only touched
/// under `condition`'s lock.
final class Counter: @unchecked Sendable {
    private let condition = NSCondition()
    private var value = 0
    private var done = 0
    func increment() -> Int { condition.withLock { value += 1; return value } }
    func finished() { condition.withLock { done += 1; condition.broadcast() } }
    func waitFinished(_ threads: Int) { condition.withLock { while done < threads { condition.wait() } } }
}

/// Each office's pull cursor after its sync. `@unchecked Sendable` is sound: `values` is only touched under `lock`.
final class Cursors: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int64]
    init(count: Int, start: Int64) { values = Array(repeating: start, count: count) }
    func set(_ i: Int, _ cursor: Int64) { lock.withLock { values[i] = cursor } }
    var all: [Int64] { lock.withLock { values } }
}
