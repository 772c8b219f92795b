/// The request line and headers of a request, validated; `contentLength` body bytes follow.
struct HTTPRequestHead: Equatable, Sendable {
    var method: String
    var target: String
    var path: String
    var query: [String: String]
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    var minorVersion: Int
    var headers: HTTPHeaders
    var contentLength: Int
    /// Whether the connection may stay open after this request (HTTP/1.1 default, HTTP/1.0 opt-in).
    var keepAlive: Bool
    /// `Expect: 100-continue` on an HTTP/1.1 request.
    var expectsContinue: Bool
    /// Bytes of the request line and header block, including any leading empty lines and the final CRLF.
    var byteCount: Int
}

/// An incremental, socket-free HTTP/1.x request parser: feed it bytes in any chunking with `append`, then
/// call `next()` until it returns nil.
///
/// Strictness is deliberate (request smuggling): lines end in CRLF only (a bare LF is rejected), obs-fold,
/// whitespace before the colon, repeated differing `Content-Length`, `Content-Length` with `Transfer-Encoding`,
/// and control characters are all 400. Any `Transfer-Encoding` alone is 501, because chunked request bodies are
/// not supported. Once it throws, the parser keeps throwing the same error: the connection must close.
struct HTTPRequestParser {
    enum Event: Equatable {
        /// The head is complete; the body has not necessarily arrived (time to send `100 Continue`).
        case head(HTTPRequestHead)
        /// A whole request. Always preceded by its `.head` event.
        case request(HTTPRequestHead, body: [UInt8])
    }

    private enum State {
        case head
        /// The head is complete and its body's first bytes (those received with it) are still in `buffer` from
        /// `start`: collected into `body` on the next `append` or `next`, or handed out by `streamBody`.
        case headEnded(HTTPRequestHead)
        /// The body is coming into `body`; `next` is where the bytes after it (a pipelined request) begin in `buffer`.
        case body(HTTPRequestHead, next: Int)
        /// The body is read by the caller itself (`streamBody`, `streamed`); `remaining` bytes of it are still to come
        /// from the socket, and `buffer` holds only what follows it.
        case streaming(HTTPRequestHead, remaining: Int)
        case failed(HTTPRequestError)
    }

    let maxHeaderBytes: Int
    let maxBodyBytes: Int

    private var buffer: [UInt8] = []
    /// The body of the request being read, apart from `buffer`: it is handed over as it is, never copied again.
    private var body: [UInt8] = []
    /// First byte of the request being parsed; everything before it is consumed.
    private var start = 0
    /// Next byte to examine while looking for line ends in the head.
    private var scan = 0
    private var lineStart = 0
    private var requestLine: (method: String, target: String, minorVersion: Int)?
    private var headerLines: [Range<Int>] = []
    private var state = State.head

    init(maxHeaderBytes: Int, maxBodyBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    mutating func append<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        if case .headEnded(let head) = state { collectBody(head) }
        var rest = bytes[...]
        if case .body(let head, _) = state, body.count < head.contentLength {
            let take = min(rest.count, head.contentLength - body.count)
            body += rest.prefix(take)
            rest = rest.dropFirst(take)
        }
        buffer += rest
    }

    /// Whether bytes of an unfinished request are buffered (a stall now is a slow client, not an idle one).
    var hasPartialRequest: Bool {
        switch state {
        case .headEnded, .body, .streaming: return true
        case .head, .failed: return buffer.count > start
        }
    }

    /// Takes the body of the head `next` just returned as a stream instead of collecting it: returns the body bytes
    /// already received (at most the whole body); the caller reads the rest from the socket itself, never past the
    /// body's end, and reports each read with `streamed`. Nil when no head is waiting for its body.
    mutating func streamBody() -> ArraySlice<UInt8>? {
        guard case .headEnded(let head) = state else { return nil }
        let take = min(buffer.count - start, head.contentLength)
        let received = buffer[start..<(start + take)]
        state = .streaming(head, remaining: head.contentLength - take)
        if head.contentLength == take { beginNextRequest(at: start + take) } else { start += take }
        return received
    }

    /// Body bytes of the streamed request still to come from the socket (0 once it is whole, or when none is streamed).
    var remainingStreamedBody: Int {
        if case .streaming(_, let remaining) = state { return remaining }
        return 0
    }

