/*
 * loom.h — the C ABI of Loom, an embeddable LLM runtime (libloom.so).
 *
 * Conventions (they hold for every function below):
 *  - Names: everything starts with `loom_` / `LOOM_`.
 *  - Handles are opaque pointers (loom_model, loom_tokenizer, ...). A handle is created by a
 *    `*_load` / `*_new` call and released by the matching `*_free`; `*_free(NULL)` is a no-op.
 *  - Errors: every fallible call returns a `loom_status` (0 = LOOM_OK, negative = failure by kind)
 *    and leaves a message for the calling thread in `loom_last_error()`. The message and status are
 *    thread-local and stay until the thread's next failing Loom call. No Swift error or trap ever
 *    crosses this boundary: bad input gives a status, never a crash.
 *  - Params structs come from `*_default_params()` and start with `size` (the caller's
 *    sizeof(struct)); Loom reads only the fields a caller of that size knows, so code built against an
 *    older, smaller struct keeps working.
 *  - Buffer-filling calls take (buffer, capacity) and return the count written (>= 0). When the buffer
 *    is too small they write nothing, set LOOM_ERR_BUFFER_TOO_SMALL as the thread's last status and
 *    return -(size needed); on any other failure they return that failure's (negative) loom_status.
 *    So: n >= 0 is success; n < 0 && loom_last_status() == LOOM_ERR_BUFFER_TOO_SMALL means "retry
 *    with -n". Text outputs are NUL-terminated (the size needed includes the NUL) except raw token
 *    bytes (`loom_detokenize`, `loom_token_to_piece`), which are not.
 *  - Strings in are UTF-8 (invalid sequences are replaced by U+FFFD when tokenizing); lengths are bytes.
 *  - Ownership and lifetime are stated per function. Pointers returned as `const` are borrowed.
 *  - Thread safety: a loom_model and a loom_tokenizer are immutable after loading and may be used by
 *    any number of threads at once. A loom_context, loom_sampler and loom_generation belong to one
 *    thread at a time (give each thread its own context; many contexts may share one model).
 */
#ifndef LOOM_H
#define LOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOOM_VERSION_MAJOR 0
#define LOOM_VERSION_MINOR 2
#define LOOM_VERSION_PATCH 0

/* ---------------------------------------------------------------- status and errors */

typedef int32_t loom_status;
#define LOOM_OK                     0
#define LOOM_ERR_INVALID_ARGUMENT  (-1) /* NULL pointer, bad value, wrong handle use */
#define LOOM_ERR_IO                (-2) /* missing file, unreadable folder */
#define LOOM_ERR_FORMAT            (-3) /* malformed, truncated or hostile file */
#define LOOM_ERR_UNSUPPORTED       (-4) /* valid input Loom does not handle (yet) */
#define LOOM_ERR_OUT_OF_MEMORY     (-5)
#define LOOM_ERR_ABORTED           (-6) /* cancelled by a callback */
#define LOOM_ERR_OUT_OF_RANGE      (-7) /* token id, index or position outside its range */
#define LOOM_ERR_BUFFER_TOO_SMALL  (-8) /* see the buffer convention above */
#define LOOM_ERR_INTERNAL          (-9) /* a bug in Loom; please report it */

/* The calling thread's last error message ("" if none). Borrowed: valid until the thread's next Loom
 * call. Never NULL. */
const char *loom_last_error(void);

/* The calling thread's last failure status (LOOM_OK if none). */
loom_status loom_last_status(void);

/* A constant description of a status code ("invalid argument", ...). Static storage; never NULL. */
const char *loom_status_string(loom_status status);

/* "major.minor.patch". Static storage; never NULL. Thread-safe. */
const char *loom_version(void);

/* ---------------------------------------------------------------- logging */

/* Loom never writes to stdout or stderr. Its messages (a model loaded: architecture, tensors, bytes,
 * time; a load cancelled; a model whose tokenizer could not be built; ...) go to one process-wide
 * callback, and nowhere when none is set (the default). */
#define LOOM_LOG_ERROR 0
#define LOOM_LOG_WARN  1
#define LOOM_LOG_INFO  2 /* the default threshold */
#define LOOM_LOG_DEBUG 3

/* Receives one message: its level (LOOM_LOG_*) and its text (UTF-8, NUL-terminated, no trailing
 * newline; borrowed for the call). Called on whichever thread logs — possibly several threads at
 * once, so it must be thread-safe. It may call Loom functions, except loom_log_set (which would wait
 * for the call itself to return). */
typedef void (*loom_log_callback)(void *user_data, int32_t level, const char *message);

/* Sends messages at or above the threshold to cb with user_data; cb NULL: silent again. Replaces any
 * previous callback. Thread-safe; waits for calls of the previous callback in progress on other
 * threads to return, so that once loom_log_set returns the previous callback and its user_data are no
 * longer used (the caller may release them). */
void loom_log_set(loom_log_callback cb, void *user_data);

/* Sets the threshold: messages of `level` and more severe ones (lower values) are delivered; default
 * LOOM_LOG_INFO. LOOM_ERR_INVALID_ARGUMENT for a level outside LOOM_LOG_ERROR ... LOOM_LOG_DEBUG.
 * Thread-safe; applies to messages logged after it returns. */
loom_status loom_log_set_level(int32_t level);

/* The current threshold (LOOM_LOG_*). Thread-safe. */
int32_t loom_log_get_level(void);

/* ---------------------------------------------------------------- tokens */

typedef int32_t loom_token;
#define LOOM_TOKEN_NULL (-1) /* "no such token" in queries */

/* ---------------------------------------------------------------- models */

typedef struct loom_model loom_model;

/* Load progress: called on the thread running loom_model_load with the share of the load done, a
 * value in [0, 1] that rises strictly from call to call: 0 once the file is parsed and the tokenizer
 * built, then as the weights are validated and converted (tensor by tensor, by bytes), and exactly 1
 * when the model is complete (vocab_only loads: 0 and 1 only). Return true to go on, false to cancel:
 * loom_model_load then releases everything it took (memory, mapped files) and fails with
 * LOOM_ERR_ABORTED — false on the final 1 cancels too. The callback must not free or use the model
 * being loaded (there is none yet); it may call other Loom functions. */
typedef bool (*loom_progress_callback)(void *user_data, float progress);

typedef struct loom_model_params {
    uint32_t size;   /* sizeof(loom_model_params) as the caller was compiled */
    bool vocab_only; /* load the vocabulary and metadata only (any GGUF, whatever its architecture) */
    loom_progress_callback progress_callback; /* may be NULL (default): no progress reports */
    void *progress_user_data;                 /* passed to progress_callback; only used during the load */
} loom_model_params;

/* Defaults: vocab_only = false, no progress callback. Thread-safe. */
loom_model_params loom_model_default_params(void);

/* Loads a model from a GGUF file or an HF folder (config.json, tokenizer.json, *.safetensors).
 * params may be NULL (defaults). On success *out_model owns a new model; release it with
 * loom_model_free. On failure *out_model is set to NULL (when out_model is not NULL) and nothing
 * stays allocated; LOOM_ERR_ABORTED when the progress callback cancelled the load. Thread-safe: any
 * number of threads may load at once (each gets its own progress reports). */
loom_status loom_model_load(const char *path, const loom_model_params *params, loom_model **out_model);

/* Releases a model and everything borrowed from it (its tokenizer). NULL is a no-op. The caller must
 * make sure no other thread still uses the model. */
void loom_model_free(loom_model *model);

/* Number of metadata entries (GGUF key/values, or config.json's top-level keys); negative status on
 * failure. */
int32_t loom_model_meta_count(const loom_model *model);

/* Key of metadata entry `index` into buf (NUL-terminated). Buffer convention. */
int32_t loom_model_meta_key_by_index(const loom_model *model, int32_t index, char *buf, size_t cap);

/* Value of metadata entry `index` as text (numbers in decimal, arrays as "[a, b, ...]" with long
 * arrays elided). Buffer convention. */
int32_t loom_model_meta_val_str_by_index(const loom_model *model, int32_t index, char *buf, size_t cap);

/* Value of the metadata entry named `key` as text. Buffer convention; LOOM_ERR_OUT_OF_RANGE if the
 * key is absent. */
int32_t loom_model_meta_val_str(const loom_model *model, const char *key, char *buf, size_t cap);

/* ---------------------------------------------------------------- tokenizers */

typedef struct loom_tokenizer loom_tokenizer;

/* Loads a tokenizer by itself: an HF tokenizer.json, a folder holding one (and optionally
 * tokenizer_config.json), or a GGUF file (vocab-only GGUFs with no tensors included).
 * On success *out owns a new tokenizer; release it with loom_tokenizer_free. */
loom_status loom_tokenizer_load(const char *path, loom_tokenizer **out);

/* The model's tokenizer. *out is borrowed from the model: valid until loom_model_free(model); do not
 * free it (loom_tokenizer_free on it is a harmless no-op). Fails (LOOM_ERR_UNSUPPORTED) when the
 * model's vocabulary type is not supported. */
loom_status loom_model_tokenizer(const loom_model *model, const loom_tokenizer **out);

/* Releases a tokenizer from loom_tokenizer_load. NULL, or one borrowed from a model, is a no-op. */
void loom_tokenizer_free(loom_tokenizer *tokenizer);

/* Tokenizes `len` bytes of UTF-8 `text` into out[0..cap). add_special: add BOS/EOS as the model's
 * metadata asks. parse_special: treat control-token text such as "<|im_start|>" as those tokens
 * (user-defined added tokens are always matched). Buffer convention (count of tokens). text may be
 * NULL only when len is 0. */
