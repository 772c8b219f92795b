import CPSyncCLI
import CPSyncCore
import Foundation

/// A ratio as the annual summaries print it: a percentage to one decimal, "—" when the denominator is 0.
public struct Rate: Encodable, Sendable, Equatable {
    public let numerator: Int
    public let denominator: Int

    public init(_ numerator: Int, _ denominator: Int) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// The percentage rounded to one decimal, nil when undefined.
    public var percent: Double? {
        guard denominator > 0 else { return nil }
        return (Double(numerator) * 1000 / Double(denominator)).rounded() / 10
    }

    /// "66.7%" or "—".
    public var text: String { percent.map { String(format: "%.1f%%", $0) } ?? "—" }

    /// Encoded as the percentage number (66.7) or null.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let p = percent { try c.encode(p) } else { try c.encodeNil() }
    }
}

/// The statistics every annual work summary (年度工作总结) quotes, for one year and a site subtree.
///
/// `cpsync report --format json` prints this object. Its keys are stable (new keys may be added, none renamed):
///
/// - `year` (int), `site` (string or null: the `--site` given; its descendants are included), `generated_on` (date)
/// - `overall`: a *figures* object (below) over every site in scope
/// - `categories_by_unit`: array of `{unit, replies, a, b, c, a_share, b_share, c_share}` — replies with a category
///   per handling unit (承办单位), shares as rates
/// - `key_proposals`: array of `{id, number, title, status, status_label, supervisor, site_id}` (重点提案)
/// - `by_site`: array of `{site_id, name, kind, figures}` for every site in scope, parents first
///
/// A *figures* object:
/// - `proposals`: `received` (past draft), `filed` (立案: filed or any later handling stage), `not_filed`,
///   `merged`, `converted`, `closed`, `filing_rate` (filed ÷ received), `completion_rate` (closed ÷ filed)
/// - `handling` (over handling units of those proposals): `replies`, `met_proposer`, `face_to_face_rate`
///   (met ÷ replies), `evaluated`, `satisfied`, `basically_satisfied`, `dissatisfied`, `satisfaction_rate`
///   (满意 ÷ evaluated), `satisfied_or_basically_rate` ((满意+基本满意) ÷ evaluated)
/// - `social_reports`: `received`, `adopted`, `adoption_rate`
/// - `activities`: `total`, `by_kind` (every kind code — inspection, research, consultation, evaluation, study,
///   visit, forum, charity — with its count, zeros included)
///
/// Every rate is a number: the percentage rounded to one decimal (66.7), or null when its denominator is 0.
/// Proposals count in the year of their `year` column; social reports and activities by the year of their date.
public struct AnnualReport: Encodable, Sendable {
    public let year: Int
    public let site: String?
    public let generatedOn: String
    public let overall: Figures
    public let categoriesByUnit: [UnitCategories]
    public let keyProposals: [KeyProposal]
    public let bySite: [SiteFigures]

    enum CodingKeys: String, CodingKey {
        case year, site, overall
        case generatedOn = "generated_on", categoriesByUnit = "categories_by_unit", keyProposals = "key_proposals", bySite = "by_site"
    }

    public struct Figures: Encodable, Sendable, Equatable {
        public var proposals: ProposalFigures
        public var handling: HandlingFigures
        public var socialReports: SocialFigures
        public var activities: ActivityFigures

        enum CodingKeys: String, CodingKey {
            case proposals, handling, activities
            case socialReports = "social_reports"
        }
    }

    public struct ProposalFigures: Encodable, Sendable, Equatable {
        public var received = 0, filed = 0, notFiled = 0, merged = 0, converted = 0, closed = 0
        public var filingRate: Rate { Rate(filed, received) }
        public var completionRate: Rate { Rate(closed, filed) }

