#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The thin POSIX layer: the only file that speaks file descriptors, `poll` and `sockaddr`.
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

    enum WaitResult {
        case ready
        case timedOut
        /// The server's wake pipe fired (shutdown).
        case woken
        case failed
    }

    /// Waits until `fd` is readable (or hung up), `wakeFD` becomes readable, or the monotonic `deadline` passes.
    static func waitReadable(_ fd: Int32, wakeFD: Int32?, deadline: Double) -> WaitResult {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if let wakeFD { fds.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)) }
        while true {
            let remaining = deadline - now()
            if remaining <= 0 { return .timedOut }
            let rc = poll(&fds, nfds_t(fds.count), milliseconds(remaining))
            if rc < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if rc == 0 { continue }
            if fds.count > 1 && fds[1].revents != 0 { return .woken }
            if fds[0].revents & Int16(POLLNVAL) != 0 { return .failed }
            return .ready
        }
    }

    /// Writes all of `bytes`; gives up when no progress is possible for `stallTimeout` seconds or on error.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8], stallTimeout: Double) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if sent > 0 {
                offset += sent
                continue
            }
            guard sent < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else { return false }
            if errno == EINTR { continue }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let deadline = now() + stallTimeout
            var rc: Int32
            repeat {
                let remaining = deadline - now()
                if remaining <= 0 { return false }
                rc = poll(&pfd, 1, milliseconds(remaining))
            } while rc < 0 && errno == EINTR
            if rc <= 0 || pfd.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { return false }
        }
        return true
    }

    /// Reads what is available into `buffer`; returns the count, 0 at end of stream, -1 on error.
    static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }

    /// Half-closes, then discards what the peer still sends for a moment, so that closing with unread input does
    /// not reset the connection and destroy the response we just wrote (RFC 9112 §9.6).
    static func lingeringClose(_ fd: Int32, seconds: Double) {
        halfClose(fd)
        let deadline = now() + seconds
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        var discarded = 0
        while discarded < 1024 * 1024, waitReadable(fd, wakeFD: nil, deadline: deadline) == .ready {
            let n = receive(fd, into: &scratch)
            if n <= 0 { return }
            discarded += n
        }
    }

    /// Sends FIN: the peer reads the end of the response, then end of stream.
    static func halfClose(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Forces any thread blocked on `fd` to return; the owning thread still closes it.
    static func abort(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_RDWR))
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

    private static func milliseconds(_ seconds: Double) -> Int32 {
        Int32(min((seconds * 1000).rounded(.up), Double(Int32.max)))
    }
}

/// A pipe that is written once at shutdown and never read, so it stays readable for every thread polling it.
/// Reference-counted so its descriptors close only after the last connection thread lets go.
final class WakePipe: Sendable {
    let readFD: Int32
    let writeFD: Int32

    init?() {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        readFD = fds[0]
        writeFD = fds[1]
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }
}
