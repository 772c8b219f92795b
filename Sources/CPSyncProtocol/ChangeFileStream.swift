import CPSyncCore
import Foundation

// Change files read and written as files, a line at a time (Protocol/README.md §17): the same bytes as
// `ChangeFile.signed` and `ChangeFile.open`, with memory bounded by the longest line (one batch or one page), not by
// the file. A file of any size is checked in one pass before a line of it is given out.

extension ChangeFile {
    /// The longest line a change file may hold: one push batch or one pull page, each bounded by the request body
    /// limit. A longer line is refused (`lineTooLong`) rather than read.
    public static let maxLineBytes = ProtocolLimits.maxBodyBytes

    /// Bytes read per system call.
    static let readChunk = 256 << 10

    /// Writes a change file line by line: the content lines go to a body file beside `path` as they are produced; at
    /// `finish` the header (whose counts are known only then), the body and the signature line go to `path` — the MAC
    /// computed on the way — and the body file is removed. `path` is the caller's to move into place: it is written
    /// whole (and synced) or not at all, so give it a temporary name.
    public final class Writer {
        public let path: String
        let bodyPath: String
        private var body: ChunkFile?
        /// Content lines written so far.
        public private(set) var lines = 0

        public init(path: String) throws {
            self.path = path
            bodyPath = path + ".body"
            body = try ChunkFile(creating: bodyPath)
        }

        deinit { discard() }

        /// Appends one content line (canonical JSON, no newline in it).
        public func append(_ line: [UInt8]) throws {
            guard let body else { throw ChunkFileError(path: bodyPath, operation: "write", code: EBADF) }
            var framed = line
            framed.append(0x0A)
            try body.write(framed)
            lines += 1
        }

        /// Writes the signed file to `path` (synced) and returns its size in bytes. `header` must count the lines
        /// appended.
        @discardableResult
        public func finish(header: ChangeFileHeader, key: [UInt8]) throws -> Int64 {
            precondition(lines == (header.kind == .changes ? header.batches : header.batches + header.pages), "the header does not count the lines written")
            try body?.close()
            body = nil
            defer { unlink(bodyPath) }
            let out = try ChunkFile(creating: path)
            do {
                var mac = HMACSHA256.Hasher(key: key)
                var head = header.encoded()
                head.append(0x0A)
                mac.update(head)
                try out.write(head)
                try ChunkFile(reading: bodyPath).forEachChunk(bytes: ChangeFile.readChunk) { chunk in
                    mac.update(chunk)
                    try out.write(chunk)
                }
                let size = mac.count + Int64(ChangeFile.signatureBytes + 1)
                try out.write(ChangeFile.signatureLine(mac.finishHex()))
                try out.close(sync: true)
                return size
            } catch {
                unlink(path)
                throw error
            }
        }

        /// Drops what was written (nothing is left at `path`).
        public func discard() {
            if body != nil {
                try? body?.close()
                body = nil
                unlink(bodyPath)
            }
        }
    }

    /// Reads a change file from disk: the signature is checked over the whole file in one bounded pass when it is
    /// opened (as `open` does, with the same errors in the same order), then the content lines are given out one at a
    /// time, each read when asked for.
    public final class Reader {
        public let header: ChangeFileHeader
        /// The content lines the file holds (the header's count, checked).
        public let lineCount: Int
        /// The index of the next content line `next` gives.
        public private(set) var index = 0
        private let file: LineSource
        /// Where the first content line starts.
        private let contentStart: Int64

