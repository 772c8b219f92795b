#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files kept by content (attachments' bytes), outside the synced rows: `DIR/ab/abcdef…` named by their SHA-256,
/// transfers under way in `DIR/partial/<hash>`. The same on an office (beside its replica) and at the county.
///
/// Nothing is ever whole in memory: a file comes in by appends at its known offset (a resumed transfer continues
/// where the partial file ends), is hashed as its bytes are written (`Partial`), and only a file whose hash is its
/// name is moved into place (`rename`, after `fsync`). A partial file whose bytes do not hash to its name is
/// discarded, never kept. A crash at any point leaves either the whole verified file or a partial one to resume.
public struct BlobStore: Sendable {
    public let directory: String
    /// Bytes read or written per system call when hashing or copying.
    static let ioChunk = 256 << 10

    public init(directory: String) throws(BlobError) {
        self.directory = directory
        try Self.makeDirectory(directory)
        try Self.makeDirectory(directory + "/partial")
    }

    /// A store whose directories could not be made: every write fails naming the path.
    public init(unchecked directory: String) { self.directory = directory }

    /// The store beside an office replica: `<db>.files/`.
    public static func beside(database path: String) throws(BlobError) -> BlobStore {
        try BlobStore(directory: path + ".files")
    }

    /// Whether `hash` is a SHA-256 in lower-case hex (the only names this store ever builds a path from).
    public static func isHash(_ hash: String) -> Bool {
        hash.utf8.count == 64 && hash.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    public func path(_ hash: String) -> String { "\(directory)/\(hash.prefix(2))/\(hash)" }
    func partialPath(_ hash: String) -> String { "\(directory)/partial/\(hash)" }
    /// Where the running hash of a partial file is kept (`Partial.save`).
    func hashStatePath(_ hash: String) -> String { "\(directory)/partial/\(hash).sha256" }

    /// Whether the whole, verified file is here.
    public func has(_ hash: String) -> Bool { Self.isHash(hash) && Self.fileSize(path(hash)) != nil }

    /// How many bytes of `hash` are here: its size when whole, the partial file's length while under way, else 0.
    public func received(_ hash: String) -> Int64 {
        guard Self.isHash(hash) else { return 0 }
        return Self.fileSize(path(hash)) ?? Self.fileSize(partialPath(hash)) ?? 0
    }

    /// How many bytes of the file `hash` (of `size` bytes) are here, after settling a transfer a crash interrupted
    /// between its last byte and the move into place: a partial copy that is whole is verified now (kept, or
    /// discarded when its bytes hash otherwise). So `size` is returned only for a whole, verified file.
    public func settle(_ hash: String, size: Int64) throws(BlobError) -> Int64 {
        guard Self.isHash(hash) else { throw .badHash(hash) }
        if has(hash) { return size }
        // No partial copy at all: nothing here (an empty file too: it is stored by its one empty append).
        guard let partial = Self.fileSize(partialPath(hash)) else { return 0 }
        guard partial >= size else { return partial }
        if partial > size { discardPartial(hash); return 0 }
        do { try self.partial(hash, size: size)?.finish() } catch .hashMismatch { return 0 }
        return size
    }

    /// Appends `bytes` at `offset` of the transfer of `hash` (of `size` bytes in all) and returns the bytes now
    /// held. The offset must be where the partial file ends (else `offsetMismatch` says where); bytes past `size`
    /// are refused. When the last byte arrives the file is verified and moved into place (`Partial.finish`).
    @discardableResult
    public func append(_ hash: String, size: Int64, at offset: Int64, _ bytes: [UInt8]) throws(BlobError) -> Int64 {
        guard Self.isHash(hash) else { throw .badHash(hash) }
        if has(hash) { return size }
        let have = Self.fileSize(partialPath(hash)) ?? 0
        guard offset == have else { throw .offsetMismatch(expected: have) }
        guard let partial = try partial(hash, size: size) else { return size }
        guard offset == partial.length else { throw .offsetMismatch(expected: partial.length) }
        try partial.write(bytes)
        if partial.length == size { try partial.finish() } else { partial.save() }
        return partial.length
    }

    /// The transfer of `hash` (of `size` bytes), open for appends where its partial file ends (created when there is
    /// none); nil when the whole file is here (another transfer finished it meanwhile). With `waitingAtMost`, a
    /// transfer another writer holds is waited for that many seconds at most, then `busy` is thrown (a writer fed
    /// by the network may hold it as long as its link lasts); without, as long as it takes.
    public func partial(_ hash: String, size: Int64, waitingAtMost seconds: Double? = nil) throws(BlobError) -> Partial? {
        guard Self.isHash(hash) else { throw .badHash(hash) }
        while !has(hash) {
            let fd = open(partialPath(hash), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .io(path: partialPath(hash), errno: errno) }
            // One writer at a time; the one before may have finished the file and moved it into place meanwhile
            // (this descriptor would then hold the whole file): look again.
            if let seconds {
                var waited = 0.0
                while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                    guard errno == EINTR || errno == EWOULDBLOCK, waited < seconds else { close(fd); throw .busy(hash) }
                    usleep(10_000)
                    waited += 0.01
                }
            } else {
                while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
            }
            var held = stat(), named = stat()
            guard fstat(fd, &held) == 0, stat(partialPath(hash), &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev else {
                close(fd)
                continue
            }
            return try Partial.open(self, hash: hash, size: size, fd: fd)
        }
        return nil
    }

    /// Copies the file at `source` into the store, hashing it on the way; returns its hash and size. Bounded memory.
    public func add(file source: String) throws(BlobError) -> (hash: String, size: Int64) {
        let tmp = "\(directory)/partial/add-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { unlink(tmp) }
        var hasher = SHA256.Hasher()
        let size = try Self.copy(source, to: tmp) { hasher.update($0) }
        let hash = hasher.finishHex()
        if has(hash) { return (hash, size) }
        try install(tmp, as: hash)
        return (hash, size)
    }

    /// Copies the file at `source` into the store only if its bytes hash to `hash` (a file carried on a stick, named
    /// by its hash): true when it is here now, false when its bytes are something else (nothing kept).
    @discardableResult
    public func add(file source: String, expecting hash: String) throws(BlobError) -> Bool {
        guard Self.isHash(hash) else { throw .badHash(hash) }
        if has(hash) { return true }
        let tmp = "\(directory)/partial/carried-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { unlink(tmp) }
        var hasher = SHA256.Hasher()
        _ = try Self.copy(source, to: tmp) { hasher.update($0) }
        guard hasher.finishHex() == hash else { return false }
        try install(tmp, as: hash)
        return true
    }

    /// Copies the whole files `hashes` (those here) into `directory`, each named by its hash: a companion directory
    /// for a stick. Returns the hashes written.
    public func export(_ hashes: [String], toDirectory dir: String) throws(BlobError) -> [String] {
        try Self.makeDirectory(dir)
        var written: [String] = []
        for hash in hashes where has(hash) {
            if Self.fileSize("\(dir)/\(hash)") != Self.fileSize(path(hash)) { try export(hash, to: "\(dir)/\(hash)") }
            written.append(hash)
        }
        return written
    }

    /// Takes the files of a companion directory `dir` whose names are among `hashes` and whose bytes match them.
    /// Returns (stored, damaged): damaged files are left out, and say so.
    public func take(fromDirectory dir: String, hashes: [String]) throws(BlobError) -> (stored: [String], damaged: [String]) {
        var stored: [String] = [], damaged: [String] = []
        for hash in hashes where Self.isHash(hash) && Self.fileSize("\(dir)/\(hash)") != nil {
            if try add(file: "\(dir)/\(hash)", expecting: hash) { stored.append(hash) } else { damaged.append(hash) }
        }
        return (stored, damaged)
    }

    /// The names of a companion directory's files that are hashes.
    public static func hashes(inDirectory dir: String) -> [String] { list(dir).filter(isHash).sorted() }

    /// Up to `length` bytes of the whole file `hash` from `offset` (fewer at its end).
    /// (A sender reads its chunks straight from the file as it sends them: `HTTPTransport.upload`.)
    public func read(_ hash: String, offset: Int64, length: Int) throws(BlobError) -> [UInt8] {
        guard has(hash) else { throw .missing(hash) }
        let fd = open(path(hash), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path(hash), errno: errno) }
        defer { close(fd) }
        let want = max(0, length)
        var out = [UInt8](repeating: 0, count: want)
        var got = 0
        while got < want {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, want - got, off_t(offset) + off_t(got)) }
            if n < 0 { if errno == EINTR { continue }; throw .io(path: path(hash), errno: errno) }
            if n == 0 { break }
            got += n
        }
        out.removeLast(out.count - got)
        return out
    }

    /// Copies the whole file `hash` to `destination` (written beside it, then renamed: never half a file there).
    public func export(_ hash: String, to destination: String) throws(BlobError) {
        guard has(hash) else { throw .missing(hash) }
        let tmp = destination + ".cpsync-part"
        defer { unlink(tmp) }
        _ = try Self.copy(path(hash), to: tmp) { _ in }
        guard rename(tmp, destination) == 0 else { throw .io(path: destination, errno: errno) }
    }

    /// Seconds since the whole file `hash` was stored here (nil when it is not).
    public func age(_ hash: String) -> Double? {
        var st = stat()
        guard Self.isHash(hash), stat(path(hash), &st) == 0 else { return nil }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec - st.st_mtim.tv_sec)
    }

    /// Deletes the file `hash` and any partial transfer of it.
    public func remove(_ hash: String) {
        guard Self.isHash(hash) else { return }
        unlink(path(hash))
        discardPartial(hash)
    }

    /// Drops a partial transfer (a download to start again).
    public func discardPartial(_ hash: String) {
        guard Self.isHash(hash) else { return }
        unlink(hashStatePath(hash))
        unlink(partialPath(hash))
    }

    /// The hashes of every whole file here.
    public func all() -> [String] {
        var out: [String] = []
        for prefix in Self.list(directory) where prefix.utf8.count == 2 {
            out += Self.list("\(directory)/\(prefix)").filter(Self.isHash)
        }
        return out.sorted()
    }

    // MARK: - Files

    func install(_ file: String, as hash: String) throws(BlobError) {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
        try Self.makeDirectory("\(directory)/\(hash.prefix(2))")
        guard rename(file, path(hash)) == 0 else { throw .io(path: path(hash), errno: errno) }
        let dir = open("\(directory)/\(hash.prefix(2))", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    /// The lower-case hex SHA-256 of a file, read in bounded chunks.
    public static func hashFile(_ path: String) throws(BlobError) -> String {
        var hasher = SHA256.Hasher()
        try readChunks(path) { hasher.update($0) }
        return hasher.finishHex()
    }

    static func readChunks(_ path: String, _ body: ([UInt8]) throws(BlobError) -> Void) throws(BlobError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, errno: errno) }
        defer { close(fd) }
        try readChunks(fd: fd, path: path, body)
    }

    /// Reads `fd` from where it stands to its end, in bounded chunks.
    static func readChunks(fd: Int32, path: String, _ body: ([UInt8]) throws(BlobError) -> Void) throws(BlobError) {
        var buffer = [UInt8](repeating: 0, count: ioChunk)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, ioChunk) }
            if n < 0 { if errno == EINTR { continue }; throw .io(path: path, errno: errno) }
            if n == 0 { return }
            try body(n == ioChunk ? buffer : Array(buffer[0..<n]))
        }
    }

    private static func copy(_ source: String, to destination: String, _ each: ([UInt8]) -> Void) throws(BlobError) -> Int64 {
        let out = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard out >= 0 else { throw .io(path: destination, errno: errno) }
        defer { close(out) }
        var size: Int64 = 0
        try readChunks(source) { (chunk) throws(BlobError) in
            each(chunk)
            try writeAll(out, chunk, at: size, path: destination)
            size += Int64(chunk.count)
        }
        fsync(out)
        return size
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64, path: String) throws(BlobError) {
        let failure = bytes.withUnsafeBytes { b -> BlobError? in
            do throws(BlobError) { try writeAll(fd, b, at: offset, path: path) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws(BlobError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 { if errno == EINTR { continue }; throw .io(path: path, errno: errno) }
            done += n
        }
    }

    /// The size of the regular file at `path` (nil for none, or a directory).
    public static func regularFileSize(_ path: String) -> Int64? { fileSize(path) }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    private static func makeDirectory(_ path: String) throws(BlobError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .io(path: path, errno: errno) }
    }

    private static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}

/// Why a file could not be stored or read.
public enum BlobError: Error, Equatable, Sendable {
    /// Not a SHA-256 in lower-case hex.
    case badHash(String)
    /// An append not at the end of what is held; `expected` is where the partial file ends.
    case offsetMismatch(expected: Int64)
    /// Bytes past the file's declared size.
    case pastEnd(size: Int64)
    /// The bytes received hash to something else than their name (a damaged or tampered transfer); discarded.
    case hashMismatch(expected: String, actual: String)
    /// The whole file is not here.
    case missing(String)
    /// Another transfer of the file is writing it (`BlobStore.partial(_:size:waitingAtMost:)`).
    case busy(String)
    case io(path: String, errno: Int32)
}