        enum CodingKeys: String, CodingKey {
            case received, filed, merged, converted, closed
            case notFiled = "not_filed", filingRate = "filing_rate", completionRate = "completion_rate"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(received, forKey: .received)
            try c.encode(filed, forKey: .filed)
            try c.encode(notFiled, forKey: .notFiled)
            try c.encode(merged, forKey: .merged)
            try c.encode(converted, forKey: .converted)
            try c.encode(closed, forKey: .closed)
            try c.encode(filingRate, forKey: .filingRate)
            try c.encode(completionRate, forKey: .completionRate)
        }
    }

    public struct HandlingFigures: Encodable, Sendable, Equatable {
        public var replies = 0, metProposer = 0, evaluated = 0, satisfied = 0, basicallySatisfied = 0, dissatisfied = 0
        public var faceToFaceRate: Rate { Rate(metProposer, replies) }
        public var satisfactionRate: Rate { Rate(satisfied, evaluated) }
        public var satisfiedOrBasicallyRate: Rate { Rate(satisfied + basicallySatisfied, evaluated) }

        enum CodingKeys: String, CodingKey {
            case replies, evaluated, satisfied, dissatisfied
            case metProposer = "met_proposer", faceToFaceRate = "face_to_face_rate", basicallySatisfied = "basically_satisfied"
            case satisfactionRate = "satisfaction_rate", satisfiedOrBasicallyRate = "satisfied_or_basically_rate"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(replies, forKey: .replies)
            try c.encode(metProposer, forKey: .metProposer)
            try c.encode(faceToFaceRate, forKey: .faceToFaceRate)
            try c.encode(evaluated, forKey: .evaluated)
            try c.encode(satisfied, forKey: .satisfied)
            try c.encode(basicallySatisfied, forKey: .basicallySatisfied)
            try c.encode(dissatisfied, forKey: .dissatisfied)
            try c.encode(satisfactionRate, forKey: .satisfactionRate)
            try c.encode(satisfiedOrBasicallyRate, forKey: .satisfiedOrBasicallyRate)
        }
    }

    public struct SocialFigures: Encodable, Sendable, Equatable {
        public var received = 0, adopted = 0
        public var adoptionRate: Rate { Rate(adopted, received) }

        enum CodingKeys: String, CodingKey { case received, adopted, adoptionRate = "adoption_rate" }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(received, forKey: .received)
            try c.encode(adopted, forKey: .adopted)
            try c.encode(adoptionRate, forKey: .adoptionRate)
        }
    }

    public struct ActivityFigures: Encodable, Sendable, Equatable {
        public var byKind: [String: Int] = Dictionary(uniqueKeysWithValues: ActivityKind.allCases.map { ($0.rawValue, 0) })
        public var total: Int { byKind.values.reduce(0, +) }

        enum CodingKeys: String, CodingKey { case total, byKind = "by_kind" }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(total, forKey: .total)
            try c.encode(byKind, forKey: .byKind)
        }
    }

    public struct UnitCategories: Encodable, Sendable, Equatable {
        public var unit: String
        public var a = 0, b = 0, c = 0
        public var replies: Int { a + b + c }

        enum CodingKeys: String, CodingKey { case unit, replies, a, b, c, aShare = "a_share", bShare = "b_share", cShare = "c_share" }

        public func encode(to encoder: any Encoder) throws {
            var k = encoder.container(keyedBy: CodingKeys.self)
            try k.encode(unit, forKey: .unit)
            try k.encode(replies, forKey: .replies)
            try k.encode(a, forKey: .a)
            try k.encode(b, forKey: .b)
            try k.encode(c, forKey: .c)
            try k.encode(Rate(a, replies), forKey: .aShare)
            try k.encode(Rate(b, replies), forKey: .bShare)
            try k.encode(Rate(c, replies), forKey: .cShare)
        }
    }

    public struct KeyProposal: Encodable, Sendable, Equatable {
        public var id, number, title: String
        public var status: ProposalStatus
        public var statusLabel: String
        public var supervisor: String
        public var siteID: String?

        enum CodingKeys: String, CodingKey {
            case id, number, title, status, supervisor
            case statusLabel = "status_label", siteID = "site_id"
        }
    }

    public struct SiteFigures: Encodable, Sendable, Equatable {
        public var siteID: String
        public var name: String
        public var kind: SiteKind
        public var figures: Figures

        enum CodingKeys: String, CodingKey { case name, kind, figures, siteID = "site_id" }
    }
}

