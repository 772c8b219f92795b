/// Protocol v1 constants. See `Protocol/README.md` for the normative text.
public enum ProtocolVersion {
    /// The protocol version this build speaks and sends in every request body / `protocol` query parameter.
    public static let current = 1
    /// The oldest protocol version this build still accepts.
    public static let minimum = 1
    /// Every version this build accepts.
    public static let supported: ClosedRange<Int> = minimum...current
    /// All paths live under this prefix.
    public static let pathPrefix = "/v1"
}

/// Default limits of protocol v1 (the server announces its actual limits in `GET /v1/status`).
public enum ProtocolLimits {
    /// Largest accepted request body: 16 MiB.
    public static let maxBodyBytes = 16 << 20
    /// Most changes in one push.
    public static let maxChangesPerPush = 10_000
    /// Page size of a pull when `limit` is absent.
    public static let defaultPageSize = 2_000
    /// Largest page a pull returns (a larger `limit` is clamped to it).
    public static let maxPageSize = 10_000
    /// Largest accepted distance of a change's HLC wall time ahead of the server clock: 10 minutes.
    public static let maxSkewMs: Int64 = 600_000
}

/// HTTP header names of protocol v1 (besides the standard ones).
public enum ProtocolHeader {
    /// `Authorization: Bearer <token>`.
    public static let authorization = "Authorization"
    /// Set to `true` on a push answer that repeats the stored answer of an already-applied batch. Informational only:
    /// the body is byte-for-byte the first answer.
    public static let replayed = "CPSync-Replayed"
    /// Sent with 503 `unavailable`: seconds to wait before retrying.
    public static let retryAfter = "Retry-After"
    /// Sent with 401 `unauthorized`.
    public static let wwwAuthenticate = "WWW-Authenticate"
    public static let wwwAuthenticateValue = "Bearer realm=\"cpsyncd\""
    /// Media type of every request and response body.
    public static let contentType = "application/json"
}

