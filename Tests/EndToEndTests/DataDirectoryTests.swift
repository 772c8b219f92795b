import Foundation
import Testing
import TestSupport

/// `cpsyncd` finds its data directory from `--data`, then `$CPSYNC_DATA`, then the `data =` line of its
/// configuration file (`$CPSYNCD_CONF`, installed as /etc/cpsync/cpsyncd.conf), then `./cpsync-data`.
@Suite struct DataDirectoryTests {
    static let deployDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy")

    /// Adds the county site with the environment `env` and the extra arguments; returns where `county.db` appeared.
    static func addCounty(_ ws: TempDir, env: [String: String], args: [String] = []) throws -> [String] {
        let r = try run(Binaries.cpsyncd, ["site", "add", "--id", "county", "--name", "某县政协", "--kind", "county"] + args, env: env, cwd: ws.url.path)
        #expect(r.ok, "\(r.stderr)")
        let found = FileManager.default.enumerator(atPath: ws.url.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix("county.db") } ?? []
        return found.map { ($0 as NSString).deletingLastPathComponent }
    }

    @Test func theDataOptionBeatsTheEnvironmentWhichBeatsTheConfigFileWhichBeatsTheDefault() throws {
        let conf = { (ws: TempDir) -> String in
            let path = ws.path("cpsyncd.conf")
            try? "# written by install.sh\n\n  data = \(ws.path("from-conf"))  \n".write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        do {
            let ws = TempDir("datadir"); defer { ws.cleanup() }
            #expect(try Self.addCounty(ws, env: ["CPSYNC_DATA": ws.path("from-env"), "CPSYNCD_CONF": conf(ws)], args: ["--data", ws.path("from-option")])
                    == ["from-option"])
        }
        do {
            let ws = TempDir("datadir"); defer { ws.cleanup() }
            #expect(try Self.addCounty(ws, env: ["CPSYNC_DATA": ws.path("from-env"), "CPSYNCD_CONF": conf(ws)]) == ["from-env"])
        }
        do {
            let ws = TempDir("datadir"); defer { ws.cleanup() }
            #expect(try Self.addCounty(ws, env: ["CPSYNC_DATA": "", "CPSYNCD_CONF": conf(ws)]) == ["from-conf"])
            // Later commands find the same county without being told.
            let list = try run(Binaries.cpsyncd, ["site", "list", "--json"], env: ["CPSYNC_DATA": "", "CPSYNCD_CONF": ws.path("cpsyncd.conf")])
            #expect(list.ok && list.stdout.contains("某县政协"), "\(list.stderr)")
        }
        do {
            let ws = TempDir("datadir"); defer { ws.cleanup() }
            #expect(try Self.addCounty(ws, env: ["CPSYNC_DATA": "", "CPSYNCD_CONF": ws.path("absent.conf")]) == ["cpsync-data"])
        }
    }

    @Test func aBrokenConfigFileIsRefusedWithItsLineAndNothingIsCreated() throws {
        let ws = TempDir("badconf")
        defer { ws.cleanup() }
        try "data = \(ws.path("x"))\nlisten 127.0.0.1:8710\n".write(toFile: ws.path("cpsyncd.conf"), atomically: true, encoding: .utf8)
        let r = try run(Binaries.cpsyncd, ["site", "list"], env: ["CPSYNC_DATA": "", "CPSYNCD_CONF": ws.path("cpsyncd.conf")], cwd: ws.url.path)
        #expect(r.status == 74 && r.stderr.contains("cpsyncd.conf:2"), "\(r.status) \(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.url.path) == ["cpsyncd.conf"])
    }

    @Test func theInstalledConfigFilePointsAtTheServiceDataDirectoryAndInstallWritesIt() throws {
        let shipped = Self.deployDirectory.appendingPathComponent("cpsyncd.conf").path
        // The daemon reads the shipped file as pointing at /var/lib/cpsync (site list then looks there).
        let r = try run(Binaries.cpsyncd, ["site", "list"], env: ["CPSYNC_DATA": "", "CPSYNCD_CONF": shipped])
        #expect(r.stderr.contains("/var/lib/cpsync/county.db") || r.ok, "\(r.stderr)")
        let dry = try run("/bin/bash", [Self.deployDirectory.appendingPathComponent("install.sh").path, "--dry-run", "--skip-build"], timeout: 60)
        #expect(dry.ok && dry.stdout.contains("/etc/cpsync/cpsyncd.conf"), "\(dry.stdout)")
    }
}
