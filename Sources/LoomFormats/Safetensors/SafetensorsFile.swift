import LoomCore

/// One tensor of a safetensors file. `shape` is outermost-first, as PyTorch writes it
/// (the reverse of GGUF's `dims`).
public struct SafetensorsTensorInfo: Sendable {
    public let name: String
    /// dtype as written ("F32", "F16", "BF16", "I64", ...).
    public let dtypeName: String
    /// Loom's element type, nil for dtypes Loom does not read.
    public let type: TensorType?
    public let shape: [Int]
    /// Absolute offset of the data in the file and its size.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A parsed, validated safetensors file, memory-mapped. Immutable; shareable across threads.
public final class SafetensorsFile: @unchecked Sendable {
    public let file: MappedFile
    public let tensors: [SafetensorsTensorInfo]
    public let tensorIndex: [String: Int]
    /// The optional `__metadata__` string map.
    public let metadata: [String: String]

    /// Headers larger than this are refused (the format's own reference implementation uses 100 MB).
    public static let maxHeaderBytes = 100 << 20

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8, let base = bytes.baseAddress else {
            throw LoomError.format("'\(path)' is not a safetensors file: shorter than its 8-byte header length")
        }
        let headerLen = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard headerLen <= UInt64(Self.maxHeaderBytes), headerLen <= UInt64(bytes.count - 8) else {
            throw LoomError.format("'\(path)': safetensors header length \(headerLen) exceeds the file or the \(Self.maxHeaderBytes)-byte limit")
        }
        let header = UnsafeRawBufferPointer(start: base + 8, count: Int(headerLen))
        let json: JSONValue
        do {
            json = try JSONParser.parse(header, maxDepth: 16)
        } catch let e as LoomError {
            throw LoomError.format("'\(path)': safetensors header: \(e.message)")
        }
        guard let obj = json.object else {
            throw LoomError.format("'\(path)': safetensors header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLen)
        let dataSize = bytes.count - dataStart
        var infos: [SafetensorsTensorInfo] = []
        var index: [String: Int] = [:]
        var meta: [String: String] = [:]
        for key in obj.keys {
            guard let entry = obj[key] else { continue }
            if key == "__metadata__" {
                guard let m = entry.object else {
                    throw LoomError.format("'\(path)': __metadata__ is not an object")
                }
                for k in m.keys { if let s = m[k]?.string { meta[k] = s } }
                continue
            }
            guard let dtype = entry["dtype"]?.string,
                  let shapeValues = entry["shape"]?.array,
                  let offsets = entry["data_offsets"]?.array, offsets.count == 2,
                  let begin = offsets[0].int, let end = offsets[1].int
            else {
                throw LoomError.format("'\(path)': tensor '\(key)' needs dtype, shape and data_offsets [begin, end]")
            }
            guard shapeValues.count <= 8 else {
                throw LoomError.format("'\(path)': tensor '\(key)' has \(shapeValues.count) dimensions")
            }
            var shape: [Int] = []
            var elements = 1
            for d in shapeValues {
                guard let v = d.int, v >= 0, v <= Int(Int32.max) else {
                    throw LoomError.format("'\(path)': tensor '\(key)' has an invalid dimension")
                }
                let (p, o) = elements.multipliedReportingOverflow(by: v)
                guard !o, p <= 1 << 40 else {
                    throw LoomError.format("'\(path)': tensor '\(key)' has too many elements (shape overflows)")
                }
                elements = p
                shape.append(v)
            }
            guard let elementSize = Self.elementSize(dtype) else {
                throw LoomError.format("'\(path)': tensor '\(key)' has unknown dtype '\(dtype)'")
            }
            guard begin >= 0, end >= begin, end <= dataSize else {
                throw LoomError.format("'\(path)': tensor '\(key)' data [\(begin), \(end)) lies outside the file's \(dataSize) data bytes (truncated?)")
            }
            guard end - begin == elements * elementSize else {
                throw LoomError.format("'\(path)': tensor '\(key)' has \(end - begin) bytes but its shape \(shape) of \(dtype) needs \(elements * elementSize)")
            }
            index[key] = infos.count
            infos.append(SafetensorsTensorInfo(name: key, dtypeName: dtype, type: Self.tensorType(dtype), shape: shape,
                                               fileOffset: dataStart + begin, byteCount: end - begin))
        }
        let sorted = infos.filter { $0.byteCount > 0 }.sorted { $0.fileOffset < $1.fileOffset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.fileOffset + a.byteCount > b.fileOffset {
            throw LoomError.format("'\(path)': tensors '\(a.name)' and '\(b.name)' overlap")
        }
        tensors = infos
        tensorIndex = index
        metadata = meta
    }

    public func tensor(named name: String) -> SafetensorsTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// Pointer to a tensor's data (valid while this object lives).
    public func data(of tensor: SafetensorsTensorInfo) -> UnsafeRawPointer? {
        file.base.map { $0 + tensor.fileOffset }
    }

    /// Reads a tensor of F32/F16/BF16 into a new f32 array (for small tensors, tests and references).
    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensor(named: name) else { throw LoomError.format("'\(file.path)': no tensor '\(name)'") }
        guard let p = data(of: t) else { return [] }
        let n = t.elementCount
        switch t.dtypeName {
        case "F32": return (0..<n).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        case "F16": return (0..<n).map { halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        case "BF16": return (0..<n).map { bf16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        default: throw LoomError.unsupported("'\(file.path)': tensor '\(name)' has dtype \(t.dtypeName); F32, F16 and BF16 are read")
        }
    }

    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64", "U64": return 8
        case "F32", "I32", "U32": return 4
        case "F16", "BF16", "I16", "U16": return 2
        case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2": return 1
        default: return nil
        }
    }

    static func tensorType(_ dtype: String) -> TensorType? {
        switch dtype {
        case "F32": return .f32
        case "F16": return .f16
        case "BF16": return .bf16
        default: return nil
        }
    }
}
