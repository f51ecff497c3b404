import CLoomSupport
import LoomCore

// Shared plumbing of the C ABI: error reporting, handle boxing, buffer filling, params structs.

/// Records a failure for the calling thread and returns its status code.
@discardableResult
func fail(_ error: LoomError) -> loom_status {
    var message = error.message
    message.withUTF8 { p in
        p.withMemoryRebound(to: CChar.self) { loomi_set_error(error.status.rawValue, $0.baseAddress, $0.count) }
    }
    return error.status.rawValue
}

@discardableResult
func fail(_ status: LoomStatus, _ message: String) -> loom_status {
    fail(LoomError(status, message))
}

/// Runs an ABI body; any thrown error becomes a status and message. Nothing escapes as a Swift error.
func guarded(_ function: String, _ body: () throws -> loom_status) -> loom_status {
    do {
        return try body()
    } catch {
        return failCall(function, error)
    }
}

/// Like `guarded`, for buffer-filling calls returning a count.
func guardedCount(_ function: String, _ body: () throws -> Int32) -> Int32 {
    do {
        return try body()
    } catch {
        return failCall(function, error)
    }
}

/// Records a failed call (and logs it at debug level: failures are the caller's to report).
private func failCall(_ function: String, _ error: Error) -> loom_status {
    let e = (error as? LoomError).map { LoomError($0.status, "\(function): \($0.message)") }
        ?? LoomError(.internal, "\(function): unexpected error \(error)")
    Log.debug("\(e.message) (status \(e.status.rawValue))")
    return fail(e)
}

/// A C string argument that must not be NULL.
func requireString(_ p: UnsafePointer<CChar>?, _ name: String) throws -> String {
    guard let p else { throw LoomError.invalidArgument("\(name) is NULL") }
    return String(cString: p)
}

/// Copies `bytes` into a caller's buffer following the ABI's buffer convention.
func fillBuffer(_ bytes: [UInt8], _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int, nulTerminated: Bool,
                what: String) throws -> Int32 {
    let needed = bytes.count + (nulTerminated ? 1 : 0)
    guard needed <= Int(Int32.max) else { throw LoomError.outOfRange("\(what) is larger than 2 GiB") }
    if cap < needed {
        fail(.bufferTooSmall, "\(what) needs a buffer of \(needed) bytes, got \(cap)")
        return -Int32(needed)
    }
    guard let buf else { throw LoomError.invalidArgument("buffer is NULL with capacity \(cap)") }
    bytes.withUnsafeBufferPointer { src in
        if let s = src.baseAddress { UnsafeMutableRawPointer(buf).copyMemory(from: s, byteCount: src.count) }
    }
    if nulTerminated { buf[bytes.count] = 0 }
    return Int32(bytes.count)
}

func fillBuffer(_ text: String, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int, what: String) throws -> Int32 {
    try fillBuffer(Array(text.utf8), buf, cap, nulTerminated: true, what: what)
}

/// Reads a caller's params struct of any size: fields beyond the caller's `size` keep their defaults.
func readParams<T>(_ p: UnsafePointer<T>?, defaults: T, what: String) throws -> T {
    guard let p else { return defaults }
    let callerSize = Int(UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
    guard callerSize >= MemoryLayout<UInt32>.size, callerSize <= 1 << 16 else {
        throw LoomError.invalidArgument("\(what).size is \(callerSize); set it with \(what) = loom_*_default_params()")
    }
    var result = defaults
    let n = min(callerSize, MemoryLayout<T>.size)
    withUnsafeMutableBytes(of: &result) { dst in
        dst.baseAddress?.copyMemory(from: UnsafeRawPointer(p), byteCount: n)
    }
    // The size field itself now says what the caller knew; record ours.
    withUnsafeMutableBytes(of: &result) { $0.storeBytes(of: UInt32(MemoryLayout<T>.size), as: UInt32.self) }
    return result
}

/// Boxes a Swift object as an opaque C handle (+1 retained) and back.
func retainHandle(_ object: AnyObject) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
}

func borrowHandle<T: AnyObject>(_ p: OpaquePointer?, as: T.Type, _ name: String) throws -> T {
    guard let p else { throw LoomError.invalidArgument("\(name) is NULL") }
    guard let obj = Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue() as? T else {
        throw LoomError.invalidArgument("\(name) is not a \(T.self) handle")
    }
    return obj
}

func releaseHandle(_ p: OpaquePointer?) {
    guard let p else { return }
    Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(p)).release()
}

/// The caller's n texts: texts[i] is lens[i] bytes of UTF-8, or NUL-terminated when lens is NULL
/// (n and a non-NULL texts for n > 0 are checked by the caller).
func readTexts(_ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ lens: UnsafePointer<Int>?, _ n: Int) throws -> [String] {
    var strings: [String] = []
    strings.reserveCapacity(n)
    for i in 0..<n {
        guard let s = texts?[i] else { throw LoomError.invalidArgument("texts[\(i)] is NULL") }
        if let lens {
            guard lens[i] >= 0 else { throw LoomError.invalidArgument("lens[\(i)] is negative") }
            strings.append(String(decoding: UnsafeRawBufferPointer(start: s, count: lens[i]), as: UTF8.self))
        } else {
            strings.append(String(cString: s))
        }
    }
    return strings
}
