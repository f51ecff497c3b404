"""ctypes declarations of include/loom.h — the only place that knows the C signatures."""
import ctypes
import os
from ctypes import POINTER, c_bool, c_char_p, c_float, c_int32, c_size_t, c_uint32, c_uint64, c_void_p

LOOM_OK = 0
LOOM_ERR_BUFFER_TOO_SMALL = -8


LOOM_ERR_ABORTED = -6

PROGRESS_CALLBACK = ctypes.CFUNCTYPE(c_bool, c_void_p, c_float)
LOG_CALLBACK = ctypes.CFUNCTYPE(None, c_void_p, c_int32, c_char_p)
LOOM_LOG_ERROR, LOOM_LOG_WARN, LOOM_LOG_INFO, LOOM_LOG_DEBUG = 0, 1, 2, 3


class ModelParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("vocab_only", c_bool), ("progress_callback", PROGRESS_CALLBACK),
                ("progress_user_data", c_void_p)]


class LogitBias(ctypes.Structure):
    _fields_ = [("token", c_int32), ("bias", c_float)]


LOGITS_CALLBACK = ctypes.CFUNCTYPE(None, c_void_p, POINTER(c_int32), c_size_t, POINTER(c_float), c_size_t)
ABORT_CALLBACK = ctypes.CFUNCTYPE(c_bool, c_void_p)


class SamplingParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("temperature", c_float), ("top_k", c_int32), ("top_p", c_float),
                ("min_p", c_float), ("repetition_penalty", c_float), ("frequency_penalty", c_float),
                ("presence_penalty", c_float), ("penalty_last_n", c_int32), ("has_seed", c_bool),
                ("seed", c_uint64), ("no_repeat_ngram_size", c_int32), ("typical_p", c_float),
                ("min_new_tokens", c_int32), ("logit_bias", POINTER(LogitBias)), ("n_logit_bias", c_size_t),
                ("bad_words", POINTER(c_int32)), ("bad_words_lengths", POINTER(c_size_t)), ("n_bad_words", c_size_t),
                ("logits_callback", LOGITS_CALLBACK), ("logits_user_data", c_void_p), ("reserved", c_uint64 * 8)]


TOKEN_CALLBACK = ctypes.CFUNCTYPE(c_bool, c_void_p, c_size_t, c_int32, ctypes.POINTER(ctypes.c_char), c_size_t)


class GenerateParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("max_tokens", c_int32), ("sampling", SamplingParams),
                ("stop", POINTER(c_char_p)), ("n_stop", c_size_t), ("on_token", TOKEN_CALLBACK),
                ("user_data", c_void_p), ("num_beams", c_int32), ("num_return_sequences", c_int32),
                ("length_penalty", c_float), ("early_stopping", c_int32)]


class ChatMessage(ctypes.Structure):
    _fields_ = [("role", c_char_p), ("content", c_char_p)]


class ChatParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("add_generation_prompt", c_bool), ("bos_token", c_char_p),
                ("eos_token", c_char_p), ("extra_json", c_char_p), ("now", ctypes.c_int64)]


class PromptExample(ctypes.Structure):
    _fields_ = [("input", c_char_p), ("output", c_char_p)]


class PromptParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("instructions", c_char_p), ("context", c_char_p), ("task", c_char_p),
                ("output_format", c_char_p), ("examples", POINTER(PromptExample)), ("n_examples", c_size_t),
                ("system_turn", c_bool)]


class ContextParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("n_ctx", c_uint32), ("n_batch", c_uint32), ("n_threads", c_int32),
                ("type_kv", c_int32), ("n_seq_max", c_uint32)]


class BatchParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("add_special", c_bool), ("parse_special", c_bool),
                ("use_tokenizer_settings", c_bool), ("pad_left", c_bool), ("truncate_left", c_bool),
                ("padding", c_int32), ("pad_length", c_int32), ("pad_to_multiple_of", c_int32),
                ("pad_id", c_int32), ("max_length", c_int32), ("n_threads", c_int32)]


LOOM_PAD_NONE, LOOM_PAD_LONGEST, LOOM_PAD_FIXED = 0, 1, 2


class EmbedParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("pooling", c_int32), ("normalize", c_int32), ("max_length", c_int32),
                ("n_batch", c_int32), ("n_threads", c_int32), ("precision", c_int32)]


LOOM_POOLING = {"default": -1, "none": 0, "mean": 1, "cls": 2, "max": 3}
LOOM_PRECISION = {"f32": 0, "bf16": 1, "f16": 2}


class BpeTrainParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("vocab_size", c_uint32), ("min_frequency", c_uint32), ("byte_level", c_bool),
                ("special_tokens", POINTER(c_char_p)), ("n_special_tokens", c_size_t), ("unk_token", c_char_p),
                ("limit_alphabet", c_uint32), ("n_threads", c_int32)]


class PerplexityParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("n_ctx", c_int32), ("stride", c_int32), ("n_batch", c_int32), ("n_threads", c_int32),
                ("progress_callback", PROGRESS_CALLBACK), ("progress_user_data", c_void_p)]


BLEU_MAX_ORDER = 8


class BleuParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("lowercase", c_bool), ("tokenize", c_int32), ("smooth_method", c_int32),
                ("smooth_value", ctypes.c_double), ("max_ngram_order", c_int32), ("effective_order", c_bool)]


class BleuResult(ctypes.Structure):
    _fields_ = [("score", ctypes.c_double), ("bp", ctypes.c_double), ("ratio", ctypes.c_double),
                ("sys_len", ctypes.c_int64), ("ref_len", ctypes.c_int64), ("max_ngram_order", c_int32),
                ("precisions", ctypes.c_double * BLEU_MAX_ORDER), ("counts", ctypes.c_double * BLEU_MAX_ORDER),
                ("totals", ctypes.c_double * BLEU_MAX_ORDER)]


class ClassMetrics(ctypes.Structure):
    _fields_ = [("label", c_int32), ("support", ctypes.c_int64), ("precision", ctypes.c_double),
                ("recall", ctypes.c_double), ("f1", ctypes.c_double)]


class QuantizeParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("ftype", c_int32), ("nthread", c_int32), ("allow_requantize", c_bool),
                ("quantize_output", c_bool), ("progress_callback", PROGRESS_CALLBACK), ("progress_user_data", c_void_p)]


class ConvertParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("ftype", c_int32)]


LOOM_FTYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "q5_0": 8, "q5_1": 9, "q4_k": 14, "q6_k": 18,
              "bf16": 32}


class ClassifyParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("max_length", c_int32), ("add_special", c_bool), ("parse_special", c_bool),
                ("n_threads", c_int32)]


class IndexParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("chunk_tokens", c_int32), ("chunk_overlap", c_int32), ("n_threads", c_int32)]


class SearchHit(ctypes.Structure):
    _fields_ = [("passage", c_int32), ("document", c_int32), ("score", c_float)]


class GroundedParams(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("k", c_int32), ("cite", c_bool), ("instructions", c_char_p)]


class GroundedSource(ctypes.Structure):
    _fields_ = [("number", c_int32), ("passage", c_int32), ("document", c_int32), ("score", c_float), ("cited", c_bool)]


def _library_path():
    env = os.environ.get("LOOM_LIBRARY_PATH")
    if env:
        return env if os.path.isfile(env) else os.path.join(env, "libloom.so")
    here = os.path.dirname(os.path.abspath(__file__))
    beside = os.path.join(here, "libloom.so")
    if os.path.isfile(beside):
        return beside
    # A source checkout used in place: the repository's release build.
    repo = os.path.join(here, "..", "..", "..", ".build", "release", "libloom.so")
    if os.path.isfile(repo):
        return os.path.normpath(repo)
    return "libloom.so"  # the system's search path


