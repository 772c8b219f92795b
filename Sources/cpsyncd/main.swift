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
]

let usage = L10n.pick(en: """
    usage: cpsyncd VERB [options]      (every verb takes --data DIR, default ./cpsync-data)
      serve [--listen 127.0.0.1:8710] [--max-skew-seconds 600] [--max-connections 4096]
      site add --id ID --name NAME --kind county|township|street|station [--parent ID]   prints the new token once
      site list [--json]               with parent, created and whether revoked
      site revoke ID                   the token stops working at once (the data stays)
      site token ID                    a new token, printed once; the old one stops working
      site activate ID                 re-activates a revoked site with a new token
      site move ID --parent P          re-parents a site; every office receives the new tree
      admin add --name NAME            prints the new admin token once
      admin list [--json] | admin revoke NAME
      backup --to FILE                 online backup while the daemon serves
      restore --from FILE              into a stopped daemon's data directory
      doctor                           checks data dir, integrity, disk, clock, listen address
    """, zh: """
    用法：cpsyncd 命令 [选项]      （所有命令都接受 --data 目录，默认 ./cpsync-data）
      serve [--listen 127.0.0.1:8710] [--max-skew-seconds 600] [--max-connections 4096]
      site add --id 标识 --name 名称 --kind county|township|street|station [--parent 上级]   令牌只显示一次
      site list [--json]               含上级、创建时间和是否已吊销
      site revoke 标识                 令牌立即失效（数据保留）
      site token 标识                  签发新令牌（只显示一次），旧令牌立即失效
      site activate 标识               为已吊销的站点签发新令牌并重新启用
      site move 标识 --parent 上级     调整站点的上级；各办公室同步后收到新的站点树
      admin add --name 姓名            管理员令牌只显示一次
      admin list [--json] | admin revoke 姓名
      backup --to 文件                 在线备份（服务不停）
      restore --from 文件              恢复到已停止的服务的数据目录
      doctor                           检查数据目录、完整性、磁盘、时钟、监听地址
    """)

let argv = Array(CommandLine.arguments.dropFirst())
guard let verb = argv.first, !["--help", "-h", "help"].contains(verb) else {
    Console.out(usage)
    exit(argv.isEmpty ? ExitCode.usage.rawValue : 0)
}
guard let command = verbs[verb] else {
    Console.err("cpsyncd: " + UsageError.unknownCommand(verb).description + "\n" + usage)
    exit(ExitCode.usage.rawValue)
}
do {
    exit(try command(Array(argv.dropFirst())))
} catch let e as UsageError {
    Console.err("cpsyncd: \(e)")
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