int32_t loom_tokenize(const loom_tokenizer *tokenizer, const char *text, size_t len, loom_token *out,
                      size_t cap, bool add_special, bool parse_special);

/* Writes the UTF-8 text of `n` tokens into buf (not NUL-terminated). render_special: write control
 * tokens' text (e.g. "<|im_end|>") instead of dropping it. Buffer convention (bytes);
 * LOOM_ERR_OUT_OF_RANGE for an invalid id. */
int32_t loom_detokenize(const loom_tokenizer *tokenizer, const loom_token *tokens, size_t n, char *buf,
                        size_t cap, bool render_special);

/* Writes the raw bytes of one token into buf (not NUL-terminated). A token may hold part of a UTF-8
 * character: streaming callers keep incomplete trailing bytes until the next piece completes them.
 * Buffer convention (bytes); LOOM_ERR_OUT_OF_RANGE for an invalid id. */
int32_t loom_token_to_piece(const loom_tokenizer *tokenizer, loom_token token, char *buf, size_t cap,
                            bool render_special);

/* The vocabulary string of a token as stored (e.g. "Ġthe"), NUL-terminated. Buffer convention. */
int32_t loom_token_text(const loom_tokenizer *tokenizer, loom_token token, char *buf, size_t cap);

/* Vocabulary size; negative status on failure. */
int32_t loom_tokenizer_n_vocab(const loom_tokenizer *tokenizer);

/* Special tokens: the id, or LOOM_TOKEN_NULL when the vocabulary has none (or tokenizer is NULL). */
loom_token loom_tokenizer_bos(const loom_tokenizer *tokenizer);
loom_token loom_tokenizer_eos(const loom_tokenizer *tokenizer);
loom_token loom_tokenizer_eot(const loom_tokenizer *tokenizer);
loom_token loom_tokenizer_pad(const loom_tokenizer *tokenizer);
loom_token loom_tokenizer_unk(const loom_tokenizer *tokenizer);

/* Whether tokenizing with add_special adds BOS / EOS. */
bool loom_tokenizer_add_bos(const loom_tokenizer *tokenizer);
bool loom_tokenizer_add_eos(const loom_tokenizer *tokenizer);

/* True for tokens that end generation (EOS, EOT and the vocabulary's other end-of-generation tokens). */
bool loom_tokenizer_is_eog(const loom_tokenizer *tokenizer, loom_token token);

/* True for control tokens (rendered only with render_special). */
bool loom_tokenizer_is_control(const loom_tokenizer *tokenizer, loom_token token);

/* Batch encoding with optional truncation and padding (applied here only, never by loom_tokenize). */
typedef struct loom_batch_params {
    uint32_t size;              /* sizeof(loom_batch_params) as the caller was compiled */
    bool add_special;           /* add the post-processor's tokens (BOS/EOS, [CLS]/[SEP]); default true */
    bool parse_special;         /* as loom_tokenize; default false */
    bool use_tokenizer_settings;/* start from tokenizer.json's "truncation"/"padding"; default false */
    bool pad_left;              /* pad on the left (else right); default false */
    bool truncate_left;         /* drop tokens from the start (else the end); default false */
    int32_t padding;            /* LOOM_PAD_NONE (default), LOOM_PAD_LONGEST or LOOM_PAD_FIXED */
    int32_t pad_length;         /* LOOM_PAD_FIXED: rows shorter than this are padded to it */
    int32_t pad_to_multiple_of; /* round the padded length up to a multiple; 0 = no rounding */
    loom_token pad_id;          /* LOOM_TOKEN_NULL (default): the tokenizer's pad token, else 0 */
    int32_t max_length;         /* truncate each row to this many tokens (specials included); 0 = none */
    int32_t n_threads;          /* threads encoding rows in parallel; default 1 */
} loom_batch_params;

#define LOOM_PAD_NONE 0
#define LOOM_PAD_LONGEST 1
#define LOOM_PAD_FIXED 2

/* Defaults as described above. Thread-safe. */
loom_batch_params loom_batch_default_params(void);

/* Encodes n texts (texts[i] has lens[i] bytes of UTF-8; lens may be NULL for NUL-terminated texts)
 * into one flat array: row i is ids[offsets[i] ..< offsets[i+1]] (all rows equal in length when
 * padded). mask, if not NULL, receives 1 for real tokens and 0 for padding at the same positions.
 * offsets must hold n + 1 entries. Buffer convention over ids (and mask): returns the total number
 * of ids, or -(total) when cap is too small (offsets are still filled). params may be NULL. */
int32_t loom_tokenize_batch(const loom_tokenizer *tokenizer, const char *const *texts, const size_t *lens,
                            size_t n, const loom_batch_params *params, loom_token *ids, int32_t *mask,
                            size_t cap, size_t *offsets);

/* ---------------------------------------------------------------- contexts */

/* A context runs a model: it owns the KV cache, a thread pool, scratch memory and the last logits.
 * Single-threaded: use one context from one thread at a time. Any number of contexts may share one
 * model (each from its own thread). The model must outlive every context made from it. */
typedef struct loom_context loom_context;

typedef struct loom_context_params {
    uint32_t size;      /* sizeof(loom_context_params) as the caller was compiled */
    uint32_t n_ctx;     /* positions the KV cache holds; 0 = the model's trained length, capped at 4096 */
    uint32_t n_batch;   /* most tokens per forward pass (longer inputs are split); default 512 */
    int32_t n_threads;  /* threads of the context's pool, the caller included; >= 1 (default: cores, at most 8) */
    int32_t type_kv;    /* KV cache elements: LOOM_KV_F32 (exact, default) or LOOM_KV_F16 (half the memory) */
    uint32_t n_seq_max; /* sequences (ids 0..n_seq_max-1) the context holds, each with its own KV cache of
                         * n_ctx positions allocated on first use (sequence 0 at creation); default 16 */
} loom_context_params;

#define LOOM_KV_F32 0 /* GGML's type ids */
#define LOOM_KV_F16 1

/* Defaults as described above. Thread-safe. */
loom_context_params loom_context_default_params(void);

/* Creates a context for a model loaded with weights (not vocab_only). params may be NULL. On success
 * *out owns a new context; release it with loom_context_free before freeing the model. */
loom_status loom_context_new(const loom_model *model, const loom_context_params *params, loom_context **out);

/* Releases a context. NULL is a no-op. */
void loom_context_free(loom_context *ctx);

/* Runs n tokens at positions start_pos, start_pos+1, ... (start_pos = -1: the current position;
 * a lower start_pos overwrites the cache from there). Keeps logits for every token (logits_all) or
 * only the last. LOOM_ERR_OUT_OF_RANGE for invalid ids or when the context would overflow n_ctx. */
loom_status loom_context_decode(loom_context *ctx, const loom_token *tokens, size_t n, int32_t start_pos,
                                bool logits_all);

/* Points *out at the n_vocab logits of row `row` of the last decode (row 0 is the last token when
 * logits_all was false; row i is the i-th token otherwise). Borrowed: valid until the context's next
 * decode, clear or free. */
loom_status loom_context_logits(const loom_context *ctx, int32_t row, const float **out);

/* Number of logits rows the last decode kept; negative status on failure. */
int32_t loom_context_n_logits(const loom_context *ctx);

/* Positions filled so far; n_ctx; vocabulary size. Negative status on failure. */
int32_t loom_context_position(const loom_context *ctx);
int32_t loom_context_n_ctx(const loom_context *ctx);
int32_t loom_context_n_vocab(const loom_context *ctx);

/* Forgets every cached position. */
loom_status loom_context_clear(loom_context *ctx);

/* Forgets positions >= pos (keeps 0..pos-1). */
loom_status loom_context_truncate(loom_context *ctx, int32_t pos);

/* -- several sequences in one context. The single-sequence calls above act on sequence 0. */

/* Advances several sequences in shared forward passes: row i puts tokens[i] at the next position of
 * sequence seq_ids[i] (rows of one sequence in order; sequences may interleave). logits[i] says
 * whether row i keeps its logits (NULL = the last row of each sequence does). Kept rows are numbered
 * in row order for loom_context_logits. Everything is validated before any work. */
loom_status loom_context_decode_batch(loom_context *ctx, const loom_token *tokens, const int32_t *seq_ids,
                                      const bool *logits, size_t n);

/* Positions filled in sequence seq; negative status on failure. */
int32_t loom_context_seq_position(const loom_context *ctx, int32_t seq);

/* Makes sequence dst a copy of sequence src (cached positions and tokens), e.g. to fork a prompt. */
loom_status loom_context_seq_copy(loom_context *ctx, int32_t src, int32_t dst);

/* Forgets every position of sequence seq (its cache memory is kept for reuse). */
loom_status loom_context_seq_remove(loom_context *ctx, int32_t seq);

/* -- Adapters (PEFT and llama.cpp fine-tunes): run per context, or merged into the model */

/* An adapter of any kind: LoRA, (IA)3, prompt tuning or prefix tuning. */
typedef struct loom_lora loom_lora;

/* Adapter kinds (loom_lora_kind). */
#define LOOM_ADAPTER_LORA          0 /* PEFT LORA folder or llama.cpp GGUF LoRA */
#define LOOM_ADAPTER_IA3           1 /* PEFT IA3: learned k/v/down-input scaling vectors */
#define LOOM_ADAPTER_PROMPT_TUNING 2 /* PEFT PROMPT_TUNING: virtual input embeddings before every sequence */
#define LOOM_ADAPTER_PREFIX_TUNING 3 /* PEFT PREFIX_TUNING: per-layer keys/values before every sequence */

