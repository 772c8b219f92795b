import CPSyncCore
import Foundation
import Testing
import TestSupport

/// The deployment files, exercised for real: nginx (the repository's own config, templated only for ports and
/// paths) terminating TLS with a private CA in front of a real cpsyncd, `systemd-analyze verify` on the units,
/// and the install script's syntax and dry run. Nothing here touches the system outside temporary directories.
@Suite(.serialized) struct DeployTests {
    static let deployDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deploy")

    @Test func nginxTerminatesTLSWithThePrivateCAAndOfficesSyncThroughIt() throws {
        let ws = TempDir("nginx")
        defer { ws.cleanup() }
        let daemon = Daemon(dataDir: ws.path("data"))
        defer { daemon.stop() }
        _ = try daemon.addSite("county", name: "某县政协", kind: "county", parent: nil)
        let huashan = try daemon.addSite("huashan", name: "华山镇政协工委")
        let taohe = try daemon.addSite("taohe", name: "桃河社区联络站", kind: "station", parent: "huashan")
        try daemon.start()

        let tls = try TestCertificates(in: ws)
        let nginx = try Nginx(ws: ws, upstreamPort: daemon.port, tls: tls)
        try nginx.test()
        try nginx.start()
        defer { nginx.stop() }
        let server = "https://127.0.0.1:\(nginx.port)"

        // Two offices trust the county CA (`cpsync init --ca-file`) and push and pull through nginx.
        let a = Office(site: "huashan", db: ws.path("huashan.db"))
        let b = Office(site: "taohe", db: ws.path("taohe.db"))
        for (office, token) in [(a, huashan), (b, taohe)] {
            let r = try run(Binaries.cpsync, ["init", "--db", office.db, "--server", server, "--site", office.site, "--token", token,
                                              "--ca-file", tls.caFile])
            #expect(r.ok, "\(r.stderr)")
        }
        // A member of the station under 华山镇, entered at 华山镇; both may edit it.
        try a.sql("INSERT INTO members(id, name, gender, sector, site_id) VALUES ('m-a', '王芳', '女', '教育', 'taohe')")
        try a.must(["status"])
        try a.must(["push"])
        try b.must(["pull"])
        #expect(try b.query("SELECT name FROM members WHERE id = 'm-a'") == [[.text("王芳")]])
        try b.sql("UPDATE members SET sector = '农业' WHERE id = 'm-a'")
        try b.must(["sync"])
        try a.must(["sync"])
        #expect(try contentDump(a.db) == contentDump(daemon.dataDir + "/county.db", scope: a.site))
        #expect(try contentDump(b.db) == contentDump(daemon.dataDir + "/county.db", scope: b.site))
        // nginx really was in the path: its access log saw the pushes.
        #expect(((try? String(contentsOfFile: nginx.accessLog, encoding: .utf8)) ?? "").contains("POST /v1/push"))

        // An office without the CA file refuses the certificate: `init` says so, exits 77 and creates nothing …
        let stranger = Office(site: "huashan", db: ws.path("stranger.db"))
        let refusedInit = try run(Binaries.cpsync, ["init", "--db", stranger.db, "--server", server, "--site", "huashan", "--token", huashan])
        #expect(refusedInit.status == 77 && refusedInit.stderr.contains("--ca-file"), "\(refusedInit.status) \(refusedInit.stderr)")
        #expect(!FileManager.default.fileExists(atPath: stranger.db))
        // … and an existing office that no longer has it (its setting cleared) is refused at `pull` the same way.
        try Database(path: a.db).execute("VACUUM INTO '\(stranger.db)'")
        try stranger.sql("UPDATE _cp_meta SET value = NULL WHERE key = 'office.ca_file'")
        let before = try contentDump(stranger.db)
        let refused = try stranger.cpsync(["pull"])
        #expect(refused.status == 77, "\(refused.status) \(refused.stderr)")
        let message = refused.stderr.lowercased()
        #expect(["certificate", "ssl", "tls"].contains { message.contains($0) }, "stderr: \(refused.stderr)")
        #expect(try contentDump(stranger.db) == before)

        // /metrics answers from loopback; unknown paths stop at nginx.
        let metrics = try tls.get(port: nginx.port, path: "/metrics")
        #expect(metrics.hasPrefix("HTTP/1.1 200"), "\(metrics.prefix(300))")
        #expect(metrics.contains("cpsync_http_requests_total"))
        #expect(try tls.get(port: nginx.port, path: "/secret").hasPrefix("HTTP/1.1 404"))
        #expect(try tls.get(port: nginx.port, path: "/admin/").hasPrefix("HTTP/1.1 200"))
    }

