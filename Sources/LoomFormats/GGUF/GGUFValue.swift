import LoomCore

/// GGUF metadata value types (raw values are the on-disk type codes).
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    public var name: String { String(describing: self) }
}

/// A GGUF metadata value. Arrays keep their element type (an empty array still has one).
public indirect enum GGUFValue: Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        case .array: return .array
        }
    }

    /// Any integer type (or bool) as Int, when it fits.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int64(let v): return Int(v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var array: [GGUFValue]? {
        if case .array(_, let a) = self { return a }
        return nil
    }

    /// A string array's elements (nil if this is not an array of strings).
    public var strings: [String]? {
        guard case .array(let t, let a) = self, t == .string else { return nil }
        return a.compactMap(\.string)
    }

    /// Text form used by the C ABI's metadata queries: numbers in decimal, booleans as
    /// true/false, strings as they are, arrays as `[a, b, …]` (long arrays elided after 16 items).
    public var displayString: String {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .array(_, let a):
            let head = a.prefix(16).map { v -> String in
                if case .string(let s) = v { return "\"\(s)\"" }
                return v.displayString
            }
            return "[" + head.joined(separator: ", ") + (a.count > 16 ? ", … (\(a.count) items)]" : "]")
        case .uint64(let v): return "\(v)"
        default: return int.map { "\($0)" } ?? ""
        }
    }
}