/* Loads an adapter; its kind comes from the file. A PEFT folder (adapter_config.json +
 * adapter_model.safetensors): LORA (r, lora_alpha, use_rslora; q/k/v/o/gate/up/down projections),
 * IA3 (k/v outputs and the down projection's input scaled; strength s makes each factor
 * 1 + s (v - 1)), PROMPT_TUNING or PREFIX_TUNING (causal LM, no prefix projection). Or a llama.cpp
 * GGUF LoRA adapter (f32). A PEFT adapter also runs on a GGUF of its base (q/k rows and prefix keys
 * are reordered for llama.cpp's RoPE layout).
 * On success *out owns it; free it with loom_lora_free at any time (a context given it keeps its own
 * reference). Immutable: one adapter may serve any number of contexts and threads. */
loom_status loom_lora_load(const char *path, loom_lora **out);

/* Releases an adapter. NULL is a no-op. */
void loom_lora_free(loom_lora *lora);

/* The adapter's kind (LOOM_ADAPTER_*); LOOM_ERR_INVALID_ARGUMENT for NULL. */
int32_t loom_lora_kind(const loom_lora *lora);

/* Runs the context's next decodes with n adapters, adapter i at strength scales[i] (1 = as trained;
 * n = 0 removes them): any number of LoRA / (IA)3 adapters (llama family), and at most one prompt- or
 * prefix-tuning adapter (strength 1), whose virtual tokens then take positions 0..k-1 of every
 * sequence before its first token (loom_context_seq_position counts them). Shapes are checked against
 * the model (LOOM_ERR_INVALID_ARGUMENT names the first mismatch); LOOM_ERR_UNSUPPORTED where the
 * architecture cannot run the kind. Cached positions keep what they were computed with: clear the
 * context when switching adapters. Other contexts are not affected. The context keeps the adapters
 * alive until it is freed or given others. */
loom_status loom_context_set_adapters(loom_context *ctx, loom_lora *const *adapters, const float *scales, size_t n);

/* Merges a LoRA or (IA)3 adapter at strength scale into the model's weights (PEFT merge_and_unload;
 * llama family). Rules:
 * - Refused (LOOM_ERR_INVALID_ARGUMENT) while any context of the model exists: free them first.
 *   Contexts created while a merge runs wait for it.
 * - F32 / F16 / BF16 weights: W + scale * dW computed in f32, rounded once to the weight's type.
 * - Quantized weights are not requantized: a merged weight becomes F32 (dequantized W + dW), so the
 *   merged model computes what the adapter at run time does (tiny-llama q8_0: within 5e-6 logit).
 *   The model then needs 4 bytes per merged weight; requantize an export with loom_model_quantize.
 * - Prompt and prefix tuning cannot be merged (LOOM_ERR_UNSUPPORTED).
 * The model holds a reference to the adapter until it is unmerged. */
loom_status loom_lora_merge(loom_model *model, const loom_lora *adapter, float scale);

/* Takes the latest merge of adapter out of the weights again (with the scale it was merged with):
 * F32 weights come back to rounding (1e-6), F16 / BF16 to one rounding, and a quantized weight is
 * restored bit for bit once no merged adapter touches it. Same rules on contexts as loom_lora_merge;
 * LOOM_ERR_INVALID_ARGUMENT when the adapter is not merged. */
loom_status loom_lora_unmerge(loom_model *model, const loom_lora *adapter);

/* Writes the model as it is now (merged adapters included) to a GGUF file: the source's metadata and
 * tensor order, projection weights as the model holds them, every other tensor copied byte for byte;
 * written under a temporary name and renamed over path at the end. A model loaded from an HF folder
 * (llama family) is converted as loom_model_convert does, with the projections from memory. The
 * output loads in Loom and llama.cpp.
 * Thread-safe with decodes on other threads; merges wait for it. */
loom_status loom_model_save(const loom_model *model, const char *path);

/* -- control */

/* Polled between layers of every forward pass (decode, generate); returning true stops the work with
 * LOOM_ERR_ABORTED. The sequences keep only the positions of batches completed before it, so the
 * context stays usable. Called on the thread running the decode. NULL callback = never abort. */
typedef bool (*loom_abort_callback)(void *user_data);
loom_status loom_context_set_abort_callback(loom_context *ctx, loom_abort_callback callback, void *user_data);

/* -- state: every sequence's tokens and KV cache and the last logits, so that a restored context
 * continues exactly as the saved one would have. A state fits a context of the same model and
 * type_kv whose n_ctx and n_seq_max are large enough. */

/* Writes the state to buf (buffer convention over bytes, as a 64-bit count). */
int64_t loom_context_state_save(const loom_context *ctx, uint8_t *buf, size_t cap);

/* Replaces the context's state with bytes from loom_context_state_save. The state is checked whole
 * first: on failure (LOOM_ERR_FORMAT for damaged bytes, LOOM_ERR_INVALID_ARGUMENT for another model)
 * the context is unchanged. */
loom_status loom_context_state_load(loom_context *ctx, const uint8_t *buf, size_t n);

/* The same through a file (path UTF-8; replaced when saving). */
loom_status loom_context_state_save_file(const loom_context *ctx, const char *path);
loom_status loom_context_state_load_file(loom_context *ctx, const char *path);

/* ---------------------------------------------------------------- sampling */

/* One entry of a logit bias: bias is added to token's logit (-INFINITY bans it). */
typedef struct loom_logit_bias {
    loom_token token;
    float bias;
} loom_logit_bias;

/* A user logit processor: rewrite logits[0..n_vocab) in place (HF LogitsProcessor), given the
 * sequence's history (prompt then generated ids, oldest first; borrowed for the call). Called on the
 * thread that samples. */
typedef void (*loom_logits_callback)(void *user_data, const loom_token *history, size_t n_history,
                                     float *logits, size_t n_vocab);

/* Sampling settings with HF generate() meanings; each "off" value leaves its sampler out.
 * Chain order (HF's): logit bias -> repetition penalty -> frequency/presence penalties -> no-repeat
 * n-gram -> bad words -> min_new_tokens -> logits_callback -> [sampling only:] temperature -> top-k ->
 * top-p -> min-p -> typical-p -> draw. temperature 0 = greedy (argmax, ties to the lowest id).
 * Pointers in the struct are borrowed: they must stay valid while a sampler or generation made from
 * it runs (a sampler copies the bias and bad words; the callback and user_data are kept). */
typedef struct loom_sampling_params {
    uint32_t size;              /* sizeof(loom_sampling_params) as the caller was compiled */
    float temperature;          /* >= 0; 0 = greedy; default 1 */
    int32_t top_k;              /* 0 = off (default) */
    float top_p;                /* (0, 1]; 1 = off (default) */
    float min_p;                /* [0, 1]; 0 = off (default) */
    float repetition_penalty;   /* > 0; 1 = off (default); HF: over every previous id, prompt included */
    float frequency_penalty;    /* 0 = off */
    float presence_penalty;     /* 0 = off */
    int32_t penalty_last_n;     /* -1 or 0 = whole history (HF, default); n > 0 = last n tokens (llama.cpp) */
    bool has_seed;              /* false = a random seed (reported by loom_sampler_seed) */
    uint64_t seed;              /* the draw's seed when has_seed: same seed -> same tokens */
    int32_t no_repeat_ngram_size; /* HF: ban tokens that would repeat an n-gram of the history; 0 = off */
    float typical_p;            /* HF locally typical sampling, (0, 1]; 1 = off (default) */
    int32_t min_new_tokens;     /* HF: end-of-generation tokens banned until this many are new; 0 = off.
                                   Only loom_generate knows the prompt length: a bare sampler ignores it */
    const loom_logit_bias *logit_bias; /* n_logit_bias entries added to those tokens' logits; may be NULL */
    size_t n_logit_bias;
    const loom_token *bad_words;        /* HF bad_words_ids, concatenated: word i has bad_words_lengths[i] */
    const size_t *bad_words_lengths;    /* tokens; a word of n > 1 bans its last token after its first n-1 */
    size_t n_bad_words;
    loom_logits_callback logits_callback; /* a user processor, run after the built-in ones and before the
                                             warpers (HF's logits_processor=); may be NULL */
    void *logits_user_data;
    /* Must be zero. Later sampling settings take these slots (with zero meaning their default), so
     * that this struct's size, and the fields after it in loom_generate_params, never move. */
    uint64_t reserved[8];
} loom_sampling_params;

/* Defaults as above. Thread-safe. */
loom_sampling_params loom_sampling_default_params(void);

/* A sampler chain: owns its samplers, single-threaded, keeps its RNG state between calls. */
typedef struct loom_sampler loom_sampler;

/* Builds a chain from params (NULL = defaults). On success *out owns it; free with loom_sampler_free.
 * LOOM_ERR_INVALID_ARGUMENT names the first parameter out of range. */
loom_status loom_sampler_new(const loom_sampling_params *params, loom_sampler **out);

/* Releases a chain. NULL is a no-op. */
void loom_sampler_free(loom_sampler *sampler);

/* Samples the next token from row `row` of the context's last logits (-1 = the last row), given the
 * token history (prompt + generated, oldest first; may be NULL when n_history is 0). The logits are
 * copied, not changed. */
loom_status loom_sampler_sample(loom_sampler *sampler, const loom_context *ctx, int32_t row,
                                const loom_token *history, size_t n_history, loom_token *out);

/* Restarts the chain's random sequence from its seed. */
loom_status loom_sampler_reset(loom_sampler *sampler);

/* The seed the chain draws with (random when none was given). */
uint64_t loom_sampler_seed(const loom_sampler *sampler);

/* ---------------------------------------------------------------- generation */

