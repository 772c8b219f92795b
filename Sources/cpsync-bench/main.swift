import CPSyncCLI
import Foundation

// cpsync-bench: benchmarks that print ratios against baselines measured in the same run.
//   core [--rows N] [--json]       capture, merge and metadata ratios
//   sync [--cells N] [--json]      push + pull through a real daemon vs POST to a sink + plain insert
//   scope [--members N] [--proposals N] [--townships N] [--json]   a new township's initial pull vs the county's
//   snapshot [--members N] [--proposals N] [--townships N] [--json]   a new office from a snapshot vs plain pulls
//   load [--offices N] [--slow N] [--rows N] [--pull-from now|zero] [--json]  a county syncing at once against a real daemon, plus slow clients
//   wire [--members N] [--json]   bytes on the wire per change, for each body form (json, gzip, compact, both)
//   crash-merge --db PATH --rows N (used by the crash-safety test: merges slowly until killed)
let argv = Array(CommandLine.arguments.dropFirst())
let usage = "usage: cpsync-bench core [--rows N] [--json] | sync [--cells N] [--json] | scope [--members N] [--proposals N] [--townships N] [--json] | load [--offices N] [--slow N] [--json]"
guard let verb = argv.first else {
    Console.err(usage)
    exit(ExitCode.usage.rawValue)
}
do {
    switch verb {
    case "core": try CoreBenchmark.run(Array(argv.dropFirst()))
    case "sync": try SyncBenchmark.run(Array(argv.dropFirst()))
    case "scope": try ScopeBenchmark.run(Array(argv.dropFirst()))
    case "snapshot": try SnapshotBenchmark.run(Array(argv.dropFirst()))
    case "load": try LoadBenchmark.run(Array(argv.dropFirst()))
    case "crash-merge": try CrashMerge.run(Array(argv.dropFirst()))
    case "wire": try WireBenchmark.run(Array(argv.dropFirst()))
    default:
        Console.err("cpsync-bench: unknown benchmark '\(verb)'\n\(usage)")
        exit(ExitCode.usage.rawValue)
    }
} catch {
    Console.err("cpsync-bench: \(error)")
    exit(ExitCode.failure.rawValue)
}