extension Office {
    /// Computes the annual report for `year` over `site` and its descendants (every site when nil).
    public func report(year: Int, site: String? = nil) throws -> AnnualReport {
        if let site, try db.scalar("SELECT count(*) FROM sites WHERE id = ?", [.text(site)])?.int64Value == 0 {
            throw CPPCCError.notFound(kind: "site", key: site)
        }
        let props = try proposals(ProposalFilter(year: year, site: site))
        let ids = Set(props.map(\.id))
        var handlersByProposal: [String: [Handler]] = [:]
        for h in try db.query("SELECT \(Handler.columns) FROM proposal_handlers ORDER BY unit").map(Handler.init(row:)) where ids.contains(h.proposalID) {
            handlersByProposal[h.proposalID, default: []].append(h)
        }
        let social = try socialReports(year: year, site: site)
        let acts = try activities(year: year, site: site)

        func figures(_ siteID: String?) -> AnnualReport.Figures {
            func inScope(_ s: String?) -> Bool { siteID == nil || s == siteID }
            var p = AnnualReport.ProposalFigures()
            var h = AnnualReport.HandlingFigures()
            for x in props where inScope(x.siteID) {
                if x.status.isReceived { p.received += 1 }
                if x.status.isFiled { p.filed += 1 }
                switch x.status {
                case .notFiled: p.notFiled += 1
                case .merged: p.merged += 1
                case .converted: p.converted += 1
                case .closed: p.closed += 1
                default: break
                }
                for u in handlersByProposal[x.id] ?? [] {
                    if u.hasReplied {
                        h.replies += 1
                        if u.metProposer { h.metProposer += 1 }
                    }
                    switch u.satisfaction {
                    case .satisfied: h.evaluated += 1; h.satisfied += 1
                    case .basically: h.evaluated += 1; h.basicallySatisfied += 1
                    case .dissatisfied: h.evaluated += 1; h.dissatisfied += 1
                    case nil: break
                    }
                }
            }
            var s = AnnualReport.SocialFigures()
            for r in social where inScope(r.siteID) {
                s.received += 1
                if r.adopted { s.adopted += 1 }
            }
            var a = AnnualReport.ActivityFigures()
            for x in acts where inScope(x.siteID) { a.byKind[x.kind.rawValue, default: 0] += 1 }
            return AnnualReport.Figures(proposals: p, handling: h, socialReports: s, activities: a)
        }

        var units: [String: AnnualReport.UnitCategories] = [:]
        for hs in handlersByProposal.values {
            for h in hs {
                guard let cat = h.category else { continue }
                var u = units[h.unit] ?? AnnualReport.UnitCategories(unit: h.unit)
                switch cat {
                case .a: u.a += 1
                case .b: u.b += 1
                case .c: u.c += 1
                }
                units[h.unit] = u
            }
        }
        let key = props.filter(\.isKey).map {
            AnnualReport.KeyProposal(id: $0.id, number: $0.number, title: $0.title, status: $0.status,
                                     statusLabel: $0.status.label, supervisor: $0.supervisor, siteID: $0.siteID)
        }
        let scope = Set(try site.map { try siteAndDescendants($0) } ?? sites().map(\.id))
        let bySite = try sites().filter { scope.contains($0.id) }.map {
            AnnualReport.SiteFigures(siteID: $0.id, name: $0.name, kind: $0.kind, figures: figures($0.id))
        }
        return AnnualReport(year: year, site: site, generatedOn: Office.today(), overall: figures(nil),
                            categoriesByUnit: units.values.sorted { $0.unit < $1.unit }, keyProposals: key, bySite: bySite)
    }
}

