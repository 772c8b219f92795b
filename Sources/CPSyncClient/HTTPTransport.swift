import CPSyncText
import CPSyncProtocol
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How `HTTPTransport` retries requests that are safe to repeat.
public struct RetryPolicy: Sendable {
    /// The first backoff; each further attempt doubles it, up to `maxDelaySeconds`.
    public var initialDelaySeconds = 0.5
    public var maxDelaySeconds = 8.0
    /// Attempts per request, the first included. Five ride over a blip or a restart (about 6 s of backoff in all)
    /// without making a command wait long on a server that is really down.
    public var maxAttempts = 5

    public init(initialDelaySeconds: Double = 0.5, maxDelaySeconds: Double = 8, maxAttempts: Int = 5) {
        self.initialDelaySeconds = initialDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.maxAttempts = maxAttempts
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1): the server's `Retry-After` when it gave one,
    /// else exponential backoff; either with random jitter, so offices told to come back together do not.
    /// (`cpsync-bench load` retries with it too.)
    public func delay(afterAttempt attempt: Int, retryAfter: Double?) -> Double {
        if let retryAfter {
            return retryAfter + Double.random(in: 0...max(0.05, min(1, retryAfter * 0.5)))
        }
        let ceiling = min(maxDelaySeconds, initialDelaySeconds * pow(2, Double(attempt - 1)))
        return Double.random(in: (ceiling / 2)...max(ceiling / 2, ceiling))
    }
}

/// Bytes moved so far by one request attempt; totals are 0 while unknown (e.g. before the answer's head arrives).
public struct TransferProgress: Sendable, Equatable {
    public var sent = 0
    public var toSend = 0
    public var received = 0
    public var toReceive = 0

    public init(sent: Int = 0, toSend: Int = 0, received: Int = 0, toReceive: Int = 0) {
        self.sent = sent
        self.toSend = toSend
        self.received = received
        self.toReceive = toReceive
    }
}

/// A small synchronous HTTP client over libcurl's easy interface (one reused handle), or one long-lived URLSession
/// when libcurl cannot be loaded.
///
/// Timeouts are about progress: an attempt is abandoned only when no byte moved for `stallSeconds`, never because a
/// slow link takes long. Requests that are safe to repeat (GETs, and pushes, which the server answers idempotently
/// by batch id) are retried on 503/429/502/504 (honouring `Retry-After`) and on refused or broken connections, with
/// exponential backoff and jitter, until the command's budget is spent.
public final class HTTPTransport: Sendable {
    /// POST paths the server handles idempotently, so a repeat after a lost answer is harmless.
    static let idempotentPosts: Set<String> = ["/v1/push"]

    public let baseURL: String
    let token: String?
    let session: URLSession
    /// No byte moving for this long abandons an attempt.
    let stallSeconds: Double
    /// No retry starts after this point (monotonic uptime); the command's overall budget.
    let retryDeadline: Double
    let retry: RetryPolicy
    /// libcurl, whenever it can be loaded (see CurlSession for why); URLSession is the fallback.
    let curl: CurlSession?
    let curlProblem: String?
    /// The language the server renders its messages in (`Accept-Language`): the reader's, given by the tool.
    let language: Language

