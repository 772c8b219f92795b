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
    "attach": AttachCommand.run,
    "report": ReportCommand.run,
    "import": ImportCommand.run,
    "export": ExportCommand.run,
    "demo": DemoCommand.run,
    "export-changes": ExportChangesCommand.run,
    "import-changes": ImportChangesCommand.run,
    "relay-import": RelayImportCommand.run,
    "relay-replies": RelayRepliesCommand.run,
    "order": OrderCommand.run,
]

let argv = Array(CommandLine.arguments.dropFirst())
// Help, the version and unknown verbs are settled here, before any command could open or create a database.
switch Help.catalog.decide(argv) {
case .print(let text, let code):
    code == 0 ? Console.out(text) : Console.err(text)
    exit(code)
case .run(let verb):
    let status = CommandRunner.run { try verbs[verb]!(Array(argv.dropFirst())) }
    if status == ExitCode.usage.rawValue && !CommandRunner.jsonErrors { Console.err(Help.catalog.hint(verb: verb)) }
    exit(status)
}
