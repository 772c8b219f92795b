import CPPCC
import CPSyncCLI
import CPSyncProtocol

/// Every verb and sub-verb of `cpsync` with every option and an example (`cpsync help VERB [SUB]`, `VERB --help`).
enum Help {
    private typealias O = HelpOption
    private static let json = O("--json", "machine-readable output", "输出 JSON，供脚本使用")

    static let catalog = HelpCatalog(
        program: "cpsync",
        version: "\(Release.version) (protocol v\(ProtocolVersion.current), schema v\(CPPCCSchema.version))",
        verbs: [
            .init("init", en: "create this office's replica, tied to its site on the county server", zh: "创建本办公室数据库，并与县政协服务器上的站点绑定"),
            .init("push", en: "send this office's changes to the county server", zh: "把本办公室的修改推送到县政协服务器"),
            .init("pull", en: "receive the other offices' changes", zh: "从服务器拉取其他办公室的修改"),
            .init("sync", en: "push, then pull", zh: "先推送再拉取"),
            .init("status", en: "pending changes, last push and pull, clock skew", zh: "待推送修改、上次推送和拉取、时钟偏差"),
            .init("conflicts", en: "review the conflicts the server found (admin token)", zh: "审核服务器发现的冲突（管理员令牌）"),
            .init("member", en: "the member roster (委员)", zh: "委员名册"),
            .init("proposal", en: "proposals (提案) and their workflow, from submission to 办结", zh: "提案及其办理流程，从提交到办结"),
            .init("social", en: "social-conditions information (社情民意信息)", zh: "社情民意信息"),
            .init("activity", en: "duty activities (履职活动)", zh: "履职活动"),
            .init("report", en: "the statistics of a year or period, for the annual work summary", zh: "年度或时段统计，供年度工作总结使用"),
            .init("import", en: "read members or proposals from a CSV file saved by Excel", zh: "从 Excel 保存的 CSV 文件导入委员或提案"),
            .init("export", en: "write members or proposals as CSV for Excel", zh: "把委员或提案导出为 Excel 可用的 CSV"),
            .init("demo", en: "fill a replica with sample county data", zh: "填充示例数据"),
            .init("order", en: "the county's order of sites and handling units, for lists and the report", zh: "站点和承办单位的排列顺序（用于列表和统计表）"),
        ],
        commands: commands,
        common: [O("--db PATH", "the office database (default $CPSYNC_DB, else ./cpsync.db)", "办公室数据库（默认 $CPSYNC_DB，否则 ./cpsync.db）"),
                 O("--help", "this help; opens no database", "显示本帮助（不打开数据库）")],
        footer: (en: "every verb takes --db PATH (default $CPSYNC_DB or ./cpsync.db); --json for scripts where it applies",
                 zh: "所有命令都接受 --db 路径（默认 $CPSYNC_DB 或 ./cpsync.db）；脚本可用 --json"))

