import CPPCC
import CPSyncProtocol
import CPSyncText

/// Errors of the server's own administration commands (sites, tokens, admins, the data directory); each maps to
/// one exit code: refused data 65, a data-directory problem 74.
public enum ServerError: Error, CustomStringConvertible, Sendable, Equatable, UserFacingError {
    case badSite(String)
    case dataDirectory(String)
    /// `site add` with the id the server's own replica writes under: that office would never receive the server's
    /// writes (an office is not sent its own changes back).
    case serverSiteID(String)
    case badSiteID(String)
    case badKind(String)
    case siteExists(String)
    case unknownSite(String)
    case siteAlreadyRevoked(String)
    /// `site activate` on a site whose token works (`site token` issues a new one).
    case siteActive(String)
    case unknownParent(String)
    /// `site move` under the site itself or one of its descendants.
    case moveIntoOwnSubtree(site: String, parent: String)
    /// `site move` of a site without a parent (the county at the top of the tree).
    case moveRoot(String)
    /// `site move` of the server's own id (never a registered office).
    case moveServerSite(String)
    /// `site add`/`site move` under a parent whose kind cannot hold the site's (a township under a station).
    case badPlacement(site: String, kind: String, parent: String, parentKind: String)
    /// A kind change to or from county (the admin page): a county-kind site pulls and writes like the county.
    case countyKindChange(site: String, from: String, to: String)
    /// `site add` of a first site that is not the county at the top of the tree (another kind, or given a parent).
    case noRoot(site: String, kind: String)
    case badAdminName(String)
    case adminExists(String)
    case unknownAdmin(String)
    case adminAlreadyRevoked(String)
    /// Revoking, from the admin page, the only admin whose token still works.
    case lastActiveAdmin(String)

