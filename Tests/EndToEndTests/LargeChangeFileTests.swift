import CPSyncCore
import CPSyncProtocol
import Foundation
import Testing
import TestSupport

/// Change files larger than the request body limit (16 MiB), with the real binaries: exported, imported at the
/// county, its reply imported at the station, and relayed through a township — each process holding a batch or a
/// page, not the file (its peak RSS flat in the file's size).
@Suite(.serialized) struct LargeChangeFileTests {
    /// Members with a long field each, inserted at the station in one transaction: about `members` × 8 KB of changes.
    static func addMembers(_ station: Office, prefix: String, count: Int) throws {
        try station.sql("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count))
            INSERT INTO members(id, name, site_id, employer) SELECT '\(prefix)-' || i, '委员' || i, 'xiyuan', hex(randomblob(4000)) FROM n
            """)
    }

    /// `executable args` run under GNU time: its result and its peak RSS in bytes.
    static func measured(_ executable: String, _ args: [String]) throws -> (result: RunResult, peakRSS: Int) {
        let r = try run("/usr/bin/time", ["-f", "cpsync-test-peak-rss-kb %M", executable] + args, timeout: 600)
        let line = r.stderr.split(separator: "\n").last { $0.hasPrefix("cpsync-test-peak-rss-kb ") }
        let kb = line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
        return (r, kb * 1024)
    }

    /// `cpsync VERB … --db` of `office`, measured.
    static func measured(_ office: Office, _ args: [String]) throws -> (result: RunResult, peakRSS: Int) {
        let words = max(1, args.prefix { !$0.hasPrefix("-") }.count)
        return try measured(Binaries.cpsync, Array(args.prefix(words)) + ["--db", office.db] + args.dropFirst(words))
    }

    /// A process's peak RSS so far (VmHWM), in bytes.
    static func peakRSS(of pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return -1 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1) * 1024
    }

    static func size(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1 }

    static let mib = 1 << 20
    /// No process may hold more: the debug binaries' own ~40 MiB, SQLite's page caches (16 MiB a writing connection)
    /// and a few pages — whatever the files' size.
    static let ceiling = 100 << 20
    /// How much more a process may hold when the files are twice as large: memory flat in the file's size.
    static let growth = 8 << 20

    /// The whole path twice, the second time with files twice as large (`CPSYNC_LARGE_FILE_MEMBERS` members, default
    /// 3,000: files of about 26 and 53 MB): every process's peak RSS stays under `ceiling` and grows by less than
    /// `growth` while the files grow by tens of MB. About two minutes on two shared cores: `make test-large-files`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CPSYNC_LARGE_FILES"] == "1"))
    func changeFilesAndRelaysLargerThanTheBodyLimitTakeMemoryFlatInTheirSize() throws {
        let members = Int(ProcessInfo.processInfo.environment["CPSYNC_LARGE_FILE_MEMBERS"] ?? "") ?? 3000
        let small = try exchange(members: members, label: "small")
        let large = try exchange(members: 2 * members, label: "large")
        #expect(large.fileBytes - small.fileBytes > 16 * Self.mib, "files of \(small.fileBytes) and \(large.fileBytes) bytes")
        for (process, peak) in large.peaks.sorted(by: { $0.key < $1.key }) {
            let before = small.peaks[process] ?? -1
            print("LargeChangeFileTests: \(process): peak RSS \(before / Self.mib) MiB with files of \(small.fileBytes / Self.mib) MiB, \(peak / Self.mib) MiB with \(large.fileBytes / Self.mib) MiB")
            #expect(before > 0 && peak > 0 && peak < Self.ceiling, "\(process): \(peak) bytes")
            #expect(peak - before < Self.growth, "\(process): \(before) bytes, then \(peak) bytes with files \(large.fileBytes - small.fileBytes) bytes larger")
        }
    }

    /// Export, `cpsyncd import` and `import-changes` of a file of `members` members, then the same again through a
    /// township's relay; the peak RSS of each process (the daemon's: what the relay added) and the files' size.
    func exchange(members: Int, label: String) throws -> (peaks: [String: Int], fileBytes: Int) {
        let s = try ChangeFileTests.Setup("file-large-\(label)")
        defer { s.county.cleanup() }
        var peaks: [String: Int] = [:]
        func check(_ name: String, _ m: (result: RunResult, peakRSS: Int)) {
            #expect(m.result.ok, "\(name): \(m.result.stderr)")
            peaks[name] = m.peakRSS
        }
        try Self.addMembers(s.station, prefix: "m-big", count: members)
        var started = Date()
        func took(_ what: String) {
            print("LargeChangeFileTests: \(label) \(what): \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
            started = Date()
        }

        // By stick: export, import at the county, the reply imported at the station.
        let file = s.path("大文件.cpsync"), reply = s.path("大文件-回执.cpsync")
        check("export-changes", try Self.measured(s.station, ["export-changes", "--to", file]))
        took("export-changes")
        #expect(Self.size(file) > ProtocolLimits.maxBodyBytes, "the changes file is \(Self.size(file)) bytes")
        let imported = try Self.measured(Binaries.cpsyncd, ["import", "--data", s.county.daemon.dataDir, file, "--reply", reply, "--json"])
        check("cpsyncd import", imported)
        took("cpsyncd import")
        #expect(JSONText.int(imported.result.stdout, "applied") ?? 0 >= members, "\(imported.result.stdout)")
        #expect(Self.size(reply) > ProtocolLimits.maxBodyBytes, "the reply is \(Self.size(reply)) bytes")
        check("import-changes", try Self.measured(s.station, ["import-changes", reply]))
        took("import-changes")
        #expect(try ChangeFileTests.pending(s.station) == 0)
        let server = try Database(path: s.county.serverDB)
        #expect(try server.query("SELECT count(*) FROM members WHERE id LIKE 'm-big-%'") == [[.integer(Int64(members))]])

        // By relay: a township with a link forwards a second such file; the county imports it in its daemon.
        try Self.addMembers(s.station, prefix: "m-relay", count: members)
        let file2 = s.path("大文件2.cpsync")
        try s.station.must(["export-changes", "--to", file2])
        #expect(Self.size(file2) > ProtocolLimits.maxBodyBytes)
        let huashan = try s.county.office("huashan")
        try huashan.must(["sync"])
        check("relay-import", try Self.measured(huashan, ["relay-import", file2]))
        #expect(try huashan.query("SELECT length(file) FROM _cp_relay") == [[.integer(0)]], "the file is kept beside the replica, not in it")
        let daemon = try #require(s.county.daemon.process?.processIdentifier)
        let daemonBefore = Self.peakRSS(of: daemon)
        let pushed = try Self.measured(huashan, ["push"])
        check("push (relay)", pushed)
        took("push (relay)")
        #expect(pushed.result.stderr.contains("forwarded 1"), "\(pushed.result.stderr)")
        peaks["cpsyncd serve"] = Self.peakRSS(of: daemon)
        print("LargeChangeFileTests: \(label) cpsyncd serve: peak RSS \(daemonBefore / Self.mib) MiB before the relay")
        #expect(try server.query("SELECT count(*) FROM members WHERE id LIKE 'm-relay-%'") == [[.integer(Int64(members))]])

        let dir = s.path("华山回执")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(JSONText.int(try huashan.must(["relay-replies", "--to", dir, "--json"]).stdout, "written") == 1)
        let replies = try FileManager.default.contentsOfDirectory(atPath: dir)
        try #require(replies.count == 1)
        check("import-changes (relayed)", try Self.measured(s.station, ["import-changes", (dir as NSString).appendingPathComponent(replies[0])]))
        took("import-changes (relayed)")
        #expect(try ChangeFileTests.pending(s.station) == 0)
        #expect(try contentDump(s.station.db) == contentDump(s.county.serverDB, scope: "xiyuan"))
        return (peaks, Self.size(file2))
    }
}
