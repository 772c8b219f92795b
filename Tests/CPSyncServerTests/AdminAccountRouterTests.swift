import CPSyncCore
import CPSyncHTTP
import CPSyncProtocol
import CPSyncServer
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
