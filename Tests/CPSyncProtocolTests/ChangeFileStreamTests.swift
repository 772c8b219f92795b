import CPSyncCore
import CPSyncProtocol
import Foundation
import XCTest

/// `ChangeFile.Writer` and `ChangeFile.Reader`: the golden files' bytes, written and read a line at a time, and the
/// refusals of `ChangeFile.open`, the same ones in the same order.
final class ChangeFileStreamTests: XCTestCase {
    typealias Format = ChangeFileFormatTests
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "cpsync-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    func write(_ bytes: [UInt8], _ name: String = "file.cpsync") throws -> String {
        let path = "\(directory)/\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testTheWriterWritesTheGoldenFilesAndTheReaderReadsThemALineAtATime() throws {
        for (name, file) in [("change-file.cpsync", Format.changes), ("change-reply.cpsync", Format.reply)] {
            let path = "\(directory)/\(name)"
            let writer = try ChangeFile.Writer(path: path)
            for line in file.lines { try writer.append(line) }
            let size = try writer.finish(header: file.header, key: Format.key)
            let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(written, try Vectors.read(name), "\(name): the writer's bytes differ from the golden file")
            XCTAssertEqual(size, Int64(written.count))
            XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".body"), "the body file is left behind")

            let reader = try ChangeFile.Reader(path: path) { _ in Format.key }
            XCTAssertEqual(reader.header, file.header)
            var lines: [[UInt8]] = []
            while let line = try reader.next() { lines.append(line) }
            XCTAssertEqual(lines, file.lines)
            reader.rewind()
            XCTAssertEqual(try reader.next(), file.lines.first)
        }
        let reply = try ChangeFile.Reader(path: try write(try Vectors.read("change-reply.cpsync"))) { _ in Format.key }
        XCTAssertEqual(try reply.next(BatchResult.self)?.message.batchId, "9f1e0c2b7a4d4e8f9a0b1c2d3e4f5a6b")
        XCTAssertEqual(try reply.next(BatchResult.self)?.message.refused.first?.changes.count, 1)
        XCTAssertEqual(try reply.next(PullResponse.self)?.message.cursor, 57)
        XCTAssertNil(try reply.next())
    }

    /// Every damaged copy `open` refuses, the reader refuses with the same error: altered bytes, a copy cut short
    /// anywhere, another key, another file.
    func testTheReaderRefusesWhatOpenRefusesWithTheSameError() throws {
        let bytes = Format.changes.signed(key: Format.key)
        func error(_ body: () throws -> Any) -> ChangeFileError? {
            do { _ = try body(); return nil } catch { return error as? ChangeFileError }
        }
        func same(_ damaged: [UInt8], key: [UInt8] = Format.key, _ what: String) throws {
            let path = try write(damaged)
            let expected = error { try ChangeFile.open(damaged) { _ in key } }
            XCTAssertNotNil(expected, "\(what): open accepted it")
            XCTAssertEqual(error { try ChangeFile.Reader(path: path) { _ in key } }, expected, what)
        }
        for i in stride(from: 0, to: bytes.count, by: 5) {
            var tampered = bytes
            tampered[i] ^= 0x01
            try same(tampered, "byte \(i) altered")
        }
        for cut in [1, 2, 20, 76, 77, 78, bytes.count / 2, bytes.count - 1] { try same(Array(bytes.dropLast(cut)), "\(cut) bytes cut") }
        try same(bytes, key: ChangeFile.key(token: "another token", site: Format.site), "another key")
        try same(Array("{\"changes\":[]}\n".utf8), "another file")
        try same([], "an empty file")
        // A file whose header announces a line it does not hold.
        var header = Format.changes.header
        header.batches = 3
        try same(ChangeFile(header: header, lines: Format.changes.lines).signed(key: Format.key), "a line missing")
    }

    /// A line longer than any batch or page is refused before a line is given out, not gathered in memory.
    func testALineLongerThanAnyPageIsRefused() throws {
        var header = Format.changes.header
        header.batches = 2
        let path = "\(directory)/long.cpsync"
        let writer = try ChangeFile.Writer(path: path)
        try writer.append(Format.changes.lines[0])
        try writer.append([UInt8](repeating: 0x61, count: ChangeFile.maxLineBytes + 1))
        try writer.finish(header: header, key: Format.key)
        XCTAssertThrowsError(try ChangeFile.Reader(path: path) { _ in Format.key }) {
            XCTAssertEqual($0 as? ChangeFileError, .lineTooLong(line: 3, limit: ChangeFile.maxLineBytes))
        }
        // A header without end is no change file.
        let endless = try write([UInt8](repeating: 0x7B, count: ChangeFile.maxLineBytes + 10), "endless")
        XCTAssertThrowsError(try ChangeFile.Reader.peekHeader(path: endless)) { XCTAssertEqual($0 as? ChangeFileError, .notAChangeFile) }
    }
}
