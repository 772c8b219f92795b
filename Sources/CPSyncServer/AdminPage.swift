import CPSyncHTTP

/// The admin page: static files compiled into the binary (no CDN, no build step).
enum AdminPage {
    static let files: [String: (contentType: String, body: String)] = [
        "/admin/": ("text/html; charset=utf-8", "<!doctype html><meta charset=utf-8><title>cpsync</title><p>cpsync admin</p>"),
    ]

    static func response(for path: String) -> HTTPResponse {
        let key = path == "/admin" ? "/admin/" : path
        guard let file = files[key] else {
            return .error(status: 404, code: "not_found", message: "no such page: \(path)")
        }
        return .text(file.body, contentType: file.contentType)
    }
}
