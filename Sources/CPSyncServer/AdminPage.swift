import CPSyncHTTP

/// The admin page: static files compiled into the binary (no CDN, no files beside the daemon), so it works on an
/// intranet without internet access. The markup, style and script are real files in `AdminPage/` (`admin.html`,
/// `admin.css`, `admin.js`), embedded at build time by the package's `EmbedFilesPlugin` as `AdminPageFiles`;
/// everything is same-origin, which is all the router's CSP allows (no inline script or style).
enum AdminPage {
    static let html = "text/html; charset=utf-8"
    static let javaScript = "text/javascript; charset=utf-8"
    static let css = "text/css; charset=utf-8"

    static let files: [String: (contentType: String, body: String)] = [
        "/admin/": (html, file("admin.html")),
        "/admin/index.html": (html, file("admin.html")),
        "/admin/app.js": (javaScript, file("admin.js")),
        "/admin/app.css": (css, file("admin.css")),
    ]

    private static func file(_ name: String) -> String {
        guard let text = AdminPageFiles.files[name] else { preconditionFailure("the build embedded no \(name)") }
        return text
    }

    static func response(for path: String) -> HTTPResponse {
        let key = path == "/admin" ? "/admin/" : path
        guard let file = files[key] else {
            return .error(status: 404, code: "not_found", message: "no such page: \(path)")
        }
        return .text(file.body, contentType: file.contentType)
    }
}
