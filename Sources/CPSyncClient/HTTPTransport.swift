import CPSyncCLI
import CPSyncProtocol
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small synchronous HTTP client over one long-lived URLSession, with an overall deadline per request
/// (URLSession's own timeout is only an idle timeout).
public final class HTTPTransport: Sendable {
    public let baseURL: String
    let token: String?
    let session: URLSession
    let deadlineSeconds: Double
    /// Set when a CA file is given: HTTPS then goes through libcurl with that CA (see CurlSession).
    let curl: CurlSession?
    let curlProblem: String?

    /// `caFile`: a PEM file of the county's private CA, trusted for HTTPS (county intranets use their own).
    public init(baseURL: String, token: String?, caFile: String? = nil, deadlineSeconds: Double = 60) {
        var curl: CurlSession?
        var problem: String?
        if let caFile, !caFile.isEmpty {
            do { curl = try CurlSession(caFile: caFile) } catch {
                if case .unavailable(let m) = error { problem = m }
            }
        }
        self.curl = curl
        self.curlProblem = problem
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.deadlineSeconds = deadlineSeconds
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = min(30, deadlineSeconds)
        config.timeoutIntervalForResource = deadlineSeconds
        config.httpMaximumConnectionsPerHost = 2
        session = URLSession(configuration: config)
    }

    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]
    }

    /// Sends one request and waits for the answer, at most the deadline.
    public func send(_ method: String, _ path: String, body: [UInt8]? = nil) throws(ClientError) -> Response {
        guard let url = URL(string: baseURL + path) else { throw ClientError.notConfigured("bad server URL '\(baseURL)'") }
        if let problem = curlProblem { throw ClientError.notConfigured("cannot use the CA file: \(problem)") }
        // One header list for both ways of sending.
        var headers = [("Accept", "application/json"), ("Accept-Language", L10n.isChinese ? "zh-CN,zh;q=0.9" : "en")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let curl {
            do {
                let (status, bytes) = try curl.send(method: method, url: url.absoluteString, headers: headers, body: body, timeoutSeconds: deadlineSeconds)
                return Response(status: status, body: bytes)
            } catch {
                if case .transfer(let m) = error { throw ClientError.unreachable(url: baseURL, reason: m) }
                throw ClientError.unreachable(url: baseURL, reason: "\(error)")
            }
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body.map { Data($0) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let box = ResultBox()
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                box.set(.failure(.unreachable(url: self.baseURL, reason: error.localizedDescription)))
            } else if let http = response as? HTTPURLResponse {
                box.set(.success(Response(status: http.statusCode, body: data.map { Array($0) } ?? [])))
            } else {
                box.set(.failure(.badResponse("no HTTP response")))
            }
        }
        task.resume()
        guard let result = box.wait(seconds: deadlineSeconds) else {
            task.cancel()
            throw ClientError.unreachable(url: baseURL, reason: "no answer within \(Int(deadlineSeconds)) s")
        }
        return try result.get()
    }

    /// Sends a request and decodes a 2xx answer as `T`; an error body becomes `ClientError.server`.
    public func call<T: WireMessage>(_ method: String, _ path: String, body: [UInt8]? = nil, as type: T.Type) throws(ClientError) -> T {
        let r = try send(method, path, body: body)
        guard (200..<300).contains(r.status) else {
            if let e = try? ErrorBody.decode(r.body) { throw ClientError.server(status: r.status, body: e) }
            throw ClientError.server(status: r.status, body: ErrorBody(code: r.status >= 500 ? .serverError : .badRequest,
                                                                       message: "HTTP \(r.status) without an error body"))
        }
        do { return try T.decode(r.body) } catch {
            throw ClientError.badResponse("\(error)")
        }
    }
}

/// One result handed from URLSession's delegate queue to the waiting caller.
final class ResultBox: @unchecked Sendable {
    // Sound: `result` is only touched under `condition`'s lock.
    private let condition = NSCondition()
    private var result: Result<HTTPTransport.Response, ClientError>?

    func set(_ r: Result<HTTPTransport.Response, ClientError>) {
        condition.lock()
        result = r
        condition.broadcast()
        condition.unlock()
    }

    func wait(seconds: Double) -> Result<HTTPTransport.Response, ClientError>? {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while result == nil {
            if !condition.wait(until: deadline) { break }
        }
        return result
    }
}
