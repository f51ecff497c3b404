"""LoRA adapters at run time through the bindings, against PEFT (tiny-llama/peft-refs.*)."""
import json
import os
import subprocess
from pathlib import Path

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


def test_adapter_kinds():
    assert [loom.Adapter(TINY / d).kind for d in ("lora", "lora/adapter.f32.gguf", "ia3", "prompt-tuning", "prefix-tuning")] \
        == ["lora", "lora", "ia3", "prompt_tuning", "prefix_tuning"]


@pytest.mark.parametrize("base", ["", "model.f32.gguf"])
def test_prompt_and_prefix_tuning_match_peft(base):
    refs = json.loads((TINY / "peft-refs.json").read_text())
    tensors = read_safetensors(TINY / "peft-refs.safetensors")
    with loom.Model(TINY / base if base else TINY) as m:
        for name, folder, virtual in [("prompt_tuning", "prompt-tuning", 4), ("prefix_tuning", "prefix-tuning", 0)]:
            want = tensors[name + ".logits"][virtual:]        # prompt tuning's refs start with the 4 virtual rows
            m.set_adapters([m.load_adapter(TINY / folder)])
            d = float(np.max(np.abs(m.logits(refs[name]["ids"]) - want)))
            print(f"{name} on {base or 'HF'}: max |dlogit| {d:.3g}")
            assert d <= 1e-4
        m.set_adapters([])


def _tmp_gguf(tmp_path):
    return tmp_path / "merged.gguf"


@pytest.mark.parametrize("base", ["", "model.f32.gguf", "model.q8_0.gguf"])
def test_merge_unmerge_save(base, tmp_path):
    refs = json.loads((TINY / "peft-refs.json").read_text())
    ids = refs["lora"]["ids"]
    merged_ref = read_safetensors(TINY / "peft-refs.safetensors")["merged.logits"]
    with loom.Model(TINY / base if base else TINY) as m:
        a = m.load_adapter(TINY / "lora")
        plain = m.logits(ids)
        m.set_adapters([a])
        runtime = m.logits(ids)
        m.set_adapters([])
        with m.new_context(n_ctx=16):
            pass
        ctx = m.new_context(n_ctx=16)
        with pytest.raises(loom.LoomError, match="open context"):
            m.merge_lora(a)
        ctx.close()
        m.merge_lora(a)
        merged = m.logits(ids)
        d_runtime = float(np.max(np.abs(merged - runtime)))
        d_ref = float(np.max(np.abs(merged - merged_ref)))
        print(f"merged into {base or 'HF'}: max |dlogit| vs runtime {d_runtime:.3g}, vs PEFT merged {d_ref:.3g}")
        assert d_runtime <= 1e-4
        if base != "model.q8_0.gguf":
            assert d_ref <= 1e-4
        m.save(_tmp_gguf(tmp_path))            # an HF folder is converted, with the merged weights
        with loom.Model(_tmp_gguf(tmp_path)) as saved:
            assert float(np.max(np.abs(saved.logits(ids) - merged))) <= (0.0 if base else 1e-4)
        m.unmerge_lora(a)
        assert float(np.max(np.abs(m.logits(ids) - plain))) <= 1e-5
        with pytest.raises(loom.LoomError):
            m.unmerge_lora(a)
        with pytest.raises(loom.LoomError):
            m.merge_lora(m.load_adapter(TINY / "prompt-tuning"))


LLAMACPP_PYTHON = Path(os.environ.get("LOOM_CACHE", Path.home() / ".cache" / "loom")) / "llamacpp-venv" / "bin" / "python"
LLAMACPP_LOGITS = """
import sys, json, numpy as np
from llama_cpp import Llama
ids = json.loads(sys.argv[2])
llm = Llama(model_path=sys.argv[1], n_ctx=64, n_batch=64, logits_all=True, type_k=0, type_v=0, verbose=False, n_threads=2)
llm.eval(ids)
np.save(sys.argv[3], np.array(llm.scores[:len(ids)], dtype=np.float32))
"""


def test_merged_export_loads_in_llamacpp(tmp_path):
    """The exported merged GGUF in llama.cpp (f32 KV cache) within 1e-3 of PEFT's merged logits.
    Needs the benchmark build of llama.cpp (../shared/notes/llamacpp-baseline.md); never in CI."""
    if not LLAMACPP_PYTHON.exists():
        pytest.skip(f"llama.cpp benchmark build absent ({LLAMACPP_PYTHON}): cross-check skipped")
    refs = json.loads((TINY / "peft-refs.json").read_text())
    ids = refs["lora"]["ids"]
    want = read_safetensors(TINY / "peft-refs.safetensors")["merged.logits"]
    with loom.Model(TINY / "model.f32.gguf") as m:
        m.merge_lora(m.load_adapter(TINY / "lora"))
        m.save(_tmp_gguf(tmp_path))
    out = tmp_path / "scores.npy"
    subprocess.run([str(LLAMACPP_PYTHON), "-c", LLAMACPP_LOGITS, str(_tmp_gguf(tmp_path)), json.dumps(ids), str(out)],
                   check=True, timeout=300)
    d = float(np.max(np.abs(np.load(out) - want)))
    print(f"llama.cpp on the merged export: max |dlogit| vs PEFT merged {d:.3g}")
    assert d <= 1e-3
