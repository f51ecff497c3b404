#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets (Fuzz/) from Tests/Fixtures: small valid inputs that
reach deep into each parser. Standard library only. usage: fuzz-seeds.py OUT_DIR

  gguf/            micro models (1 layer, width 8) of tiny-llama, tiny-gpt2, tiny-bert in f32 and f16,
                   and their vocab-only (no tensor) forms
  hf_folder/       config.json + micro model.safetensors of tiny-llama, tiny-gpt2, tiny-bert, tiny-t5
  tokenizer_json/  every small tokenizer.json fixture (+ tokenizer_config.json), a few synthetic ones
  tokenize/        [tokenizer index, mode] + sample texts / ids
  adapter/         tiny-llama's GGUF LoRA, PEFT LoRA / IA3 / prompt / prefix tuning folders
  jinja/           chat templates (fixtures and snippets) + messages JSON
Multi-file inputs are joined with the separator of Fuzz/Support/FuzzSupport.swift.
"""
import hashlib, json, os, random, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
SEP = b"\n@@loom-part@@\n"
MAX_SEED = 128 << 10

# ---------------------------------------------------------------- GGUF (read / write)

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q", 11: "<q", 12: "<d"}
BLOCK = {0: (1, 4), 1: (1, 2), 8: (32, 34)}   # type -> (block size, bytes per block): f32, f16, q8_0


class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.b[self.p:self.p + n]
        self.p += n
        return s

    def value(self, t):
        if t in SCALAR:
            return self.take(SCALAR[t])
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("<I"), self.take("<Q")
            return (et, [self.value(et) for _ in range(n)])
        raise ValueError(f"type {t}")


def read_gguf(path):
    r = Reader(open(path, "rb").read())
    assert r.take("<I") == 0x46554747
    version, nt, nkv = r.take("<I"), r.take("<Q"), r.take("<Q")
    kvs = []
    for _ in range(nkv):
        k = r.string().decode()
        t = r.take("<I")
        kvs.append([k, t, r.value(t)])
    tensors = []
    for _ in range(nt):
        name = r.string().decode()
        nd = r.take("<I")
        dims = [r.take("<Q") for _ in range(nd)]
        t, off = r.take("<I"), r.take("<Q")
        tensors.append([name, dims, t, off])
    return version, kvs, tensors


def put_value(out, t, v):
    if t in SCALAR:
        out += struct.pack(SCALAR[t], v)
    elif t == 8:
        out += struct.pack("<Q", len(v)) + v
    else:
        et, items = v
        out += struct.pack("<IQ", et, len(items))
        for x in items:
            put_value(out, et, x)


def write_gguf(kvs, tensors, align=32):
    """tensors: [name, dims, type, data bytes]"""
    out = bytearray(b"GGUF") + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        kb = k.encode()
        out += struct.pack("<Q", len(kb)) + kb + struct.pack("<I", t)
        put_value(out, t, v)
    off = 0
    offsets = []
    for name, dims, t, data in tensors:
        offsets.append(off)
        off += (len(data) + align - 1) // align * align
    for (name, dims, t, data), o in zip(tensors, offsets):
        nb = name.encode()
        out += struct.pack("<Q", len(nb)) + nb + struct.pack("<I", len(dims))
        for d in dims:
            out += struct.pack("<Q", d)
        out += struct.pack("<IQ", t, o)
    out += b"\0" * ((-len(out)) % align)
    for (name, dims, t, data), o in zip(tensors, offsets):
        out += data + b"\0" * ((-len(data)) % align)
    return bytes(out)


def floats(n, rng, norm=False):
    return [1.0 if norm else rng.uniform(-0.1, 0.1) for _ in range(n)]


def f16(values):
    return b"".join(struct.pack("<e", v) for v in values)


def f32(values):
    return struct.pack(f"<{len(values)}f", *values)


def layer_of(name):
    for part in name.replace("_", ".").split("."):
        if part.isdigit():
            return int(part)
    return -1


GGUF_MICRO = {
    # fixture: (dim map, metadata overrides under "<arch>.")
    "tiny-llama/model.f32.gguf": ({64: 8, 160: 16, 32: 4}, {
        "block_count": 1, "context_length": 16, "embedding_length": 8, "feed_forward_length": 16,
        "attention.head_count": 2, "attention.head_count_kv": 1, "attention.key_length": 4,
        "attention.value_length": 4, "rope.dimension_count": 4}),
    "tiny-gpt2/model.f32.gguf": ({64: 8, 192: 24, 256: 32, 128: 16}, {
        "block_count": 1, "context_length": 16, "embedding_length": 8, "feed_forward_length": 32,
        "attention.head_count": 2}),
    "tiny-bert/model.f32.gguf": ({64: 8, 128: 16}, {
        "block_count": 1, "context_length": 16, "embedding_length": 8, "feed_forward_length": 16,
        "attention.head_count": 2}),
}


def gguf_seeds(out):
    rng = random.Random(1)
    for fixture, (dmap, meta) in GGUF_MICRO.items():
        _, kvs, tensors = read_gguf(os.path.join(FIX, fixture))
        arch = next(v for k, t, v in kvs if k == "general.architecture").decode()
        for kv in kvs:
            short = kv[0][len(arch) + 1:] if kv[0].startswith(arch + ".") else None
            if short in meta:
                kv[2] = meta[short]
        name = fixture.split("/")[0]
        emit(out, f"{name}-vocab-only.gguf", write_gguf(kvs, []))
        for ty in (0, 1):
            micro = []
            for tname, dims, t, _ in tensors:
                if layer_of(tname) >= 1:
                    continue
                d = [dmap.get(x, x) for x in dims]
                n = 1
                for x in d:
                    n *= x
                norm = tname.endswith("norm.weight")
                vals = floats(n, rng, norm)
                use = ty if len(d) == 2 else 0
                micro.append([tname, d, use, f16(vals) if use == 1 else f32(vals)])
            emit(out, f"{name}-micro-{'f16' if ty else 'f32'}.gguf", write_gguf(kvs, micro))
    # Other small GGUFs of the fixtures, metadata only.
    for rel in ["tokenizers/tiny-ugm.gguf"]:
        _, kvs, _ = read_gguf(os.path.join(FIX, rel))
        emit(out, os.path.basename(rel).replace(".gguf", "-vocab-only.gguf"), write_gguf(kvs, []))
    # A minimal valid header, and one with every scalar type and a nested array.
    kvs = [["general.architecture", 8, b"llama"], ["general.alignment", 4, 64], ["a.u8", 0, 1], ["a.i8", 1, -1],
           ["a.u16", 2, 2], ["a.i16", 3, -2], ["a.u32", 4, 3], ["a.i32", 5, -3], ["a.f32", 6, 0.5], ["a.bool", 7, 1],
           ["a.u64", 10, 4], ["a.i64", 11, -4], ["a.f64", 12, 0.25], ["a.arr", 9, (9, [(5, [1, 2]), (8, [b"x"])])]]
    emit(out, "scalars.gguf", write_gguf(kvs, [["t", [32, 2], 8, b"\0" * 68]], align=64))


# ---------------------------------------------------------------- safetensors / HF folders

def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n])


def write_safetensors(tensors):
    """tensors: [(name, shape, data bytes)] of F32"""
    header, off, blobs = {}, 0, []
    for name, shape, data in tensors:
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


HF_MICRO = {
    "tiny-llama": ({64: 8, 160: 16, 32: 4}, {
        "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_key_value_heads": 1,
        "head_dim": 4, "num_hidden_layers": 1, "max_position_embeddings": 16}),
    "tiny-gpt2": ({64: 8, 192: 24, 256: 32, 128: 16}, {
        "n_embd": 8, "n_head": 2, "n_layer": 1, "n_positions": 16}),
    "tiny-bert": ({64: 8, 128: 16}, {
        "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2, "num_hidden_layers": 1,
        "max_position_embeddings": 16}),
    "tiny-t5": ({64: 8, 128: 16, 4: 2}, {
        "d_model": 8, "d_kv": 4, "num_heads": 2, "d_ff": 16, "num_layers": 1, "num_decoder_layers": 1}),
}


def hf_seeds(out):
    rng = random.Random(2)
    for name, (dmap, overrides) in HF_MICRO.items():
        config = json.load(open(os.path.join(FIX, name, "config.json")))
        config.update(overrides)
        header = read_safetensors(os.path.join(FIX, name, "model.safetensors"))
        tensors = []
        for tname, info in header.items():
            if tname == "__metadata__" or layer_of(tname) >= 1:
                continue
            shape = [dmap.get(x, x) for x in info["shape"]]
            n = 1
            for x in shape:
                n *= x
            tensors.append((tname, shape, f32(floats(n, rng, "LayerNorm.weight" in tname or "norm.weight" in tname))))
        cfg = json.dumps(config, indent=1).encode()
        st = write_safetensors(tensors)
        emit(out, f"{name}-micro", cfg + SEP + st)
        emit(out, f"{name}-config-only", cfg)
    # A small tokenizer.json as third part (the loader reads it too).
    tok = open(os.path.join(FIX, "tokenizers", "wordlevel", "tokenizer.json"), "rb").read()
    emit(out, "config-st-tokenizer", json.dumps({"model_type": "llama"}).encode() + SEP + write_safetensors([]) + SEP + tok)


# ---------------------------------------------------------------- tokenizers

def tokenizer_files():
    found = []
    for dirpath, _, files in os.walk(FIX):
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            if (f == "tokenizer.json" or f.endswith(".tokenizer.json")) and os.path.getsize(p) <= MAX_SEED:
                found.append(p)
    return sorted(found)


SYNTHETIC_TOKENIZERS = [
    # Split pre-tokenizer with a backtracking-heavy pattern, WordLevel model.
    {"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1, "[UNK]": 2}, "unk_token": "[UNK]"},
     "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": False}},
    {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
     "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
     "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                                            {"type": "ByteLevel", "add_prefix_space": False}]},
     "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "a"}}, {"Sequence": {"id": "A"}}],
                        "special_tokens": {"a": {"ids": [0]}}},
     "decoder": {"type": "ByteLevel"}, "added_tokens": [{"id": 3, "content": "<s>", "special": True}]},
    {"model": {"type": "Unigram", "vocab": [["<unk>", 0.0], ["a", -1.0], ["b", -2.0]], "unk_id": 0, "byte_fallback": False},
     "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
     "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"}},
    {"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "##b": 2}, "unk_token": "[UNK]"},
     "normalizer": {"type": "BertNormalizer", "lowercase": True}, "pre_tokenizer": {"type": "BertPreTokenizer"},
     "decoder": {"type": "WordPiece", "prefix": "##"}},
]


def tokenizer_json_seeds(out):
    for p in tokenizer_files():
        data = open(p, "rb").read()
        cfg = os.path.join(os.path.dirname(p), "tokenizer_config.json")
        name = os.path.relpath(p, FIX).replace("/", "_")
        emit(out, name, data)
        if os.path.exists(cfg):
            emit(out, name + "+config", data + SEP + open(cfg, "rb").read())
    for i, t in enumerate(SYNTHETIC_TOKENIZERS):
        emit(out, f"synthetic-{i}.json", json.dumps(t).encode())


def sample_texts():
    texts = ["Hello world", "", " ", "\n\n\t", "It's 3.14159 o'clock!", "naïve café — 東京 🚀",
             "<s>[INST] hi [/INST]</s>", "<|endoftext|><|im_start|>user", "[CLS] a [SEP] [MASK]", "aaaaaaaaaaaaaaaaaaaa!",
             "\u00a0\u200b\ufeff\u2028", "ＡＢＣ①ﬁ", "\x00\x01\x7f", "   leading and trailing   "]
    cases = os.path.join(FIX, "tokenizers", "hf-pretokenizer-cases.json")
    if os.path.exists(cases):
        def walk(x):
            if isinstance(x, str) and 0 < len(x) < 200:
                texts.append(x)
            elif isinstance(x, dict):
                for v in x.values():
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)
        walk(json.load(open(cases)))
    seen, out = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out[:80]


def tokenize_seeds(out):
    texts = sample_texts()
    for k in range(8):
        for i, t in enumerate(texts):
            if (i + k) % 4 == 0 or i < 6:
                emit(out, f"t{k}-{i}", bytes([k, (i % 4)]) + t.encode())
        emit(out, f"t{k}-bad-utf8", bytes([k, 3]) + b"\xff\xfe\xc3(\xe2\x82 \xf0\x9f")
        emit(out, f"t{k}-ids", bytes([k, 4 | (k % 4)]) + struct.pack("<8i", 0, 1, 2, 3, 100, 255, 256, 511))


def adapter_seeds(out):
    base = os.path.join(FIX, "tiny-llama")
    gguf = os.path.join(base, "lora", "adapter.f32.gguf")
    if os.path.exists(gguf):
        emit(out, "lora.gguf", open(gguf, "rb").read())
    for d in ["lora", "ia3", "prompt-tuning", "prefix-tuning"]:
        cfg = os.path.join(base, d, "adapter_config.json")
        st = os.path.join(base, d, "adapter_model.safetensors")
        if os.path.exists(cfg) and os.path.exists(st):
            emit(out, f"peft-{d}", open(cfg, "rb").read() + SEP + open(st, "rb").read())


def jinja_seeds(out):
    messages = [[{"role": "user", "content": "What is the capital of France?"}]]
    refs = json.load(open(os.path.join(FIX, "chat-templates", "refs.json")))
    for case in refs.get("cases", []):
        if "messages" in case:
            messages.append(case["messages"])
    templates = []
    extra = os.path.join(FIX, "chat-templates", "extra")
    for f in sorted(os.listdir(extra)):
        if f.endswith(".jinja"):
            templates.append(open(os.path.join(extra, f), "rb").read())
    snippets = json.load(open(os.path.join(FIX, "chat-templates", "snippets.json")))
    for s in snippets.get("snippets", []):
        src = s.get("template") if isinstance(s, dict) else s
        if isinstance(src, str):
            templates.append(src.encode())
    context = snippets.get("context", {})
    for i, t in enumerate(templates):
        m = json.dumps(messages[i % len(messages)]).encode()
        emit(out, f"template-{i}", t + SEP + m + (SEP + json.dumps(context).encode() if i % 3 == 0 else b""))


# ---------------------------------------------------------------- main

def emit(out, name, data):
    if len(data) > MAX_SEED:
        return
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    base = sys.argv[1]
    for target, make in [("gguf", gguf_seeds), ("hf_folder", hf_seeds), ("tokenizer_json", tokenizer_json_seeds),
                         ("tokenize", tokenize_seeds), ("adapter", adapter_seeds), ("jinja", jinja_seeds)]:
        out = os.path.join(base, target)
        os.makedirs(out, exist_ok=True)
        make(out)
        files = os.listdir(out)
        print(f"{target}: {len(files)} seeds, {sum(os.path.getsize(os.path.join(out, f)) for f in files) >> 10} KiB")


if __name__ == "__main__":
    main()