    static let commands: [CommandHelp] = [
        CommandHelp("init", nil, "--server URL --token TOKEN [--site ID] [--ca-file PEM]",
                    en: "creates the office database and stores the server, site and token in it; run once per office. The site comes from the server (the token's site); a --site that differs is refused and nothing is created",
                    zh: "创建办公室数据库并保存服务器、站点和令牌；每个办公室运行一次。站点由服务器按令牌确认；--site 与令牌不符时拒绝，不创建任何文件",
                    options: [O("--server URL", "the county server, e.g. https://cpsync.example.gov.cn", "县政协服务器地址"),
                              O("--site ID", "this office's site id as the county registered it; needed only when the server cannot be reached", "县里登记的本办公室站点标识；仅在无法连接服务器时必需"),
                              O("--token TOKEN", "the site token the county admin handed out", "县管理员发放的站点令牌"),
                              O("--ca-file PEM", "trust this certificate authority (a county's own CA)", "信任此 CA 证书（县里自建 CA 时）")],
                    example: "cpsync init --db huashan.db --server https://cpsync.example.gov.cn --token 3f9c…"),
        CommandHelp("push", nil, "[--json]", en: "sends this office's changes; warns first when the PC clock is off",
                    zh: "推送本办公室的修改；电脑时钟不准时先给出提示", options: [json], example: "cpsync push --db huashan.db"),
        CommandHelp("pull", nil, "[--reset] [--page-size N] [--json]", en: "receives the other offices' changes in pages",
                    zh: "分页拉取其他办公室的修改",
                    options: [O("--reset", "pull everything again from the beginning", "从头重新拉取全部数据"),
                              O("--page-size N", "changes per page", "每页修改条数"), json],
                    example: "cpsync pull --db huashan.db"),
        CommandHelp("sync", nil, "[--json]", en: "push, then pull; exits 0 only when both completed", zh: "先推送再拉取；两者都完成才返回 0",
                    options: [json], example: "cpsync sync --db huashan.db"),
        CommandHelp("status", nil, "[--json]", en: "pending changes, last push/pull, cursor, server reachability and clock skew; read-only",
                    zh: "待推送修改、上次推送/拉取、拉取位置、服务器是否可连接、时钟偏差（只读）", options: [json],
                    example: "cpsync status --db huashan.db"),
    ] + conflicts + member + proposal + social + activity + order + [
        CommandHelp("report", nil, "(--year Y | --from DATE --to DATE) [--site ID] [--format text|json|csv|html] [--english-headers] [--out FILE]",
                    en: "the statistics the annual work summary quotes, for a year or any period; read-only",
                    zh: "年度工作总结引用的统计数据，可按年度或任意时段（只读）",
                    options: [O("--year Y", "the calendar year", "统计年度"),
                              O("--from DATE", "first day of the period (YYYY-MM-DD), with --to", "时段起始日（YYYY-MM-DD），与 --to 同用"),
                              O("--to DATE", "last day of the period, included (截至)", "时段截止日（含当天）"),
                              O("--site ID", "only this site and the sites under it", "只统计此站点及其下级站点"),
                              O("--format F", "text (default), json, csv or html (prints on A4)", "text（默认）、json、csv 或 html（可打印 A4）"),
                              O("--english-headers", "CSV with English column keys instead of Chinese headers", "CSV 使用英文列名"),
                              O("--out FILE", "write to FILE instead of standard output", "写入文件而不是标准输出"), json],
                    example: "cpsync report --from 2026-01-01 --to 2026-06-30 --format html --out 上半年.html"),
        CommandHelp("import", nil, "members|proposals FILE.csv [--json]",
                    en: "imports every row of the CSV or none; headers in Chinese or English. A row updates the record it matches (its id; else members by name + phone, proposals by 案号, else by title + proposer), so importing a file twice adds nothing; UTF-8 (with or without BOM) or GB18030/GBK as older Excel saves it; 序号, 备注 and unknown columns are ignored and named; duplicates are warned about",
                    zh: "导入 CSV 全部行（出错则一行都不导入）；表头可用中文或英文。每行更新与之对应的记录（按编号；无编号时委员按姓名+电话，提案按案号，无案号按标题+第一提案人），重复导入同一文件不会重复添加；可读 UTF-8（含 BOM）及旧版 Excel 保存的 GB18030/GBK；序号、备注及未知列忽略并列出；疑似重复的委员给出警告",
                    options: [json], example: "cpsync import members 委员名册.csv"),
        CommandHelp("export", nil, "members|proposals [--format csv] [--english-headers] [--out FILE]",
                    en: "writes CSV (UTF-8 with BOM, opens in Excel); read-only", zh: "导出 CSV（带 BOM 的 UTF-8，Excel 可直接打开）（只读）",
                    options: [O("--format csv", "the only format", "目前只支持 csv"),
                              O("--english-headers", "English column keys instead of Chinese headers", "使用英文列名"),
                              O("--out FILE", "write to FILE instead of standard output", "写入文件而不是标准输出")],
                    example: "cpsync export proposals --out 提案.csv"),
        CommandHelp("demo", "seed", "[--site ID]", en: "fills the replica with sample data; creates it (site `county`) when absent",
                    zh: "填充示例数据；数据库不存在时创建（站点默认 county）",
                    options: [O("--site ID", "the site of a new replica", "新建数据库的站点")], example: "cpsync demo seed --db demo.db"),
    ]

