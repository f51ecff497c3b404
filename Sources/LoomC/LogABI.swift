import CLoomSupport
import LoomCore

// loom_log_*: the process-wide log callback (LoomCore's Log).

/// A caller's log callback and its user data.
private struct LogCallback: @unchecked Sendable {
    let callback: loom_log_callback
    let userData: UnsafeMutableRawPointer?

    func callAsFunction(_ level: LogLevel, _ message: String) {
        // A message with an interior NUL would be cut short in C: such bytes become spaces.
        let text = message.utf8.contains(0) ? String(decoding: message.utf8.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
                                             : message
        text.withCString { callback(userData, level.rawValue, $0) }
    }
}

@_cdecl("loom_log_set")
public func loom_log_set(_ cb: loom_log_callback?, _ userData: UnsafeMutableRawPointer?) {
    guard let cb else {
        Log.setSink(nil)
        return
    }
    let sink = LogCallback(callback: cb, userData: userData)
    Log.setSink { level, message in sink(level, message) }
}

@_cdecl("loom_log_set_level")
public func loom_log_set_level(_ level: Int32) -> loom_status {
    guarded("loom_log_set_level") {
        guard let l = LogLevel(rawValue: level) else {
            throw LoomError.invalidArgument("level \(level) is outside LOOM_LOG_ERROR (0) ... LOOM_LOG_DEBUG (3)")
        }
        Log.setLevel(l)
        return LOOM_OK
    }
}

@_cdecl("loom_log_get_level")
public func loom_log_get_level() -> Int32 {
    Log.level.rawValue
}
