import LoomCore

/// One tensor of a GGUF file. `dims[0]` is the innermost (contiguous) dimension, as in GGML.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    public let dims: [Int]
    /// GGML type id as stored; `type` is nil when Loom does not know it.
    public let rawType: UInt32
    public let type: TensorType?
    /// Absolute offset of the data in the file.
    public let fileOffset: Int
    /// Size of the data in bytes (nil for unknown types).
    public let byteCount: Int?

    public var elementCount: Int { dims.reduce(1, *) }
}

/// A parsed, validated GGUF file (versions 2 and 3), memory-mapped.
/// Immutable after `init`; shareable across threads.
public final class GGUFFile: @unchecked Sendable {
    public let file: MappedFile
    public let version: UInt32
    /// Metadata in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    public let tensors: [GGUFTensorInfo]
    public let tensorIndex: [String: Int]
    public let alignment: Int
    public let dataOffset: Int

    /// Limits that keep a hostile file from exhausting memory or time.
    public static let maxArrayNesting = 8
    public static let maxDims = 4

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        var r = GGUFByteReader(bytes: file.bytes, path: file.path)
        let magic = try r.u32("magic")
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            throw LoomError.format("'\(file.path)' is not a GGUF file (bad magic)")
        }
        let version = try r.u32("version")
        guard version == 2 || version == 3 else {
            throw LoomError.unsupported("'\(file.path)': GGUF version \(version) is not supported (2 and 3 are)")
        }
        self.version = version
        let tensorCount = try r.u64("tensor count")
        let kvCount = try r.u64("metadata count")
        // Each key/value takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8 + 4 + 4 + 8.
        guard kvCount <= UInt64(r.remaining / 13) else {
            throw LoomError.format("'\(file.path)': metadata count \(kvCount) is larger than the file can hold")
        }
        var keys: [String] = []
        var meta: [String: GGUFValue] = [:]
        keys.reserveCapacity(Int(kvCount))
        for i in 0..<Int(kvCount) {
            let key = try r.string("metadata key \(i)")
            let rawType = try r.u32("type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw LoomError.format("'\(file.path)': metadata '\(key)' has unknown value type \(rawType)")
            }
            let value = try r.value(type, depth: 0, what: key)
            guard meta.updateValue(value, forKey: key) == nil else {
                throw LoomError.format("'\(file.path)': duplicate metadata key '\(key)'")
            }
            keys.append(key)
        }
        metadataKeys = keys
        metadata = meta

        var alignment = 32
        if let a = meta["general.alignment"] {
            guard let v = a.int, v > 0, v & (v - 1) == 0, v <= 1 << 20 else {
                throw LoomError.format("'\(file.path)': general.alignment must be a power of two, got \(a.displayString)")
            }
            alignment = v
        }
        self.alignment = alignment

        guard tensorCount <= UInt64(r.remaining / 24) else {
            throw LoomError.format("'\(file.path)': tensor count \(tensorCount) is larger than the file can hold")
        }
        var infos: [GGUFTensorInfo] = []
        var relOffsets: [UInt64] = []
        var index: [String: Int] = [:]
        for i in 0..<Int(tensorCount) {
            let name = try r.string("tensor \(i) name")
            let nDims = try r.u32("dimension count of '\(name)'")
            guard nDims >= 1, nDims <= UInt32(Self.maxDims) else {
                throw LoomError.format("'\(file.path)': tensor '\(name)' has \(nDims) dimensions (1...\(Self.maxDims) allowed)")
            }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<nDims {
                let d = try r.u64("dimension of '\(name)'")
                guard d <= UInt64(Int32.max) else {
                    throw LoomError.format("'\(file.path)': tensor '\(name)' has an absurd dimension \(d)")
                }
                let (p, o) = elements.multipliedReportingOverflow(by: Int(d))
                guard !o, p <= 1 << 40 else {
                    throw LoomError.format("'\(file.path)': tensor '\(name)' has too many elements (shape overflows)")
                }
                elements = p
                dims.append(Int(d))
            }
            let rawType = try r.u32("type of '\(name)'")
            let offset = try r.u64("offset of '\(name)'")
            guard index.updateValue(i, forKey: name) == nil else {
                throw LoomError.format("'\(file.path)': duplicate tensor name '\(name)'")
            }
            let type = TensorType(rawValue: rawType)
            var bytes: Int? = nil
            if let type {
                guard dims[0] % type.blockSize == 0, let b = type.byteCount(elements: elements) else {
                    throw LoomError.format("'\(file.path)': tensor '\(name)' row length \(dims[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
                }
                bytes = b
            }
            relOffsets.append(offset)
            infos.append(GGUFTensorInfo(name: name, dims: dims, rawType: rawType, type: type, fileOffset: 0, byteCount: bytes))
        }

        // Tensor data starts at the next multiple of the alignment.
        let dataOffset = (r.position + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        let dataSize = file.count - dataOffset
        if !infos.isEmpty, dataSize < 0 {
            throw LoomError.format("'\(file.path)': file ends before its tensor data")
        }
        for i in infos.indices {
            let info = infos[i]
            let rel = relOffsets[i]
            guard rel % UInt64(alignment) == 0 else {
                throw LoomError.format("'\(file.path)': tensor '\(info.name)' data offset \(rel) is not aligned to \(alignment)")
            }
            guard rel <= UInt64(max(dataSize, 0)) else {
                throw LoomError.format("'\(file.path)': tensor '\(info.name)' data offset \(rel) is beyond the end of the file")
            }
            if let b = info.byteCount, Int(rel) + b > dataSize {
                throw LoomError.format("'\(file.path)': tensor '\(info.name)' data (\(b) bytes at \(rel)) runs past the end of the file (file is truncated?)")
            }
            infos[i] = GGUFTensorInfo(name: info.name, dims: info.dims, rawType: info.rawType, type: info.type,
                                      fileOffset: dataOffset + Int(rel), byteCount: info.byteCount)
        }
        // Tensors must not share bytes.
        let sorted = infos.filter { $0.byteCount != nil }.sorted { $0.fileOffset < $1.fileOffset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.fileOffset + (a.byteCount ?? 0) > b.fileOffset {
            throw LoomError.format("'\(file.path)': tensors '\(a.name)' and '\(b.name)' overlap")
        }
        tensors = infos
        tensorIndex = index
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// Pointer to a tensor's data (valid while this object lives).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer? {
        file.base.map { $0 + tensor.fileOffset }
    }

    public subscript(key: String) -> GGUFValue? { metadata[key] }

    /// The model architecture (`general.architecture`), if present.
    public var architecture: String? { metadata["general.architecture"]?.string }
}

/// Bounds-checked little-endian reader over the mapped file.
struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - position }

    private func truncated(_ what: String) -> LoomError {
        LoomError.format("'\(path)' is truncated: ends while reading \(what) at byte \(position)")
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        let n = MemoryLayout<T>.size
        guard remaining >= n, let base = bytes.baseAddress else { throw truncated(what) }
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: position, as: T.self))
        position += n
        return v
    }

    mutating func u32(_ what: String) throws -> UInt32 { try load(UInt32.self, what) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(UInt64.self, what) }

    mutating func string(_ what: String) throws -> String {
        let n = try u64("length of \(what)")
        guard n <= UInt64(remaining), let base = bytes.baseAddress else {
            throw LoomError.format("'\(path)': \(what) has length \(n), more than the \(remaining) bytes left in the file")
        }
        let s = String(decoding: UnsafeRawBufferPointer(start: base + position, count: Int(n)), as: UTF8.self)
        position += Int(n)
        return s
    }

    mutating func value(_ type: GGUFValueType, depth: Int, what: String) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try load(UInt8.self, what))
        case .int8: return .int8(try load(Int8.self, what))
        case .uint16: return .uint16(try load(UInt16.self, what))
        case .int16: return .int16(try load(Int16.self, what))
        case .uint32: return .uint32(try load(UInt32.self, what))
        case .int32: return .int32(try load(Int32.self, what))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, what)))
        case .uint64: return .uint64(try load(UInt64.self, what))
        case .int64: return .int64(try load(Int64.self, what))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, what)))
        case .bool:
            let b = try load(UInt8.self, what)
            guard b <= 1 else { throw LoomError.format("'\(path)': '\(what)' has an invalid bool byte \(b)") }
            return .bool(b == 1)
        case .string: return .string(try string(what))
        case .array:
            guard depth < GGUFFile.maxArrayNesting else {
                throw LoomError.format("'\(path)': '\(what)' nests arrays deeper than \(GGUFFile.maxArrayNesting)")
            }
            let rawType = try u32("element type of \(what)")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw LoomError.format("'\(path)': array '\(what)' has unknown element type \(rawType)")
            }
            let count = try u64("length of \(what)")
            // Every element takes at least one byte (strings and arrays at least 8): a count larger
            // than the bytes left is a lie, rejected before allocating anything.
            let minSize: UInt64
            switch elementType {
            case .uint8, .int8, .bool: minSize = 1
            case .uint16, .int16: minSize = 2
            case .uint32, .int32, .float32: minSize = 4
            case .uint64, .int64, .float64, .string: minSize = 8
            case .array: minSize = 12
            }
            guard count <= UInt64(remaining) / minSize else {
                throw LoomError.format("'\(path)': array '\(what)' claims \(count) elements, more than the file holds")
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                items.append(try value(elementType, depth: depth + 1, what: what))
            }
            return .array(elementType, items)
        }
    }
}
