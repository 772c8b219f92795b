import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
import CPSyncText
import Foundation
import Testing

/// The admin-account endpoints through `Router.respond(to:)`, and the store rules under them.
@Suite struct AdminAccountRouterTests {
    @Test func adminNamesFollowOneRuleForTheCommandAndThePage() {
        for good in ["zhang", "李科长", "县/办公室", "Wang Li", String(repeating: "长", count: 64)] {
            #expect(ServerStore.isValidAdminName(good), "\(good)")
        }
        for bad in ["", " ", " 李", "李 ", "李\n长", "李\u{7}长", "李\u{85}长", String(repeating: "长", count: 65)] {
            #expect(!ServerStore.isValidAdminName(bad), "\(bad.debugDescription)")
        }
    }

    @Test func theLastActiveAdminIsAlwaysKept() throws {
        let f = try RouterTests.Fixture()
        #expect(throws: ServerError.lastActiveAdmin("张三")) { try f.store.revokeAdmin("张三", actor: "admin:张三") }
        _ = try f.store.addAdmin(name: "李四")
        try f.store.revokeAdmin("张三", actor: "admin:张三")
        // The command line follows the same rule as the page: the last one stays.
        #expect(throws: ServerError.lastActiveAdmin("李四")) { try f.store.revokeAdmin("李四") }
        #expect(try f.store.admins().filter { !$0.revoked }.map(\.name) == ["李四"])
    }

    @Test func anAdminIsAddedRotatedAndRevokedThroughTheRouter() throws {
        let f = try RouterTests.Fixture()
        let zh = [("Accept-Language", "zh-CN,zh;q=0.9")]
        let created = f.request("POST", "/v1/admin/accounts", token: f.admin, body: Array(#"{"name":"县/办公室"}"#.utf8))
        #expect(created.status == 201)
        let token = try AdminTokenResponse.decode(created.body).token
        let encoded = "/v1/admin/accounts/%E5%8E%BF%2F%E5%8A%9E%E5%85%AC%E5%AE%A4"
        let rotated = f.request("POST", encoded + "/token", token: token)
        #expect(rotated.status == 200, "\(String(decoding: rotated.body, as: UTF8.self))")
        #expect(f.request("GET", "/v1/admin/sites", token: token).status == 401)
        let dup = f.request("POST", "/v1/admin/accounts", token: f.admin, body: Array(#"{"name":"县/办公室"}"#.utf8), headers: zh)
        #expect(dup.status == 400 && String(decoding: dup.body, as: UTF8.self).contains("已存在"))
        #expect(f.request("POST", encoded + "/revoke", token: f.admin).status == 200)
        let last = f.request("POST", "/v1/admin/accounts/%E5%BC%A0%E4%B8%89/revoke", token: f.admin, headers: zh)
        #expect(last.status == 400 && String(decoding: last.body, as: UTF8.self).contains("至少保留一个有效的管理员账户"))
        #expect(f.request("POST", "/v1/admin/accounts/ghost/token", token: f.admin).status == 404)
        #expect(f.request("POST", "/v1/admin/accounts", token: f.huashan, body: Array(#"{"name":"x"}"#.utf8)).status == 403)
        #expect(f.request("GET", "/v1/admin/accounts", token: f.admin).status == 405)
        let actions = try f.store.accountEvents().filter { $0.actor.hasPrefix("admin:") }.map { "\($0.actor) \($0.action)" }
        #expect(actions == ["admin:张三 admin-add", "admin:县/办公室 admin-token", "admin:张三 admin-revoke"])
    }
}

/// One language rule for every error body the server writes: the request's `Accept-Language`, never the daemon's
/// locale; `Content-Language` says which language `message` is in.
@Suite struct ErrorLanguageTests {
    static let zh = [("Accept-Language", "en;q=0.3, zh-CN;q=0.9")]
    static let en = [("Accept-Language", "en-GB")]

    @Test func aSiteRefusalIsWrittenInTheRequestsLanguage() throws {
        let f = try RouterTests.Fixture()
        let path = "/v1/admin/sites/ghost/revoke"
        let chinese = f.request("POST", path, token: f.admin, headers: Self.zh)
        let english = f.request("POST", path, token: f.admin, headers: Self.en)
        let none = f.request("POST", path, token: f.admin)
        #expect(chinese.status == 404 && english.status == 404 && none.status == 404)
        let zhBody = try ErrorBody.decode(chinese.body), enBody = try ErrorBody.decode(english.body), bare = try ErrorBody.decode(none.body)
        #expect(zhBody.code == .notFound && zhBody.message.contains("没有站点 'ghost'"), "\(zhBody.message)")
        #expect(enBody.message.contains("no site 'ghost'") && bare.message == enBody.message, "\(enBody.message)")
        #expect(chinese.headers["Content-Language"] == "zh" && english.headers["Content-Language"] == "en")
    }

    @Test func aProtocolRefusalWithoutWordsKeepsItsEnglishDetailAndSaysSo() throws {
        let f = try RouterTests.Fixture()
        let r = f.request("GET", "/v1/no-such-endpoint", token: f.admin, headers: Self.zh)
        #expect(r.status == 404 && r.headers["Content-Language"] == "en")
        #expect(try ErrorBody.decode(r.body).message.hasPrefix("no such endpoint"))
    }

    @Test func acceptLanguageIsReadByWeight() {
        #expect(Language(acceptLanguage: "zh-CN,zh;q=0.9,en;q=0.8") == .chinese)
        #expect(Language(acceptLanguage: "en-US,en;q=0.9,zh-CN;q=0.8") == .english)
        #expect(Language(acceptLanguage: "fr, zh;q=0.5") == .chinese)
        #expect(Language(acceptLanguage: "zh;q=0, en;q=0.1") == .english)
        #expect(Language(acceptLanguage: "fr-FR") == .english && Language(acceptLanguage: nil) == .english)
        #expect(Language(acceptLanguage: "ZH-tw") == .chinese)
    }
}
