import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import Foundation

/// The next page of a pull that has more, read and encoded on a thread of its own while the office takes in this
/// one: an office asks for `after` = this page's cursor next (Protocol §6.4), and on a fast link the county's reading
/// and encoding of that page was half of every page's time.
///
/// A page made ready is served only to that request — the same principal, `after`, `since`, versions, `Accept` and
/// `Accept-Encoding`, and a `limit` and `maxBytes` no smaller than the ones it was read with (an office's page size
/// follows its link, so the next request may allow more: a smaller page is still a page the server may answer, §6.4;
/// one larger than asked for never is) — and only if nothing at all was committed to the database since before its
/// read began (`ServerStore.commitMark`: any connection, this server's writer or another process). Then it is what
/// the server would read for it now; otherwise it is dropped and the page is read as usual. Authentication and every
/// other check still run on the request itself.
///
/// Bounded: one page and one read per principal, at most `maxPrincipals` at once (others are simply not read ahead),
/// and a page nobody came for within `keepSeconds` is dropped.
final class PullPrefetch: @unchecked Sendable {
    struct Key: Hashable {
        var principal: String
        var query: PullQuery
        var accept: String?
        var acceptEncoding: String?

        init(principal: String, query: PullQuery, request: HTTPRequest) {
            self.principal = principal
            var q = query
            q.unsent = nil
            self.query = q
            accept = request.headers["Accept"]
            acceptEncoding = request.headers["Accept-Encoding"]
        }

        /// Whether a page read for this key may answer `request`.
        func serves(_ request: Key) -> Bool {
            var asked = request.query, read = query
            guard read.effectiveLimit() <= asked.effectiveLimit(), (read.maxBytes ?? .max) <= (asked.maxBytes ?? .max) else { return false }
            (asked.limit, asked.maxBytes, read.limit, read.maxBytes) = (nil, nil, nil, nil)
            return principal == request.principal && read == asked && accept == request.accept && acceptEncoding == request.acceptEncoding
        }
    }

    /// A page made ready: the response as `Router.respond` sends it (encoded, compressed), what the dashboard and the
    /// log are told when it is served, and the commit mark taken before it was read.
    struct Ready: Sendable {
        var response: HTTPResponse
        var changes: Int
        var cursor: Int64
        var hasMore: Bool
        var mark: Int64
    }

    private struct Entry {
        let key: Key
        let task: Concurrent<Ready?>
        let started: Double
    }

    static let maxPrincipals = 8
    static let keepSeconds = 60.0

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private let store: ServerStore

    init(store: ServerStore) {
        self.store = store
    }

    /// The page made ready for this request, if it may answer it and the database still holds what it was read from;
    /// nil otherwise (the caller reads the page itself). Waits for the principal's read under way, whichever page it
    /// reads (so no read outlives its entry). Either way the principal's page is gone: its next request asks for
    /// another.
    func take(_ key: Key) -> Ready? {
        lock.lock()
        let entry = entries.removeValue(forKey: key.principal)
        lock.unlock()
        guard let entry, let ready = entry.task.wait(), entry.key.serves(key) else { return nil }
        return store.commitMark() == ready.mark ? ready : nil
    }

    /// Starts reading the page `key` asks for (`read` gives the page answered; nil when it cannot be read, which
    /// leaves the request to read it itself and answer the error).
    func start(_ key: Key, read: @escaping @Sendable () -> Ready?) {
        let now = ProcessInfo.processInfo.systemUptime
        lock.lock()
        defer { lock.unlock() }
        entries = entries.filter { now - $0.value.started < Self.keepSeconds || !$0.value.task.isDone }
        // One read at a time per principal, so every read is in `entries` (and `finish` waits for all of them).
        if let current = entries[key.principal] {
            guard current.task.isDone else { return }
        } else if entries.count >= Self.maxPrincipals {
            return
        }
        let store = store
        entries[key.principal] = Entry(key: key, task: Concurrent {
            // Taken before the read: a commit at any moment after it makes the page unusable.
            guard let mark = store.commitMark(), var page = read() else { return nil }
            page.mark = mark
            return page
        }, started: now)
    }

    /// Waits for every read under way; `dropping`: and drops every page (the server has stopped answering).
    func finish(dropping: Bool = true) {
        lock.lock()
        let running = entries.values.map(\.task)
        if dropping { entries = [:] }
        lock.unlock()
        for task in running { _ = task.wait() }
    }
}
