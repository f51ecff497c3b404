"""Encoder models (BERT, sentence-transformers): embeddings of texts, hidden states of token ids."""
import ctypes

import numpy as np

from . import _native
from .errors import LoomError, check


def _float_call(fill, initial):
    """A float-buffer ABI call under the buffer convention (retried once with the size asked for)."""
    lib = _native.lib()
    cap = max(1, initial)
    for _ in range(3):
        buf = np.empty(cap, dtype=np.float32)
        n = fill(buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), cap)
        if n >= 0:
            return buf[:n]
        if lib.loom_last_status() != _native.LOOM_ERR_BUFFER_TOO_SMALL:
            check(n)
        cap = -n
    raise LoomError(_native.LOOM_ERR_BUFFER_TOO_SMALL, "the required buffer size kept changing")


def _require_abi(lib):
    if not hasattr(lib, "loom_embed"):
        raise LoomError(-4, "this libloom.so predates loom_embed; rebuild it")


def n_embd(model):
    lib = _native.lib()
    _require_abi(lib)
    return check(lib.loom_model_n_embd(model._h()))


def embed(model, texts, normalize=True, pooling="default", max_length=0, batch_size=32, n_threads=None,
          precision="f32"):
    """One embedding per text: float32 numpy (n, dim). normalize: True/False, or None for the model's
    setting; pooling: "default" (the model's), "mean", "cls", "max"; precision of the weight matmuls:
    "f32" (exact), "bf16" or "f16" (the f32 path where the CPU lacks those kernels)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("embed(texts): texts must be a list of strings")
    encoded = [t.encode("utf-8") if isinstance(t, str) else t for t in texts]
    if not all(isinstance(t, bytes) for t in encoded):
        raise TypeError("embed(texts): texts must be strings")
    if pooling not in _native.LOOM_POOLING or pooling == "none":
        raise LoomError(-1, f"pooling must be one of default, mean, cls, max; got {pooling!r}")
    if precision not in _native.LOOM_PRECISION:
        raise LoomError(-1, f"precision must be one of f32, bf16, f16; got {precision!r}")
    lib = _native.lib()
    _require_abi(lib)
    dim = check(lib.loom_model_n_embd(model._h()))
    params = lib.loom_embed_default_params()
    if params.size < ctypes.sizeof(_native.EmbedParams) and precision != "f32":
        raise LoomError(-4, "this libloom.so predates embedding precision; rebuild it")
    params.pooling = _native.LOOM_POOLING[pooling]
    params.normalize = -1 if normalize is None else int(bool(normalize))
    params.max_length = int(max_length)
    params.n_batch = int(batch_size)
    params.n_threads = 0 if n_threads is None else int(n_threads)
    params.precision = _native.LOOM_PRECISION[precision]
    params.size = min(params.size, ctypes.sizeof(_native.EmbedParams))
    n = len(encoded)
    arr = (ctypes.c_char_p * max(1, n))(*encoded)
    lens = (ctypes.c_size_t * max(1, n))(*[len(t) for t in encoded])
    h = model._h()
    out = _float_call(lambda b, c: lib.loom_embed(h, arr, lens, n, ctypes.byref(params), b, c), n * dim)
    return out.reshape(n, dim).copy()


def encode(model, ids, n_threads=None):
    """Last hidden states. ids: one row (list of ints) -> float32 (len, dim); a list of rows of any
    lengths -> a list of such arrays (each row computed as if alone)."""
    if isinstance(ids, np.ndarray):
        ids = ids.tolist()
    ids = list(ids)
    single = not ids or not hasattr(ids[0], "__iter__")
    rows = [ids] if single else [list(r) for r in ids]
    flat = []
    offsets = [0]
    for r in rows:
        for i in r:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -(2 ** 31) <= int(i) < 2 ** 31:
                raise TypeError("token ids must be 32-bit ints")
            flat.append(int(i))
        offsets.append(len(flat))
    lib = _native.lib()
    _require_abi(lib)
    dim = check(lib.loom_model_n_embd(model._h()))
    c_ids = (ctypes.c_int32 * max(1, len(flat)))(*flat)
    c_offsets = (ctypes.c_size_t * len(offsets))(*offsets)
    h = model._h()
    threads = 0 if n_threads is None else int(n_threads)
    out = _float_call(lambda b, c: lib.loom_encode(h, c_ids, c_offsets, len(rows), threads, b, c), len(flat) * dim)
    out = out.reshape(len(flat), dim)
    parts = [out[offsets[i]:offsets[i + 1]].copy() for i in range(len(rows))]
    return parts[0] if single else parts
