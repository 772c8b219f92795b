import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension BlobStore {
    /// A transfer under way: the partial file of `hash`, open (and locked: one writer at a time) for appends at its
    /// end, with the running SHA-256 of the bytes it holds, so that the last byte verifies the file without reading
    /// it again (`BlobStore.partial`).
    ///
    /// The running hash is kept beside the file (`partial/<hash>.sha256`, `save`) for the next process to resume
    /// with. It is trusted only for the very file it was saved after: the same inode, length and change time (a
    /// byte written since, by anything, changes the time) and an intact record; otherwise the partial file is hashed
    /// again from its first byte. So the digest compared with the name is always of the bytes the file holds.
    public final class Partial {
        public let hash: String
        public let size: Int64
        /// Bytes taken: those in the file (all of them in the running hash) and those still in `pending`.
        public var length: Int64 { written + Int64(pending.count) }
        private var written: Int64
        /// Small pieces (libcurl hands a body over 16 KiB at a time) gathered into writes of `block` bytes, and large
        /// ones (a 4 MiB chunk) cut into writes of that size: a file system takes 1 MiB writes much faster than
        /// many small ones, and (measured: Linux 6.18, ext4) a 4 MiB write's copy into the page cache cost about
        /// seven times that of four 1 MiB writes.
        private var pending: [UInt8] = []
        static let block = 1 << 20
        private let store: BlobStore
        private let fd: Int32
        private var hasher: SHA256.Hasher
        /// `finish` ran: the file is in place or gone, nothing more to keep.
        private var finished = false
        /// The length the running hash was last saved at (nil: not saved by this writer).
        private var saved: Int64?

        private init(_ store: BlobStore, hash: String, size: Int64, fd: Int32, length: Int64, hasher: SHA256.Hasher) {
            (self.store, self.hash, self.size, self.fd, self.written, self.hasher) = (store, hash, size, fd, length, hasher)
        }

        deinit {
            // Left midway (a cut link that outlasted the retries, an error): what came is kept for the next run.
            if !finished { save() }
            close(fd)
        }

        /// Takes `fd` (open on the partial file, locked): its bytes so far, hashed by the saved state when it is
        /// trusted, else read again. A file longer than `size` is emptied.
        static func open(_ store: BlobStore, hash: String, size: Int64, fd: Int32) throws(BlobError) -> Partial {
            let path = store.partialPath(hash)
            var st = stat()
            guard fstat(fd, &st) == 0 else { close(fd); throw .io(path: path, errno: errno) }
            var hasher = SHA256.Hasher()
            if Int64(st.st_size) > size {
                unlink(store.hashStatePath(hash))
                guard ftruncate(fd, 0) == 0 else { close(fd); throw .io(path: path, errno: errno) }
            } else if let saved = Checkpoint.load(store.hashStatePath(hash), for: st) {
                hasher = saved
            } else {
                do { try BlobStore.readChunks(fd: fd, path: path) { hasher.update($0) } } catch { close(fd); throw error }
            }
            return Partial(store, hash: hash, size: size, fd: fd, length: hasher.count, hasher: hasher)
        }

        /// Appends `bytes` at the end (never past `size`: `pastEnd`).
        public func write(_ bytes: UnsafeRawBufferPointer) throws(BlobError) {
            guard length + Int64(bytes.count) <= size else { throw .pastEnd(size: size) }
            var at = 0
            while pending.isEmpty && bytes.count - at >= Self.block {
                try put(UnsafeRawBufferPointer(rebasing: bytes[at..<(at + Self.block)]))
                at += Self.block
            }
            guard at < bytes.count else { return }
            if pending.capacity < Self.block { pending.reserveCapacity(Self.block) }
            pending.append(contentsOf: bytes[at...])
            if pending.count >= Self.block { try flush() }
        }

        /// Writes what `write` gathered. On a failure those bytes are dropped (`length` says so).
        public func flush() throws(BlobError) {
            guard !pending.isEmpty else { return }
            defer { pending.removeAll(keepingCapacity: true) }
            let failure = pending.withUnsafeBytes { b -> BlobError? in
                do throws(BlobError) { try put(b) } catch { return error }
                return nil
            }
            if let failure { throw failure }
        }

        /// Writes `bytes` at the end of the file while another thread hashes them (on two cores a block costs the
        /// slower of the two, not their sum), and starts their way to the disk, so that `finish`'s flush has little
        /// left to wait for.
        private func put(_ bytes: UnsafeRawBufferPointer) throws(BlobError) {
            let before = hasher.saved
            let hashing = HashJob(hasher, bytes)
            DispatchQueue.global().async { hashing.run() }
            do {
                try BlobStore.writeAll(fd, bytes, at: written, path: store.partialPath(hash))
            } catch {
                // Half a write: the file is put back to what the hash had taken, and so is the hash.
                hashing.wait()
                _ = ftruncate(fd, off_t(written))
                hasher = SHA256.Hasher(saved: before) ?? SHA256.Hasher()
                throw error
            }
            Writeback.start(fd, at: written, count: bytes.count)
            hasher = hashing.wait()
            written += Int64(bytes.count)
        }

        public func write(_ bytes: [UInt8]) throws(BlobError) {
            let failure = bytes.withUnsafeBytes { b -> BlobError? in
                do throws(BlobError) { try write(b) } catch { return error }
                return nil
            }
            if let failure { throw failure }
        }

        /// Keeps the running hash beside the file, for a later process to go on from (not flushed: a record the
        /// disk lost, or one that does not match the file any more, only costs reading the file again).
        public func save() {
            var st = stat()
            guard (try? flush()) != nil, saved != written, fstat(fd, &st) == 0, Int64(st.st_size) == written else { return }
            saved = written
            let path = store.hashStatePath(hash)
            let record = Checkpoint.record(st, hasher.saved)
            let tmp = path + ".new"
            let out = Glibc.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard out >= 0 else { return }
            let wrote = (try? BlobStore.writeAll(out, record, at: 0, path: tmp)) != nil
            close(out)
            if !wrote || rename(tmp, path) != 0 { unlink(tmp); unlink(path) }
        }

        /// The last byte is here: moves the file into place if its bytes hash to its name; otherwise deletes it
        /// (`hashMismatch`: the transfer starts again from nothing).
        public func finish() throws(BlobError) {
            try flush()
            finished = true
            guard written == size else { throw .offsetMismatch(expected: written) }
            unlink(store.hashStatePath(hash))
            let actual = hasher.finishHex()
            guard actual == hash else {
                unlink(store.partialPath(hash))
                throw .hashMismatch(expected: hash, actual: actual)
            }
            try store.install(store.partialPath(hash), as: hash)
        }
    }

    /// One block hashed on another thread (`Partial.put`).
    final class HashJob: @unchecked Sendable {
        // Sound: `hasher` and `bytes` are used by `run` (on the other thread) only before it signals `done`, and by
        // the caller only after `wait` has seen that signal; `bytes` stay valid until then (the caller waits).
        private var hasher: SHA256.Hasher
        private let bytes: UnsafeRawBufferPointer
        private let done = DispatchSemaphore(value: 0)

        init(_ hasher: SHA256.Hasher, _ bytes: UnsafeRawBufferPointer) { (self.hasher, self.bytes) = (hasher, bytes) }

        func run() {
            hasher.update(bytes)
            done.signal()
        }

        /// The hash with the block taken, once it is.
        @discardableResult
        func wait() -> SHA256.Hasher {
            done.wait()
            return hasher
        }
    }

    /// Starts writing a range of a file to the disk without waiting for it (`sync_file_range(SYNC_FILE_RANGE_WRITE)`,
    /// Linux; loaded by name as the Glibc module does not export it). Only a head start for a later `fsync`.
    enum Writeback {
        typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
        static let syncFileRange: SyncFileRange? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range").map { unsafeBitCast($0, to: SyncFileRange.self) }

        static func start(_ fd: Int32, at offset: Int64, count: Int) {
            _ = syncFileRange?(fd, offset, Int64(count), 2 /* SYNC_FILE_RANGE_WRITE */)
        }
    }

    /// The saved running hash of a partial file: magic, the file's device, inode, change time and length, the
    /// hash's state (`SHA256.Hasher.saved`), and the SHA-256 of all that.
    enum Checkpoint {
        static let magic = Array("cpsync-partial-sha256-1\n".utf8)

        static func record(_ st: stat, _ saved: [UInt8]) -> [UInt8] {
            var out = magic
            for field in identity(st) { withUnsafeBytes(of: field.bigEndian) { out += $0 } }
            out += saved
            return out + SHA256.portable(out)
        }

        /// The hash saved for the file `st` describes; nil when there is none, it is damaged, or it was saved for
        /// other bytes.
        static func load(_ path: String, for st: stat) -> SHA256.Hasher? {
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            let fields = magic.count + 5 * 8
            guard n >= fields + 40 + 32, n < buffer.count else { return nil }
            let body = Array(buffer[0..<(n - 32)])
            guard SHA256.portable(body) == Array(buffer[(n - 32)..<n]), body.starts(with: magic) else { return nil }
            let saved = identity(st).enumerated().allSatisfy { i, field in
                body[(magic.count + i * 8)..<(magic.count + i * 8 + 8)].reduce(0) { $0 << 8 | UInt64($1) } == field
            }
            guard saved, let hasher = SHA256.Hasher(saved: Array(body[fields...])), hasher.count == Int64(st.st_size) else { return nil }
            return hasher
        }

        private static func identity(_ st: stat) -> [UInt64] {
            [UInt64(st.st_dev), UInt64(st.st_ino), UInt64(bitPattern: Int64(st.st_ctim.tv_sec)), UInt64(st.st_ctim.tv_nsec), UInt64(st.st_size)]
        }
    }
}
