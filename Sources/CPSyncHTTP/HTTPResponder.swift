/// The single seam between the HTTP core and the application: a request value in, a response value out.
///
/// Called on the connection's own thread, so several calls may run concurrently.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) -> HTTPResponse
}
