"""Tokenizer.encode_batch: truncation and padding as HF tokenizers' encode_batch
(Tests/Fixtures/tokenizers/batch-encoding-refs.json, made by scripts/gen-batch-encoding-refs.py)."""
import json

import pytest

import loom
from conftest import FIXTURES

REFS = json.loads((FIXTURES / "tokenizers" / "batch-encoding-refs.json").read_text())


def kwargs_for(setting):
    kw = {"padding": False, "truncation": False}
    if "truncation" in setting:
        kw["truncation"] = True
        kw["max_length"] = setting["truncation"]["max_length"]
        kw["truncation_side"] = setting["truncation"].get("direction", "right")
    if "padding" in setting:
        p = setting["padding"]
        if "length" in p:
            kw["padding"] = "max_length"
            kw["max_length"] = p["length"]
        else:
            kw["padding"] = "longest"
        kw["padding_side"] = p.get("direction", "right")
        kw["pad_to_multiple_of"] = p.get("pad_to_multiple_of")
        kw["pad_id"] = 0
    return kw


@pytest.mark.parametrize("name", ["tiny-llama", "tiny-bert"])
def test_matches_hf_encode_batch(name):
    tok = loom.Tokenizer(FIXTURES / "tokenizers" / name / "tokenizer.json")
    checked = 0
    for case in REFS[name]:
        for threads in (1, 2):
            got = tok.encode_batch(REFS["texts"], add_special=case["add_special"], n_threads=threads,
                                   **kwargs_for(case["setting"]))
            ids = [list(map(int, r)) for r in got["input_ids"]]
            mask = [list(map(int, r)) for r in got["attention_mask"]]
            assert ids == case["ids"], (case["setting"], case["add_special"])
            assert mask == case["attention_mask"], (case["setting"], case["add_special"])
            checked += 1
    print(f"encode_batch {name}: {checked}/{checked} settings identical to HF")


def test_tokenize_ignores_tokenizer_json_padding(tmp_path):
    src = json.loads((FIXTURES / "tokenizers" / "tiny-llama" / "tokenizer.json").read_text())
    src["padding"] = {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": None,
                      "pad_id": 0, "pad_type_id": 0, "pad_token": "<unk>"}
    src["truncation"] = {"direction": "Right", "max_length": 3, "strategy": "LongestFirst", "stride": 0}
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(src))
    tok = loom.Tokenizer(path)
    text = "Grant of Copyright License. Subject to the terms"
    ids = tok.tokenize(text)
    assert len(ids) > 3  # neither truncated nor padded
    batch = tok.encode_batch([text, "a"], padding=None, truncation=None)
    assert batch["input_ids"].shape == (2, 16)
    assert list(batch["input_ids"][0][:3]) == ids[:3] and list(batch["attention_mask"][0]) == [1] * 3 + [0] * 13


def test_bad_arguments_raise():
    tok = loom.Tokenizer(FIXTURES / "tokenizers" / "tiny-llama" / "tokenizer.json")
    with pytest.raises(TypeError):
        tok.encode_batch("not a list")
    with pytest.raises(ValueError):
        tok.encode_batch(["a"], padding="max_length")
    with pytest.raises(loom.LoomError):
        tok.encode_batch(["a"], padding=True, pad_id=10 ** 6)