/* Why a sequence stopped. */
typedef int32_t loom_finish_reason;
#define LOOM_FINISH_EOG          0 /* an end-of-generation token (not included in the output) */
#define LOOM_FINISH_LENGTH       1 /* max_tokens reached */
#define LOOM_FINISH_STOP         2 /* a stop string appeared (the text ends before it) */
#define LOOM_FINISH_CANCELLED    3 /* the callback returned false */
#define LOOM_FINISH_CONTEXT_FULL 4 /* no room left in n_ctx */

/* Streaming callback: called with each newly visible piece of text of sequence `seq` — whole UTF-8
 * characters only, stop strings held back — and the token that completed it. `piece` is borrowed for
 * the call. Return false to stop that sequence (LOOM_FINISH_CANCELLED). Called on the calling thread. */
typedef bool (*loom_token_callback)(void *user_data, size_t seq, loom_token token, const char *piece, size_t len);

typedef struct loom_generate_params {
    uint32_t size;                  /* sizeof(loom_generate_params) as the caller was compiled */
    int32_t max_tokens;             /* most new tokens per sequence; <= 0 = until n_ctx is full; default 256 */
    loom_sampling_params sampling;  /* default: greedy (temperature 0) */
    const char *const *stop;        /* n_stop stop strings (UTF-8, NUL-terminated); may be NULL */
    size_t n_stop;
    loom_token_callback on_token;   /* may be NULL; not called by beam search */
    void *user_data;                /* passed to on_token */
    int32_t num_beams;              /* > 1: HF beam search (greedy sampling only, no stop strings); default 1 */
    int32_t num_return_sequences;   /* best beams returned per prompt, 1..num_beams; default 1 */
    float length_penalty;           /* beam score = sum of log-probs / length^length_penalty; default 1 */
    int32_t early_stopping;         /* LOOM_EARLY_STOPPING_*: HF early_stopping; default HEURISTIC (False) */
} loom_generate_params;

#define LOOM_EARLY_STOPPING_HEURISTIC 0 /* HF False: stop when no running beam can beat the kept ones */
#define LOOM_EARLY_STOPPING_ALWAYS    1 /* HF True: stop once num_beams hypotheses are finished */
#define LOOM_EARLY_STOPPING_NEVER     2 /* HF "never": judge running beams at the maximum length */

/* Defaults as above. Thread-safe. */
loom_generate_params loom_generate_default_params(void);

/* The outcome of loom_generate: per sequence, the new ids, their text and the finish reason. */
typedef struct loom_generation loom_generation;

/* Generates a continuation for each of n_seq prompts (prompts[i] has n_prompt[i] tokens) on ctx:
 * prompt i runs in sequence i (n_seq <= n_seq_max), all advance together in shared forward passes,
 * each with its own sampler chain (seeded alike: the result equals n_seq separate calls). A sequence's
 * cache is reused for the prefix its prompt shares with what it holds. With num_beams > 1 the prompts
 * are beam-searched one after the other in sequences 0..num_beams-1, and the result holds
 * num_return_sequences entries per prompt (prompt-major, best first). On success *out owns the result;
 * free it with loom_generation_free. */
loom_status loom_generate(loom_context *ctx, const loom_token *const *prompts, const size_t *n_prompt, size_t n_seq,
                          const loom_generate_params *params, loom_generation **out);

/* Releases a result. NULL is a no-op. */
void loom_generation_free(loom_generation *gen);

/* Number of sequences in the result. */
int32_t loom_generation_n_seq(const loom_generation *gen);

/* New token ids of sequence seq into out (buffer convention, count of tokens). */
int32_t loom_generation_tokens(const loom_generation *gen, size_t seq, loom_token *out, size_t cap);

/* Text of sequence seq, NUL-terminated (buffer convention). */
int32_t loom_generation_text(const loom_generation *gen, size_t seq, char *buf, size_t cap);

/* Beam search: the score of result seq (sum of log-probs / length^length_penalty) into *out;
 * LOOM_ERR_UNSUPPORTED for a sampled or greedy result (it has none). */
loom_status loom_generation_score(const loom_generation *gen, size_t seq, float *out);

/* Finish reason of sequence seq, or a negative status. */
loom_finish_reason loom_generation_finish_reason(const loom_generation *gen, size_t seq);

/* ---------------------------------------------------------------- chat templates */

typedef struct loom_chat_message {
    const char *role;     /* "system", "user", "assistant", ... (UTF-8, NUL-terminated) */
    const char *content;
} loom_chat_message;

/* Renders messages with a chat template exactly as transformers' apply_chat_template(tokenize=False)
 * does: jinja2's ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, loop controls,
 * raise_exception, strftime_now (local time), tojson (json.dumps, ensure_ascii=False) and the
 * {% generation %} block (rendered as its body); the variables messages, tools and documents (None),
 * add_generation_prompt, bos_token and eos_token. tmpl NULL = the model's own template (GGUF
 * tokenizer.chat_template or the HF folder's); model may be NULL when tmpl is given (bos/eos tokens
 * are then empty). A template that raises — raise_exception(msg), or any error jinja2 would raise
 * (undefined value used, type error, sandbox refusal) — fails with LOOM_ERR_INVALID_ARGUMENT and the
 * message (raise_exception's verbatim, after the function name); a template jinja2 cannot parse fails
 * with LOOM_ERR_FORMAT; a model without a template and tmpl NULL, LOOM_ERR_UNSUPPORTED. Every input
 * is only read during the call; the strings may be freed when it returns. Buffer convention
 * (NUL-terminated; a too-small buffer renders again on the retry). Thread-safe. */
int32_t loom_chat_apply_template(const loom_model *model, const char *tmpl, const loom_chat_message *messages,
                                 size_t n_messages, bool add_generation_prompt, char *buf, size_t cap);

/* Settings of loom_chat_apply_template_ex / _json and loom_prompt_apply_template. */
typedef struct loom_chat_params {
    uint32_t size;               /* sizeof(loom_chat_params) as the caller was compiled */
    bool add_generation_prompt;  /* end with the opening of an assistant turn; default false (transformers') */
    const char *bos_token;       /* the template's bos_token; NULL (default) = the model's BOS text, "" without a model */
    const char *eos_token;       /* the template's eos_token; NULL (default) = the model's EOS text, "" without a model */
    const char *extra_json;      /* NULL (default) or a JSON object whose keys become template variables, as
                                    apply_chat_template's **kwargs: {"tools": [...], "enable_thinking": false, ...};
                                    they override the standard variables (so "tools" replaces None) */
    int64_t now;                 /* the clock strftime_now reads, in seconds since the Unix epoch shown in local
                                    time (reproducible prompts); 0 (default) = the current time */
} loom_chat_params;

/* Defaults as above. Thread-safe. */
loom_chat_params loom_chat_default_params(void);

/* As loom_chat_apply_template, with params (NULL = defaults) giving add_generation_prompt, the
 * bos/eos tokens (also without a model) and extra variables. LOOM_ERR_INVALID_ARGUMENT when
 * params->extra_json is not a JSON object. Buffer convention. Thread-safe. */
int32_t loom_chat_apply_template_ex(const loom_model *model, const char *tmpl, const loom_chat_message *messages,
                                    size_t n_messages, const loom_chat_params *params, char *buf, size_t cap);

/* As loom_chat_apply_template_ex with the messages as UTF-8 JSON text: an array of message objects
 * that the template sees as Python's json.loads gives them, so any message shape renders as in
 * transformers — tool_calls, name, tool_call_id, content parts ([{"type": "text", "text": ...}]), ...
 * (One difference: JSON numbers with an integral value, 1.0 included, become ints.)
 * LOOM_ERR_INVALID_ARGUMENT when messages_json is NULL, not JSON, or not an array. Buffer
 * convention. Thread-safe. */
int32_t loom_chat_apply_template_json(const loom_model *model, const char *tmpl, const char *messages_json,
                                      const loom_chat_params *params, char *buf, size_t cap);

/* ---------------------------------------------------------------- prompt building */

/* The anatomy of a prompt — instructions, context, task, few-shot examples, output format —
 * assembled into chat messages or one plain text. Each part is stripped of surrounding whitespace;
 * NULL or empty parts are left out.
 * Messages: a system turn with the instructions and output format; each example as a user turn (its
 * input) and an assistant turn (its output); a final user turn with the context and the task. A turn
 * holding only the instructions (system) or only the task (user) is that text; otherwise each part
 * gets a heading ("## Instructions", "## Output format", "## Context", "## Task") and parts are
 * separated by a blank line. system_turn false (templates that reject the system role): the system
 * text opens the first user turn instead, followed by a blank line.
 * Text: sections "## Instructions", "## Context", "## Examples" ("Input: ...\nOutput: ..." per example,
 * blank line between examples), "## Output format", "## Task", in that order, separated by blank
 * lines, no trailing newline (a prompt that is only a task is that text). */
typedef struct loom_prompt_example {
    const char *input;   /* UTF-8, NUL-terminated; not NULL */
    const char *output;
} loom_prompt_example;

typedef struct loom_prompt_params {
    uint32_t size;                         /* sizeof(loom_prompt_params) as the caller was compiled */
    const char *instructions;              /* each part: UTF-8, NUL-terminated; NULL (default) = none */
    const char *context;
    const char *task;
    const char *output_format;
    const loom_prompt_example *examples;   /* n_examples pairs; may be NULL when n_examples is 0 */
    size_t n_examples;
    bool system_turn;                      /* default true (see above) */
} loom_prompt_params;

/* Defaults: no parts, no examples, system_turn true. Thread-safe. */
loom_prompt_params loom_prompt_default_params(void);

