import CPSyncProtocol
import CPSyncText
import CPSyncProtocol
import Testing

/// Every error code of the protocol has Chinese text for the clerk; an unknown code falls back to a generic line,
/// and the server's detail is always kept.
@Suite struct ServerErrorTextTests {
    @Test func everyProtocolErrorCodeHasChineseText() {
        for code in ErrorCode.all {
            let text = ServerErrorText.chinese(code: code.rawValue)
            #expect(text != nil, "no Chinese text for \(code.rawValue)")
            #expect(text.map { $0.unicodeScalars.contains { $0.value >= 0x4E00 && $0.value <= 0x9FFF } } == true, "\(code.rawValue): \(text ?? "")")
        }
        #expect(ServerErrorText.chinese(code: "no_such_code") == nil)
    }
}