    private static let server = [O("--server URL", "the server (default: the admin file ~/.config/cpsync/admin.conf or $CPSYNC_ADMIN_CONFIG, mode 0600; else the office database's)", "服务器地址（默认取自管理员配置文件 ~/.config/cpsync/admin.conf 或 $CPSYNC_ADMIN_CONFIG，权限须为 0600；否则取自办公室数据库）"),
                                 O("--token TOKEN", "an admin token (default: the admin file's; else the office database's)", "管理员令牌（默认取自管理员配置文件；否则取自办公室数据库）"),
                                 O("--ca-file PEM", "trust this certificate authority", "信任此 CA 证书")]

    static let order: [CommandHelp] = [
        CommandHelp("order", "show", "[--json]", en: "sites and handling units in the order lists and the report use; read-only",
                    zh: "按列表和统计表使用的顺序显示站点和承办单位（只读）", options: [json], example: "cpsync order show"),
        CommandHelp("order", "sites", "ID… [--file FILE] [--json]",
                    en: "sets the order of the sites (the county stays first; sites not named follow by kind and name in Chinese order); a setting of this database, not synced",
                    zh: "设置站点顺序（县政协始终在前；未列出的站点按类别和名称拼音排在后面）；仅保存在本数据库，不同步",
                    options: [O("--file FILE", "the ids from a file, one a line", "从文件读取，每行一个"), json],
                    example: "cpsync order sites chengguan huashan taohe"),
        CommandHelp("order", "units", "NAME… [--file FILE] [--json]",
                    en: "sets the order of the handling units (承办单位) as the county's documents list them; units not named follow; a setting of this database, not synced",
                    zh: "按县里文件的顺序设置承办单位顺序；未列出的单位排在后面；仅保存在本数据库，不同步",
                    options: [O("--file FILE", "the names from a file (UTF-8 or GB18030), one a line or a CSV's first column", "从文件读取（UTF-8 或 GB18030），每行一个或取 CSV 第一列"), json],
                    example: "cpsync order units --file 承办单位顺序.txt"),
        CommandHelp("order", "clear", "sites|units [--json]", en: "forgets the order set", zh: "清除已设置的顺序",
                    options: [json], example: "cpsync order clear units"),
    ]

    static let conflicts: [CommandHelp] = [
        CommandHelp("conflicts", "list", "[--status open|resolved|all] [--table T] [--site ID] [--from DATE] [--to DATE] [--json]",
                    en: "lists the conflicts the server recorded; read-only", zh: "列出服务器记录的冲突（只读）",
                    options: [O("--status S", "open, resolved or all", "open（待处理）、resolved（已处理）或 all（全部）"),
                              O("--table T", "only this table, e.g. proposals", "只列此表，如 proposals"),
                              O("--site ID", "only conflicts involving this site", "只列涉及此站点的冲突"),
                              O("--from DATE", "detected on or after", "发现日期不早于"), O("--to DATE", "detected on or before", "发现日期不晚于"),
                              json] + server,
                    example: "cpsync conflicts list --status open"),
        CommandHelp("conflicts", "show", "ID [--json]", en: "both values of one conflict, who wrote them and when; read-only",
                    zh: "显示一条冲突的两个值、由谁何时写入（只读）", options: [json] + server, example: "cpsync conflicts show 12"),
        CommandHelp("conflicts", "resolve", "ID --keep|--take-other|--set VALUE [--note TEXT] [--json]",
                    en: "settles a conflict; the resolution is audited and reaches every office", zh: "处理冲突；处理结果记入审计并同步到各办公室",
                    options: [O("--keep", "keep the current winner", "保留当前胜出值"), O("--take-other", "take the other value", "改用另一值"),
                              O("--set VALUE", "write a third value", "写入新的值"), O("--note TEXT", "why, for the audit trail", "处理说明（记入审计）"),
                              json] + server,
                    example: "cpsync conflicts resolve 12 --take-other --note 以华山镇为准"),
    ]