/* The plain-text prompt, NUL-terminated. prompt must not be NULL; it and everything it points to are
 * only read during the call. Buffer convention. Thread-safe. */
int32_t loom_prompt_text(const loom_prompt_params *prompt, char *buf, size_t cap);

/* The chat messages as a JSON array of {"role": ..., "content": ...} objects (json.dumps style,
 * UTF-8, NUL-terminated), ready for loom_chat_apply_template_json. Buffer convention. Thread-safe. */
int32_t loom_prompt_messages_json(const loom_prompt_params *prompt, char *buf, size_t cap);

/* The chat messages rendered with a chat template, as loom_chat_apply_template_ex (params NULL =
 * defaults: no generation prompt — set add_generation_prompt to make the model answer). Buffer
 * convention. Thread-safe. */
int32_t loom_prompt_apply_template(const loom_model *model, const char *tmpl, const loom_prompt_params *prompt,
                                   const loom_chat_params *params, char *buf, size_t cap);

/* ---------------------------------------------------------------- tokenizer training */

/* BPE training with HF tokenizers' BpeTrainer algorithm: the same input and settings give the same
 * vocabulary and merges (same ids, same order) as training HF's Tokenizer(BPE()) with
 * BpeTrainer(vocab_size, special_tokens, min_frequency, limit_alphabet) and, for byte_level, the
 * ByteLevel(add_prefix_space=False) pre-tokenizer, decoder and post-processor with
 * initial_alphabet=ByteLevel.alphabet(); otherwise the Whitespace pre-tokenizer. */
typedef struct loom_bpe_train_params {
    uint32_t size;                      /* sizeof(loom_bpe_train_params) as the caller was compiled */
    uint32_t vocab_size;                /* target size, special tokens and alphabet included; default 30000 */
    uint32_t min_frequency;             /* stop when the best pair occurs fewer times; default 0 */
    bool byte_level;                    /* default true (see above) */
    const char *const *special_tokens;  /* n_special_tokens UTF-8 strings (ids 0, 1, ...); may be NULL when 0 */
    size_t n_special_tokens;
    const char *unk_token;              /* the model's unknown token, added after the special tokens if
                                           missing; NULL (default) = none */
    uint32_t limit_alphabet;            /* keep at most this many initial characters; 0 (default) = all */
    int32_t n_threads;                  /* threads counting words; 0 (default) = one per core, at most 8 */
} loom_bpe_train_params;

/* Defaults as above. Thread-safe. */
loom_bpe_train_params loom_bpe_train_default_params(void);

/* A trained BPE model: immutable, usable from any number of threads at once. */
typedef struct loom_bpe_training loom_bpe_training;

/* Trains on n_texts in-memory sequences and n_files text files. texts[i] holds text_lens[i] bytes of
 * UTF-8, or is NUL-terminated when text_lens is NULL; each text is one sequence (HF
 * train_from_iterator). Files are read one line per sequence, newline kept (HF train(files)).
 * Invalid UTF-8 becomes U+FFFD. texts / files may be NULL when their count is 0; params may be NULL
 * (defaults). The inputs are only read during the call. LOOM_ERR_INVALID_ARGUMENT when vocab_size is
 * smaller than the special tokens + initial alphabet; LOOM_ERR_IO for an unreadable file. On success
 * *out owns the result (release with loom_bpe_training_free); on failure *out is NULL. Thread-safe. */
loom_status loom_bpe_train(const char *const *texts, const size_t *text_lens, size_t n_texts,
                           const char *const *files, size_t n_files, const loom_bpe_train_params *params,
                           loom_bpe_training **out);

/* Releases a result. NULL is a no-op. */
void loom_bpe_training_free(loom_bpe_training *training);

/* The tokenizer.json text (compact; what HF's Tokenizer.to_str() writes for the same training),
 * NUL-terminated. Buffer convention. */
int32_t loom_bpe_training_json(const loom_bpe_training *training, char *buf, size_t cap);

/* Writes tokenizer.json to path (created or replaced). LOOM_ERR_IO when it cannot be written. */
loom_status loom_bpe_training_save(const loom_bpe_training *training, const char *path);

/* Loads the trained tokenizer. On success *out owns a new tokenizer (independent of the training;
 * release it with loom_tokenizer_free); on failure *out is NULL. */
loom_status loom_bpe_training_tokenizer(const loom_bpe_training *training, loom_tokenizer **out);

/* Vocabulary size and number of merges; negative status on failure. */
int32_t loom_bpe_training_n_vocab(const loom_bpe_training *training);
int32_t loom_bpe_training_n_merges(const loom_bpe_training *training);

/* ---------------------------------------------------------------- embeddings (encoder models) */

/* Encoder-only models (BERT; an HF folder, a sentence-transformers folder, or a GGUF `bert`) load
 * with loom_model_load like any other model; they run through these calls, not through contexts.
 * Each call makes its own scratch and threads: any number of threads may embed with one model. */

#define LOOM_POOLING_DEFAULT (-1)  /* the model's: sentence-transformers modules.json, GGUF pooling_type, else mean */
#define LOOM_POOLING_NONE 0        /* every token's state: (tokens of the text) x dim floats per text */
#define LOOM_POOLING_MEAN 1
#define LOOM_POOLING_CLS 2
#define LOOM_POOLING_MAX 3

typedef struct loom_embed_params {
    uint32_t size;       /* sizeof(loom_embed_params) as the caller was compiled */
    int32_t pooling;     /* LOOM_POOLING_*; default LOOM_POOLING_DEFAULT */
    int32_t normalize;   /* -1 (default): the model's (sentence-transformers Normalize); 0: no; 1: L2-normalise */
    int32_t max_length;  /* tokens per text, [CLS]/[SEP] included; 0 (default): sentence_bert_config.json
                          * max_seq_length, else 512; capped at the model's positions */
    int32_t n_batch;     /* texts per forward pass; 0 (default): 32 */
    int32_t n_threads;   /* threads, the caller included; 0 (default): cores, at most 8 */
    int32_t precision;   /* LOOM_PRECISION_* of the encoder's weight matmuls; default LOOM_PRECISION_F32.
                          * Norms, softmax, GELU, attention and pooling stay f32. Without the CPU's kernels
                          * (AMX / AVX512-BF16 for bf16, AVX512-FP16 for f16) the f32 path runs. */
} loom_embed_params;

#define LOOM_PRECISION_F32 0   /* exact f32 (default) */
#define LOOM_PRECISION_BF16 1  /* bf16 weights and activations, f32 accumulation */
#define LOOM_PRECISION_F16 2   /* f16 weights and activations (power-of-two scaled), f16 partial sums in f32 */

/* Defaults as described above. Thread-safe. */
loom_embed_params loom_embed_default_params(void);

/* Width of one embedding (the encoder's hidden size); LOOM_ERR_UNSUPPORTED when the model is not an
 * encoder (or was loaded vocab_only). */
int32_t loom_model_n_embd(const loom_model *model);

/* Embeds n texts (texts[i] has lens[i] bytes of UTF-8; lens may be NULL for NUL-terminated texts):
 * tokenized with [CLS]/[SEP], truncated to max_length, encoded, pooled. Writes n x dim floats to out,
 * text i at out[i * dim] (row-major). Buffer convention over floats (cap counts floats); with
 * LOOM_POOLING_NONE the count is (total tokens) x dim. params may be NULL. */
int32_t loom_embed(const loom_model *model, const char *const *texts, const size_t *lens, size_t n,
                   const loom_embed_params *params, float *out, size_t cap);

/* Runs the encoder over n rows of token ids of any lengths (row i is ids[offsets[i] ..< offsets[i+1]],
 * offsets has n + 1 entries, offsets[0] = 0; no padding: every row is computed as if alone) and
 * writes the last hidden state of every token, (offsets[n]) x dim floats, in the same order.
 * LOOM_ERR_OUT_OF_RANGE for an invalid id or a row longer than the model's positions. Buffer
 * convention over floats. n_threads <= 0: the default. */
int32_t loom_encode(const loom_model *model, const loom_token *ids, const size_t *offsets, size_t n,
                    int32_t n_threads, float *out, size_t cap);

/* ---------------------------------------------------------------- masked language models */

/* Encoder models loaded with a masked-LM head (HF BertForMaskedLM folders) expose its logits. GGUF
 * conversions (llama.cpp drops the head) and sentence-embedding models (MiniLM) have none. Each call
 * makes its own scratch and threads: any number of threads may call these with one model. */

/* Masked-LM logits of one sequence of n token ids (with [CLS]/[SEP] as the caller wants them; mask
 * positions hold the mask token): writes n x n_vocab floats, token i at out[i * n_vocab]. Buffer
 * convention over floats (a too-small cap returns -(n * n_vocab) without running the model).
 * LOOM_ERR_UNSUPPORTED when the model is not an encoder or has no MLM head; LOOM_ERR_OUT_OF_RANGE for
 * an invalid id or n outside 1 ... the model's positions; LOOM_ERR_INVALID_ARGUMENT for NULL ids. */
int32_t loom_mlm_logits(const loom_model *model, const loom_token *ids, size_t n, float *out, size_t cap);

/* The tokenizer's mask token (e.g. "[MASK]": tokenizer_config.json mask_token, GGUF
 * tokenizer.ggml.mask_token_id), or LOOM_TOKEN_NULL when it has none (or tokenizer is NULL). */
loom_token loom_tokenizer_mask(const loom_tokenizer *tokenizer);

/* ---------------------------------------------------------------- seq2seq (encoder-decoder models) */

