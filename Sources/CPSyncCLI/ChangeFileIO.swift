import Foundation

/// Reading and writing change files (sync by USB stick) for the commands: a file is written whole or not at all
/// (temporary file, fsync, rename), since a stick may be pulled out at any moment.
public enum ChangeFileIO {
    /// The bytes of `path`; a missing or unreadable file is said plainly (exit 74).
    public static func read(_ path: String) throws(ChangeFileIOError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .cannotRead(path) }
        return [UInt8](data)
    }

    /// Writes `bytes` to `path` atomically and durably.
    public static func write(_ bytes: [UInt8], to path: String) throws(ChangeFileIOError) {
        let temporary = path + ".part"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw .cannotWrite(path, String(cString: strerror(errno))) }
        var written = 0
        let ok = bytes.withUnsafeBytes { buf -> Bool in
            while written < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + written, buf.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let why = String(cString: strerror(errno))
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .cannotWrite(path, why)
        }
        let directory = (path as NSString).deletingLastPathComponent
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}

/// A change file could not be read or written (exit 74); nothing was applied.
public enum ChangeFileIOError: ExitCodeProviding, Equatable {
    case cannotRead(String)
    case cannotWrite(String, String)

    public var exitCode: ExitCode { .ioError }
    public var description: String {
        switch self {
        case .cannotRead(let path):
            L10n.pick(en: "cannot read the change file '\(path)' (is the stick mounted, is the name right?); nothing was applied",
                      zh: "无法读取修改文件 '\(path)'（U盘是否已插好、文件名是否正确？）；未导入任何内容")
        case .cannotWrite(let path, let why):
            L10n.pick(en: "cannot write '\(path)': \(why) (is the stick full or read-only?); nothing was changed here, run it again",
                      zh: "无法写入 '\(path)'：\(why)（U盘是否已满或只读？）；本机数据未做任何改动，请重试")
        }
    }
}
