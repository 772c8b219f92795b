import CPSyncCore
import CPSyncProtocol
import Foundation

/// The golden vectors: the Swift values whose canonical encodings are `Protocol/vectors/*.json`.
/// Regenerate the files with `CPSYNC_WRITE_VECTORS=1 swift test --filter CPSyncProtocolTests.VectorTests`.
enum Vectors {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = root.appendingPathComponent("Protocol/vectors")

    static func hlc(_ ms: Int64, _ counter: Int64 = 0) -> HLC { HLC(milliseconds: ms, counter: counter) }

    /// (name, value) pairs of values.json.
    static let values: [(String, Value)] = [
        ("null", .null),
        ("integer-zero", .integer(0)),
        ("integer-one", .integer(1)),
        ("integer-minus-one", .integer(-1)),
        ("integer-min", .integer(.min)),
        ("integer-max", .integer(.max)),
        ("integer-2^53+1", .integer(9_007_199_254_740_993)),
        ("real-zero", .real(0.0)),
        ("real-negative-zero", .real(-0.0)),
        ("real-half", .real(0.5)),
        ("real-one", .real(1.0)),
        ("real-tenth", .real(0.1)),
        ("real-1e300", .real(1e300)),
        ("real-minus-1e-300", .real(-1e-300)),
        ("real-max", .real(.greatestFiniteMagnitude)),
        ("real-min-subnormal", .real(.leastNonzeroMagnitude)),
        ("real-2^53", .real(9_007_199_254_740_992.0)),
        ("text-empty", .text("")),
        ("text-ascii", .text("hello")),
        ("text-nul", .text("a\u{0}b")),
        ("text-controls", .text("tab\tnewline\ncr\rquote\"backslash\\slash/\u{1}\u{1f}\u{7f}")),
        ("text-chinese", .text("提案")),
        ("text-emoji", .text("😀 👨‍👩‍👧")),
        ("text-looks-like-number", .text("123")),
        ("blob-empty", .blob([])),
        ("blob-one", .blob([0x00])),
        ("blob-two", .blob([0xff, 0xfe])),
        ("blob-three", .blob([0x01, 0x02, 0x03])),
        ("blob-all-bytes", .blob((0...255).map(UInt8.init))),
    ]

