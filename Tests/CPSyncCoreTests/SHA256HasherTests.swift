import CPSyncCore
import Testing

/// SHA-256 fed in pieces equals SHA-256 of the whole, wherever the pieces are cut.
@Suite struct SHA256HasherTests {
    func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    @Test func knownDigests() {
        var h = SHA256.Hasher()
        h.update(Array("ab".utf8))
        h.update(Array("c".utf8))
        #expect(h.finishHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var empty = SHA256.Hasher()
        #expect(empty.finishHex() == SHA256.hex([]))
    }

    @Test func piecesOfEverySizeAroundABlockGiveTheOneShotDigest() {
        for count in [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4097] {
            let message = bytes(count, seed: UInt64(count))
            let whole = SHA256.hash(message)
            for piece in [1, 3, 63, 64, 65, 100, 4096] {
                var h = SHA256.Hasher()
                var i = 0
                while i < message.count {
                    h.update(Array(message[i..<min(message.count, i + piece)]))
                    i += piece
                }
                #expect(h.count == Int64(count))
                #expect(h.finish() == whole, "\(count) bytes in pieces of \(piece)")
            }
        }
    }

    @Test func randomCutsOfAMegabyte() {
        let message = bytes(1 << 20, seed: 99)
        let whole = SHA256.hex(message)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<5 {
            var h = SHA256.Hasher()
            var i = 0
            while i < message.count {
                let n = Int(rng.next() % 70_000)
                h.update(Array(message[i..<min(message.count, i + n)]))
                i += n
            }
            #expect(h.finishHex() == whole)
        }
    }
}
