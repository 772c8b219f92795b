import CPSyncCLI

/// A one-line progress indicator on stderr, only when it is a terminal and the work spans pages.
enum Progress {
    static func reporter(enabled: Bool) -> ((String, Int, Bool) -> Void)? {
        guard enabled, Console.stderrIsTerminal else { return nil }
        return { what, pages, more in
            let label = what == "push" ? L10n.pick(en: "pushing", zh: "正在推送") : L10n.pick(en: "pulling", zh: "正在拉取")
            if more || pages > 1 {
                Console.err("\r\(label) [\(String(repeating: "#", count: min(pages, 40)))] \(pages) " + L10n.pick(en: "pages", zh: "页"),
                            terminator: more ? "" : "\n")
            }
        }
    }
}