    @Test func systemdUnitsVerify() throws {
        let analyze = try #require(which("systemd-analyze"), "systemd-analyze is missing: apt-get install systemd (make test-deps)")
        let ws = TempDir("units")
        defer { ws.cleanup() }
        // verify insists that ExecStart= exists; point it at the binary under test instead of /usr/local/bin.
        let units = ["cpsyncd.service", "cpsyncd-backup.service", "cpsyncd-backup.timer"]
        for unit in units {
            let text = try String(contentsOf: Self.deployDirectory.appendingPathComponent(unit), encoding: .utf8)
            if unit.hasSuffix(".service") {
                #expect(text.contains("ExecStart=/usr/local/bin/cpsyncd "), "\(unit) runs the installed binary")
            }
            try text.replacingOccurrences(of: "/usr/local/bin/cpsyncd", with: Binaries.cpsyncd)
                .write(toFile: ws.path(unit), atomically: true, encoding: .utf8)
        }
        let r = try run(analyze, ["verify"] + units.map { ws.path($0) }, env: ["SYSTEMD_LOG_COLOR": "0"], timeout: 60)
        #expect(r.ok, "systemd-analyze verify: \(r.stdout)\(r.stderr)")
        #expect(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "warnings: \(r.stderr)")

        let service = try String(contentsOf: Self.deployDirectory.appendingPathComponent("cpsyncd.service"), encoding: .utf8)
        for line in ["User=cpsync", "StateDirectory=cpsync", "ExecStart=/usr/local/bin/cpsyncd serve --data /var/lib/cpsync --listen 127.0.0.1:8710",
                     "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n", "Restart=on-failure",
                     "KillSignal=SIGTERM", "TimeoutStopSec=40", "UMask=0077"] {
            #expect(service.contains(line), "cpsyncd.service lacks \(line)")
        }
        let backup = try String(contentsOf: Self.deployDirectory.appendingPathComponent("cpsyncd-backup.service"), encoding: .utf8)
        #expect(backup.contains("--to /var/lib/cpsync/backups/ --keep 14"))
    }

    @Test func installScriptIsCleanAndItsDryRunChangesNothing() throws {
        let script = Self.deployDirectory.appendingPathComponent("install.sh").path
        let syntax = try run("/bin/bash", ["-n", script])
        #expect(syntax.ok, "\(syntax.stderr)")
        if let shellcheck = which("shellcheck") {
            let lint = try run(shellcheck, [script])
            #expect(lint.ok, "\(lint.stdout)")
        }
        let dry = try run("/bin/bash", [script, "--dry-run"], timeout: 60)
        #expect(dry.ok, "\(dry.stderr)")
        for step in ["+ swift build -c release", "/usr/local/bin/cpsyncd", "systemctl enable cpsyncd.service cpsyncd-backup.timer",
                     "/etc/systemd/system/cpsyncd-backup.timer", "cpsync-locations.conf"] {
            #expect(dry.stdout.contains(step), "dry run does not mention \(step):\n\(dry.stdout)")
        }
        // Every mutating step is echoed, never run: nothing outside the repository appeared.
        #expect(!FileManager.default.fileExists(atPath: "/etc/systemd/system/cpsyncd.service") || dry.stdout.contains("+ install -m 0644"))
        let skip = try run("/bin/bash", [script, "--dry-run", "--skip-build"], timeout: 60)
        #expect(skip.ok && !skip.stdout.contains("swift build"))
        #expect(try run("/bin/bash", [script, "--no-such-option"]).status == 64)
    }
}

