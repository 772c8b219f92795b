import CPPCC
import CPSyncCore
import Foundation
import Testing
import TestSupport

/// Sites and handling units in the county's order: without a setting the county first, then by kind and by name in
/// Chinese (pinyin) order, never by code point; with one, as the county set it, the rest after.
@Suite struct SortOrderTests {
    @Test func sitesFollowTheCountysOrderElsePinyinAfterTheCounty() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        try o.seedDemo()
        // 北关 (bei) comes before 华山 (hua) in pinyin, after it by code point (北 U+5317 > 华 U+534E) and by id.
        try o.saveSite(Site(id: "zz-beiguan", name: "北关镇政协工委", kind: .township, parentID: "county"))
        #expect(try o.sites().map(\.id) == ["county", "zz-beiguan", "huashan", "liushu", "taohe", "chengguan", "huashan-xinjie"])
        try o.setOrder(.sites, ["taohe", "chengguan", "huashan"])
        #expect(try o.sites().map(\.id) == ["county", "taohe", "chengguan", "huashan", "zz-beiguan", "liushu", "huashan-xinjie"])
        #expect(try o.report(year: 2026, in: .english).bySite.map(\.siteID) == ["county", "taohe", "chengguan", "huashan", "zz-beiguan", "liushu", "huashan-xinjie"])
        // Members follow their site's place, then their name in pinyin order.
        let sitesOfMembers = try o.members().compactMap(\.siteID)
        let order = try o.sites().map(\.id)
        #expect(sitesOfMembers.map { order.firstIndex(of: $0)! } == sitesOfMembers.map { order.firstIndex(of: $0)! }.sorted())
        #expect(throws: CPPCCError.self) { try o.setOrder(.sites, ["taohe", "atlantis"]) }
        #expect(throws: CPPCCError.self) { try o.setOrder(.sites, ["taohe", "taohe"]) }
        #expect(try o.order(.sites) == ["taohe", "chengguan", "huashan"], "a refused setting changes nothing")
        try o.setOrder(.sites, [])
        #expect(try o.sites().first?.id == "county" && o.order(.sites).isEmpty)
    }

    @Test func unitsFollowTheCountysOrderInTheReport() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let o = try makeOffice(dir, "county")
        try o.seedDemo()
        let units = try o.report(year: 2026, in: .english).categoriesByUnit.map(\.unit)
        #expect(units.count > 3)
        let wanted = ["县住房和城乡建设局", "县水利局", "县教育局"]
        try o.setOrder(.units, wanted)
        let ordered = try o.report(year: 2026, in: .english).categoriesByUnit.map(\.unit)
        #expect(Array(ordered.prefix(3)) == wanted && Set(ordered) == Set(units), "\(ordered)")
        #expect(Array(try o.handlingUnits().prefix(3)) == wanted)
        // cheng < hua in pinyin, though 华 (U+534E) < 城 (U+57CE) by code point.
        #expect(Office.chineseOrder("城关镇", "华山镇") && !Office.chineseOrder("华山镇", "城关镇") && "华山镇" < "城关镇")
    }
}
