#if canImport(Glibc)
import Glibc
#endif

/// Read-only view of the process environment.
struct ProcessEnvironment {
    subscript(name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }
}
