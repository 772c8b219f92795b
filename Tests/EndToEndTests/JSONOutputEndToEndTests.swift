import Foundation
import Testing

/// `--json` through the real binaries: snake_case keys everywhere, empty fields present as null, and errors as one
/// JSON object on stderr (nothing on stdout) with the same exit code as without --json.
@Suite(.serialized) struct JSONOutputEndToEndTests {
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    static func error(_ r: RunResult) throws -> [String: Any] {
        #expect(r.stdout.isEmpty, "stdout: \(r.stdout)")
        return try #require(try object(r.stderr)["error"] as? [String: Any])
    }

    @Test func recordsStatusAndErrorsInOneStyle() throws {
        let county = try County("json", sites: ["huashan"])
        defer { county.cleanup() }
        let office = try county.office("huashan")
        let admin = try county.daemon.addAdmin("zhang")

        // A member with no phone and a proposal not merged: the empty fields are there, as null or "".
        let m = try Self.object(try office.verb(["member", "add", "--name", "王芳", "--json"]).stdout)
        #expect(m.keys.sorted() == ["employer", "gender", "id", "name", "party", "phone", "position", "sector", "site_id", "term"])
        let p = try Self.object(try office.verb(["proposal", "add", "--title", "关于乡村公路的提案", "--proposer", "王芳", "--year", "2026", "--json"]).stdout)
        for key in ["merged_into", "converted_to", "filed_on", "closed_on"] { #expect(p[key] is NSNull, "\(key): \(p)") }

        let status = try Self.object(try office.cpsync(["status", "--json"]).stdout)
        for key in ["pull_cursor", "last_push", "last_pull", "skew_ms", "server_error", "held", "pending"] { #expect(status.keys.contains(key), "\(key): \(status)") }
        #expect(!status.keys.contains { $0.contains { $0.isUppercase } })
        let push = try Self.object(try office.must(["push", "--json"]).stdout)
        #expect(push["already_known"] != nil, "\(push)")

        // Errors: one object on stderr, same exit codes.
        let usage = try office.tryVerb(["member", "add", "--json"])
        let u = try Self.error(usage)
        #expect(usage.status == 64 && u["code"] as? String == "usage_error" && (u["message"] as? String)?.contains("--name") == true, "\(usage.stderr)")
        let missing = try office.tryVerb(["member", "show", "查无此人", "--json"], env: ["LANG": "zh_CN.UTF-8"])
        let e = try Self.error(missing)
        #expect(missing.status == 65 && e["code"] as? String == "data_error" && (e["message"] as? String)?.contains("查无此人") == true, "\(missing.stderr)")
        let refused = try run(Binaries.cpsync, ["conflicts", "list", "--json", "--server", county.daemon.url, "--token", "wrong"], env: ["LANG": "zh_CN.UTF-8"])
        let r = try Self.error(refused)
        #expect(refused.status == 77 && r["code"] as? String == "unauthorized" && r["status"] as? Int == 401
                && (r["message"] as? String)?.contains("服务器拒绝了令牌") == true, "\(refused.stderr)")
        let list = try run(Binaries.cpsync, ["conflicts", "list", "--json", "--server", county.daemon.url, "--token", admin])
        let conflicts = try Self.object(list.stdout)["conflicts"] as? [Any]
        #expect(list.ok && conflicts?.isEmpty == true, "\(list.stdout) \(list.stderr)")
    }
}

/// The protocol's wire JSON back from what `cpsync conflicts … --json` prints (its keys in snake_case): the CLI
/// output is exactly the server's message with its keys renamed, so it still decodes with the protocol's types.
func wireJSON(_ cliOutput: String) -> [UInt8] {
    var out = String.UnicodeScalarView()
    let s = Array(cliOutput.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars)
    var i = 0
    while i < s.count {
        guard s[i] == "\"" else { out.append(s[i]); i += 1; continue }
        var j = i + 1
        while j < s.count && s[j] != "\"" { j += s[j] == "\\" ? 2 : 1 }
        var k = j + 1
        while k < s.count && s[k] == " " { k += 1 }
        let isKey = k < s.count && s[k] == ":"
        var upper = false
        out.append("\"")
        for u in s[(i + 1)..<j] {
            if isKey && u == "_" { upper = true; continue }
            if upper { out.append(contentsOf: String(u).uppercased().unicodeScalars); upper = false } else { out.append(u) }
        }
        out.append("\"")
        i = j + 1
    }
    return Array(String(out).utf8)
}
