"""Masked-LM head through the C ABI: Model.logits on BERT and Model.fill_mask against HF references."""
import json

import numpy as np
import pytest

import loom
from conftest import CACHE, FIXTURES, need, read_safetensors

TINY_BERT = FIXTURES / "tiny-bert"
MINILM = CACHE / "models" / "all-MiniLM-L6-v2"


def _sentences():
    return json.loads((TINY_BERT / "refs.json").read_text())["sentences"]


def _softmax(row):
    row = row.astype(np.float64)
    e = np.exp(row - row.max())
    return e / e.sum()


def test_tiny_bert_mlm_logits():
    refs = read_safetensors(TINY_BERT / "refs.safetensors")
    worst = 0.0
    with loom.Model(str(TINY_BERT)) as m:
        for i, s in enumerate(_sentences()):
            got = m.logits(s["masked_ids"])
            want = refs[f"sentence{i}.mlm_logits"]
            assert got.shape == want.shape == (len(s["masked_ids"]), 512) and got.dtype == np.float32
            worst = max(worst, float(np.abs(got - want).max()))
    print(f"tiny-bert Model.logits vs HF BertForMaskedLM: max|Δ| = {worst:.3g}")
    assert worst <= 1e-4


def test_fill_mask_matches_reference_softmax():
    refs = read_safetensors(TINY_BERT / "refs.safetensors")
    with loom.Model(str(TINY_BERT)) as m:
        mask = m.tokenizer.token_text(4)
        assert mask == "[MASK]"
        for i, s in enumerate(_sentences()):
            ids, pos = s["masked_ids"], s["mask_position"]
            # The sentence with its masked word spelled "[MASK]": tokenizes back to the reference ids.
            words = [m.tokenizer.token_text(t) for t in ids[1:-1]]
            text = m.detokenize(ids[1:-1], render_special=True)
            assert m.tokenize(text, add_special=True, parse_special=True) == ids, (text, words)
            got = m.fill_mask(text, top_k=5)
            probs = _softmax(refs[f"sentence{i}.mlm_logits"][pos])
            best = np.argsort(-probs, kind="stable")[:5]
            assert [c["token"] for c in got] == best.tolist()
            scores = [c["score"] for c in got]
            assert scores == sorted(scores, reverse=True)
            assert np.abs(np.array(scores) - probs[best]).max() <= 1e-5
            for c in got:
                assert c["token_str"] == m.detokenize([c["token"]], render_special=False)
                filled = list(ids)
                filled[pos] = c["token"]
                assert c["sequence"] == m.detokenize(filled, render_special=False)
                assert "[MASK]" not in c["sequence"]
            assert len(m.fill_mask(text, top_k=1)) == 1
            assert len(m.fill_mask(text, top_k=10_000)) == 512


def test_fill_mask_several_masks():
    with loom.Model(str(TINY_BERT)) as m:
        out = m.fill_mask("the [MASK] is [MASK] .", top_k=3)
        assert len(out) == 2 and all(len(c) == 3 for c in out)
        # With several masks the other mask stays in the text, as transformers does.
        assert all("[MASK]" in c["sequence"] for cands in out for c in cands)


def test_fill_mask_errors():
    with loom.Model(str(TINY_BERT)) as m:
        with pytest.raises((loom.LoomError, ValueError)):
            m.fill_mask("no mask here")
        with pytest.raises((loom.LoomError, ValueError)):
            m.fill_mask("the [MASK] .", top_k=0)
        with pytest.raises(loom.LoomError):
            m.logits([2, 512, 3])
        with pytest.raises(loom.LoomError):
            m.logits([])
        with pytest.raises(loom.LoomError):
            m.logits([5] * 129)
    # llama.cpp's converter drops the head.
    with loom.Model(str(TINY_BERT / "model.f32.gguf")) as m:
        with pytest.raises(loom.LoomError):
            m.logits([2, 4, 3])
        with pytest.raises(loom.LoomError):
            m.fill_mask("the [MASK] .")


def test_minilm_has_no_head():
    with loom.Model(str(need(MINILM))) as m:
        with pytest.raises(loom.LoomError):
            m.logits([101, 103, 102])
        with pytest.raises(loom.LoomError):
            m.fill_mask("a [MASK] sleeps.")
