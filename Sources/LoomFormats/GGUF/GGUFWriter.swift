import LoomCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a GGUF v3 file: metadata, tensor infos, then tensor data, laid out exactly as llama.cpp's
/// `gguf_write_to_file` and gguf-py's `GGUFWriter` do (so re-writing a file they made, with the same
/// metadata and tensors in the same order, gives the same bytes):
///
///     "GGUF" u32:3 u64:n_tensors u64:n_kv
///     n_kv  x (string key, u32 type, value)            strings are u64 length + UTF-8 bytes
///     n_tensors x (string name, u32 n_dims, n_dims x u64 dim (ne0 first), u32 ggml type, u64 offset)
///     zero padding to `alignment`
///     each tensor's bytes, followed by zero padding to `alignment` (the last one too)
///
/// Offsets are relative to the start of the data section, each a multiple of `alignment`.
///
/// Usage (also how a LoRA merge or a conversion exports a model):
///
///     var w = GGUFWriter()
///     w.addMetadata(from: source)                      // every KV, in the source's order
///     w.add(key: "general.file_type", value: .uint32(7))
///     try w.add(tensor: "blk.0.attn_q.weight", type: .q8_0, dims: [4096, 4096]) { out in
///         // fill `out` (exactly the tensor's byte size, zeroed) with the tensor's data
///     }
///     try w.write(to: "out.gguf")
///
/// Tensor data is produced on demand: `write(to:)` calls each tensor's closure in order, writes its
/// bytes and frees them before the next one, so at most one tensor is in memory at a time. The file is
/// written beside `path` under a temporary name and renamed over `path` at the end: readers never see a
/// partial file, and on failure `path` is left as it was. A value type; not thread-safe while mutated.
public struct GGUFWriter {
    /// Fills a tensor's data: the buffer is exactly the tensor's byte size and starts zeroed.
    public typealias TensorData = (UnsafeMutableRawBufferPointer) throws -> Void

    /// A tensor waiting to be written.
    public struct PendingTensor {
        public let name: String
        public let type: TensorType
        /// GGML order: dims[0] is the contiguous (row) dimension.
        public let dims: [Int]
        public let byteCount: Int
        let data: TensorData
    }

    /// Metadata keys in the order they will be written.
    public private(set) var metadataKeys: [String] = []
    public private(set) var metadata: [String: GGUFValue] = [:]
    public private(set) var tensors: [PendingTensor] = []
    private var tensorNames: Set<String> = []

    /// Data alignment (a power of two). Adding a `general.alignment` entry sets it.
    public private(set) var alignment: Int

    /// GGML_MAX_NAME: llama.cpp rejects tensor names of this many bytes or more.
    public static let maxTensorNameBytes = 64

    public init(alignment: Int = 32) {
        self.alignment = alignment
    }

    // MARK: - Metadata

    /// Adds a metadata entry, or replaces the value of an existing key in place (it keeps its position).
    /// `general.alignment` also sets `alignment`.
    public mutating func add(key: String, value: GGUFValue) {
        if metadata.updateValue(value, forKey: key) == nil { metadataKeys.append(key) }
        if key == "general.alignment", let a = value.int { alignment = a }
    }

    /// llama.cpp's `gguf_set_val_*`: removes any existing entry for `key`, then appends it at the end.
    public mutating func set(key: String, value: GGUFValue) {
        remove(key: key)
        add(key: key, value: value)
    }

    /// Removes a metadata entry (no-op when absent).
    public mutating func remove(key: String) {
        guard metadata.removeValue(forKey: key) != nil else { return }
        metadataKeys.removeAll { $0 == key }
        if key == "general.alignment" { alignment = 32 }
    }

    /// Copies every metadata entry of `file` in its original order (`GGUFFile.metadataKeys`), except
    /// the keys in `skipping`. Existing keys are replaced in place.
    public mutating func addMetadata(from file: GGUFFile, skipping: Set<String> = []) {
        for key in file.metadataKeys where !skipping.contains(key) {
            if let v = file.metadata[key] { add(key: key, value: v) }
        }
    }

