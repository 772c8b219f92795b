import CPSyncText
import CPSyncCore
import Foundation

/// Renders an `AnnualReport` as text, JSON, CSV or a self-contained HTML page.
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, json, csv, html

    /// The report for a reader of `language`. `englishHeaders` only matters for CSV: English keys instead of the
    /// Chinese headers a Chinese reader gets.
    public func render(_ r: AnnualReport, englishHeaders: Bool = false, in language: Language) throws -> String {
        var r = r
        r.language = language
        return switch self {
        case .text: ReportRenderer.text(r, language)
        case .json: try CPPCCJSON.encode(r)
        case .csv: Self.csv(r, chineseHeaders: language.isChinese && !englishHeaders)
        case .html: ReportRenderer.html(r, language)
        }
    }

    /// Long format (scope, metric, value), easy to pivot in Excel: Chinese headers, site and unit names and labels,
    /// or the stable English keys (`scope,metric,value`; `overall`, site ids, `unit:NAME`, `key:NUMBER`).
    public static func csv(_ r: AnnualReport, chineseHeaders zh: Bool) -> String {
        ReportRenderer.csv(r, chinese: zh)
    }
}

/// Stable, readable JSON for every `--json` and `--format json` output.
public enum CPPCCJSON {
    /// The tools' JSON style (JSONOutput): snake_case keys, every field present (`null` when empty), sorted, pretty.
    public static func encode<T: Encodable>(_ value: T) throws -> String { try JSONOutput.encode(value) }
}

/// One figure of the report: its stable key and its labels.
struct Metric {
    let key: String
    let en: String
    let zh: String
    init(_ key: String, _ en: String, _ zh: String) { self.key = key; self.en = en; self.zh = zh }
    func label(_ chinese: Bool) -> String { chinese ? zh : en }
}

enum ReportRenderer {
    /// The figures in the order the summaries quote them.
    static func figures(_ f: AnnualReport.Figures) -> [(Metric, String)] {
        let p = f.proposals, h = f.handling, s = f.socialReports, m = f.members
        return [
            (Metric("received", "proposals received", "收到提案"), "\(p.received)"),
            (Metric("filed", "filed", "立案"), "\(p.filed)"),
            (Metric("filing_rate", "filing rate", "立案率"), p.filingRate.text),
            (Metric("not_filed", "not filed", "不予立案"), "\(p.notFiled)"),
            (Metric("merged", "merged", "并案"), "\(p.merged)"),
            (Metric("converted", "converted to letters / social reports", "转来信/社情民意"), "\(p.converted)"),
            (Metric("closed", "closed", "办结"), "\(p.closed)"),
            (Metric("completion_rate", "completion rate", "办结率"), p.completionRate.text),
            (Metric("replies", "replies (unit responses)", "答复件次"), "\(h.replies)"),
            (Metric("met_proposer", "met the proposer", "见面件次"), "\(h.metProposer)"),
            (Metric("face_to_face_rate", "face-to-face rate", "见面率"), h.faceToFaceRate.text),
            (Metric("evaluated", "evaluations", "评价件次"), "\(h.evaluated)"),
            (Metric("satisfied", "satisfied", "满意"), "\(h.satisfied)"),
            (Metric("basically_satisfied", "basically satisfied", "基本满意"), "\(h.basicallySatisfied)"),
            (Metric("dissatisfied", "dissatisfied", "不满意"), "\(h.dissatisfied)"),
            (Metric("satisfaction_rate", "satisfaction rate", "满意率"), h.satisfactionRate.text),
            (Metric("satisfied_or_basically_rate", "satisfied or basically satisfied", "满意及基本满意率"), h.satisfiedOrBasicallyRate.text),
            (Metric("social_reports_received", "social reports received", "社情民意信息"), "\(s.received)"),
            (Metric("social_reports_adopted", "social reports adopted", "采用"), "\(s.adopted)"),
            (Metric("social_reports_with_instruction", "with a leader's instruction", "领导批示"), "\(s.withInstruction)"),
            (Metric("activities", "activities", "履职活动"), "\(f.activities.total)"),
        ] + ActivityKind.allCases.map { (Metric("activities_\($0.rawValue)", "  " + $0.english, "  " + $0.chinese), "\(f.activities.byKind[$0.rawValue] ?? 0)") }
        + [
            (Metric("members", "members", "委员"), "\(m.members)"),
            (Metric("women", "women", "女委员"), "\(m.women)"),
            (Metric("women_share", "share of women", "女委员占比"), m.womenShare.text),
            (Metric("sectors_represented", "sectors represented", "界别数"), "\(m.sectorsRepresented)"),
        ]
    }

