// Turns files into a Swift source of string constants, so the daemon carries them in its one binary (the admin
// page: `Sources/CPSyncServer/AdminPage/`). Run by the package's own build-tool plugin (`EmbedFilesPlugin`), never
// by hand:
//
//     EmbedFiles OUTPUT.swift ENUM-NAME FILE...
//
// writes `enum ENUM-NAME { static let files: [String: String] }` keyed by each file's name. A file must be UTF-8
// text; anything else fails the build, naming the file.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func fail(_ message: String) -> Never {
    let line = Array("EmbedFiles: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func readFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { fail("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count {
            if ferror(f) != 0 { fail("cannot read \(path)") }
            return bytes
        }
    }
}

/// A Swift string literal holding exactly `text`: every character that could end or escape the literal, and every
/// control character, is written as an escape.
func literal(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

let args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 3 else { fail("usage: EmbedFiles OUTPUT.swift ENUM-NAME FILE...") }
let (output, enumName, inputs) = (args[0], args[1], args[2...])
var source = """
    // Generated at build time by EmbedFiles (Sources/BuildTools) from \(inputs.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.joined(separator: ", ")).
    // Do not edit: edit those files.

    enum \(enumName) {
        /// Each file's text, by its name.
        static let files: [String: String] = [

    """
for path in inputs.sorted() {
    let bytes = readFile(path)
    let text = String(decoding: bytes, as: UTF8.self)
    guard Array(text.utf8) == bytes else { fail("\(path) is not UTF-8 text") }
    let name = path.split(separator: "/").last.map(String.init) ?? path
    source += "        \(literal(name)): \(literal(text)),\n"
}
source += "    ]\n}\n"

guard let f = fopen(output, "wb") else { fail("cannot write \(output): \(String(cString: strerror(errno)))") }
let bytes = Array(source.utf8)
if fwrite(bytes, 1, bytes.count, f) != bytes.count || fclose(f) != 0 { fail("cannot write \(output)") }
