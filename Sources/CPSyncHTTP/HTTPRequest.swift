/// One parsed HTTP request, handed to an `HTTPResponder` with its whole body already read.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The raw request-target as sent, e.g. `/v1/changes?since=12`.
    public var target: String
    /// The percent-decoded path without the query.
    public var path: String
    /// Decoded query parameters; when a name repeats, the last value wins.
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The peer as `host:port` (`[v6]:port` for IPv6).
    public var remoteAddress: String

    /// Creates a request, decoding `path` and `query` from `target`.
    ///
    /// The server never builds a request whose target fails to decode (it answers 400 instead); here, for
    /// hand-built requests, an undecodable target leaves `path` as the raw path and `query` empty.
    public init(method: String, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                remoteAddress: String = "") {
        let decoded = try? RequestTarget.decode(target)
        self.init(method: method, target: target,
                  path: decoded?.path ?? String(target.prefix { $0 != "?" }),
                  query: decoded?.query ?? [:],
                  headers: headers, body: body, remoteAddress: remoteAddress)
    }

    init(method: String, target: String, path: String, query: [String: String], headers: HTTPHeaders,
         body: [UInt8], remoteAddress: String) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The token of an `Authorization: Bearer <token>` header, or nil when absent or another scheme.
    public var bearerToken: String? {
        guard let value = headers["Authorization"] else { return nil }
        let scheme = "bearer"
        let bytes = Array(value.utf8)
        guard bytes.count > scheme.utf8.count,
              zip(bytes, scheme.utf8).allSatisfy({ asciiLower($0) == $1 }),
              bytes[scheme.utf8.count] == 0x20 || bytes[scheme.utf8.count] == 0x09
        else { return nil }
        let token = String(decoding: bytes[(scheme.utf8.count + 1)...], as: UTF8.self)
            .trimmingASCIIWhitespace()
        return token.isEmpty || token.contains(" ") ? nil : token
    }
}

/// Splits and percent-decodes an origin-form request-target (`/path?query`).
enum RequestTarget {
    struct DecodingError: Error, Equatable {
        let reason: String
    }

    static func decode(_ target: String) throws(DecodingError) -> (path: String, query: [String: String]) {
        let bytes = Array(target.utf8)
        let questionMark = bytes.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = bytes[..<(questionMark ?? bytes.count)]
        let path = try percentDecode(rawPath, plusIsSpace: false)
        var query: [String: String] = [:]
        if let questionMark {
            for pair in bytes[(questionMark + 1)...].split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
                let equals = pair.firstIndex(of: UInt8(ascii: "="))
                let name = try percentDecode(pair[..<(equals ?? pair.endIndex)], plusIsSpace: true)
                var value = ""
                if let equals { value = try percentDecode(pair[(equals + 1)...], plusIsSpace: true) }
                query[name] = value
            }
        }
        return (path, query)
    }

    /// Decodes `%XX` escapes; rejects malformed escapes, NUL and anything that is not UTF-8 once decoded.
    static func percentDecode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool) throws(DecodingError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                      let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else { throw DecodingError(reason: "malformed percent-escape") }
                let decoded = high << 4 | low
                guard decoded != 0 else { throw DecodingError(reason: "percent-escape decodes to NUL") }
                out.append(decoded)
                index += 3
            } else {
                out.append(plusIsSpace && byte == UInt8(ascii: "+") ? 0x20 : byte)
                index += 1
            }
        }
        guard let string = String(validating: out, as: UTF8.self) else {
            throw DecodingError(reason: "percent-decoded target is not valid UTF-8")
        }
        return string
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }),
              let last = bytes.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
