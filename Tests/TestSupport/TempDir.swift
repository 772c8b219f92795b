import Foundation

/// A fresh temporary directory for one test, removed by `cleanup()` (tests call it in a `defer`, so a kept directory
/// is one a failing test chose to keep). One type for every test target.
public final class TempDir: Sendable {
    public let url: URL

    public init(_ name: String = "test") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cpsync-\(name)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func cleanup() { try? FileManager.default.removeItem(at: url) }
}
