"""Masked language models (BERT with its MLM head): logits and fill-mask, as transformers' pipeline."""
import ctypes

import numpy as np

from . import _native
from .embedding import _float_call
from .errors import LoomError, check


def is_encoder(model):
    """Whether the model runs as an encoder (BERT) rather than through contexts."""
    known = getattr(model, "_is_encoder", None)
    if known is None:
        # Models are immutable: ask once (for decoders the probe's failure message is set only once).
        lib = _native.lib()
        known = hasattr(lib, "loom_model_n_embd") and lib.loom_model_n_embd(model._h()) > 0
        model._is_encoder = known
    return known


def _require_abi(lib):
    if not hasattr(lib, "loom_mlm_logits"):
        raise LoomError(-4, "this libloom.so predates loom_mlm_logits; rebuild it")


def logits(model, ids):
    """The MLM head's logits of one sequence of ids: float32 numpy (len(ids), n_vocab)."""
    if isinstance(ids, np.ndarray):
        ids = ids.tolist()
    flat = []
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -(2 ** 31) <= int(i) < 2 ** 31:
            raise TypeError("token ids must be 32-bit ints")
        flat.append(int(i))
    lib = _native.lib()
    _require_abi(lib)
    h = model._h()
    c_ids = (ctypes.c_int32 * max(1, len(flat)))(*flat)
    out = _float_call(lambda b, c: lib.loom_mlm_logits(h, c_ids, len(flat), b, c), 0)
    if not flat:
        return out.reshape(0, 0)
    return out.reshape(len(flat), -1).copy()


def mask_token_id(model):
    """The tokenizer's mask token id, or None."""
    lib = _native.lib()
    _require_abi(lib)
    v = lib.loom_tokenizer_mask(model.tokenizer._h())
    return None if v < 0 else v


def fill_mask(model, text, top_k=5):
    """For each mask token in `text`, the top_k candidates as transformers' fill-mask pipeline gives
    them: {"token", "token_str", "score" (softmax probability), "sequence"}, best first. One mask:
    a list of dicts; several: a list of such lists, in text order."""
    if not isinstance(text, str):
        raise TypeError("fill_mask(text): text must be a str")
    top_k = int(top_k)
    if top_k < 1:
        raise LoomError(-1, f"top_k must be at least 1, got {top_k}")
    mask = mask_token_id(model)
    if mask is None:
        raise LoomError(-4, "the tokenizer has no mask token")
    ids = model.tokenize(text, add_special=True, parse_special=True)
    positions = [i for i, t in enumerate(ids) if t == mask]
    if not positions:
        raise LoomError(-1, f"the text has no mask token ({model.tokenizer.token_text(mask)!r})")
    scores = logits(model, ids)
    single = len(positions) == 1
    results = []
    for pos in positions:
        row = scores[pos].astype(np.float64)
        probs = np.exp(row - row.max())
        probs /= probs.sum()
        k = min(top_k, len(probs))
        best = np.argsort(-probs, kind="stable")[:k]  # ties: the lower id first
        candidates = []
        for token in best.tolist():
            filled = list(ids)
            filled[pos] = token
            candidates.append({
                "token": token,
                "token_str": model.detokenize([token], render_special=False),
                "score": float(probs[token]),
                # transformers keeps the special tokens (the other masks) in the text with several masks
                "sequence": model.detokenize(filled, render_special=not single),
            })
        results.append(candidates)
    return results[0] if single else results
