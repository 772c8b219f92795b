import CPSyncCLI

// Placeholders: the CPPCC office verbs replace these, one file per verb.
enum MemberCommand { static func run(_ argv: [String]) throws -> Int32 { ExitCode.failure.rawValue } }
enum ProposalCommand { static func run(_ argv: [String]) throws -> Int32 { ExitCode.failure.rawValue } }
enum SocialCommand { static func run(_ argv: [String]) throws -> Int32 { ExitCode.failure.rawValue } }
enum ActivityCommand { static func run(_ argv: [String]) throws -> Int32 { ExitCode.failure.rawValue } }
enum ReportCommand { static func run(_ argv: [String]) throws -> Int32 { ExitCode.failure.rawValue } }
enum ImportCommand { static func run(_ argv: [String]) throws -> Int32 { ExitCode.failure.rawValue } }
enum ExportCommand { static func run(_ argv: [String]) throws -> Int32 { ExitCode.failure.rawValue } }
enum DemoCommand { static func run(_ argv: [String]) throws -> Int32 { ExitCode.failure.rawValue } }
