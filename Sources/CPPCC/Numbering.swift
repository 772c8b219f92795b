import CPSyncText

/// Proposal numbers (案号) that never collide.
///
/// Offices work offline, so an office cannot know which 案号 the next one is. An office therefore gives a new
/// proposal a *provisional* number made of its own site id, the year and its own sequence (`huashan-2026-003`):
/// two offices can never make the same one, and each office is one replica. The county gives the real 案号,
/// "YYYY-NNN", at 立案 (`Office.file`, a county workflow step), numbering among the year's filed proposals.
/// Not-filed, merged and converted proposals keep their provisional number: they never get a 案号.
///
/// Existing data needs no migration: only how new numbers are made changed. An old office-made "2026-001" that two
/// offices both gave stays until 立案, where a number another proposal also carries is replaced by the next free
/// one (so a filed 案号 is unique); until then `proposal show 2026-001` lists both and the id prefix picks one.
extension Proposal {
    /// The sequence of a county 案号 "YYYY-NNN" (digits only, four-digit year), nil for any other number.
    public static func countySequence(of number: String) -> Int? {
        let u = Array(number.utf8)
        guard u.count >= 6, u[4] == UInt8(ascii: "-"),
              u.enumerated().allSatisfy({ $0.offset == 4 || (0x30...0x39).contains($0.element) }) else { return nil }
        return Int(String(decoding: u[5...], as: UTF8.self))
    }

    /// Whether `number` has the form of an office's provisional number: "SITE-YYYY-NNN".
    public static func looksProvisional(_ number: String) -> Bool {
        let parts = number.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, let seq = parts.last, let year = parts.dropLast().last, !parts[0].isEmpty else { return false }
        return year.count == 4 && !seq.isEmpty && (year + seq).allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// "SITE-YYYY-": the start of an office's provisional numbers. A site id that is a UUID (a replica made
    /// without `--site`) is shortened to its first eight characters.
    public static func provisionalPrefix(site: String, year: Int) -> String {
        let tag = site.count == 36 && site.filter({ $0 == "-" }).count == 4 ? String(site.prefix(8)) : site
        return tag + "-" + String(format: "%04d", year) + "-"
    }
}

extension ProposalStatus {
    /// Filed (立案) or a later handling stage: the proposal carries a county 案号.
    public var isFiledBranch: Bool { [.filed, .assigned, .replied, .evaluated, .closed].contains(self) }
}

/// A proposal number that cannot be given; nothing was changed. Exit code 65.
public enum NumberingError: UserFacingError, Sendable, Equatable {
    /// An office typed a number of the county's 案号 form.
    case countyNumberAtOffice(String, provisional: String)
    /// Another proposal on this replica already has the number.
    case numberTaken(String, by: String)
    /// No proposal has this provisional number (any more: 立案 replaced it with the 案号).
    case provisionalNotFound(String)

    public var exitCode: ExitCode { .dataError }

    public func text(in language: Language) -> String {
        switch self {
        case .countyNumberAtOffice(let n, let provisional):
            language.pick(en: "'\(n)' is a county 案号; the county gives it at filing (立案). Leave --number out and this office gives the provisional number \(provisional)",
                      zh: "'\(n)' 是县政协的案号，由县政协在立案时给出；请去掉 --number，本站点将给出临时编号 \(provisional)")
        case .numberTaken(let n, let id):
            language.pick(en: "number '\(n)' is already used by proposal \(id); leave --number out to get a new one",
                      zh: "编号 '\(n)' 已被提案 \(id) 使用；请去掉 --number，由系统给出新编号")
        case .provisionalNotFound(let n):
            language.pick(en: "no proposal has the number '\(n)'; a provisional number is replaced by the county's 案号 at filing (立案): find the proposal in `cpsync proposal list` and use its 案号 or id",
                      zh: "找不到编号为 '\(n)' 的提案；临时编号在立案时由县政协的案号取代：请在 `cpsync proposal list` 中查到该提案，改用其案号或编号")
        }
    }
}
