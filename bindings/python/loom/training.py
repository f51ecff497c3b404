"""BPE tokenizer training (HF tokenizers' BpeTrainer algorithm) through loom_bpe_train."""
import ctypes
import os

from . import _native
from .errors import LoomError, check
from .tokenizer import Tokenizer

_INVALID_ARGUMENT = -1


def train_bpe(files_or_texts, vocab_size, special_tokens=(), byte_level=True, min_frequency=0, output=None, *,
              unk_token=None, limit_alphabet=None, n_threads=0):
    """Trains a BPE tokenizer and returns it as a loaded loom.Tokenizer (also written to `output`, a
    tokenizer.json path, when given).

    files_or_texts: one item or an iterable of items. os.PathLike items, and str items naming an
    existing file, are files, read one line per sequence as HF's Tokenizer.train(files) does; other
    str and bytes items are texts, one sequence each (HF's train_from_iterator).

    The vocabulary and merges are those HF tokenizers' BpeTrainer gives for the same input and
    settings: byte_level=True is Tokenizer(BPE()) with the ByteLevel(add_prefix_space=False)
    pre-tokenizer, decoder and post-processor and initial_alphabet=ByteLevel.alphabet();
    byte_level=False is the Whitespace pre-tokenizer with the alphabet taken from the data.
    special_tokens get ids 0, 1, ...; unk_token (added after them when missing) names the model's
    unknown token. Failures raise loom.LoomError.
    """
    texts, files = _split_inputs(files_or_texts)
    lib = _native.lib()
    p = lib.loom_bpe_train_default_params()
    p.vocab_size = _uint32("vocab_size", vocab_size)
    p.min_frequency = _uint32("min_frequency", min_frequency)
    p.byte_level = bool(byte_level)
    if isinstance(special_tokens, (str, bytes)):
        special_tokens = [special_tokens]
    specials = [_utf8("special token", s) for s in special_tokens]
    special_arr = (ctypes.c_char_p * max(1, len(specials)))(*specials)
    p.special_tokens = special_arr
    p.n_special_tokens = len(specials)
    p.unk_token = None if unk_token is None else _utf8("unk_token", unk_token)
    p.limit_alphabet = 0 if limit_alphabet is None else _uint32("limit_alphabet", limit_alphabet)
    if isinstance(n_threads, bool) or not isinstance(n_threads, int):
        raise TypeError("n_threads must be an int")
    p.n_threads = max(0, min(n_threads, 1024))

    text_arr = (ctypes.c_char_p * max(1, len(texts)))(*texts)
    lens = (ctypes.c_size_t * max(1, len(texts)))(*[len(t) for t in texts])
    file_arr = (ctypes.c_char_p * max(1, len(files)))(*files)
    handle = ctypes.c_void_p()
    check(lib.loom_bpe_train(text_arr, lens, len(texts), file_arr, len(files), ctypes.byref(p), ctypes.byref(handle)))
    try:
        if output is not None:
            if not isinstance(output, (str, bytes)) and not hasattr(output, "__fspath__"):
                raise TypeError("output must be a str or os.PathLike")
            check(lib.loom_bpe_training_save(handle, os.fsencode(output)))
        tok_handle = ctypes.c_void_p()
        check(lib.loom_bpe_training_tokenizer(handle, ctypes.byref(tok_handle)))
    finally:
        lib.loom_bpe_training_free(handle)
    tok = Tokenizer.__new__(Tokenizer)
    tok._owner = None
    tok._handle = tok_handle
    tok._owned = True  # a new tokenizer: Tokenizer.close() frees it
    return tok


def _split_inputs(items):
    """(texts as UTF-8 bytes, file paths as bytes) from one item or an iterable of them."""
    if isinstance(items, (str, bytes, bytearray)) or hasattr(items, "__fspath__"):
        items = [items]
    try:
        items = list(items)
    except TypeError:
        raise TypeError("files_or_texts must be a path, a text, or an iterable of them") from None
    texts, files = [], []
    for it in items:
        if hasattr(it, "__fspath__") or (isinstance(it, str) and "\n" not in it and os.path.isfile(it)):
            path = os.fsencode(it)
            if b"\0" in path:
                raise LoomError(_INVALID_ARGUMENT, f"file name {it!r} contains a NUL character")
            files.append(path)
        elif isinstance(it, str):
            texts.append(it.encode("utf-8", "surrogatepass"))
        elif isinstance(it, (bytes, bytearray)):
            texts.append(bytes(it))
        else:
            raise TypeError(f"files_or_texts: {type(it).__name__} is neither a path nor a text")
    return texts, files


def _uint32(name, v):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be an int")
    if not 0 <= v < 2 ** 32:
        raise LoomError(_INVALID_ARGUMENT, f"{name} {v} is out of range")
    return v


def _utf8(name, s):
    if isinstance(s, str):
        b = s.encode("utf-8", "surrogatepass")
    elif isinstance(s, (bytes, bytearray)):
        b = bytes(s)
    else:
        raise TypeError(f"{name} must be a str")
    if b"\0" in b:
        raise LoomError(_INVALID_ARGUMENT, f"{name} {s!r} contains a NUL character")
    return b
