/// Why a request was refused before it reached the responder; each case knows its status and error code.
enum HTTPRequestError: Error, Equatable {
    /// Malformed or ambiguous syntax (smuggling vectors, obs-fold, bad escapes…) → 400.
    case badRequest(String)
    /// Request line plus headers exceed `maxHeaderBytes` → 431.
    case headersTooLarge(limit: Int)
    /// `Content-Length` exceeds `maxBodyBytes`; decided before any body byte is read → 413.
    case bodyTooLarge(limit: Int)
    /// Any `Transfer-Encoding` (chunked request bodies are not supported) → 501.
    case transferEncodingNotImplemented
    /// An `Expect` other than `100-continue` → 417.
    case expectationFailed
    /// A well-formed `HTTP/x.y` other than 1.0 and 1.1 → 505.
    case versionNotSupported(String)
    /// The request did not arrive completely within `readTimeoutSeconds` → 408.
    case timeout

    var status: Int {
        switch self {
        case .badRequest: 400
        case .headersTooLarge: 431
        case .bodyTooLarge: 413
        case .transferEncodingNotImplemented: 501
        case .expectationFailed: 417
        case .versionNotSupported: 505
        case .timeout: 408
        }
    }

    var response: HTTPResponse {
        switch self {
        case .badRequest(let reason):
            .error(status: status, code: "bad_request", message: reason)
        case .headersTooLarge(let limit):
            .error(status: status, code: "headers_too_large",
                   message: "request line and headers exceed \(limit) bytes")
        case .bodyTooLarge(let limit):
            .error(status: status, code: "payload_too_large", message: "request body exceeds \(limit) bytes")
        case .transferEncodingNotImplemented:
            .error(status: status, code: "transfer_encoding_not_supported",
                   message: "Transfer-Encoding is not supported; send a Content-Length")
        case .expectationFailed:
            .error(status: status, code: "expectation_failed", message: "only Expect: 100-continue is supported")
        case .versionNotSupported(let version):
            .error(status: status, code: "http_version_not_supported", message: "\(version) is not supported")
        case .timeout:
            .error(status: status, code: "request_timeout", message: "the request did not arrive in time")
        }
    }
}
