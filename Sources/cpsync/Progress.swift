import CPSyncCLI
import CPSyncClient
import Foundation

/// Progress of a push or pull on stderr: on a terminal, one line redrawn in place (a bar, bytes of the estimated
/// total, changes, rate, time left); otherwise a plain line every few seconds of a long transfer, with no control
/// characters; nothing under --quiet or --json.
enum Progress {
    /// A terminal line is redrawn at most this often; a plain line is written at most this often.
    static let redrawSeconds = 0.1
    static let plainSeconds = 5.0

    static func meter(enabled: Bool, terminal: Bool = Console.stderrIsTerminal) -> ((TransferSnapshot) -> Void)? {
        guard enabled else { return nil }
        let state = Throttle()
        return { snapshot in
            let now = ProcessInfo.processInfo.systemUptime
            if terminal {
                // Nothing for a one-page transfer over within half a second; then a redraw every tenth of a second.
                let worthIt = snapshot.elapsed >= 0.5 || state.drawn || (snapshot.pages > 0 && !snapshot.finished)
                guard worthIt, snapshot.finished || now - state.last >= redrawSeconds else { return }
                // Short transfers that end at once leave no line behind.
                if snapshot.finished && !state.drawn { return }
                state.last = now
                state.drawn = true
                // \r returns to the line start, ESC[K clears what a longer previous line left.
                Console.err("\r" + ProgressText.line(snapshot, chinese: L10n.isChinese) + "\u{1B}[K", terminator: snapshot.finished ? "\n" : "")
                if snapshot.finished { state.drawn = false }
            } else {
                guard snapshot.elapsed >= plainSeconds, now - state.last >= plainSeconds || (snapshot.finished && state.drawn) else { return }
                state.last = now
                state.drawn = !snapshot.finished
                Console.err(ProgressText.line(snapshot, chinese: L10n.isChinese, bar: false))
            }
        }
    }
}

/// The last time a line was written, shared by one command's reports (all on the command's thread).
private final class Throttle {
    var last = -Double.infinity
    var drawn = false
}
