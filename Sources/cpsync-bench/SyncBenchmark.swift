enum SyncBenchmark { static func run(_ argv: [String]) throws { throw BenchError("sync benchmark: not built yet") } }
