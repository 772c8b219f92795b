import CLinux
import Foundation

/// Reading and writing change files (sync by USB stick) for the commands: a file is written whole or not at all
/// (a temporary file of its own in the same directory, fsync, rename), since a stick may be pulled out at any moment,
/// and only to a new file unless the user asked to replace one — never over a database (`checkDestination`).
public enum ChangeFileIO {
    /// The bytes of `path`; a missing or unreadable file is said plainly (exit 74).
    public static func read(_ path: String) throws(ChangeFileIOError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .cannotRead(path) }
        return [UInt8](data)
    }

    /// What a change file must never be written over, whatever the flags.
    public enum Protected: Sendable, Equatable {
        /// The county's data directory: nothing inside it (the live `county.db`, its journal, the lock, backups).
        case dataDirectory(String)
        /// An office's database file and its `-wal`, `-shm` and `-journal` files.
        case officeDatabase(String)
    }

    /// Checks that `path` may receive a change file, before anything is imported or exported, so that a refusal
    /// changes nothing: its directory exists; it is not a directory; it does not exist yet unless `overwrite`; and it
    /// is not `protected` (symlinks and `..` resolved first), not even with `overwrite`.
    public static func checkDestination(_ path: String, overwrite: Bool, protected: Protected) throws(ChangeFileIOError) {
        let target = try Target(path)
        switch protected {
        case .dataDirectory(let directory):
            let root = Target.resolve(directory)
            if target.names.contains(where: { $0 == root || $0.hasPrefix(root == "/" ? "/" : root + "/") }) {
                throw .insideDataDirectory(path, directory)
            }
        case .officeDatabase(let database):
            let files = ["", "-wal", "-shm", "-journal"].flatMap { (try? Target(database + $0))?.names ?? [] }
            if target.names.contains(where: { files.contains($0) }) { throw .officeDatabase(path, database) }
        }
        if target.exists && !overwrite { throw .destinationExists(path) }
    }

    /// Writes `bytes` to `path` atomically and durably: a temporary file of its own in the same directory (created
    /// exclusively), fsync, then a rename that never replaces an existing file unless `overwrite`, and an fsync of
    /// the directory. A file that appeared at `path` meanwhile is refused (`destinationExists`), never replaced.
    public static func write(_ bytes: [UInt8], to path: String, overwrite: Bool) throws(ChangeFileIOError) {
        do {
            try write(to: path, overwrite: overwrite) { temporary in
                let fd = open(temporary, O_WRONLY | O_TRUNC)
                guard fd >= 0 else { throw ChangeFileIOError.cannotWrite(path, String(cString: strerror(errno))) }
                defer { close(fd) }
                var written = 0
                let ok = bytes.withUnsafeBytes { buf -> Bool in
                    while written < buf.count {
                        let n = Foundation.write(fd, buf.baseAddress! + written, buf.count - written)
                        if n <= 0 { return false }
                        written += n
                    }
                    return fsync(fd) == 0
                }
                guard ok else { throw ChangeFileIOError.cannotWrite(path, String(cString: strerror(errno))) }
            }
        } catch let e as ChangeFileIOError {
            throw e
        } catch {
            throw .cannotWrite(path, "\(error)")
        }
    }

    /// Writes a file to `path` as `write` does, the bytes made by `produce`, which writes them (synced) to the
    /// temporary path it is given — a file of any size, never whole in memory (`ChangeFile.Writer`). Whatever
    /// `produce` throws leaves nothing behind and is thrown again as it is (`cannotWrite(path, reason)` says a
    /// failure of its writes in the clerk's words).
    public static func write<T>(to path: String, overwrite: Bool, _ produce: (String) throws -> T) throws -> T {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let tag = UUID().uuidString.prefix(8).lowercased()
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(name).\(tag).part"
        // Claimed exclusively: a name of its own, whatever `produce` opens it with after.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ChangeFileIOError.cannotWrite(path, String(cString: strerror(errno))) }
        close(fd)
        let result: T
        do {
            result = try produce(temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        guard (overwrite ? rename(temporary, path) : renameNoReplace(temporary, path)) == 0 else {
            let error = errno
            unlink(temporary)
            if error == EEXIST { throw ChangeFileIOError.destinationExists(path) }
            throw ChangeFileIOError.cannotWrite(path, String(cString: strerror(error)))
        }
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
        return result
    }

    /// Checks that a change file can be read before anything is done with it (a missing file, a stick not mounted:
    /// said plainly, exit 74); the file is then read a line at a time.
    public static func checkReadable(_ path: String) throws(ChangeFileIOError) {
        var info = stat()
        let fd = open(path, O_RDONLY)
        defer { if fd >= 0 { close(fd) } }
        guard fd >= 0, fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw .cannotRead(path) }
    }

    /// `rename` that refuses (EEXIST) when `to` exists. Where the file system cannot say so atomically (an old kernel,
    /// some FUSE file systems), it looks first: a file created in the instant between would be replaced.
    static func renameNoReplace(_ from: String, _ to: String) -> Int32 {
        if cpsync_rename_noreplace(from, to) == 0 { return 0 }
        guard errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP else { return -1 }
        var info = stat()
        if lstat(to, &info) == 0 {
            errno = EEXIST
            return -1
        }
        return rename(from, to)
    }

    /// A path as the file system will take it: the directory with symlinks and `..` resolved, and, when the name is
    /// itself a symlink, what it points to.
    struct Target {
        /// Every absolute name a write to the path could touch.
        var names: [String]
        var exists: Bool

        init(_ path: String) throws(ChangeFileIOError) {
            let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
            let name = (absolute as NSString).lastPathComponent
            let parent = (absolute as NSString).deletingLastPathComponent
            guard let directory = Self.realPath(parent.isEmpty ? "/" : parent) else { throw .noDirectory(path, parent) }
            var info = stat()
            let isDirectory = { (p: String) -> Bool in var s = stat(); return stat(p, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR }
            if name.isEmpty || name == "." || name == ".." || path.hasSuffix("/") || isDirectory(absolute) { throw .isDirectory(path) }
            let full = directory == "/" ? "/" + name : directory + "/" + name
            names = [full]
            exists = lstat(full, &info) == 0
            if exists && (info.st_mode & S_IFMT) == S_IFLNK, let pointed = Self.realPath(full) { names.append(pointed) }
        }

        static func realPath(_ path: String) -> String? {
            guard let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        }

        /// A directory's real path, or its absolute, standardised form when it does not exist (yet).
        static func resolve(_ directory: String) -> String {
            if let real = realPath(directory) { return real }
            let absolute = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
            return (absolute as NSString).standardizingPath
        }
    }
}

/// A change file could not be read or written (exit 74), or may not be written where asked (exit 64); nothing was
/// applied.
public enum ChangeFileIOError: ExitCodeProviding, Equatable {
    case cannotRead(String)
    case cannotWrite(String, String)
    /// The directory the file would go into does not exist.
    case noDirectory(String, String)
    /// The path names a directory, not a file.
    case isDirectory(String)
    /// A file is already there, and `--overwrite` was not given.
    case destinationExists(String)
    /// The path lies inside the county's data directory (the second value).
    case insideDataDirectory(String, String)
    /// The path is the office's database (the second value) or one of its journal files.
    case officeDatabase(String, String)

    public var exitCode: ExitCode {
        switch self {
        case .cannotRead, .cannotWrite, .noDirectory: .ioError
        case .isDirectory, .destinationExists, .insideDataDirectory, .officeDatabase: .usage
        }
    }

    public var description: String {
        switch self {
        case .cannotRead(let path):
            L10n.pick(en: "cannot read the change file '\(path)' (is the stick mounted, is the name right?); nothing was applied",
                      zh: "无法读取修改文件 '\(path)'（U盘是否已插好、文件名是否正确？）；未导入任何内容")
        case .cannotWrite(let path, let why):
            L10n.pick(en: "cannot write '\(path)': \(why) (is the stick full or read-only?); nothing was changed here, run it again",
                      zh: "无法写入 '\(path)'：\(why)（U盘是否已满或只读？）；本机数据未做任何改动，请重试")
        case .noDirectory(let path, let directory):
            L10n.pick(en: "cannot write '\(path)': the directory '\(directory)' does not exist (is the stick mounted?); nothing was changed",
                      zh: "无法写入 '\(path)'：目录 '\(directory)' 不存在（U盘是否已插好？）；未做任何改动")
        case .isDirectory(let path):
            L10n.pick(en: "'\(path)' is a directory; give the name of a new file in it; nothing was changed",
                      zh: "'\(path)' 是一个目录；请给出其中一个新文件的文件名；未做任何改动")
        case .destinationExists(let path):
            L10n.pick(en: "'\(path)' already exists: a change file is written to a new file only, so that nothing is replaced by mistake; give a new file name, or add --overwrite to replace that file; nothing was changed",
                      zh: "'\(path)' 已存在：修改文件只写入新文件，以免误覆盖其他文件；请换一个新文件名，或加 --overwrite 覆盖该文件；未做任何改动")
        case .insideDataDirectory(let path, let directory):
            L10n.pick(en: "'\(path)' is inside the county's data directory '\(directory)', where the live county database is: a reply is never written there, not even with --overwrite; write it to the USB stick or another directory; nothing was imported",
                      zh: "'\(path)' 位于县级数据目录 '\(directory)' 之内（正在使用的县级数据库就在此处）：回执绝不写入该目录，加 --overwrite 也不行；请写到U盘或其他目录；未导入任何内容")
        case .officeDatabase(let path, let database):
            L10n.pick(en: "'\(path)' is this office's database '\(database)' or one of its journal files: a change file is never written over it, not even with --overwrite; write it to the USB stick; nothing was changed",
                      zh: "'\(path)' 是本办公室的数据库 '\(database)' 或其日志文件：修改文件绝不覆盖它，加 --overwrite 也不行；请写到U盘上；未做任何改动")
        }
    }
}
