#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizers/batch-encoding-refs.json: HF tokenizers' encode_batch with
truncation and padding, for Loom's batch-encoding tests. Needs `pip install tokenizers`."""
import json
import os

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures", "tokenizers")
TEXTS = [
    "Hello world",
    "A much longer sentence that will certainly need to be truncated somewhere in the middle.",
    "",
    "Short.",
    "Grant of Copyright License. Subject to the terms and conditions of this License",
]
SETTINGS = [
    {"name": "none"},
    {"name": "longest", "padding": {}},
    {"name": "longest-left", "padding": {"direction": "left"}},
    {"name": "fixed-24", "padding": {"length": 24}},
    {"name": "truncate-8", "truncation": {"max_length": 8}},
    {"name": "truncate-8-left", "truncation": {"max_length": 8, "direction": "left"}},
    {"name": "truncate-8-longest-multiple-4", "truncation": {"max_length": 8}, "padding": {"pad_to_multiple_of": 4}},
    {"name": "truncate-1", "truncation": {"max_length": 1}},
]


def run(path, pad_id, pad_token):
    out = []
    for add_special in (False, True):
        for s in SETTINGS:
            tok = Tokenizer.from_file(path)
            tok.no_padding()
            tok.no_truncation()
            if "truncation" in s:
                tok.enable_truncation(**s["truncation"])
            if "padding" in s:
                tok.enable_padding(pad_id=pad_id, pad_token=pad_token, **s["padding"])
            enc = tok.encode_batch(TEXTS, add_special_tokens=add_special)
            out.append({"setting": s, "add_special": add_special,
                        "ids": [e.ids for e in enc], "attention_mask": [e.attention_mask for e in enc]})
    return out


refs = {
    "texts": TEXTS,
    "tiny-llama": run(os.path.join(FIX, "tiny-llama", "tokenizer.json"), 0, "<unk>"),
    "tiny-bert": run(os.path.join(FIX, "tiny-bert", "tokenizer.json"), 0, "[PAD]"),
}
with open(os.path.join(FIX, "batch-encoding-refs.json"), "w") as f:
    json.dump(refs, f, ensure_ascii=False)
print("wrote batch-encoding-refs.json")
