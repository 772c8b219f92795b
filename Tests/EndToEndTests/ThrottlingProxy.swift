import Foundation
import Glibc

/// A loopback TCP relay that stands for a township's poor link: every connection to it is forwarded to `upstream`
/// on 127.0.0.1 at no more than `bytesPerSecond` in each direction, and `cutAll()` drops every connection at once.
///
/// Its sockets have small buffers so a sender feels the slow link (its writes block) instead of dumping megabytes
/// into loopback buffers. Threads: one acceptor plus two pumps per connection; `stop()` ends them all.
///
/// `@unchecked Sendable` is sound: the mutable `open` set and `stopped` flag are only touched under `lock`.
final class ThrottlingProxy: @unchecked Sendable {
    let port: UInt16
    let bytesPerSecond: Int
    private let upstream: UInt16
    private let listenFD: Int32
    private let lock = NSLock()
    private var open: Set<Int32> = []
    private var stopped = false
    private var relayed = 0

    var url: String { "http://127.0.0.1:\(port)" }

    /// Bytes relayed so far, both directions.
    var bytesRelayed: Int { lock.withLock { relayed } }

    init(upstream: UInt16, bytesPerSecond: Int) throws {
        self.upstream = upstream
        self.bytesPerSecond = bytesPerSecond
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        Self.smallBuffers(fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard fd >= 0, bound else {
            close(fd)
            throw HarnessError.failed("the throttling proxy could not listen: errno \(errno)")
        }
        listenFD = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Drops every open connection (both sides see a reset or end of stream); new connections still work.
    func cutAll() {
        lock.withLock { open.forEach { shutdown($0, Int32(SHUT_RDWR)) } }
    }

    func stop() {
        lock.withLock {
            stopped = true
            open.forEach { shutdown($0, Int32(SHUT_RDWR)) }
        }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
    }

    private static func smallBuffers(_ fd: Int32) {
        var size: Int32 = 16 * 1024
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    private func acceptLoop() {
        for _ in 0..<10_000 {
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { return }
            guard let server = connectUpstream(), lock.withLock({ !stopped }) else {
                close(client)
                continue
            }
            Self.smallBuffers(client)
            lock.withLock {
                open.insert(client)
                open.insert(server)
            }
            let finished = Guard(0)
            for (from, to) in [(client, server), (server, client)] {
                Thread.detachNewThread { [self] in
                    pump(from: from, to: to)
                    // Either direction ending ends the connection; the second pump to finish closes both.
                    shutdown(from, Int32(SHUT_RDWR))
                    shutdown(to, Int32(SHUT_RDWR))
                    var last = false
                    finished.update { $0 += 1; last = $0 == 2 }
                    if last {
                        lock.withLock {
                            open.remove(client)
                            open.remove(server)
                        }
                        close(client)
                        close(server)
                    }
                }
            }
        }
    }

    private func connectUpstream() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        Self.smallBuffers(fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = upstream.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Copies `from` → `to` in slices of a tenth of the rate, one slice per 100 ms.
    private func pump(from: Int32, to: Int32) {
        let slice = max(1, bytesPerSecond / 10)
        var buffer = [UInt8](repeating: 0, count: slice)
        while true {
            let started = Date()
            let n = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, slice, 0) }
            guard n > 0 else { return }
            var offset = 0
            while offset < n {
                let sent = buffer.withUnsafeBytes { send(to, $0.baseAddress! + offset, n - offset, Int32(MSG_NOSIGNAL)) }
                guard sent > 0 else { return }
                offset += sent
            }
            lock.withLock { relayed += n }
            let rest = 0.1 * Double(n) / Double(slice) - Date().timeIntervalSince(started)
            if rest > 0 { Thread.sleep(forTimeInterval: rest) }
        }
    }
}
