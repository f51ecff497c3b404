#!/usr/bin/env python3
"""SentencePiece-style tokenizer.json fixtures with HF tokenizers' own ids and decodes.

Trains one small BPE (byte_fallback, fuse_unk, unk "<unk>") on the Debian licence texts, lays its
vocabulary out as Llama 2 does (<unk>, <s>, </s>, the 256 <0xXX> byte tokens, then the learned
pieces) and writes it with three pipelines:

- spm-llama2: normalizer Sequence[Prepend("▁"), Replace(" ", "▁")], no pre-tokenizer, decoder
  Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0)], post-processor "<s> $A";
- spm-metaspace-first: pre-tokenizer Metaspace(prepend_scheme "first", split true), decoder
  Sequence[ByteFallback, Metaspace("first")];
- spm-metaspace-always-nosplit: pre-tokenizer Metaspace(prepend_scheme "always", split false),
  decoder Metaspace("always") (byte tokens stay literal when decoding).

For each: Tests/Fixtures/tokenizers/spm-<name>.tokenizer.json and spm-<name>.cases.json (text, ids
with add_special_tokens false and true, decode with and without special tokens).

    python3 scripts/gen-spm-tokenizer-fixtures.py   (HF tokenizers 0.23.3)
"""
import glob
import json
import os

import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/Fixtures/tokenizers")
SPECIALS = ["<unk>", "<s>", "</s>"]
BYTES = [f"<0x{b:02X}>" for b in range(256)]

TEXTS = [
    "", " ", "  ", "   ", "\n", "\n\n", "\t", " \t\n ", "a", " a", "a ", "  a  b   c  ",
    "Hello world", " Hello world", "Hello  world ", "Hello\nworld", "Hello\n\n  world\t!",
    "The GNU General Public License is a free, copyleft license for software and other kinds of works.",
    "Permission is hereby granted, free of charge, to any person obtaining a copy",
    "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.",
    "Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>",
    "Äpfel und Birnen — naïve café", "東京で会いましょう", "我想在apple工作1314151天～", "Emoji: 🦙😁👩‍💻!",
    "Ελληνικά русский עברית", "e\u0301 vs \u00e9", "\u00a0non-breaking\u3000ideographic",
    "<s>", "<s>Hello", "Hello<s>", "Hello <s> world", "Hello<s>world</s>", "<s> <s>  </s>",
    "<unk>x<unk>", "</s>\n<s>[INST] Hi [/INST]", "a<s>b c</s> d", "▁already▁marked", "▁", " ▁ ",
    "x" * 80, "word " * 30, "'s 've 're n't", "1234567890 3.14159", "<0x41> is not a byte",
]


def train():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=340, min_frequency=2, special_tokens=SPECIALS, limit_alphabet=80,
                                  show_progress=False)
    files = sorted(p for p in glob.glob("/usr/share/common-licenses/*") if os.path.isfile(p))
    tok.train(files, trainer)
    model = json.loads(tok.to_str())["model"]
    learned = [t for t, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1]) if t not in SPECIALS]
    vocab = {t: i for i, t in enumerate(SPECIALS + BYTES + [t for t in learned if t not in BYTES])}
    return vocab, model["merges"]


def tokenizer_json(vocab, merges, normalizer, pre_tokenizer, decoder, post_processor):
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t in SPECIALS]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
        "decoder": decoder,
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


def main():
    vocab, merges = train()
    llama2_decoder = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    bos_template = {"type": "TemplateProcessing",
                    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                    "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                             {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                    "special_tokens": {"<s>": {"id": "<s>", "ids": [vocab["<s>"]], "tokens": ["<s>"]}}}
    variants = {
        "llama2": tokenizer_json(
            vocab, merges,
            {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
            None, llama2_decoder, bos_template),
        "metaspace-first": tokenizer_json(
            vocab, merges, None,
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
            {"type": "Sequence", "decoders": [
                {"type": "ByteFallback"},
                {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}]},
            None),
        "metaspace-always-nosplit": tokenizer_json(
            vocab, merges, None,
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": False},
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": False},
            None),
    }
    for name, spec in variants.items():
        text = json.dumps(spec, ensure_ascii=False, indent=1)
        tok = Tokenizer.from_str(text)
        cases = []
        for t in TEXTS:
            ids = tok.encode(t, add_special_tokens=False).ids
            cases.append({
                "text": t, "ids": ids, "ids_add_special": tok.encode(t, add_special_tokens=True).ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
            })
        with open(os.path.join(OUT, f"spm-{name}.tokenizer.json"), "w") as f:
            f.write(text)
        with open(os.path.join(OUT, f"spm-{name}.cases.json"), "w") as f:
            json.dump({"generator": f"tokenizers {tokenizers.__version__}", "cases": cases}, f, ensure_ascii=False, indent=1)
        print(f"spm-{name}: {len(vocab)} tokens, {len(merges)} merges, {len(cases)} cases")


if __name__ == "__main__":
    main()
