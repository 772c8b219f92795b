import CPSyncCore
import Foundation

/// The benchmark table: ten columns shaped like a proposal record (Chinese text, dates, numbers).
enum BenchData {
    static let columns = ["number", "session", "title", "proposer", "sector", "submitted_on", "status", "unit", "votes", "score"]

    static let createSQL = """
        CREATE TABLE proposals (
          id TEXT PRIMARY KEY NOT NULL,
          number TEXT NOT NULL DEFAULT '', session TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '',
          proposer TEXT NOT NULL DEFAULT '', sector TEXT NOT NULL DEFAULT '', submitted_on TEXT NOT NULL DEFAULT '',
          status TEXT NOT NULL DEFAULT 'draft', unit TEXT NOT NULL DEFAULT '', votes INTEGER NOT NULL DEFAULT 0, score REAL
        )
        """

    static let titles = ["关于加强农村饮水安全保障的提案", "关于推进老旧小区改造的建议", "关于发展特色农业产业的提案", "关于完善基层医疗服务的建议"]
    static let names = ["张伟", "王芳", "李娜", "刘洋", "陈静"]
    static let sectors = ["科技", "经济", "教育", "工商", "农业"]

    static func id(_ i: Int) -> String { String(format: "00000000-0000-4000-8000-%012d", i) }

    static func row(_ i: Int, edit: Int = 0) -> [Value] {
        [.text(id(i)), .text("2026-\(String(format: "%04d", i % 10_000))"), .text("八届四次会议"),
         .text(titles[(i + edit) % titles.count]), .text(names[(i + edit) % names.count]), .text(sectors[i % sectors.count]),
         .text("2026-03-\(String(format: "%02d", 1 + i % 28))"), .text(edit == 0 ? "submitted" : "filed"),
         .text("县住建局"), .integer(Int64(i + edit)), .real(Double(i % 100) / 10 + Double(edit))]
    }

    static var insertSQL: String {
        "INSERT INTO proposals (id, \(columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count + 1).joined(separator: ", ")))"
    }

    /// Updates two of the ten columns: what a clerk's edit typically touches (status and a title correction).
    static let updateSQL = "UPDATE proposals SET status = ?, title = ? WHERE id = ?"

    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-bench-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = dir.appendingPathComponent(name).path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: p + suffix) }
        return p
    }

    static func cleanup() {
        try? FileManager.default.removeItem(at: FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-bench-\(ProcessInfo.processInfo.processIdentifier)"))
    }
}
