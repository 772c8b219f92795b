import CPSyncCLI

enum PullCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        Console.err("cpsync: not implemented yet")
        return ExitCode.failure.rawValue
    }
}
