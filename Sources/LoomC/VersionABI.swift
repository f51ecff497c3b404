import CLoomSupport
import LoomCore

/// Must equal LOOM_VERSION_MAJOR.MINOR.PATCH of include/loom.h (Tests/c/abi_stability.c checks).
let versionString: StaticString = "0.2.0"

@_cdecl("loom_version")
public func loom_version() -> UnsafePointer<CChar> {
    UnsafeRawPointer(versionString.utf8Start).assumingMemoryBound(to: CChar.self)
}

private let statusStrings: [Int32: StaticString] = [
    0: "ok", -1: "invalid argument", -2: "i/o error", -3: "format error", -4: "unsupported",
    -5: "out of memory", -6: "aborted", -7: "out of range", -8: "buffer too small", -9: "internal error",
]

@_cdecl("loom_status_string")
public func loom_status_string(_ status: Int32) -> UnsafePointer<CChar> {
    let s: StaticString = statusStrings[status] ?? "unknown status"
    return UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}