    /// `VERB void` and `VERB restore` (作废 / 恢复), the same for members, proposals, social reports and activities.
    private static func voidHelp(_ verb: String, _ key: String, example: String) -> [CommandHelp] {
        [CommandHelp(verb, "void", "\(key) --reason TEXT [--date D] [--json]",
                     en: "voids it (作废): kept with the reason, but left out of lists and the report; the county can restore it",
                     zh: "作废：记录和原因保留，但不再出现在列表和统计中；县政协可恢复",
                     options: [O("--reason TEXT", "why (required)", "作废原因（必填）"), O("--date D", "voided on, YYYY-MM-DD (default today)", "作废日期，YYYY-MM-DD（默认今天）"), json],
                     example: "cpsync \(verb) void \(example) --reason 重复登记"),
         CommandHelp(verb, "restore", "\(key) [--json]", en: "restores a voided record; county offices only", zh: "恢复已作废的记录（仅县政协）",
                     options: [json], example: "cpsync \(verb) restore \(example)")]
    }

    private static let voided = O("--voided", "only voided (作废) records", "只列已作废的")

    private static let memberFields = [
        O("--gender G", "男 or 女", "男 或 女"), O("--sector S", "界别, e.g. 科技, 经济, 教育", "界别，如 科技、经济、教育"),
        O("--party P", "party or 无党派", "党派，或 无党派"), O("--term T", "届, e.g. 八届", "届次，如 八届"),
        O("--site ID", "the site the member belongs to", "所属站点"), O("--phone N", "phone number", "电话"),
        O("--employer U", "work unit", "工作单位"), O("--position P", "position at the work unit", "职务"),
    ]

    static let member: [CommandHelp] = [
        CommandHelp("member", "add", "--name NAME [--gender 男|女] [--sector 界别] [--party P] [--term 届] [--site ID] [--phone N] [--employer U] [--position P] [--id ID] [--json]",
                    en: "adds a member", zh: "添加委员",
                    options: [O("--name NAME", "the member's name (required)", "姓名（必填）")] + memberFields
                        + [O("--id ID", "use this id instead of a new one", "指定标识（默认自动生成）"), json],
                    example: "cpsync member add --name 王芳 --gender 女 --sector 科技 --party 九三学社 --term 八届 --site huashan"),
        CommandHelp("member", "list", "[--site ID] [--sector S] [--term T] [--voided] [--json]", en: "lists members; read-only", zh: "列出委员（只读）",
                    options: [O("--site ID", "only this site", "只列此站点"), O("--sector S", "only this sector", "只列此界别"),
                              O("--term T", "only this term", "只列此届"), voided, json],
                    example: "cpsync member list --sector 科技"),
        CommandHelp("member", "show", "ID|NAME [--json]", en: "one member's record (by name, id or the id's first characters as `member list` prints them); read-only", zh: "显示一位委员的信息（按姓名、编号或列表所示编号的前几位查找；只读）",
                    options: [json], example: "cpsync member show 王芳"),
        CommandHelp("member", "edit", "ID|NAME [--name NAME] [--gender …] [--sector …] [--party …] [--term …] [--site …] [--phone …] [--employer …] [--position …] [--json]",
                    en: "changes the fields given (an empty value clears a field: --phone \"\"), keeps the others, and says which changed; gender 男/女 and phone numbers are checked",
                    zh: "修改给出的字段（值为空则清除该字段，如 --phone \"\"），其余不变，并列出改动的字段；性别须为 男/女，电话须为号码",
                    options: [O("--name NAME", "new name", "新姓名")] + memberFields + [json],
                    example: "cpsync member edit 王芳 --phone 13800000000"),
    ] + voidHelp("member", "ID|NAME", example: "王芳")

