import Foundation

/// A small, fast, seeded generator (SplitMix64): benchmark data is the same on every run.
struct SeededRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }

    /// A random (version 4 shaped) UUID, lower case, as offices mint keys.
    mutating func uuid() -> String {
        let a = next(), b = next()
        let hex = String(format: "%016llx%016llx", a, b)
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-4" + String(c[13..<16]) + "-a" + String(c[17..<20]) + "-" + String(c[20..<32])
    }
}

/// Pools of realistic CPPCC values for the county benchmarks.
enum Realistic {
    static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤").map(String.init)
    static let given = Array("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欣婷雪琳晶颖慧莉倩梅兰凤洁琴云莲真环珍雯瑶怡佳嘉峰亮成建国志文海波").map(String.init)
    static let sectors = ["中共", "民革", "民盟", "民建", "民进", "农工党", "致公党", "九三学社", "无党派人士", "共青团", "工会", "妇联", "科技界", "经济界", "农业界", "教育界", "体育界", "新闻出版界", "文化艺术界", "医药卫生界", "社会科学界", "少数民族界", "宗教界", "特邀人士"]
    static let parties = ["中共党员", "民革党员", "民盟盟员", "民建会员", "民进会员", "农工党党员", "致公党党员", "九三学社社员", "群众", "无党派人士"]
    static let places = ["城关镇", "华山镇", "桃河乡", "东岭街道", "西苑社区", "南湖村", "北坡村", "清水镇", "石门乡", "新河街道", "柳林镇", "白马乡"]
    static let employers = ["中学", "中心小学", "卫生院", "农业合作社", "供销社", "建筑公司", "茶叶专业合作社", "社区卫生服务中心", "律师事务所", "文化站", "派出所", "电商产业园"]
    static let positions = ["教师", "校长", "医生", "护士长", "经理", "主任", "会计", "律师", "农艺师", "工程师", "个体经营者", "村党支部书记"]
    static let topics = ["农村饮水安全保障", "义务教育均衡发展", "养老服务体系建设", "老旧小区改造", "乡村振兴人才引进", "农产品冷链物流", "中小企业融资", "河道综合治理", "基层医疗服务能力", "校园周边交通安全", "非物质文化遗产保护", "垃圾分类处理"]
    static let sentences = ["近年来，我县在这方面做了大量工作，取得了一定成效。", "但调研发现，仍存在一些突出问题亟待解决。", "一是资金投入不足，项目推进缓慢。",
                            "二是管理机制不健全，部门之间协调不够。", "三是群众参与度不高，宣传引导有待加强。", "为此建议：", "加大财政投入，设立专项资金，",
                            "建立联席会议制度，明确各部门职责分工；", "完善考核评价办法，将其纳入年度目标管理；", "鼓励社会资本参与，拓宽多元投入渠道；",
                            "加强专业人才队伍建设，提高服务水平；", "充分发挥政协委员联系群众的作用，广泛听取意见。", "据统计，全县共有相关设施一百二十余处，",
                            "其中建成超过十年的占百分之四十以上，", "部分乡镇存在设备老化、维护不及时的情况，", "去年以来群众反映的问题中有三成与此相关。",
                            "希望有关部门高度重视，尽快研究落实。", "同时要注重统筹规划，避免重复建设。", "可借鉴周边县区的成功经验，因地制宜推进。",
                            "在此过程中应保障困难群众的合法权益，", "确保各项措施落到实处、取得实效。"]
}
