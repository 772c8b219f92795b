import CPSyncCLI
import CPSyncClient
import Foundation

/// `cpsync init --from-snapshot [--chunk-bytes N] [--json] …`: a new office from the county's snapshot of its scope
/// (resumable: run it again after a cut or a kill and it continues), then an ordinary pull from the snapshot's cursor.
enum SnapshotInit {
    static func run(path: String, config: OfficeConfig, chunkBytes: Int?, json: Bool) throws -> Int32 {
        var download = SnapshotDownload(path: path, config: config)
        download.language = L10n.language
        if let chunkBytes { download.chunkBytes = chunkBytes }
        if !json && Console.stderrIsTerminal {
            download.progress = { held, total in
                Console.err("\r" + L10n.pick(en: "downloading snapshot", zh: "正在下载快照") + " \(held * 100 / max(1, total))% (\(held)/\(total) B)",
                            terminator: held < total ? "" : "\n")
            }
        }
        let o = try download.run()
        if o.discardedBytes > 0 && !json {
            Console.err(L10n.pick(en: "note: the snapshot downloaded so far (\(o.discardedBytes) bytes) did not match its SHA-256 (damaged on disk, or changed on the server); it was thrown away and downloaded again from byte 0",
                                  zh: "提示：此前已下载的快照（\(o.discardedBytes) 字节）与其 SHA-256 不符（磁盘上已损坏，或服务器上的文件已变）；已丢弃并从第 0 字节重新下载"))
        }
        if json {
            struct Installed: Encodable {
                let snapshot: String
                let cursor: Int64
                let size, rawSize, resumedFrom, downloaded, discarded, pulled, pages: Int
                enum CodingKeys: String, CodingKey {
                    case snapshot, cursor, size, downloaded, discarded, pulled, pages, rawSize = "raw_size", resumedFrom = "resumed_from"
                }
            }
            Console.out(try JSONOutput.encode(Installed(
                snapshot: o.manifest.id, cursor: o.manifest.cursor, size: Int(o.manifest.size), rawSize: Int(o.manifest.rawSize ?? o.manifest.size),
                resumedFrom: Int(o.resumedFrom), downloaded: Int(o.downloaded), discarded: Int(o.discardedBytes), pulled: o.pull.received,
                pages: o.pull.pages)))
        } else {
            let resumed = o.resumedFrom > 0 ? L10n.pick(en: ", resumed at byte \(o.resumedFrom)", zh: "，从第 \(o.resumedFrom) 字节续传") : ""
            Console.out(L10n.pick(en: "office replica \(path) ready for site '\(config.site)' from snapshot \(o.manifest.id) (\(o.downloaded) bytes downloaded\(resumed)); then pulled \(o.pull.received) changes",
                                  zh: "办公室数据库 \(path) 已由快照 \(o.manifest.id) 建立：站点 '\(config.site)'（下载 \(o.downloaded) 字节\(resumed)）；随后拉取 \(o.pull.received) 条修改"))
        }
        return 0
    }
}
