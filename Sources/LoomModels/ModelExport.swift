import LoomCore
import LoomFormats
import LoomKernels

/// Saving a loaded model as GGUF, with the LoRA / (IA)³ adapters merged into it (llama.cpp's
/// export-lora). The file keeps the source's metadata and tensor order; each projection weight is
/// written as the model now holds it (F32 / F16 / BF16 exactly; a quantized weight an adapter was
/// merged into is F32, see `ModelEdits`), every other tensor is copied byte for byte.
extension Model {
    /// Writes the model, as it is now, to a GGUF file at `path` (written under a temporary name and
    /// renamed at the end); a merge cannot run meanwhile. An HF folder (llama family) is converted as
    /// `loom convert` does, with the projection weights as the model holds them.
    public func save(path: String) throws {
        guard case .gguf(let source) = self.source else {
            try saveConverted(path: path)
            return
        }
        try edits.lock.withLock {
            var writer = GGUFWriter(alignment: source.alignment)
            writer.addMetadata(from: source)
            let llama = network as? LlamaModel
            for info in source.tensors {
                if let llama, let (layer, target) = Self.projection(info.name), layer < llama.config.layerCount {
                    let w = llama.weight(layer, target)
                    if w.isWritable || w.type != info.type {
                        try writer.add(tensor: info.name, type: w.type, dims: [w.cols, w.rows]) { out in
                            try Self.writeRows(of: w, into: out)
                        }
                        continue
                    }
                }
                try writer.add(tensor: info, from: source)
            }
            try writer.write(to: path)
        }
        Log.info("saved '\(self.path)'\(mergedAdapters.isEmpty ? "" : " with \(mergedAdapters.count) merged adapter(s)") as '\(path)'")
    }

    /// An HF folder: converted as `loom convert` does, the projection weights taken from memory.
    private func saveConverted(path: String) throws {
        guard let llama = network as? LlamaModel else {
            throw LoomError.unsupported("saving an HF folder as GGUF is supported for llama-family models; this one is '\(architecture ?? "?")'")
        }
        let type: ConvertType
        switch llama.weight(0, .q).type {
        case .f16: type = .f16
        case .bf16: type = .bf16
        default: type = .f32
        }
        try edits.lock.withLock {
            try convertHF(folder: self.path, output: path, type: type) { name in
                guard let (layer, target) = Self.projection(name), layer < llama.config.layerCount else { return nil }
                let w = llama.weight(layer, target)
                var values = [Float](repeating: 0, count: w.rows * w.cols)
                values.withUnsafeMutableBufferPointer { b in
                    guard let base = b.baseAddress else { return }
                    for r in 0..<w.rows { w.dequantizeRow(r, into: base + r * w.cols) }
                }
                return values
            }
        }
    }

    /// "blk.N.attn_q.weight" → (N, .q).
    static func projection(_ name: String) -> (Int, LoRATarget)? {
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", parts[3] == "weight", let layer = Int(parts[1]), layer >= 0,
              let target = LoRATarget.allCases.first(where: { $0.gguf == parts[2] }) else { return nil }
        return (layer, target)
    }

    /// A float matrix in GGUF row order (dequantized and re-encoded: exact for F32, F16 and BF16).
    static func writeRows(of w: WeightMatrix, into out: UnsafeMutableRawBufferPointer) throws {
        guard let base = out.baseAddress, out.count == w.rows * w.rowBytes else {
            throw LoomError(.internal, "export buffer of \(out.count) bytes for a \(w.rows)×\(w.cols) \(w.type.name) matrix")
        }
        var row = [Float](repeating: 0, count: w.cols)
        for r in 0..<w.rows {
            w.dequantizeRow(r, into: &row)
            let dst = base + r * w.rowBytes
            switch w.type {
            case .f32:
                for c in 0..<w.cols { dst.storeBytes(of: row[c], toByteOffset: 4 * c, as: Float.self) }
            case .f16:
                for c in 0..<w.cols { dst.storeBytes(of: floatToHalf(row[c]), toByteOffset: 2 * c, as: UInt16.self) }
            case .bf16:
                for c in 0..<w.cols { dst.storeBytes(of: floatToBF16(row[c]), toByteOffset: 2 * c, as: UInt16.self) }
            default:
                throw LoomError(.internal, "cannot re-encode a \(w.type.name) matrix")
            }
        }
    }
}