/* Encoder-decoder models (T5; an HF folder or a GGUF `t5`) load with loom_model_load like any other
 * model; they generate through these calls, not through contexts. Each call makes its own scratch and
 * threads (cores, at most 8): any number of threads may generate with one model. */

/* 1 when the model has an encoder-decoder network (loaded without vocab_only), 0 otherwise; negative
 * status for a NULL or invalid handle. */
int32_t loom_model_is_seq2seq(const loom_model *model);

/* Greedy generation (HF generate(do_sample=False, num_beams=1)): encodes the n input ids ids[0..<n]
 * (tokenize with add_special so that `</s>` ends them), then decodes from the decoder start token,
 * one argmax token at a time, up to max_new_tokens tokens or an end-of-sequence token. Writes the
 * generated tokens to out, without the decoder start token and without the end-of-sequence token:
 * a count below max_new_tokens means generation ended at end-of-sequence. Buffer convention over
 * tokens (cap counts tokens; cap >= max_new_tokens always suffices; when too small nothing is written,
 * but the generation was run). LOOM_ERR_OUT_OF_RANGE for an invalid id, LOOM_ERR_UNSUPPORTED for a
 * model that is not encoder-decoder. Thread-safe. */
int32_t loom_seq2seq_generate(const loom_model *model, const loom_token *ids, size_t n,
                              int32_t max_new_tokens, loom_token *out, size_t cap);

/* Encoder-decoder generation with every loom_generate setting (sampling, stop strings, streaming,
 * beam search): encodes ids[0..n) and decodes from the decoder start token as HF generate does.
 * The result's ids exclude the decoder start token and the end token. max_tokens: 0 generates nothing,
 * < 0 is LOOM_ERR_INVALID_ARGUMENT (there is no n_ctx to fill). n_threads <= 0: the default.
 * params may be NULL (greedy, 256 tokens). On success *out owns the result (loom_generation_free). */
loom_status loom_seq2seq_generate_ex(const loom_model *model, const loom_token *ids, size_t n, int32_t n_threads,
                                     const loom_generate_params *params, loom_generation **out);

/* ---------------------------------------------------------------- evaluation (perplexity, log-likelihood) */

/* Perplexity = exp(mean over the scored tokens of -log p(x_i | the window's tokens before x_i)),
 * log-softmax in f32 with f64 accumulation. Long inputs use Hugging Face's sliding-window recipe:
 * windows of n_ctx tokens start every `stride` tokens, and each window scores only the tokens no
 * earlier window scored (token 0 never is; with stride == n_ctx the windows are disjoint and the first
 * token of each is not scored). llama.cpp's llama-perplexity instead scores the second half of each
 * disjoint n_ctx chunk; for one window the two differ only in which tokens are scored. */
typedef struct loom_perplexity_params {
    uint32_t size;        /* sizeof(loom_perplexity_params) as the caller was compiled */
    int32_t n_ctx;        /* tokens per window; 0 (default): all of them if they fit the model's trained
                           * context (capped at 4096), else windows of that length */
    int32_t stride;       /* tokens between window starts, 1 ... n_ctx; 0 (default): n_ctx */
    int32_t n_batch;      /* most tokens per forward pass; default 512 */
    int32_t n_threads;    /* threads, the caller included; default: cores, at most 8 */
    loom_progress_callback progress_callback; /* share of the work done after each forward pass, on the
                           * calling thread; returning false stops with LOOM_ERR_ABORTED. NULL: none */
    void *progress_user_data;
} loom_perplexity_params;

/* Defaults as above. Thread-safe. */
loom_perplexity_params loom_perplexity_default_params(void);

/* Perplexity of the n token ids ids[0..n) on a causal LM (n >= 2). Makes its own context of one
 * window for the call (any number of threads may call it with one model). Writes the perplexity, the
 * summed negative log-likelihood (nats) and the number of scored tokens to the out pointers that are
 * not NULL. params may be NULL (defaults). LOOM_ERR_OUT_OF_RANGE for an id outside the vocabulary;
 * LOOM_ERR_INVALID_ARGUMENT for n < 2, a bad n_ctx/stride or a model without a causal LM. */
loom_status loom_perplexity(const loom_model *model, const loom_token *ids, size_t n,
                            const loom_perplexity_params *params, double *out_ppl, double *out_nll_sum,
                            int64_t *out_n_scored);

/* Log-likelihood of a continuation, as lm-eval-harness's loglikelihood requests: the sum of
 * log p(continuation[k] | context, continuation[0..k)) over the n_continuation tokens, on sequence 0
 * of ctx. Positions ctx already caches that the input shares are reused (so scoring several
 * continuations of one context runs the context once); afterwards sequence 0 holds the input. An
 * input longer than n_ctx + 1 tokens keeps its last n_ctx + 1 (lm-eval's left truncation); the
 * continuation itself must fit in n_ctx (else LOOM_ERR_OUT_OF_RANGE). Both parts need at least one
 * token (lm-eval gives an empty context the BOS token; see loom_eval_encode_pair).
 * Outputs, each may be NULL: *out_logprob the sum (nats); *out_is_greedy whether every continuation
 * token is its row's argmax; out_token_logprobs, room for n_continuation doubles, each token's log p.
 * The caller owns every buffer; nothing is kept after the call. */
loom_status loom_score(loom_context *ctx, const loom_token *context, size_t n_context,
                       const loom_token *continuation, size_t n_continuation, double *out_logprob,
                       bool *out_is_greedy, double *out_token_logprobs);

/* Tokenizes a (context, continuation) text pair as lm-eval-harness's _encode_pair: trailing
 * whitespace of the context moves to the continuation, the whole text is tokenized and the
 * continuation is what follows the context's own token count; an empty context becomes the BOS token
 * (EOS when there is none). add_special: apply the tokenizer's BOS/EOS rule (lm-eval: false).
 * Writes the context's ids then the continuation's to out and their split to *out_n_context (may be
 * NULL). Buffer convention over tokens (returns the total count). Texts are NUL-terminated UTF-8. */
int32_t loom_eval_encode_pair(const loom_tokenizer *tokenizer, const char *context, const char *continuation,
                              bool add_special, loom_token *out, size_t cap, size_t *out_n_context);

/* ---------------------------------------------------------------- metrics (BLEU, classification) */

/* BLEU as sacreBLEU 2.x computes it (same tokenizers, clipping, closest reference length, brevity
 * penalty, smoothing): scores agree with sacrebleu.corpus_bleu / sentence_bleu. */
#define LOOM_BLEU_TOKENIZE_13A  0   /* mteval-v13a, sacreBLEU's default */
#define LOOM_BLEU_TOKENIZE_NONE 1   /* split on whitespace only */
#define LOOM_BLEU_SMOOTH_EXP   0    /* sacreBLEU's default */
#define LOOM_BLEU_SMOOTH_NONE  1
#define LOOM_BLEU_SMOOTH_FLOOR 2
#define LOOM_BLEU_SMOOTH_ADD_K 3
#define LOOM_BLEU_MAX_ORDER 8

typedef struct loom_bleu_params {
    uint32_t size;            /* sizeof(loom_bleu_params) as the caller was compiled */
    bool lowercase;           /* default false */
    int32_t tokenize;         /* LOOM_BLEU_TOKENIZE_*; default 13a */
    int32_t smooth_method;    /* LOOM_BLEU_SMOOTH_*; default exp */
    double smooth_value;      /* floor / add-k value; < 0 (default -1): the method's default (0.1 / 1) */
    int32_t max_ngram_order;  /* 1 ... LOOM_BLEU_MAX_ORDER; default 4 */
    bool effective_order;     /* default false (corpus BLEU); sacrebleu.sentence_bleu uses true */
} loom_bleu_params;

typedef struct loom_bleu_result {
    double score;             /* 0 ... 100 */
    double bp;                /* brevity penalty */
    double ratio;             /* sys_len / ref_len (0 when ref_len is 0) */
    int64_t sys_len;          /* hypothesis tokens */
    int64_t ref_len;          /* closest-reference tokens */
    int32_t max_ngram_order;  /* entries used in the arrays below */
    double precisions[LOOM_BLEU_MAX_ORDER]; /* per order, percent, smoothed */
    double counts[LOOM_BLEU_MAX_ORDER];     /* matched n-grams per order (add-k makes them fractional) */
    double totals[LOOM_BLEU_MAX_ORDER];     /* hypothesis n-grams per order */
} loom_bleu_result;

/* Corpus defaults (sacrebleu.corpus_bleu). Thread-safe. */
loom_bleu_params loom_bleu_default_params(void);

/* Corpus BLEU of n_hyps hypotheses against n_refs reference streams: refs[r * n_hyps + i] is stream
 * r's reference for hypothesis i; a NULL entry means that sentence has fewer references (sacreBLEU's
 * None). Every hypothesis needs at least one reference. Strings are NUL-terminated UTF-8. params may
 * be NULL (corpus defaults). Writes *out (caller-owned). Pure: thread-safe. */
loom_status loom_bleu(const char *const *hyps, size_t n_hyps, const char *const *refs, size_t n_refs,
                      const loom_bleu_params *params, loom_bleu_result *out);

/* Sentence BLEU of one hypothesis against n_refs references (NULL entries skipped). params NULL:
 * sacrebleu.sentence_bleu's defaults (the corpus defaults with effective_order true). */
loom_status loom_sentence_bleu(const char *hyp, const char *const *refs, size_t n_refs,
                               const loom_bleu_params *params, loom_bleu_result *out);

/* Classification metrics as scikit-learn computes them, over n integer labels (n >= 1). The classes
 * are the sorted union of the labels in y_true and y_pred. zero_division: the value of a ratio with a
 * zero denominator, 0 (scikit-learn's "warn" default), 1 or NAN (NaN classes are left out of
 * averages). */
