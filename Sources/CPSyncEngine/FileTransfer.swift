import CPSyncCore
import CPSyncProtocol
import Foundation

/// An upstream that also moves attached files' bytes (Protocol/README.md §19): the county over HTTP, or a changes
/// file carried by hand (its companion directory).
public protocol FileUpstream: Upstream {
    /// How many bytes of the file the upstream holds (`size` when it has it whole).
    func fileState(_ hash: String, size: Int64) throws -> Int64
    /// Sends `length` bytes of the file from `offset`, read from the file at `path` as they go; returns the bytes the
    /// upstream holds after it (a cut may leave part of them there).
    func sendFile(_ hash: String, size: Int64, offset: Int64, length: Int, from path: String) throws -> Int64
    /// Up to `length` bytes of the file from `offset`, handed to `receive` as they arrive (never whole in memory);
    /// returns how many. After a failure, the bytes handed over before it are kept (the next request starts after
    /// them); an error `receive` throws is thrown as it is.
    func fetchFile(_ hash: String, size: Int64, offset: Int64, length: Int, into receive: (UnsafeRawBufferPointer) throws -> Void) throws -> Int
}

/// Moves the bytes of attached files between a replica's `BlobStore` and its upstream, after the rows that name
/// them went (push) or came (pull) through the loops: files resume where the other side's copy ends (a cut link, a
/// killed process, another day), go in chunks small enough for a poor link, are never whole in memory, and are
/// verified by their SHA-256 before they are kept (`BlobStore`). A file the upstream refuses (too large, over the
/// site's quota) is noted with the reason and not sent again until the reason can change; the rows are never held
/// back for it. Which files to move is the caller's (`BlobReference`s of its domain).
public final class FileTransfer {
    let store: BlobStore
    let upstream: any FileUpstream
    let access: any ReplicaAccess
    /// Bytes per request: 256 KiB to start, doubled while a chunk takes under a quarter of a second (a fast link: up
    /// to the protocol's 4 MiB, where a request's round trip is small beside its bytes), halved when one takes over
    /// 4 s (a poor link: down to 64 KiB), so a cut loses little either way.
    public var chunkBytes = BlobProtocol.defaultChunkBytes
    static let chunkRange = (64 << 10)...BlobProtocol.maxChunkBytes

    /// Adapts `chunkBytes` to how long a chunk of `bytes` took.
    func pace(_ bytes: Int, seconds: Double) {
        guard bytes >= chunkBytes / 2 else { return }
        if seconds < 0.25 { chunkBytes = min(Self.chunkRange.upperBound, chunkBytes * 2) }
        else if seconds > 4 { chunkBytes = max(Self.chunkRange.lowerBound, chunkBytes / 2) }
    }
    /// Link failures in a row (no byte moved between them) before the transfer gives up for this run.
    public var maxFailuresInARow = 4
    /// Called after every chunk: (hash, bytes of the file held on the receiving side, its size).
    public var progress: ((String, Int64, Int64) -> Void)?

    public struct Summary: Sendable, Equatable, Encodable {
        public var sentFiles = 0
        public var sentBytes: Int64 = 0
        public var fetchedFiles = 0
        public var fetchedBytes: Int64 = 0
        /// Files this side could not send (a refusal); the reason is kept in the replica (`blobRefusals`).
        public var refused = 0
        /// Files the upstream does not have for this replica yet (another office has not sent them).
        public var unavailable = 0
        /// Files deleted here because nothing here names them any more (and the county has them).
        public var forgotten = 0
        public init() {}
    }

    public init(store: BlobStore, upstream: any FileUpstream, access: any ReplicaAccess) {
        self.store = store
        self.upstream = upstream
        self.access = access
    }

    // MARK: Sending

    /// Sends every file of `files` that this replica holds and has not had acknowledged. A link failure that outlasts
    /// `maxFailuresInARow` is thrown (the rest waits for the next run, each file resuming where it stopped).
    public func send(_ files: [BlobReference], summary: inout Summary) throws {
        let sent = try access.with { try $0.blobsSent() }
        for file in files where !sent.contains(file.hash) && store.has(file.hash) {
            do {
                let moved = try sendOne(file)
                try access.with { try $0.noteBlobSent(file.hash) }
                summary.sentFiles += 1
                summary.sentBytes += moved
            } catch let error {
                // The file itself refused (too large, over the quota): noted, the others go on. Anything else (the
                // token, the link, the server) is the whole transfer's, and stops it with everything still to send.
                guard let refusal = upstream.refusal(in: error), Self.refusesTheFile.contains(refusal.body.code) else { throw error }
                try access.with { try $0.noteBlobRefused(file.hash, code: refusal.body.code.rawValue, message: refusal.body.message) }
                summary.refused += 1
            }
        }
    }

