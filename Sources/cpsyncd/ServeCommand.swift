import CPSyncCLI
import CPSyncCore
import CPSyncHTTP
import CPSyncServer
import Foundation

/// `cpsyncd serve`: runs the daemon until SIGTERM/SIGINT, then finishes in-flight requests and exits 0.
enum ServeCommand {
    /// Threads answering requests: twelve per core (8 to 64). A push holds its worker until its group commits
    /// (`WriteGroup`, at most 8 writes a group), so most of them wait on the writer, not on the CPU; the others read,
    /// decode and check meanwhile.
    static var workers: Int { min(64, max(8, ProcessInfo.processInfo.activeProcessorCount * 12)) }

    // The defaults, in one place: `serve` uses them and `cpsyncd serve --help` prints them.
    static let defaultListen = "127.0.0.1:8710"
    static let defaultSkewSeconds = 600
    static let defaultMaxConnections = HTTPServerConfiguration().maxConnections
    static let defaultMaxBodyBytes = HTTPServerConfiguration().maxBodyBytes
    static let defaultUplinkEvery = 300

    static func run(_ argv: [String]) throws -> Int32 {
        // Before any thread starts: freed memory goes back instead of piling up in per-thread arenas (issue 22).
        ProcessMemory.bound()
        var args = try Arguments(argv, flags: ["quiet"])
        let listen = args.option("listen") ?? defaultListen
        let skew = try args.int("max-skew-seconds") ?? defaultSkewSeconds
        let maxConnections = try args.int("max-connections") ?? defaultMaxConnections
        let maxBody = try args.int("max-body-bytes") ?? defaultMaxBodyBytes
        let quiet = args.flag("quiet")
        let attachmentLimits = try AttachmentOptions.limits(&args)
        // County → city → province: run `uplink` on a timer beside the server (Protocol/README.md §18).
        let uplinkServer = args.option("uplink-server")
        let uplinkToken = args.option("uplink-token") ?? ProcessInfo.processInfo.environment["CPSYNC_UPLINK_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let uplinkSite = args.option("uplink-site"), uplinkCA = args.option("uplink-ca-file")
        let uplinkEvery = try args.int("uplink-every") ?? defaultUplinkEvery
        if uplinkServer != nil && uplinkToken == nil {
            throw UsageError.missingArgument("--uplink-token T (or $CPSYNC_UPLINK_TOKEN): the county's token at the higher tier")
        }
        // One daemon per data directory; `restore` refuses while the lock is held.
        let lock = ServerLock(dataDirectory: try DataOption.directory(&args))
        try lock.acquire()
        defer { lock.release() }
        let store = try DataOption.open(&args)
        try args.checkAllConsumed()
        // For `cpsyncd import`, which holds a station's carried files to the same limits.
        try store.rememberAttachmentLimits(attachmentLimits)
        guard let colon = listen.lastIndex(of: ":"), let port = UInt16(listen[listen.index(after: colon)...]) else {
            throw UsageError.invalidValue(option: "listen", value: listen, expected: L10n.pick(en: "HOST:PORT, e.g. 127.0.0.1:8710", zh: "主机:端口，如 127.0.0.1:8710"))
        }
        var config = HTTPServerConfiguration()
        config.host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        config.port = port
        config.maxConnections = maxConnections
        config.maxBodyBytes = maxBody
        config.workerThreads = Self.workers
        // Health, status, whoami and metrics answer while every worker is busy with a push: the route table puts
        // them in the light lane (`Route.lane`).
        let router = Router(store: store, maxSkewMs: Int64(skew) * 1000, maxBodyBytes: maxBody, log: EventLog(enabled: !quiet),
                            attachmentLimits: attachmentLimits)
        let server = HTTPServer(configuration: config, responder: router)
        store.openReaders()
        try server.start()
        let uplink = try uplinkServer.map { server in
            UplinkLoop(uplink: try Uplink(store: store, server: server, token: uplinkToken ?? "", site: uplinkSite, caFile: uplinkCA),
                       every: uplinkEvery, log: router.log)
        }
        uplink?.start()
        Console.err("{\"event\":\"listening\",\"address\":\"\(config.host):\(server.boundPort)\",\"data\":\"\(store.dataDirectory)\",\"site\":\"\(store.siteID)\"}")
        StopSignals.wait()
        Console.err("{\"event\":\"stopping\"}")
        uplink?.stop(waitingUpTo: 30)
        server.shutdown(gracePeriodSeconds: 30)
        router.finishReadsAhead()
        Console.err("{\"event\":\"stopped\"}")
        return 0
    }
}
