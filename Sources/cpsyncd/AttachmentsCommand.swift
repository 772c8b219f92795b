import CPSyncCLI
import CPSyncCore
import CPSyncServer
import Foundation

/// `cpsyncd serve --attachment-max-mb N --attachment-quota-mb N --attachment-types LIST`: the county's limits on
/// attached files, announced to offices in `GET /v1/status` and enforced on upload.
enum AttachmentOptions {
    static let defaults = BlobLimits()

    static func limits(_ args: inout Arguments) throws -> BlobLimits { try given(&args)(defaults) }

    /// The limits the options give, each over `base`'s (what `serve` last ran with, for `import`).
    static func given(_ args: inout Arguments) throws -> @Sendable (BlobLimits) -> BlobLimits {
        var maxFile: Int64?, quota: Int64?, types: [String]?
        if let mb = try args.int("attachment-max-mb") {
            guard mb > 0 else { throw UsageError.invalidValue(option: "attachment-max-mb", value: String(mb), expected: L10n.pick(en: "a positive number of megabytes", zh: "正整数（MB）")) }
            maxFile = Int64(mb) << 20
        }
        if let mb = try args.int("attachment-quota-mb") {
            guard mb > 0 else { throw UsageError.invalidValue(option: "attachment-quota-mb", value: String(mb), expected: L10n.pick(en: "a positive number of megabytes", zh: "正整数（MB）")) }
            quota = Int64(mb) << 20
        }
        if let text = args.option("attachment-types") {
            let list = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !list.isEmpty, list.allSatisfy({ $0.contains("/") }) else {
                throw UsageError.invalidValue(option: "attachment-types", value: text,
                                              expected: L10n.pick(en: "media types separated by commas, e.g. application/pdf,image/*", zh: "用逗号分隔的文件类型，如 application/pdf,image/*"))
            }
            types = list
        }
        let (f, q, t) = (maxFile, quota, types)
        return { base in
            var limits = base
            if let f { limits.maxFileBytes = f }
            if let q { limits.siteQuotaBytes = q }
            if let t { limits.allowedTypes = t }
            return limits
        }
    }
}

/// `cpsyncd attachments gc [--grace-days N] [--json]`: removes the bytes of files no live attachment row has named
/// for N days (default 90): the documented rule that never drops a file some office still needs (Protocol §19.5).
///
/// `CPSYNC_TEST_GC_GRACE_DAYS=N` (a test hook, as `CPSYNC_FILE_KEEP_SECONDS` is the office's): the grace period when
/// `--grace-days` is not given, and it may be 0 — a test history collects at once what no row names, to show that
/// nothing an office still needs goes with it. An administrator's `--grace-days` stays at least 1.
enum AttachmentsCommand {
    static let testGraceVariable = "CPSYNC_TEST_GC_GRACE_DAYS"

    static func run(_ argv: [String]) throws -> Int32 {
        guard argv.first == "gc" else { throw UsageError.unknownCommand("attachments \(argv.first ?? "")") }
        var args = try Arguments(Array(argv.dropFirst()), flags: ["json"])
        let given = try args.int("grace-days")
        let hook = ProcessInfo.processInfo.environment[testGraceVariable].flatMap(Int.init).flatMap { $0 >= 0 ? $0 : nil }
        let grace = given ?? hook ?? 90
        let json = args.flag("json")
        let store = try DataOption.open(&args)
        try args.checkAllConsumed()
        guard grace >= 1 || (given == nil && hook != nil) else {
            throw UsageError.invalidValue(option: "grace-days", value: String(grace), expected: L10n.pick(en: "at least 1", zh: "不小于 1"))
        }
        let service = AttachmentService(store: store, log: EventLog(enabled: false), metrics: Metrics())
        let result = try service.collect(graceDays: grace)
        if json { Console.out(try JSONOutput.encode(result)); return 0 }
        Console.out(L10n.pick(en: "attachments: \(result.kept) files kept (named by a record), \(result.unreferenced) unnamed for less than \(grace) days (kept), \(result.removed) removed (\(result.removedBytes) bytes)",
                              zh: "附件：保留 \(result.kept) 个（有记录引用），\(result.unreferenced) 个无引用但未满 \(grace) 天（保留），删除 \(result.removed) 个（\(result.removedBytes) 字节）"))
        return 0
    }
}
