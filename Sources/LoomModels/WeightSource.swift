import LoomCore
import LoomFormats
import LoomKernels

/// One weight as the kernels see it: GGUF dimension order (`dims[0]` contiguous), type and data in
/// the mapped file.
public struct WeightTensor: @unchecked Sendable {
    public let name: String
    public let type: TensorType
    public let dims: [Int]
    public let data: UnsafeRawPointer
    /// The mapped file the data lies in.
    public let file: MappedFile

    public var elementCount: Int { dims.reduce(1, *) }

    /// Tells a load in progress that its loader reached this tensor (progress report, cancel point).
    func reportProgress() throws {
        guard let progress = LoadProgress.current else { return }
        try progress.reached(data, bytes: type.byteCount(elements: elementCount) ?? 0)
    }

    /// As a matrix of dims[1] rows × dims[0] columns, repacked into the kernels' layout (same size;
    /// the file's pages it came from are released).
    public func matrix() throws -> WeightMatrix {
        guard dims.count == 2 else { throw LoomError.format("'\(name)' should be a matrix, has shape \(dims)") }
        try reportProgress()
        return try WeightMatrix(type: type, rows: dims[1], cols: dims[0], data: data).prepared(source: file)
    }

    /// A small tensor (norm weight, bias) copied out as f32.
    public func floats() throws -> [Float] {
        try reportProgress()
        let n = elementCount
        guard WeightMatrix.supported.contains(type), n % type.blockSize == 0 else {
            throw LoomError.unsupported("'\(name)' has type \(type.name), which Loom cannot read")
        }
        var out = [Float](repeating: 0, count: n)
        try out.withUnsafeMutableBufferPointer { buffer in
            // An empty tensor (hostile file) has no storage to write to; callers check shapes.
            guard let base = buffer.baseAddress else { return }
            try dequantize(type, data, base, count: n)
        }
        return out
    }
}

/// Finds weights by their GGUF name in a GGUF file, or by the HF spelling in an HF folder.
public struct WeightSource: Sendable {
    public let path: String
    public let source: Model.Source

    /// An architecture's config from GGUF metadata or the folder's config.json, whichever this is.
    public func config<C>(gguf: (GGUFFile) throws -> C, hf: (HFConfig) throws -> C) throws -> C {
        switch source {
        case .gguf(let g): return try gguf(g)
        case .hf(let f):
            guard let c = f.config else { throw LoomError.format("'\(path)' has no config.json") }
            return try hf(c)
        }
    }

    public init(path: String, source: Model.Source) {
        self.path = path
        self.source = source
    }

    public func optional(_ ggufName: String) throws -> WeightTensor? {
        guard let t = try find(ggufName) else { return nil }
        try t.reportProgress()
        return t
    }

    private func find(_ ggufName: String) throws -> WeightTensor? {
        switch source {
        case .gguf(let g):
            guard let t = g.tensor(named: ggufName) else { return nil }
            guard let type = t.type, let p = g.data(of: t) else {
                throw LoomError.unsupported("'\(ggufName)' has GGML type \(t.rawType), which Loom does not read")
            }
            return WeightTensor(name: ggufName, type: type, dims: t.dims, data: p, file: g.file)
        case .hf(let folder):
            for hf in TensorNames.hfNames(forGGUF: ggufName) {
                guard let (file, t) = folder.tensor(named: hf) else { continue }
                guard let type = t.type, let p = file.data(of: t) else {
                    throw LoomError.unsupported("'\(hf)' has dtype \(t.dtypeName); Loom reads F32, F16 and BF16")
                }
                return WeightTensor(name: hf, type: type, dims: t.shape.reversed(), data: p, file: file.file)
            }
            return nil
        }
    }

    public func required(_ ggufName: String) throws -> WeightTensor {
        guard let t = try optional(ggufName) else {
            let spellings = TensorNames.hfNames(forGGUF: ggufName)
            let hf = spellings.isEmpty ? "" : " (HF: \(spellings.joined(separator: " or ")))"
            throw LoomError.format("'\(path)' has no tensor '\(ggufName)'\(hf)")
        }
        return t
    }

    /// A required tensor whose shape must be exactly `dims` (GGUF order).
    public func required(_ ggufName: String, dims: [Int]) throws -> WeightTensor {
        let t = try required(ggufName)
        guard t.dims == dims else {
            throw LoomError.format("'\(t.name)' has shape \(t.dims), expected \(dims)")
        }
        return t
    }

    public func optional(_ ggufName: String, dims: [Int]) throws -> WeightTensor? {
        guard let t = try optional(ggufName) else { return nil }
        guard t.dims == dims else { throw LoomError.format("'\(t.name)' has shape \(t.dims), expected \(dims)") }
        return t
    }
}
