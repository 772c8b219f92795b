import CPSyncCLI

// Placeholders until the deployment work lands (backup, restore, doctor).
enum BackupCommand { static func run(_ argv: [String]) throws -> Int32 { Console.err("cpsyncd: backup not available yet"); return 1 } }
enum RestoreCommand { static func run(_ argv: [String]) throws -> Int32 { Console.err("cpsyncd: restore not available yet"); return 1 } }
enum DoctorCommand { static func run(_ argv: [String]) throws -> Int32 { Console.err("cpsyncd: doctor not available yet"); return 1 } }
