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
 *    any number of threads at once. (Contexts and samplers, when they come, are single-threaded.)
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
#define LOOM_VERSION_MINOR 1
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

/* ---------------------------------------------------------------- tokens */

typedef int32_t loom_token;
#define LOOM_TOKEN_NULL (-1) /* "no such token" in queries */

/* ---------------------------------------------------------------- models */

typedef struct loom_model loom_model;

typedef struct loom_model_params {
    uint32_t size;   /* sizeof(loom_model_params) as the caller was compiled */
    bool vocab_only; /* load the vocabulary and metadata only (any GGUF, whatever its architecture) */
} loom_model_params;

/* Defaults: vocab_only = false. Thread-safe. */
loom_model_params loom_model_default_params(void);

/* Loads a model from a GGUF file or an HF folder (config.json, tokenizer.json, *.safetensors).
 * params may be NULL (defaults). On success *out_model owns a new model; release it with
 * loom_model_free. On failure *out_model is set to NULL (when out_model is not NULL). Thread-safe. */
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

#ifdef __cplusplus
}
#endif

#endif /* LOOM_H */