        /// Opens the file at `path` and checks its signature with `key` (given the unverified header). Throws
        /// `ChangeFileError` for a file that is not a valid change file, `ChunkFileError` when it cannot be read.
        public init(path: String, key: (ChangeFileHeader) throws -> [UInt8]) throws {
            let (header, source) = try ChangeFile.Reader.peek(path)
            let size = source.size
            // The signature line: the last `signatureBytes` bytes before the final newline, after a newline.
            let tail = size >= Int64(ChangeFile.signatureBytes + 2) ? try source.file.read(at: size - Int64(ChangeFile.signatureBytes + 2), count: ChangeFile.signatureBytes + 2) : []
            guard tail.count == ChangeFile.signatureBytes + 2, tail.first == 0x0A, tail.last == 0x0A,
                  let given = ChangeFile.givenMAC(tail.dropFirst().dropLast()) else { throw ChangeFileError.truncated }
            let lastBreak = size - Int64(ChangeFile.signatureBytes + 2)
            let signingKey = try key(header)
            // One pass over everything the signature covers: the MAC, the content lines counted and measured.
            var mac = HMACSHA256.Hasher(key: signingKey)
            var offset: Int64 = 0, lineStart: Int64 = 0, lineNumber = 1, newlines = 0
            var tooLong: Int? = nil
            try source.file.forEachChunk(bytes: ChangeFile.readChunk) { chunk in
                let take = Int(min(Int64(chunk.count), lastBreak + 1 - offset))
                guard take > 0 else { return }
                let covered = UnsafeRawBufferPointer(rebasing: chunk[0..<take])
                mac.update(covered)
                for (i, byte) in covered.enumerated() where byte == 0x0A {
                    let at = offset + Int64(i)
                    if tooLong == nil && at - lineStart > Int64(ChangeFile.maxLineBytes) { tooLong = lineNumber }
                    lineStart = at + 1
                    lineNumber += 1
                    newlines += 1
                }
                offset += Int64(take)
            }
            guard HMACSHA256.equal(Array(mac.finishHex().utf8), Array(given.utf8)) else { throw ChangeFileError.badSignature(site: header.site) }
            if let tooLong { throw ChangeFileError.lineTooLong(line: tooLong, limit: ChangeFile.maxLineBytes) }
            // The newline at `lastBreak` ends the header or the last content line.
            let lines = newlines - 1
            let expected = header.kind == .changes ? header.batches : header.batches + header.pages
            guard lines == expected else {
                throw ChangeFileError.malformed("the header announces \(expected) lines, the file holds \(lines)")
            }
            self.header = header
            lineCount = lines
            file = source
            contentStart = source.offset
            file.limit = lastBreak + 1
        }

        /// The header as written, before the signature is checked (to find whose key checks it). Never act on it
        /// alone. Reads the first line only.
        public static func peekHeader(path: String) throws -> ChangeFileHeader { try peek(path).header }

        static func peek(_ path: String) throws -> (header: ChangeFileHeader, source: LineSource) {
            let source = try LineSource(path: path)
            // A first line without end or without bound is no header: another file was copied.
            guard let line = try? source.nextLine(number: 1) else { throw ChangeFileError.notAChangeFile }
            return (try ChangeFile.header(line: line), source)
        }

        /// The next content line, or nil after the last.
        public func next() throws -> [UInt8]? {
            guard index < lineCount, let line = try file.nextLine(number: index + 2) else { return nil }
            index += 1
            return line
        }

        /// The next content line decoded as `T`, naming the line in the error; nil after the last.
        public func next<T: WireMessage>(_ type: T.Type, limits: WireLimits = WireLimits(maxChanges: ProtocolLimits.maxChangesPerPush)) throws -> (message: T, line: [UInt8])? {
            let number = index + 2
            guard let line = try next() else { return nil }
            do { return (try T.decode(line, limits: limits), line) } catch { throw ChangeFileError.malformed("line \(number): \(error)") }
        }

        /// Back to the first content line (to read the lines again: checked first, applied after).
        public func rewind() {
            file.seek(contentStart)
            index = 0
        }
    }

    /// Lines of a file read through a bounded buffer: a line longer than `maxLineBytes` is refused, not gathered.
    final class LineSource {
        let file: ChunkFile
        let size: Int64
        /// Where the next line starts.
        private(set) var offset: Int64 = 0
        /// Lines end before this offset (the signature line is never given out as content).
        var limit: Int64
        private var buffer: [UInt8] = []
        private var bufferStart: Int64 = 0

        init(path: String) throws {
            file = try ChunkFile(reading: path)
            guard let size = BlobStore.regularFileSize(path) else { throw ChunkFileError(path: path, operation: "open", code: EISDIR) }
            self.size = size
            limit = size
        }

        func seek(_ to: Int64) {
            offset = to
            buffer = []
            bufferStart = to
        }

        /// The line at `offset` without its newline (nil when none ends before `limit`); `number` names it in an error.
        func nextLine(number: Int) throws -> [UInt8]? {
            var line: [UInt8] = []
            while true {
                if offset >= limit { return nil }
                let inBuffer = Int(offset - bufferStart)
                if inBuffer >= buffer.count {
                    bufferStart = offset
                    buffer = try file.read(at: offset, count: Int(min(Int64(ChangeFile.readChunk), limit - offset)))
                    if buffer.isEmpty { return nil }
                    continue
                }
                if let end = buffer[inBuffer...].firstIndex(of: 0x0A) {
                    line += buffer[inBuffer..<end]
                    offset = bufferStart + Int64(end) + 1
                    return line
                }
                line += buffer[inBuffer...]
                offset = bufferStart + Int64(buffer.count)
                if line.count > ChangeFile.maxLineBytes { throw ChangeFileError.lineTooLong(line: number, limit: ChangeFile.maxLineBytes) }
            }
        }
    }
}
