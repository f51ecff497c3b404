/// The kinds of failure Loom reports; raw values are the C ABI's `loom_status` codes.
public enum LoomStatus: Int32, Sendable {
    case ok = 0
    case invalidArgument = -1
    case io = -2
    case format = -3
    case unsupported = -4
    case outOfMemory = -5
    case aborted = -6
    case outOfRange = -7
    case bufferTooSmall = -8
    case `internal` = -9
}

/// The one error type thrown inside Loom; the C ABI turns it into a status and a message.
public struct LoomError: Error, CustomStringConvertible, Sendable {
    public let status: LoomStatus
    public let message: String

    public init(_ status: LoomStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public static func invalidArgument(_ m: String) -> LoomError { LoomError(.invalidArgument, m) }
    public static func io(_ m: String) -> LoomError { LoomError(.io, m) }
    public static func format(_ m: String) -> LoomError { LoomError(.format, m) }
    public static func unsupported(_ m: String) -> LoomError { LoomError(.unsupported, m) }
    public static func outOfRange(_ m: String) -> LoomError { LoomError(.outOfRange, m) }

    public var description: String { message }
}