    private static let date = O("--date D", "the date of this step, YYYY-MM-DD (default today)", "本步骤日期，YYYY-MM-DD（默认今天）")
    private static func step(_ sub: String, _ synopsis: String, en: String, zh: String, options: [O] = [], example: String) -> CommandHelp {
        CommandHelp("proposal", sub, synopsis, en: en, zh: zh, options: options + [json], example: example)
    }

    static let proposal: [CommandHelp] = [
        step("add", "--title T --proposer MEMBER [--body B] [--cosigner MEMBER]… [--number 案号] [--session 会议] [--year Y] [--date D] [--site ID] [--draft] [--id ID] [--json]",
             en: "registers a proposal (submitted, or a draft with --draft)", zh: "登记提案（已提交；加 --draft 为草稿）",
             options: [O("--title T", "title (required)", "标题（必填）"), O("--proposer MEMBER", "lead proposer, id or name (required)", "第一提案人，标识或姓名（必填）"),
                       O("--body B", "the text", "正文"), O("--cosigner MEMBER", "a co-signer (联名); repeat for each", "联名人；每人写一次"),
                       O("--number 案号", "the number (default: this office's provisional number SITE-YEAR-NNN; the county gives the 案号 at filing)", "编号（默认为本站点临时编号“站点-年度-序号”，案号由县政协立案时给出）"),
                       O("--session S", "the session, e.g. 八届四次会议", "会议，如 八届四次会议"),
                       O("--year Y", "the year (default: of --date)", "年度（默认取 --date 的年份）"),
                       O("--date D", "submitted on, YYYY-MM-DD", "提交日期，YYYY-MM-DD"), O("--site ID", "the office it belongs to", "所属站点"),
                       O("--draft", "keep it as a draft", "保存为草稿"), O("--id ID", "use this id", "指定标识")],
             example: "cpsync proposal add --title 关于改善乡村道路的提案 --proposer 王芳 --cosigner 李明 --session 八届四次会议 --date 2026-01-12"),
        step("list", "[--year Y] [--site ID] [--status S] [--key] [--voided] [--json]", en: "lists proposals; read-only", zh: "列出提案（只读）",
             options: [O("--year Y", "only this year", "只列此年度"), O("--site ID", "only this site", "只列此站点"),
                       O("--status S", "only this state: \(ProposalStatus.choices)", "只列此状态：\(ProposalStatus.choices)"),
                       O("--key", "only key proposals (重点提案)", "只列重点提案"), voided],
             example: "cpsync proposal list --year 2026 --status filed"),
        step("show", "ID|案号 [--json]", en: "one proposal (by 案号, provisional number, id or the id's first characters) with its co-signers and handling units; read-only", zh: "显示提案及联名人、承办单位（按案号、临时编号、编号或编号的前几位查找；只读）",
             example: "cpsync proposal show 2026-001"),
        step("edit", "ID|案号 [--title T] [--body B | --body-file FILE] [--proposer MEMBER] [--cosigner MEMBER]… [--remove-cosigner MEMBER]… [--cosigners \"A;B\"] [--number 案号] [--session S] [--year Y] [--date D] [--site ID] [--key | --not-key] [--supervisor NAME] [--json]",
             en: "changes the fields given, keeps the others, and says which changed (the workflow's state changes only through its steps); an office edits its proposals while draft or submitted",
             zh: "修改给出的字段，其余不变，并列出改动的字段（办理状态只能通过流程命令改变）；办公室只能修改草稿或已提交的本站点提案",
             options: [O("--title T", "new title", "新标题"), O("--body B", "new text", "新正文"),
                       O("--body-file FILE", "the text from a file (UTF-8 or GB18030)", "从文件读取正文（UTF-8 或 GB18030）"),
                       O("--proposer MEMBER", "the lead proposer, id or name", "第一提案人，标识或姓名"),
                       O("--cosigner MEMBER", "add a co-signer; repeat for each", "增加联名人；每人写一次"),
                       O("--remove-cosigner MEMBER", "remove a co-signer; repeat for each", "删除联名人；每人写一次"),
                       O("--cosigners \"A;B\"", "replace all co-signers (separated by ; 、 or ,; empty: none)", "替换全部联名人（用 ；、， 分隔；为空则清除）"),
                       O("--number 案号", "the number (an office cannot give itself a county 案号)", "编号（办公室不能自行使用县政协案号）"),
                       O("--session S", "the session, e.g. 八届四次会议", "会议，如 八届四次会议"), O("--year Y", "the year", "年度"),
                       O("--date D", "submitted on, YYYY-MM-DD", "提交日期，YYYY-MM-DD"), O("--site ID", "the office it belongs to", "所属站点"),
                       O("--key", "mark it a key proposal (county)", "列为重点提案（县政协）"), O("--not-key", "no longer a key proposal (county)", "取消重点提案（县政协）"),
                       O("--supervisor NAME", "the chair who supervises it (county)", "督办领导（县政协）")],
             example: "cpsync proposal edit huashan-2026-001 --title 关于改善乡村道路养护的提案 --cosigner 李明 --remove-cosigner 赵强"),
        step("submit", "ID [--date D]", en: "submits a draft", zh: "提交草稿", options: [date], example: "cpsync proposal submit 2026-001"),
        step("review", "ID", en: "starts the review (审查)", zh: "进入审查", example: "cpsync proposal review 2026-001"),
        step("file", "ID [--key] [--supervisor NAME] [--date D]", en: "files it (立案) and gives its 案号, the year's next; county offices only", zh: "立案并给出案号（按年度顺序）；仅县政协",
             options: [O("--key", "mark it a key proposal (重点提案)", "列为重点提案"), O("--supervisor NAME", "the chair who supervises it (督办)", "督办领导"), date],
             example: "cpsync proposal file huashan-2026-001 --key --supervisor 张主席 --date 2026-02-01"),
        step("reject", "ID --reason TEXT", en: "not filed (不予立案), with the reason", zh: "不予立案，并说明理由",
             options: [O("--reason TEXT", "why (required)", "理由（必填）")], example: "cpsync proposal reject 2026-002 --reason 不属于政协提案范围"),
        step("merge", "ID --into ID", en: "merges it into another proposal (并案)", zh: "并案到另一件提案",
             options: [O("--into ID", "the proposal it is merged into (required)", "并入的提案（必填）")], example: "cpsync proposal merge 2026-003 --into 2026-001"),
        step("convert", "ID --to letter|social [--date D]", en: "converts it to a member's letter or social-conditions information",
             zh: "转为委员来信或社情民意信息",
             options: [O("--to letter|social", "委员来信 or 社情民意 (required)", "letter（委员来信）或 social（社情民意）（必填）"), date],
             example: "cpsync proposal convert 2026-004 --to social"),
        step("assign", "ID --unit UNIT [--role lead|co] [--due D] [--date D]", en: "assigns it to a handling unit (交办)", zh: "交办承办单位",
             options: [O("--unit UNIT", "the handling unit (承办单位) (required)", "承办单位（必填）"),
                       O("--role lead|co", "主办 (lead, default) or 协办 (co)", "lead（主办，默认）或 co（协办）"),
                       O("--due D", "reply due by, YYYY-MM-DD", "答复期限，YYYY-MM-DD"), date],
             example: "cpsync proposal assign 2026-001 --unit 县交通运输局 --role lead --due 2026-05-01"),
        step("reply", "ID [--unit UNIT] --category A|B|C --text TEXT [--met] [--date D]", en: "records a unit's reply (答复)", zh: "登记承办单位答复",
             options: [O("--unit UNIT", "which unit replied (needed when several)", "答复单位（有多个承办单位时必填）"),
                       O("--category A|B|C", "A solved/adopted, B being solved, C kept for reference (required)", "A 已解决或采纳，B 正在解决或列入计划，C 留作参考（必填）"),
                       O("--text TEXT", "the reply (required)", "答复内容（必填）"), O("--met", "the unit met the proposer face to face (见面)", "已与提案人见面沟通"), date],
             example: "cpsync proposal reply 2026-001 --unit 县交通运输局 --category A --text 已列入年度计划 --met"),
        step("evaluate", "ID [--unit UNIT] --satisfaction 满意|基本满意|不满意 [--date D]", en: "records the proposer's evaluation of a reply",
             zh: "登记提案人对答复的评价",
             options: [O("--unit UNIT", "which unit's reply", "评价哪个单位的答复"),
                       O("--satisfaction S", "满意, 基本满意 or 不满意 (required)", "满意、基本满意 或 不满意（必填）"), date],
             example: "cpsync proposal evaluate 2026-001 --satisfaction 满意"),
        step("close", "ID [--date D]", en: "closes it (办结); not before it was filed", zh: "办结（不得早于立案日期）",
             options: [date], example: "cpsync proposal close 2026-001 --date 2026-06-30"),
    ] + voidHelp("proposal", "ID|案号", example: "huashan-2026-003")

