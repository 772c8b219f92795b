import CPPCC
import CPSyncHTTP
import CPSyncProtocol
@testable import CPSyncServer
import Foundation
import Testing

/// The daemon's one route table (`Router.routes`): dispatch, 405 with `Allow`, access and the metric names, for every
/// route in it, through `Router.respond(to:)`.
@Suite struct RouteTableTests {
    typealias Fixture = RouterTests.Fixture

    /// A path the route's pattern matches: `x` for a parameter, `a/b` for one that may hold a '/'.
    static func samplePath(_ route: Route) -> String {
        "/" + route.pattern.segments.map { segment in
            switch segment {
            case .literal(let s): s
            case .one: "x"
            case .rest: "a/b"
            }
        }.joined(separator: "/")
    }

    /// The methods of every route written with this route's pattern, as `Allow` should list them.
    static func methods(of route: Route) -> Set<String> {
        Set(Router.routes.routes.filter { $0.pattern.description == route.pattern.description }.flatMap(\.methods))
    }

    static func allowed(_ r: HTTPResponse) -> Set<String> {
        Set((r.headers["Allow"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    @Test func everyRouteAnswersAWrongMethodWith405AndAllow() throws {
        let f = try Fixture()
        #expect(Router.routes.routes.count >= 25)
        for route in Router.routes.routes {
            let path = Self.samplePath(route), methods = Self.methods(of: route)
            let wrong = try #require(["DELETE", "PUT", "POST", "GET", "HEAD"].first { !methods.contains($0) })
            let r = f.request(wrong, path, token: f.admin)
            #expect(r.status == 405, "\(wrong) \(path)")
            #expect(Self.allowed(r) == methods, "\(wrong) \(path): Allow \(r.headers["Allow"] ?? "none")")
            #expect(try ErrorBody.decode(r.body) == ErrorBody(code: .methodNotAllowed, message: "\(wrong) is not allowed on \(path)"))
        }
    }

    @Test func noRouteHidesAnother() {
        var seen: Set<String> = []
        for route in Router.routes.routes {
            for method in route.methods {
                #expect(seen.insert("\(method) \(route.pattern)").inserted, "\(method) \(route.pattern) twice")
                guard case .found(let found, _) = Router.routes.match(method: method, path: Self.samplePath(route)) else {
                    Issue.record("\(method) \(route.pattern) not found")
                    continue
                }
                #expect(found.name == route.name, "\(method) \(Self.samplePath(route)) reaches \(found.name), not \(route.name)")
            }
        }
    }

    @Test func wrongMethodsOnOldAndNewEndpointsNameTheRightOnes() throws {
        let f = try Fixture()
        #expect(f.request("DELETE", "/v1/push").headers["Allow"] == "POST")
        #expect(f.request("POST", "/v1/health").headers["Allow"] == "GET, HEAD")
        #expect(f.request("PUT", "/v1/admin/sites", token: f.admin).headers["Allow"] == "GET, POST")
        // These answered 404 before the table: a wrong method on a path with parameters.
        for (method, path) in [("GET", "/v1/admin/accounts/科室/甲/token"), ("GET", "/v1/admin/sites/huashan/move"),
                               ("DELETE", "/v1/admin/conflicts/c1"), ("POST", "/v1/snapshot/s1"), ("GET", "/v1/relay"),
                               ("PUT", "/v1/tier/push"), ("POST", "/"), ("POST", "/admin/")] {
            let r = f.request(method, path, token: f.admin)
            #expect(r.status == 405 && r.headers["Allow"] != nil, "\(method) \(path)")
        }
        let unknown = f.request("GET", "/v1/admin/nothing-here", token: f.admin)
        #expect(unknown.status == 404 && unknown.headers["Allow"] == nil)
        #expect(try ErrorBody.decode(unknown.body).message == "no such endpoint: GET /v1/admin/nothing-here")
    }

    @Test func everyRouteAsksForTheTokenItsAccessNames() throws {
        let f = try Fixture()
        for route in Router.routes.routes {
            let (method, path) = (route.methods[0], Self.samplePath(route))
            let anonymous = f.request(method, path)
            if route.access == .open {
                #expect(![401, 403, 405].contains(anonymous.status), "\(method) \(path): \(anonymous.status)")
                #expect((try? ErrorBody.decode(anonymous.body))?.message.hasPrefix("no such endpoint") != true, "\(method) \(path)")
                continue
            }
            #expect(anonymous.status == 401 && anonymous.headers["WWW-Authenticate"] != nil, "\(method) \(path)")
            switch route.access {
            case .admin: #expect(f.request(method, path, token: f.huashan).status == 403, "\(method) \(path)")
            case .site: #expect(f.request(method, path, token: f.admin).status == 403, "\(method) \(path)")
            default: break
            }
        }
    }

    @Test func theRouteNamesAtMetricsAreTheTablesNames() throws {
        let f = try Fixture()
        for route in Router.routes.routes {
            let wrong = ["DELETE", "PUT", "POST", "GET"].first { !Self.methods(of: route).contains($0) }!
            _ = f.request(wrong, Self.samplePath(route))
            _ = f.request(route.methods[0], Self.samplePath(route))
        }
        _ = f.request("GET", "/nowhere")
        let text = String(decoding: f.request("GET", "/metrics").body, as: UTF8.self)
        let counted = Set(text.split(separator: "\n").filter { $0.hasPrefix("cpsync_http_requests_total{") }.compactMap { line in
            line.split(separator: "\"").dropFirst().first.map(String.init)
        })
        #expect(counted == Set(Router.routes.metricNames))
        #expect(text.contains("cpsync_http_requests_total{route=\"push\",status=\"405\"} 1"))
        #expect(text.contains("cpsync_http_requests_total{route=\"admin_account_token\",status=\"405\"} 1"))
        #expect(text.contains("cpsync_http_requests_total{route=\"other\",status=\"404\"} 1"))
    }

    @Test func aPushesAppliedChangesReachTheDashboardAndAReplayKeepsThem() throws {
        let f = try Fixture()
        let a = try f.office("huashan")
        try a.database.run("INSERT INTO members(id, name, sector, site_id) VALUES ('m1', '王芳', '教育', 'huashan')")
        let first = try f.push(a, token: f.huashan, batch: "b1")
        let applied = try PushResponse.decode(first.body).applied
        #expect(applied > 0)
        func lastPushChanges() throws -> Int64? {
            try SiteListResponse.decode(f.request("GET", "/v1/admin/sites", token: f.admin).body).sites.first { $0.id == "huashan" }?.lastPushChanges
        }
        #expect(try lastPushChanges() == Int64(applied))
        // A replay applies nothing new: the dashboard keeps the count of the push it repeats.
        let replay = try f.push(a, token: f.huashan, batch: "b1")
        #expect(replay.headers["CPSync-Replayed"] == "true" && replay.body == first.body)
        #expect(try lastPushChanges() == Int64(applied))
        try a.database.run("UPDATE members SET sector = '科技' WHERE id = 'm1'")
        let next = try PushResponse.decode(try f.push(a, token: f.huashan, batch: "b2").body)
        #expect(next.applied == 1 && next.applied != applied)
        #expect(try lastPushChanges() == 1)
    }

    @Test func aPatternBindsItsParameters() {
        let account = PathPattern("/v1/admin/accounts/{name...}/token")
        #expect(account.match("/v1/admin/accounts/科室/甲/token") == ["name": "科室/甲"])
        #expect(account.match("/v1/admin/accounts/张三/token") == ["name": "张三"])
        #expect(account.match("/v1/admin/accounts//token") == ["name": ""])
        #expect(account.match("/v1/admin/accounts/token") == nil)
        #expect(account.match("/v1/admin/accounts/张三/revoke") == nil)
        let conflict = PathPattern("/v1/admin/conflicts/{id}")
        #expect(conflict.match("/v1/admin/conflicts/c1") == ["id": "c1"])
        #expect(conflict.match("/v1/admin/conflicts/c1/resolve") == nil)
        #expect(conflict.match("/v1/admin/conflicts") == nil)
        #expect(PathPattern("/admin/{file...}").match("/admin/") == ["file": ""])
        #expect(PathPattern("/admin/{file...}").match("/admin") == nil)
        #expect(PathPattern("/").match("/") == [:])
        #expect(PathPattern("/v1/push").match("/v1/push/") == nil)
        #expect(PathPattern("/v1/push").match("v1/push") == nil)
    }
}
