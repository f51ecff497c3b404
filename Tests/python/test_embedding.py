"""Encoder models through the C ABI: Model.embed / Model.encode against HF and sentence-transformers."""
import json

import numpy as np
import pytest

import loom
from conftest import CACHE, FIXTURES, need, read_safetensors

TINY_BERT = FIXTURES / "tiny-bert"
MINILM = CACHE / "models" / "all-MiniLM-L6-v2"


def test_tiny_bert_hidden_states():
    refs = read_safetensors(TINY_BERT / "refs.safetensors")
    sentences = json.loads((TINY_BERT / "refs.json").read_text())["sentences"]
    for path in (TINY_BERT, TINY_BERT / "model.f32.gguf"):
        with loom.Model(str(path)) as m:
            assert m.n_embd == 64
            rows = m.encode([s["masked_ids"] for s in sentences], n_threads=2)
            for i, got in enumerate(rows):
                assert np.abs(got - refs[f"sentence{i}.last_hidden_state"]).max() <= 1e-4
            one = m.encode(sentences[1]["masked_ids"])
            assert np.abs(one - rows[1]).max() <= 1e-5


def test_minilm_embeddings():
    refs = json.loads((FIXTURES / "real" / "minilm-refs.json").read_text())
    expected = read_safetensors(FIXTURES / "real" / "minilm-refs.safetensors")["embeddings"]
    texts = [s["text"] for s in refs["sentences"]]
    with loom.Model(str(need(MINILM))) as m:
        got = m.embed(texts, n_threads=2)
        assert got.shape == (len(texts), 384) and got.dtype == np.float32
        assert (got * expected).sum(axis=1).min() >= 0.9999
        raw = m.embed(texts[:2], normalize=False)
        assert np.linalg.norm(raw[0]) != pytest.approx(1.0)


def test_bad_inputs():
    with loom.Model(str(TINY_BERT)) as m:
        with pytest.raises(loom.LoomError):
            m.encode([2, 999999, 3])
        with pytest.raises(loom.LoomError):
            m.encode([])
        with pytest.raises(loom.LoomError):
            m.embed(["x"], pooling="sideways")
    with loom.Model(str(FIXTURES / "tiny-llama" / "model.f32.gguf")) as m:
        with pytest.raises(loom.LoomError):
            m.embed(["not an encoder"])