    static let social: [CommandHelp] = [
        CommandHelp("social", "add", "--title T [--body B] [--reporter MEMBER] [--site ID] [--date D] [--forwarded-to UNIT] [--json]",
                    en: "registers a social-conditions report", zh: "登记社情民意信息",
                    options: [O("--title T", "title (required)", "标题（必填）"), O("--body B", "the text", "正文"),
                              O("--reporter MEMBER", "who reported it", "反映人"), O("--site ID", "the office", "所属站点"),
                              O("--date D", "reported on, YYYY-MM-DD", "反映日期，YYYY-MM-DD"), O("--forwarded-to UNIT", "sent on to", "报送单位"), json],
                    example: "cpsync social add --title 关于农村养老服务的建议 --reporter 王芳 --date 2026-03-02"),
        CommandHelp("social", "list", "[--year Y] [--site ID] [--adopted] [--voided] [--json]", en: "lists reports; read-only", zh: "列出社情民意信息（只读）",
                    options: [O("--year Y", "only this year", "只列此年度"), O("--site ID", "only this site", "只列此站点"),
                              O("--adopted", "only adopted ones", "只列已采用"), voided, json],
                    example: "cpsync social list --year 2026 --adopted"),
        CommandHelp("social", "adopt", "ID [--instruction TEXT] [--forwarded-to UNIT] [--json]", en: "marks a report adopted (采用), with a leader's 批示",
                    zh: "标记为已采用，可登记领导批示",
                    options: [O("--instruction TEXT", "the leader's instruction (批示)", "领导批示"), O("--forwarded-to UNIT", "sent on to", "报送单位"), json],
                    example: "cpsync social adopt 3f2a --instruction 请民政局研究落实"),
    ] + voidHelp("social", "ID", example: "3f2a9c10")