/// Renders an `AnnualReport` as text, JSON, CSV or a self-contained HTML page.
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, json, csv, html

    public func render(_ r: AnnualReport) throws -> String {
        switch self {
        case .text: ReportRenderer.text(r)
        case .json: try CPPCCJSON.encode(r)
        case .csv: ReportRenderer.csv(r)
        case .html: ReportRenderer.html(r)
        }
    }
}

/// Stable, readable JSON for every `--json` and `--format json` output.
public enum CPPCCJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }
}

enum ReportRenderer {
    /// One labelled line per figure, in the order the summaries quote them.
    static func lines(_ f: AnnualReport.Figures) -> [(String, String)] {
        let p = f.proposals, h = f.handling, s = f.socialReports
        return [
            (L10n.pick(en: "proposals received", zh: "收到提案"), "\(p.received)"),
            (L10n.pick(en: "filed", zh: "立案"), "\(p.filed)"),
            (L10n.pick(en: "filing rate", zh: "立案率"), p.filingRate.text),
            (L10n.pick(en: "not filed", zh: "不予立案"), "\(p.notFiled)"),
            (L10n.pick(en: "merged", zh: "并案"), "\(p.merged)"),
            (L10n.pick(en: "converted to letters / social reports", zh: "转来信/社情民意"), "\(p.converted)"),
            (L10n.pick(en: "closed", zh: "办结"), "\(p.closed)"),
            (L10n.pick(en: "completion rate", zh: "办结率"), p.completionRate.text),
            (L10n.pick(en: "replies", zh: "答复件次"), "\(h.replies)"),
            (L10n.pick(en: "face-to-face rate", zh: "见面率"), h.faceToFaceRate.text),
            (L10n.pick(en: "evaluations", zh: "评价件次"), "\(h.evaluated)"),
            (L10n.pick(en: "satisfied", zh: "满意"), "\(h.satisfied)"),
            (L10n.pick(en: "basically satisfied", zh: "基本满意"), "\(h.basicallySatisfied)"),
            (L10n.pick(en: "dissatisfied", zh: "不满意"), "\(h.dissatisfied)"),
            (L10n.pick(en: "satisfaction rate", zh: "满意率"), h.satisfactionRate.text),
            (L10n.pick(en: "satisfied or basically satisfied", zh: "满意及基本满意率"), h.satisfiedOrBasicallyRate.text),
            (L10n.pick(en: "social reports received", zh: "社情民意信息"), "\(s.received)"),
            (L10n.pick(en: "social reports adopted", zh: "采用"), "\(s.adopted)"),
            (L10n.pick(en: "activities", zh: "履职活动"), "\(f.activities.total)"),
        ] + ActivityKind.allCases.map { ("  " + $0.label, "\(f.activities.byKind[$0.rawValue] ?? 0)") }
    }

    static func title(_ r: AnnualReport) -> String {
        L10n.pick(en: "CPPCC annual statistics \(r.year)" + (r.site.map { " — \($0) and below" } ?? ""),
                  zh: "\(r.year) 年度政协工作统计" + (r.site.map { "（\($0) 及下属站点）" } ?? ""))
    }