    static func encodeValues() -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"values\":[")
        for (i, (name, v)) in values.enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            w.raw("{\"name\":")
            w.string(name)
            w.raw(",\"value\":")
            w.value(v)
            w.byte(UInt8(ascii: "}"))
        }
        w.raw("]}")
        return w.bytes
    }

    static func decodeValues(_ bytes: [UInt8]) throws -> [(String, Value)] {
        let keys = KeyTable(["values"])
        let itemKeys = KeyTable(["name", "value"])
        return try bytes.withUnsafeBytes { buf in
            try JSONReader.read(buf) { (r: inout JSONReader) throws(WireError) -> [(String, Value)] in
                var st = try r.beginObject()
                var out: [(String, Value)] = []
                while let k = try r.nextKey(&st, keys) {
                    guard k == 0 else { try r.skipValue(); continue }
                    out = try r.array(maxCount: 1000) { (r: inout JSONReader) throws(WireError) -> (String, Value) in
                        var st = try r.beginObject()
                        var name = "", value = Value.null
                        while let k = try r.nextKey(&st, itemKeys) {
                            switch k {
                            case 0: name = try r.readString()
                            case 1: value = try r.member("value") { (r: inout JSONReader) throws(WireError) in try r.readValue() }
                            default: try r.skipValue()
                            }
                        }
                        try r.requireMembers(st, itemKeys, 0b11)
                        return (name, value)
                    }
                }
                return out
            }
        }
    }

    static let pk1 = "6f1c2a7e-3b4d-4c5e-9f80-1a2b3c4d5e6f"
    static let pk2 = "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"

    static let changes: [Change] = [
        Change(table: "proposals", pk: pk1, column: nil, value: .null, version: Version(hlc: hlc(1_763_900_000_000), site: "huashan"), causalLength: 1),
        Change(table: "proposals", pk: pk1, column: "title", value: .text("关于改善乡村道路的提案"),
               version: Version(hlc: hlc(1_763_900_000_000, 1), site: "huashan"), causalLength: 1),
        Change(table: "proposals", pk: pk1, column: "number", value: .integer(2025_017),
               version: Version(hlc: hlc(1_763_900_000_000, 2), site: "huashan"), causalLength: 1),
        Change(table: "proposals", pk: pk1, column: "status", value: .text("submitted"),
               version: Version(hlc: hlc(1_763_900_012_345), site: "huashan"), causalLength: 1,
               base: Version(hlc: hlc(1_763_800_000_000, 3), site: "county")),
        Change(table: "proposals", pk: pk1, column: "budget", value: .real(12500.5),
               version: Version(hlc: hlc(1_763_900_012_345, 1), site: "huashan"), causalLength: 1),
        Change(table: "attachments", pk: pk2, column: "content", value: .blob([0x25, 0x50, 0x44, 0x46, 0x00, 0xff]),
               version: Version(hlc: hlc(1_763_900_020_000), site: "huashan"), causalLength: 1),
        Change(table: "attachments", pk: pk2, column: "caption", value: .null,
               version: Version(hlc: hlc(1_763_900_020_000, 1), site: "huashan"), causalLength: 1),
        Change(table: "members", pk: "a5d3e1f0-1111-4222-8333-944455556666", column: nil, value: .null,
               version: Version(hlc: hlc(1_763_900_030_000), site: "huashan"), causalLength: 2,
               base: Version(hlc: hlc(1_763_700_000_000), site: "county")),
    ]

    static let pushRequest = PushRequest(schemaVersion: 3, batchId: "5b2e8f3a-9c1d-4e7f-a0b2-c3d4e5f60718", site: "huashan", changes: changes)

    static let pullPage = PullResponse(changes: [
        Change(table: "proposals", pk: pk1, column: "title", value: .text("关于改善乡村道路的提案（修订）"),
               version: Version(hlc: hlc(1_763_900_100_000), site: "county"), causalLength: 1,
               base: Version(hlc: hlc(1_763_900_000_000, 1), site: "huashan")),
        Change(table: "proposals", pk: pk2, column: nil, value: .null,
               version: Version(hlc: hlc(1_763_900_200_000, 7), site: "xiyuan"), causalLength: 1),
        Change(table: "proposals", pk: pk2, column: "number", value: .integer(-42),
               version: Version(hlc: hlc(1_763_900_200_000, 8), site: "xiyuan"), causalLength: 1),
    ], cursor: 1_042, hasMore: true)

    /// The pull page of `pull-page.json` with the county's `head`, plus a re-inserted row (causal length 3) whose
    /// knowledge cell keeps the causal length of the death (2): the compact vector shows a cell's own `cl`.
    static var compactPullPage: PullResponse {
        var p = pullPage
        p.head = 1_100
        p.changes += [
            Change(table: "members", pk: "a5d3e1f0-1111-4222-8333-944455556666", column: nil, value: .null,
                   version: Version(hlc: hlc(1_763_900_250_000), site: "huashan"), causalLength: 3),
            Change(table: "members", pk: "a5d3e1f0-1111-4222-8333-944455556666", column: "name", value: .null,
                   version: Version(hlc: hlc(1_763_800_000_000, 2), site: "county"), causalLength: 2),
        ]
        return p
    }

    static let pushResponse = PushResponse(batchId: "5b2e8f3a-9c1d-4e7f-a0b2-c3d4e5f60718", applied: 6, alreadyKnown: 1, superseded: 0,
                                           conflicts: 1, serverSeq: 1_050)

    static let status: StatusResponse = {
        var s = StatusResponse(schemaVersion: 3, serverTime: 1_763_900_300_000)
        s.attachments = BlobLimits()
        return s
    }()
    static let blobState = BlobState(sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", size: 2_000_000, received: 786_432)

    static let errors: [ErrorBody] = [
        ErrorBody(code: .badRequest, message: "malformed request: changes[3].val: expected a value: null, a string, {\"i\":\"<decimal>\"}, {\"f\":<number>} or {\"b\":\"<base64>\"}, found a number (at byte 512)"),
        ErrorBody(code: .unknownTable, message: "changes[0]: unknown table \"proposal\"", table: "proposal", index: 0),
        ErrorBody(code: .unknownColumn, message: "changes[2]: table proposals has no column \"titel\"", table: "proposals", column: "titel", index: 2),
        ErrorBody(code: .wrongType, message: "changes[5]: column proposals.number holds integer, got text", table: "proposals", column: "number", index: 5),
        ErrorBody(code: .malformedKey, message: "changes[1]: primary key \"\" of table proposals is empty", table: "proposals", index: 1),
        ErrorBody(code: .valueTooLarge, message: "changes[4]: attachments.content is 20971520 bytes, the limit is 8388608", table: "attachments", column: "content", index: 4),
        ErrorBody(code: .unauthorized, message: "missing or unknown bearer token"),
        ErrorBody(code: .forbidden, message: "changes[0] is from site xiyuan but the token belongs to site huashan", site: "xiyuan", index: 0),
        ErrorBody(code: .notFound, message: "no conflict with id 99"),
        ErrorBody(code: .methodNotAllowed, message: "GET is not allowed on /v1/push"),
        ErrorBody(code: .conflictResolved, message: "conflict 17 was already resolved by zhang at 2025-11-23T12:00:00Z"),
        .clockSkew(site: "huashan", skewMs: 3_723_000),
        .upgradeRequired(serverSchema: 4),
        .schemaVersion(serverSchema: 3, officeSchema: 4),
        ErrorBody(code: .cursorAhead, message: "cursor 5000 is beyond the server's latest change 1050; pull again from 0"),
        ErrorBody(code: .payloadTooLarge, message: "12000 changes in one push; the limit is 10000"),
        .protocolVersion(2),
        ErrorBody(code: .serverError, message: "internal error; nothing was applied"),
        ErrorBody(code: .unavailable, message: "the server is shutting down; retry later"),
        ErrorBody(code: .constraintViolated,
                  message: "changes[2]: members.gender does not accept this value (CHECK constraint failed: gender IN ('', '男', '女')); nothing was applied",
                  table: "members", column: "gender", index: 2),
        ErrorBody(code: .batchIdReused,
                  message: "site huashan already pushed batch 5b2e8f3a with different changes; send these under a new batch id; nothing was applied",
                  site: "huashan"),
        ErrorBody(code: .storageFull, message: "the county server's disk is full (database or disk is full); free space on it, then sync again; nothing was applied"),
        ErrorBody(code: .storageFailed, message: "the county database cannot be written (disk I/O error); nothing was applied"),
        ErrorBody(code: .siteIDTaken, message: "change 3 carries site id 'huashan' (the writer of the change), which county '330103' already uses here; site ids must be unique across the counties of this tier (qualify them with the 6-digit division code, e.g. '330102-huashan'); nothing was applied", site: "huashan", index: 3),
        ErrorBody(code: .fileTooLarge, message: "the file is 73400320 bytes; this county accepts attached files up to 52428800 bytes; nothing was stored"),
        ErrorBody(code: .quotaExceeded, message: "site huashan stores 2147000000 bytes of attachments; this file (1048576 bytes) would pass its quota of 2147483648 bytes; nothing was stored"),
        ErrorBody(code: .hashMismatch, message: "the bytes received hash to 5d41402abc4b2a76b9719d911017c592ae3d8b4e5fa9a6e4b8a0e8f3b0c7d1a2, not to 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824; the partial file was discarded: send it again from the start"),
        ErrorBody(code: .offsetMismatch, message: "the county holds 262144 bytes of this file; send from offset 262144"),
    ]

    static func encodeErrors() -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"errors\":[")
        for (i, e) in errors.enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            w.raw("{\"status\":")
            w.int(e.httpStatus)
            w.raw(",\"body\":")
            e.encode(to: &w)
            w.byte(UInt8(ascii: "}"))
        }
        w.raw("]}")
        return w.bytes
    }

    static func decodeErrors(_ bytes: [UInt8]) throws -> [(Int, ErrorBody)] {
        let keys = KeyTable(["errors"])
        let itemKeys = KeyTable(["status", "body"])
        return try bytes.withUnsafeBytes { buf in
            try JSONReader.read(buf) { (r: inout JSONReader) throws(WireError) -> [(Int, ErrorBody)] in
                var st = try r.beginObject()
                var out: [(Int, ErrorBody)] = []
                while let k = try r.nextKey(&st, keys) {
                    guard k == 0 else { try r.skipValue(); continue }
                    out = try r.array(maxCount: 1000) { (r: inout JSONReader) throws(WireError) -> (Int, ErrorBody) in
                        var st = try r.beginObject()
                        var status = 0
                        var body = ErrorBody(code: .serverError, message: "")
                        while let k = try r.nextKey(&st, itemKeys) {
                            switch k {
                            case 0: status = Int(try r.readInt(in: 100...599))
                            case 1: body = try r.member("body") { (r: inout JSONReader) throws(WireError) in try ErrorBody.read(from: &r) }
                            default: try r.skipValue()
                            }
                        }
                        try r.requireMembers(st, itemKeys, 0b11)
                        return (status, body)
                    }
                }
                return out
            }
        }
    }

    static let conflicts = ConflictListResponse(conflicts: [
        ConflictDTO(id: "17", table: "proposals", tableLabel: "提案", column: "title", columnLabel: "标题", pk: pk1,
                    rowLabel: "2025-017 关于改善乡村道路的提案",
                    winner: ConflictSideDTO(value: .text("关于改善乡村道路的提案（修订）"), version: Version(hlc: hlc(1_763_900_100_000), site: "xiyuan"), siteName: "西苑乡"),
                    other: ConflictSideDTO(value: .text("关于改善乡村道路的建议"), version: Version(hlc: hlc(1_763_900_050_000, 2), site: "huashan"), siteName: "华山镇"),
                    detectedAt: 1_763_900_300_123, status: .open, resolution: nil),
        ConflictDTO(id: "18", table: "proposals", tableLabel: "提案", column: "number", columnLabel: "编号", pk: pk2,
                    rowLabel: pk2,
                    winner: ConflictSideDTO(value: .integer(2025_018), version: Version(hlc: hlc(1_763_900_200_000), site: "xiyuan"), siteName: "西苑乡"),
                    other: ConflictSideDTO(value: .integer(2025_019), version: Version(hlc: hlc(1_763_900_150_000), site: "huashan"), siteName: "华山镇"),
                    detectedAt: 1_763_900_300_456, status: .resolved,
                    resolution: ResolutionDTO(action: .set, value: .integer(2025_020), before: .integer(2025_018), by: "zhang",
                                              at: 1_763_990_000_000, note: "两镇编号重复，改为 2025-020")),
    ])

    static let resolveRequests: [ResolveRequest] = [
        ResolveRequest(action: .keep),
        ResolveRequest(action: .takeOther, note: "华山镇的标题更准确"),
        ResolveRequest(action: .set, value: .text("关于改善乡村道路的提案"), note: nil),
    ]

    static let audit = AuditListResponse(entries: [
        AuditEntryDTO(id: "1", at: 1_763_800_000_000, by: "zhang", action: "site-add", note: "huashan 华山镇"),
        AuditEntryDTO(id: "2", at: 1_763_990_000_000, by: "zhang", action: "resolve", conflictId: "18", table: "proposals", column: "number",
                      pk: pk2, before: .integer(2025_018), after: .integer(2025_020), note: "两镇编号重复，改为 2025-020",
                      tableLabel: "提案", columnLabel: "案号", rowLabel: "2025-020 关于加强农村饮水安全的提案"),
    ])

    static let adminSites = SiteListResponse(serverTime: 1_763_990_100_000, head: 1042, sites: [
        SiteStatusDTO(id: "county", name: "某县政协", kind: "county", parent: nil, depth: 0, token: "active", createdAt: 1_763_800_000_000,
                      lastPushAt: 1_763_990_000_000, lastPushChanges: 12, lastPullAt: 1_763_990_001_000, pullCursor: 1042),
        SiteStatusDTO(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county", depth: 1, token: "active",
                      createdAt: 1_763_800_000_000, lastPushAt: 1_763_980_000_000, lastPushChanges: 3, lastPullAt: 1_763_980_001_000,
                      pullCursor: 1001, pending: 7, reportedUnsent: 0, clockRefusedAt: 1_763_985_000_000, clockSkewMs: 3_600_000,
                      clockAhead: true),
        SiteStatusDTO(id: "xiyuan", name: "西苑社区联络站", kind: "station", parent: "huashan", depth: 2, token: "active",
                      createdAt: 1_763_800_000_000, lastPushAt: 1_763_970_000_000, lastPushChanges: nil, lastPullAt: 1_763_970_001_000,
                      pullCursor: 998, pending: 500, pendingMore: true, refusedAt: 1_763_970_000_500, refusedChanges: 2,
                      refusedCode: "wrong_type", refusedReason: "change 3: proposals.year must be an integer, found a real; nothing was applied",
                      refusals: 1),
        SiteStatusDTO(id: "dongling", name: "东岭街道委员工作室", kind: "street", parent: "county", depth: 1, token: "unused",
                      createdAt: 1_763_800_000_000, pending: 9),
        SiteStatusDTO(id: "taohe", name: "桃河社区联络站", kind: "station", parent: "county", depth: 1, token: "revoked",
                      createdAt: 1_763_800_000_000, lastPushAt: 1_763_900_000_000, lastPushChanges: 1, lastPullAt: 1_763_900_001_000,
                      pullCursor: 700, pending: 20),
    ], admins: [AdminAccountDTO(name: "zhang", createdAt: 1_763_800_000_000, revoked: false),
                AdminAccountDTO(name: "张三", createdAt: 1_763_810_000_000, revoked: true)])

    static let accountsAudit = AccountAuditResponse(entries: [
        AccountEventDTO(id: "1", at: 1_763_800_000_000, actor: "cli:wangli", action: "site-add", subject: "huashan",
                        detail: "kind=township parent=county name=华山镇政协工委 token=3f2a9c1e"),
        AccountEventDTO(id: "2", at: 1_763_850_000_000, actor: "cli:wangli", action: "site-move", subject: "taohe",
                        detail: "from=huashan to=chengguan"),
        AccountEventDTO(id: "3", at: 1_763_990_000_000, actor: "cli:root", action: "admin-revoke", subject: "张三", detail: ""),
    ])

    static let adminToken = AdminTokenResponse(admin: AdminAccountDTO(name: "李科长", createdAt: 1_763_995_000_000, revoked: false),
                                               token: "VRpATTChNLYZVrwjR2K-5VgxPkmbgt534zC22uYU3-0")

    /// file name → canonical bytes (without the file's final newline).
    static func files() -> [(String, [UInt8])] {
        var resolve = JSONWriter()
        resolve.raw("{\"requests\":")
        ResolveRequest.wireCodec.array().write(resolveRequests, &resolve)
        resolve.byte(UInt8(ascii: "}"))
        return [
            ("values.json", encodeValues()),
            ("changeset.json", pushRequest.encoded()),
            ("pull-page.json", pullPage.encoded()),
            ("push-response.json", pushResponse.encoded()),
            ("status.json", status.encoded()),
            ("blob-state.json", blobState.encoded()),
            ("health.json", HealthResponse().encoded()),
            ("errors.json", encodeErrors()),
            ("conflict.json", conflicts.encoded()),
            ("resolve-requests.json", resolve.bytes),
            ("audit.json", audit.encoded()),
            ("accounts-audit.json", accountsAudit.encoded()),
            ("admin-sites.json", adminSites.encoded()),
            ("admin-token.json", adminToken.encoded()),
            ("compact-changeset.json", pushRequest.encodedCompact()),
            ("compact-pull-page.json", compactPullPage.encodedCompact()),
        ]
    }

    static func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// A vector file is the canonical bytes plus exactly one final newline.
    static func stripNewline(_ bytes: [UInt8]) -> [UInt8] {
        bytes.last == 0x0a ? Array(bytes.dropLast()) : bytes
    }
}
