#!/usr/bin/env python3
"""llama.cpp references for the SentencePiece GGUF vocabularies of llama.cpp's vocab suite.

Writes Tests/Fixtures/tokenizers/spm-llamacpp-cases.json: seeded random texts (licence words,
runs of spaces / tabs / newlines, accents, CJK, emoji, combining marks, special-token look-alikes,
invalid UTF-8) tokenized by llama.cpp (llama-cpp-python 0.3.36) with ggml-vocab-{llama-spm,phi-3,
gemma-4}.gguf, parse_special off and on, and llama_detokenize of the ids (remove_special off,
unparse_special on and off). Fields equal to their usual value are left out: ids_parse_special
(default: ids), ids_add_special (default: [bos] + ids_parse_special), detokenized*_hex (default:
the input).

Run with the llama-cpp-python environment after scripts/fetch-test-data.sh:
    ~/.cache/loom/llamacpp-venv/bin/python scripts/gen-spm-llamacpp-refs.py
"""
import ctypes
import glob
import json
import os
import random

import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = os.path.join(os.environ.get("LOOM_CACHE", os.path.expanduser("~/.cache/loom")), "vocab-suite")
OUT = os.path.join(ROOT, "Tests/Fixtures/tokenizers/spm-llamacpp-cases.json")
VOCABS = ["llama-spm", "phi-3", "gemma-4"]

WORDS = []
for path in sorted(glob.glob("/usr/share/common-licenses/*")):
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            WORDS += f.read().split()
EXTRA = ["Äpfel", "naïve", "café", "Straße", "東京", "我想在apple工作", "天～", "😁", "🦙", "👩‍💻", "ﬁ", "e\u0301",
         "Ελληνικά", "русский", "עברית", "العربية", "हिन्दी", "ქართული", "\u00a0", "\u3000", "▁", "▁▁x",
         "<s>", "</s>", "<unk>", "<0x41>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>",
         "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<mask>", "<pad>", "'s", "n't", "...", "1234567"]
SEPARATORS = [" ", " ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", " \n", "\n ", "\r\n", "", "        "]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(0, 12)):
        parts.append(rng.choice(EXTRA) if rng.random() < 0.3 else rng.choice(WORDS))
        parts.append(rng.choice(SEPARATORS))
    text = "".join(parts)
    if rng.random() < 0.2:
        text = rng.choice([" ", "  ", "\n", "\t"]) + text
    data = text.encode("utf-8")
    if rng.random() < 0.08 and data:
        # Invalid UTF-8: a stray byte somewhere.
        i = rng.randrange(len(data) + 1)
        data = data[:i] + bytes([rng.choice([0x80, 0xBF, 0xC3, 0xE2, 0xF0, 0xFF])]) + data[i:]
    return data


def detokenize(llm, ids, unparse):
    arr = (llama_cpp.llama_token * max(len(ids), 1))(*ids)
    buf = ctypes.create_string_buffer(len(ids) * 64 + 64)
    n = llama_cpp.llama_detokenize(llm._model.vocab, arr, len(ids), buf, len(buf), False, unparse)
    assert n >= 0
    return buf.raw[:n]


def main():
    rng = random.Random(20261127)
    texts = [b"", b" ", b"  ", b"\n", b"\n\n\n", b"\t", b"a", b" a", b"a ", b"<s>", b"<s>a", b"a<s>b",
             b"<s> a", b"a </s> b", b"<|user|>\nHi<|end|>\n<|assistant|>", b"<bos><start_of_turn>user\nHi<end_of_turn>",
             " ".join(["word"] * 50).encode(), b" " * 100, b"\n" * 40, b"x" * 120, "東京".encode() * 60]
    texts += [random_text(rng) for _ in range(180)]
    vocabularies = {}
    for name in VOCABS:
        llm = llama_cpp.Llama(model_path=os.path.join(SUITE, f"ggml-vocab-{name}.gguf"), vocab_only=True, verbose=False)
        cases = []
        for data in texts:
            plain = llm.tokenize(data, add_bos=False, special=False)
            special = llm.tokenize(data, add_bos=False, special=True)
            with_bos = llm.tokenize(data, add_bos=True, special=True)
            # Fields equal to what they usually are are left out (see the keys' comments).
            case = {"ids": plain}
            if special != plain:
                case["ids_parse_special"] = special  # default: ids
            if with_bos != [llm.token_bos()] + special:
                case["ids_add_special"] = with_bos  # default: [bos] + ids_parse_special
            for key, ids, unparse in [("detokenized_hex", special, True), ("detokenized_no_special_hex", special, False),
                                      ("detokenized_add_special_hex", with_bos, True)]:
                text = detokenize(llm, ids, unparse)
                if text != data:
                    case[key] = text.hex()  # default: the input
            cases.append(case)
        vocabularies[name] = cases
    with open(OUT, "w") as f:
        json.dump({"generator": "llama-cpp-python 0.3.36", "texts_hex": [t.hex() for t in texts], "vocabularies": vocabularies},
                  f, separators=(",", ":"))
    print(f"wrote {OUT}: {len(texts)} texts x {len(VOCABS)} vocabularies")


if __name__ == "__main__":
    main()
