import CPSyncCore
import CPSyncProtocol
import Foundation

/// One batch on its way up: sent until the upstream takes it, with what the upstream refuses change by change set
/// aside and the rest sent again — the one "send, set aside what is refused, send the rest" loop of every transport.
/// The rest goes under a name derived from the batch's label and what is left (`BatchNaming`), the same on every
/// attempt, so a batch re-sent after a cut link or imported again is answered as the first time.
public struct Delivery {
    public let site: String
    public let schema: Int
    public private(set) var label: String
    public private(set) var changes: [Change]
    /// The changes the batch was made of (those set aside by local checks excluded), for the progress display.
    public let count: Int
    public init(site: String, schema: Int, label: String, changes: [Change]) {
        self.site = site
        self.schema = schema
        self.label = label
        self.changes = changes
        self.count = changes.count
    }

    public var request: PushRequest {
        PushRequest(schemaVersion: schema, batchId: BatchNaming.id(site: site, label: label, changes: changes), site: site, changes: changes)
    }

    /// The outcome of a delivery.
    public struct Outcome {
        /// The upstream's answer; nil when everything of the batch was set aside.
        public var answer: PushResponse?
        /// How long the last attempt took, in seconds (for page sizing).
        public var seconds: Double = 0
    }

    /// Sends the batch until it is taken. `setAside` gets the changes the upstream refused, each with the reason the
    /// upstream gave for its row (a 403 names every refused row's own rule), and the refusal; a refusal of the whole
    /// request, or any other error, is thrown (everything left stays queued).
    /// `meanwhile` runs on this thread while the first attempt travels (the request goes on a thread of its own,
    /// which touches no database).
    public mutating func send(to upstream: any Upstream, first prepared: PreparedPush? = nil, meanwhile: (() -> Void)? = nil,
                              setAside: ([(change: Change, reason: String)], Refusal) throws -> Void) throws -> Outcome {
        var meanwhile = meanwhile
        defer { meanwhile?() }
        var renamed = false
        var next = prepared
        for _ in 0...count + 1 {
            guard !changes.isEmpty else { return Outcome() }
            let batch = next ?? upstream.prepare(request)
            next = nil
            let call = Concurrent { () -> (Result<PushResponse, any Error>, Double) in
                let started = ProcessInfo.processInfo.systemUptime
                let r = Result { try upstream.push(batch) }
                return (r, ProcessInfo.processInfo.systemUptime - started)
            }
            meanwhile?()
            meanwhile = nil
            let (result, seconds) = call.wait()
            do {
                return Outcome(answer: try result.get(), seconds: seconds)
            } catch {
                guard let refusal = upstream.refusal(in: error) else { throw error }
                if refusal.body.code == .batchIdReused, !renamed {
                    // The upstream holds another batch of this site under this id (the id's hash met another page's):
                    // these changes were not applied, so they go again under an id of their own. Merging is
                    // idempotent, so a batch that did arrive changes nothing.
                    renamed = true
                    label += "|again"
                    continue
                }
                guard let refused = refusal.refusedIndices(of: changes) else { throw error }
                try setAside(refused.map { (changes[$0], refusal.body.message(forChange: $0)) }, refusal)
                for i in refused.reversed() { changes.remove(at: i) }
                label += "|without"
            }
        }
        return Outcome()
    }
}
