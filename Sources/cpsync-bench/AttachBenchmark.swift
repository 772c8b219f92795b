import CPSyncCLI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `cpsync-bench attach --mb 200`: one attached file of N MB sent by a real `cpsync push` to a real `cpsyncd` on
/// loopback and fetched by another office's `cpsync pull`, against a raw POST of the same bytes (`curl
/// --data-binary @FILE` to a socket that reads and discards) in the same run. Prints the throughput of each, their
/// ratios (goal ≥ 0.8), and the peak RSS of the daemon and of each client (goal ≤ 64 MB each).
enum AttachBenchmark {
    static func run(_ argv: [String]) throws {
        var args = try Arguments(argv, flags: ["json"])
        let mb = try args.int("mb") ?? 200
        let json = args.flag("json")
        try args.checkAllConsumed()
        let workspace = try BenchWorkspace("attach")
        defer { workspace.remove() }
        let dir = workspace.dir
        let bytes = mb << 20
        let file = dir.appendingPathComponent("扫描件.pdf").path
        try writeRandomFile(file, bytes: bytes)
        let cpsync = URL(fileURLWithPath: workspace.daemonPath).deletingLastPathComponent().appendingPathComponent("cpsync").path

        let countyToken = try workspace.cpsyncd(["site", "add", "--id", "county", "--name", "县政协", "--kind", "county"])
        let townToken = try workspace.cpsyncd(["site", "add", "--id", "huashan", "--name", "华山镇", "--kind", "township", "--parent", "county"])
        let daemon = try DaemonProcess(path: workspace.daemonPath, data: workspace.data, extra: ["--attachment-max-mb", String(mb + 1)])
        defer { daemon.stop() }
        let town = dir.appendingPathComponent("huashan.db").path, county = dir.appendingPathComponent("county.db").path
        _ = try Child.run(cpsync, ["init", "--db", town, "--server", daemon.url, "--token", townToken])
        _ = try Child.run(cpsync, ["init", "--db", county, "--server", daemon.url, "--token", countyToken])
        _ = try Child.run(cpsync, ["member", "add", "--db", town, "--name", "王芳", "--site", "huashan"])
        _ = try Child.run(cpsync, ["pull", "--db", town, "--quiet"])  // learns the county's limits
        _ = try Child.run(cpsync, ["attach", "add", "--db", town, "--member", "王芳", file])
        let rssBefore = daemon.peakRSSBytes()

        let up = try Child.run(cpsync, ["push", "--db", town, "--quiet"])
        let down = try Child.run(cpsync, ["pull", "--db", county, "--quiet"])
        let daemonPeak = daemon.peakRSSBytes()

        let raw = try rawPost(file: file, bytes: bytes)
        let mbps = { (seconds: Double) in Double(bytes) / 1_048_576 / seconds }
        let figures: [(String, Double)] = [
            ("file_mb", Double(mb)),
            ("upload_s", up.seconds), ("download_s", down.seconds), ("raw_post_s", raw),
            ("upload_mb_per_s", mbps(up.seconds)), ("download_mb_per_s", mbps(down.seconds)), ("raw_post_mb_per_s", mbps(raw)),
            ("upload_vs_raw_post", raw / up.seconds), ("download_vs_raw_post", raw / down.seconds),
            ("daemon_peak_rss_mb", Double(daemonPeak) / 1_048_576), ("daemon_rss_before_mb", Double(rssBefore) / 1_048_576),
            ("client_upload_peak_rss_mb", Double(up.peakRSS) / 1_048_576), ("client_download_peak_rss_mb", Double(down.peakRSS) / 1_048_576),
        ]
        if json {
            Console.out("{" + figures.map { "\"\($0.0)\":\(String(format: "%.3f", $0.1))" }.joined(separator: ",") + "}")
        } else {
            Console.out("attach: one \(mb) MB file, cpsync push → cpsyncd → cpsync pull on loopback, against curl --data-binary to a discarding socket")
            for (name, value) in figures { Console.out("  " + name.padding(toLength: 30, withPad: " ", startingAt: 0) + String(format: "%.3f", value)) }
            Console.out("  goals: upload_vs_raw_post and download_vs_raw_post ≥ 0.8; each peak RSS ≤ 64 MB")
        }
    }

    static func writeRandomFile(_ path: String, bytes: Int) throws {
        guard let out = FileHandle(forWritingAtPath: path) ?? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { throw BenchError("cannot write \(path)") }
        defer { try? out.close() }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var written = 0
        while written < bytes {
            for i in stride(from: 0, to: chunk.count, by: 8) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                var v = state
                for j in 0..<8 { chunk[i + j] = UInt8(truncatingIfNeeded: v); v >>= 8 }
            }
            let n = min(chunk.count, bytes - written)
            out.write(Data(chunk[0..<n]))
            written += n
        }
    }

    /// Seconds for `curl --data-binary @FILE` to POST the file to a loopback socket that reads and discards it.
    static func rawPost(file: String, bytes: Int) throws -> Double {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("bind") }
        let port = UInt16(bigEndian: address.sin_port)
        let server = Thread {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var header = [UInt8]()
            var body = 0
            // Read the head, then exactly Content-Length bytes of body, then answer.
            while true {
                let n = read(c, &buffer, buffer.count)
                if n <= 0 { break }
                if body == 0 && header.count < 16_384 {
                    header += buffer[0..<n]
                    if let end = String(decoding: header, as: UTF8.self).range(of: "\r\n\r\n") {
                        body = header.count - String(decoding: header, as: UTF8.self)[..<end.upperBound].utf8.count
                    } else { continue }
                } else {
                    body += n
                }
                if body >= bytes { break }
            }
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = write(c, answer, answer.count)
            close(c)
        }
        server.start()
        let r = try Child.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-H", "Expect:", "-H", "Content-Type: application/octet-stream",
                                                "--data-binary", "@" + file, "http://127.0.0.1:\(port)/sink"])
        return r.seconds
    }
}

/// A child process run to its end: its wall time and peak RSS (from `wait4`'s rusage).
struct Child {
    let seconds: Double
    let peakRSS: Int

    static func run(_ path: String, _ args: [String]) throws -> Child {
        var pid: pid_t = 0
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let started = Date()
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { throw BenchError("cannot start \(path)") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = Date().timeIntervalSince(started)
        guard status == 0 else { throw BenchError("\((path as NSString).lastPathComponent) \(args.prefix(2).joined(separator: " ")) exited with status \(status)") }
        return Child(seconds: seconds, peakRSS: Int(usage.ru_maxrss) * 1024)
    }
}
