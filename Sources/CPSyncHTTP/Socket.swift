import CLinux
import Glibc

/// The thin POSIX layer: non-blocking reads and writes, socket options and `sockaddr` formatting.
enum Socket {
    #if canImport(Glibc)
    static let streamType = Int32(SOCK_STREAM.rawValue)
    #else
    static let streamType = SOCK_STREAM
    #endif

    /// Monotonic seconds; immune to wall-clock jumps, so timeouts stay honest.
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    enum ReadResult {
        case bytes(Int)
        /// Nothing to read now; wait for the next readiness event.
        case wouldBlock
        /// The peer closed its side (or reset).
        case end
    }

    /// One non-blocking `recv` into `buffer`.
    static func read(_ fd: Int32, into buffer: inout [UInt8]) -> ReadResult {
        buffer.withUnsafeMutableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return .end }
            return read(fd, into: base, count: bytes.count)
        }
    }

    /// One non-blocking `recv` of at most `count` bytes into `buffer`.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) -> ReadResult {
        while true {
            let n = recv(fd, buffer, count, Int32(MSG_DONTWAIT))
            if n > 0 { return .bytes(n) }
            if n == 0 { return .end }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .end
            }
        }
    }

    enum WriteResult {
        case wrote(Int)
        case wouldBlock
        case failed
    }

    /// One non-blocking `send` of `bytes[offset...]`; never raises SIGPIPE.
    static func write(_ fd: Int32, _ bytes: [UInt8], from offset: Int) -> WriteResult {
        while true {
            let n = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if n >= 0 { return .wrote(n) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed
            }
        }
    }

    /// One `sendfile` of up to `count` bytes of `file` from `offset` to the socket `fd` (non-blocking: never waits
    /// for the peer). `.wrote(0)`: the file ended first.
    static func sendFile(_ fd: Int32, from file: Int32, at offset: Int64, count: Int) -> WriteResult {
        var position = off_t(offset)
        while true {
            let n = sendfile(fd, file, &position, count)
            if n >= 0 { return .wrote(n) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed
            }
        }
    }

    static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Sends FIN: the peer reads the end of the response, then end of stream.
    static func halfClose(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// `host:port`, or `[host]:port` for IPv6.
    static func formatAddress(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func describe(_ storage: sockaddr_storage) -> (host: String, port: UInt16) {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { addr in
                    var address = addr.pointee.sin_addr
                    inet_ntop(AF_INET, &address, &host, socklen_t(host.count))
                    return (cString(host), UInt16(bigEndian: addr.pointee.sin_port))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { addr in
                    var address = addr.pointee.sin6_addr
                    inet_ntop(AF_INET6, &address, &host, socklen_t(host.count))
                    return (cString(host), UInt16(bigEndian: addr.pointee.sin6_port))
                }
            }
        default:
            return ("unknown", 0)
        }
    }

    private static func cString(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An `eventfd` the workers and `shutdown` write to wake the event loop. Reference-counted, so its descriptor
/// closes only after the last holder (a worker still finishing an abandoned request) lets go: a closed and reused
/// descriptor number can never be written to by mistake.
final class LoopWaker: Sendable {
    let fd: Int32

    init?() {
        let fd = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, 8)
    }

    /// Resets the counter so the level-triggered registration stops reporting it.
    func drain() {
        var count: UInt64 = 0
        _ = Glibc.read(fd, &count, 8)
    }

    deinit {
        close(fd)
    }
}
