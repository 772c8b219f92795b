// swift-tools-version:6.0
import PackageDescription

// No package dependencies: only the toolchain and the system SQLite.
let package = Package(
    name: "cpsync",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cpsync", targets: ["cpsync"]),
        .executable(name: "cpsyncd", targets: ["cpsyncd"]),
        .executable(name: "cpsync-bench", targets: ["cpsync-bench"]),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CPSyncCore", dependencies: ["CSQLite"]),
        .systemLibrary(name: "CLinux"),
        // User text: the reader's language, exit codes, the errors that render themselves where they are shown.
        .target(name: "CPSyncText"),
        .target(name: "CPSyncCLI", dependencies: ["CLinux", "CPSyncText"]),
        .target(name: "CPSyncHTTP", dependencies: ["CLinux"]),
        .target(name: "CPPCC", dependencies: ["CPSyncCore", "CPSyncText"]),
        .target(name: "CPSyncProtocol", dependencies: ["CPSyncCore", "CPSyncText", "CZlib"]),
        // The one sync engine: push and pull loops over any upstream (HTTP, a changes file, the county's own import).
        .target(name: "CPSyncEngine", dependencies: ["CPSyncCore", "CPSyncProtocol"]),
        .target(
            name: "CPSyncServer", dependencies: ["CPSyncCore", "CPSyncProtocol", "CPSyncEngine", "CPPCC", "CPSyncText", "CPSyncHTTP"],
            exclude: ["AdminPage"], plugins: ["EmbedFilesPlugin"]),
        // The admin page's .html/.css/.js become Swift constants at build time (one binary to install).
        .executableTarget(name: "EmbedFiles", path: "Sources/BuildTools/EmbedFiles"),
        .plugin(name: "EmbedFilesPlugin", capability: .buildTool(), dependencies: ["EmbedFiles"], path: "Sources/BuildTools/EmbedFilesPlugin"),
        .target(name: "CPSyncClient", dependencies: ["CPSyncCore", "CPSyncProtocol", "CPSyncEngine", "CPPCC", "CPSyncText"]),
        .executableTarget(name: "cpsync", dependencies: ["CPSyncClient", "CPSyncProtocol", "CPPCC", "CPSyncCLI"]),
        .executableTarget(name: "cpsyncd", dependencies: ["CPSyncServer", "CPSyncClient", "CPSyncEngine", "CPSyncCLI", "CPSyncHTTP"]),
        .executableTarget(
            name: "cpsync-bench",
            dependencies: ["CSQLite", "CLinux", "CPSyncCore", "CPSyncProtocol", "CPSyncServer", "CPSyncClient", "CPPCC", "CPSyncCLI", "CPSyncHTTP"]),
        // What every test target shares: temporary directories, reading a command's --json output.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CPSyncHTTPTests", dependencies: ["CPSyncHTTP"]),
        .testTarget(name: "CPSyncCLITests", dependencies: ["CPSyncCLI", "CPSyncText"]),
        .testTarget(name: "CPSyncCoreTests", dependencies: ["TestSupport", "CPSyncCore", "CSQLite"]),
        .testTarget(name: "CPPCCTests", dependencies: ["TestSupport", "CPPCC", "CPSyncCore", "CPSyncText"]),
        .testTarget(name: "CPSyncProtocolTests", dependencies: ["CPSyncProtocol", "CPSyncCore", "CPSyncText"]),
        .testTarget(name: "CPSyncEngineTests", dependencies: ["CPSyncEngine", "CPSyncProtocol", "CPSyncCore"]),
        .testTarget(name: "CPSyncServerTests", dependencies: ["TestSupport", "CPSyncServer", "CPSyncText", "CPSyncEngine", "CPSyncProtocol", "CPSyncCore", "CPPCC"]),
        .testTarget(name: "CPSyncClientTests", dependencies: ["TestSupport", "CPSyncClient", "CPSyncText", "CPSyncEngine", "CPSyncServer", "CPSyncProtocol", "CPSyncCore", "CPPCC"]),
        .testTarget(
            name: "EndToEndTests", dependencies: ["TestSupport", "CPSyncCore", "CPPCC", "CPSyncClient", "CPSyncProtocol"], exclude: ["browser"]),
    ]
)

// One set of Swift settings for every target.
for target in package.targets where target.type != .system && target.type != .plugin {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("ExistentialAny")]
}