/// `PATH` lookup.
func which(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    let dirs: [String] = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
    for dir in dirs {
        let candidate = "\(dir)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// A loopback port nobody listens on right now (the kernel's choice, released at once).
func freeLoopbackPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return UInt16(bigEndian: address.sin_port)
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func acceptsConnections(_ port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = port.bigEndian
    return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
}

/// A private CA and a server certificate for IP 127.0.0.1, made with the openssl command.
struct TestCertificates {
    let caFile: String
    let certificate: String
    let key: String

    init(in ws: TempDir) throws {
        let openssl = try #require(which("openssl"), "openssl is missing: apt-get install openssl (make test-deps)")
        caFile = ws.path("ca.pem")
        certificate = ws.path("server.crt")
        key = ws.path("server.key")
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.must(try run(openssl, ["req", "-x509"] + ec + ["-keyout", ws.path("ca.key"), "-out", caFile, "-days", "2",
                                                                 "-subj", "/CN=cpsync test county CA",
                                                                 "-addext", "basicConstraints=critical,CA:TRUE",
                                                                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"]))
        try Self.must(try run(openssl, ["req", "-new"] + ec + ["-keyout", key, "-out", ws.path("server.csr"), "-subj", "/CN=127.0.0.1"]))
        try "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n"
            .write(toFile: ws.path("server.ext"), atomically: true, encoding: .utf8)
        try Self.must(try run(openssl, ["x509", "-req", "-in", ws.path("server.csr"), "-CA", caFile, "-CAkey", ws.path("ca.key"),
                                        "-CAcreateserial", "-out", certificate, "-days", "2", "-extfile", ws.path("server.ext")]))
    }

    static func must(_ r: RunResult) throws {
        guard r.ok else { throw HarnessError.failed("openssl failed: \(r.stderr)") }
    }

    /// A raw HTTP/1.1 GET over TLS that verifies the server against the CA (openssl s_client); the whole answer.
    func get(port: UInt16, path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: which("openssl") ?? "/usr/bin/openssl")
        p.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", caFile, "-verify_return_error", "-quiet",
                       "-verify_ip", "127.0.0.1"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        input.fileHandleForWriting.write(Data("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
        let data = Guard<Data>(Data())
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { data.set(output.fileHandleForReading.readDataToEndOfFile()); done.signal() }
        if done.wait(timeout: .now() + 20) == .timedOut { p.terminate() ; done.wait() }
        try? input.fileHandleForWriting.close()
        p.waitUntilExit()
        return String(decoding: data.get(), as: UTF8.self)
    }
}

/// A real nginx started in the foreground (`daemon off`) from a temporary prefix, serving the repository's
/// deploy/nginx/cpsync.conf with only ports, certificate paths, log paths and the snippet path substituted.
final class Nginx {
    let prefix: String
    let port: UInt16
    let accessLog: String
    private let conf: String
    private let binary: String
    private var process: Process?

    init(ws: TempDir, upstreamPort: UInt16, tls: TestCertificates) throws {
        binary = try #require(which("nginx"), "nginx is missing: apt-get install nginx-light (make test-deps)")
        let prefix = ws.path("nginx")
        self.prefix = prefix
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        port = freeLoopbackPort()
        accessLog = prefix + "/logs/cpsync.access.log"
        let deploy = DeployTests.deployDirectory.appendingPathComponent("nginx")
        var site = try String(contentsOf: deploy.appendingPathComponent("cpsync.conf"), encoding: .utf8)
        // Each substitution must hit exactly once, so a drifting config fails here instead of testing something else.
        let substitutions: [(String, String)] = [
            ("server 127.0.0.1:8710;", "server 127.0.0.1:\(upstreamPort);"),
            ("listen 443 ssl;", "listen 127.0.0.1:\(port) ssl;"),
            ("listen [::]:443 ssl;", ""),
            ("listen 80;", "listen 127.0.0.1:\(freeLoopbackPort());"),
            ("listen [::]:80;", ""),
            ("/etc/cpsync/tls/server.crt", tls.certificate),
            ("/etc/cpsync/tls/server.key", tls.key),
            ("/var/log/nginx/cpsync.access.log", accessLog),
            ("/var/log/nginx/cpsync.error.log", prefix + "/logs/cpsync.error.log"),
            ("/etc/nginx/snippets/cpsync-locations.conf", deploy.appendingPathComponent("cpsync-locations.conf").path),
        ]
        for (from, to) in substitutions {
            let hits = site.components(separatedBy: from).count - 1
            #expect(hits == 1, "deploy/nginx/cpsync.conf should contain '\(from)' once, found \(hits)")
            site = site.replacingOccurrences(of: from, with: to)
        }
        try site.write(toFile: prefix + "/cpsync.conf", atomically: true, encoding: .utf8)
        // Workers of a root master drop to `nobody` unless told otherwise; they must read the test's files.
        let user = geteuid() == 0 ? "user root;\n" : ""
        let temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map { "    \($0)_temp_path \(prefix)/\($0)_temp;" }.joined(separator: "\n")
        conf = prefix + "/nginx.conf"
        try """
            \(user)worker_processes 1;
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/logs/error.log warn;
            events { worker_connections 128; }
            http {
                access_log off;
            \(temp)
                include \(prefix)/cpsync.conf;
            }

            """.write(toFile: conf, atomically: true, encoding: .utf8)
    }

    private var arguments: [String] { ["-p", prefix + "/", "-c", conf, "-e", prefix + "/logs/error.log"] }

    /// `nginx -t`: the configuration parses and every file it names is usable.
    func test() throws {
        let r = try run(binary, arguments + ["-t"], timeout: 30)
        guard r.ok else { throw HarnessError.failed("nginx -t rejected the config: \(r.stderr)") }
    }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments + ["-g", "daemon off;"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if acceptsConnections(port) { return }
            if !p.isRunning { break }
            usleep(20_000)
        }
        let log = (try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8)) ?? ""
        stop()
        throw HarnessError.failed("nginx did not start listening on \(port): \(log)")
    }

    /// SIGTERM (fast shutdown of master and workers), SIGKILL if it lingers.
    func stop() {
        guard let p = process else { return }
        process = nil
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    deinit { stop() }
}