    // MARK: - Tensors

    /// Adds a tensor whose bytes `data` fills when the file is written.
    ///
    /// - Parameters:
    ///   - dims: GGUF order, `dims[0]` (ne0) is the row length; 1...4 dimensions, each >= 1, and
    ///     `dims[0]` a multiple of `type.blockSize`.
    /// - Throws: `LoomError.invalidArgument` for an empty, too long (>= 64 bytes) or duplicate name, or a
    ///   shape that does not fit the type.
    public mutating func add(tensor name: String, type: TensorType, dims: [Int], data: @escaping TensorData) throws {
        guard !name.isEmpty, name.utf8.count < Self.maxTensorNameBytes else {
            throw LoomError.invalidArgument("GGUF tensor name '\(name)' must be 1 to \(Self.maxTensorNameBytes - 1) bytes")
        }
        guard !tensorNames.contains(name) else {
            throw LoomError.invalidArgument("GGUF tensor '\(name)' is added twice")
        }
        guard (1...GGUFFile.maxDims).contains(dims.count), dims.allSatisfy({ $0 >= 1 && $0 <= Int(Int32.max) }) else {
            throw LoomError.invalidArgument("GGUF tensor '\(name)' has an invalid shape \(dims)")
        }
        guard dims[0] % type.blockSize == 0 else {
            throw LoomError.invalidArgument(
                "GGUF tensor '\(name)': row length \(dims[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
        }
        var elements = 1
        for d in dims {
            let (p, o) = elements.multipliedReportingOverflow(by: d)
            guard !o, p <= 1 << 40 else { throw LoomError.invalidArgument("GGUF tensor '\(name)' has too many elements") }
            elements = p
        }
        guard let bytes = type.byteCount(elements: elements) else {
            throw LoomError.invalidArgument("GGUF tensor '\(name)' has a size that overflows")
        }
        tensorNames.insert(name)
        tensors.append(PendingTensor(name: name, type: type, dims: dims, byteCount: bytes, data: data))
    }

    /// Adds a tensor with the given bytes (copied now).
    public mutating func add(tensor name: String, type: TensorType, dims: [Int], bytes: [UInt8]) throws {
        try add(tensor: name, type: type, dims: dims) { out in
            guard out.count == bytes.count else {
                throw LoomError.invalidArgument("GGUF tensor '\(name)' needs \(out.count) bytes, got \(bytes.count)")
            }
            bytes.withUnsafeBytes { src in
                if let s = src.baseAddress, let d = out.baseAddress { d.copyMemory(from: s, byteCount: src.count) }
            }
        }
    }

    /// Adds a tensor of `file` unchanged (type, shape, bytes), under `name` (default: its own name).
    /// The writer keeps `file` (and its mapping) alive until it is itself released.
    public mutating func add(tensor info: GGUFTensorInfo, from file: GGUFFile, as name: String? = nil) throws {
        guard let type = info.type, let count = info.byteCount else {
            throw LoomError.unsupported("GGUF tensor '\(info.name)' has an unknown type \(info.rawType)")
        }
        try add(tensor: name ?? info.name, type: type, dims: info.dims) { out in
            guard let src = file.data(of: info), out.count == count, let d = out.baseAddress else {
                throw LoomError.format("GGUF tensor '\(info.name)' has no data")
            }
            d.copyMemory(from: src, byteCount: count)
        }
    }

    // MARK: - Writing

    /// The header bytes (everything before the tensor data, padding included) and each tensor's offset.
    public func header() throws -> [UInt8] {
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= 1 << 20 else {
            throw LoomError.invalidArgument("GGUF alignment must be a power of two, got \(alignment)")
        }
        var out = GGUFByteWriter()
        out.u32(0x4655_4747)  // "GGUF"
        out.u32(3)
        out.u64(UInt64(tensors.count))
        out.u64(UInt64(metadataKeys.count))
        for key in metadataKeys {
            guard let value = metadata[key] else { continue }
            out.string(key)
            out.u32(value.type.rawValue)
            try out.value(value, key: key)
        }
        var offset = 0
        for t in tensors {
            out.string(t.name)
            out.u32(UInt32(t.dims.count))
            for d in t.dims { out.u64(UInt64(d)) }
            out.u32(t.type.rawValue)
            out.u64(UInt64(offset))
            offset += padded(t.byteCount)
        }
        out.bytes.append(contentsOf: repeatElement(0, count: padded(out.bytes.count) - out.bytes.count))
        return out.bytes
    }

    private func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Writes the file atomically (temporary file + rename). `progress`, when given, is called after each
    /// tensor with (tensors written, total); returning false cancels (LoomError aborted; nothing is left behind).
    ///
    /// - Throws: `LoomError.io` when the file cannot be written, whatever a tensor's closure throws, and
    ///   `LoomError.invalidArgument` for an invalid alignment or metadata value.
    public func write(to path: String, progress: ((Int, Int) -> Bool)? = nil) throws {
        let head = try header()
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard let f = fopen(tmp, "wb") else {
            throw LoomError.io("cannot create '\(tmp)': \(String(cString: strerror(errno)))")
        }
        var ok = false
        defer {
            if !ok {
                fclose(f)
                unlink(tmp)
            }
        }
        func put(_ p: UnsafeRawPointer?, _ n: Int) throws {
            guard n > 0 else { return }
            guard let p, fwrite(p, 1, n, f) == n else {
                throw LoomError.io("cannot write '\(tmp)': \(String(cString: strerror(errno)))")
            }
        }
        try head.withUnsafeBytes { try put($0.baseAddress, $0.count) }
        let zeros = [UInt8](repeating: 0, count: alignment)
        for (i, t) in tensors.enumerated() {
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: max(t.byteCount, 1), alignment: 64)
            defer { buf.deallocate() }
            let body = UnsafeMutableRawBufferPointer(rebasing: buf[0..<t.byteCount])
            body.initializeMemory(as: UInt8.self, repeating: 0)
            try t.data(body)
            try put(body.baseAddress, body.count)
            try zeros.withUnsafeBytes { try put($0.baseAddress, padded(t.byteCount) - t.byteCount) }
            if let progress, !progress(i + 1, tensors.count) {
                throw LoomError(.aborted, "writing '\(path)' was cancelled")
            }
        }
        guard fflush(f) == 0 else { throw LoomError.io("cannot write '\(tmp)': \(String(cString: strerror(errno)))") }
        ok = true
        guard fclose(f) == 0 else {
            unlink(tmp)
            throw LoomError.io("cannot write '\(tmp)': \(String(cString: strerror(errno)))")
        }
        guard rename(tmp, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(tmp)
            throw LoomError.io("cannot rename '\(tmp)' to '\(path)': \(message)")
        }
    }
}