    /// `count` more bytes of the streamed body were read by the caller; the last of them ends the request.
    mutating func streamed(_ count: Int) {
        guard case .streaming(let head, let remaining) = state else { return }
        precondition(count <= remaining, "read past the end of a streamed body")
        if count == remaining { beginNextRequest(at: start) } else { state = .streaming(head, remaining: remaining - count) }
    }

    /// Moves the body bytes received with the head into `body`, reserved whole (already checked against the limit):
    /// they arrive without a copy per doubling and are handed over as they are. A reservation takes address space,
    /// and memory only as the bytes come in (a slow client that announces 16 MiB costs what it sends).
    private mutating func collectBody(_ head: HTTPRequestHead) {
        let take = min(buffer.count - start, head.contentLength)
        body.reserveCapacity(head.contentLength)
        body += buffer[start..<(start + take)]
        state = .body(head, next: start + take)
    }

    /// The next event the buffered bytes allow, or nil when more bytes are needed.
    mutating func next() throws(HTTPRequestError) -> Event? {
        do throws(HTTPRequestError) {
            switch state {
            case .failed(let error):
                throw error
            case .head:
                return try parseHead().map(Event.head)
            case .streaming:
                return nil
            case .headEnded(let head):
                collectBody(head)
                return try next()
            case .body(let head, let next):
                guard body.count == head.contentLength else { return nil }
                let whole = body
                body = []
                beginNextRequest(at: next)
                return .request(head, body: whole)
            }
        } catch {
            state = .failed(error)
            throw error
        }
    }

    private mutating func beginNextRequest(at index: Int) {
        state = .head
        requestLine = nil
        headerLines = []
        if index >= 64 * 1024 || index == buffer.count {
            buffer.removeFirst(index)
            start = 0
        } else {
            start = index
        }
        scan = start
        lineStart = start
    }

    private mutating func parseHead() throws(HTTPRequestError) -> HTTPRequestHead? {
        while scan < buffer.count {
            let byte = buffer[scan]
            scan += 1
            if scan - start > maxHeaderBytes { throw .headersTooLarge(limit: maxHeaderBytes) }
            guard byte == lf else { continue }
            guard scan - 1 > lineStart, buffer[scan - 2] == cr else {
                throw .badRequest("line ends in a bare LF; CRLF is required")
            }
            let line = lineStart..<(scan - 2)
            lineStart = scan
            if line.isEmpty {
                // RFC 9112 §2.2: ignore empty lines before the request line (stray CRLF after a body).
                guard requestLine != nil else { continue }
                let head = try makeHead()
                // The body is collected (`collectBody`) or streamed (`streamBody`), as the caller decides now.
                start = scan
                state = .headEnded(head)
                return head
            } else if requestLine == nil {
                requestLine = try parseRequestLine(buffer[line])
            } else {
                try validateHeaderLine(buffer[line])
                headerLines.append(line)
            }
        }
        return nil
    }