    /// Per handling unit: proposals (件) first, then unit responses (件次).
    static func unitFigures(_ u: AnnualReport.UnitCategories) -> [(Metric, String)] {
        [
            (Metric("lead", "lead (主办)", "主办件数"), "\(u.lead)"),
            (Metric("co", "co-handler (协办)", "协办件数"), "\(u.co)"),
            (Metric("closed", "closed", "办结件数"), "\(u.closed)"),
            (Metric("completion_rate", "completion rate", "办结率"), u.completionRate.text),
            (Metric("replies", "replies", "答复件次"), "\(u.replies)"),
            (Metric("a", "A", "A类"), "\(u.a)"), (Metric("b", "B", "B类"), "\(u.b)"), (Metric("c", "C", "C类"), "\(u.c)"),
            (Metric("a_share", "A share", "A类占比"), Rate(u.a, u.replies).text),
            (Metric("b_share", "B share", "B类占比"), Rate(u.b, u.replies).text),
            (Metric("c_share", "C share", "C类占比"), Rate(u.c, u.replies).text),
            (Metric("face_to_face_rate", "face-to-face rate", "见面率"), u.faceToFaceRate.text),
            (Metric("satisfaction_rate", "satisfaction rate", "满意率"), u.satisfactionRate.text),
        ]
    }

    static func partyName(_ p: String, _ chinese: Bool) -> String { p.isEmpty ? (chinese ? "未填写" : "not given") : p }

    /// "中共 3、民盟 1" — the parties of a roster, largest first.
    static func parties(_ m: AnnualReport.MemberFigures, _ chinese: Bool) -> String {
        m.byParty.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\(partyName($0.key, chinese)) \($0.value)" }
            .joined(separator: chinese ? "、" : ", ")
    }

