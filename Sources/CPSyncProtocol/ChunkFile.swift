import Foundation

/// A file read or written in chunks through POSIX calls (no Foundation buffers that grow with the file).
public final class ChunkFile {
    public let path: String
    private var fd: Int32

    public init(reading path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ChunkFileError(path: path, operation: "open", code: errno) }
    }

    /// Creates (or empties) the file at `path` for writing, readable by its owner only.
    public init(creating path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ChunkFileError(path: path, operation: "open", code: errno) }
    }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }

    /// Calls `body` with each chunk of the file, in order, from its start.
    public func forEachChunk(bytes: Int = GzipFile.chunkBytes, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 16)
        defer { buffer.deallocate() }
        var offset: off_t = 0
        while true {
            let n = pread(fd, buffer.baseAddress, bytes, offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw ChunkFileError(path: path, operation: "read", code: errno)
            }
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += off_t(n)
        }
    }

    /// Up to `count` bytes from `offset` (fewer only at the end of the file).
    public func read(at offset: Int64, count: Int) throws -> [UInt8] {
        var got = 0
        let bytes = try [UInt8](unsafeUninitializedCapacity: max(0, count)) { buffer, initialized in
            while got < count {
                let n = pread(fd, buffer.baseAddress! + got, count - got, off_t(offset) + off_t(got))
                if n < 0 {
                    if errno == EINTR { continue }
                    initialized = got
                    throw ChunkFileError(path: path, operation: "read", code: errno)
                }
                if n == 0 { break }
                got += n
            }
            initialized = got
        }
        return bytes
    }

    /// Appends `bytes` at the current end of what was written.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ChunkFileError(path: path, operation: "write", code: errno)
            }
            done += n
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Closes the file, after `fsync` when `sync`.
    public func close(sync: Bool = false) throws {
        guard fd >= 0 else { return }
        defer { _ = Glibc.close(fd); fd = -1 }
        if sync && fsync(fd) != 0 { throw ChunkFileError(path: path, operation: "fsync", code: errno) }
    }
}

/// A file operation that failed, with the system's reason.
public struct ChunkFileError: Error, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let code: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}
