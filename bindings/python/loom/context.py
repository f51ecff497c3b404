import ctypes

import numpy as np

from . import _native
from ._handle import Handle
from .errors import LoomError, check


class Context(Handle):
    """Runs a model: KV cache, threads and the last logits. Use from one thread at a time.

    Made by Model.new_context(n_ctx=0, n_batch=512, n_threads=None, kv_type="f32"); kv_type "f16"
    halves the KV cache's memory."""

    _kind = "context"

    def __init__(self, model, n_ctx=0, n_batch=512, n_threads=None, kv_type="f32"):
        lib = _native.lib()
        params = lib.loom_context_default_params()
        params.n_ctx = _uint("n_ctx", n_ctx)
        params.n_batch = _uint("n_batch", n_batch)
        if n_threads is not None:
            if isinstance(n_threads, bool) or not isinstance(n_threads, int):
                raise TypeError("n_threads must be an int")
            params.n_threads = n_threads
        if kv_type not in ("f32", "f16"):
            raise LoomError(-1, f"kv_type must be 'f32' or 'f16', got {kv_type!r}")
        params.type_kv = 1 if kv_type == "f16" else 0
        handle = ctypes.c_void_p()
        check(lib.loom_context_new(model._h(), ctypes.byref(params), ctypes.byref(handle)))
        self._handle = handle
        self.model = model  # the model must outlive the context

    def _release(self, handle):
        _native.lib().loom_context_free(handle)

    def decode(self, ids, start_pos=None, logits_all=False):
        """Runs `ids` from start_pos (default: the current position)."""
        arr = _ids(ids)
        if len(arr) == 0:
            raise LoomError(-1, "decode needs at least one token")
        pos = -1 if start_pos is None else int(start_pos)
        check(_native.lib().loom_context_decode(self._h(), arr, len(arr), pos, bool(logits_all)))

    def logits(self, row=-1):
        """Copy of one row of the last decode's logits (row -1: the last kept row) as float32 numpy."""
        lib = _native.lib()
        n = check(lib.loom_context_n_logits(self._h()))
        if row < 0:
            row += n
        ptr = ctypes.POINTER(ctypes.c_float)()
        check(lib.loom_context_logits(self._h(), row, ctypes.byref(ptr)))
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

    def all_logits(self):
        """All rows kept by the last decode, shape (rows, n_vocab)."""
        lib = _native.lib()
        n = check(lib.loom_context_n_logits(self._h()))
        if n == 0:
            return np.zeros((0, self.n_vocab), dtype=np.float32)
        ptr = ctypes.POINTER(ctypes.c_float)()
        check(lib.loom_context_logits(self._h(), 0, ctypes.byref(ptr)))
        return np.ctypeslib.as_array(ptr, shape=(n, self.n_vocab)).copy()

    def generate(self, ids, max_new_tokens=256, stop=None, stream=False, **sampling):
        """Generates from prompt ids on this context (reusing the cached prefix they share with it);
        see Model.generate for the keywords."""
        from .generation import run_generate, sampling_params, stream_generate
        ids = [int(i) for i in ids]
        params = sampling_params(**sampling)
        if stream:
            return stream_generate(self._h(), ids, max_new_tokens, params, stop, keepalive=self)
        return run_generate(self._h(), ids, max_new_tokens, params, stop)

    def clear(self):
        check(_native.lib().loom_context_clear(self._h()))

    def truncate(self, pos):
        check(_native.lib().loom_context_truncate(self._h(), int(pos)))

    @property
    def position(self):
        return check(_native.lib().loom_context_position(self._h()))

    @property
    def n_ctx(self):
        return check(_native.lib().loom_context_n_ctx(self._h()))

    @property
    def n_vocab(self):
        return check(_native.lib().loom_context_n_vocab(self._h()))


def _uint(name, v):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be an int")
    if v < 0 or v >= 2 ** 32:
        raise LoomError(-1, f"{name} = {v} is out of range")
    return v


def _ids(ids):
    if isinstance(ids, np.ndarray):
        ids = ids.tolist()
    vals = []
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError("token ids must be ints")
        i = int(i)
        if not -(2 ** 31) <= i < 2 ** 31:
            raise LoomError(-7, f"token id {i} is out of range")
        vals.append(i)
    return (ctypes.c_int32 * len(vals))(*vals)
