import CPSyncText
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The text encodings a CSV file from an office arrives in, and how it is turned into text: UTF-8 (with or without
/// the byte-order mark Excel's “CSV UTF-8” writes), or GB18030 — what older Excel (and WPS) save as plain “CSV” on
/// a Chinese Windows, a superset of GBK and GB2312. Converted with glibc's iconv: no package needed.
public enum CSVEncoding: String, Sendable, Equatable {
    case utf8 = "UTF-8"
    case utf8BOM = "UTF-8 (BOM)"
    case gb18030 = "GB18030"

    /// A file that is neither: the message says how to save it so that it is.
    public struct Unreadable: Error, Renderable, Equatable {
        public let file: String
        public let detail: Phrase
        public func text(in language: Language) -> String {
            language.pick(en: "'\(file)' is not a CSV file this program can read (\(detail.english)); open it in Excel or WPS and save it as “CSV UTF-8 (comma delimited)” (文件 → 另存为 → CSV UTF-8), then import again; nothing was imported",
                      zh: "无法读取文件 '\(file)'（\(detail.chinese)）；请用 Excel 或 WPS 打开，另存为“CSV UTF-8（逗号分隔）”（文件 → 另存为 → CSV UTF-8）后重新导入；未导入任何记录")
        }
    }

    /// Decodes a file's bytes: valid UTF-8 as is, else GB18030 when the bytes are valid GB18030; UTF-16 (Excel's
    /// “Unicode text”, tab-separated) and bytes valid in neither are refused with the fix.
    public static func decode(_ data: Data, file: String) throws(Unreadable) -> (text: String, encoding: CSVEncoding) {
        let bytes = [UInt8](data)
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw Unreadable(file: file, detail: Phrase(en: "it is UTF-16, Excel's “Unicode text”", zh: "文件是 UTF-16 编码，即 Excel 的“Unicode 文本”"))
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            return (text, bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? .utf8BOM : .utf8)
        }
        if let text = convert(bytes, from: "GB18030") { return (text, .gb18030) }
        throw Unreadable(file: file, detail: Phrase(en: "it is neither UTF-8 nor GB18030/GBK", zh: "既不是 UTF-8 也不是 GB18030/GBK 编码"))
    }

    /// `bytes` converted from `encoding` to a String by iconv; nil when a byte sequence is invalid or incomplete.
    static func convert(_ bytes: [UInt8], from encoding: String) -> String? {
        let cd = iconv_open("UTF-8", encoding)
        // iconv_open reports failure as (iconv_t)-1; iconv reports it as (size_t)-1, which Swift sees as -1.
        guard let cd, Int(bitPattern: cd) != -1 else { return nil }
        defer { iconv_close(cd) }
        if bytes.isEmpty { return "" }
        var input = bytes.map { CChar(bitPattern: $0) }
        // Every GB18030 character is 1, 2 or 4 bytes and at most 4 bytes in UTF-8: twice the input always fits.
        var output = [CChar](repeating: 0, count: bytes.count * 2 + 16)
        let produced: Int? = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = inBuf.baseAddress
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress
                var outLeft = outBuf.count
                if iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) == -1 || inLeft != 0 { return nil }
                if iconv(cd, nil, nil, &outPtr, &outLeft) == -1 { return nil }
                return outBuf.count - outLeft
            }
        }
        guard let produced else { return nil }
        return String(validating: output[0..<produced].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