    /// - Parameters:
    ///   - caFile: a PEM file of the county's private CA, trusted for HTTPS (county intranets use their own).
    ///   - deadlineSeconds: how long no byte may move before an attempt is abandoned (then retried if safe).
    ///   - budgetSeconds: how long after creation retries may still start; default five times `deadlineSeconds`,
    ///     at least 30 s. A transfer that keeps moving is never cut by it.
    ///   - language: the reader's; the server writes its messages in it.
    public init(baseURL: String, token: String?, caFile: String? = nil, deadlineSeconds: Double = 60,
                budgetSeconds: Double? = nil, retry: RetryPolicy = RetryPolicy(), language: Language = .english) {
        var curl: CurlSession?
        var problem: String?
        let ca = caFile.flatMap { $0.isEmpty ? nil : $0 }
        do { curl = try CurlSession(caFile: ca) } catch {
            // Without libcurl, URLSession serves plain and public-CA HTTPS; a private CA cannot be trusted then.
            if ca != nil, case .unavailable(let m) = error { problem = m }
        }
        self.curl = curl
        self.curlProblem = problem
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.stallSeconds = deadlineSeconds
        self.retryDeadline = ProcessInfo.processInfo.systemUptime + (budgetSeconds ?? max(30, deadlineSeconds * 5))
        self.retry = retry
        self.language = language
        let config = URLSessionConfiguration.ephemeral
        // URLSession's request timeout is an idle timeout: exactly the progress rule. No total.
        config.timeoutIntervalForRequest = deadlineSeconds
        config.timeoutIntervalForResource = 7 * 24 * 3600
        config.httpMaximumConnectionsPerHost = 2
        session = URLSession(configuration: config)
    }

    public struct Response: Sendable {
        public let status: Int
        /// The body as the server meant it: a gzip-encoded answer is already inflated.
        public let body: [UInt8]
        public var headers: [(String, String)] = []

        /// The first value of header `name` (case-insensitive).
        public func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
    }

    /// The most a gzip-encoded answer may inflate to (a damaged or hostile answer must not exhaust memory).
    static let maxInflatedBytes = 1 << 30

    /// One attempt's outcome.
    enum Attempt: Sendable {
        case answered(status: Int, body: [UInt8], retryAfter: Double?, headers: [(String, String)] = [])
        /// `retryable`: the network failed, not the request (refused, reset, stalled, cut mid-answer).
        case failed(ClientError, retryable: Bool)
    }

    /// Sends one request and waits for the answer, retrying it when that is safe and useful.
    ///
    /// `progress` is called on the calling thread as bytes move (libcurl only; a retry starts again from 0), so a
    /// progress bar can show bytes and time left on a slow link.
    /// `headers` are added to the standard ones (`Accept`, `Content-Type`, …), replacing any of the same name.
    public func send(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = [],
                     progress: ((TransferProgress) -> Void)? = nil) throws(ClientError) -> Response {
        guard let url = URL(string: baseURL + path) else { throw ClientError.notConfigured("bad server URL '\(baseURL)'") }
        if let problem = curlProblem { throw ClientError.notConfigured("cannot use the CA file: \(problem)") }
        let pathOnly = String(path.prefix { $0 != "?" })
        let repeatable = method == "GET" || method == "HEAD" || (method == "POST" && Self.idempotentPosts.contains(pathOnly))
        var attempt = 0
        while true {
            attempt += 1
            let outcome = once(method, url: url, body: body, extraHeaders: headers, progress: progress)
            let retryAfter: Double?
            switch outcome {
            case .answered(let status, let bytes, let after, let fields):
                guard repeatable, [429, 502, 503, 504].contains(status) else { return Response(status: status, body: bytes, headers: fields) }
                retryAfter = after
            case .failed(let error, let retryable):
                guard repeatable, retryable else { throw error }
                retryAfter = nil
            }
            let wait = retry.delay(afterAttempt: attempt, retryAfter: retryAfter)
            let remaining = retryDeadline - ProcessInfo.processInfo.systemUptime
            guard attempt < retry.maxAttempts, wait < remaining else {
                switch outcome {
                case .answered(let status, let bytes, _, let fields): return Response(status: status, body: bytes, headers: fields)
                case .failed(let error, _): throw error
                }
            }
            Thread.sleep(forTimeInterval: wait)
        }
    }

