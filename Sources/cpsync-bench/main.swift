import CPSyncCLI
import Foundation

// cpsync-bench: benchmarks that print ratios against baselines measured in the same run. `cpsync-bench --help` and
// `cpsync-bench VERB --help` print the table below.

/// One benchmark: its verb, what it measures, its options (name with its value, and what it sets) and how it runs.
struct Verb {
    let name: String
    let summary: String
    let options: [(String, String)]
    let run: ([String]) throws -> Void

    var usage: String {
        var lines = ["usage: cpsync-bench \(name)" + options.map { " [\($0.0)]" }.joined(), "  \(summary)"]
        let width = (options.map(\.0.count).max() ?? 0) + 4
        for (option, help) in options + [("--help", "print this usage")] {
            lines.append("    " + option.padding(toLength: width, withPad: " ", startingAt: 0) + help)
        }
        return lines.joined(separator: "\n")
    }
}

let json = ("--json", "print the figures as one line of JSON")
let verbs: [Verb] = [
    Verb(name: "core", summary: "capture, merge and metadata costs against plain SQLite writes and sqlite3changeset_apply",
         options: [("--rows N", "rows inserted, updated and merged (100000)"), ("--metadata-rows N", "rows of the metadata figure (min(rows, 10000))"), json],
         run: CoreBenchmark.run),
    Verb(name: "sync", summary: "N cells pushed and pulled through a real cpsyncd against a POST to a sink plus plain inserts",
         options: [("--cells N", "cells pushed (whole member rows: N rounded to a row; 100000)"), json],
         run: SyncBenchmark.run),
    Verb(name: "scope", summary: "a new township's initial pull against the county office's, and its incremental pull after county-wide edits",
         options: [("--members N", "members in the county (30000)"), ("--proposals N", "proposals, a third filed (3000)"),
                   ("--townships N", "townships the members and proposals are spread over (30)"),
                   ("--edits N", "members the county office edits county-wide before the incremental pull (members / 10)"), json],
         run: ScopeBenchmark.run),
    Verb(name: "snapshot", summary: "a new township and a full county copy set up from a snapshot against plain pulls",
         options: [("--members N", "members in the county (30000)"), ("--proposals N", "proposals, a third filed (3000)"),
                   ("--townships N", "townships (30)"), json],
         run: SnapshotBenchmark.run),
    Verb(name: "load", summary: "a county's offices syncing at once against a real cpsyncd, with slow clients and health checks",
         options: [("--offices N", "offices syncing at once (300)"), ("--slow N", "slowloris clients (50)"),
                   ("--rows N", "members each office pushes (4)"), ("--pull-from now|zero", "pull from the run's start or from the beginning (now)"),
                   ("--quiescent R", "then R rounds of every office syncing with nothing to send or receive: the daemon's CPU per such sync (0)"), json],
         run: LoadBenchmark.run),
    Verb(name: "wire", summary: "bytes on the wire per change in each body form (JSON, gzip, compact, compact + gzip)",
         options: [("--members N", "members pushed and pulled (2000)"), json],
         run: WireBenchmark.run),
    Verb(name: "attach", summary: "one attached file pushed and pulled through a real cpsyncd against a raw POST of its bytes; peak RSS of each process",
         options: [("--mb N", "the file's size in MB (200)"), json],
         run: AttachBenchmark.run),
    Verb(name: "crash-merge", summary: "merges slowly until killed (used by the crash-safety test)",
         options: [("--db PATH", "the replica to merge into (required)"), ("--rows N", "rows merged (100000)")],
         run: CrashMerge.run),
]

let argv = Array(CommandLine.arguments.dropFirst())
let isHelp: (String) -> Bool = { ["--help", "-h", "help"].contains($0) }
let usage = (["usage: cpsync-bench VERB [OPTIONS] (cpsync-bench VERB --help for its options)", "verbs:"]
    + verbs.map { "    " + $0.name.padding(toLength: 13, withPad: " ", startingAt: 0) + $0.summary }).joined(separator: "\n")
guard let name = argv.first else {
    Console.err(usage)
    exit(ExitCode.usage.rawValue)
}
if isHelp(name) {
    Console.out(usage)
    exit(ExitCode.ok.rawValue)
}
guard let verb = verbs.first(where: { $0.name == name }) else {
    Console.err("cpsync-bench: unknown benchmark '\(name)'\n\(usage)")
    exit(ExitCode.usage.rawValue)
}
let rest = Array(argv.dropFirst())
if rest.contains(where: isHelp) {
    Console.out(verb.usage)
    exit(ExitCode.ok.rawValue)
}
do {
    try verb.run(rest)
} catch let e as UsageError {
    Console.err("cpsync-bench \(verb.name): \(e)\n\(verb.usage)")
    exit(ExitCode.usage.rawValue)
} catch {
    Console.err("cpsync-bench: \(error)")
    exit(ExitCode.failure.rawValue)
}
