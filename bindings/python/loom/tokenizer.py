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
                return _ids_list(out, n)
            if lib.loom_last_status() != _native.LOOM_ERR_BUFFER_TOO_SMALL:
                check(n)
            cap = -n
        raise LoomError(_native.LOOM_ERR_BUFFER_TOO_SMALL, "the required buffer size kept changing")

    encode = tokenize

    def encode_batch(self, texts, add_special=True, parse_special=False, padding=False, truncation=False,
                     max_length=None, pad_to_multiple_of=None, padding_side="right", truncation_side="right",
                     pad_id=None, n_threads=1):
        """Encodes several texts, as transformers' tokenizer(texts, ...) does.

        padding: False (none), True or "longest" (the longest row), "max_length" (pad to max_length),
        or None to use tokenizer.json's own padding setting. truncation: False, True (cut to
        max_length, keeping room for special tokens), or None for tokenizer.json's setting. Returns
        {"input_ids": rows, "attention_mask": rows} as lists of lists, or as 2-D numpy arrays when
        every row has the same length (padded)."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("encode_batch: texts must be a list of str or bytes")
        data = []
        for t in texts:
            if isinstance(t, str):
                data.append(t.encode("utf-8", "surrogatepass"))
            elif isinstance(t, (bytes, bytearray)):
                data.append(bytes(t))
            else:
                raise TypeError("encode_batch: each text must be str or bytes")
        lib = _native.lib()
        p = lib.loom_batch_default_params()
        p.add_special = bool(add_special)
        p.parse_special = bool(parse_special)
        p.use_tokenizer_settings = padding is None or truncation is None
        if padding is True or padding == "longest":
            p.padding = _native.LOOM_PAD_LONGEST
        elif padding == "max_length":
            if max_length is None:
                raise ValueError("padding='max_length' needs max_length")
            p.padding = _native.LOOM_PAD_FIXED
            p.pad_length = int(max_length)
        elif padding not in (False, None, "do_not_pad"):
            raise ValueError("padding must be False, True, 'longest', 'max_length' or None")
        if truncation is True or truncation == "longest_first":
            if max_length is None:
                raise ValueError("truncation=True needs max_length")
            p.max_length = int(max_length)
        elif truncation not in (False, None, "do_not_truncate"):
            raise ValueError("truncation must be False, True or None")
        if padding_side not in ("right", "left") or truncation_side not in ("right", "left"):
            raise ValueError("padding_side / truncation_side must be 'right' or 'left'")
        p.pad_left = padding_side == "left"
        p.truncate_left = truncation_side == "left"
        p.pad_to_multiple_of = int(pad_to_multiple_of or 0)
        p.pad_id = -1 if pad_id is None else _token(pad_id)
        p.n_threads = max(1, int(n_threads))
        n = len(data)
        arr = (ctypes.c_char_p * max(n, 1))(*data)
        lens = (ctypes.c_size_t * max(n, 1))(*[len(d) for d in data])
        offsets = (ctypes.c_size_t * (n + 1))()
        cap = sum(len(d) for d in data) + 8 * n + 8
        for _ in range(3):
            ids = (ctypes.c_int32 * cap)()
            mask = (ctypes.c_int32 * cap)()
            total = lib.loom_tokenize_batch(self._h(), arr, lens, n, ctypes.byref(p), ids, mask, cap, offsets)
            if total >= 0:
                break
            if lib.loom_last_status() != _native.LOOM_ERR_BUFFER_TOO_SMALL:
                check(total)
            cap = -total
        else:
            raise LoomError(_native.LOOM_ERR_BUFFER_TOO_SMALL, "the required buffer size kept changing")
        import numpy as np
        flat_ids = np.frombuffer(ids, dtype=np.int32, count=total)
        flat_mask = np.frombuffer(mask, dtype=np.int32, count=total)
        bounds = list(offsets)
        lengths = {bounds[i + 1] - bounds[i] for i in range(n)}
        if n and len(lengths) == 1:
            width = lengths.pop()
            return {"input_ids": flat_ids.reshape(n, width).copy(), "attention_mask": flat_mask.reshape(n, width).copy()}
        all_ids, all_mask = flat_ids.tolist(), flat_mask.tolist()
        return {"input_ids": [all_ids[bounds[i]:bounds[i + 1]] for i in range(n)],
                "attention_mask": [all_mask[bounds[i]:bounds[i + 1]] for i in range(n)]}

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


def _ids_list(buffer, n):
    """The first n int32 of a ctypes buffer as a list of ints (numpy converts in C)."""
    import numpy as np
    return np.frombuffer(buffer, dtype=np.int32, count=n).tolist()


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
