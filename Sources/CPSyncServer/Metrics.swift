import CPSyncProtocol
import Foundation

/// Counters and histograms, rendered in the Prometheus text format at `/metrics`.
public final class Metrics: Sendable {
    private struct Key: Hashable { let name: String; let labels: [String] }
    private struct State {
        var counters: [Key: Double] = [:]
        var histograms: [Key: (buckets: [Int], sum: Double, count: Int)] = [:]
        var gauges: [String: @Sendable () -> Double] = [:]
    }
    private let state = Guarded(State())
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let help: [String: (String, String)] = [
        "cpsync_http_requests_total": ("counter", "HTTP requests by route and status"),
        "cpsync_http_request_duration_seconds": ("histogram", "HTTP request durations by route"),
        "cpsync_push_batches_total": ("counter", "push batches (applied or replayed)"),
        "cpsync_push_refused_total": ("counter", "pushes refused before merging, by reason"),
        "cpsync_pull_pages_total": ("counter", "pull pages served"),
        "cpsync_pull_pages_read_ahead_total": ("counter", "pull pages served from a read ahead (no commit since it was read)"),
        "cpsync_pull_rows_read_total": ("counter", "rows read to make pull pages (a scoped pull reads through the scope index)"),
        "cpsync_pull_rows_sent_total": ("counter", "rows put on pull pages"),
        "cpsync_changes_merged_total": ("counter", "changes applied by pushes"),
        "cpsync_conflicts_detected_total": ("counter", "real conflicts recorded"),
        "cpsync_conflicts_open": ("gauge", "conflicts waiting for an admin"),
        "cpsync_snapshots_made_total": ("counter", "office snapshots made (GET /v1/snapshot)"),
        "cpsync_snapshot_bytes_sent_total": ("counter", "snapshot bytes served (GET /v1/snapshot/{id})"),
    ]

    public init() {}

    private static func key(_ name: String, _ labels: [String: String]) -> Key {
        Key(name: name, labels: labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escape($0.value))\"" })
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    public func count(_ name: String, labels: [String: String] = [:]) { add(name, 1, labels: labels) }

    public func add(_ name: String, _ value: Double, labels: [String: String] = [:]) {
        let k = Self.key(name, labels)
        state.withLock { $0.counters[k, default: 0] += value }
    }

    public func observe(_ name: String, seconds: Double, labels: [String: String] = [:]) {
        let k = Self.key(name, labels)
        state.withLock { s in
            // Updated where it lies: a copy taken out and put back copies its buckets on every request.
            Self.note(seconds, in: &s.histograms[k, default: (Array(repeating: 0, count: Self.buckets.count), 0, 0)])
        }
    }

    private static func note(_ seconds: Double, in h: inout (buckets: [Int], sum: Double, count: Int)) {
        for (i, b) in buckets.enumerated() where seconds <= b { h.buckets[i] += 1 }
        h.sum += seconds
        h.count += 1
    }

    /// A gauge read at scrape time.
    public func gauge(_ name: String, _ read: @escaping @Sendable () -> Double) { state.withLock { $0.gauges[name] = read } }

    public func render() -> String {
        let (counters, histograms, gauges) = state.withLock { ($0.counters, $0.histograms, $0.gauges) }
        var out = ""
        var described: Set<String> = []
        func header(_ name: String) {
            guard described.insert(name).inserted, let (type, help) = Self.help[name] else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func labels(_ l: [String], extra: String? = nil) -> String {
            let all = l + (extra.map { [$0] } ?? [])
            return all.isEmpty ? "" : "{" + all.joined(separator: ",") + "}"
        }
        for (k, v) in counters.sorted(by: { ($0.key.name, $0.key.labels.joined()) < ($1.key.name, $1.key.labels.joined()) }) {
            header(k.name)
            out += "\(k.name)\(labels(k.labels)) \(format(v))\n"
        }
        for (k, h) in histograms.sorted(by: { ($0.key.name, $0.key.labels.joined()) < ($1.key.name, $1.key.labels.joined()) }) {
            header(k.name)
            for (i, b) in Self.buckets.enumerated() { out += "\(k.name)_bucket\(labels(k.labels, extra: "le=\"\(format(b))\"")) \(h.buckets[i])\n" }
            out += "\(k.name)_bucket\(labels(k.labels, extra: "le=\"+Inf\"")) \(h.count)\n"
            out += "\(k.name)_sum\(labels(k.labels)) \(format(h.sum))\n\(k.name)_count\(labels(k.labels)) \(h.count)\n"
        }
        for (name, read) in gauges.sorted(by: { $0.key < $1.key }) {
            header(name)
            out += "\(name) \(format(read()))\n"
        }
        return out
    }

    private func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
}

/// One JSON line per request and per sync batch on stderr (journald collects it).
public struct EventLog: Sendable {
    public let enabled: Bool
    public init(enabled: Bool = true) { self.enabled = enabled }

    public func event(_ kind: String, _ fields: [String: FieldValue]) {
        guard enabled else { return }
        // The protocol's JSON writer does the escaping, so a log line is valid JSON whatever a path or name holds.
        var w = JSONWriter(capacity: 256)
        w.raw("{\"ts\":")
        w.string(ISO8601DateFormatter().string(from: Date()))
        w.raw(",\"event\":")
        w.string(kind)
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) {
            w.raw(",")
            w.string(k)
            w.raw(":")
            switch v {
            case .text(let s): w.string(s)
            case .integer(let i): w.int(i)
            case .number(let d): w.double(d)
            }
        }
        w.raw("}\n")
        FileHandle.standardError.write(Data(w.bytes))
    }

    public enum FieldValue: Sendable {
        case text(String)
        case integer(Int64)
        case number(Double)
    }
}
