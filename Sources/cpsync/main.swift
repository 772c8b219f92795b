import CPSyncCLI
import Foundation

// `cpsync VERB ...`: one file per verb; each `run` parses its arguments, calls the libraries and prints.
let verbs: [String: ([String]) throws -> Int32] = [
    "init": InitCommand.run,
    "push": PushCommand.run,
    "pull": PullCommand.run,
    "sync": SyncCommand.run,
    "status": StatusCommand.run,
    "conflicts": ConflictsCommand.run,
    "member": MemberCommand.run,
    "proposal": ProposalCommand.run,
    "social": SocialCommand.run,
    "activity": ActivityCommand.run,
    "report": ReportCommand.run,
    "import": ImportCommand.run,
    "export": ExportCommand.run,
    "demo": DemoCommand.run,
]

let argv = Array(CommandLine.arguments.dropFirst())
guard let verb = argv.first, verb != "--help", verb != "-h", verb != "help" else {
    Console.out(Help.text)
    exit(argv.isEmpty ? ExitCode.usage.rawValue : 0)
}
guard let command = verbs[verb] else {
    Console.err("cpsync: " + UsageError.unknownCommand(verb).description)
    Console.err(Help.text)
    exit(ExitCode.usage.rawValue)
}
exit(CommandRunner.run { try command(Array(argv.dropFirst())) })
