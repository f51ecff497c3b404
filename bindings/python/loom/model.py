import ctypes
import os

from . import _native, embedding, masked_lm, seq2seq
from ._handle import Handle
from .context import Context
from .errors import LoomError, call_buffer, check
from .generation import run_generate, sampling_params, stream_generate
from .tokenizer import Tokenizer

_SAMPLING_KEYS = ("temperature", "top_k", "top_p", "min_p", "repetition_penalty", "frequency_penalty",
                  "presence_penalty", "penalty_last_n", "seed")


class Model(Handle):
    """A model loaded from a GGUF file or an HF folder. Safe to share between threads.

    loom.Model(path, vocab_only=False); use as a context manager or call close()."""

    _kind = "model"

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
        self._context = None
        self.path = os.fspath(path)

    def close(self):
        if getattr(self, "_context", None) is not None:
            self._context.close()
            self._context = None
        if getattr(self, "_tokenizer", None) is not None:
            self._tokenizer._handle = None  # borrowed from the model: dies with it
        super().close()

    def _release(self, handle):
        _native.lib().loom_model_free(handle)

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

    # ------------------------------------------------------------------ encoder models (BERT)

    @property
    def n_embd(self):
        """Width of an embedding (encoder models only)."""
        return embedding.n_embd(self)

    def embed(self, texts, normalize=True, pooling="default", max_length=0, batch_size=32, n_threads=None):
        """Embeddings of texts with an encoder model: float32 numpy (len(texts), n_embd). Tokenized with
        [CLS]/[SEP], truncated to max_length (0: sentence_bert_config.json, else 512), pooled with the
        model's pooling (sentence-transformers' config) or "mean" / "cls" / "max"; normalize=None keeps
        the model's own setting."""
        return embedding.embed(self, texts, normalize=normalize, pooling=pooling, max_length=max_length,
                               batch_size=batch_size, n_threads=n_threads)

    def encode(self, ids, n_threads=None):
        """Last hidden states of an encoder model: one row of ids -> float32 (len, n_embd); a list of
        rows of any lengths -> a list of arrays (rows are not padded; each equals its result alone)."""
        return embedding.encode(self, ids, n_threads=n_threads)

    def fill_mask(self, text, top_k=5):
        """Fills the mask token(s) of `text` (e.g. "Paris is the [MASK] of France.") as transformers'
        fill-mask pipeline: per mask, the top_k candidates {"token", "token_str", "score", "sequence"},
        best first (a list for one mask, a list of lists for several). Needs a masked-LM head."""
        return masked_lm.fill_mask(self, text, top_k=top_k)

    # ------------------------------------------------------------------ running the model

    def new_context(self, n_ctx=0, n_batch=512, n_threads=None, kv_type="f32"):
        """A new Context (KV cache + threads) on this model; use it from one thread at a time."""
        return Context(self, n_ctx=n_ctx, n_batch=n_batch, n_threads=n_threads, kv_type=kv_type)

    def _private_context(self, needed):
        """The model's convenience context, grown when a call needs more positions."""
        ctx = self._context
        if ctx is None or ctx.n_ctx < needed:
            if ctx is not None:
                ctx.close()
            size = max(needed, 512)
            self._context = ctx = Context(self, n_ctx=size)
        return ctx

    def logits(self, ids):
        """Logits for every position of `ids` from a fresh state: float32 array (len(ids), n_vocab).
        On a masked-LM encoder (BERT with its head): the MLM head's logits of the sequence."""
        if masked_lm.is_encoder(self):
            return masked_lm.logits(self, ids)
        ids = list(ids)
        ctx = self._private_context(len(ids))
        ctx.clear()
        ctx.decode(ids, logits_all=True)
        return ctx.all_logits()

    def _prompt_ids(self, prompt):
        if isinstance(prompt, str):
            return self.tokenize(prompt, add_special=True, parse_special=True)
        ids = [int(i) for i in prompt]
        if not ids:
            raise LoomError(-1, "the prompt has no tokens")
        return ids

    def generate(self, prompt, max_new_tokens=256, stop=None, stream=False, **sampling):
        """Generates from a string (tokenized with the model's BOS rule, special tokens parsed) or a
        list of ids. Sampling keywords: temperature (0 = greedy, the default), top_k, top_p, min_p,
        repetition_penalty, frequency_penalty, presence_penalty, penalty_last_n, seed.
        Returns a GenerationResult (.ids, .text, .finish_reason), or with stream=True an iterator
        over text pieces. Encoder-decoder models (T5): text is tokenized with `</s>` appended, generation
        is greedy only (other sampling options, stop and stream raise LoomError) and .ids are the
        decoder's new tokens, without its start token and `</s>`."""
        unknown = set(sampling) - set(_SAMPLING_KEYS)
        if unknown:
            raise TypeError(f"generate() got unexpected keyword arguments {sorted(unknown)}")
        if seq2seq.is_seq2seq(self):
            # Encoder-decoder (T5): text gets `</s>` appended; greedy only; .ids are the decoder's new tokens.
            return seq2seq.generate(self, prompt, max_new_tokens, stop=stop, stream=stream, **sampling)
        ids = self._prompt_ids(prompt)
        params = sampling_params(**sampling)
        ctx = self._private_context(len(ids) + (max_new_tokens if max_new_tokens > 0 else 0))
        if stream:
            return stream_generate(ctx._h(), ids, max_new_tokens, params, stop, keepalive=ctx)
        return run_generate(ctx._h(), ids, max_new_tokens, params, stop)

    def stream(self, prompt, max_new_tokens=256, stop=None, **sampling):
        """Iterator over the text pieces of a generation (see generate)."""
        return self.generate(prompt, max_new_tokens=max_new_tokens, stop=stop, stream=True, **sampling)

    def apply_chat_template(self, messages, add_generation_prompt=True, template=None):
        """Renders [{"role": ..., "content": ...}, ...] with the model's chat template (or `template`),
        as transformers' apply_chat_template(tokenize=False) does."""
        lib = _native.lib()
        msgs = _chat_messages(messages)
        tmpl = template.encode() if template is not None else None
        out = call_buffer(lambda b, c: lib.loom_chat_apply_template(self._h(), tmpl, msgs, len(msgs),
                                                                     bool(add_generation_prompt), b, c),
                          initial=4096)
        return out.decode("utf-8", "replace")

    def chat(self, messages, max_new_tokens=256, stop=None, stream=False, **sampling):
        """Answers a conversation: applies the chat template, then generates (see generate)."""
        prompt = self.apply_chat_template(messages, add_generation_prompt=True)
        ids = self.tokenize(prompt, add_special=False, parse_special=True)
        return self.generate(ids, max_new_tokens=max_new_tokens, stop=stop, stream=stream, **sampling)


def _chat_messages(messages):
    if isinstance(messages, (str, bytes)) or not hasattr(messages, "__iter__"):
        raise TypeError("messages must be a list of {'role': ..., 'content': ...} dicts")
    items = []
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise TypeError("each message must be a dict with string 'role' and 'content'")
        items.append((m["role"].encode(), m["content"].encode()))
    arr = (_native.ChatMessage * max(1, len(items)))()
    for i, (r, c) in enumerate(items):
        arr[i].role = r
        arr[i].content = c
    arr._keep = items
    return arr
