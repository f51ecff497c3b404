#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Immutable and shareable across threads;
/// the mapping lives as long as the object.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    /// Base of the mapping; valid for `count` bytes (nil only for an empty file).
    public let base: UnsafeRawPointer?

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LoomError.io("cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw LoomError.io("cannot stat '\(path)': \(String(cString: strerror(errno)))")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw LoomError.io("'\(path)' is a directory, not a file")
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw LoomError.io("cannot map '\(path)': \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The mapped bytes (empty for an empty file).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// Reads a whole (small) file such as config.json into memory.
public func readWholeFile(_ path: String, limit: Int = 1 << 30) throws -> [UInt8] {
    let f = try MappedFile(path: path)
    guard f.count <= limit else { throw LoomError.format("'\(path)' is larger than \(limit) bytes") }
    return Array(f.bytes)
}

/// True when `path` names an existing directory.
public func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// True when `path` names an existing file or directory.
public func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}