    private func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPRequestError) -> (String, String, Int) {
        let parts = line.split(separator: sp, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .badRequest("malformed request line") }
        let (method, target, version) = (parts[0], parts[1], parts[2])
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { throw .badRequest("invalid method") }
        guard !target.isEmpty, target.allSatisfy(isTargetByte) else {
            throw .badRequest("invalid character in request-target")
        }
        guard target.first == UInt8(ascii: "/") else {
            throw .badRequest("request-target must be origin-form (start with /)")
        }
        let versionBytes = Array(version)
        guard versionBytes.count == 8, versionBytes.starts(with: Array("HTTP/".utf8)),
              versionBytes[6] == UInt8(ascii: "."), isDigit(versionBytes[5]), isDigit(versionBytes[7])
        else { throw .badRequest("malformed HTTP version") }
        let versionString = String(decoding: versionBytes, as: UTF8.self)
        let minor: Int
        switch versionString {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        default: throw .versionNotSupported(versionString)
        }
        return (String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self), minor)
    }

    private func validateHeaderLine(_ line: ArraySlice<UInt8>) throws(HTTPRequestError) {
        if line.first == sp || line.first == htab {
            throw .badRequest("obsolete header line folding is not allowed")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .badRequest("header line without colon") }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
            throw .badRequest("invalid header name")
        }
        guard line[(colon + 1)...].allSatisfy(isFieldValueByte) else {
            throw .badRequest("invalid character in header value")
        }
    }

    private func makeHead() throws(HTTPRequestError) -> HTTPRequestHead {
        guard let (method, target, minor) = requestLine else { throw .badRequest("missing request line") }
        var headers = HTTPHeaders()
        for line in headerLines {
            let bytes = buffer[line]
            let colon = bytes.firstIndex(of: UInt8(ascii: ":"))!
            headers.add(String(decoding: bytes[..<colon], as: UTF8.self), fieldValueString(bytes[(colon + 1)...]))
        }

        let hosts = headers.values(for: "Host")
        if hosts.count > 1 { throw .badRequest("more than one Host header") }
        if minor == 1 && hosts.isEmpty { throw .badRequest("HTTP/1.1 request without Host header") }

        let lengths = headers.values(for: "Content-Length")
        if headers.contains("Transfer-Encoding") {
            if !lengths.isEmpty { throw .badRequest("both Content-Length and Transfer-Encoding") }
            throw .transferEncodingNotImplemented
        }
        let contentLength = try parseContentLength(lengths)

        let connection = Set(headers.values(for: "Connection").flatMap(commaSeparatedTokens))
        let keepAlive = minor == 1 ? !connection.contains("close")
                                   : connection.contains("keep-alive") && !connection.contains("close")

        var expectsContinue = false
        if minor == 1, let expect = headers["Expect"] {
            guard expect.lowercased() == "100-continue" else { throw .expectationFailed }
            expectsContinue = true
        }

        let decoded: (path: String, query: [String: String])
        do throws(RequestTarget.DecodingError) {
            decoded = try RequestTarget.decode(target)
        } catch {
            throw .badRequest("bad request-target: \(error.reason)")
        }

        return HTTPRequestHead(method: method, target: target, path: decoded.path, query: decoded.query,
                               minorVersion: minor, headers: headers, contentLength: contentLength,
                               keepAlive: keepAlive, expectsContinue: expectsContinue, byteCount: scan - start)
    }

    /// Every `Content-Length` (repeated or comma-listed) must be the same run of digits.
    private func parseContentLength(_ values: [String]) throws(HTTPRequestError) -> Int {
        var result: Int?
        for item in values.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let digits = String(item).trimmingASCIIWhitespace()
            guard !digits.isEmpty, digits.utf8.allSatisfy(isDigit) else {
                throw .badRequest("invalid Content-Length")
            }
            var value = 0
            for digit in digits.utf8 {
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
                if overflow1 || overflow2 { throw .bodyTooLarge(limit: maxBodyBytes) }
                value = sum
            }
            if let result, result != value { throw .badRequest("conflicting Content-Length values") }
            result = value
        }
        let length = result ?? 0
        if length > maxBodyBytes { throw .bodyTooLarge(limit: maxBodyBytes) }
        return length
    }
}

private let cr: UInt8 = 0x0D
private let lf: UInt8 = 0x0A
private let sp: UInt8 = 0x20
private let htab: UInt8 = 0x09

private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

/// RFC 9110 tchar.
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x30...0x39: true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
         UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
         UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
    default: false
    }
}

/// RFC 3986 characters allowed in an origin-form target (unreserved, sub-delims, ":", "@", "/", "?", "%").
private func isTargetByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x30...0x39: true
    case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
         UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
         UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
         UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"), UInt8(ascii: "?"),
         UInt8(ascii: "%"): true
    default: false
    }
}

/// field-vchar, SP, HTAB and obs-text; no other control characters.
private func isFieldValueByte(_ byte: UInt8) -> Bool {
    byte == htab || (byte >= 0x20 && byte != 0x7F)
}

/// Trims optional whitespace; keeps UTF-8 as is and reads other bytes as ISO-8859-1 (obs-text).
private func fieldValueString(_ bytes: ArraySlice<UInt8>) -> String {
    let trimmed = bytes.drop { $0 == sp || $0 == htab }.reversed().drop { $0 == sp || $0 == htab }.reversed()
    let value = Array(trimmed)
    if let utf8 = String(validating: value, as: UTF8.self) { return utf8 }
    return String(String.UnicodeScalarView(value.map { Unicode.Scalar($0) }))
}

/// Lowercased, trimmed elements of a comma-separated header value.
func commaSeparatedTokens(_ value: String) -> [String] {
    value.split(separator: ",").map { String($0).trimmingASCIIWhitespace().lowercased() }
}