    /// The refusals of a chunk after which the file goes on from where the upstream's copy ends.
    static let resumable: Set<ErrorCode> = [.offsetMismatch, .hashMismatch, .unavailable]
    /// How long to wait after the upstream said another upload of the file is writing it.
    public var busyWaitSeconds = 1.0

    /// The refusals that concern one file, not the sender.
    static let refusesTheFile: Set<ErrorCode> = [.fileTooLarge, .quotaExceeded]

    /// Sends one file from where the upstream's copy ends; returns the bytes that travelled.
    public func sendOne(_ file: BlobReference) throws -> Int64 {
        var offset = try retrying { try upstream.fileState(file.hash, size: file.size) }
        var moved: Int64 = 0
        var restarts = 0
        while offset < file.size {
            // The chunk is read from the stored file as it is sent (never copied into memory first).
            guard let stored = BlobStore.regularFileSize(store.path(file.hash)), stored == file.size else { throw BlobError.missing(file.hash) }
            let length = Int(min(Int64(chunkBytes), file.size - offset))
            do {
                let at = offset
                let started = ProcessInfo.processInfo.systemUptime
                // A chunk whose answer was lost is sent again; if it had arrived, the upstream says where it is (409).
                offset = try retrying { try upstream.sendFile(file.hash, size: file.size, offset: at, length: length, from: store.path(file.hash)) }
                pace(length, seconds: ProcessInfo.processInfo.systemUptime - started)
                moved += Int64(length)
            } catch let error {
                // Out of step (a chunk of an earlier attempt arrived after all, or part of it: the upstream keeps
                // what came of a cut chunk): continue where the upstream is.
                // Damaged on the way: the upstream discarded its copy; start once more from nothing.
                // Busy: another upload of the file is writing it (this one's own, cut a moment ago): wait a little.
                // Three times in a row without progress is a fault, not a cut: it stops.
                guard let r = upstream.refusal(in: error), Self.resumable.contains(r.body.code) && restarts < 3 else { throw error }
                if r.body.code == .unavailable { Thread.sleep(forTimeInterval: busyWaitSeconds) }
                let before = offset
                offset = try retrying { try upstream.fileState(file.hash, size: file.size) }
                restarts = offset > before ? 0 : restarts + 1
            }
            progress?(file.hash, offset, file.size)
        }
        return moved
    }

    // MARK: Fetching

    /// Fetches every file of `files` this replica lacks, each resuming from its partial copy. A file the upstream
    /// does not have (yet) for this replica is counted `unavailable`; a file whose bytes do not match its hash is
    /// discarded and fetched again from nothing (up to twice), else `BlobError.hashMismatch` is thrown.
    public func fetch(_ files: [BlobReference], summary: inout Summary) throws {
        for file in files where !store.has(file.hash) {
            do {
                summary.fetchedBytes += try fetchOne(file)
                summary.fetchedFiles += 1
            } catch let error {
                guard let r = upstream.refusal(in: error), r.status == 404 else { throw error }
                if store.received(file.hash) == 0 { store.discardPartial(file.hash) }
                summary.unavailable += 1
            }
        }
    }

    /// Fetches one file into its partial copy, its bytes written (and hashed) as they arrive, from where the copy
    /// ends; returns the bytes that travelled. The running hash is saved when the transfer stops short (`Partial`
    /// saves it as it closes): a process killed midway leaves none, and the next run reads its partial copy again.
    func fetchOne(_ file: BlobReference) throws -> Int64 {
        var moved: Int64 = 0
        var attempts = 0
        while true {
            do {
                guard let partial = try store.partial(file.hash, size: file.size) else { return moved }
                while partial.length < file.size {
                    let started = ProcessInfo.processInfo.systemUptime
                    // A link cut midway keeps the bytes that came: the next attempt asks from after them.
                    let before = partial.length
                    try retrying {
                        let at = partial.length
                        guard at < file.size else { return }
                        _ = try upstream.fetchFile(file.hash, size: file.size, offset: at, length: Int(min(Int64(chunkBytes), file.size - at))) {
                            try partial.write($0)
                        }
                    }
                    let got = Int(partial.length - before)
                    pace(got, seconds: ProcessInfo.processInfo.systemUptime - started)
                    guard got > 0 else { throw BlobError.pastEnd(size: file.size) }
                    moved += Int64(got)
                    progress?(file.hash, partial.length, file.size)
                }
                try partial.finish()
                return moved
            } catch BlobError.hashMismatch(let expected, let actual) {
                attempts += 1
                if attempts >= 2 { throw BlobError.hashMismatch(expected: expected, actual: actual) }
            }
        }
    }

    // MARK: Link failures

    /// Runs `body`, again after a link failure (not a refusal) up to `maxFailuresInARow` times.
    func retrying<T>(_ body: () throws -> T) throws -> T {
        var failures = 0
        while true {
            do { return try body() } catch let error {
                if upstream.refusal(in: error) != nil || error is BlobError { throw error }
                failures += 1
                if failures >= maxFailuresInARow { throw error }
            }
        }
    }
}
