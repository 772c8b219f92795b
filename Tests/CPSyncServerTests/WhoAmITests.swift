import CPSyncProtocol
import CPSyncServer
import Testing

/// `GET /v1/whoami` through the router: a site token names its registered site, an admin token its admin, a bad
/// token is 401, another method 405.
@Suite struct WhoAmITests {
    @Test func aTokenNamesItsSiteOrItsAdmin() throws {
        let f = try RouterTests.Fixture()
        let site = f.request("GET", "/v1/whoami", token: f.huashan)
        #expect(site.status == 200)
        let who = try WhoAmIResponse.decode(site.body)
        #expect(who == WhoAmIResponse(principal: "site", site: .init(id: "huashan", name: "华山镇政协工委", kind: "township", parent: "county")))
        #expect(String(decoding: site.body, as: UTF8.self).contains("\"admin\":null"), "every member present")
        let county = try WhoAmIResponse.decode(f.request("GET", "/v1/whoami", token: try f.store.issueSiteToken("county")).body)
        #expect(county.site?.kind == "county" && county.site?.parent == nil)
        let admin = try WhoAmIResponse.decode(f.request("GET", "/v1/whoami", token: f.admin).body)
        #expect(admin == WhoAmIResponse(principal: "admin", site: nil, admin: "张三"))
        #expect(f.request("GET", "/v1/whoami", token: "nope").status == 401)
        #expect(f.request("GET", "/v1/whoami").status == 401)
        #expect(f.request("POST", "/v1/whoami", token: f.huashan).status == 405)
        try f.store.revokeSite("chengguan")
        #expect(f.request("GET", "/v1/whoami", token: f.chengguan).status == 401)
    }
}