    static func sectors(_ m: AnnualReport.MemberFigures, _ chinese: Bool) -> String {
        m.sectors.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }.joined(separator: chinese ? "、" : ", ")
    }

    /// What is counted per proposal and what per unit response, said on the page.
    static func countingNote(_ r: AnnualReport, _ zh: Bool) -> String {
        let period = zh ? "统计时段：\(r.period.from) 至 \(r.period.to)。" : "Period: \(r.period.from) to \(r.period.to), both included. "
        return period + (zh
            ? "提案按件统计（立案率、办结率）；答复、见面、评价按承办单位件次统计（一件提案有几个承办单位即计几次）；办结、答复、评价以截止日前完成的为准；委员构成为当前名册。"
            : "Proposals are counted per proposal (filing and completion rates); replies, meetings and evaluations per unit response (a proposal with three units counts three times); closures, replies and evaluations count when dated by the last day; the members are today's roster.")
    }

    static func text(_ r: AnnualReport, _ language: Language) -> String {
        let zh = language.isChinese
        var out = [r.title(chinese: zh), countingNote(r, zh), ""]
        let header = [zh ? "项目" : "figure", zh ? "合计" : "overall"] + r.bySite.map(\.name)
        let all = [figures(r.overall)] + r.bySite.map { figures($0.figures) }
        out.append(TextTable.render(header: header, rows: all[0].indices.map { i in [all[0][i].0.label(zh)] + all.map { $0[i].1 } }))
        out += ["", zh ? "委员构成" : "Members"]
        out.append(TextTable.render(
            header: zh ? ["站点", "委员", "女委员", "界别数", "界别", "党派"] : ["site", "members", "women", "sectors", "by sector", "by party"],
            rows: [(zh ? "合计" : "overall", r.overall.members)] .map { [$0.0, "\($0.1.members)", "\($0.1.women)", "\($0.1.sectorsRepresented)", sectors($0.1, zh), parties($0.1, zh)] }
                + r.bySite.map { [$0.name, "\($0.figures.members.members)", "\($0.figures.members.women)", "\($0.figures.members.sectorsRepresented)",
                                   sectors($0.figures.members, zh), parties($0.figures.members, zh)] }))
        if !r.categoriesByUnit.isEmpty {
            out += ["", zh ? "承办单位办理情况" : "Handling units"]
            let metrics = unitFigures(r.categoriesByUnit[0]).map { $0.0.label(zh) }
            out.append(TextTable.render(header: [zh ? "承办单位" : "unit"] + metrics,
                                     rows: r.categoriesByUnit.map { [$0.unit] + unitFigures($0).map(\.1) }))
        }
        if !r.keyProposals.isEmpty {
            out += ["", zh ? "重点提案" : "Key proposals"]
            out.append(TextTable.render(
                header: zh ? ["案号", "标题", "提案人", "主办单位", "状态", "督办"] : ["number", "title", "proposer", "lead unit", "status", "supervisor"],
                rows: r.keyProposals.map { [$0.number, $0.title, $0.proposer ?? "—", $0.leadUnit ?? "—", $0.statusLabel, $0.supervisor] }))
        }
        return out.joined(separator: "\n")
    }

    static func csv(_ r: AnnualReport, chinese zh: Bool) -> String {
        var rows = [zh ? ["范围", "指标", "数值"] : ["scope", "metric", "value"]]
        let report = zh ? "报表" : "report"
        rows += [[report, zh ? "标题" : "title", r.title(chinese: zh)], [report, zh ? "委员会" : "committee", r.committee ?? ""],
                 [report, zh ? "起始日" : "from", r.period.from], [report, zh ? "截止日" : "to", r.period.to]]
        func add(_ scope: String, _ f: AnnualReport.Figures) {
            rows += figures(f).map { [scope, zh ? $0.0.zh.trimmingCharacters(in: .whitespaces) : $0.0.key, $0.1] }
            for (party, n) in f.members.byParty.sorted(by: { $0.key < $1.key }) {
                rows.append([scope, zh ? "党派：" + partyName(party, true) : "party:" + party, "\(n)"])
            }
            for (sector, n) in f.members.sectors.sorted(by: { $0.key < $1.key }) { rows.append([scope, zh ? "界别：" + sector : "sector:" + sector, "\(n)"]) }
        }
        add(zh ? "合计" : "overall", r.overall)
        for s in r.bySite { add(zh ? s.name : s.siteID, s.figures) }
        for u in r.categoriesByUnit {
            rows += unitFigures(u).map { [zh ? "承办单位：" + u.unit : "unit:" + u.unit, zh ? $0.0.zh : $0.0.key, $0.1] }
        }
        for k in r.keyProposals {
            let scope = zh ? "重点提案：" + k.number : "key:" + k.number
            rows += [[scope, zh ? "状态" : "status", zh ? k.status.chinese : k.status.rawValue],
                     [scope, zh ? "提案人" : "proposer", k.proposer ?? ""], [scope, zh ? "主办单位" : "lead_unit", k.leadUnit ?? ""]]
        }
        return CSV.write(rows, bom: true)
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A horizontal bar chart as inline SVG, scaled to the page width.
    static func bars(_ items: [(String, Int)], color: String = "#b22222") -> String {
        let maxValue = max(items.map(\.1).max() ?? 0, 1)
        let rowHeight = 22, labelWidth = 170, barWidth = 440
        let width = labelWidth + barWidth + 50, height = rowHeight * items.count + 4
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\" role=\"img\">"
        for (i, (label, value)) in items.enumerated() {
            let y = i * rowHeight + 2
            let w = Int(Double(value) / Double(maxValue) * Double(barWidth))
            svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 15)\" text-anchor=\"end\" font-size=\"13\">\(esc(label))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"\(rowHeight - 6)\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(labelWidth + w + 4)\" y=\"\(y + 15)\" font-size=\"12\">\(value)</text>"
        }
        return svg + "</svg>"
    }

    static func html(_ r: AnnualReport, _ language: Language) -> String {
        let zh = language.isChinese
        func table(_ header: [String], _ rows: [[String]], numeric: Bool = true) -> String {
            "<table><thead><tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr></thead><tbody>"
                + rows.map { "<tr>" + $0.enumerated().map { i, v in "<td\(numeric && i > 0 ? " class=\"n\"" : "")>\(esc(v))</td>" }.joined() + "</tr>" }.joined()
                + "</tbody></table>"
        }
        let title = r.title(chinese: zh)
        let all = [figures(r.overall)] + r.bySite.map { figures($0.figures) }
        var body = "<h1>\(esc(title))</h1>"
        body += "<p class=\"meta\">\(esc(countingNote(r, zh)))</p>"
        body += "<h2>\(esc(zh ? "主要数据" : "Figures"))</h2>"
        body += table([zh ? "项目" : "figure", zh ? "合计" : "overall"] + r.bySite.map(\.name),
                      all[0].indices.map { i in [all[0][i].0.label(zh)] + all.map { $0[i].1 } })
        body += "<h2>\(esc(zh ? "委员构成" : "Members"))</h2>"
        body += table(zh ? ["站点", "委员", "女委员", "女委员占比", "界别数", "界别", "党派"] : ["site", "members", "women", "share of women", "sectors", "by sector", "by party"],
                      [(zh ? "合计" : "overall", r.overall.members)].map { [$0.0, "\($0.1.members)", "\($0.1.women)", $0.1.womenShare.text, "\($0.1.sectorsRepresented)", sectors($0.1, zh), parties($0.1, zh)] }
                        + r.bySite.map { s in let m = s.figures.members
                            return [s.name, "\(m.members)", "\(m.women)", m.womenShare.text, "\(m.sectorsRepresented)", sectors(m, zh), parties(m, zh)] },
                      numeric: false)
        if !r.categoriesByUnit.isEmpty {
            body += "<h2>\(esc(zh ? "承办单位办理情况" : "Handling units"))</h2>"
            body += table([zh ? "承办单位" : "unit"] + unitFigures(r.categoriesByUnit[0]).map { $0.0.label(zh) },
                          r.categoriesByUnit.map { [$0.unit] + unitFigures($0).map(\.1) })
        }
        if !r.keyProposals.isEmpty {
            body += "<h2>\(esc(zh ? "重点提案" : "Key proposals"))</h2>"
            body += table(zh ? ["案号", "标题", "提案人", "主办单位", "状态", "督办"] : ["number", "title", "proposer", "lead unit", "status", "supervisor"],
                          r.keyProposals.map { [$0.number, $0.title, $0.proposer ?? "—", $0.leadUnit ?? "—", $0.statusLabel, $0.supervisor] }, numeric: false)
        }
        if !r.bySite.isEmpty {
            body += "<h2>\(esc(zh ? "各站点收到与办结提案" : "Proposals received and closed by site"))</h2>"
            body += bars(r.bySite.map { ($0.name, $0.figures.proposals.received) })
            body += bars(r.bySite.map { ($0.name, $0.figures.proposals.closed) }, color: "#2e7d32")
        }
        body += "<h2>\(esc(zh ? "履职活动分类" : "Activities by kind"))</h2>"
        body += bars(ActivityKind.allCases.map { (zh ? $0.chinese : $0.english, r.overall.activities.byKind[$0.rawValue] ?? 0) }, color: "#1565c0")
        body += "<div class=\"sign\"><span>\(esc(zh ? "填报单位：" : "Reporting office: "))\(esc(r.committee ?? "________"))</span>"
            + "<span>\(esc(zh ? "填报人：" : "Prepared by: "))________</span><span>\(esc(zh ? "日期：" : "Date: "))\(esc(r.generatedOn))</span></div>"
        return """
            <!DOCTYPE html>
            <html lang="\(zh ? "zh-CN" : "en")"><head><meta charset="utf-8"><title>\(esc(title))</title>
            <style>
            @page{size:A4;margin:15mm 12mm}
            body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:1.5em auto;max-width:186mm;color:#222;font-size:10.5pt}
            h1{font-size:1.45em;text-align:center;border-bottom:2px solid #b22222;padding-bottom:.3em;margin:0 0 .4em}
            h2{font-size:1.1em;margin:1.2em 0 .3em}
            table{border-collapse:collapse;margin:.3em 0;width:100%}th,td{border:1px solid #999;padding:.2em .45em;text-align:left}
            td.n{text-align:right;white-space:nowrap}td:first-child{white-space:nowrap}th{background:#f3f3f3}.meta{color:#555;font-size:.9em}svg{display:block;margin:.3em 0;max-width:100%}
            .sign{display:flex;justify-content:space-between;margin-top:2.5em;padding-top:.8em;border-top:1px solid #999}
            @media print{body{margin:0;max-width:none}h2{page-break-after:avoid}tr,svg,.sign{page-break-inside:avoid}}
            </style></head><body>
            \(body)
            </body></html>
            """
    }
}
