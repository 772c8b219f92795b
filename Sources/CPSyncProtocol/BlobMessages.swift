import CPSyncCore

// MARK: - attached files (Protocol/README.md §19)

/// `GET /v1/blobs/{sha256}/state?size=N` and every `PUT` of a chunk answer with how much of a file the county holds.
public struct BlobState: WireMessage, Hashable {
    public var sha256: String
    public var size: Int64
    /// Bytes the county holds: `size` when the file is whole and verified, the partial transfer's length before.
    public var received: Int64

    public init(sha256: String = "", size: Int64 = 0, received: Int64 = 0) {
        self.sha256 = sha256
        self.size = size
        self.received = received
    }

    public var complete: Bool { received == size }

    public static let wire = WireShape(BlobState(), [
        .required("sha256", \.sha256), .required("size", \.size, .nonNegative), .required("received", \.received, .nonNegative),
    ])
}

extension BlobLimits: WireMessage {
    /// `attachments` in `GET /v1/status`: what the county accepts, so that an office refuses what it would refuse.
    public static let wire = WireShape(BlobLimits(), [
        .required("maxFileBytes", \.maxFileBytes, .nonNegative), .required("siteQuotaBytes", \.siteQuotaBytes, .nonNegative),
        .required("allowedTypes", \.allowedTypes, String.wireCodec.array(maxCount: 256)),
    ])
}

/// The protocol's limits on file transfers.
public enum BlobProtocol {
    /// The largest chunk a `PUT` may carry and a ranged `GET` answers with.
    public static let maxChunkBytes = 4 << 20
    /// What the office sends and asks for per request by default: small enough to finish between cuts on a 32 KB/s link.
    public static let defaultChunkBytes = 256 << 10
}

/// One attached file as the admin page lists it (`GET /v1/admin/attachments`).
public struct AttachmentDTO: WireMessage, Hashable {
    public var id = ""
    /// The attachment table, and its label in the reader's language.
    public var table = ""
    public var tableLabel = ""
    /// The record it is attached to: its id and what people call it (a member's name, a proposal's number and title).
    public var record = ""
    public var recordLabel = ""
    public var name = ""
    public var size: Int64 = 0
    public var sha256 = ""
    public var mediaType = ""
    /// The site that attached it, by id and name.
    public var addedBy = ""
    public var addedByName = ""
    public var addedAt = ""
    /// Whether the county holds the bytes (an office may not have sent them yet).
    public var present = false

    public init() {}

    public static let wire = WireShape(AttachmentDTO(), [
        .required("id", \.id), .required("table", \.table), .required("tableLabel", \.tableLabel), .required("record", \.record),
        .required("recordLabel", \.recordLabel), .required("name", \.name), .required("size", \.size, .nonNegative),
        .required("sha256", \.sha256), .required("mediaType", \.mediaType), .required("addedBy", \.addedBy),
        .required("addedByName", \.addedByName), .required("addedAt", \.addedAt), .required("present", \.present),
    ])
}

/// `GET /v1/admin/attachments` answer: `{"attachments":[…]}`, newest first.
public struct AttachmentListResponse: WireMessage, Hashable {
    public var attachments: [AttachmentDTO]
    public init(attachments: [AttachmentDTO]) { self.attachments = attachments }
    public static let wire = WireShape(AttachmentListResponse(attachments: []), [.required("attachments", \.attachments)])
}
