/// A county's limits on attached files: the size of one file, the bytes one site may store, the media types it
/// accepts. The county enforces them on upload (`AttachmentService`); an office checks a file against them (as last
/// learned from the county) when the clerk attaches it, so a file the county would refuse is refused at once.
public struct BlobLimits: Sendable, Equatable, Hashable, Codable {
    public var maxFileBytes: Int64
    public var siteQuotaBytes: Int64
    /// Allowed media types; a type ending in `/*` allows its family (`image/*`).
    public var allowedTypes: [String]

    public static let defaultTypes = [
        "application/pdf", "application/ofd", "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.ms-works",
        "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/plain",
        "image/*", "video/mp4", "audio/*",
    ]

    /// 50 MB per file, 2 GB per site, documents, images, audio and MP4 video.
    public init(maxFileBytes: Int64 = 50 << 20, siteQuotaBytes: Int64 = 2 << 30, allowedTypes: [String] = BlobLimits.defaultTypes) {
        self.maxFileBytes = maxFileBytes
        self.siteQuotaBytes = siteQuotaBytes
        self.allowedTypes = allowedTypes
    }

    public func allows(mediaType: String) -> Bool {
        allowedTypes.contains { $0 == mediaType || ($0.hasSuffix("/*") && mediaType.hasPrefix($0.dropLast())) }
    }
}

/// A file some live row names.
public struct BlobReference: Sendable, Equatable {
    public let hash: String
    public let size: Int64
    /// When the newest row naming it was added (ISO 8601), for the `recent` policy.
    public let addedAt: String
    /// The site that added it.
    public let addedBy: String

    public init(hash: String, size: Int64, addedAt: String, addedBy: String) {
        self.hash = hash
        self.size = size
        self.addedAt = addedAt
        self.addedBy = addedBy
    }
}
