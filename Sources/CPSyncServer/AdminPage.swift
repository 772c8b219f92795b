import CPSyncHTTP

/// The admin page: static files compiled into the binary (no CDN, no build step), so it works on an intranet
/// without internet access. The markup, script and style live in `AdminPageHTML.swift`, `AdminPageScript.swift`
/// and `AdminPageStyle.swift`; everything is same-origin, which is all the router's CSP allows (no inline script or
/// style).
enum AdminPage {
    static let html = "text/html; charset=utf-8"
    static let javaScript = "text/javascript; charset=utf-8"
    static let css = "text/css; charset=utf-8"

    static let files: [String: (contentType: String, body: String)] = [
        "/admin/": (html, AdminPageHTML.index),
        "/admin/index.html": (html, AdminPageHTML.index),
        "/admin/app.js": (javaScript, AdminPageScript.source),
        "/admin/app.css": (css, AdminPageStyle.source),
    ]

    static func response(for path: String) -> HTTPResponse {
        let key = path == "/admin" ? "/admin/" : path
        guard let file = files[key] else {
            return .error(status: 404, code: "not_found", message: "no such page: \(path)")
        }
        return .text(file.body, contentType: file.contentType)
    }
}