    /// A GET whose body, when the answer's status is one of `statuses`, goes to `receive` as it arrives (a file's
    /// bytes, never whole in memory; `receive` returns false to stop); any other answer comes back as from `send`.
    /// One attempt, never retried here: bytes handed over cannot be taken back, so the caller asks again from where
    /// they stopped.
    public func receive(_ path: String, headers: [(String, String)] = [], statuses: Set<Int>, progress: ((TransferProgress) -> Void)? = nil,
                        into receive: (UnsafeRawBufferPointer) -> Bool) throws(ClientError) -> Response {
        guard let url = URL(string: baseURL + path) else { throw ClientError.notConfigured("bad server URL '\(baseURL)'") }
        if let problem = curlProblem { throw ClientError.notConfigured("cannot use the CA file: \(problem)") }
        let outcome = withoutActuallyEscaping(receive) { receive in
            once("GET", url: url, body: nil, extraHeaders: headers, progress: progress, receiver: CurlSession.Receiver(statuses: statuses, receive: receive))
        }
        switch outcome {
        case .answered(let status, let bytes, _, let fields): return Response(status: status, body: bytes, headers: fields)
        case .failed(let error, _): throw error
        }
    }

    /// A `PUT` whose body is `count` bytes of the file at `file` from `offset`, read as it is sent (a chunk of an
    /// attached file: no copy of it in memory first). One attempt, never retried here: the caller knows where to
    /// resume (the server keeps what came).
    public func upload(_ path: String, file: String, offset: Int64, count: Int, headers: [(String, String)] = [],
                       progress: ((TransferProgress) -> Void)? = nil) throws(ClientError) -> Response {
        guard let url = URL(string: baseURL + path) else { throw ClientError.notConfigured("bad server URL '\(baseURL)'") }
        if let problem = curlProblem { throw ClientError.notConfigured("cannot use the CA file: \(problem)") }
        let slice = CurlSession.FileSlice(path: file, offset: offset, count: count)
        switch once("PUT", url: url, body: nil, file: slice, extraHeaders: headers, progress: progress) {
        case .answered(let status, let bytes, _, let fields): return Response(status: status, body: bytes, headers: fields)
        case .failed(let error, _): throw error
        }
    }

