import ctypes
import os

from . import _native, chat, embedding, masked_lm, seq2seq
from ._handle import Handle
from .context import Context
from .errors import LoomError, call_buffer, check
from . import generation
from .tokenizer import Tokenizer


class Model(Handle):
    """A model loaded from a GGUF file or an HF folder. Safe to share between threads.

    loom.Model(path, vocab_only=False, progress=None); use as a context manager or call close().

    progress: a callable taking the load's progress, a float rising from 0.0 to 1.0, called on the
    loading thread; returning False (exactly; None goes on) cancels the load, which raises LoomError
    with status -6 (LOOM_ERR_ABORTED) after the library has released everything it took. An exception
    raised by the callable also cancels the load and is re-raised from Model()."""

    _kind = "model"

    def __init__(self, path, vocab_only=False, progress=None):
        if not isinstance(path, (str, bytes)) and not hasattr(path, "__fspath__"):
            raise TypeError("Model(path): path must be a str or os.PathLike")
        if progress is not None and not callable(progress):
            raise TypeError("Model(progress=...): progress must be callable")
        lib = _native.lib()
        params = lib.loom_model_default_params()
        params.vocab_only = bool(vocab_only)
        raised = []
        if progress is not None:
            def on_progress(_user_data, value):
                try:
                    return progress(float(value)) is not False
                except BaseException as e:  # noqa: BLE001 - re-raised below, after the library cleaned up
                    raised.append(e)
                    return False
            # Kept alive by this frame for the whole (synchronous) load.
            callback = _native.PROGRESS_CALLBACK(on_progress)
            params.progress_callback = callback
        handle = ctypes.c_void_p()
        status = lib.loom_model_load(os.fsencode(path), ctypes.byref(params), ctypes.byref(handle))
        if raised:
            raise raised[0]
        check(status)
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

    def embed(self, texts, normalize=True, pooling="default", max_length=0, batch_size=32, n_threads=None,
              precision="f32"):
        """Embeddings of texts with an encoder model: float32 numpy (len(texts), n_embd). Tokenized with
        [CLS]/[SEP], truncated to max_length (0: sentence_bert_config.json, else 512), pooled with the
        model's pooling (sentence-transformers' config) or "mean" / "cls" / "max"; normalize=None keeps
        the model's own setting. precision: "f32" (exact), "bf16" or "f16" weight matmuls (faster on
        CPUs with AMX / AVX512-BF16 / AVX512-FP16; f32 elsewhere)."""
        return embedding.embed(self, texts, normalize=normalize, pooling=pooling, max_length=max_length,
                               batch_size=batch_size, n_threads=n_threads, precision=precision)

    def encode(self, ids, n_threads=None):
        """Last hidden states of an encoder model: one row of ids -> float32 (len, n_embd); a list of
        rows of any lengths -> a list of arrays (rows are not padded; each equals its result alone)."""
        return embedding.encode(self, ids, n_threads=n_threads)

    def fill_mask(self, text, top_k=5):
        """Fills the mask token(s) of `text` (e.g. "Paris is the [MASK] of France.") as transformers'
        fill-mask pipeline: per mask, the top_k candidates {"token", "token_str", "score", "sequence"},
        best first (a list for one mask, a list of lists for several). Needs a masked-LM head."""
        return masked_lm.fill_mask(self, text, top_k=top_k)

    # ------------------------------------------------------------------ classification and reward models

    @property
    def labels(self):
        """Label names of a sequence-classification head (config.json id2label), in logit order."""
        from . import classification
        return classification.labels(self)

    def classify(self, texts, max_length=0, add_special=True, parse_special=False, n_threads=None):
        """Raw logits of a sequence-classification model (HF *ForSequenceClassification folder):
        float32 numpy (len(texts), n_labels), label names in .labels. texts: strings (tokenized with the
        model's special tokens, truncated to max_length, 0: the model's positions) or token-id lists."""
        from . import classification
        return classification.classify(self, texts, max_length=max_length, add_special=add_special,
                                       parse_special=parse_special, n_threads=n_threads)

    def reward(self, texts, **kwargs):
        """Rewards of a reward model (a one-label classification head): float32 numpy (len(texts),).
        Keywords as classify."""
        from . import classification
        return classification.reward(self, texts, **kwargs)

    def preference_probability(self, text_a, text_b, **kwargs):
        """P(text_a preferred over text_b) = sigmoid(reward(a) - reward(b)) (Bradley-Terry)."""
        from . import classification
        r = classification.reward(self, [text_a, text_b], **kwargs)
        return classification.preference_probability(r[0], r[1])

    def _best_of(self, prompt, max_new_tokens, stop, stream, kwargs):
        from . import classification
        kwargs = dict(kwargs)
        n = kwargs.pop("best_of", None)
        reward_model = kwargs.pop("reward_model", None)
        prompt_text = kwargs.pop("prompt_text", None)
        reward_kwargs = kwargs.pop("reward_kwargs", None)
        if reward_model is None or n is None:
            raise TypeError("best-of-n needs both best_of=N and reward_model=...")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise TypeError("best_of must be a positive int")
        if stream or _is_batch(prompt):
            raise LoomError(-4, "best_of takes one prompt and no stream=True")
        unknown = set(kwargs) - set(generation.GENERATE_KEYS)
        if unknown:
            raise TypeError(f"generate() got unexpected keyword arguments {sorted(unknown)}")
        if prompt_text is None and isinstance(prompt, (str, chat.Prompt)):
            prompt_text = prompt.text() if isinstance(prompt, chat.Prompt) else prompt
        ids = self._prompt_ids(prompt)
        settings = generation.Settings(max_new_tokens=max_new_tokens, stop=stop, **kwargs)
        extra = max_new_tokens if max_new_tokens > 0 else 0
        ctx = self._private_context(len(ids) + extra, n)
        return classification.best_of(self, ctx, ids, n, reward_model, settings, prompt_text=prompt_text,
                                      reward_kwargs=reward_kwargs)

    # ------------------------------------------------------------------ grounded generation

    def generate_grounded(self, question, index, k=3, cite=True, instructions=None, max_new_tokens=256, stop=None,
                          **sampling):
        """Retrieval-augmented answer: the question's top-k passages from `index` (a loom.RetrievalIndex)
        go into the prompt as numbered sources [1]..[k] (system turn: instructions, by default to answer
        only from the sources and cite them as [n]; user turn: "## Context" with "[n] (document id)
        passage" blocks, then "## Task" with the question; rendered with the chat template), then the
        model answers (sampling keywords as generate). Returns a loom.retrieval.GroundedAnswer: .text,
        .sources (every passage put in the prompt: .number, .id, .text, .score, .cited — the answer
        mentions [number]), .cited (ids of cited sources), .prompt, .finish_reason."""
        from . import retrieval
        return retrieval.generate_grounded(self, question, index, k=k, cite=cite, instructions=instructions,
                                           max_new_tokens=max_new_tokens, stop=stop, **sampling)

    # ------------------------------------------------------------------ running the model

    def new_context(self, n_ctx=0, n_batch=512, n_threads=None, kv_type="f32", n_seq_max=16):
        """A new Context (KV cache + threads) on this model; use it from one thread at a time.
        n_seq_max: sequences it holds (each gets its own KV cache when first used)."""
        return Context(self, n_ctx=n_ctx, n_batch=n_batch, n_threads=n_threads, kv_type=kv_type, n_seq_max=n_seq_max)

    def load_adapter(self, path):
        """Loads a LoRA adapter (PEFT folder or GGUF) to run with Context.set_adapters / set_adapters."""
        from .context import Adapter
        return Adapter(path)

    def set_adapters(self, adapters):
        """Adapters for this model's own generate / logits calls (see Context.set_adapters)."""
        self._adapters = list(adapters)
        if self._context is not None:
            self._context.set_adapters(self._adapters)

    def merge_lora(self, adapter, scale=1.0):
        """Merges a LoRA or IA3 adapter into the weights (PEFT merge_and_unload without the unload).
        F32/F16/BF16 weights change in place; a quantized weight becomes F32 (exact, not requantized).
        Raises LoomError while any Context of this model is open (the model's own is closed here)."""
        from .context import Adapter
        if not isinstance(adapter, Adapter):
            raise TypeError("adapter must be a loom.Adapter (Model.load_adapter)")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise TypeError("scale must be a number")
        self._close_private_context()
        check(_native.lib().loom_lora_merge(self._h(), adapter._h(), float(scale)))
        self._merged = getattr(self, "_merged", []) + [adapter]

    def unmerge_lora(self, adapter):
        """Takes a merged adapter out of the weights again (F32 back to rounding; a quantized weight
        restored bit for bit)."""
        from .context import Adapter
        if not isinstance(adapter, Adapter):
            raise TypeError("adapter must be a loom.Adapter (Model.load_adapter)")
        self._close_private_context()
        check(_native.lib().loom_lora_unmerge(self._h(), adapter._h()))
        merged = getattr(self, "_merged", [])
        if adapter in merged:
            merged.remove(adapter)

    def save(self, path):
        """Writes the model as it is now (merged adapters included) to a GGUF file that Loom and
        llama.cpp load. GGUF-loaded models only."""
        check(_native.lib().loom_model_save(self._h(), os.fsencode(path)))

    def _close_private_context(self):
        if self._context is not None:
            self._context.close()
            self._context = None

    def _private_context(self, needed, sequences=1):
        """The model's convenience context, grown when a call needs more positions or sequences."""
        ctx = self._context
        if ctx is None or ctx.n_ctx < needed or ctx.n_seq_max < sequences:
            if ctx is not None:
                ctx.close()
            size = max(needed, 512)
            self._context = ctx = Context(self, n_ctx=size, n_seq_max=max(16, sequences))
            if getattr(self, "_adapters", None):
                ctx.set_adapters(self._adapters)
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
        if isinstance(prompt, chat.Prompt):
            prompt = prompt.text()
        if isinstance(prompt, str):
            return self.tokenize(prompt, add_special=True, parse_special=True)
        ids = [int(i) for i in prompt]
        if not ids:
            raise LoomError(-1, "the prompt has no tokens")
        return ids

    def generate(self, prompt, max_new_tokens=256, stop=None, stream=False, **kwargs):
        """Generates from a string (tokenized with the model's BOS rule, special tokens parsed), a
        loom.Prompt or a list of ids — or from a list of those (a batch: the prompts advance together,
        one sequence each; the result is a list).

        Keywords, with HF generate() meanings: temperature (0 = greedy, the default), top_k, top_p,
        min_p, typical_p, repetition_penalty, frequency_penalty, presence_penalty, penalty_last_n,
        no_repeat_ngram_size, min_new_tokens, logit_bias ({token: bias}), bad_words_ids ([[ids], ...]),
        logits_processor (a callable or list: f(input_ids (1, n) int64, scores (1, vocab) float32) ->
        scores, as HF's; editing scores in place works too), seed, and beam search: num_beams,
        num_return_sequences, length_penalty, early_stopping (False, True or "never").

        Returns a GenerationResult (.ids, .text, .finish_reason, .score for beams) — a list of them
        when num_return_sequences > 1 — or with stream=True an iterator over text pieces (one prompt,
        no beams). Encoder-decoder models (T5): text gets `</s>` appended and .ids are the decoder's
        new tokens, without its start token and `</s>`.

        best_of=N, reward_model=RM (a loom.Model with a one-label classification head): best-of-n
        sampling — N candidates drawn together (candidate i with seed + i; sampling must not be greedy),
        returned as a list ranked by RM's reward of (prompt text + candidate text), best first, each with
        .reward; prompt_text="..." overrides the prompt text scored (default: the prompt string, or the
        ids detokenized with special tokens). See loom_generate_best_of."""
        if "best_of" in kwargs or "reward_model" in kwargs:
            return self._best_of(prompt, max_new_tokens, stop, stream, kwargs)
        unknown = set(kwargs) - set(generation.GENERATE_KEYS)
        if unknown:
            raise TypeError(f"generate() got unexpected keyword arguments {sorted(unknown)}")
        batched = _is_batch(prompt)
        prompts = list(prompt) if batched else [prompt]
        if not prompts:
            raise LoomError(-1, "no prompts")
        settings = generation.Settings(max_new_tokens=max_new_tokens, stop=stop, **kwargs)
        if stream and batched:
            raise LoomError(-4, "stream=True takes one prompt")
        if seq2seq.is_seq2seq(self):
            calls = [seq2seq.call(self, p) for p in prompts]
            if stream:
                return generation.stream(calls[0], settings, keepalive=self)
            results = [r for c in calls for r in generation.run(c, settings)]
            return generation.shape(results, len(prompts), settings, batched)
        ids = [self._prompt_ids(p) for p in prompts]
        beams = max(1, settings.params.num_beams)
        extra = max_new_tokens if max_new_tokens > 0 else 0
        ctx = self._private_context(max(len(i) for i in ids) + extra, max(len(ids), beams))
        call = generation.context_call(ctx._h(), ids)
        if stream:
            return generation.stream(call, settings, keepalive=ctx)
        return generation.shape(generation.run(call, settings), len(prompts), settings, batched)

    def stream(self, prompt, max_new_tokens=256, stop=None, **sampling):
        """Iterator over the text pieces of a generation (see generate)."""
        return self.generate(prompt, max_new_tokens=max_new_tokens, stop=stop, stream=True, **sampling)

    def apply_chat_template(self, messages, add_generation_prompt=True, template=None, bos_token=None,
                            eos_token=None, now=None, **extra):
        """Renders a conversation with the model's chat template (or `template`) as transformers'
        apply_chat_template(tokenize=False) does: messages are dicts passed as they are (role, content,
        tool_calls, name, ...) or a loom.Prompt; bos_token/eos_token default to the model's; now fixes
        strftime_now's clock (see loom.apply_chat_template); extra keywords become template variables
        (tools=[...], enable_thinking=False, ...). A template that raises raises LoomError with its
        message."""
        return chat.render(self._h(), template, messages, add_generation_prompt, bos_token, eos_token, extra, now)

    def chat(self, messages, max_new_tokens=256, stop=None, stream=False, **sampling):
        """Answers a conversation (message dicts or a loom.Prompt): applies the chat template, then
        generates (see generate)."""
        prompt = self.apply_chat_template(messages, add_generation_prompt=True)
        ids = self.tokenize(prompt, add_special=False, parse_special=True)
        return self.generate(ids, max_new_tokens=max_new_tokens, stop=stop, stream=stream, **sampling)

    # ------------------------------------------------------------------ evaluation

    def perplexity(self, ids_or_text, ctx=None, stride=None, n_batch=512, n_threads=None, progress=None):
        """Perplexity, exp(mean negative log-likelihood of every predicted token), of a text (tokenized
        with the model's BOS rule) or a list of ids: a loom.evaluation.PerplexityResult (.ppl, .nll_sum,
        .n_tokens; float() gives .ppl). ctx: tokens per window (None: the whole input if it fits the
        model's trained context, capped at 4096); stride: tokens between window starts (None: ctx).
        Windows follow HF's sliding-window recipe: each scores only the tokens no earlier window
        scored. progress(fraction) is called after each forward pass; False stops (LoomError)."""
        from . import evaluation
        return evaluation.perplexity(self, ids_or_text, ctx=ctx, stride=stride, n_batch=n_batch,
                                     n_threads=n_threads, progress=progress)

    def score(self, context, continuation, add_special=False):
        """lm-eval-harness loglikelihood: log p(continuation | context) summed over the continuation's
        tokens, per-token values and whether greedy decoding produces it (a loom.evaluation.ScoreResult).
        Two strings are tokenized as lm-eval does (trailing spaces of the context move to the
        continuation; an empty context is BOS); two lists of ids are used as given."""
        from . import evaluation
        return evaluation.score(self, context, continuation, add_special=add_special)


def _is_batch(prompt):
    """A list of prompts (strings, Prompts or id lists) rather than one list of ids."""
    if not isinstance(prompt, (list, tuple)) or not prompt:
        return False
    return all(isinstance(p, (str, chat.Prompt, list, tuple)) or hasattr(p, "tolist") and getattr(p, "ndim", 0) == 1
               for p in prompt)
