import CPSyncClient
import Testing

/// The progress line of push and pull, as pure functions of a snapshot.
@Suite struct ProgressTextTests {
    @Test func bytesAreShortAndBinary() {
        #expect(ProgressText.bytes(0) == "0 B")
        #expect(ProgressText.bytes(1023) == "1023 B")
        #expect(ProgressText.bytes(1536) == "1.5 KB")
        #expect(ProgressText.bytes(32 * 1024) == "32 KB")
        #expect(ProgressText.bytes(3_565_158) == "3.4 MB")
        #expect(ProgressText.bytes(5 << 30) == "5.0 GB")
        #expect(ProgressText.bytes(-5) == "0 B")
    }

    @Test func durationsRoundUpAndUnknownIsDashes() {
        #expect(ProgressText.duration(0) == "0:00")
        #expect(ProgressText.duration(6.2) == "0:07")
        #expect(ProgressText.duration(754) == "12:34")
        #expect(ProgressText.duration(3723) == "1:02:03")
        #expect(ProgressText.duration(nil) == "--:--")
        #expect(ProgressText.duration(.infinity) == "--:--")
    }

    @Test func timeLeftFollowsThePaceSoFar() {
        // A quarter done in 10 s: 30 s left; the total bytes extrapolate the same way.
        let s = TransferSnapshot(direction: .pull, bytes: 80 * 1024, changes: 2_500, fraction: 0.25, elapsed: 10)
        #expect(s.secondsLeft == 30)
        #expect(s.rate == Double(8 * 1024))
        #expect(s.estimatedTotalBytes == 320 * 1024)
        // Too early or unknown: no guess.
        #expect(TransferSnapshot(direction: .pull, bytes: 10, changes: 0, fraction: 0.005, elapsed: 10).secondsLeft == nil)
        #expect(TransferSnapshot(direction: .pull, bytes: 10, changes: 0, fraction: 0.5, elapsed: 0.2).secondsLeft == nil)
        #expect(TransferSnapshot(direction: .pull, bytes: 10, changes: 0, fraction: nil, elapsed: 10).secondsLeft == nil)
        #expect(TransferSnapshot(direction: .pull, bytes: 10, changes: 0, fraction: 1, elapsed: 10).secondsLeft == 0)
    }

    @Test func theLineSaysWhatMovedAndWhatIsLeftInBothLanguages() {
        let s = TransferSnapshot(direction: .push, bytes: 80 * 1024, changes: 2_500, fraction: 0.25, elapsed: 10)
        #expect(ProgressText.line(s, chinese: false)
            == "pushing [#####...............] 25%  80 KB of ~320 KB  2500 changes  8.0 KB/s  0:30 left")
        #expect(ProgressText.line(s, chinese: true)
            == "正在推送 [#####...............] 25%  80 KB / 约 320 KB  2500 条修改  8.0 KB/s  剩余 0:30")
        #expect(ProgressText.line(s, chinese: false, bar: false) == "pushing: 25%, 80 KB of ~320 KB, 2500 changes, 8.0 KB/s, 0:30 left")
        var done = s
        done.finished = true
        done.fraction = 1
        #expect(ProgressText.line(done, chinese: true, bar: false) == "正在推送: 100%, 80 KB, 2500 条修改, 8.0 KB/s, 用时 0:10")
        let unknown = TransferSnapshot(direction: .pull, bytes: 100, changes: 0, fraction: nil, elapsed: 0.1)
        #expect(ProgressText.line(unknown, chinese: false) == "pulling 100 B  0 changes  --:-- left")
    }

    @Test func theLineHasNoControlCharacters() {
        for f in [nil, 0.0, 0.5, 1.0] as [Double?] {
            for zh in [false, true] {
                let line = ProgressText.line(TransferSnapshot(direction: .pull, bytes: 123_456, changes: 42, fraction: f, elapsed: 3), chinese: zh)
                #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }, "\(line)")
            }
        }
    }

    @Test func wireFormatFollowsTheEnvironment() {
        #expect(WireFormat.fromEnvironment([:]) == .best)
        #expect(WireFormat.fromEnvironment(["CPSYNC_WIRE": "json"]) == .plain)
        #expect(WireFormat.fromEnvironment(["CPSYNC_WIRE": "compact"]) == WireFormat(compact: true, gzip: false))
        #expect(WireFormat.fromEnvironment(["CPSYNC_WIRE": "JSON+gzip"]) == WireFormat(compact: false, gzip: true))
        #expect(WireFormat.plain.pullHeaders.isEmpty, "an office that wants plain JSON asks for nothing new")
    }
}
