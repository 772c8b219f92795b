import CPSyncCLI
import CPSyncClient
import CPSyncCore
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