    /// One attempt over libcurl or URLSession.
    private func once(_ method: String, url: URL, body: [UInt8]?, file: CurlSession.FileSlice? = nil, extraHeaders: [(String, String)],
                      progress: ((TransferProgress) -> Void)?, receiver: CurlSession.Receiver? = nil) -> Attempt {
        // One header list for both ways of sending.
        var headers = [("Accept", "application/json"), ("Accept-Language", language.acceptLanguage)]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        for (name, value) in extraHeaders {
            headers.removeAll { $0.0.caseInsensitiveCompare(name) == .orderedSame }
            headers.append((name, value))
        }
        if let curl {
            do {
                let answer = try curl.send(method: method, url: url.absoluteString, headers: headers, body: body, file: file,
                                           stallSeconds: stallSeconds, progress: progress, receiver: receiver)
                let after = answer.headers.first { $0.0.lowercased() == "retry-after" }.flatMap { Self.retryAfter($0.1) }
                return Self.inflating(.answered(status: answer.status, body: answer.body, retryAfter: after, headers: answer.headers))
            } catch {
                switch error {
                case .transfer(_, let message) where error.isCertificateProblem:
                    return .failed(.certificate(url: baseURL, reason: message), retryable: false)
                case .transfer(_, let message) where error.isHandshakeFailure:
                    // https:// to a plain HTTP port fails the same way as a link cut during the handshake; plain
                    // HTTP answering on that port tells them apart.
                    if let plain = plainHTTPAnswering() {
                        return .failed(.wrongAddress(url: baseURL, problem: .plainHTTPPort(suggested: plain)), retryable: false)
                    }
                    return .failed(.unreachable(url: baseURL, reason: message), retryable: true)
                case .transfer(_, let message):
                    return .failed(.unreachable(url: baseURL, reason: message), retryable: !error.isPermanent)
                case .unavailable(let message):
                    return .failed(.notConfigured("cannot use the CA file: \(message)"), retryable: false)
                case .file(let path, let code):
                    return .failed(.unreachable(url: baseURL, reason: "cannot read \(path): \(String(cString: strerror(code)))"), retryable: false)
                }
            }
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body.map { Data($0) }
        if let file {
            // Without libcurl the slice is read first (one chunk: bounded).
            guard let handle = FileHandle(forReadingAtPath: file.path) else {
                return .failed(.unreachable(url: baseURL, reason: "cannot read \(file.path)"), retryable: false)
            }
            defer { try? handle.close() }
            do {
                try handle.seek(toOffset: UInt64(file.offset))
                request.httpBody = try handle.read(upToCount: file.count) ?? Data()
            } catch {
                return .failed(.unreachable(url: baseURL, reason: "cannot read \(file.path): \(error)"), retryable: false)
            }
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let box = ResultBox()
        let baseURL = baseURL
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                box.set(Self.classify(error, baseURL: baseURL))
            } else if let http = response as? HTTPURLResponse {
                let after = http.value(forHTTPHeaderField: "Retry-After").flatMap(Self.retryAfter)
                let fields = http.allHeaderFields.compactMap { k, v in (k as? String).map { ($0, "\(v)") } }
                box.set(Self.inflating(.answered(status: http.statusCode, body: data.map { Array($0) } ?? [], retryAfter: after, headers: fields)))
            } else {
                box.set(.failed(.badResponse("no HTTP response"), retryable: true))
            }
        }
        task.resume()
        // URLSession enforces the stall timeout itself; this only guards against a callback that never comes.
        guard let result = box.wait(seconds: max(stallSeconds * 4, 3600)) else {
            task.cancel()
            return .failed(.unreachable(url: baseURL, reason: "no answer"), retryable: true)
        }
        // Without libcurl a body to hand over came whole (a chunk of a file: bounded); it is handed over now.
        if let receiver, case .answered(let status, let bytes, let after, let fields) = result, receiver.statuses.contains(status) {
            guard bytes.withUnsafeBytes(receiver.receive) else { return .failed(.badResponse("the body was not taken"), retryable: false) }
            return .answered(status: status, body: [], retryAfter: after, headers: fields)
        }
        return result
    }

    /// An answer whose body is gzip (the server compressed it because we accept gzip), inflated. Decided by the
    /// body's magic bytes, not the header: a library that already inflated it leaves plain JSON, which never starts
    /// with them. A damaged gzip body is a failed attempt that may be retried. A gzip file served as itself
    /// (`Content-Type: application/gzip`, a snapshot's bytes, §16) is left as it came unless a `Content-Encoding`
    /// says it was compressed once more on the way.
    static func inflating(_ attempt: Attempt) -> Attempt {
        guard case .answered(let status, let body, let after, let fields) = attempt, Gzip.isGzip(body) else { return attempt }
        func field(_ name: String) -> String? { fields.first { $0.0.lowercased() == name }?.1.lowercased() }
        if field("content-type")?.hasPrefix("application/gzip") == true, field("content-encoding")?.contains("gzip") != true { return attempt }
        do {
            return .answered(status: status, body: try Gzip.decompress(body, maxBytes: maxInflatedBytes), retryAfter: after, headers: fields)
        } catch {
            return .failed(.badResponse("\(error)"), retryable: true)
        }
    }

    /// This `https://` address as `http://` on the same port, when plain HTTP answers there (any status).
    private func plainHTTPAnswering() -> String? {
        guard let curl, var parts = URLComponents(string: baseURL), parts.scheme?.lowercased() == "https" else { return nil }
        parts.scheme = "http"
        parts.port = parts.port ?? 443
        guard let plain = parts.string.map({ $0.hasSuffix("/") ? String($0.dropLast()) : $0 }),
              (try? curl.send(method: "GET", url: plain + "/v1/health", headers: [], body: nil, stallSeconds: min(stallSeconds, 10))) != nil
        else { return nil }
        return plain
    }

