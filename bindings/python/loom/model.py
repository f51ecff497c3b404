import ctypes
import os

from . import _native
from .errors import LoomError, call_buffer, check
from .tokenizer import Tokenizer


class Model:
    """A model loaded from a GGUF file or an HF folder. Safe to share between threads.

    loom.Model(path, vocab_only=False); use as a context manager or call close()."""

    def __init__(self, path, vocab_only=False):
        if not isinstance(path, (str, bytes)) and not hasattr(path, "__fspath__"):
            raise TypeError("Model(path): path must be a str or os.PathLike")
        lib = _native.lib()
        params = lib.loom_model_default_params()
        params.vocab_only = bool(vocab_only)
        handle = ctypes.c_void_p()
        check(lib.loom_model_load(os.fsencode(path), ctypes.byref(params), ctypes.byref(handle)))
        self._handle = handle
        self._tokenizer = None
        self.path = os.fspath(path)

    def close(self):
        if getattr(self, "_handle", None):
            if self._tokenizer is not None:
                self._tokenizer._handle = None
            _native.lib().loom_model_free(self._handle)
        self._handle = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _h(self):
        if not getattr(self, "_handle", None):
            raise LoomError(-1, "the model is closed")
        return self._handle

    @property
    def tokenizer(self):
        """The model's tokenizer (borrowed: valid while the model is open)."""
        if self._tokenizer is None:
            handle = ctypes.c_void_p()
            check(_native.lib().loom_model_tokenizer(self._h(), ctypes.byref(handle)))
            self._tokenizer = Tokenizer(_handle=handle, _owner=self)
        return self._tokenizer

    def tokenize(self, text, add_special=False, parse_special=False):
        return self.tokenizer.tokenize(text, add_special=add_special, parse_special=parse_special)

    def detokenize(self, ids, render_special=True):
        return self.tokenizer.detokenize(ids, render_special=render_special)

    @property
    def metadata(self):
        """All metadata as {key: value-as-text}."""
        lib = _native.lib()
        h = self._h()
        n = check(lib.loom_model_meta_count(h))
        out = {}
        for i in range(n):
            k = call_buffer(lambda b, c: lib.loom_model_meta_key_by_index(h, i, b, c))
            v = call_buffer(lambda b, c: lib.loom_model_meta_val_str_by_index(h, i, b, c))
            out[k.decode("utf-8", "replace")] = v.decode("utf-8", "replace")
        return out
