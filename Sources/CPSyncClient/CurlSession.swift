import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// HTTP(S) through the system libcurl that FoundationNetworking is built on, with one reused easy handle (so its
/// connection, and a TLS session, are kept between requests). libcurl is loaded with `dlopen` — it is already in
/// the process through FoundationNetworking — so the build needs no extra headers.
///
/// Why not URLSession: on Linux it offers no way to trust an extra CA (its CA setting is read on Android only), and
/// county intranets use their own certificates (`CURLOPT_CAINFO` is exactly that setting); and while an upload
/// waits on a slow link its event loop spins a whole core (measured: 93% CPU during a 32 KB/s push).
/// `curl_easy_perform` sleeps in `poll`, and its low-speed limit is exactly the progress timeout we want.
final class CurlSession: @unchecked Sendable {
    // Sound: the function pointers are immutable after init; the one easy handle is only used under `lock`.
    private typealias EasyInit = @convention(c) () -> OpaquePointer?
    private typealias EasyCleanup = @convention(c) (OpaquePointer?) -> Void
    private typealias EasyPerform = @convention(c) (OpaquePointer?) -> Int32
    private typealias EasyReset = @convention(c) (OpaquePointer?) -> Void
    // curl_easy_setopt and curl_easy_getinfo are variadic; on the Linux ABIs (x86-64 SysV, AArch64) one pointer- or
    // long-sized variadic argument is passed exactly like a fixed one, so each use gets a fixed-argument signature.
    private typealias SetPointer = @convention(c) (OpaquePointer?, Int32, UnsafeRawPointer?) -> Int32
    private typealias SetLong = @convention(c) (OpaquePointer?, Int32, Int) -> Int32
    private typealias GetLong = @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<Int>?) -> Int32
    private typealias SlistAppend = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> OpaquePointer?
    private typealias SlistFree = @convention(c) (OpaquePointer?) -> Void
    private typealias StrError = @convention(c) (Int32) -> UnsafePointer<CChar>?
    typealias WriteCallback = @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int
    /// (user data, download total, downloaded, upload total, uploaded) → 0 to go on.
    typealias XferInfoCallback = @convention(c) (UnsafeMutableRawPointer?, Int64, Int64, Int64, Int64) -> Int32

    // Option numbers from curl.h (stable ABI since libcurl 7).
    private enum Option {
        static let writeData: Int32 = 10001, url: Int32 = 10002, errorBuffer: Int32 = 10010, postFields: Int32 = 10015
        static let httpHeader: Int32 = 10023, customRequest: Int32 = 10036, caInfo: Int32 = 10065
        static let writeFunction: Int32 = 20011, postFieldSizeLarge: Int32 = 30120
        static let headerData: Int32 = 10029, headerFunction: Int32 = 20079
        static let noProgress: Int32 = 43, xferInfoData: Int32 = 10057, xferInfoFunction: Int32 = 20219
        static let lowSpeedLimit: Int32 = 19, lowSpeedTime: Int32 = 20
        static let noSignal: Int32 = 99, connectTimeoutMS: Int32 = 156, httpGet: Int32 = 80, bufferSize: Int32 = 98
        static let upload: Int32 = 46, readFunction: Int32 = 20012, readData: Int32 = 10009
        static let inFileSizeLarge: Int32 = 30115, uploadBufferSize: Int32 = 280
        static let responseCode: Int32 = 0x200000 + 2
    }

    private let easyInit: EasyInit, easyCleanup: EasyCleanup, easyPerform: EasyPerform, easyReset: EasyReset
    private let setPointer: SetPointer, setLong: SetLong, getLong: GetLong
    private let slistAppend: SlistAppend, slistFree: SlistFree, strError: StrError
    /// nil: the system's CA bundle.
    let caFile: String?
    private let lock = NSLock()
    private var handle: OpaquePointer?

    enum Failure: Error {
        case unavailable(String)
        /// libcurl's result code and message.
        case transfer(code: Int32, message: String)
        /// The file a body is read from could not be read.
        case file(path: String, errno: Int32)

        /// CURLE_PEER_FAILED_VERIFICATION (60, formerly 51), CURLE_SSL_CERTPROBLEM (58), CURLE_SSL_CACERT_BADFILE (77):
        /// the certificate or the CA file, not the network. Retrying cannot help.
        var isCertificateProblem: Bool {
            if case .transfer(let code, _) = self { return [51, 58, 60, 77].contains(code) }
            return false
        }

        /// CURLE_SSL_CONNECT_ERROR (35): the TLS handshake failed — a cut link, or a port that does not speak TLS.
        var isHandshakeFailure: Bool {
            if case .transfer(let code, _) = self { return code == 35 }
            return false
        }

        /// CURLE_UNSUPPORTED_PROTOCOL (1), CURLE_URL_MALFORMAT (3): the URL is wrong, not the network.
        var isPermanent: Bool {
            if case .transfer(let code, _) = self { return isCertificateProblem || code == 1 || code == 3 }
            return true
        }
    }

    init(caFile: String?) throws(Failure) {
        guard let lib = dlopen("libcurl.so.4", RTLD_NOW) ?? dlopen("libcurl.so", RTLD_NOW) ?? dlopen("libcurl-gnutls.so.4", RTLD_NOW) else {
            throw .unavailable("libcurl is not installed (apt-get install libcurl4)")
        }
        func symbol<T>(_ name: String, _: T.Type) throws(Failure) -> T {
            guard let p = dlsym(lib, name) else { throw .unavailable("libcurl has no \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        easyInit = try symbol("curl_easy_init", EasyInit.self)
        easyCleanup = try symbol("curl_easy_cleanup", EasyCleanup.self)
        easyPerform = try symbol("curl_easy_perform", EasyPerform.self)
        easyReset = try symbol("curl_easy_reset", EasyReset.self)
        setPointer = try symbol("curl_easy_setopt", SetPointer.self)
        setLong = try symbol("curl_easy_setopt", SetLong.self)
        getLong = try symbol("curl_easy_getinfo", GetLong.self)
        slistAppend = try symbol("curl_slist_append", SlistAppend.self)
        slistFree = try symbol("curl_slist_free_all", SlistFree.self)
        strError = try symbol("curl_easy_strerror", StrError.self)
        self.caFile = caFile
    }

    deinit {
        if let handle { easyCleanup(handle) }
    }

    /// Collects the response body and header lines; passed to libcurl's callbacks as their user data.
    private final class Sink {
        var bytes: [UInt8] = []
        var headerLines: [String] = []
        var progress: ((TransferProgress) -> Void)?
        var last = TransferProgress()
        /// The status of the response being received (its status line: the final response's in the end).
        var status = 0
        /// Where the body goes, as it arrives, when the status is one of `streamed` (false: stop the transfer).
        var receive: ((UnsafeRawBufferPointer) -> Bool)?
        var streamed: Set<Int> = []
        /// The request body read from a file as libcurl sends it (`FileSlice`): its descriptor, where the next byte
        /// is, and how many are left.
        var source: (fd: Int32, offset: Int64, remaining: Int)?
        var sourceError: Int32 = 0
    }

    /// A request body sent straight from a file: `count` bytes of the file at `path` from `offset`, read as libcurl
    /// sends them (never whole in memory, no copy of the chunk beforehand).
    struct FileSlice {
        let path: String
        let offset: Int64
        let count: Int
    }

    /// A body handed over as it arrives instead of collected: for answers of the `statuses` (an error's body is
    /// collected as usual). `receive` returns false to stop the transfer.
    struct Receiver {
        let statuses: Set<Int>
        let receive: (UnsafeRawBufferPointer) -> Bool
    }

    /// One request; returns the status, body and headers, or throws the transfer error libcurl reports.
    /// `stallSeconds`: the transfer is abandoned when no byte moved for this long (not a total: a slow link that
    /// keeps moving is never cut). With `receiver`, the body of an answer it takes goes to it (the body returned is
    /// then empty).
    /// With `file`, the body is that slice of a file (`body` is then ignored).
    func send(method: String, url: String, headers: [(String, String)], body: [UInt8]?, file: FileSlice? = nil, stallSeconds: Double,
              progress: ((TransferProgress) -> Void)? = nil, receiver: Receiver? = nil) throws(Failure) -> (status: Int, body: [UInt8], headers: [(String, String)]) {
        lock.lock()
        defer { lock.unlock() }
        let handle = try resetHandle()
        let list = headerList(headers)
        defer { slistFree(list) }
        let sink = Sink()
        sink.progress = progress
        sink.receive = receiver?.receive
        sink.streamed = receiver?.statuses ?? []
        if let file {
            let fd = open(file.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .file(path: file.path, errno: errno) }
            sink.source = (fd, file.offset, file.count)
        }
        defer { if let source = sink.source { close(source.fd) } }
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        var errorBuffer = [CChar](repeating: 0, count: 256)
        let rc: Int32 = url.withCString { urlPtr in
            (caFile ?? "").withCString { caPtr in
                method.withCString { methodPtr in
                    errorBuffer.withUnsafeMutableBufferPointer { errPtr in
                        (body ?? []).withUnsafeBufferPointer { bodyPtr in
                            setConnection(handle, url: urlPtr, caInfo: caPtr, errorBuffer: errPtr.baseAddress, stallSeconds: stallSeconds)
                            setCallbacks(handle, headers: list, sink: unmanaged.toOpaque(), progress: progress != nil)
                            if let file {
                                setUpload(handle, methodPtr, count: file.count, sink: unmanaged.toOpaque())
                            } else {
                                setRequest(handle, method: method, methodPtr, body: body == nil ? nil : bodyPtr)
                            }
                            return easyPerform(handle)
                        }
                    }
                }
            }
        }
        if sink.sourceError != 0, let file { throw .file(path: file.path, errno: sink.sourceError) }
        guard rc == 0 else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .transfer(code: rc, message: detail.isEmpty ? (strError(rc).map { String(cString: $0) } ?? "error \(rc)") : detail)
        }
        var status = 0
        _ = getLong(handle, Option.responseCode, &status)
        return (status, sink.bytes, Self.finalResponseFields(sink.headerLines))
    }

    /// The easy handle, made on first use and reset (its connection kept) for every later request.
    private func resetHandle() throws(Failure) -> OpaquePointer {
        if let handle { easyReset(handle) } else { handle = easyInit() }
        guard let handle else { throw .transfer(code: 2, message: "curl_easy_init failed") }
        return handle
    }

    /// The request's header lines for libcurl, freed by the caller with `slistFree`.
    private func headerList(_ headers: [(String, String)]) -> OpaquePointer? {
        var list: OpaquePointer?
        for (k, v) in headers { list = slistAppend(list, "\(k): \(v)") }
        list = slistAppend(list, "Expect:")  // no 100-continue round trip
        return list
    }

    /// Where to connect, whom to trust, where libcurl writes its error text, and when a stalled transfer is given up.
    private func setConnection(_ handle: OpaquePointer, url: UnsafePointer<CChar>, caInfo: UnsafePointer<CChar>,
                               errorBuffer: UnsafeMutablePointer<CChar>?, stallSeconds: Double) {
        _ = setPointer(handle, Option.url, url)
        if caFile != nil { _ = setPointer(handle, Option.caInfo, caInfo) }
        _ = setPointer(handle, Option.errorBuffer, errorBuffer)
        _ = setLong(handle, Option.noSignal, 1)
        // Below 1 byte/s for `stallSeconds`: abandoned. No total timeout.
        _ = setLong(handle, Option.lowSpeedLimit, 1)
        _ = setLong(handle, Option.lowSpeedTime, max(1, Int(stallSeconds.rounded(.up))))
        _ = setLong(handle, Option.connectTimeoutMS, Int(min(stallSeconds, 30) * 1000))
        // Reads of 512 KiB (libcurl's most) instead of 16 KiB: a file's chunk in a few calls, not hundreds.
        _ = setLong(handle, Option.bufferSize, 512 << 10)
    }

    /// The header lines sent, and the callbacks that fill the `Sink` (`sink`): body, header lines and, when asked
    /// for, progress.
    private func setCallbacks(_ handle: OpaquePointer, headers list: OpaquePointer?, sink: UnsafeMutableRawPointer, progress: Bool) {
        let write = Self.writeBody, header = Self.writeHeader, xferInfo = Self.reportProgress
        _ = setPointer(handle, Option.httpHeader, list.map { UnsafeRawPointer($0) })
        _ = setPointer(handle, Option.writeFunction, unsafeBitCast(write, to: UnsafeRawPointer.self))
        _ = setPointer(handle, Option.writeData, sink)
        _ = setPointer(handle, Option.headerFunction, unsafeBitCast(header, to: UnsafeRawPointer.self))
        _ = setPointer(handle, Option.headerData, sink)
        if progress {
            _ = setLong(handle, Option.noProgress, 0)
            _ = setPointer(handle, Option.xferInfoFunction, unsafeBitCast(xferInfo, to: UnsafeRawPointer.self))
            _ = setPointer(handle, Option.xferInfoData, sink)
        }
    }

    /// The method and the body: a POST of `body` when there is one, else a GET; any other method by name.
    private func setRequest(_ handle: OpaquePointer, method: String, _ methodPtr: UnsafePointer<CChar>, body: UnsafeBufferPointer<UInt8>?) {
        if let body {
            // POSTFIELDS with an explicit size: binary-safe, not copied (the buffer outlives perform).
            _ = setLong(handle, Option.postFieldSizeLarge, body.count)
            _ = setPointer(handle, Option.postFields, body.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(("" as StaticString).utf8Start))
        } else {
            _ = setLong(handle, Option.httpGet, 1)
        }
        if method != "GET" && method != "POST" { _ = setPointer(handle, Option.customRequest, methodPtr) }
    }

    /// An upload of `count` bytes read from the sink's `source` as they go (`method` by name, PUT for cpsync), in
    /// sends of up to 512 KiB instead of libcurl's 64 KiB.
    private func setUpload(_ handle: OpaquePointer, _ methodPtr: UnsafePointer<CChar>, count: Int, sink: UnsafeMutableRawPointer) {
        let read = Self.readBody
        _ = setLong(handle, Option.upload, 1)
        _ = setLong(handle, Option.inFileSizeLarge, count)
        _ = setLong(handle, Option.uploadBufferSize, 512 << 10)
        _ = setPointer(handle, Option.readFunction, unsafeBitCast(read, to: UnsafeRawPointer.self))
        _ = setPointer(handle, Option.readData, sink)
        _ = setPointer(handle, Option.customRequest, methodPtr)
    }

    /// libcurl's read callback: the next bytes of the body from the sink's file (`CURL_READFUNC_ABORT` on a read
    /// error; a file shorter than announced ends the body early, which libcurl reports as a failed transfer).
    private static var readBody: WriteCallback {
        { data, size, count, user in
            guard let data, let user else { return 0x1000_0000 }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            guard let source = sink.source, source.remaining > 0 else { return 0 }
            while true {
                let n = pread(source.fd, data, min(size * count, source.remaining), off_t(source.offset))
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else {
                    sink.sourceError = errno
                    return 0x1000_0000
                }
                sink.source = (source.fd, source.offset + Int64(n), source.remaining - n)
                return n
            }
        }
    }

    /// libcurl's write callback: hands the bytes to the sink's receiver, or appends them to its body.
    private static var writeBody: WriteCallback {
        { data, size, count, user in
            guard let data, let user else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            let n = size * count
            if let receive = sink.receive, sink.streamed.contains(sink.status) {
                return receive(UnsafeRawBufferPointer(start: data, count: n)) ? n : 0
            }
            data.withMemoryRebound(to: UInt8.self, capacity: n) { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            return n
        }
    }

    /// libcurl's header callback: one header line (with its line end) at a call.
    private static var writeHeader: WriteCallback {
        { data, size, count, user in
            guard let data, let user else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            let n = size * count
            data.withMemoryRebound(to: UInt8.self, capacity: n) {
                sink.headerLines.append(String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self))
            }
            if let line = sink.headerLines.last, line.hasPrefix("HTTP/") {
                sink.status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            }
            return n
        }
    }

    /// libcurl's progress callback: passes the counts on to the sink's `progress` when they changed.
    private static var reportProgress: XferInfoCallback {
        { user, downloadTotal, downloaded, uploadTotal, uploaded in
            guard let user else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            let now = TransferProgress(sent: Int(uploaded), toSend: Int(uploadTotal), received: Int(downloaded),
                                       toReceive: Int(downloadTotal))
            // libcurl calls about once a second even when nothing moved; report changes only.
            if now != sink.last {
                sink.last = now
                sink.progress?(now)
            }
            return 0
        }
    }

    /// Header lines of the final response only (an interim 100 Continue comes first), as name and value.
    private static func finalResponseFields(_ lines: [String]) -> [(String, String)] {
        var fields: [(String, String)] = []
        for line in lines {
            if line.hasPrefix("HTTP/") { fields.removeAll(); continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return fields
    }
}
