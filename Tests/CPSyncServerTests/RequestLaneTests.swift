import CPPCC
import CPSyncHTTP
import CPSyncProtocol
@testable import CPSyncServer
import Foundation
import Glibc
import Testing

/// Status, health and whoami never wait behind pushes: the route table puts them in the light lane (`Route.lane`),
/// driven here through a real `HTTPServer` whose only regular worker is stuck in a push and whose queue is full.
@Suite(.serialized) struct RequestLaneTests {
    /// One request on a fresh loopback connection; nil when no answer came within `seconds`.
    struct Answer {
        let status: Int
        let headers: [String: String]
        let body: [UInt8]
    }

    final class Connection {
        let fd: Int32

        init(port: UInt16) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(rc == 0)
        }

        deinit { close(fd) }

        func send(_ method: String, _ path: String, token: String? = nil, body: [UInt8] = []) {
            var head = "\(method) \(path) HTTP/1.1\r\nHost: county\r\nContent-Length: \(body.count)\r\n"
            if let token { head += "Authorization: Bearer \(token)\r\n" }
            let bytes = Array((head + "\r\n").utf8) + body
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// The answer, or nil when none came within `seconds`.
        func answer(within seconds: Int) -> Answer? {
            var timeout = timeval(tv_sec: seconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                if let end = received.indices.dropLast(3).first(where: { received[$0..<($0 + 4)].elementsEqual(Array("\r\n\r\n".utf8)) }) {
                    let lines = String(decoding: received[..<end], as: UTF8.self).components(separatedBy: "\r\n")
                    var headers: [String: String] = [:]
                    for line in lines.dropFirst() {
                        let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                        if parts.count == 2 { headers[parts[0].lowercased()] = parts[1] }
                    }
                    let length = Int(headers["content-length"] ?? "0") ?? 0
                    if received.count >= end + 4 + length {
                        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
                        return Answer(status: status, headers: headers, body: Array(received[(end + 4)..<(end + 4 + length)]))
                    }
                }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return nil }
                received += buffer[0..<n]
            }
        }
    }

    @Test func statusHealthAndWhoamiAnswerWhileEveryWorkerIsStuckInAPushAndTheQueueIsFull() throws {
        let f = try RouterTests.Fixture()
        var config = HTTPServerConfiguration()
        config.port = 0
        config.workerThreads = 1
        config.maxQueuedRequests = 1
        let server = HTTPServer(configuration: config, responder: f.router)
        try server.start()
        defer { server.shutdown(gracePeriodSeconds: 5) }

        // The writer is held, so the push the worker takes waits for it: the regular lane is stuck.
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let store = f.store
        Thread.detachNewThread {
            try? store.write { _ in
                held.signal()
                release.wait()
            }
        }
        held.wait()
        var released = false
        defer { if !released { release.signal() } }
        let push = PushRequest(schemaVersion: CPPCCSchema.version, batchId: "b-lane", site: "huashan", changes: []).encoded()
        // One push taken by the worker, one queued, then a refusal: sent until the queue says it is full.
        var pending: [Connection] = []
        var refusal: Answer?
        for _ in 0..<4 where refusal == nil {
            let c = try Connection(port: server.boundPort)
            c.send("POST", "/v1/push", token: f.huashan, body: push)
            if let answer = c.answer(within: 1) { refusal = answer } else { pending.append(c) }
        }
        let shed = try #require(refusal)
        #expect(shed.status == 503)
        #expect(Int(shed.headers["retry-after"] ?? "") ?? 0 >= 1)

        let status = try Connection(port: server.boundPort)
        status.send("GET", "/v1/status")
        let statusAnswer = try #require(status.answer(within: 10), "status waited behind the pushes")
        #expect(statusAnswer.status == 200)
        #expect(try StatusResponse.decode(statusAnswer.body).serverSite == f.store.siteID)

        let health = try Connection(port: server.boundPort)
        health.send("GET", "/v1/health")
        #expect(try #require(health.answer(within: 10), "health waited behind the pushes").status == 200)

        let whoami = try Connection(port: server.boundPort)
        whoami.send("GET", "/v1/whoami", token: f.chengguan)
        #expect(try #require(whoami.answer(within: 10), "whoami waited behind the pushes").status == 200)

        // A pull is regular: it waits for the stuck worker (refused now, the queue being full).
        let pull = try Connection(port: server.boundPort)
        pull.send("GET", "/v1/pull?after=0&schemaVersion=\(CPPCCSchema.version)", token: f.chengguan)
        #expect(pull.answer(within: 10)?.status == 503)

        // Once the writer is free the waiting pushes are answered: nothing was dropped.
        release.signal()
        released = true
        for c in pending { #expect(c.answer(within: 30)?.status == 200) }
    }

    @Test func theRouteTableNamesTheLightRoutes() {
        let router = Router.routes
        #expect(router.lane(method: "GET", path: "/v1/status") == .light)
        #expect(router.lane(method: "GET", path: "/v1/health") == .light)
        #expect(router.lane(method: "HEAD", path: "/v1/health") == .light)
        #expect(router.lane(method: "GET", path: "/v1/whoami") == .light)
        #expect(router.lane(method: "GET", path: "/metrics") == .light)
        #expect(router.lane(method: "POST", path: "/v1/push") == .regular)
        #expect(router.lane(method: "GET", path: "/v1/pull") == .regular)
        #expect(router.lane(method: "POST", path: "/v1/status") == .regular)
        #expect(router.lane(method: "GET", path: "/v1/admin/conflicts") == .regular)
    }
}