    /// Whether a cpsync server answers `GET /v1/status` at `base` (this transport's address when nil): an answer
    /// that decodes as the protocol's status. One attempt, no retries.
    public func cpsyncAnswers(at base: String? = nil) -> Bool {
        guard let url = URL(string: (base ?? baseURL) + "/v1/status"),
              case .answered(200, let body, _, _) = once("GET", url: url, body: nil, extraHeaders: [], progress: nil) else { return false }
        return (try? StatusResponse.decode(body)) != nil
    }

    /// The error for this address when something answered HTTP `status` (nil: something not of the protocol) where a
    /// cpsync server would answer (a path the server does not serve, another web site): `wrongAddress`, naming the
    /// server's root when a cpsync server answers there.
    public func noServer(status: Int?) -> ClientError {
        var root = URLComponents(string: baseURL)
        root?.path = ""
        root?.query = nil
        root?.fragment = nil
        let suggested = root?.string.flatMap { $0 != baseURL && cpsyncAnswers(at: $0) ? $0 : nil }
        return .wrongAddress(url: baseURL, problem: .noServer(status: status, suggested: suggested))
    }

    /// Certificate failures are not the network: retrying cannot help, and the message says what to do.
    static func classify(_ error: any Error, baseURL: String) -> Attempt {
        let code = (error as? URLError)?.code.rawValue ?? (error as NSError).code
        switch code {
        case -1206 ... -1200:  // secureConnectionFailed, serverCertificate*, clientCertificate*
            return .failed(.certificate(url: baseURL, reason: error.localizedDescription), retryable: false)
        case NSURLErrorBadURL, NSURLErrorUnsupportedURL, NSURLErrorCancelled:
            return .failed(.unreachable(url: baseURL, reason: error.localizedDescription), retryable: false)
        default:
            return .failed(.unreachable(url: baseURL, reason: error.localizedDescription), retryable: true)
        }
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by cpsyncd and is ignored).
    static func retryAfter(_ value: String) -> Double? {
        guard let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 else { return nil }
        return min(seconds, 300)
    }

    /// Sends a request and decodes a 2xx answer as `T`; an error body becomes `ClientError.server`.
    public func call<T: WireMessage>(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = [],
                                     as type: T.Type, progress: ((TransferProgress) -> Void)? = nil) throws(ClientError) -> T {
        let r = try checked(try send(method, path, body: body, headers: headers, progress: progress))
        do { return try T.decode(r.body) } catch {
            throw ClientError.badResponse("\(error)")
        }
    }

    /// The response if it is 2xx; an error body becomes `ClientError.server`.
    public func checked(_ r: Response) throws(ClientError) -> Response {
        guard (200..<300).contains(r.status) else { throw Self.failure(r) }
        return r
    }

    /// What a response that is not 2xx says: its error body, or one naming its status.
    public static func failure(_ r: Response) -> ClientError {
        if let e = try? ErrorBody.decode(r.body) { return .server(status: r.status, body: e) }
        return .server(status: r.status, body: ErrorBody(code: r.status >= 500 ? .serverError : .badRequest,
                                                         message: "HTTP \(r.status) without an error body"))
    }
}

/// One result handed from URLSession's delegate queue to the waiting caller.
final class ResultBox: @unchecked Sendable {
    // Sound: `result` is only touched under `condition`'s lock.
    private let condition = NSCondition()
    private var result: HTTPTransport.Attempt?

    func set(_ r: HTTPTransport.Attempt) {
        condition.lock()
        result = r
        condition.broadcast()
        condition.unlock()
    }

    func wait(seconds: Double) -> HTTPTransport.Attempt? {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while result == nil {
            if !condition.wait(until: deadline) { break }
        }
        return result
    }
}
