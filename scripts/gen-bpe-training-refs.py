#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizers/bpe-training-refs.json: what HF tokenizers' BpeTrainer makes, for
Loom's BPE trainer tests (Tests/LoomTokenizersTests/BPETrainerTests.swift). Needs `pip install tokenizers`.

- "licenses": byte-level BPE trained on the Debian licence texts (/usr/share/common-licenses, all but
  Apache-2.0, read with Tokenizer.train(files)) at vocab sizes 1000 and 4000: the tokens Apache-2.0
  encodes to, and the merges of the largest run (the smaller runs' merges are its prefixes).
- "small": small in-memory trainings (train_from_iterator), each with HF's complete tokenizer.json.
"""
import json
import os
import sys

import tokenizers
from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "tokenizers", "bpe-training-refs.json")
LICENSES = "/usr/share/common-licenses"
SPECIALS = ["<|endoftext|>", "<pad>"]
VOCAB_SIZES = [1000, 4000]


def new_tokenizer(byte_level, unk_token=None):
    """Tokenizer(BPE()) set up the way Loom's trainer describes its output."""
    if byte_level:
        tok = Tokenizer(BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.ByteLevel()
    else:
        tok = Tokenizer(BPE(unk_token=unk_token))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok


def trainer(vocab_size, specials, byte_level, min_frequency=0):
    extra = {"initial_alphabet": pre_tokenizers.ByteLevel.alphabet()} if byte_level else {}
    return BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), min_frequency=min_frequency,
                      show_progress=False, **extra)


def licenses():
    names = sorted(n for n in os.listdir(LICENSES) if n != "Apache-2.0")
    files = [os.path.join(LICENSES, n) for n in names]
    apache = open(os.path.join(LICENSES, "Apache-2.0"), encoding="utf-8").read()
    runs = []
    merges = []
    for v in VOCAB_SIZES:
        tok = new_tokenizer(True)
        tok.train(files, trainer(v, SPECIALS, True))
        model = json.loads(tok.to_str())["model"]
        n = len(tok.encode(apache).ids)
        runs.append({"vocab_size": v, "n_vocab": tok.get_vocab_size(), "n_merges": len(model["merges"]),
                     "eval_tokens": n, "eval_bytes": len(apache.encode("utf-8")),
                     "tokens_per_byte": n / len(apache.encode("utf-8"))})
        if len(model["merges"]) > len(merges):
            merges = model["merges"]
    # Byte-level tokens never hold a space, so "a b" is unambiguous.
    return {"folder": LICENSES, "files": names, "eval_file": "Apache-2.0", "special_tokens": SPECIALS,
            "runs": runs, "merges": [a + " " + b for a, b in merges]}


SMALL = [
    {"name": "bytelevel-unicode", "byte_level": True, "vocab_size": 320, "special_tokens": ["<s>", "</s>"],
     "texts": ["naïve café — 日本語のテキスト 😀👍🏽 straße ΑΒΓ δέκα",
               "hello hello world  world\n\n  indented 's 're 123 4567",
               "x\u0001y\u00a0z\u2028 \t tabs\r\n" * 3, "hello there, hello again"] * 4},
    {"name": "bytelevel-escapes", "byte_level": True, "vocab_size": 300,
     "special_tokens": ["a\"quote", "back\\slash", "new\nline", "\u0001ctl\u001f", "é😀", "Ġ", "a"],
     "texts": ["aaa aaaa aaaaa bab abab", "quote \" back \\ slash \u0007"]},
    {"name": "bytelevel-min-frequency", "byte_level": True, "vocab_size": 1000, "special_tokens": [],
     "min_frequency": 3, "texts": ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 2},
    {"name": "whitespace-unk", "byte_level": False, "vocab_size": 60, "special_tokens": ["[UNK]", "[PAD]"],
     "unk_token": "[UNK]", "texts": ["hello world, hello there\n", "a\u0001b \"q\" \\ é 日本 foo_bar x2y 3.14"]},
]


def small():
    out = []
    for c in SMALL:
        tok = new_tokenizer(c["byte_level"], c.get("unk_token"))
        tok.train_from_iterator(c["texts"], trainer(c["vocab_size"], c["special_tokens"], c["byte_level"],
                                                    c.get("min_frequency", 0)))
        case = dict(c)
        case["tokenizer_json"] = tok.to_str()
        out.append(case)
    return out


def main():
    if not os.path.isdir(LICENSES):
        sys.exit(f"{LICENSES} is missing (Debian's base-files has it)")
    refs = {"generator": "scripts/gen-bpe-training-refs.py", "tokenizers_version": tokenizers.__version__,
            "licenses": licenses(), "small": small()}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(refs, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for r in refs["licenses"]["runs"]:
        print(f"vocab {r['vocab_size']}: {r['eval_tokens']} tokens / {r['eval_bytes']} bytes "
              f"= {r['tokens_per_byte']:.5f} tokens per byte, {r['n_merges']} merges")
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