#define LOOM_AVERAGE_BINARY   0  /* the class pos_label only (at most two distinct labels) */
#define LOOM_AVERAGE_MICRO    1  /* from the summed counts of every class */
#define LOOM_AVERAGE_MACRO    2  /* unweighted mean over classes */
#define LOOM_AVERAGE_WEIGHTED 3  /* mean weighted by each class's support */

typedef struct loom_class_metrics {
    int32_t label;
    int64_t support;          /* occurrences in y_true */
    double precision;
    double recall;
    double f1;
} loom_class_metrics;

/* accuracy_score: the share of y_pred[i] == y_true[i]. */
loom_status loom_accuracy(const int32_t *y_true, const int32_t *y_pred, size_t n, double *out);

/* precision_recall_fscore_support(average=...) for F1 (beta 1); each out pointer may be NULL. */
loom_status loom_precision_recall_f1(const int32_t *y_true, const int32_t *y_pred, size_t n, int32_t average,
                                     int32_t pos_label, double zero_division, double *out_precision,
                                     double *out_recall, double *out_f1);

/* The per-class values (average=None), one entry per class in ascending label order. Buffer
 * convention over entries (returns the number of classes). */
int32_t loom_per_class_metrics(const int32_t *y_true, const int32_t *y_pred, size_t n, double zero_division,
                               loom_class_metrics *out, size_t cap);

/* Exact match (HF evaluate's exact_match): the share of predictions[i] equal to references[i] after
 * the normalisations in flags. NUL-terminated UTF-8; n >= 1. */
#define LOOM_EXACT_MATCH_IGNORE_CASE        1u  /* lower-case both */
#define LOOM_EXACT_MATCH_IGNORE_PUNCTUATION 2u  /* drop ASCII punctuation (Python's string.punctuation) */
#define LOOM_EXACT_MATCH_IGNORE_NUMBERS     4u  /* drop ASCII digits */
loom_status loom_exact_match(const char *const *predictions, const char *const *references, size_t n,
                             uint32_t flags, double *out);

/* ---------------------------------------------------------------- quantize and convert */

/* Whole-model types (llama.cpp's llama_ftype ids, written to general.file_type). */
#define LOOM_FTYPE_F32   0
#define LOOM_FTYPE_F16   1
#define LOOM_FTYPE_Q4_0  2
#define LOOM_FTYPE_Q4_1  3
#define LOOM_FTYPE_Q8_0  7
#define LOOM_FTYPE_Q5_0  8
#define LOOM_FTYPE_Q5_1  9
#define LOOM_FTYPE_Q4_K 14 /* llama.cpp's MOSTLY_Q4_K_S id; Q4_K without its Q5_K mixture */
#define LOOM_FTYPE_Q6_K 18
#define LOOM_FTYPE_BF16 32

typedef struct loom_quantize_params {
    uint32_t size;          /* sizeof(loom_quantize_params) as the caller was compiled */
    int32_t ftype;          /* LOOM_FTYPE_*; default LOOM_FTYPE_Q8_0 */
    int32_t nthread;        /* worker threads; <= 0 (default): one per core, at most 8 */
    bool allow_requantize;  /* convert tensors that are already quantized; default false (refused) */
    bool quantize_output;   /* convert output.weight too; default true */
    loom_progress_callback progress_callback; /* may be NULL (default); called after each tensor with the
                                                 share written; false cancels (LOOM_ERR_ABORTED) */
    void *progress_user_data;
} loom_quantize_params;

/* Defaults as above. Thread-safe. */
loom_quantize_params loom_quantize_default_params(void);

/* llama-quantize for the plain types: reads the GGUF model at in_path and writes it to out_path with its
 * weight matrices converted to params->ftype, by llama.cpp's rules without an importance matrix: 1-D
 * tensors and norms keep their type; output.weight (token_embd.weight when tied) gets Q6_K for the
 * block types other than Q8_0, or Q8_0 when its rows are not a multiple of 256; rows that are not a
 * multiple of the block size fall back (Q4_K -> Q5_0, Q6_K -> Q8_0, then F16); tensors ordered and
 * metadata copied as llama.cpp does, general.file_type set. Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 data is bit-exact
 * with gguf-py and ggml. out_path is written atomically (a temporary file renamed at the end; nothing is
 * left behind on failure). params may be NULL (defaults). LOOM_ERR_INVALID_ARGUMENT for NULL paths, the
 * same path twice or an unknown ftype; LOOM_ERR_IO / LOOM_ERR_FORMAT for unreadable input or an
 * unwritable output; LOOM_ERR_UNSUPPORTED for an already-quantized model without allow_requantize.
 * The paths are only read during the call. Thread-safe (calls share nothing). */
loom_status loom_model_quantize(const char *in_path, const char *out_path, const loom_quantize_params *params);

typedef struct loom_convert_params {
    uint32_t size;  /* sizeof(loom_convert_params) as the caller was compiled */
    int32_t ftype;  /* LOOM_FTYPE_F32, _F16 (default), _BF16 or _Q8_0 (convert_hf_to_gguf's --outtype) */
} loom_convert_params;

/* Defaults as above. Thread-safe. */
loom_convert_params loom_convert_default_params(void);

/* convert_hf_to_gguf.py for HF folders (config.json, tokenizer.json, safetensors) of the architectures
 * Loom loads, by config.json model_type: llama (byte-level BPE tokenizer; Q/K rows permuted to GGUF's
 * RoPE layout), gpt2 (byte-level BPE; Conv1D weights transposed), bert (BertModel / BertForMaskedLM,
 * WordPiece; the encoder only, the MLM head dropped) and t5 (T5ForConditionalGeneration, Unigram).
 * Writes a GGUF file that loads in Loom and in llama.cpp — llama.cpp's metadata keys and tensor names,
 * 1-D tensors, norms and position embeddings F32, the tokenizer as tokenizer.ggml.* metadata. out_path
 * is written atomically. params may be NULL (defaults). LOOM_ERR_UNSUPPORTED for other architectures,
 * tokenizers or configurations GGUF cannot express; LOOM_ERR_IO / LOOM_ERR_FORMAT for unreadable
 * input. Thread-safe. */
loom_status loom_model_convert(const char *hf_dir, const char *out_path, const loom_convert_params *params);

/* ---------------------------------------------------------------- sequence classification and reward models */

/* HF folders saved with a sequence-classification head load with loom_model_load like any other model
 * (config.json `architectures`): LlamaForSequenceClassification and MistralForSequenceClassification
 * (`score.weight`, read at the last token whose id is not config.json pad_token_id — the last token
 * without a pad id — after the output norm; a reward model is such a head with one label) and
 * BertForSequenceClassification (pooler dense + tanh on [CLS], then `classifier`). Each call makes its
 * own scratch, caches and threads: any number of threads may classify with one model at once. */

typedef struct loom_classify_params {
    uint32_t size;      /* sizeof(loom_classify_params) as the caller was compiled */
    int32_t max_length; /* tokens per text after truncation (the end is cut); 0 (default): the model's
                         * positions (BERT max_position_embeddings, llama the trained context length) */
    bool add_special;   /* tokenize with the model's special tokens ([CLS]/[SEP], BOS), as transformers'
                         * tokenizer(text) does; default true */
    bool parse_special; /* special-token text in the texts ("<|im_start|>") becomes those tokens; default false */
    int32_t n_threads;  /* threads, the caller included; 0 (default): cores, at most 8 */
} loom_classify_params;

/* Defaults as above. Thread-safe. */
loom_classify_params loom_classify_default_params(void);

/* Number of labels of the model's classification head (1 for a reward model); LOOM_ERR_UNSUPPORTED
 * when the model has none (or was loaded vocab_only). */
int32_t loom_model_n_labels(const loom_model *model);

/* Name of label `label` (config.json id2label; "LABEL_<i>" where it names none), NUL-terminated
 * (buffer convention). LOOM_ERR_OUT_OF_RANGE for a label outside 0 ..< n_labels. */
int32_t loom_model_label(const loom_model *model, int32_t label, char *buf, size_t cap);

/* Classifies n texts (texts[i] has lens[i] bytes of UTF-8; lens may be NULL for NUL-terminated texts):
 * tokenized as params says, each run alone (no padding), head applied. Writes n x n_labels logits to
 * out, text i at out[i * n_labels] (raw logits: no softmax or sigmoid; for a reward model the reward).
 * Buffer convention over floats (a too-small cap returns -(n * n_labels) without running the model).
 * params may be NULL. LOOM_ERR_UNSUPPORTED when the model has no classification head. The texts are
 * only read during the call. Thread-safe. */
int32_t loom_classify(const loom_model *model, const char *const *texts, const size_t *lens, size_t n,
                      const loom_classify_params *params, float *out, size_t cap);

/* As loom_classify over n rows of token ids of any lengths >= 1 (row i is ids[offsets[i] ..< offsets[i+1]],
 * offsets has n + 1 entries, offsets[0] = 0), used as given. LOOM_ERR_OUT_OF_RANGE for an invalid id
 * (or a row longer than an encoder's positions). n_threads <= 0: the default. Thread-safe. */
int32_t loom_classify_tokens(const loom_model *model, const loom_token *ids, const size_t *offsets, size_t n,
                             int32_t n_threads, float *out, size_t cap);

