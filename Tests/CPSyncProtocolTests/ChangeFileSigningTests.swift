import CPSyncCore
@testable import CPSyncProtocol
import Testing

/// A change file is signed and checked where its bytes lie (no copy of the file): the MAC is RFC 2104's, as
/// `HMACSHA256` computes it on a copy, for keys and messages of every length around SHA-256's block.
@Suite struct ChangeFileSigningTests {
    @Test func theInPlaceMACIsHMACSHA256() {
        var rng = SplitMix64(seed: 22)
        for keyLength in [0, 1, 32, 63, 64, 65, 100] {
            let key = (0..<keyLength).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for length in [0, 1, 55, 56, 63, 64, 65, 1000, 70_000] {
                let message = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let inPlace = message.withUnsafeBytes { ChangeFile.macHex(key: key, message: $0) }
                #expect(inPlace == HMACSHA256.hex(key: key, message: message), "key \(keyLength) B, message \(length) B")
            }
        }
        // RFC 4231 test case 2.
        let mac = Array("what do ya want for nothing?".utf8).withUnsafeBytes { ChangeFile.macHex(key: Array("Jefe".utf8), message: $0) }
        #expect(mac == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
