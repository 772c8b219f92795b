#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why `HTTPServer.start()` failed; every case names the address involved.
public enum HTTPServerError: Error, CustomStringConvertible, Equatable {
    /// Another process (or server) already listens there.
    case addressInUse(address: String)
    /// The host could not be resolved to an address.
    case cannotResolve(host: String, reason: String)
    /// A socket call failed; `errno` is the raw error number.
    case socketFailed(operation: String, address: String, errno: Int32)
    /// `start()` was called twice, or after `shutdown`.
    case alreadyStarted

    public var description: String {
        switch self {
        case .addressInUse(let address):
            "address \(address) is already in use"
        case .cannotResolve(let host, let reason):
            "cannot resolve host \(host): \(reason)"
        case .socketFailed(let operation, let address, let code):
            "\(operation) failed for \(address): \(String(cString: strerror(code)))"
        case .alreadyStarted:
            "the server was already started"
        }
    }
}
