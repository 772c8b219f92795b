import CPSyncCLI

enum ConflictsCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        Console.err("cpsync: not implemented yet")
        return ExitCode.failure.rawValue
    }
}
