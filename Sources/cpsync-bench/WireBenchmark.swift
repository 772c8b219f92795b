import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation

/// `cpsync-bench wire`: bytes on the wire per change, for each body form (Protocol/README.md §15). N members with
/// Chinese names are pushed from one township office and pulled into a county-kind office through a real `cpsyncd`,
/// once per form; bytes are the request and answer bodies as they travelled (libcurl's counters; HTTP headers, about
/// 250 B per request, are not counted).
enum WireBenchmark {
    static func run(_ argv: [String]) throws {
        var args = try Arguments(argv, flags: ["json"])
        let members = try args.int("members") ?? 2_000
        let json = args.flag("json")
        try args.checkAllConsumed()
        let workspace = try BenchWorkspace("wire")
        defer { workspace.remove() }
        let dir = workspace.dir, daemonPath = workspace.daemonPath
        let data = workspace.data
        func admin(_ a: [String]) throws -> String { try workspace.cpsyncd(a) }
        _ = try admin(["site", "add", "--id", "county", "--name", "县政协", "--kind", "county"])
        let formats: [WireFormat] = [.plain, WireFormat(compact: false, gzip: true), WireFormat(compact: true, gzip: false), .best]
        var tokens: [String] = []
        for (i, _) in formats.enumerated() {
            tokens.append(try admin(["site", "add", "--id", "town-\(i)", "--name", "第\(i)镇", "--kind", "township", "--parent", "county"]))
            tokens.append(try admin(["site", "add", "--id", "hall-\(i)", "--name", "机关\(i)", "--kind", "county", "--parent", "county"]))
        }
        let daemon = try DaemonProcess(path: daemonPath, data: data)
        defer { daemon.stop() }

        var results: [(WireFormat, push: Double, pull: Double, pushed: Int, pulled: Int)] = []
        for (i, format) in formats.enumerated() {
            let town = try OfficeConfig.initialise(path: dir.appendingPathComponent("town-\(i).db").path,
                                                   config: OfficeConfig(server: daemon.url, site: "town-\(i)", token: tokens[2 * i]))
            try town.database.transaction {
                let insert = try town.database.statement(SyncBenchmark.insertSQL("members"))
                for n in 0..<members { try insert.execute(row(n, site: "town-\(i)", office: i)) }
            }
            let pusher = try SyncClient(replica: town)
            pusher.wire = format
            var pushBytes = 0
            pusher.meter = { pushBytes = $0.bytes }
            let pushed = try pusher.push().sent
            // The county-kind office pulls everything so far; only the pages after the previous forms' data count.
            let hall = try OfficeConfig.initialise(path: dir.appendingPathComponent("hall-\(i).db").path,
                                                   config: OfficeConfig(server: daemon.url, site: "hall-\(i)", token: tokens[2 * i + 1]))
            let puller = try SyncClient(replica: hall)
            puller.wire = format
            var pullBytes = 0
            puller.meter = { pullBytes = $0.bytes }
            let pulled = try puller.pull().received
            results.append((format, Double(pushBytes) / Double(max(1, pushed)), Double(pullBytes) / Double(max(1, pulled)), pushed, pulled))
        }
        // The server's cost of gzip on a pull page: compact bytes of the last office's changes, at levels 1 and 6.
        let last = try Replica(path: dir.appendingPathComponent("hall-\(formats.count - 1).db").path, create: false)
        let page = PullResponse(changes: Array(try last.allChanges().prefix(ProtocolLimits.maxPageSize)), cursor: 0, hasMore: false).encodedCompact()
        var gzip: [(Int32, Double, Double)] = []
        for level: Int32 in [1, 6] {
            var packed: [UInt8] = []
            let seconds = BenchData.time { for _ in 0..<5 { packed = Gzip.compress(page, level: level) } } / 5
            gzip.append((level, Double(page.count) / seconds / 1_048_576, Double(packed.count) / Double(page.count)))
        }
        if json {
            let items = results.map { r in
                "{\"format\":\"\(r.0)\",\"pushBytesPerChange\":\(String(format: "%.1f", r.push)),\"pullBytesPerChange\":\(String(format: "%.1f", r.pull)),\"pushed\":\(r.pushed),\"pulled\":\(r.pulled)}"
            }
            Console.out("{\"members\":\(members),\"formats\":[\(items.joined(separator: ","))]}")
        } else {
            Console.out("wire: \(members) members (Chinese names) pushed by a township, pulled by a county-kind office; body bytes per change")
            Console.out(Console.table(header: ["form", "push B/change", "pull B/change", "pushed", "pulled"],
                                   rows: results.map { ["\($0.0)", String(format: "%.1f", $0.push), String(format: "%.1f", $0.pull), "\($0.pushed)", "\($0.pulled)"] }))
            for (level, speed, ratio) in gzip {
                Console.out(String(format: "gzip level %d of a %d-change compact page: %.0f MB/s, %.1f%% of its size", level, ProtocolLimits.maxPageSize, speed, ratio * 100))
            }
        }
    }

    /// A member as an office would hold one: a random UUID key, a Chinese name drawn from common surnames and given
    /// names, a random phone number; seeded, so every run sends the same bytes.
    static func row(_ i: Int, site: String, office: Int) -> [Value] {
        var rng = SplitMix64(seed: UInt64(office * 1_000_003 + i))
        let id = (0..<16).map { _ in String(format: "%02x", rng.next() & 0xff) }.joined()
        let uuid = [id.prefix(8), id.dropFirst(8).prefix(4), "4" + id.dropFirst(13).prefix(3), "8" + id.dropFirst(17).prefix(3), id.dropFirst(20).prefix(12)].joined(separator: "-")
        let given = (0..<(1 + Int(rng.next() % 2))).map { _ in rng.pick(givenNames) }.joined()
        return [.text(uuid), .text(rng.pick(surnames) + given), .text(rng.next() % 2 == 0 ? "男" : "女"), .text(rng.pick(sectors)),
                .text(rng.pick(parties)), .text("第八届"), .text(site), .text("13\(String(format: "%09d", rng.next() % 1_000_000_000))"),
                .text(rng.pick(employers)), .text(rng.pick(positions))]
    }

    static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈").map(String.init)
    static let givenNames = Array("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文玉红云峰志明海燕晓东春梅立新宏斌鹏飞丹凤").map(String.init)
    static let sectors = ["中共", "民革", "民盟", "民建", "民进", "农工党", "致公党", "九三学社", "无党派人士", "共青团", "工会", "妇联", "科技界", "经济界", "农业界", "教育界", "文化艺术界", "医药卫生界", "体育界", "社会福利和社会保障界", "少数民族界", "宗教界"]
    static let parties = ["中共党员", "民革党员", "民盟盟员", "民建会员", "民进会员", "农工党党员", "致公党党员", "九三学社社员", "无党派人士", "群众"]
    static let employers = ["华山镇人民政府", "华山镇中心小学", "县第一中学", "县人民医院", "华山镇卫生院", "县农业农村局", "县教育局", "县工商联", "华山村委会", "县供电公司",
                            "县农商银行", "县融媒体中心", "县文化馆", "县中医院", "县市场监管局", "县住建局", "县水利局", "某某农业合作社", "某某食品有限公司", "某某律师事务所"]
    static let positions = ["主任", "副主任", "校长", "副校长", "教师", "医生", "护士长", "总经理", "董事长", "村支书", "科长", "会计", "律师", "工程师", "个体经营者"]
}

