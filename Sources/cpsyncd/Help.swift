import CPSyncCLI
import CPSyncProtocol

/// Every verb and sub-verb of `cpsyncd` with every option and an example (`cpsyncd help VERB [SUB]`, `VERB --help`).
enum Help {
    private typealias O = HelpOption
    private static let json = O("--json", "machine-readable output", "输出 JSON，供脚本使用")

    static let catalog = HelpCatalog(
        program: "cpsyncd",
        version: "\(Release.version) (protocol v\(ProtocolVersion.current))",
        verbs: [
            .init("serve", en: "run the county sync server", zh: "运行县政协同步服务"),
            .init("site", en: "the offices (sites) and their tokens", zh: "站点（办公室）及其令牌"),
            .init("admin", en: "administrator accounts and their tokens", zh: "管理员账号及其令牌"),
            .init("backup", en: "an online backup while the server runs", zh: "在线备份（服务不停）"),
            .init("restore", en: "restore a backup into a stopped server's data directory", zh: "把备份恢复到已停止的服务的数据目录"),
            .init("doctor", en: "check the data directory, integrity, disk, clock and listen address", zh: "检查数据目录、完整性、磁盘、时钟、监听地址"),
        ],
        commands: commands,
        common: [O("--data DIR", "the data directory (default: $CPSYNC_DATA, else `data = DIR` in /etc/cpsync/cpsyncd.conf, else ./cpsync-data)",
                   "数据目录（默认 $CPSYNC_DATA，其次 /etc/cpsync/cpsyncd.conf 中的 `data = 目录`，否则 ./cpsync-data）"),
                 O("--help", "this help; opens no data directory", "显示本帮助（不打开数据目录）")],
        footer: (en: "every verb takes --data DIR (else $CPSYNC_DATA, else /etc/cpsync/cpsyncd.conf, else ./cpsync-data)",
                 zh: "所有命令都接受 --data 目录（其次 $CPSYNC_DATA，再次 /etc/cpsync/cpsyncd.conf，否则 ./cpsync-data）"))

    static let commands: [CommandHelp] = [
        CommandHelp("serve", nil, "[--listen HOST:PORT] [--max-skew-seconds N] [--max-connections N] [--max-body-bytes N] [--quiet]",
                    en: "serves until SIGTERM/SIGINT, then finishes in-flight requests and exits 0; creates the data directory when absent",
                    zh: "持续服务直到收到 SIGTERM/SIGINT，处理完进行中的请求后退出；数据目录不存在时创建",
                    options: [O("--listen HOST:PORT", "address to listen on (default 127.0.0.1:8710)", "监听地址（默认 127.0.0.1:8710）"),
                              O("--max-skew-seconds N", "largest accepted clock lead of an office (default 600)", "允许办公室时钟超前的最大秒数（默认 600）"),
                              O("--max-connections N", "concurrent connections (default 256)", "最大并发连接数（默认 256）"),
                              O("--max-body-bytes N", "largest request body (default 16 MiB)", "请求体上限（默认 16 MiB）"),
                              O("--quiet", "no event log on standard error", "不在标准错误输出事件日志")],
                    example: "cpsyncd serve --data /var/lib/cpsync --listen 127.0.0.1:8710"),
        CommandHelp("site", "add", "--id ID --name NAME --kind county|township|street|station [--parent ID]",
                    en: "registers an office and prints its token once", zh: "登记办公室站点，令牌只显示一次",
                    options: [O("--id ID", "a–z, 0–9, '-' or '_' (required)", "标识：a–z、0–9、'-' 或 '_'（必填）"),
                              O("--name NAME", "the name people read, e.g. 华山镇政协工委 (required)", "名称，如 华山镇政协工委（必填）"),
                              O("--kind K", "county, township, street or station (required)", "county（县）、township（乡镇）、street（街道）或 station（联络站）（必填）"),
                              O("--parent ID", "the site above it (default: the county)", "上级站点（默认县政协）")],
                    example: "cpsyncd site add --id huashan --name 华山镇政协工委 --kind township --parent county"),
        CommandHelp("site", "list", "[--json]", en: "every site with parent, created and whether revoked; read-only",
                    zh: "列出全部站点及上级、创建时间、是否已吊销（只读）", options: [json], example: "cpsyncd site list"),
        CommandHelp("site", "revoke", "ID", en: "the site's token stops working at once (its data stays)", zh: "站点令牌立即失效（数据保留）",
                    example: "cpsyncd site revoke huashan"),
        CommandHelp("site", "token", "ID", en: "a new token, printed once; the old one stops working", zh: "签发新令牌（只显示一次），旧令牌立即失效",
                    example: "cpsyncd site token huashan"),
        CommandHelp("site", "activate", "ID", en: "re-activates a revoked site with a new token", zh: "为已吊销的站点签发新令牌并重新启用",
                    example: "cpsyncd site activate huashan"),
        CommandHelp("site", "move", "ID --parent P", en: "re-parents a site; every office receives the new tree", zh: "调整站点的上级；各办公室同步后收到新的站点树",
                    options: [O("--parent P", "the new site above it (required)", "新的上级站点（必填）")],
                    example: "cpsyncd site move xiyuan-station --parent huashan"),
        CommandHelp("admin", "add", "--name NAME", en: "adds an administrator and prints the token once", zh: "添加管理员，令牌只显示一次",
                    options: [O("--name NAME", "the admin's name (required)", "管理员姓名（必填）")], example: "cpsyncd admin add --name 李科长"),
        CommandHelp("admin", "list", "[--json]", en: "every administrator and whether revoked; read-only", zh: "列出管理员及是否已吊销（只读）",
                    options: [json], example: "cpsyncd admin list"),
        CommandHelp("admin", "revoke", "NAME", en: "the admin's token stops working at once", zh: "管理员令牌立即失效", example: "cpsyncd admin revoke 李科长"),
        CommandHelp("backup", nil, "--to FILE|DIR/ [--keep N] [--quiet]", en: "an online backup, checked for integrity, while the daemon serves",
                    zh: "在线备份并检查完整性（服务不停）",
                    options: [O("--to FILE|DIR/", "a file, or a directory (ending in /) for dated files (required)", "备份文件，或以 / 结尾的目录（按日期命名）（必填）"),
                              O("--keep N", "keep only the newest N backups in that directory", "目录中只保留最新的 N 个备份"),
                              O("--quiet", "print nothing when it worked", "成功时不输出")],
                    example: "cpsyncd backup --to /var/backups/cpsync/ --keep 14"),
        CommandHelp("restore", nil, "--from FILE", en: "replaces a stopped daemon's database with a checked backup; the old one is kept",
                    zh: "用检查过的备份替换已停止服务的数据库；原数据库保留",
                    options: [O("--from FILE", "the backup file (required)", "备份文件（必填）")],
                    example: "cpsyncd restore --from /var/backups/cpsync/county-2026-06-30.db"),
        CommandHelp("doctor", nil, "[--listen HOST:PORT]", en: "one PASS/WARN/FAIL line per check; exits 1 on any FAIL",
                    zh: "每项检查输出一行 PASS/WARN/FAIL；有 FAIL 时返回 1",
                    options: [O("--listen HOST:PORT", "the address serve would use (default 127.0.0.1:8710)", "服务将使用的监听地址（默认 127.0.0.1:8710）")],
                    example: "cpsyncd doctor"),
    ]
}
