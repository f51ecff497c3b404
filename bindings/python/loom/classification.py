"""Sequence classification and reward models (include/loom.h, "sequence classification"): logits of
texts, rewards, preference probabilities and best-of-n sampling ranked by a reward model."""
import ctypes

import numpy as np

from . import _native, generation
from .embedding import _float_call
from .errors import LoomError, call_buffer, check


def _require_abi(lib):
    if not hasattr(lib, "loom_classify"):
        raise LoomError(-4, "this libloom.so predates loom_classify; rebuild it")


def n_labels(model):
    lib = _native.lib()
    _require_abi(lib)
    return check(lib.loom_model_n_labels(model._h()))


def labels(model):
    """The head's label names (config.json id2label; "LABEL_<i>" where it names none)."""
    lib = _native.lib()
    h = model._h()
    return [call_buffer(lambda b, c, i=i: lib.loom_model_label(h, i, b, c)).decode("utf-8", "replace")
            for i in range(n_labels(model))]


def _is_id_rows(texts):
    return bool(texts) and all(isinstance(t, (list, tuple)) or (isinstance(t, np.ndarray) and t.ndim == 1)
                               for t in texts)


def classify(model, texts, max_length=0, add_special=True, parse_special=False, n_threads=None):
    """float32 numpy (n, n_labels) of raw logits. texts: a list of strings (tokenized with the model's
    special tokens unless add_special=False, truncated to max_length tokens, 0: the model's positions),
    or a list of token-id lists used as given."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("classify(texts): texts must be a list of strings (or of token-id lists)")
    texts = list(texts)
    lib = _native.lib()
    _require_abi(lib)
    h = model._h()
    k = check(lib.loom_model_n_labels(h))
    threads = 0 if n_threads is None else int(n_threads)
    if _is_id_rows(texts):
        flat, offsets = [], [0]
        for row in texts:
            for t in (row.tolist() if isinstance(row, np.ndarray) else row):
                if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or not -(2 ** 31) <= int(t) < 2 ** 31:
                    raise TypeError("token ids must be 32-bit ints")
                flat.append(int(t))
            offsets.append(len(flat))
        ids = (ctypes.c_int32 * max(1, len(flat)))(*flat)
        offs = (ctypes.c_size_t * len(offsets))(*offsets)
        n = len(texts)
        out = _float_call(lambda b, c: lib.loom_classify_tokens(h, ids, offs, n, threads, b, c), n * k)
        return out.reshape(n, k).copy()
    encoded = [t.encode("utf-8") if isinstance(t, str) else t for t in texts]
    if not all(isinstance(t, bytes) for t in encoded):
        raise TypeError("classify(texts): texts must be strings (or token-id lists)")
    params = lib.loom_classify_default_params()
    params.max_length = int(max_length)
    params.add_special = bool(add_special)
    params.parse_special = bool(parse_special)
    params.n_threads = threads
    n = len(encoded)
    arr = (ctypes.c_char_p * max(1, n))(*encoded)
    lens = (ctypes.c_size_t * max(1, n))(*[len(t) for t in encoded])
    out = _float_call(lambda b, c: lib.loom_classify(h, arr, lens, n, ctypes.byref(params), b, c), n * k)
    return out.reshape(n, k).copy()


def reward(model, texts, **kwargs):
    """float32 numpy (n,): the reward of each text (a one-label head's logit)."""
    k = n_labels(model)
    if k != 1:
        raise LoomError(-4, f"the model's head has {k} labels; a reward model has one (use classify)")
    return classify(model, texts, **kwargs)[:, 0]


def preference_probability(r_a, r_b):
    """Bradley-Terry: P(a preferred over b) = sigmoid(r_a - r_b), for numbers or numpy arrays."""
    d = np.asarray(r_a, dtype=np.float64) - np.asarray(r_b, dtype=np.float64)
    p = 0.5 * (1.0 + np.tanh(0.5 * d))   # the logistic function, without overflow
    return float(p) if p.ndim == 0 else p


def best_of(model, ctx, ids, n, reward_model, settings, prompt_text=None, reward_kwargs=None):
    """loom_generate_best_of on ctx: n candidates ranked by reward_model, best first, each with .reward."""
    lib = _native.lib()
    _require_abi(lib)
    if not hasattr(reward_model, "_h"):
        raise TypeError("reward_model must be a loom.Model with a one-label classification head")
    rp = lib.loom_classify_default_params()
    rp.parse_special = True
    for key, value in (reward_kwargs or {}).items():
        if key not in ("max_length", "add_special", "parse_special", "n_threads"):
            raise TypeError(f"unknown reward setting {key!r}")
        setattr(rp, key, 0 if value is None else value)
    arr = (ctypes.c_int32 * len(ids))(*ids)
    text = None if prompt_text is None else prompt_text.encode("utf-8")
    ctx_h, rm_h = ctx._h(), reward_model._h()

    def call(params, out):
        return lib.loom_generate_best_of(ctx_h, arr, len(ids), text, n, params, rm_h, ctypes.byref(rp), out)

    out = ctypes.c_void_p()
    status = call(ctypes.byref(settings.params), ctypes.byref(out))
    try:
        if settings.error:
            raise settings.error[0]
        check(status)
        results = generation._results(out)
        for i, r in enumerate(results):
            value = ctypes.c_float()
            check(lib.loom_generation_reward(out, i, ctypes.byref(value)))
            r.reward = value.value
        return results
    finally:
        if out:
            lib.loom_generation_free(out)


__all__ = ["classify", "reward", "labels", "n_labels", "preference_probability", "best_of"]