/// A machine-readable error code (`error.code` in an error body) and its HTTP status.
/// A struct rather than an enum so that codes added by a later server still decode.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// Malformed JSON, missing or invalid field or query parameter.
    public static let badRequest = ErrorCode(rawValue: "bad_request")
    /// A change names a table the server's schema does not know.
    public static let unknownTable = ErrorCode(rawValue: "unknown_table")
    /// A change names a column its table does not have.
    public static let unknownColumn = ErrorCode(rawValue: "unknown_column")
    /// A value's type does not fit its column (or a resolve `value` does not fit the conflict's column).
    public static let wrongType = ErrorCode(rawValue: "wrong_type")
    /// A primary key that is empty, too long or not a valid key text.
    public static let malformedKey = ErrorCode(rawValue: "malformed_key")
    /// A text or blob value larger than its column allows.
    public static let valueTooLarge = ErrorCode(rawValue: "value_too_large")
    /// Missing, unknown or revoked bearer token.
    public static let unauthorized = ErrorCode(rawValue: "unauthorized")
    /// The token is valid but may not do this (site token on admin endpoints, change of another site).
    public static let forbidden = ErrorCode(rawValue: "forbidden")
    /// Unknown path or unknown conflict id.
    public static let notFound = ErrorCode(rawValue: "not_found")
    /// The path exists but not with this method.
    public static let methodNotAllowed = ErrorCode(rawValue: "method_not_allowed")
    /// Resolve of a conflict that is already resolved.
    public static let conflictResolved = ErrorCode(rawValue: "conflict_resolved")
    /// A change's HLC is more than `maxSkewMs` ahead of the server clock.
    public static let clockSkew = ErrorCode(rawValue: "clock_skew")
    /// The office's schema is older than the server's: upgrade cpsync at the office.
    public static let upgradeRequired = ErrorCode(rawValue: "upgrade_required")
    /// The office's schema is newer than the server's: upgrade cpsyncd.
    public static let schemaVersion = ErrorCode(rawValue: "schema_version")
    /// A pull `after` beyond the server's latest sequence (the county database was restored from an older backup).
    public static let cursorAhead = ErrorCode(rawValue: "cursor_ahead")
    /// Body larger than `maxBodyBytes` or more than `maxChangesPerPush` changes.
    public static let payloadTooLarge = ErrorCode(rawValue: "payload_too_large")
    /// The request's protocol version is not supported; the body carries `minProtocol`/`maxProtocol`.
    public static let protocolVersion = ErrorCode(rawValue: "protocol_version")
    /// A value SQLite refuses for its column (a CHECK or NOT NULL rule of the schema); names the table, column and
    /// change index. Nothing was applied.
    public static let constraintViolated = ErrorCode(rawValue: "constraint_violated")
    /// The site already pushed a batch with this id and different changes; nothing was applied.
    public static let batchIdReused = ErrorCode(rawValue: "batch_id_reused")
    /// The county server's disk is full; nothing was applied. Retry once space is freed.
    public static let storageFull = ErrorCode(rawValue: "storage_full")
    /// The county database cannot be written (I/O error, read-only file or file system, damaged file); nothing was
    /// applied. Retry later.
    public static let storageFailed = ErrorCode(rawValue: "storage_failed")
    /// A county's push (to a higher tier) carries a site id another county, or the higher tier itself, already uses
    /// (names the change index): the county's writer, not one row, is refused; nothing was applied. Rename the site.
    public static let siteIDTaken = ErrorCode(rawValue: "site_id_taken")
    /// An attached file larger than the county's per-file limit (413).
    public static let fileTooLarge = ErrorCode(rawValue: "file_too_large")
    /// An attached file would take the site past its storage quota (403).
    public static let quotaExceeded = ErrorCode(rawValue: "quota_exceeded")
    /// A file's bytes do not hash to its name: damaged or tampered on the way; discarded, send it again (422).
    public static let hashMismatch = ErrorCode(rawValue: "hash_mismatch")
    /// A chunk not at the offset where the county's copy ends (409); `received` in the body says where.
    public static let offsetMismatch = ErrorCode(rawValue: "offset_mismatch")
    /// Unexpected server failure; nothing was applied.
    public static let serverError = ErrorCode(rawValue: "server_error")
    /// The server is starting, stopping or overloaded; retry after `Retry-After` seconds.
    public static let unavailable = ErrorCode(rawValue: "unavailable")

    /// Every code of protocol v1, in the order of the README's table.
    public static let all: [ErrorCode] = [
        .badRequest, .unknownTable, .unknownColumn, .wrongType, .malformedKey, .valueTooLarge, .unauthorized,
        .forbidden, .notFound, .methodNotAllowed, .conflictResolved, .clockSkew, .upgradeRequired, .schemaVersion,
        .cursorAhead, .payloadTooLarge, .protocolVersion, .serverError, .unavailable, .constraintViolated,
        .batchIdReused, .storageFull, .storageFailed, .siteIDTaken, .fileTooLarge, .quotaExceeded, .hashMismatch, .offsetMismatch,
    ]

    /// The HTTP status that carries this code (500 for codes this build does not know).
    public var httpStatus: Int {
        switch rawValue {
        case "bad_request", "unknown_table", "unknown_column", "wrong_type", "malformed_key", "value_too_large", "constraint_violated": 400
        case "unauthorized": 401
        case "forbidden", "site_id_taken", "quota_exceeded": 403
        case "not_found": 404
        case "method_not_allowed": 405
        case "conflict_resolved", "clock_skew", "upgrade_required", "schema_version", "cursor_ahead", "batch_id_reused", "offset_mismatch": 409
        case "payload_too_large", "file_too_large": 413
        case "hash_mismatch": 422
        case "protocol_version": 426
        case "unavailable", "storage_failed": 503
        case "storage_full": 507
        default: 500
        }
    }

    /// Whether a client should keep its changes queued and retry the same request later unchanged.
    public var isRetryable: Bool {
        switch rawValue {
        case "clock_skew", "upgrade_required", "schema_version", "server_error", "unavailable", "protocol_version",
             "storage_full", "storage_failed": true
        default: false
        }
    }
}
