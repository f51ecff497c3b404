#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Severity of a log message; raw values are the C ABI's `LOOM_LOG_*` levels (lower = more severe).
public enum LogLevel: Int32, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case error = 0
    case warn = 1
    case info = 2
    case debug = 3

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .error: return "error"
        case .warn: return "warn"
        case .info: return "info"
        case .debug: return "debug"
        }
    }
}

/// Where log messages go: called with each message at or above the threshold (no trailing newline).
/// May be called from any thread that logs, by several threads at once.
public typealias LogSink = @Sendable (LogLevel, String) -> Void

/// Loom's process-wide logger. The library never writes to stdout or stderr: without a sink (the
/// default) every message is dropped before it is even formatted.
///
/// Thread safety: a read-write lock guards the sink. Messages are delivered under the read lock, so
/// several threads may be inside the sink at once; `setSink` takes the write lock and therefore waits
/// for deliveries in progress: once it returns, the previous sink is never called again. A sink must
/// not call `setSink` (it would wait for itself).
public enum Log {
    private final class State: @unchecked Sendable {
        let lock: UnsafeMutablePointer<pthread_rwlock_t>
        var sink: LogSink?
        var threshold: LogLevel = .info

        init() {
            lock = .allocate(capacity: 1)
            pthread_rwlock_init(lock, nil)
        }
    }

    private static let state = State()

    /// Installs `sink` (nil: silent again) and, when given, the threshold.
    public static func setSink(_ sink: LogSink?, level: LogLevel? = nil) {
        pthread_rwlock_wrlock(state.lock)
        state.sink = sink
        if let level { state.threshold = level }
        pthread_rwlock_unlock(state.lock)
    }

    /// Messages less severe than `level` are dropped (default: info).
    public static func setLevel(_ level: LogLevel) {
        pthread_rwlock_wrlock(state.lock)
        state.threshold = level
        pthread_rwlock_unlock(state.lock)
    }

    public static var level: LogLevel {
        pthread_rwlock_rdlock(state.lock)
        defer { pthread_rwlock_unlock(state.lock) }
        return state.threshold
    }

    /// True when a message at `level` would reach a sink (use it to skip costly message preparation).
    public static func isEnabled(_ level: LogLevel) -> Bool {
        pthread_rwlock_rdlock(state.lock)
        defer { pthread_rwlock_unlock(state.lock) }
        return state.sink != nil && level <= state.threshold
    }

    /// Delivers a message to the sink; `message` is only evaluated when it will be delivered.
    public static func write(_ level: LogLevel, _ message: @autoclosure () -> String) {
        pthread_rwlock_rdlock(state.lock)
        defer { pthread_rwlock_unlock(state.lock) }
        guard let sink = state.sink, level <= state.threshold else { return }
        sink(level, message())
    }

    public static func error(_ message: @autoclosure () -> String) { write(.error, message()) }
    public static func warn(_ message: @autoclosure () -> String) { write(.warn, message()) }
    public static func info(_ message: @autoclosure () -> String) { write(.info, message()) }
    public static func debug(_ message: @autoclosure () -> String) { write(.debug, message()) }
}

/// Monotonic seconds, for timing messages.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// A byte count for messages: "95.6 MiB".
public func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), u = 0
    while v >= 1024, u < units.count - 1 { v /= 1024; u += 1 }
    if u == 0 { return "\(n) B" }
    let tenths = Int((v * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[u])"
}
