import CPSyncClient
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// `/metrics`, the JSON log lines and `cpsyncd doctor`, against a real daemon.
@Suite(.serialized) struct ObservabilityTests {
    /// One sample of the Prometheus text format: `name{labels} value`.
    struct Sample: Hashable {
        let name: String
        let labels: [String: String]
    }

    /// A strict parser for the Prometheus text exposition format 0.0.4: every line is `# HELP`, `# TYPE`, a
    /// comment or a well-formed sample; TYPE comes before a family's samples; no series twice; histogram buckets
    /// are cumulative and end at `+Inf` = `_count`.
    static func parse(_ text: String) throws -> [Sample: Double] {
        struct ParseError: Error, CustomStringConvertible { let description: String }
        guard text.hasSuffix("\n") else { throw ParseError(description: "the exposition must end with a newline") }
        var types: [String: String] = [:]
        var seenSamplesOf: Set<String> = []
        var samples: [Sample: Double] = [:]
        let namePattern = #/[a-zA-Z_:][a-zA-Z0-9_:]*/#
        func family(_ name: String) -> String {
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if types[base] == "histogram" || types[base] == "summary" { return base }
            }
            return name
        }
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let line = String(raw)
            func fail(_ why: String) -> ParseError { ParseError(description: "line \(n + 1) '\(line)': \(why)") }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                if parts.count >= 3, parts[1] == "TYPE" {
                    guard parts.count == 4, parts[2].wholeMatch(of: namePattern) != nil,
                          ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else { throw fail("bad TYPE") }
                    guard types[parts[2]] == nil else { throw fail("second TYPE for \(parts[2])") }
                    guard !seenSamplesOf.contains(parts[2]) else { throw fail("TYPE after samples of \(parts[2])") }
                    types[parts[2]] = parts[3]
                } else if parts.count >= 3, parts[1] == "HELP" {
                    guard parts[2].wholeMatch(of: namePattern) != nil else { throw fail("bad HELP") }
                }
                continue
            }
            // name
            var i = line.startIndex
            while i < line.endIndex, line[i].isLetter || line[i].isNumber || line[i] == "_" || line[i] == ":" { i = line.index(after: i) }
            let name = String(line[..<i])
            guard name.wholeMatch(of: namePattern) != nil else { throw fail("bad metric name") }
            // labels
            var labels: [String: String] = [:]
            if i < line.endIndex, line[i] == "{" {
                i = line.index(after: i)
                while true {
                    guard i < line.endIndex else { throw fail("unterminated labels") }
                    if line[i] == "}" { i = line.index(after: i); break }
                    let start = i
                    while i < line.endIndex, line[i] != "=" { i = line.index(after: i) }
                    let label = String(line[start..<i])
                    guard label.wholeMatch(of: #/[a-zA-Z_][a-zA-Z0-9_]*/#) != nil, i < line.endIndex else { throw fail("bad label name '\(label)'") }
                    i = line.index(after: i)
                    guard i < line.endIndex, line[i] == "\"" else { throw fail("label value must be quoted") }
                    i = line.index(after: i)
                    var value = ""
                    while true {
                        guard i < line.endIndex else { throw fail("unterminated label value") }
                        let c = line[i]
                        if c == "\"" { i = line.index(after: i); break }
                        if c == "\\" {
                            i = line.index(after: i)
                            guard i < line.endIndex else { throw fail("dangling escape") }
                            switch line[i] {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: throw fail("bad escape")
                            }
                        } else {
                            value.append(c)
                        }
                        i = line.index(after: i)
                    }
                    guard labels.updateValue(value, forKey: label) == nil else { throw fail("label \(label) twice") }
                    guard i < line.endIndex else { throw fail("unterminated labels") }
                    if line[i] == "," { i = line.index(after: i) } else if line[i] != "}" { throw fail("expected , or }") }
                }
            }
            guard i < line.endIndex, line[i] == " " else { throw fail("expected a space before the value") }
            let rest = line[line.index(after: i)...].split(separator: " ")
            guard rest.count == 1 || (rest.count == 2 && Int64(rest[1]) != nil) else { throw fail("expected value [timestamp]") }
            let value: Double
            switch rest[0] {
            case "+Inf": value = .infinity
            case "-Inf": value = -.infinity
            case "NaN": value = .nan
            default:
                guard let v = Double(rest[0]) else { throw fail("bad value") }
                value = v
            }
            let fam = family(name)
            seenSamplesOf.insert(fam)
            if types[fam] == "counter" && !(value >= 0) { throw fail("negative counter") }
            if types[fam] == "histogram" && name.hasSuffix("_bucket") && labels["le"] == nil { throw fail("bucket without le") }
            guard samples.updateValue(value, forKey: Sample(name: name, labels: labels)) == nil else { throw fail("duplicate series") }
        }
        // Histograms: cumulative buckets, +Inf equals _count.
        for (fam, type) in types where type == "histogram" {
            var series: [[String: String]: [(Double, Double)]] = [:]
            for (s, v) in samples where s.name == fam + "_bucket" {
                var rest = s.labels
                let le = rest.removeValue(forKey: "le")!
                series[rest, default: []].append((le == "+Inf" ? .infinity : Double(le) ?? .nan, v))
            }
            for (labels, buckets) in series {
                let sorted = buckets.sorted { $0.0 < $1.0 }
                guard sorted.last?.0 == .infinity else { throw ParseError(description: "\(fam)\(labels) has no +Inf bucket") }
                for (a, b) in zip(sorted, sorted.dropFirst()) where b.1 < a.1 {
                    throw ParseError(description: "\(fam)\(labels) buckets are not cumulative")
                }
                guard samples[Sample(name: fam + "_count", labels: labels)] == sorted.last!.1,
                      samples[Sample(name: fam + "_sum", labels: labels)] != nil else {
                    throw ParseError(description: "\(fam)\(labels): +Inf bucket differs from _count or _sum is missing")
                }
            }
        }
        return samples
    }

    static func scrape(_ daemon: Daemon) throws -> [Sample: Double] {
        let r = try HTTPTransport(baseURL: daemon.url, token: nil).send("GET", "/metrics")
        #expect(r.status == 200)
        return try parse(String(decoding: r.body, as: UTF8.self))
    }

    @Test func strictParserRejectsMalformedExpositions() {
        #expect(throws: (any Error).self) { try Self.parse("a 1") }
        #expect(throws: (any Error).self) { try Self.parse("a{b=\"1} 1\n") }
        #expect(throws: (any Error).self) { try Self.parse("# TYPE a counter\na -1\n") }
        #expect(throws: (any Error).self) { try Self.parse("a 1\na 2\n") }
        #expect(throws: (any Error).self) { try Self.parse("9a 1\n") }
        #expect(throws: (any Error).self) { try Self.parse("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0\n") }
        #expect((try? Self.parse("# HELP a x\n# TYPE a counter\na{r=\"p\\\"q\"} 1\n"))?.count == 1)
    }

    @Test func metricsParseAndCountersMoveWithTrafficAndEveryLogLineIsJSON() throws {
        let ws = TempDir("metrics")
        defer { ws.cleanup() }
        let daemon = Daemon(dataDir: ws.path("data"))
        defer { daemon.stop() }
        _ = try daemon.addSite("county", name: "某县政协", kind: "county", parent: nil)
        let token = try daemon.addSite("huashan", name: "华山镇政协工委")
        try daemon.start()
        let office = try Office.create("huashan", in: ws, daemon: daemon, token: token)
        try office.must(["sync"])

        let before = try Self.scrape(daemon)
        try office.sql("INSERT INTO members(id, name, sector, site_id) VALUES ('m1', '王芳', '教育', 'huashan')")
        try office.sql("INSERT INTO members(id, name, sector, site_id) VALUES ('m2', '李强', '经济', 'huashan')")
        try office.must(["push"])
        try office.must(["pull"])
        let after = try Self.scrape(daemon)

        func value(_ m: [Sample: Double], _ name: String, _ labels: [String: String] = [:]) -> Double { m[Sample(name: name, labels: labels)] ?? 0 }
        func grew(_ name: String, _ labels: [String: String] = [:], by least: Double = 1) {
            #expect(value(after, name, labels) - value(before, name, labels) >= least, "\(name)\(labels): \(value(before, name, labels)) → \(value(after, name, labels))")
        }
        grew("cpsync_http_requests_total", ["route": "push", "status": "200"])
        grew("cpsync_http_requests_total", ["route": "pull", "status": "200"])
        grew("cpsync_http_request_duration_seconds_count", ["route": "push"])
        grew("cpsync_push_batches_total", ["result": "applied"])
        grew("cpsync_changes_merged_total", by: 2)
        grew("cpsync_pull_pages_total")
        #expect(after[Sample(name: "cpsync_conflicts_open", labels: [:])] == 0)

        // Every stderr line is one JSON object; request lines carry method, path and status; batches are logged.
        usleep(100_000)
        let lines = daemon.log.get().split(separator: "\n").map(String.init)
        var requests: [[String: Any]] = []
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["event"] is String, "not a JSON event line: \(line)")
            if object?["event"] as? String == "request" { requests.append(object!) }
        }
        #expect(requests.contains { $0["method"] as? String == "POST" && $0["path"] as? String == "/v1/push" && $0["status"] as? Int == 200 })
        for r in requests { #expect(r["method"] is String && r["path"] is String && r["status"] is Int, "\(r)") }
        #expect(lines.contains { $0.contains("\"event\":\"push\"") && $0.contains("\"site\":\"huashan\"") })
    }

    @Test func doctorPassesALiveDaemonAndSpeaksChinese() throws {
        let ws = TempDir("doctor")
        defer { ws.cleanup() }
        let daemon = Daemon(dataDir: ws.path("data"))
        defer { daemon.stop() }
        _ = try daemon.addSite("county", name: "某县政协", kind: "county", parent: nil)
        try daemon.start()
        let r = try run(Binaries.cpsyncd, ["doctor", "--data", daemon.dataDir, "--listen", "127.0.0.1:\(daemon.port)"])
        #expect(r.ok, "\(r.stdout)\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines.allSatisfy { $0.hasPrefix("PASS ") || $0.hasPrefix("WARN ") }, "\(r.stdout)")
        #expect(r.stdout.contains("PASS listen: a cpsyncd answers /v1/health"))
        #expect(r.stdout.contains("PASS clock:") && r.stdout.contains("of the daemon at"))
        let zh = try run(Binaries.cpsyncd, ["doctor", "--data", daemon.dataDir, "--listen", "127.0.0.1:\(daemon.port)"], env: ["LANG": "zh_CN.UTF-8"])
        #expect(zh.ok && zh.stdout.contains("PASS 数据目录:") && zh.stdout.contains("完整性正常"), "\(zh.stdout)")
    }

    /// Tests often run as root, for whom mode 0500 does not stop writes. Then doctor runs as `nobody` (setpriv)
    /// on a directory owned by root with mode 0755: the kernel really refuses the write. As any other user the
    /// directory is simply chmod 0500.
    @Test func doctorFailsClearlyOnADataDirectoryItCannotWrite() throws {
        let ws = TempDir("doctor-ro")
        defer {
            chmod(ws.path("data"), 0o700)
            ws.cleanup()
        }
        _ = try run(Binaries.cpsyncd, ["site", "add", "--data", ws.path("data"), "--id", "county", "--name", "县", "--kind", "county"])
        let listen = "127.0.0.1:\(freeLoopbackPort())"
        let result: RunResult
        if geteuid() == 0 {
            let setpriv = try #require(which("setpriv"), "setpriv (util-linux) is missing")
            chmod(ws.url.path, 0o755)
            chmod(ws.path("data"), 0o755)
            result = try run(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", Binaries.cpsyncd,
                                       "doctor", "--data", ws.path("data"), "--listen", listen])
        } else {
            chmod(ws.path("data"), 0o500)
            result = try run(Binaries.cpsyncd, ["doctor", "--data", ws.path("data"), "--listen", listen])
        }
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").contains { $0.hasPrefix("FAIL data dir:") && $0.contains(ws.path("data")) && $0.contains("not writable") },
                "\(result.stdout)")

        // A path that is a regular file fails the same way for everybody.
        _ = FileManager.default.createFile(atPath: ws.path("file"), contents: Data())
        let file = try run(Binaries.cpsyncd, ["doctor", "--data", ws.path("file"), "--listen", listen])
        #expect(file.status == 1)
        #expect(file.stdout.contains("FAIL data dir: \(ws.path("file")) is not a directory"), "\(file.stdout)")
    }
}