    static let activity: [CommandHelp] = [
        CommandHelp("activity", "add", "--kind K --topic T [--date D] [--site ID] [--outcome TEXT] [--participant MEMBER]… [--json]",
                    en: "registers a duty activity", zh: "登记履职活动",
                    options: [O("--kind K", "\(ActivityKind.choices) (required)", "\(ActivityKind.choices)（必填）"),
                              O("--topic T", "the topic (required)", "主题（必填）"), O("--date D", "held on, YYYY-MM-DD", "日期，YYYY-MM-DD"),
                              O("--site ID", "the office", "所属站点"), O("--outcome TEXT", "outcome or report", "成果或报告"),
                              O("--participant MEMBER", "a participating member; repeat for each", "参加委员；每人写一次"), json],
                    example: "cpsync activity add --kind 视察 --topic 乡村道路建设 --date 2026-04-10 --participant 王芳 --participant 李明"),
        CommandHelp("activity", "list", "[--year Y] [--site ID] [--kind K] [--voided] [--json]", en: "lists activities; read-only", zh: "列出履职活动（只读）",
                    options: [O("--year Y", "only this year", "只列此年度"), O("--site ID", "only this site", "只列此站点"),
                              O("--kind K", "only this kind", "只列此类"), voided, json],
                    example: "cpsync activity list --year 2026 --kind 调研"),
    ] + voidHelp("activity", "ID", example: "7b1e4d02")
}
