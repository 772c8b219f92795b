import CPSyncCLI
import CPSyncServer

/// `--data DIR` (default ./cpsync-data), shared by every verb.
enum DataOption {
    static func directory(_ args: inout Arguments) -> String { args.option("data") ?? "cpsync-data" }

    static func open(_ args: inout Arguments) throws -> ServerStore {
        try ServerStore(dataDirectory: directory(&args))
    }
}
