import CPPCC
import CPSyncCLI
import CPSyncClient
import CPSyncCore
import CPSyncProtocol
import Foundation

/// What the transfer verbs tell the clerk besides their summary.
enum SyncNotes {
    /// After a push/pull/sync: say so when the county database had been restored and everything was resent.
    static func afterTransfer(_ client: SyncClient) {
        guard client.serverWasRestored else { return }
        Console.err(L10n.pick(en: "note: the county server was restored from a backup; this office sent and received everything again (nothing was lost)",
                              zh: "提示：县政协服务器已从备份恢复，本办公室已重新发送和接收全部数据（数据没有丢失）"))
    }
}

/// The office whose edit lost is told: after a sync (and in `status`), the county's open conflicts in which this
/// office's value was not kept, with the value kept instead and where an admin decides.
enum LostEditNotes {
    /// Prints them on stderr (at most `limit`); returns how many there are. A county that cannot be asked says nothing.
    @discardableResult
    static func report(_ client: SyncClient, limit: Int = 10) -> Int {
        guard let lost = try? client.lostEdits(), !lost.isEmpty else { return 0 }
        Console.err(L10n.pick(
            en: "\(lost.count) of this office's edits were not kept: another office changed the same field at the same time; each is kept as a conflict for the county's admin to decide:",
            zh: "本办公室有 \(lost.count) 处修改未被采用：其他站点同时修改了同一字段；每处都已作为冲突保留，由县政协管理员裁定："))
        for c in lost.prefix(limit) { Console.err("  " + describe(c)) }
        if lost.count > limit {
            Console.err(L10n.pick(en: "  … and \(lost.count - limit) more", zh: "  ……另有 \(lost.count - limit) 处"))
        }
        Console.err(L10n.pick(en: "  (the admin page, or `cpsync conflicts show ID` with an admin token, shows each one)",
                              zh: "  （管理员可在管理页面或用 `cpsync conflicts show 编号` 查看每一处）"))
        return lost.count
    }

    static func describe(_ c: ConflictDTO) -> String {
        L10n.pick(en: "conflict \(c.id): \(c.tableLabel) \(c.rowLabel) · \(c.columnLabel): yours \(show(c.other.value)), kept \(show(c.winner.value)) (\(c.winner.siteName))",
                  zh: "冲突 \(c.id)：\(c.tableLabel) \(c.rowLabel) · \(c.columnLabel)：本站的值「\(show(c.other.value))」，采用的值「\(show(c.winner.value))」（\(c.winner.siteName)）")
    }

    static func show(_ v: Value) -> String {
        switch v {
        case .null: L10n.pick(en: "(empty)", zh: "（空）")
        case .text(let s): s.count > 30 ? String(s.prefix(29)) + "…" : s
        default: v.description
        }
    }
}

/// Changes set aside (the county would refuse them): listed after a transfer, and the reason the command does not
/// exit 0 — what it moved is not everything the clerk saved.
enum HeldNotes {
    /// Prints the held changes on stderr; returns the exit code the transfer ends with.
    static func report(_ client: SyncClient) throws -> Int32 {
        let held = try client.replica.held()
        guard !held.isEmpty else { return 0 }
        Console.err(L10n.pick(en: "\(held.count) changes are set aside and were not sent (everything else was); fix each record and sync again:",
                              zh: "有 \(held.count) 条修改被暂缓、未发送（其余修改均已发送）；请逐条更正后重新同步："))
        for h in held.prefix(20) { Console.err("  " + describe(h, in: client.replica.database)) }
        if held.count > 20 { Console.err(L10n.pick(en: "  … and \(held.count - 20) more (cpsync status --json lists all)", zh: "  ……另有 \(held.count - 20) 条（cpsync status --json 列出全部）")) }
        return ExitCode.dataError.rawValue
    }

    /// One held change as the clerk reads it: the record by its name (a member's name, a proposal's number and
    /// title), the field by its label, what to do in the clerk's language — and, apart, the technical detail as the
    /// county or the local check gave it.
    static func describe(_ h: Replica.HeldChange, in db: Database) -> String {
        let zh = L10n.isChinese
        let record = FieldLabels.table(h.table, chinese: zh) + (zh ? "" : " ") + quoted(FieldLabels.row(h.table, pk: h.pk, in: db))
        let field = h.column.map { " · " + FieldLabels.column($0, chinese: zh) } ?? ""
        guard zh else { return record + field + ": " + h.reason }
        return record + field + "：" + chinese(code: h.code) + "（技术信息：" + h.reason + "）"
    }

    static func quoted(_ label: String) -> String { L10n.isChinese ? "「\(label)」" : "'\(label)'" }

    /// What a held change's code asks of the clerk, in Chinese (the codes are the county's, §10, and the local checks').
    static func chinese(code: String) -> String {
        switch code {
        case "forbidden": "本站无权修改这条记录（它不属于本站辖区，或已由县政协办理）；如确需修改，请联系县政协"
        case "constraint_violated": "该字段的值不符合数据规则，请更正后重新同步"
        case "wrong_type": "该字段的值类型不对，请更正后重新同步"
        case "malformed_key": "记录编号无效（为空、过长或含控制字符），请删除该记录后重新录入"
        case "value_too_large": "内容超出字段允许的长度，请缩短后重新同步"
        case "invalid_text": "文字不是有效的编码（可能由其他软件写入），请重新输入该字段"
        case "unknown_table", "unknown_column": "县政协的服务器不认识这个表或字段（版本不一致），请报告县政协管理员"
        default: ServerErrorText.chinese(code: code) ?? "县政协未接受这条修改，请报告县政协管理员"
        }
    }
}

/// Warns (on stderr) when this PC's clock differs from the server's by more than the server's limit.
enum ClockCheck {
    static func warnIfSkewed(_ client: SyncClient) {
        guard let (status, skew) = try? client.serverStatus(), abs(skew) > status.maxSkewMs / 2 else { return }
        let minutes = abs(skew) / 60_000
        if skew > 0 {
            Console.err(L10n.pick(en: "warning: this PC's clock is \(minutes) min ahead of the county server; fix the PC clock — changes stamped too far ahead are refused and stay queued here",
                                  zh: "警告：本机时钟比县政协服务器快 \(minutes) 分钟，请校准电脑时间；时间过快的修改会被拒绝，但仍保留在本机排队"))
        } else {
            Console.err(L10n.pick(en: "warning: this PC's clock is \(minutes) min behind the county server; please fix the PC clock",
                                  zh: "警告：本机时钟比县政协服务器慢 \(minutes) 分钟，请校准电脑时间"))
        }
    }
}
