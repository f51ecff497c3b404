"""Perplexity, log-likelihood scoring and multiple choice through the Python bindings."""
import json

import numpy as np
import pytest

import loom
from conftest import FIXTURES, read_safetensors

TINY = FIXTURES / "tiny-llama"


def test_smollm2_perplexity(smollm2_full):
    ref = json.loads((FIXTURES / "real" / "smollm2-refs.json").read_text())["perplexity"]
    seen = []
    r = smollm2_full.perplexity(ref["ids"], ctx=512, n_threads=2, progress=seen.append)
    rel = abs(r.ppl - ref["ppl"]) / ref["ppl"]
    print(f"SmolLM2 Q4_1 perplexity via Python: {r.ppl:.4f} vs fp32 {ref['ppl']:.4f} ({rel * 100:.3f}%), "
          f"{r.n_tokens} tokens")
    assert r.n_tokens == 511 and rel <= 0.005
    assert float(r) == r.ppl and r.nll_sum == pytest.approx(np.log(r.ppl) * 511)
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    with pytest.raises(loom.LoomError) as e:
        smollm2_full.perplexity(ref["ids"][:64], progress=lambda f: False)
    assert e.value.status == loom._native.LOOM_ERR_ABORTED
    with pytest.raises(ZeroDivisionError):
        smollm2_full.perplexity(ref["ids"][:64], progress=lambda f: 1 / 0)


def test_tiny_llama_perplexity_and_score_against_logits():
    prompts = json.loads((TINY / "refs.json").read_text())["prompts"]
    refs = read_safetensors(TINY / "refs.safetensors")
    with loom.Model(TINY / "model.f32.gguf") as m:
        for i, p in enumerate(prompts):
            ids = p["ids"]
            logits = refs[f"prompt{i}.logits"].astype(np.float64)
            logp = logits - logits.max(axis=1, keepdims=True)
            logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
            per_token = np.array([logp[t - 1, ids[t]] for t in range(1, len(ids))])
            expected = float(np.exp(-per_token.mean()))
            assert m.perplexity(ids).ppl == pytest.approx(expected, rel=1e-5)
            # Sliding windows score every token once.
            assert m.perplexity(ids, ctx=8, stride=3).n_tokens == len(ids) - 1
            assert m.perplexity(ids, ctx=8).n_tokens == len(ids) - 1 - (len(ids) - 1) // 8
            for split in (1, 5, len(ids) // 2, len(ids) - 1):
                r = m.score(ids[:split], ids[split:])
                want = per_token[split - 1:]
                assert r.token_logprobs == pytest.approx(want.tolist(), abs=1e-4)
                assert r.logprob == pytest.approx(want.sum(), abs=1e-3)
                greedy = all(int(np.argmax(logits[t - 1])) == ids[t] for t in range(split, len(ids)))
                assert r.is_greedy == greedy
        with pytest.raises(loom.LoomError):
            m.score([], [1, 2])
        with pytest.raises(loom.LoomError):
            m.perplexity([5])
        with pytest.raises(TypeError):
            m.score("text", [1, 2])


def test_encode_pair_follows_lm_eval(smollm2):
    tok = loom.Tokenizer(TINY / "tokenizer.json")
    from loom.evaluation import encode_pair
    a = encode_pair(tok, "The licenses for ", "most software")
    b = encode_pair(tok, "The licenses for", " most software")
    assert a == b
    assert a[0] + a[1] == tok.tokenize("The licenses for most software")
    with pytest.raises(loom.LoomError):   # no BOS/EOS to stand for an empty context
        encode_pair(tok, "", "Hello")
    t = smollm2.tokenizer
    bos = t.bos_token_id if t.bos_token_id is not None else t.eos_token_id
    assert encode_pair(t, "", "Hello") == ([bos], t.tokenize("Hello"))


def test_smollm2_multiple_choice(smollm2_full):
    items = [
        {"question": "The capital of France is", "choices": ["Paris", "London", "Berlin", "Madrid"], "answer": 0},
        {"question": "Monday, Tuesday, Wednesday,", "choices": ["Sunday", "Thursday", "Friday"], "answer": "Thursday"},
        ("One, two, three, four,", ["ten", "seven", "five", "nine"], 2),
        {"query": "Cats say meow and dogs say", "endings": ["moo", "quack", "woof"], "label": "C"},
        {"question": "Ice is frozen", "choices": ["fire", "water", "sand"]},
    ]
    r = loom.evaluate_multiple_choice(smollm2_full, items)
    print(f"SmolLM2 multiple choice sanity: acc {r['acc']}, acc_norm {r['acc_norm']} over {r['answered']} items")
    assert r["n"] == 5 and r["answered"] == 4
    assert r["results"][4]["answer"] is None and r["results"][4]["prediction"] == 1
    assert r["acc"] >= 0.75
    first = r["results"][0]
    assert first["logprobs"][0] == pytest.approx(smollm2_full.score("The capital of France is", " Paris").logprob, abs=1e-4)
    with pytest.raises(loom.LoomError):
        loom.evaluate_multiple_choice(smollm2_full, [{"question": "q", "choices": ["a"], "answer": 3}])
