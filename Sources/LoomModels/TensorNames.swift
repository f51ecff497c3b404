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

    /// GPT-2 (GPT2LMHeadModel). Its Conv1D weights are stored [in, out]: GPT2.swift transposes them.
    static let gpt2: [(gguf: String, hf: String)] = [
        ("token_embd.weight", "transformer.wte.weight"),
        ("position_embd.weight", "transformer.wpe.weight"),
        ("output_norm.weight", "transformer.ln_f.weight"),
        ("output_norm.bias", "transformer.ln_f.bias"),
        ("blk.{i}.attn_norm.weight", "transformer.h.{i}.ln_1.weight"),
        ("blk.{i}.attn_norm.bias", "transformer.h.{i}.ln_1.bias"),
        ("blk.{i}.attn_qkv.weight", "transformer.h.{i}.attn.c_attn.weight"),
        ("blk.{i}.attn_qkv.bias", "transformer.h.{i}.attn.c_attn.bias"),
        ("blk.{i}.attn_output.weight", "transformer.h.{i}.attn.c_proj.weight"),
        ("blk.{i}.attn_output.bias", "transformer.h.{i}.attn.c_proj.bias"),
        ("blk.{i}.ffn_norm.weight", "transformer.h.{i}.ln_2.weight"),
        ("blk.{i}.ffn_norm.bias", "transformer.h.{i}.ln_2.bias"),
        ("blk.{i}.ffn_up.weight", "transformer.h.{i}.mlp.c_fc.weight"),
        ("blk.{i}.ffn_up.bias", "transformer.h.{i}.mlp.c_fc.bias"),
        ("blk.{i}.ffn_down.weight", "transformer.h.{i}.mlp.c_proj.weight"),
        ("blk.{i}.ffn_down.bias", "transformer.h.{i}.mlp.c_proj.bias"),
    ]

    /// Every family's spellings; one GGUF name may have several HF ones (one per family).
    private static let ggufToHF: [String: [String]] = {
        var map: [String: [String]] = [:]
        for (gguf, hf) in llamaFamily + gpt2 { map[gguf, default: []].append(hf) }
        return map
    }()

    /// The HF spellings of a GGUF tensor name, to try in order ("blk.3.attn_q.weight" ->
    /// ["model.layers.3.self_attn.q_proj.weight"]). A `transformer.` name is also tried without the
    /// prefix, as checkpoints saved from a base model (e.g. GPT2Model) spell it.
    public static func hfNames(forGGUF name: String) -> [String] {
        let patterns: [String]
        var layer: String?
        if let direct = ggufToHF[name] {
            patterns = direct
        } else {
            let parts = name.split(separator: ".", maxSplits: 2)
            guard parts.count == 3, parts[0] == "blk", let index = Int(parts[1]),
                  let perLayer = ggufToHF["blk.{i}." + parts[2]] else { return [] }
            patterns = perLayer
            layer = String(index)
        }
        var names: [String] = []
        for pattern in patterns {
            let hf = layer.map { pattern.replacing("{i}", with: $0) } ?? pattern
            names.append(hf)
            if hf.hasPrefix("transformer.") { names.append(String(hf.dropFirst("transformer.".count))) }
        }
        return names
    }

    /// The first HF spelling of a GGUF tensor name, if it has one.
    public static func hfName(forGGUF name: String) -> String? { hfNames(forGGUF: name).first }
}
