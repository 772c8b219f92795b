import CPSyncCore
import Foundation

/// Sample data for demonstrations and training: a county CPPCC, three township working committees and a
/// community station, members of several sectors, proposals in every workflow state, replies, evaluations,
/// social reports and duty activities. Site and proposal ids are fixed (`county`, `huashan`, `p2026-001`…) so
/// the walkthrough can name them; members, handlers and the rest take UUIDs.
extension Office {
    /// Fills the replica with the sample data in one transaction. Refuses when it is already there.
    public func seedDemo() throws {
        try db.transaction {
            if try db.scalar("SELECT count(*) FROM proposals WHERE id = 'p2026-001'")?.int64Value != 0 {
                throw CPPCCError.duplicate(kind: "demo data", key: "p2026-001")
            }
            let sites = [
                Site(id: "county", name: "某县政协", kind: .county, parentID: nil),
                Site(id: "huashan", name: "华山镇政协工委", kind: .township, parentID: "county"),
                Site(id: "taohe", name: "桃河乡政协工委", kind: .township, parentID: "county"),
                Site(id: "liushu", name: "柳树镇政协工委", kind: .township, parentID: "county"),
                Site(id: "chengguan", name: "城关街道委员工作室", kind: .street, parentID: "county"),
                Site(id: "huashan-xinjie", name: "华山镇新街社区联络站", kind: .station, parentID: "huashan"),
            ]
            for s in sites { try saveSite(s) }

            let people: [(String, String, String, String, String, String, String)] = [
                ("王建国", "男", "经济", "中共", "county", "县发展和改革局", "副局长"),
                ("李秀英", "女", "教育", "民盟", "county", "县第一中学", "副校长"),
                ("张伟", "男", "科技", "九三学社", "huashan", "华山镇农业技术推广站", "站长"),
                ("刘芳", "女", "医药卫生", "农工党", "huashan", "华山镇卫生院", "院长"),
                ("陈志强", "男", "工商联", "民建", "taohe", "桃河茶业有限公司", "董事长"),
                ("杨丽", "女", "农业", "无党派", "taohe", "桃河乡果蔬专业合作社", "理事长"),
                ("赵明", "男", "文化艺术", "中共", "liushu", "柳树镇文化站", "站长"),
                ("黄海燕", "女", "社会福利", "无党派", "liushu", "柳树镇敬老院", "院长"),
                ("释慧明", "男", "宗教", "无党派", "county", "县佛教协会", "会长"),
                ("周红梅", "女", "妇联", "中共", "chengguan", "城关街道妇联", "主席"),
                ("吴刚", "男", "经济", "民革", "chengguan", "县农村商业银行", "行长"),
                ("孙丽娟", "女", "教育", "民进", "huashan-xinjie", "新街小学", "教师"),
            ]
            var m: [String: String] = [:]
            for (name, gender, sector, party, site, employer, position) in people {
                let added = try addMember(Member(name: name, gender: gender, sector: sector, party: party, term: "八届",
                                                 siteID: site, phone: "", employer: employer, position: position))
                m[name] = added.id
            }

            func add(_ n: Int, _ title: String, _ proposer: String, _ cosigners: [String] = [], draft: Bool = false, day: String = "2026-01-12") throws -> String {
                let id = String(format: "p2026-%03d", n)
                try addProposal(Proposal(id: id, number: String(format: "2026-%03d", n), session: "八届四次会议", year: 2026,
                                         title: title, body: "建议：" + title.replacingOccurrences(of: "关于", with: "").replacingOccurrences(of: "的提案", with: "") + "。",
                                         proposerID: m[proposer], submittedOn: draft ? nil : day, status: draft ? .draft : .submitted),
                                cosigners: cosigners.map { m[$0]! })
                return id
            }
            // Every workflow state appears at least once.
            let water = try add(1, "关于加强农村饮水安全工程管护的提案", "张伟", ["刘芳"])
            let tea = try add(2, "关于扶持桃河茶产业品牌建设的提案", "陈志强", ["杨丽", "王建国"])
            let school = try add(3, "关于改善乡村学校寄宿条件的提案", "李秀英", ["孙丽娟"])
            let elderly = try add(4, "关于推进农村居家养老服务的提案", "黄海燕")
            let road = try add(5, "关于加快县乡公路提档升级的提案", "王建国")
            let road2 = try add(6, "关于改造柳树镇至县城公路的提案", "赵明")
            let parking = try add(7, "关于解决城关小区停车难的提案", "周红梅")
            let finance = try add(8, "关于加大小微企业信贷支持的提案", "吴刚", ["陈志强"])
            let culture = try add(9, "关于保护利用传统村落的提案", "赵明")
            let clinic = try add(10, "关于充实乡镇卫生院医务力量的提案", "刘芳", ["张伟"])
            let review = try add(11, "关于规范宗教活动场所消防安全的提案", "释慧明")
            _ = try add(12, "关于建设社区托育服务点的提案", "孙丽娟", draft: true)
            let garbage = try add(13, "关于完善农村生活垃圾分类的提案", "杨丽")

            // 2026-001: key proposal, closed, two units.
            try file(water, on: "2026-02-20", isKey: true, supervisor: "县政协主席 陈国华")
            try assign(water, unit: "县水利局", role: .lead, due: "2026-06-30", on: "2026-03-05")
            try assign(water, unit: "县卫生健康局", role: .co, due: "2026-06-30", on: "2026-03-05")
            try reply(water, unit: "县水利局", category: .a, text: "已完成12处供水站改造，建立管护责任制。", metProposer: true, on: "2026-05-20")
            try reply(water, unit: "县卫生健康局", category: .b, text: "水质检测纳入年度计划。", metProposer: false, on: "2026-05-25")
            try evaluate(water, unit: "县水利局", satisfaction: .satisfied, on: "2026-06-10")
            try evaluate(water, unit: "县卫生健康局", satisfaction: .basically, on: "2026-06-10")
            try close(water, on: "2026-06-20")
            // 2026-002: key proposal, evaluated.
            try file(tea, on: "2026-02-20", isKey: true, supervisor: "县政协副主席 林晓")
            try assign(tea, unit: "县农业农村局", due: "2026-06-30", on: "2026-03-05")
            try reply(tea, category: .b, text: "制定茶产业三年行动方案，申报地理标志。", metProposer: true, on: "2026-05-28")
            try evaluate(tea, satisfaction: .satisfied, on: "2026-06-15")
            // 2026-003: replied.
            try file(school, on: "2026-02-20")
            try assign(school, unit: "县教育局", due: "2026-06-30", on: "2026-03-05")
            try reply(school, category: .a, text: "投入资金改造3所学校宿舍。", metProposer: true, on: "2026-06-01")
            // 2026-004: assigned, awaiting the reply.
            try file(elderly, on: "2026-02-20")
            try assign(elderly, unit: "县民政局", due: "2026-06-30", on: "2026-03-05")
            // 2026-005 filed; 2026-006 merged into it.
            try file(road, on: "2026-02-20")
            try merge(road2, into: road)
            // 2026-007: evaluated as dissatisfied, then closed.
            try file(parking, on: "2026-02-20")
            try assign(parking, unit: "县住房和城乡建设局", due: "2026-06-30", on: "2026-03-05")
            try reply(parking, category: .c, text: "纳入城市更新规划统筹研究。", metProposer: false, on: "2026-06-05")
            try evaluate(parking, satisfaction: .dissatisfied, on: "2026-06-18")
            try close(parking, on: "2026-06-25")
            // 2026-008: not filed.
            try reject(finance, reason: "属金融机构自主经营事项，转有关部门参考")
            // 2026-009: converted to a social report; 2026-013 to a member's letter.
            try convert(culture, to: .socialReport, on: "2026-02-22")
            try convert(garbage, to: .letter, on: "2026-02-22")
            // 2026-010: replied by the lead unit only.
            try file(clinic, on: "2026-02-20")
            try assign(clinic, unit: "县卫生健康局", due: "2026-06-30", on: "2026-03-05")
            try reply(clinic, category: .b, text: "通过县乡一体化招聘补充医务人员。", metProposer: true, on: "2026-06-08")
            // 2026-011: under review. 2026-012 stays a draft.
            try startReview(review)

            // One 2025 proposal, closed, for the year filter.
            try addProposal(Proposal(id: "p2025-031", number: "2025-031", session: "八届三次会议", year: 2025,
                                     title: "关于建设华山镇农贸市场的提案", body: "建议新建标准化农贸市场。", proposerID: m["张伟"],
                                     submittedOn: "2025-01-15", status: .submitted))
            try file("p2025-031", on: "2025-02-18")
            try assign("p2025-031", unit: "县商务局", due: "2025-06-30", on: "2025-03-01")
            try reply("p2025-031", category: .a, text: "农贸市场已建成投用。", metProposer: true, on: "2025-09-01")
            try evaluate("p2025-031", satisfaction: .satisfied, on: "2025-09-20")
            try close("p2025-031", on: "2025-10-01")

            let reports: [(String, String, String, Bool, String)] = [
                ("关于农村留守儿童心理健康问题的建议", "李秀英", "2026-03-10", true, "请教育局会同妇联研究落实。——县委副书记"),
                ("关于茶叶收购价格波动影响茶农收入的反映", "陈志强", "2026-04-02", true, ""),
                ("关于城关老旧小区加装电梯的群众呼声", "周红梅", "2026-04-18", false, ""),
                ("关于乡村学校体育设施不足的情况反映", "孙丽娟", "2026-05-06", false, ""),
            ]
            for (title, reporter, day, adopted, instruction) in reports {
                let r = try addSocialReport(SocialReport(title: title, body: title + "。", reporterID: m[reporter], reportedOn: day,
                                                         forwardedTo: "市政协"))
                if adopted { try adoptSocialReport(r.id, instruction: instruction.isEmpty ? nil : instruction) }
            }

            let acts: [(ActivityKind, String, String, String, [String])] = [
                (.inspection, "视察农村饮水安全工程", "2026-04-15", "county", ["王建国", "张伟", "刘芳"]),
                (.research, "桃河茶产业发展专题调研", "2026-04-22", "taohe", ["陈志强", "杨丽"]),
                (.consultation, "乡村振兴专题协商会", "2026-05-12", "county", ["王建国", "李秀英", "吴刚"]),
                (.evaluation, "对县教育局开展民主评议", "2026-06-03", "county", ["李秀英", "孙丽娟"]),
                (.study, "委员履职能力培训", "2026-03-20", "county", ["王建国", "李秀英", "张伟", "赵明"]),
                (.visit, "走访柳树镇敬老院", "2026-05-20", "liushu", ["黄海燕", "赵明"]),
                (.forum, "委员进社区座谈会", "2026-06-12", "huashan-xinjie", ["孙丽娟", "刘芳"]),
                (.charity, "义诊进村公益活动", "2026-05-30", "huashan", ["刘芳", "张伟"]),
                (.study, "华山镇委员学习会", "2026-03-28", "huashan", ["张伟", "刘芳"]),
            ]
            for (kind, topic, day, site, who) in acts {
                try addActivity(Activity(kind: kind, topic: topic, heldOn: day, siteID: site,
                                         outcome: "形成" + topic + "报告。", participants: who.map { m[$0]! }))
            }
        }
    }
}
