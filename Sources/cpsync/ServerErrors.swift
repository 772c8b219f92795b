import CPSyncCLI
import CPSyncClient
import CPSyncProtocol

/// A client error as the clerk reads it: the server's errors in Chinese under zh_* by their code (ServerErrorText),
/// the server's detail kept; everything else as the client library words it.
enum ServerErrors {
    static func describe(_ error: any Error) -> String {
        guard L10n.isChinese, let e = error as? ClientError, case .server(let status, let body) = e else { return "\(error)" }
        // These two already say it in Chinese with the numbers from the body.
        if body.code == .clockSkew || body.code == .upgradeRequired { return e.description }
        return ServerErrorText.describe(code: body.code.rawValue, status: status, message: body.message, in: L10n.language)
    }
}
