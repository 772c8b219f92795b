import CPSyncCore
import Testing

/// The binary form batches are named and compared by (`ChangeDigest`), and the hash over it (`Murmur3`).
@Suite struct DigestFormTests {
    /// Every kind of value, a delete, a base, repeated and changing tables, keys and sites, UTF-8 Chinese text.
    static let changes: [Change] = {
        func v(_ hlc: Int64, _ site: String) -> Version { Version(hlc: HLC(rawValue: hlc), site: site) }
        return [
            Change(table: "members", pk: "m1", column: nil, value: .null, version: v(1_763_900_300_000 << 16, "huashan"), causalLength: 1),
            Change(table: "members", pk: "m1", column: "name", value: .text("王芳"), version: v(1_763_900_300_000 << 16, "huashan"), causalLength: 1),
            Change(table: "members", pk: "m1", column: "term", value: .integer(-8), version: v(1_763_900_300_000 << 16 + 1, "huashan"), causalLength: 1,
                   base: v(1_763_900_200_000 << 16, "county")),
            Change(table: "members", pk: "m2", column: nil, value: .null, version: v(1_763_900_100_000 << 16, "chengguan"), causalLength: 2),
            Change(table: "proposals", pk: "p-关于饮水", column: "score", value: .real(4.25), version: v(5, "huashan"), causalLength: 3),
            Change(table: "proposals", pk: "p-关于饮水", column: "scan", value: .blob([0, 1, 254, 255]), version: v(Int64.max, "huashan"), causalLength: 3),
            Change(table: "proposals", pk: "p-关于饮水", column: "votes", value: .integer(Int64.min), version: v(0, "huashan"), causalLength: 3,
                   base: v(7, "huashan")),
        ]
    }()

    /// The form must never change: answers stored with a SHA-256 digest of it ("b1:") are still compared with it.
    @Test func theBinaryFormIsTheOneEarlierServersHashed() {
        #expect(SHA256.hex(ChangeDigest.binaryForm(Self.changes)) == "20b929fbe9ebf7c93ebacbdf98abee7a8f544ace81a643751fadc618297beb15")
        #expect(SHA256.hex(ChangeDigest.binaryForm(Self.changes, prefix: Array("huashan|0|0|".utf8))) == "3422dc0a631344ee983eacb1efc79e88544775d6d7577ea061022bd494c14888")
        #expect(ChangeDigest.binaryForm([]) == [0])
    }

    @Test func theHashOverTheFormIsMurmur3OfTheBytesAndTellsEveryChangedFieldApart() {
        #expect(ChangeDigest.murmurHex(Self.changes) == Murmur3.hex(ChangeDigest.binaryForm(Self.changes)))
        let prefix = Array("huashan|0|0|b2|".utf8)
        #expect(ChangeDigest.murmurHex(Self.changes, prefix: prefix) == Murmur3.hex(ChangeDigest.binaryForm(Self.changes, prefix: prefix)))
        // Any one field changed anywhere gives another hash.
        var seen: Set<String> = [ChangeDigest.murmurHex(Self.changes)]
        for i in Self.changes.indices {
            var variants: [Change] = []
            var c = Self.changes[i]
            c.value = .text("李强"); variants.append(c)
            c = Self.changes[i]; c.causalLength += 2; variants.append(c)
            c = Self.changes[i]; c.version = Version(hlc: HLC(rawValue: c.version.hlc.rawValue &+ 1), site: c.version.site); variants.append(c)
            c = Self.changes[i]; c.version = Version(hlc: c.version.hlc, site: "taohe"); variants.append(c)
            c = Self.changes[i]; c.base = c.base == nil ? Version(hlc: HLC(rawValue: 3), site: "county") : nil; variants.append(c)
            c = Self.changes[i]; c.column = c.column == nil ? "name" : nil; variants.append(c)
            for v in variants {
                var list = Self.changes
                list[i] = v
                #expect(seen.insert(ChangeDigest.murmurHex(list)).inserted, "change \(i) altered to \(v) hashed like another list")
            }
        }
        #expect(seen.insert(ChangeDigest.murmurHex(Array(Self.changes.dropLast()))).inserted)
    }
}

/// MurmurHash3 x64-128 against a reference implementation (Python's mmh3 5.x, `hash128(data, seed, x64arch=True)`,
/// written h1 then h2).
@Suite struct Murmur3Tests {
    @Test func everyTailLengthMatchesTheReference() {
        let byLength = [
            "00000000000000000000000000000000", "4610abe56eff5cb551622daa78f83583", "7cb3f5c58dab264cf03c01326ec2e044",
            "b872a12fef53e6befb6255c252b396b6", "e1c594ae0ddfaf10d3d605bd13c2fde2", "41ee8cd4a6f94036f8d0155e630c23f6",
            "66983abba4f5043c57e0240b16512ca0", "bd4c6987ca4b0d68613addd4bd25c787", "47a7e1bdd68e2fc860e6ee02ec31dcc7",
            "fbb4cb0f6e812d3278de751d0200ffb9", "cfca25e89e58e463254313c472ad2076", "c57b4f47c7564f886965ea8d20711bb0",
            "b35da7e69212a5ca8075f146ecf75346", "4b52d9f2c55f41c284ff869eafa6d8fc", "5fa933ee35906d640d782573380fc9df",
            "47231598fd4925e9cd846dee88c67de9", "444924b591903f30ab906456762fe845", "5c76f40f9fe7c20ec15f026b9edaa824",
            "1648e4d1bae9c47bce2684180bb9eb5f", "a665a45564a30163954f7960bfae1fdc", "a3d253705736954b5a1f06256c7b9c7a",
            "cdd13da028d412036bc50efc2da2e7cb", "45f8f3bf27c12a711730a373601e5662", "b9a1376f153581db26451c93b42a4941",
            "734e846275b2dfde94707eabbbfb9e52", "3bbe7cb52ee982cba2d35433beef9ffc", "a515dcfe02226f722e0c68dcfcc47d78",
            "111602884d592eed28741948dc1db519", "dc14ff62ee05813c662050bb4567cb8b", "aae494b11518cf1a649e12f78ccfe176",
            "f069080d38a201e322f3687fe3d26b19", "053dd3e1a32cd0949ee59aefb4005490", "c66d9022b62f500f1c050a6e34c31151",
            "7d41281bfaba461255ac8073a7d6a30b",
        ]
        for (n, hex) in byLength.enumerated() {
            #expect(Murmur3.hex((0..<n).map { UInt8($0) }) == hex, "bytes 0..<\(n)")
        }
    }

    @Test func textSeedsAndLongInputsMatchTheReference() {
        #expect(Murmur3.hex(Array("hello".utf8)) == "cbd8a7b341bd9b025b1e906a48ae1d19")
        #expect(Murmur3.hex(Array("hello".utf8), seed: 42) == "c4b8b3c960af6f082334b875b0efbc7a")
        #expect(Murmur3.hex(Array("The quick brown fox jumps over the lazy dog".utf8)) == "e34bbc7bbc071b6c7a433ca9c49a9347")
        #expect(Murmur3.hex(Array("县政协委员张三".utf8)) == "ffd56eddc654ce559e10c7ee69041453")
        #expect(Murmur3.hex(Array("县政协委员张三".utf8), seed: 42) == "089631b97852367386d8f3958cb2923f")
        #expect(Murmur3.hex((0..<100_000).map { UInt8($0 * 7 % 251) }) == "9ff05f130eb902f82f7fe448101119b9")
    }
}
