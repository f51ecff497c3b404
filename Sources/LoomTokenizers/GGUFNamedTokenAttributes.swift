import LoomFormats

extension Tokenizer {
    /// Token attributes llama.cpp sets by model, tokenizer or architecture name after loading
    /// (GGUF files do not store them): `<mask>` strips space on its left for Jina v2 and
    /// nomic-bert-moe / jina-bert-v3; Phi-3 special tokens strip white space on their right
    /// (except `<unk>`, `<s>`, `<|endoftext|>`; `</s>` does); ModernBERT's `[MASK]` strips left.
    /// (llama.cpp aborts loading when a named token is missing; here it is skipped.)
    static func ggufNamedTokenAttributes(_ gguf: GGUFFile, _ vocab: inout Vocabulary) {
        let pre = gguf["tokenizer.ggml.pre"]?.string ?? ""
        let arch = gguf["general.architecture"]?.string ?? ""
        let name = (gguf["general.name"]?.string ?? "").lowercased()
        func set(_ text: String, _ attribute: TokenAttributes, _ on: Bool) {
            guard let id = vocab.id(of: text) else { return }
            if on { vocab.attributes[Int(id)].insert(attribute) } else { vocab.attributes[Int(id)].remove(attribute) }
        }
        if ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains(where: { pre.contains($0) })
            || ["nomic-bert-moe", "jina-bert-v3"].contains(where: { arch.contains($0) }) {
            set("<mask>", .lstrip, true)
        } else if ["phi-3", "phi3"].contains(where: { name.contains($0) }) {
            // llama.cpp's special-token cache: control, user-defined and unknown tokens.
            for i in 0..<vocab.count where !vocab.attributes[i].intersection([.control, .userDefined, .unknown]).isEmpty {
                vocab.attributes[i].insert(.rstrip)
            }
            set("</s>", .rstrip, true)
            for t in ["<unk>", "<s>", "<|endoftext|>"] { set(t, .rstrip, false) }
        } else if name.contains("modern-bert") {
            set("[MASK]", .lstrip, true)
        }
    }
}