    public func text(in language: Language) -> String {
        switch self {
        case .badSite(let m): m
        case .dataDirectory(let m): m
        case .serverSiteID(let id) where id == ServerStore.defaultSiteID:
            language.pick(en: "site id '\(id)' is the county server's own id; give the office another id (e.g. 'county')",
                      zh: "站点标识 '\(id)' 是县级服务器自身的标识；请为该办公室另取一个标识（例如 'county'）")
        case .serverSiteID(let id):
            language.pick(en: "site id '\(id)' is this data directory's own server id (it was created before the server had an id of its own), so an office registered as '\(id)' would never receive resolutions or the site tree; register the county office as '\(id)-office' instead (as the first site it is the top of the tree, and townships go under it)",
                      zh: "站点标识 '\(id)' 是此数据目录中服务器自身的标识（该目录创建于服务器拥有独立标识之前），以 '\(id)' 注册的办公室将永远收不到冲突处理结果和站点树；请改用 '\(id)-office' 注册县政协办公室（作为第一个站点，它即站点树的顶层，乡镇都设在其下）")
        case .badSiteID(let id):
            language.pick(en: "site id '\(id)' must be 1–64 characters of a–z, 0–9, '-' or '_'",
                      zh: "站点标识 '\(id)' 须为 1–64 个字符，只能包含 a–z、0–9、'-' 或 '_'")
        case .badKind(let kind):
            language.pick(en: "kind '\(kind)' must be one of \(SiteKind.shortChoices(in: .english))",
                      zh: "类别 '\(kind)' 须为\(SiteKind.shortChoices(in: .chinese))之一")
        case .siteExists(let id):
            language.pick(en: "site '\(id)' already exists; use `cpsyncd site token \(id)` to issue a new token",
                      zh: "站点 '\(id)' 已存在；如需新令牌请用 `cpsyncd site token \(id)`")
        case .unknownSite(let id):
            language.pick(en: "no site '\(id)' (see `cpsyncd site list`); nothing was changed",
                      zh: "没有站点 '\(id)'（见 `cpsyncd site list`）；未做任何改动")
        case .siteAlreadyRevoked(let id):
            language.pick(en: "site '\(id)' is already revoked; `cpsyncd site activate \(id)` gives it a new token",
                      zh: "站点 '\(id)' 的令牌已吊销；`cpsyncd site activate \(id)` 可为其签发新令牌")
        case .siteActive(let id):
            language.pick(en: "site '\(id)' is active; use `cpsyncd site token \(id)` to replace its token; nothing was changed",
                      zh: "站点 '\(id)' 处于有效状态；如需更换令牌请用 `cpsyncd site token \(id)`；未做任何改动")
        case .unknownParent(let id):
            language.pick(en: "parent site '\(id)' does not exist; nothing was changed",
                      zh: "上级站点 '\(id)' 不存在；未做任何改动")
        case .moveIntoOwnSubtree(let site, let parent):
            language.pick(en: "cannot move '\(site)' under '\(parent)': '\(parent)' is '\(site)' itself or below it (the tree would have a cycle); nothing was changed",
                      zh: "不能把 '\(site)' 移到 '\(parent)' 之下：'\(parent)' 就是 '\(site)' 本身或其下级（站点树会成环）；未做任何改动")
        case .moveRoot(let id):
            language.pick(en: "site '\(id)' is the top of the site tree (it has no parent) and cannot be moved; nothing was changed",
                      zh: "站点 '\(id)' 是站点树的顶层（没有上级），不能移动；未做任何改动")
        case .moveServerSite(let id):
            language.pick(en: "'\(id)' is the county server's own id, not an office in the site tree; nothing was changed",
                      zh: "'\(id)' 是县级服务器自身的标识，不是站点树中的办公室；未做任何改动")
        case .badPlacement(let site, let kind, let parent, let parentKind):
            language.pick(en: "cannot place '\(site)' (a \(kind)) under '\(parent)' (a \(parentKind.isEmpty ? "site of no known kind" : parentKind)): \(Self.treeRule.en); nothing was changed",
                      zh: "不能把 '\(site)'（\(Self.kindName(kind))）放在 '\(parent)'（\(Self.kindName(parentKind))）之下：\(Self.treeRule.zh)；未做任何改动")
        case .countyKindChange(let site, let from, let to):
            language.pick(en: "cannot make '\(site)' (a \(from)) a \(to): only townships, streets and stations change kind; a county-kind site reads and writes everything like the county, so add a new site instead; nothing was changed",
                      zh: "不能把 '\(site)'（\(Self.kindName(from))）改为\(Self.kindName(to))：只有乡镇、街道和联络站可以更改类别；县级站点与县政协一样读写全部数据，请另行添加站点；未做任何改动")
        case .noRoot(let site, let kind):
            language.pick(en: "cannot add '\(site)' (a \(kind)): the site tree has no county at its top yet, and the first site is that county itself (--kind county, no --parent), e.g. `cpsyncd site add --id county --name 某县政协 --kind county`; \(Self.treeRule.en); nothing was changed",
                      zh: "不能添加 '\(site)'（\(Self.kindName(kind))）：站点树还没有顶层的县政协，第一个站点必须是县政协本身（--kind county，不带 --parent），例如 `cpsyncd site add --id county --name 某县政协 --kind county`；\(Self.treeRule.zh)；未做任何改动")
        case .badAdminName(let name):
            language.pick(en: "admin name '\(name)' must be 1–64 characters, without spaces at either end or control characters",
                      zh: "管理员名称 '\(name)' 须为 1–64 个字符，首尾不能有空格，也不能含控制字符")
        case .adminExists(let name):
            language.pick(en: "admin '\(name)' already exists", zh: "管理员 '\(name)' 已存在")
        case .unknownAdmin(let name):
            language.pick(en: "no admin '\(name)' (see `cpsyncd admin list`); nothing was changed",
                      zh: "没有管理员 '\(name)'（见 `cpsyncd admin list`）；未做任何改动")
        case .adminAlreadyRevoked(let name):
            language.pick(en: "admin '\(name)' is already revoked", zh: "管理员 '\(name)' 的令牌已吊销")
        case .lastActiveAdmin(let name):
            language.pick(en: "'\(name)' is the last active admin account; keep at least one (add another admin first); nothing was changed",
                      zh: "至少保留一个有效的管理员账户：'\(name)' 是最后一个有效的管理员（请先添加另一位管理员）；未做任何改动")
        }
    }

    /// The shape of the site tree in words (`ServerStore.mayPlace`), for every refusal of it.
    static let treeRule = (
        en: "the tree has one top, the county (the first site; a site added without --parent goes under it), which holds townships, streets, stations and, directly under it only, sites of kind county (the county committee's own office; at a city, its counties); a township or street holds stations; a station holds none, and neither does a county-kind site below the top",
        zh: "站点树只有一个顶层，即县政协（第一个站点；不带 --parent 添加的站点都放在它之下）；县政协下可设乡镇、街道、联络站，以及仅限直接设在其下的县级站点（县政协机关；在市级服务中为各区县）；乡镇或街道下只能设联络站；联络站下不能再设站点，顶层以下的县级站点下也不能")

    static func kindName(_ kind: String) -> String {
        ["county": "区/县政协", "township": "乡镇政协工委", "street": "街道委员工作室", "station": "社区联络站"][kind] ?? kind
    }

    public var exitCode: ExitCode {
        switch self {
        case .dataDirectory: .ioError
        default: .dataError
        }
    }
}

extension ErrorBody {
    /// A refusal the server has words for: `message` in English here, and in the request's language when answered
    /// (`Router.errorResponse`).
    init(_ code: ErrorCode, _ text: some Renderable) {
        self.init(code: code, message: text.text(in: .english))
        localized = Phrase(text)
    }
}
