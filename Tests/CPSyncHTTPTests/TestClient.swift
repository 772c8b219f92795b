import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import CPSyncHTTP

/// A raw blocking TCP client to 127.0.0.1 that every live test uses; reads time out after 5 s.
final class TestClient {
    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let fd: Int32
    private var pending: [UInt8] = []

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw Failure(description: "connect failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads more bytes; false at end of stream (or a reset).
    private func fill() throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw Failure(description: "read timed out") }
        guard n > 0 else { return false }
        pending += buffer[0..<n]
        return true
    }

    /// Reads exactly the bytes of `text` (e.g. an interim `100 Continue`).
    func expect(_ text: String) throws {
        let expected = Array(text.utf8)
        while pending.count < expected.count {
            guard try fill() else { throw Failure(description: "closed before \(text.debugDescription)") }
        }
        guard Array(pending.prefix(expected.count)) == expected else {
            throw Failure(description: "got \(String(decoding: pending, as: UTF8.self).debugDescription)")
        }
        pending.removeFirst(expected.count)
    }

    /// Reads one response framed by Content-Length (`bodyExpected: false` for HEAD).
    func readResponse(bodyExpected: Bool = true) throws -> Response {
        let terminator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            headEnd = pending.indices.first { pending[$0...].starts(with: terminator) }
            if headEnd == nil, try !fill() { throw Failure(description: "closed before a response head") }
        }
        let lines = String(decoding: pending[..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        pending.removeFirst(headEnd! + 4)
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else {
            throw Failure(description: "bad status line \(lines[0])")
        }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers.add(String(parts[0]), String(parts[1]).trimmingCharacters(in: .whitespaces))
        }
        let length = bodyExpected ? Int(headers["Content-Length"] ?? "0") ?? 0 : 0
        while pending.count < length {
            guard try fill() else { throw Failure(description: "closed mid-body") }
        }
        let body = Array(pending.prefix(length))
        pending.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }

    /// Whether the server closed the connection (end of stream or reset) with nothing more to read.
    func isClosedByPeer() throws -> Bool {
        guard pending.isEmpty else { return false }
        return try !fill()
    }
}
