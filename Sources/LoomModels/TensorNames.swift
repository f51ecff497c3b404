/// The two spellings of each weight: GGUF's (llama.cpp) and HF transformers'. Architectures ask for
/// weights by their GGUF name; an HF folder is searched under the HF name.
public enum TensorNames {
    /// GGUF name -> HF name, for per-layer names with `{i}` as the layer index.
    static let llamaFamily: [(gguf: String, hf: String)] = [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("output.weight", "lm_head.weight"),
        ("blk.{i}.attn_norm.weight", "model.layers.{i}.input_layernorm.weight"),
        ("blk.{i}.attn_q.weight", "model.layers.{i}.self_attn.q_proj.weight"),
        ("blk.{i}.attn_k.weight", "model.layers.{i}.self_attn.k_proj.weight"),
        ("blk.{i}.attn_v.weight", "model.layers.{i}.self_attn.v_proj.weight"),
        ("blk.{i}.attn_q.bias", "model.layers.{i}.self_attn.q_proj.bias"),
        ("blk.{i}.attn_k.bias", "model.layers.{i}.self_attn.k_proj.bias"),
        ("blk.{i}.attn_v.bias", "model.layers.{i}.self_attn.v_proj.bias"),
        ("blk.{i}.attn_output.weight", "model.layers.{i}.self_attn.o_proj.weight"),
        ("blk.{i}.attn_output.bias", "model.layers.{i}.self_attn.o_proj.bias"),
        ("blk.{i}.ffn_norm.weight", "model.layers.{i}.post_attention_layernorm.weight"),
        ("blk.{i}.ffn_gate.weight", "model.layers.{i}.mlp.gate_proj.weight"),
        ("blk.{i}.ffn_up.weight", "model.layers.{i}.mlp.up_proj.weight"),
        ("blk.{i}.ffn_down.weight", "model.layers.{i}.mlp.down_proj.weight"),
    ]

    private static let ggufToHF: [String: String] = Dictionary(uniqueKeysWithValues: llamaFamily.map { ($0.gguf, $0.hf) })

    /// The HF spelling of a GGUF tensor name ("blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight").
    public static func hfName(forGGUF name: String) -> String? {
        if let direct = ggufToHF[name] { return direct }
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
        guard let pattern = ggufToHF["blk.{i}." + parts[2]] else { return nil }
        return pattern.replacing("{i}", with: String(layer))
    }
}