    static func text(_ r: AnnualReport) -> String {
        var out = [title(r), ""]
        let header = [L10n.pick(en: "figure", zh: "项目"), L10n.pick(en: "overall", zh: "合计")] + r.bySite.map(\.name)
        let all = [lines(r.overall)] + r.bySite.map { lines($0.figures) }
        let rows = all[0].indices.map { i in [all[0][i].0] + all.map { $0[i].1 } }
        out.append(Console.table(header: header, rows: rows))
        if !r.categoriesByUnit.isEmpty {
            out += ["", L10n.pick(en: "Reply categories by handling unit", zh: "承办单位答复类别")]
            out.append(Console.table(
                header: [L10n.pick(en: "unit", zh: "承办单位"), L10n.pick(en: "replies", zh: "答复"), "A", "B", "C"],
                rows: r.categoriesByUnit.map {
                    [$0.unit, "\($0.replies)", "\($0.a) (\(Rate($0.a, $0.replies).text))", "\($0.b) (\(Rate($0.b, $0.replies).text))",
                     "\($0.c) (\(Rate($0.c, $0.replies).text))"]
                }))
        }
        if !r.keyProposals.isEmpty {
            out += ["", L10n.pick(en: "Key proposals", zh: "重点提案")]
            out.append(Console.table(
                header: [L10n.pick(en: "number", zh: "案号"), L10n.pick(en: "title", zh: "标题"), L10n.pick(en: "status", zh: "状态"),
                         L10n.pick(en: "supervisor", zh: "督办")],
                rows: r.keyProposals.map { [$0.number, $0.title, $0.statusLabel, $0.supervisor] }))
        }
        return out.joined(separator: "\n")
    }

    static func csvLines(_ scope: String, _ f: AnnualReport.Figures) -> [[String]] {
        var rows: [[String]] = []
        let p = f.proposals, h = f.handling, s = f.socialReports
        func add(_ k: String, _ v: String) { rows.append([scope, k, v]) }
        add("received", "\(p.received)"); add("filed", "\(p.filed)"); add("filing_rate", p.filingRate.text)
        add("not_filed", "\(p.notFiled)"); add("merged", "\(p.merged)"); add("converted", "\(p.converted)")
        add("closed", "\(p.closed)"); add("completion_rate", p.completionRate.text)
        add("replies", "\(h.replies)"); add("met_proposer", "\(h.metProposer)"); add("face_to_face_rate", h.faceToFaceRate.text)
        add("evaluated", "\(h.evaluated)"); add("satisfied", "\(h.satisfied)"); add("basically_satisfied", "\(h.basicallySatisfied)")
        add("dissatisfied", "\(h.dissatisfied)"); add("satisfaction_rate", h.satisfactionRate.text)
        add("satisfied_or_basically_rate", h.satisfiedOrBasicallyRate.text)
        add("social_reports_received", "\(s.received)"); add("social_reports_adopted", "\(s.adopted)")
        add("activities", "\(f.activities.total)")
        for k in ActivityKind.allCases { add("activities_\(k.rawValue)", "\(f.activities.byKind[k.rawValue] ?? 0)") }
        return rows
    }

