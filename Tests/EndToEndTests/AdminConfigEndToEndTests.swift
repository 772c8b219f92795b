import Foundation
import Testing

/// Admins keep the server and token in a file of mode 0600 (`$CPSYNC_ADMIN_CONFIG`, else
/// `$XDG_CONFIG_HOME/cpsync/admin.conf`, else `~/.config/cpsync/admin.conf`), read by `cpsync conflicts`; a file
/// others may read is refused with the chmod that fixes it; flags win over the file.
@Suite(.serialized) struct AdminConfigEndToEndTests {
    @Test func conflictsReadTheAdminFileRefuseAnOpenOneAndFlagsWin() throws {
        let county = try County("admin-conf", sites: ["huashan"])
        defer { county.cleanup() }
        let token = try county.daemon.addAdmin("zhang")
        let ws = county.ws
        let configDir = ws.path("config/cpsync")
        try FileManager.default.createDirectory(atPath: configDir, withIntermediateDirectories: true)
        let file = configDir + "/admin.conf"
        try Data("# county server\nserver = \(county.daemon.url)\ntoken = \"\(token)\"\n".utf8).write(to: URL(fileURLWithPath: file))
        // HOME and XDG_CONFIG_HOME inside the workspace: the machine's own settings never count here.
        let env = ["HOME": ws.path("home"), "XDG_CONFIG_HOME": ws.path("config"), "LANG": "zh_CN.UTF-8"]

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let open = try run(Binaries.cpsync, ["conflicts", "list"], env: env, cwd: ws.url.path)
        #expect(open.status == 74 && open.stderr.contains("chmod 600 \(file)") && open.stderr.contains("644"), "\(open.stderr)")

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        let ok = try run(Binaries.cpsync, ["conflicts", "list"], env: env, cwd: ws.url.path)
        #expect(ok.ok && ok.stdout.contains("没有冲突"), "\(ok.stdout) \(ok.stderr)")
        #expect(!FileManager.default.fileExists(atPath: ws.path("cpsync.db")), "no office database was created")

        // A flag wins over the file: a wrong --token is refused by the server.
        let flag = try run(Binaries.cpsync, ["conflicts", "list", "--token", "wrong"], env: env, cwd: ws.url.path)
        #expect(flag.status == 77, "\(flag.stdout) \(flag.stderr)")

        // $CPSYNC_ADMIN_CONFIG names another file; one that does not exist is said plainly.
        let other = ws.path("elsewhere.conf")
        try Data("server = \(county.daemon.url)\ntoken = wrong\n".utf8).write(to: URL(fileURLWithPath: other))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: other)
        let named = try run(Binaries.cpsync, ["conflicts", "list"], env: env.merging(["CPSYNC_ADMIN_CONFIG": other]) { $1 }, cwd: ws.url.path)
        #expect(named.status == 77, "the named file's (wrong) token was used: \(named.stderr)")
        let fixed = try run(Binaries.cpsync, ["conflicts", "list", "--token", token], env: env.merging(["CPSYNC_ADMIN_CONFIG": other]) { $1 }, cwd: ws.url.path)
        #expect(fixed.ok, "\(fixed.stderr)")
        let missing = try run(Binaries.cpsync, ["conflicts", "list"], env: env.merging(["CPSYNC_ADMIN_CONFIG": ws.path("none.conf")]) { $1 }, cwd: ws.url.path)
        #expect(missing.status == 74 && missing.stderr.contains("none.conf"), "\(missing.stderr)")

        // A line that is not a setting names its line.
        try Data("server = \(county.daemon.url)\npassword = x\n".utf8).write(to: URL(fileURLWithPath: other))
        let bad = try run(Binaries.cpsync, ["conflicts", "list"], env: env.merging(["CPSYNC_ADMIN_CONFIG": other]) { $1 }, cwd: ws.url.path)
        #expect(bad.status == 64 && bad.stderr.contains("第 2 行"), "\(bad.stderr)")
    }
}
