import Foundation
import Testing

/// The module arrows of README § Architecture, checked on the sources: below the tools no module imports the command
/// line's module or reads the tools' locale — they return values that render in the language they are given, and the
/// edge (the tools, the server per request) chooses it.
@Suite struct LayeringTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let belowTheEdge = ["CPSyncCore", "CPSyncText", "CPSyncProtocol", "CPSyncEngine", "CPPCC", "CPSyncHTTP", "CPSyncClient", "CPSyncServer"]

    static func sources(of module: String) throws -> [(name: String, text: String)] {
        let dir = root.appendingPathComponent("Sources/\(module)")
        let files = try #require(FileManager.default.enumerator(atPath: dir.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        return try files.map { ($0, try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8)) }
    }

    @Test(arguments: belowTheEdge) func noModuleBelowTheToolsPicksTheLanguage(module: String) throws {
        let files = try Self.sources(of: module)
        #expect(!files.isEmpty, "no sources found for \(module) under \(Self.root.path)")
        for (name, text) in files {
            let importsTheCLI = text.contains("import CPSyncCLI"), picksTheLanguage = text.contains("L10n.")
            let readsTheLocale = text.contains("Language.locale") || text.contains("text(in: .locale)")
            #expect(!importsTheCLI, "\(module)/\(name) imports the command line's module")
            #expect(!picksTheLanguage, "\(module)/\(name) picks the tools' language")
            // The one reader of the locale below the tools: the default `description` of a value that renders itself.
            if !(module == "CPSyncText" && (name == "Language.swift" || name == "UserFacingError.swift")) {
                #expect(!readsTheLocale, "\(module)/\(name) reads the tools' locale")
            }
        }
    }
}