def _declare(lib):
    def fn(name, restype, *argtypes):
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)

    model_p = c_void_p
    tok_p = c_void_p
    fn("loom_version", c_char_p)
    fn("loom_last_error", c_char_p)
    fn("loom_last_status", c_int32)
    fn("loom_status_string", c_char_p, c_int32)
    if hasattr(lib, "loom_log_set"):  # the log callback (include/loom.h, "logging")
        fn("loom_log_set", None, LOG_CALLBACK, c_void_p)
        fn("loom_log_set_level", c_int32, c_int32)
        fn("loom_log_get_level", c_int32)
    fn("loom_model_default_params", ModelParams)
    fn("loom_model_load", c_int32, c_char_p, POINTER(ModelParams), POINTER(c_void_p))
    fn("loom_model_free", None, model_p)
    fn("loom_model_meta_count", c_int32, model_p)
    fn("loom_model_meta_key_by_index", c_int32, model_p, c_int32, c_char_p, c_size_t)
    fn("loom_model_meta_val_str_by_index", c_int32, model_p, c_int32, c_char_p, c_size_t)
    fn("loom_model_meta_val_str", c_int32, model_p, c_char_p, c_char_p, c_size_t)
    fn("loom_model_tokenizer", c_int32, model_p, POINTER(c_void_p))
    fn("loom_tokenizer_load", c_int32, c_char_p, POINTER(c_void_p))
    fn("loom_tokenizer_free", None, tok_p)
    fn("loom_tokenize", c_int32, tok_p, c_char_p, c_size_t, POINTER(c_int32), c_size_t, c_bool, c_bool)
    fn("loom_batch_default_params", BatchParams)
    fn("loom_tokenize_batch", c_int32, tok_p, POINTER(c_char_p), POINTER(c_size_t), c_size_t, POINTER(BatchParams),
       POINTER(c_int32), POINTER(c_int32), c_size_t, POINTER(c_size_t))
    fn("loom_detokenize", c_int32, tok_p, POINTER(c_int32), c_size_t, c_char_p, c_size_t, c_bool)
    fn("loom_token_to_piece", c_int32, tok_p, c_int32, c_char_p, c_size_t, c_bool)
    fn("loom_token_text", c_int32, tok_p, c_int32, c_char_p, c_size_t)
    fn("loom_tokenizer_n_vocab", c_int32, tok_p)
    for q in ("bos", "eos", "eot", "pad", "unk"):
        fn("loom_tokenizer_" + q, c_int32, tok_p)
    fn("loom_tokenizer_add_bos", c_bool, tok_p)
    fn("loom_tokenizer_add_eos", c_bool, tok_p)
    fn("loom_tokenizer_is_eog", c_bool, tok_p, c_int32)
    fn("loom_tokenizer_is_control", c_bool, tok_p, c_int32)
    ctx_p = c_void_p
    fn("loom_context_default_params", ContextParams)
    fn("loom_context_new", c_int32, model_p, POINTER(ContextParams), POINTER(c_void_p))
    fn("loom_context_free", None, ctx_p)
    fn("loom_context_decode", c_int32, ctx_p, POINTER(c_int32), c_size_t, c_int32, c_bool)
    fn("loom_context_logits", c_int32, ctx_p, c_int32, POINTER(POINTER(c_float)))
    for q in ("n_logits", "position", "n_ctx", "n_vocab"):
        fn("loom_context_" + q, c_int32, ctx_p)
    fn("loom_context_clear", c_int32, ctx_p)
    fn("loom_context_truncate", c_int32, ctx_p, c_int32)
    fn("loom_context_decode_batch", c_int32, ctx_p, POINTER(c_int32), POINTER(c_int32), POINTER(c_bool), c_size_t)
    fn("loom_context_seq_position", c_int32, ctx_p, c_int32)
    fn("loom_context_seq_copy", c_int32, ctx_p, c_int32, c_int32)
    fn("loom_context_seq_remove", c_int32, ctx_p, c_int32)
    fn("loom_context_set_abort_callback", c_int32, ctx_p, ABORT_CALLBACK, c_void_p)
    fn("loom_lora_load", c_int32, c_char_p, POINTER(c_void_p))
    fn("loom_lora_free", None, c_void_p)
    fn("loom_lora_kind", c_int32, c_void_p)
    fn("loom_lora_merge", c_int32, c_void_p, c_void_p, c_float)
    fn("loom_lora_unmerge", c_int32, c_void_p, c_void_p)
    fn("loom_model_save", c_int32, c_void_p, c_char_p)
    fn("loom_context_set_adapters", c_int32, ctx_p, POINTER(c_void_p), POINTER(c_float), c_size_t)
    fn("loom_context_state_save", ctypes.c_int64, ctx_p, POINTER(ctypes.c_uint8), c_size_t)
    fn("loom_context_state_load", c_int32, ctx_p, POINTER(ctypes.c_uint8), c_size_t)
    fn("loom_context_state_save_file", c_int32, ctx_p, c_char_p)
    fn("loom_context_state_load_file", c_int32, ctx_p, c_char_p)
    fn("loom_sampling_default_params", SamplingParams)
    fn("loom_sampler_new", c_int32, POINTER(SamplingParams), POINTER(c_void_p))
    fn("loom_sampler_free", None, c_void_p)
    fn("loom_sampler_sample", c_int32, c_void_p, ctx_p, c_int32, POINTER(c_int32), c_size_t, POINTER(c_int32))
    fn("loom_sampler_reset", c_int32, c_void_p)
    fn("loom_sampler_seed", c_uint64, c_void_p)
    fn("loom_generate_default_params", GenerateParams)
    fn("loom_generate", c_int32, ctx_p, POINTER(POINTER(c_int32)), POINTER(c_size_t), c_size_t,
       POINTER(GenerateParams), POINTER(c_void_p))
    fn("loom_generation_free", None, c_void_p)
    fn("loom_generation_n_seq", c_int32, c_void_p)
    fn("loom_generation_tokens", c_int32, c_void_p, c_size_t, POINTER(c_int32), c_size_t)
    fn("loom_generation_text", c_int32, c_void_p, c_size_t, c_char_p, c_size_t)
    fn("loom_generation_finish_reason", c_int32, c_void_p, c_size_t)
    fn("loom_generation_score", c_int32, c_void_p, c_size_t, POINTER(c_float))
    fn("loom_chat_apply_template", c_int32, model_p, c_char_p, POINTER(ChatMessage), c_size_t, c_bool,
       c_char_p, c_size_t)
    if hasattr(lib, "loom_chat_apply_template_json"):  # chat params, JSON messages, prompt building
        fn("loom_chat_default_params", ChatParams)
        fn("loom_chat_apply_template_ex", c_int32, model_p, c_char_p, POINTER(ChatMessage), c_size_t,
           POINTER(ChatParams), c_char_p, c_size_t)
        fn("loom_chat_apply_template_json", c_int32, model_p, c_char_p, c_char_p, POINTER(ChatParams), c_char_p,
           c_size_t)
        fn("loom_prompt_default_params", PromptParams)
        fn("loom_prompt_text", c_int32, POINTER(PromptParams), c_char_p, c_size_t)
        fn("loom_prompt_messages_json", c_int32, POINTER(PromptParams), c_char_p, c_size_t)
        fn("loom_prompt_apply_template", c_int32, model_p, c_char_p, POINTER(PromptParams), POINTER(ChatParams),
           c_char_p, c_size_t)
    fn("loom_bpe_train_default_params", BpeTrainParams)
    fn("loom_bpe_train", c_int32, POINTER(c_char_p), POINTER(c_size_t), c_size_t, POINTER(c_char_p), c_size_t,
       POINTER(BpeTrainParams), POINTER(c_void_p))
    fn("loom_bpe_training_free", None, c_void_p)
    fn("loom_bpe_training_json", c_int32, c_void_p, c_char_p, c_size_t)
    fn("loom_bpe_training_save", c_int32, c_void_p, c_char_p)
    fn("loom_bpe_training_tokenizer", c_int32, c_void_p, POINTER(c_void_p))
    fn("loom_bpe_training_n_vocab", c_int32, c_void_p)
    fn("loom_bpe_training_n_merges", c_int32, c_void_p)
    if hasattr(lib, "loom_embed"):  # a library older than the embeddings ABI still serves the rest
        fn("loom_embed_default_params", EmbedParams)
        fn("loom_model_n_embd", c_int32, model_p)
        fn("loom_embed", c_int32, model_p, POINTER(c_char_p), POINTER(c_size_t), c_size_t, POINTER(EmbedParams),
           POINTER(c_float), c_size_t)
        fn("loom_encode", c_int32, model_p, POINTER(c_int32), POINTER(c_size_t), c_size_t, c_int32,
           POINTER(c_float), c_size_t)
    if hasattr(lib, "loom_mlm_logits"):  # masked-LM head (include/loom.h, "masked language models")
        fn("loom_mlm_logits", c_int32, model_p, POINTER(c_int32), c_size_t, POINTER(c_float), c_size_t)
        fn("loom_tokenizer_mask", c_int32, tok_p)
    if hasattr(lib, "loom_seq2seq_generate"):  # encoder-decoder models (T5)
        fn("loom_model_is_seq2seq", c_int32, model_p)
        fn("loom_seq2seq_generate", c_int32, model_p, POINTER(c_int32), c_size_t, c_int32, POINTER(c_int32), c_size_t)
        fn("loom_seq2seq_generate_ex", c_int32, model_p, POINTER(c_int32), c_size_t, c_int32, POINTER(GenerateParams),
           POINTER(c_void_p))
    if hasattr(lib, "loom_perplexity"):  # evaluation and metrics (include/loom.h, "evaluation", "metrics")
        dp = POINTER(ctypes.c_double)
        fn("loom_perplexity_default_params", PerplexityParams)
        fn("loom_perplexity", c_int32, model_p, POINTER(c_int32), c_size_t, POINTER(PerplexityParams), dp, dp,
           POINTER(ctypes.c_int64))
        fn("loom_score", c_int32, ctx_p, POINTER(c_int32), c_size_t, POINTER(c_int32), c_size_t, dp, POINTER(c_bool), dp)
        fn("loom_eval_encode_pair", c_int32, tok_p, c_char_p, c_char_p, c_bool, POINTER(c_int32), c_size_t,
           POINTER(c_size_t))
        fn("loom_bleu_default_params", BleuParams)
        fn("loom_bleu", c_int32, POINTER(c_char_p), c_size_t, POINTER(c_char_p), c_size_t, POINTER(BleuParams),
           POINTER(BleuResult))
        fn("loom_sentence_bleu", c_int32, c_char_p, POINTER(c_char_p), c_size_t, POINTER(BleuParams), POINTER(BleuResult))
        fn("loom_accuracy", c_int32, POINTER(c_int32), POINTER(c_int32), c_size_t, dp)
        fn("loom_precision_recall_f1", c_int32, POINTER(c_int32), POINTER(c_int32), c_size_t, c_int32, c_int32,
           ctypes.c_double, dp, dp, dp)
        fn("loom_per_class_metrics", c_int32, POINTER(c_int32), POINTER(c_int32), c_size_t, ctypes.c_double,
           POINTER(ClassMetrics), c_size_t)
        fn("loom_exact_match", c_int32, POINTER(c_char_p), POINTER(c_char_p), c_size_t, c_uint32, dp)
    if hasattr(lib, "loom_model_quantize"):  # quantize and convert (include/loom.h)
        fn("loom_quantize_default_params", QuantizeParams)
        fn("loom_model_quantize", c_int32, c_char_p, c_char_p, POINTER(QuantizeParams))
        fn("loom_convert_default_params", ConvertParams)
        fn("loom_model_convert", c_int32, c_char_p, c_char_p, POINTER(ConvertParams))
    if hasattr(lib, "loom_classify"):  # sequence classification, reward models, best-of-n
        fn("loom_classify_default_params", ClassifyParams)
        fn("loom_model_n_labels", c_int32, model_p)
        fn("loom_model_label", c_int32, model_p, c_int32, c_char_p, c_size_t)
        fn("loom_classify", c_int32, model_p, POINTER(c_char_p), POINTER(c_size_t), c_size_t, POINTER(ClassifyParams),
           POINTER(c_float), c_size_t)
        fn("loom_classify_tokens", c_int32, model_p, POINTER(c_int32), POINTER(c_size_t), c_size_t, c_int32,
           POINTER(c_float), c_size_t)
        fn("loom_generate_best_of", c_int32, ctx_p, POINTER(c_int32), c_size_t, c_char_p, c_size_t,
           POINTER(GenerateParams), model_p, POINTER(ClassifyParams), POINTER(c_void_p))
        fn("loom_generation_reward", c_int32, c_void_p, c_size_t, POINTER(c_float))
    if hasattr(lib, "loom_index_new"):  # retrieval index and grounded generation
        idx_p = c_void_p
        fn("loom_index_default_params", IndexParams)
        fn("loom_index_new", c_int32, model_p, POINTER(IndexParams), POINTER(c_void_p))
        fn("loom_index_load", c_int32, model_p, c_char_p, POINTER(IndexParams), POINTER(c_void_p))
        fn("loom_index_save", c_int32, idx_p, c_char_p)
        fn("loom_index_free", None, idx_p)
        fn("loom_index_add", c_int32, idx_p, c_char_p, c_char_p, c_size_t, c_char_p)
        fn("loom_index_n_documents", c_int32, idx_p)
        fn("loom_index_n_passages", c_int32, idx_p)
        fn("loom_index_search", c_int32, idx_p, c_char_p, c_size_t, c_int32, POINTER(SearchHit), c_size_t)
        for q in ("document_id", "document_text", "document_metadata", "passage_text"):
            fn("loom_index_" + q, c_int32, idx_p, c_int32, c_char_p, c_size_t)
        fn("loom_index_passage_document", c_int32, idx_p, c_int32)
        fn("loom_grounded_default_params", GroundedParams)
        fn("loom_generate_grounded", c_int32, ctx_p, idx_p, c_char_p, POINTER(GroundedParams), POINTER(GenerateParams),
           POINTER(c_void_p))
        fn("loom_grounded_free", None, c_void_p)
        fn("loom_grounded_text", c_int32, c_void_p, c_char_p, c_size_t)
        fn("loom_grounded_prompt", c_int32, c_void_p, c_char_p, c_size_t)
        fn("loom_grounded_finish_reason", c_int32, c_void_p)
        fn("loom_grounded_n_sources", c_int32, c_void_p)
        fn("loom_grounded_source_at", c_int32, c_void_p, c_int32, POINTER(GroundedSource))
    return lib


_lib = None


def lib():
    """The loaded libloom.so (loaded on first use)."""
    global _lib
    if _lib is None:
        _lib = _declare(ctypes.CDLL(_library_path()))
    return _lib
