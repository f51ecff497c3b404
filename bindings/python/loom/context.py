import contextlib
import ctypes
import os

import numpy as np

from . import _native
from ._handle import Handle
from .errors import LoomError, check


class Context(Handle):
    """Runs a model: KV cache, threads and the last logits. Use from one thread at a time.

    Made by Model.new_context(n_ctx=0, n_batch=512, n_threads=None, kv_type="f32", n_seq_max=16);
    kv_type "f16" halves the KV cache's memory. It holds n_seq_max sequences (ids 0..n_seq_max-1),
    each with its own KV cache allocated on first use; calls without a sequence act on sequence 0."""

    _kind = "context"

    def __init__(self, model, n_ctx=0, n_batch=512, n_threads=None, kv_type="f32", n_seq_max=16):
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
        params.n_seq_max = _uint("n_seq_max", n_seq_max)
        self.n_seq_max = n_seq_max
        self._abort = None
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
        with self._abort_errors():
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

    def generate(self, ids, max_new_tokens=256, stop=None, stream=False, **kwargs):
        """Generates from prompt ids — or a list of id lists, one sequence each, advancing together —
        on this context (reusing the cached prefix a sequence shares with its prompt); see
        Model.generate for the keywords and results."""
        from . import generation
        from .model import _is_batch
        unknown = set(kwargs) - set(generation.GENERATE_KEYS)
        if unknown:
            raise TypeError(f"generate() got unexpected keyword arguments {sorted(unknown)}")
        batched = _is_batch(ids)
        prompts = [[int(i) for i in p] for p in (ids if batched else [ids])]
        settings = generation.Settings(max_new_tokens=max_new_tokens, stop=stop, **kwargs)
        call = generation.context_call(self._h(), prompts)
        if stream:
            if batched:
                raise LoomError(-4, "stream=True takes one prompt")
            return generation.stream(call, settings, keepalive=self)
        with self._abort_errors():
            return generation.shape(generation.run(call, settings), len(prompts), settings, batched)

    # ------------------------------------------------------------------ several sequences

    def decode_batch(self, rows, logits=None):
        """Advances several sequences in shared forward passes. rows: list of (seq_id, token) in order
        (a sequence's rows in position order; sequences may interleave). logits: list of bools per row
        (None: the last row of each sequence). Kept rows are numbered in row order for logits()."""
        rows = list(rows)
        if not rows:
            raise LoomError(-1, "decode_batch needs at least one row")
        toks = _ids([t for _, t in rows])
        seqs = (ctypes.c_int32 * len(rows))(*[int(s) for s, _ in rows])
        flags = None
        if logits is not None:
            if len(logits) != len(rows):
                raise LoomError(-1, "logits needs one flag per row")
            flags = (ctypes.c_bool * len(rows))(*[bool(f) for f in logits])
        with self._abort_errors():
            check(_native.lib().loom_context_decode_batch(self._h(), toks, seqs, flags, len(rows)))

    def seq_position(self, seq):
        return check(_native.lib().loom_context_seq_position(self._h(), int(seq)))

    def seq_copy(self, src, dst):
        """Makes sequence dst a copy of sequence src (to fork a prompt)."""
        check(_native.lib().loom_context_seq_copy(self._h(), int(src), int(dst)))

    def seq_remove(self, seq):
        check(_native.lib().loom_context_seq_remove(self._h(), int(seq)))

    def set_adapters(self, adapters):
        """Runs the next decodes with adapters: a list of Adapter or (Adapter, scale) (scale 1 = as
        trained); [] removes them. Any number of LoRA / IA3 adapters and at most one prompt- or
        prefix-tuning adapter (scale 1), whose virtual tokens then open every sequence. Only this
        context is affected; clear it when switching mid-way."""
        pairs = []
        for a in adapters:
            if isinstance(a, Adapter):
                pairs.append((a, 1.0))
            elif isinstance(a, (tuple, list)) and len(a) == 2 and isinstance(a[0], Adapter) \
                    and isinstance(a[1], (int, float)) and not isinstance(a[1], bool):
                pairs.append((a[0], float(a[1])))
            else:
                raise TypeError("adapters must be loom.Adapter objects or (Adapter, scale) pairs")
        n = len(pairs)
        handles = (ctypes.c_void_p * max(1, n))(*[a._h() for a, _ in pairs])
        scales = (ctypes.c_float * max(1, n))(*[s for _, s in pairs])
        check(_native.lib().loom_context_set_adapters(self._h(), handles, scales, n))
        self._adapters = pairs   # keep the Python objects alive with the context

    # ------------------------------------------------------------------ control and state

    def set_abort_callback(self, fn):
        """fn() -> True stops the running decode/generate with LoomError (status aborted); it is polled
        between layers, on the thread running the work. None removes it."""
        lib = _native.lib()
        if fn is None:
            self._abort = None
            check(lib.loom_context_set_abort_callback(self._h(), _native.ABORT_CALLBACK(), None))
            return

        def trampoline(_user):
            try:
                return bool(fn())
            except BaseException as e:  # stops the work; re-raised by the call that ran it
                self._abort_raised = e
                return True

        self._abort = _native.ABORT_CALLBACK(trampoline)
        check(lib.loom_context_set_abort_callback(self._h(), self._abort, None))

    @contextlib.contextmanager
    def _abort_errors(self):
        """Re-raises an exception the abort callback raised (it stopped the work) instead of the
        library's LoomError(aborted)."""
        self._abort_raised = None
        try:
            yield
        except LoomError:
            raised, self._abort_raised = self._abort_raised, None
            if raised is not None:
                raise raised
            raise

    def save_state(self, path=None):
        """The context's state (every sequence's tokens and KV cache, the last logits) as bytes, or
        written to `path`."""
        lib = _native.lib()
        if path is not None:
            check(lib.loom_context_state_save_file(self._h(), os.fsencode(path)))
            return None
        n = lib.loom_context_state_save(self._h(), None, 0)
        if n < 0 and lib.loom_last_status() == _native.LOOM_ERR_BUFFER_TOO_SMALL:
            n = -n
        check(int(n) if n < 0 else 0)
        buf = (ctypes.c_uint8 * n)()
        got = lib.loom_context_state_save(self._h(), buf, n)
        check(int(got) if got < 0 else 0)
        return bytes(buf[:got])

    def load_state(self, state):
        """Restores bytes from save_state(), or the file at a path (str / os.PathLike)."""
        lib = _native.lib()
        if isinstance(state, (bytes, bytearray, memoryview)):
            data = bytes(state)
            if not data:
                raise LoomError(-1, "the state is empty")
            buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            check(lib.loom_context_state_load(self._h(), buf, len(data)))
        else:
            check(lib.loom_context_state_load_file(self._h(), os.fsencode(state)))

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


class Adapter(Handle):
    """A fine-tuning adapter, made by Model.load_adapter(path): a PEFT folder (LoRA, IA3, prompt
    tuning, prefix tuning) or a llama.cpp GGUF LoRA; `kind` says which. Immutable: any number of
    contexts may run it (Context.set_adapters), and LoRA / IA3 merge into a model (Model.merge_lora)."""

    KINDS = ("lora", "ia3", "prompt_tuning", "prefix_tuning")

    _kind = "adapter"

    def __init__(self, path):
        handle = ctypes.c_void_p()
        check(_native.lib().loom_lora_load(os.fsencode(path), ctypes.byref(handle)))
        self._handle = handle
        self.path = str(path)

    @property
    def kind(self):
        """"lora", "ia3", "prompt_tuning" or "prefix_tuning"."""
        return self.KINDS[check(_native.lib().loom_lora_kind(self._h()))]

    def _release(self, handle):
        _native.lib().loom_lora_free(handle)
