import Foundation

/// A benchmark's scratch directory (removed by `remove()`), the county data directory inside it, and the `cpsyncd`
/// that sits next to this binary, which the benchmarks start and drive as a county admin would.
struct BenchWorkspace {
    let dir: URL
    let data: String
    let daemonPath: String

    init(_ name: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-bench-\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        data = dir.appendingPathComponent("data").path
        daemonPath = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cpsyncd").path
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    /// Runs `cpsyncd ARGS --data DATA` (e.g. `site add`) and returns what it printed, trimmed: a token, for `site add`.
    func cpsyncd(_ a: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: daemonPath)
        p.arguments = a + ["--data", data]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw BenchError("cpsyncd \(a.joined(separator: " ")) failed") }
        return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
