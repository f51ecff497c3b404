"""LoRA adapters at run time through the bindings, against PEFT (tiny-llama/peft-refs.*)."""
import json

import numpy as np
import pytest

import loom
from conftest import FIXTURES, read_safetensors

TINY = FIXTURES / "tiny-llama"


@pytest.mark.parametrize("base,adapter", [("", "lora"), ("model.f32.gguf", "lora"),
                                          ("model.f32.gguf", "lora/adapter.f32.gguf")])
def test_lora_logits_and_greedy_match_peft(base, adapter):
    refs = json.loads((TINY / "peft-refs.json").read_text())
    want = read_safetensors(TINY / "peft-refs.safetensors")["lora.logits"]
    half = read_safetensors(TINY / "peft-extra-refs.safetensors")["lora_scale_0.5.logits"]
    ids = refs["lora"]["ids"]
    with loom.Model(TINY / base if base else TINY) as m:
        a = m.load_adapter(TINY / adapter)
        plain = m.logits(ids)
        m.set_adapters([a])
        d = float(np.max(np.abs(m.logits(ids) - want)))
        print(f"LoRA {adapter} on {base or 'HF'}: max |dlogit| {d:.3g}")
        assert d <= 1e-4
        assert m.generate(ids, max_new_tokens=16).ids == refs["lora"]["greedy"]
        m.set_adapters([(a, 0.5)])
        assert float(np.max(np.abs(m.logits(ids) - half))) <= 1e-4
        ctx = m.new_context(n_ctx=64)
        ctx.decode(ids, logits_all=True)
        assert np.array_equal(ctx.all_logits(), plain)          # other contexts are unaffected
        m.set_adapters([])
        assert np.array_equal(m.logits(ids), plain)


@pytest.mark.parametrize("base", ["", "model.f32.gguf"])
def test_ia3_matches_peft(base):
    refs = json.loads((TINY / "peft-refs.json").read_text())
    want = read_safetensors(TINY / "peft-extra-refs.safetensors")["ia3.logits"]
    with loom.Model(TINY / base if base else TINY) as m:
        m.set_adapters([m.load_adapter(TINY / "ia3")])
        assert float(np.max(np.abs(m.logits(refs["ia3"]["ids"]) - want))) <= 1e-4


def test_bad_adapters():
    with pytest.raises(loom.LoomError):
        loom.Adapter(TINY / "model.f32.gguf")
    with pytest.raises(loom.LoomError):
        loom.Adapter(TINY / "missing")
    with loom.Model(FIXTURES / "tiny-gpt2") as g, g.new_context(n_ctx=16) as ctx:
        with pytest.raises(loom.LoomError):
            ctx.set_adapters([loom.Adapter(TINY / "lora")])
    with loom.Model(TINY) as m, m.new_context(n_ctx=16) as ctx:
        with pytest.raises(TypeError):
            ctx.set_adapters(["nope"])
