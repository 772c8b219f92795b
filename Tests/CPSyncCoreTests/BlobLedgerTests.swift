import CPSyncCore
import Foundation
import Testing
import TestSupport

/// What a replica knows of its files' transfers (`_cp_blob_sent`, `_cp_blob_attached`).
@Suite struct BlobLedgerTests {
    static let hash = String(repeating: "ab", count: 32)

    /// The upstream acknowledged a file, the clerk removed its attachment (the upstream may then collect the bytes),
    /// and attaches the same file again: the old acknowledgement no longer counts, so the file is sent (asked about)
    /// again.
    @Test func attachingAFileAgainForgetsItsEarlierAcknowledgement() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let r = try makeReplica(dir, "a")
        try r.noteBlobOwn(Self.hash, table: "proposals", pk: "p1")
        try r.noteBlobSent(Self.hash)
        #expect(try r.blobsSent() == [Self.hash])
        try r.noteBlobOwn(Self.hash, table: "proposals", pk: "p2")
        #expect(try r.blobsSent().isEmpty)
        #expect(try r.blobsOwn() == [Self.hash])
    }
}
