import CPSyncCLI
import CPSyncServer

/// `cpsyncd doctor --data DIR [--listen HOST:PORT]`: one `PASS|WARN|FAIL name: detail` line per check; exit 1 on
/// any FAIL.
enum DoctorCommand {
    static func run(_ argv: [String]) throws -> Int32 {
        var args = try Arguments(argv)
        let listen = args.option("listen") ?? "127.0.0.1:8710"
        let data = try DataOption.directory(&args)
        try args.checkAllConsumed()
        var doctor = Doctor(dataDirectory: data, listen: listen)
        doctor.language = L10n.language
        let checks = doctor.run()
        for check in checks { Console.out(check.description) }
        return checks.contains { $0.status == .fail } ? 1 : 0
    }
}
