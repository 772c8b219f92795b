#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A response value returned by an `HTTPResponder`; the server adds `Content-Length`, `Date` and `Connection`.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// A body the server writes straight from a file (`sendfile`), instead of `body`: a range of a stored file,
    /// never in memory.
    public var file: FileRange?

    /// `count` bytes of the file at `path` from `offset`.
    public struct FileRange: Sendable, Equatable {
        public var path: String
        public var offset: Int64
        public var count: Int

        public init(path: String, offset: Int64, count: Int) {
            (self.path, self.offset, self.count) = (path, offset, count)
        }
    }

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), file: FileRange) {
        self.init(status: status, headers: headers)
        self.file = file
    }

    /// A text response, UTF-8 encoded.
    public static func text(_ s: String, status: Int = 200,
                            contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", contentType)]), body: Array(s.utf8))
    }

    /// A response carrying already-encoded JSON.
    public static func json(_ bytes: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json; charset=utf-8")]),
                     body: bytes)
    }

    /// The project's error shape: `{"error":{"code":"…","message":"…"}}`.
    public static func error(status: Int, code: String, message: String) -> HTTPResponse {
        json(Array(#"{"error":{"code":"\#(jsonEscaped(code))","message":"\#(jsonEscaped(message))"}}"#.utf8),
             status: status)
    }
}

/// Escapes a string for use inside a JSON string literal (RFC 8259 §7).
func jsonEscaped(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case _ where scalar.value < 0x20 || scalar == "\u{2028}" || scalar == "\u{2029}":
            let hex = String(scalar.value, radix: 16, uppercase: false)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// Standard reason phrases; the phrase is informational only, so unknown codes get a generic one.
func reasonPhrase(for status: Int) -> String {
    switch status {
    case 100: "Continue"
    case 200: "OK"
    case 201: "Created"
    case 202: "Accepted"
    case 204: "No Content"
    case 206: "Partial Content"
    case 301: "Moved Permanently"
    case 302: "Found"
    case 303: "See Other"
    case 304: "Not Modified"
    case 307: "Temporary Redirect"
    case 308: "Permanent Redirect"
    case 400: "Bad Request"
    case 401: "Unauthorized"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 406: "Not Acceptable"
    case 408: "Request Timeout"
    case 409: "Conflict"
    case 410: "Gone"
    case 411: "Length Required"
    case 412: "Precondition Failed"
    case 413: "Content Too Large"
    case 414: "URI Too Long"
    case 415: "Unsupported Media Type"
    case 417: "Expectation Failed"
    case 422: "Unprocessable Content"
    case 428: "Precondition Required"
    case 429: "Too Many Requests"
    case 431: "Request Header Fields Too Large"
    case 500: "Internal Server Error"
    case 501: "Not Implemented"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    case 504: "Gateway Timeout"
    case 505: "HTTP Version Not Supported"
    default:
        switch status {
        case 200..<300: "Success"
        case 300..<400: "Redirection"
        case 400..<500: "Client Error"
        default: "Server Error"
        }
    }
}

/// The current time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), built by hand to stay thread-safe.
func httpDate(_ now: time_t = time(nil)) -> String {
    var seconds = now
    var parts = tm()
    gmtime_r(&seconds, &parts)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
        + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
}

/// Turns a response value into bytes on the wire, enforcing framing the responder cannot override.
enum ResponseSerializer {
    /// - Parameters:
    ///   - isHEAD: the body is dropped but `Content-Length` still describes it.
    ///   - close: adds `Connection: close`.
    ///   - keepAliveHTTP10: an HTTP/1.0 client asked for keep-alive and gets `Connection: keep-alive`.
    static func serialize(_ response: HTTPResponse, isHEAD: Bool, close: Bool, keepAliveHTTP10: Bool) -> [UInt8] {
        var response = response
        if !isValid(response) {
            response = .error(status: 500, code: "invalid_response", message: "the handler produced an invalid response")
        }
        let bodyless = response.status == 204 || response.status == 304
        var headers = response.headers
        headers.remove("Connection")
        headers.remove("Transfer-Encoding")
        headers.remove("Keep-Alive")
        if bodyless {
            headers.remove("Content-Length")
        } else if !(isHEAD && response.body.isEmpty && headers.contains("Content-Length")) {
            // A HEAD handler may state the length of the body it did not build; otherwise the body decides.
            headers.set("Content-Length", String(response.file?.count ?? response.body.count))
        }
        if !headers.contains("Date") { headers.add("Date", httpDate()) }
        if close {
            headers.add("Connection", "close")
        } else if keepAliveHTTP10 {
            headers.add("Connection", "keep-alive")
        }
        var head = "HTTP/1.1 \(response.status) \(reasonPhrase(for: response.status))\r\n"
        for field in headers { head += "\(field.name): \(field.value)\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if !isHEAD && !bodyless { bytes += response.body }
        return bytes
    }

    /// Rejects what would let a handler break framing: 1xx/out-of-range codes and CR/LF/NUL in fields.
    static func isValid(_ response: HTTPResponse) -> Bool {
        guard (200...999).contains(response.status) else { return false }
        for field in response.headers {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(isTokenByte) else { return false }
            guard field.value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { return false }
        }
        return true
    }
}
