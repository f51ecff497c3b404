#if canImport(Glibc)
import Glibc
#endif
import LoomCore

/// Helpers shared by the fuzz targets.
public enum Fuzz {
    /// Separates the files of one input (config.json, model.safetensors, ...). Also in Fuzz/loom.dict.
    public static let separator: [UInt8] = Array("\n@@loom-part@@\n".utf8)

    /// The input cut at each separator (at most `maxParts` parts; the last one keeps the rest).
    public static func split(_ data: UnsafePointer<UInt8>, _ size: Int, maxParts: Int) -> [UnsafeRawBufferPointer] {
        var parts: [UnsafeRawBufferPointer] = []
        var start = 0, i = 0
        let s = separator, n = s.count
        while i + n <= size, parts.count < maxParts - 1 {
            if data[i] == s[0] && memcmp(data + i, s, n) == 0 {
                parts.append(UnsafeRawBufferPointer(start: data + start, count: i - start))
                i += n
                start = i
            } else {
                i += 1
            }
        }
        parts.append(UnsafeRawBufferPointer(start: data + start, count: size - start))
        return parts
    }

    /// A scratch folder of this process on tmpfs ($LOOM_FUZZ_SCRATCH, else /dev/shm or /tmp).
    public static let scratch: String = {
        var base = getenv("LOOM_FUZZ_SCRATCH").map { String(cString: $0) } ?? ""
        if base.isEmpty { base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp" }
        let dir = "\(base)/loom-fuzz-\(getpid())"
        mkdir(base, 0o700)
        mkdir(dir, 0o700)
        return dir
    }()

    /// Writes `bytes` to `scratch/name` (replacing it) and returns the path.
    @discardableResult
    public static func write(_ name: String, _ bytes: UnsafeRawBufferPointer) -> String {
        let path = scratch + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot write \(path)")
        var off = 0
        while off < bytes.count {
            let w = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            precondition(w > 0, "cannot write \(path)")
            off += w
        }
        close(fd)
        return path
    }

    public static func write(_ name: String, _ text: String) -> String {
        var t = text
        return t.withUTF8 { write(name, UnsafeRawBufferPointer($0)) }
    }

    public static func remove(_ name: String) { unlink(scratch + "/" + name) }

    /// A folder `scratch/name` holding these files (others left from earlier inputs removed).
    public static func folder(_ name: String, _ files: [(String, UnsafeRawBufferPointer?)]) -> String {
        let dir = scratch + "/" + name
        mkdir(dir, 0o700)
        for (f, bytes) in files {
            if let bytes { write(name + "/" + f, bytes) } else { unlink(dir + "/" + f) }
        }
        return dir
    }

    /// The repository root ($LOOM_ROOT, else two folders above this file).
    public static let root: String = {
        if let r = getenv("LOOM_ROOT"), r.pointee != 0 { return String(cString: r) }
        var p = #filePath
        for _ in 0..<3 { if let slash = p.lastIndex(of: "/") { p = String(p[..<slash]) } }
        return p
    }()

    public static func fixture(_ relative: String) -> String { root + "/Tests/Fixtures/" + relative }

    /// Loom's cache of downloaded models ($LOOM_CACHE, else ~/.cache/loom).
    public static let cache: String = {
        if let c = getenv("LOOM_CACHE"), c.pointee != 0 { return String(cString: c) }
        return String(cString: getenv("HOME") ?? strdup("/root")) + "/.cache/loom"
    }()

    /// $LOOM_FUZZ_VERBOSE set: targets report why an input was rejected (to check that seeds load).
    public static let verbose = getenv("LOOM_FUZZ_VERBOSE") != nil

    /// `body`'s result, or nil when it throws (reported when verbose).
    public static func attempt<T>(_ what: String, _ body: () throws -> T) -> T? {
        do { return try body() } catch {
            if verbose { print("\(what): \(error)") }
            return nil
        }
    }

    /// A sample text with ASCII, Unicode, digits, whitespace runs and special-token look-alikes.
    public static let sampleText = "Hello world! It's 3.14 o'clock — naïve café 東京 🚀\n\n  code = x[1];\t<s></s><|endoftext|>[CLS] [MASK]"
}
