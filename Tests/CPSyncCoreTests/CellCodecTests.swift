@testable import CPSyncCore
import Testing

@Suite struct CellCodecTests {
    static let sites = ["huashan", "chengguan", "county"]
    static func number(_ s: String) -> Int64 { Int64(sites.firstIndex(of: s)! + 1) }
    static func name(_ n: Int64) -> String? { n >= 1 && n <= Int64(sites.count) ? sites[Int(n - 1)] : nil }

    @Test func versionsBasesAndGapsRoundTrip() {
        let h = HLC(milliseconds: 1_795_000_000_000, counter: 3)
        let cells: [CellMeta?] = [
            CellMeta(version: Version(hlc: h, site: "huashan"), base: nil, seq: 40),
            nil,
            CellMeta(version: Version(hlc: HLC(rawValue: h.rawValue - 1_000_000), site: "chengguan"),
                     base: Version(hlc: HLC(rawValue: h.rawValue - 5_000_000), site: "county"), seq: 12),
            CellMeta(version: Version(hlc: HLC(rawValue: h.rawValue + 77), site: "county"), base: nil, seq: 41),
        ]
        let bytes = CellCodec.encode(cells, rowSeq: 41, siteNumber: Self.number)
        let back = CellCodec.decode(bytes, count: cells.count, rowSeq: 41, siteID: Self.name)
        #expect(back.count == cells.count)
        for (a, b) in zip(cells, back) {
            #expect(a?.version == b?.version && a?.base == b?.base && a?.seq == b?.seq)
        }
        // Cells written together cost a few bytes each.
        #expect(bytes.count < 9 + cells.count * 10)
        // A column added later (a migration) reads as "no version".
        #expect(CellCodec.decode(bytes, count: cells.count + 2, rowSeq: 41, siteID: Self.name).suffix(2).allSatisfy { $0 == nil })
        #expect(CellCodec.decode(CellCodec.encode([nil, nil], rowSeq: 1, siteNumber: Self.number), count: 2, rowSeq: 1, siteID: Self.name) == [nil, nil])
    }

    @Test func malformedBlobsDecodeWithoutTrapping() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = CellCodec.decode(bytes, count: 6, rowSeq: Int64.random(in: 0..<1000, using: &rng), siteID: Self.name)
        }
    }
}

extension CellMeta: Equatable {
    public static func == (a: CellMeta, b: CellMeta) -> Bool { a.version == b.version && a.base == b.base && a.seq == b.seq }
}