/// Little-endian serialisation of GGUF header fields.
struct GGUFByteWriter {
    var bytes: [UInt8] = []

    mutating func int<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u32(_ v: UInt32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }

    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    mutating func value(_ v: GGUFValue, key: String, depth: Int = 0) throws {
        switch v {
        case .uint8(let x): int(x)
        case .int8(let x): int(x)
        case .uint16(let x): int(x)
        case .int16(let x): int(x)
        case .uint32(let x): int(x)
        case .int32(let x): int(x)
        case .float32(let x): int(x.bitPattern)
        case .bool(let x): int(UInt8(x ? 1 : 0))
        case .string(let s): string(s)
        case .uint64(let x): int(x)
        case .int64(let x): int(x)
        case .float64(let x): int(x.bitPattern)
        case .array(let elementType, let items):
            guard depth < GGUFFile.maxArrayNesting else {
                throw LoomError.invalidArgument("metadata '\(key)' nests arrays deeper than \(GGUFFile.maxArrayNesting)")
            }
            u32(elementType.rawValue)
            u64(UInt64(items.count))
            for item in items {
                guard item.type == elementType else {
                    throw LoomError.invalidArgument(
                        "metadata '\(key)': an array of \(elementType.name) holds a \(item.type.name)")
                }
                try value(item, key: key, depth: depth + 1)
            }
        }
    }
}
