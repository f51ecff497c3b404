import codecs
import ctypes

from . import _native
from ._handle import Handle
from .errors import LoomError, call_buffer, check


class Tokenizer(Handle):
    """A tokenizer: loom.Tokenizer(path) for a tokenizer.json, a folder holding one, or a GGUF file;
    or Model.tokenizer. Immutable and safe to share between threads."""

    _kind = "tokenizer"

    def __init__(self, path=None, *, _handle=None, _owner=None):
        lib = _native.lib()
        self._owner = _owner  # keeps a borrowing model alive
        if _handle is not None:
            self._handle = _handle
            self._owned = False
            return
        if not isinstance(path, (str, bytes)) and not hasattr(path, "__fspath__"):
            raise TypeError("Tokenizer(path): path must be a str or os.PathLike")
        handle = ctypes.c_void_p()
        check(lib.loom_tokenizer_load(_path_bytes(path), ctypes.byref(handle)))
        self._handle = handle
        self._owned = True

    def _release(self, handle):
        if self._owned:
            _native.lib().loom_tokenizer_free(handle)

    def tokenize(self, text, add_special=False, parse_special=False):
        """Token ids of `text` (str or UTF-8 bytes)."""
        if isinstance(text, str):
            data = text.encode("utf-8", "surrogatepass")
        elif isinstance(text, (bytes, bytearray)):
            data = bytes(text)
        else:
            raise TypeError("tokenize: text must be str or bytes")
        lib = _native.lib()
        cap = len(data) + 8
        for _ in range(3):
            out = (ctypes.c_int32 * cap)()
            n = lib.loom_tokenize(self._h(), data, len(data), out, cap, bool(add_special), bool(parse_special))
            if n >= 0:
                return list(out[:n])
            if lib.loom_last_status() != _native.LOOM_ERR_BUFFER_TOO_SMALL:
                check(n)
            cap = -n
        raise LoomError(_native.LOOM_ERR_BUFFER_TOO_SMALL, "the required buffer size kept changing")

    encode = tokenize

    def detokenize(self, ids, render_special=True):
        """The text of `ids`; invalid UTF-8 (a cut multi-byte character) is replaced."""
        return self.detokenize_bytes(ids, render_special).decode("utf-8", "replace")

    decode = detokenize

    def detokenize_bytes(self, ids, render_special=True):
        arr = _id_array(ids)
        return call_buffer(lambda buf, cap: _native.lib().loom_detokenize(self._h(), arr, len(arr), buf, cap,
                                                                            bool(render_special)),
                           initial=16 * len(arr) + 16)

    def token_to_piece(self, token, render_special=True):
        """Raw bytes of one token (may be part of a UTF-8 character)."""
        return call_buffer(lambda buf, cap: _native.lib().loom_token_to_piece(self._h(), _token(token), buf, cap,
                                                                                bool(render_special)), initial=64)

    def token_text(self, token):
        return call_buffer(lambda buf, cap: _native.lib().loom_token_text(self._h(), _token(token), buf, cap),
                           initial=64)[:].decode("utf-8", "replace")

    def stream_decoder(self, render_special=True):
        """A callable id -> str that yields text piece by piece, holding back incomplete UTF-8."""
        dec = codecs.getincrementaldecoder("utf-8")("replace")
        return lambda token: dec.decode(self.token_to_piece(token, render_special))

    @property
    def n_vocab(self):
        return check(_native.lib().loom_tokenizer_n_vocab(self._h()))

    def _special(self, which):
        v = getattr(_native.lib(), "loom_tokenizer_" + which)(self._h())
        return None if v < 0 else v

    @property
    def bos_token_id(self):
        return self._special("bos")

    @property
    def eos_token_id(self):
        return self._special("eos")

    @property
    def eot_token_id(self):
        return self._special("eot")

    @property
    def pad_token_id(self):
        return self._special("pad")

    @property
    def unk_token_id(self):
        return self._special("unk")

    @property
    def add_bos(self):
        return bool(_native.lib().loom_tokenizer_add_bos(self._h()))

    @property
    def add_eos(self):
        return bool(_native.lib().loom_tokenizer_add_eos(self._h()))

    def is_eog(self, token):
        return bool(_native.lib().loom_tokenizer_is_eog(self._h(), _token(token)))

    def is_control(self, token):
        return bool(_native.lib().loom_tokenizer_is_control(self._h(), _token(token)))


def _path_bytes(path):
    import os
    return os.fsencode(path)


def _token(t):
    if isinstance(t, bool) or not isinstance(t, int):
        try:
            import numpy as np
            if isinstance(t, np.integer):
                t = int(t)
            else:
                raise TypeError
        except TypeError:
            raise TypeError("token id must be an int") from None
    if not -(2 ** 31) <= t < 2 ** 31:
        raise LoomError(-7, "token id %d is out of range" % t)
    return t


def _id_array(ids):
    vals = [_token(i) for i in ids]
    return (ctypes.c_int32 * len(vals))(*vals)
