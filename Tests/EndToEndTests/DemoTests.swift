import Foundation
import Testing
import TestSupport

/// `make run`'s demo script, run for real against the built binaries (in a temporary data directory, on a free
/// loopback port), twice: a second run on the same data directory must work too.
@Suite(.serialized) struct DemoTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/demo.sh").path

    static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: addr.sin_port)
    }

    @Test func demoRunsTwoOfficesThroughTheDaemonAndShowsTheConflict() throws {
        let ws = TempDir("demo")
        defer { ws.cleanup() }
        for round in 1...2 {
            let r = try run("/bin/bash", [Self.script], env: [
                "CPSYNC_BIN": Binaries.directory.path, "CPSYNC_DATA": ws.path("cpsync-data"),
                "CPSYNC_LISTEN": "127.0.0.1:\(Self.freePort())", "DEMO_EXIT": "1",
            ], cwd: ws.url.path, timeout: 180)
            #expect(r.ok, "round \(round): \(r.stdout)\n\(r.stderr)")
            #expect(r.stdout.contains("member · sector"), "round \(round): \(r.stdout)")
            #expect(r.stdout.contains("关于加强农村饮水安全保障的提案"), "round \(round): \(r.stdout)")
            #expect(r.stderr.contains("\"stopped\""), "the daemon stops when the demo ends")
        }
    }
}