/* Best-of-n sampling: draws n continuations of one prompt on ctx (the prompt is decoded once in
 * sequence 0 and copied into sequences 1 ..< n, n <= n_seq_max, whose previous contents are replaced;
 * they advance together), candidate i
 * sampling with seed params->sampling.seed + i (one random base seed when has_seed is false), then
 * scores each with reward_model (a classification head with one label) and returns them best first
 * (highest reward; ties keep the draw order). The text scored is prompt_text followed by the candidate's
 * text; prompt_text NULL: the prompt ids detokenized with special tokens rendered. reward_params NULL:
 * defaults with parse_special = true (a chat-templated prompt keeps its special tokens when the reward
 * model shares them). Sampling must not be greedy when n > 1; num_beams must be 1; params->on_token is
 * not called (candidates are ranked after they are complete). On success *out owns
 * the result (loom_generation_free), n entries; loom_generation_reward gives each reward, and
 * loom_generation_* the rest. ctx belongs to the calling thread for the call; reward_model is only
 * read (shareable). */
loom_status loom_generate_best_of(loom_context *ctx, const loom_token *prompt, size_t n_prompt, const char *prompt_text,
                                  size_t n, const loom_generate_params *params, const loom_model *reward_model,
                                  const loom_classify_params *reward_params, loom_generation **out);

/* The reward of result seq of loom_generate_best_of into *out; LOOM_ERR_UNSUPPORTED for a result that
 * was not scored. */
loom_status loom_generation_reward(const loom_generation *gen, size_t seq, float *out);

/* P(text_a preferred over text_b) under a reward model (a classification head with one label):
 * sigma(r_a - r_b), the Bradley-Terry probability reward models are trained with. text_a and text_b are
 * NUL-terminated UTF-8, tokenized as params says (NULL: defaults), and only read during the call. Writes
 * the probability to *out. LOOM_ERR_UNSUPPORTED for a model without a one-label head. Thread-safe (the
 * model is only read). */
loom_status loom_reward_preference(const loom_model *reward_model, const char *text_a, const char *text_b,
                                   const loom_classify_params *params, float *out);

/* ---------------------------------------------------------------- retrieval and grounded generation */

/* A small retrieval index: documents (id, text, optional metadata) cut into passages (sentences packed
 * into passages of at most chunk_tokens encoder tokens, consecutive passages sharing up to
 * chunk_overlap tokens of whole sentences; a sentence longer than chunk_tokens is cut at whitespace),
 * each passage embedded with an encoder model (its pooling, L2-normalised) and searched by cosine
 * similarity (exhaustive). Saved as a versioned binary file (magic "LOOMRIX\0", version 1: a 32-byte
 * header, a JSON part with the documents and passage ranges, then the f32 embeddings; see
 * Sources/LoomGeneration/Retrieval/RetrievalIndexFile.swift); loading validates everything and fails
 * with LOOM_ERR_FORMAT on a malformed or hostile file. An index is thread-safe: any number of threads
 * may add, search, read and save at once. It keeps its encoder model alive by itself: the loom_model
 * handle may be freed before the index. */

typedef struct loom_index loom_index;

typedef struct loom_index_params {
    uint32_t size;         /* sizeof(loom_index_params) as the caller was compiled */
    int32_t chunk_tokens;  /* most encoder tokens per passage (before [CLS]/[SEP]; at most the encoder's
                            * max length - 2, else LOOM_ERR_INVALID_ARGUMENT); default 128 */
    int32_t chunk_overlap; /* tokens a passage shares with the previous one, < chunk_tokens; default 32 */
    int32_t n_threads;     /* threads of the encoder, the caller included; 0 (default): cores, at most 8 */
} loom_index_params;

/* Defaults as above. Thread-safe. */
loom_index_params loom_index_default_params(void);

/* A new, empty index embedding with `encoder` (an encoder model with weights, e.g. all-MiniLM-L6-v2).
 * params may be NULL. On success *out owns the index (loom_index_free). LOOM_ERR_UNSUPPORTED when the
 * model is not an encoder. */
loom_status loom_index_new(const loom_model *encoder, const loom_index_params *params, loom_index **out);

/* Reads an index saved by loom_index_save; chunking settings come from the file, only params->n_threads
 * is used (params may be NULL). The encoder must give embeddings of the saved width
 * (LOOM_ERR_INVALID_ARGUMENT otherwise). LOOM_ERR_IO / LOOM_ERR_FORMAT / LOOM_ERR_UNSUPPORTED (another
 * version) for files it cannot use. On success *out owns the index. */
loom_status loom_index_load(const loom_model *encoder, const char *path, const loom_index_params *params,
                            loom_index **out);

/* Writes the index to path (atomically: a temporary file renamed; nothing is left on failure). */
loom_status loom_index_save(const loom_index *index, const char *path);

/* Releases an index. NULL is a no-op. No other thread may be using it. */
void loom_index_free(loom_index *index);

/* Adds a document: id (UTF-8, NUL-terminated, non-empty, new to the index), its text (len bytes of
 * UTF-8), metadata (NUL-terminated free text, e.g. JSON; may be NULL). Returns the number of passages
 * it got (>= 1) or a negative status (LOOM_ERR_INVALID_ARGUMENT for a repeated id or a text with no
 * words). The strings are copied. */
int32_t loom_index_add(loom_index *index, const char *id, const char *text, size_t len, const char *metadata);

/* Documents and passages held (or a negative status). */
int32_t loom_index_n_documents(const loom_index *index);
int32_t loom_index_n_passages(const loom_index *index);

typedef struct loom_search_hit {
    int32_t passage;  /* passage number, 0 ..< n_passages */
    int32_t document; /* its document, 0 ..< n_documents (insertion order) */
    float score;      /* cosine similarity to the query */
} loom_search_hit;

/* The k passages most similar to the query (len bytes of UTF-8), best first (ties: lower passage first).
 * Buffer convention over hits: returns min(k, n_passages) (a too-small cap returns -(that count)
 * before embedding anything). */
int32_t loom_index_search(const loom_index *index, const char *query, size_t len, int32_t k, loom_search_hit *out,
                          size_t cap);

/* A document's id, text and metadata ("" when it has none), a passage's text: NUL-terminated, buffer
 * convention. LOOM_ERR_OUT_OF_RANGE for a number outside the index. */
int32_t loom_index_document_id(const loom_index *index, int32_t document, char *buf, size_t cap);
int32_t loom_index_document_text(const loom_index *index, int32_t document, char *buf, size_t cap);
int32_t loom_index_document_metadata(const loom_index *index, int32_t document, char *buf, size_t cap);
int32_t loom_index_passage_text(const loom_index *index, int32_t passage, char *buf, size_t cap);

/* The document a passage belongs to, or a negative status. */
int32_t loom_index_passage_document(const loom_index *index, int32_t passage);

/* Grounded generation: the question's top-k passages are put in the prompt as numbered sources and the
 * model answers. The prompt: the model's chat template (add_generation_prompt) over a system turn with
 * the instructions and a user turn "## Context" + the sources ("[n] (document id) passage text", blank
 * line between, best match first) + "## Task" + the question (loom_prompt_* layout); a model without a
 * chat template gets the plain-text layout followed by "\n\nAnswer:". Default instructions (cite = true):
 * "Answer the question using only the numbered sources. Cite the sources you use by their number in
 * square brackets, like [1]. If the sources do not contain the answer, say that you do not know."
 * The result lists every source put in the prompt; `cited` marks those whose number the answer
 * mentions in square brackets ("[2]", "[1, 3]") — a textual check of the model's own citations. */

typedef struct loom_grounded_params {
    uint32_t size;            /* sizeof(loom_grounded_params) as the caller was compiled */
    int32_t k;                /* passages retrieved and put in the prompt; default 3 */
    bool cite;                /* ask for [n] citations (selects the default instructions); default true */
    const char *instructions; /* replaces the default instructions (NUL-terminated); NULL (default): them */
} loom_grounded_params;

/* Defaults as above. Thread-safe. */
loom_grounded_params loom_grounded_default_params(void);

typedef struct loom_grounded loom_grounded;

/* Retrieves from index, prompts and generates on ctx's sequence 0 (gen_params as loom_generate: sampling,
 * stop strings, streaming callback; no beams). params / gen_params may be NULL. On success *out owns the
 * answer (loom_grounded_free). ctx belongs to the calling thread for the call; the index is only read. */
loom_status loom_generate_grounded(loom_context *ctx, const loom_index *index, const char *question,
                                   const loom_grounded_params *params, const loom_generate_params *gen_params,
                                   loom_grounded **out);

/* Releases an answer. NULL is a no-op. */
void loom_grounded_free(loom_grounded *answer);

/* The answer text / the full prompt given to the model: NUL-terminated, buffer convention. */
int32_t loom_grounded_text(const loom_grounded *answer, char *buf, size_t cap);
int32_t loom_grounded_prompt(const loom_grounded *answer, char *buf, size_t cap);

/* Why the answer's generation stopped, or a negative status. */
loom_finish_reason loom_grounded_finish_reason(const loom_grounded *answer);

/* Number of sources put in the prompt (<= k), or a negative status. */
int32_t loom_grounded_n_sources(const loom_grounded *answer);

typedef struct loom_grounded_source {
    int32_t number;   /* its number in the prompt, from 1 */
    int32_t passage;  /* passage and document numbers in the index (texts: loom_index_passage_text, ...) */
    int32_t document;
    float score;      /* cosine similarity to the question */
    bool cited;       /* the answer mentions [number] */
} loom_grounded_source;

/* Source i (0 ..< n_sources) into *out. LOOM_ERR_OUT_OF_RANGE for another i. */
loom_status loom_grounded_source_at(const loom_grounded *answer, int32_t i, loom_grounded_source *out);

#ifdef __cplusplus
}
#endif

#endif /* LOOM_H */
