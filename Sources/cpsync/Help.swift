import CPSyncCLI

enum Help {
    static var text: String {
        L10n.pick(en: """
            usage: cpsync VERB [options]
              init        create an office replica (--db --server --site --token [--ca-file])
              push | pull | sync | status      exchange changes with the county server
              conflicts   list | show ID | resolve ID --keep|--take-other|--set VALUE [--note TEXT]  (admin token)
              member | proposal | social | activity    office records (work offline)
              report      annual statistics (--year Y [--site ID] [--format text|json|csv|html])
              import | export    CSV for Excel
              demo seed   fill a replica with sample data
            every verb takes --db PATH (default $CPSYNC_DB or ./cpsync.db); --json for scripts where it applies
            """, zh: """
            用法：cpsync 命令 [选项]
              init        创建办公室副本（--db --server --site --token [--ca-file]）
              push | pull | sync | status      与县政协服务器交换数据
              conflicts   list | show ID | resolve ID --keep|--take-other|--set 值 [--note 说明]（管理员令牌）
              member | proposal | social | activity    委员、提案、社情民意、履职活动（可离线使用）
              report      年度统计（--year 年份 [--site 站点] [--format text|json|csv|html]）
              import | export    Excel 用 CSV 导入导出
              demo seed   填充示例数据
            所有命令都接受 --db 路径（默认 $CPSYNC_DB 或 ./cpsync.db）；脚本可用 --json
            """)
    }
}