    /// Long format (scope, metric, value): one header, easy to pivot in Excel.
    static func csv(_ r: AnnualReport) -> String {
        var rows = [["scope", "metric", "value"]] + csvLines("overall", r.overall)
        for s in r.bySite { rows += csvLines(s.siteID, s.figures) }
        for u in r.categoriesByUnit {
            rows += [["unit:" + u.unit, "a", "\(u.a)"], ["unit:" + u.unit, "b", "\(u.b)"], ["unit:" + u.unit, "c", "\(u.c)"]]
        }
        for k in r.keyProposals { rows.append(["key:" + k.number, "status", k.status.rawValue]) }
        return CSV.write(rows, bom: true)
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A horizontal bar chart as inline SVG.
    static func bars(_ items: [(String, Int)], color: String = "#b22222") -> String {
        let maxValue = max(items.map(\.1).max() ?? 0, 1)
        let rowHeight = 22, labelWidth = 150, barWidth = 360
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + barWidth + 50)\" height=\"\(rowHeight * items.count + 4)\" role=\"img\">"
        for (i, (label, value)) in items.enumerated() {
            let y = i * rowHeight + 2
            let w = Int(Double(value) / Double(maxValue) * Double(barWidth))
            svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 15)\" text-anchor=\"end\" font-size=\"13\">\(esc(label))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"\(rowHeight - 6)\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(labelWidth + w + 4)\" y=\"\(y + 15)\" font-size=\"12\">\(value)</text>"
        }
        return svg + "</svg>"
    }

    static func html(_ r: AnnualReport) -> String {
        func table(_ header: [String], _ rows: [[String]]) -> String {
            "<table><thead><tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr></thead><tbody>"
                + rows.map { "<tr>" + $0.map { "<td>\(esc($0))</td>" }.joined() + "</tr>" }.joined() + "</tbody></table>"
        }
        let all = [lines(r.overall)] + r.bySite.map { lines($0.figures) }
        let figureRows = all[0].indices.map { i in [all[0][i].0] + all.map { $0[i].1 } }
        var body = "<h1>\(esc(title(r)))</h1>"
        body += "<p class=\"meta\">\(esc(L10n.pick(en: "Generated", zh: "生成日期"))) \(esc(r.generatedOn))</p>"
        body += "<h2>\(esc(L10n.pick(en: "Figures", zh: "主要数据")))</h2>"
        body += table([L10n.pick(en: "figure", zh: "项目"), L10n.pick(en: "overall", zh: "合计")] + r.bySite.map(\.name), figureRows)
        if !r.bySite.isEmpty {
            body += "<h2>\(esc(L10n.pick(en: "Proposals received by site", zh: "各站点收到提案")))</h2>"
            body += bars(r.bySite.map { ($0.name, $0.figures.proposals.received) })
            body += "<h2>\(esc(L10n.pick(en: "Proposals closed by site", zh: "各站点办结提案")))</h2>"
            body += bars(r.bySite.map { ($0.name, $0.figures.proposals.closed) }, color: "#2e7d32")
        }
        body += "<h2>\(esc(L10n.pick(en: "Activities by kind", zh: "履职活动分类")))</h2>"
        body += bars(ActivityKind.allCases.map { ($0.label, r.overall.activities.byKind[$0.rawValue] ?? 0) }, color: "#1565c0")
        if !r.categoriesByUnit.isEmpty {
            body += "<h2>\(esc(L10n.pick(en: "Reply categories by handling unit", zh: "承办单位答复类别")))</h2>"
            body += table([L10n.pick(en: "unit", zh: "承办单位"), L10n.pick(en: "replies", zh: "答复"), "A", "B", "C"],
                          r.categoriesByUnit.map { [$0.unit, "\($0.replies)", Rate($0.a, $0.replies).text, Rate($0.b, $0.replies).text, Rate($0.c, $0.replies).text] })
            body += bars(r.categoriesByUnit.map { ($0.unit + " A", $0.a) }, color: "#6a1b9a")
        }
        if !r.keyProposals.isEmpty {
            body += "<h2>\(esc(L10n.pick(en: "Key proposals", zh: "重点提案")))</h2>"
            body += table([L10n.pick(en: "number", zh: "案号"), L10n.pick(en: "title", zh: "标题"), L10n.pick(en: "status", zh: "状态"), L10n.pick(en: "supervisor", zh: "督办")],
                          r.keyProposals.map { [$0.number, $0.title, $0.statusLabel, $0.supervisor] })
        }
        return """
            <!DOCTYPE html>
            <html lang="\(L10n.pick(en: "en", zh: "zh-CN"))"><head><meta charset="utf-8"><title>\(esc(title(r)))</title>
            <style>
            body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
            h1{font-size:1.5em;border-bottom:2px solid #b22222;padding-bottom:.3em}h2{font-size:1.15em;margin-top:1.6em}
            table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #999;padding:.25em .6em;text-align:left}
            th{background:#f3f3f3}.meta{color:#666}svg{display:block;margin:.5em 0}
            @media print{body{margin:0}h2{page-break-after:avoid}table,svg{page-break-inside:avoid}}
            </style></head><body>
            \(body)
            </body></html>
            """
    }
}
