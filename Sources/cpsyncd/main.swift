import CPSyncCLI
import CPSyncHTTP
import Foundation

// `cpsyncd VERB ...`: the county daemon and its administration commands; one file per verb.

// Before any thread exists: `serve` takes SIGTERM/SIGINT with sigwait (see StopSignals).
if CommandLine.arguments.dropFirst().first == "serve" { StopSignals.block() }
let verbs: [String: ([String]) throws -> Int32] = [
    "serve": ServeCommand.run,
    "site": SiteCommand.run,
    "admin": AdminCommand.run,
    "backup": BackupCommand.run,
    "restore": RestoreCommand.run,
    "doctor": DoctorCommand.run,
    "import": ImportCommand.run,
    "uplink": UplinkCommand.run,
    "tier": TierCommand.run,
    "attachments": AttachmentsCommand.run,
]

let argv = Array(CommandLine.arguments.dropFirst())
// Help, the version and unknown verbs are settled here, before any command could open or create a data directory.
let command: ([String]) throws -> Int32
let verb: String
switch Help.catalog.decide(argv) {
case .print(let text, let code):
    code == 0 ? Console.out(text) : Console.err(text)
    exit(code)
case .run(let name):
    verb = name
    command = verbs[name]!
}
do {
    exit(try command(Array(argv.dropFirst())))
} catch let e as UsageError {
    Console.err("cpsyncd: \(e)\n" + Help.catalog.hint(verb: verb))
    exit(ExitCode.usage.rawValue)
} catch let e as HTTPServerError {
    // The listen address is taken or unusable: the service cannot start.
    Console.err("cpsyncd: \(e)")
    exit(ExitCode.unavailable.rawValue)
} catch let e as any ExitCodeProviding {
    Console.err("cpsyncd: \(e)")
    exit(e.exitCode.rawValue)
} catch {
    Console.err("cpsyncd: \(error)")
    exit(ExitCode.failure.rawValue)
}
