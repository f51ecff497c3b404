/* Drives the C ABI with bad inputs: every call must return a negative status with a message, and the
 * process must never die. usage: abi_bad_inputs TINY_MODEL.gguf TOKENIZER.json SCRATCH_DIR [T5_FOLDER]
 * Prints one line per case and a closing "N passed, M failed" line. */
#include <loom.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void expect_fail(const char *what, int32_t status) {
    const char *msg = loom_last_error();
    if (status < 0 && msg && msg[0]) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s: status %d, message '%s'\n", what, status, msg ? msg : "(null)");
    }
}

static void expect_ok(const char *what, int32_t status) {
    if (status >= 0) passed++;
    else { failed++; printf("FAIL %s: status %d: %s\n", what, status, loom_last_error()); }
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*len);
    if (fread(buf, 1, *len, f) != *len) { perror(path); exit(2); }
    fclose(f);
    return buf;
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(2); }
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}

/* Loads `data` as a GGUF model (full and vocab-only) and expects failure for both. */
static void expect_load_fails(const char *what, const char *scratch, const void *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/bad.gguf", scratch);
    write_file(path, data, len);
    loom_model *m = (loom_model *)0x1;
    loom_status s = loom_model_load(path, NULL, &m);
    expect_fail(what, s);
    if (m != NULL) { failed++; printf("FAIL %s: out_model not NULL after failure\n", what); }
    loom_model_params p = loom_model_default_params();
    p.vocab_only = true;
    s = loom_model_load(path, &p, &m);
    expect_fail(what, s);
    loom_tokenizer *t = NULL;
    s = loom_tokenizer_load(path, &t);
    expect_fail(what, s);
}

/* Offsets of the GGUF header fields we patch. */
static void put_u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

/* A progress callback that cancels at once. */
static bool cancel_progress(void *user_data, float progress) {
    (void)progress;
    ++*(int *)user_data;
    return false;
}

/* Chat templates and prompt building: NULLs, bad params, bad JSON, raising and unparsable templates,
 * too-small buffers; and a few renders that must come out exactly. */
static void expect_text(const char *what, int32_t n, const char *got, const char *want) {
    if (n >= 0 && (size_t)n == strlen(want) && strcmp(got, want) == 0) passed++;
    else { failed++; printf("FAIL %s: %d '%s' (want '%s'): %s\n", what, n, n >= 0 ? got : "", want, loom_last_error()); }
}

static void expect_status(const char *what, int32_t n, loom_status want) {
    expect_fail(what, n);
    if (loom_last_status() != want) { failed++; printf("FAIL %s: status %d, want %d\n", what, loom_last_status(), want); }
}

static void chat_and_prompt_cases(const char *model_path) {
    char out[1024];
    loom_chat_message msg = {"user", "hi"};
    loom_chat_message no_content = {"user", NULL};
    loom_chat_params cp = loom_chat_default_params();
    const char *echo = "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}{{ eos_token }}";

    expect_status("chat_ex model and tmpl NULL", loom_chat_apply_template_ex(NULL, NULL, &msg, 1, &cp, out, sizeof out),
                  LOOM_ERR_INVALID_ARGUMENT);
    expect_fail("chat_ex messages NULL", loom_chat_apply_template_ex(NULL, echo, NULL, 1, &cp, out, sizeof out));
    expect_fail("chat_ex NULL content", loom_chat_apply_template_ex(NULL, echo, &no_content, 1, &cp, out, sizeof out));
    expect_fail("chat_ex n_messages huge", loom_chat_apply_template_ex(NULL, echo, &msg, (size_t)-1, &cp, out, sizeof out));
    expect_fail("chat_ex buffer NULL", loom_chat_apply_template_ex(NULL, echo, &msg, 1, &cp, NULL, 64));
    expect_status("chat_ex raise_exception",
                  loom_chat_apply_template_ex(NULL, "{{ raise_exception('no system role') }}", &msg, 1, NULL, out, sizeof out),
                  LOOM_ERR_INVALID_ARGUMENT);
    if (!strstr(loom_last_error(), "no system role")) { failed++; printf("FAIL raise_exception message '%s'\n", loom_last_error()); }
    expect_status("chat_ex syntax error", loom_chat_apply_template_ex(NULL, "{% if %}", &msg, 1, NULL, out, sizeof out),
                  LOOM_ERR_FORMAT);
    expect_fail("chat_ex undefined call", loom_chat_apply_template_ex(NULL, "{{ nothing() }}", &msg, 1, NULL, out, sizeof out));
    loom_chat_params bad = cp;
    bad.size = 0;
    expect_fail("chat_ex params size 0", loom_chat_apply_template_ex(NULL, echo, &msg, 1, &bad, out, sizeof out));
    bad = cp;
    bad.extra_json = "[1]";
    expect_fail("chat_ex extra_json not an object", loom_chat_apply_template_ex(NULL, echo, &msg, 1, &bad, out, sizeof out));
    bad.extra_json = "{\"tools\": ";
    expect_fail("chat_ex extra_json truncated", loom_chat_apply_template_ex(NULL, echo, &msg, 1, &bad, out, sizeof out));
    bad = cp;
    bad.now = INT64_MAX;
    expect_fail("chat_ex now out of range", loom_chat_apply_template_ex(NULL, echo, &msg, 1, &bad, out, sizeof out));

    expect_fail("chat_json messages NULL", loom_chat_apply_template_json(NULL, echo, NULL, NULL, out, sizeof out));
    expect_fail("chat_json model and tmpl NULL", loom_chat_apply_template_json(NULL, NULL, "[]", NULL, out, sizeof out));
    expect_fail("chat_json not JSON", loom_chat_apply_template_json(NULL, echo, "[{\"role\": ", NULL, out, sizeof out));
    expect_fail("chat_json not an array", loom_chat_apply_template_json(NULL, echo, "{\"role\": \"user\"}", NULL, out, sizeof out));
    expect_fail("chat_json unterminated string", loom_chat_apply_template_json(NULL, echo, "[\"abc]", NULL, out, sizeof out));
    char deep[20001];
    memset(deep, '[', 20000);
    deep[20000] = 0;
    expect_fail("chat_json deeply nested", loom_chat_apply_template_json(NULL, echo, deep, NULL, out, sizeof out));
    /* Template resource bombs (RELIABILITY.md, "Limits"): refused before allocating, as OUT_OF_RANGE. */
    const char *bombs[] = {"{{ 'x'.ljust(10**12) }}", "{{ '%999999999d' % 1 }}", "{{ '{:99999999999999999999999}'.format(1) }}",
                           "{{ 'x' * 10**10 }}", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
                           "{{ range(1000)|list|tojson(indent=60000000) }}"};
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
        expect_status(bombs[i], loom_chat_apply_template_json(NULL, bombs[i], "[]", NULL, out, sizeof out), LOOM_ERR_OUT_OF_RANGE);
    }

    /* Renders: bos/eos without a model, the JSON and struct forms agree, too-small buffers. */
    cp.bos_token = "<s>";
    cp.eos_token = "</s>";
    int32_t n = loom_chat_apply_template_ex(NULL, echo, &msg, 1, &cp, out, sizeof out);
    expect_text("chat_ex bos/eos", n, out, "<s>user:hi;</s>");
    n = loom_chat_apply_template_json(NULL, echo, "[{\"role\": \"user\", \"content\": \"hi\"}]", &cp, out, sizeof out);
    expect_text("chat_json bos/eos", n, out, "<s>user:hi;</s>");
    n = loom_chat_apply_template_ex(NULL, echo, &msg, 1, &cp, out, 4);
    if (n == -16 && loom_last_status() == LOOM_ERR_BUFFER_TOO_SMALL) passed++;
    else { failed++; printf("FAIL chat_ex too-small buffer returned %d\n", n); }
    cp.extra_json = "{\"bos_token\": \"[B]\", \"x\": 1}";
    n = loom_chat_apply_template_ex(NULL, "{{ bos_token }}{{ x + 1 }}", &msg, 1, &cp, out, sizeof out);
    expect_text("chat_ex extra_json overrides", n, out, "[B]2");
    n = loom_chat_apply_template(NULL, echo, &msg, 1, true, out, sizeof out);
    expect_text("chat (old form) without a model", n, out, "user:hi;");

    /* A model without a chat template. */
    loom_model_params mp = loom_model_default_params();
    mp.vocab_only = true;
    loom_model *model = NULL;
    if (loom_model_load(model_path, &mp, &model) == LOOM_OK) {
        char key[8];
        if (loom_model_meta_val_str(model, "tokenizer.chat_template", key, sizeof key) < 0) {
            expect_status("chat_ex model without a template",
                          loom_chat_apply_template_ex(model, NULL, &msg, 1, NULL, out, sizeof out), LOOM_ERR_UNSUPPORTED);
        }
        n = loom_chat_apply_template_ex(model, "{{ messages[0].content }}", &msg, 1, NULL, out, sizeof out);
        expect_text("chat_ex with a model and a template", n, out, "hi");
        loom_model_free(model);
    } else { failed++; printf("FAIL load %s: %s\n", model_path, loom_last_error()); }

    /* Prompt building. */
    loom_prompt_params pp = loom_prompt_default_params();
    expect_fail("prompt_text NULL", loom_prompt_text(NULL, out, sizeof out));
    expect_fail("prompt_messages_json NULL", loom_prompt_messages_json(NULL, out, sizeof out));
    expect_fail("prompt_apply_template NULL prompt", loom_prompt_apply_template(NULL, echo, NULL, NULL, out, sizeof out));
    expect_fail("prompt_apply_template model and tmpl NULL", loom_prompt_apply_template(NULL, NULL, &pp, NULL, out, sizeof out));
    loom_prompt_params badp = pp;
    badp.size = 0;
    expect_fail("prompt size 0", loom_prompt_text(&badp, out, sizeof out));
    badp = pp;
    badp.n_examples = 2;
    expect_fail("prompt examples NULL", loom_prompt_text(&badp, out, sizeof out));
    loom_prompt_example ex[2] = {{"1+1?", "2"}, {"2+2?", NULL}};
    badp.examples = ex;
    expect_fail("prompt example output NULL", loom_prompt_messages_json(&badp, out, sizeof out));
    badp.n_examples = (size_t)-1;
    expect_fail("prompt n_examples huge", loom_prompt_text(&badp, out, sizeof out));
    n = loom_prompt_text(&pp, out, sizeof out);
    expect_text("prompt_text empty", n, out, "");
    pp.instructions = "Answer with a number.";
    pp.task = " 3+3? ";
    pp.examples = ex;
    pp.n_examples = 1;
    n = loom_prompt_text(&pp, out, sizeof out);
    expect_text("prompt_text", n, out, "## Instructions\nAnswer with a number.\n\n## Examples\nInput: 1+1?\nOutput: 2\n\n## Task\n3+3?");
    n = loom_prompt_messages_json(&pp, out, sizeof out);
    expect_text("prompt_messages_json", n, out,
                "[{\"role\": \"system\", \"content\": \"Answer with a number.\"}, {\"role\": \"user\", \"content\": \"1+1?\"}, "
                "{\"role\": \"assistant\", \"content\": \"2\"}, {\"role\": \"user\", \"content\": \"3+3?\"}]");
    n = loom_prompt_apply_template(NULL, echo, &pp, NULL, out, sizeof out);
    expect_text("prompt_apply_template", n, out, "system:Answer with a number.;user:1+1?;assistant:2;user:3+3?;");
    n = loom_prompt_text(&pp, out, 8);
    if (n < 0 && loom_last_status() == LOOM_ERR_BUFFER_TOO_SMALL) passed++;
    else { failed++; printf("FAIL prompt_text too-small buffer returned %d\n", n); }
}

/* Resource bombs in hand-made GGUF files (RELIABILITY.md, "Limits"): each must fail at once with a
 * message naming the cause, without allocating what the file claims. */
typedef struct { unsigned char b[1024]; size_t n; } gguf_buf;
static void gb_u32(gguf_buf *g, uint32_t v) { memcpy(g->b + g->n, &v, 4); g->n += 4; }
static void gb_u64(gguf_buf *g, uint64_t v) { memcpy(g->b + g->n, &v, 8); g->n += 8; }
static void gb_str(gguf_buf *g, const char *s) { gb_u64(g, strlen(s)); memcpy(g->b + g->n, s, strlen(s)); g->n += strlen(s); }
static void gb_header(gguf_buf *g, uint64_t tensors, uint64_t kvs) {
    g->n = 0; memcpy(g->b, "GGUF", 4); g->n = 4; gb_u32(g, 3); gb_u64(g, tensors); gb_u64(g, kvs);
}
/* One tensor info: name, dims, type, offset. */
static void gb_tensor(gguf_buf *g, const char *name, int nd, const uint64_t *dims, uint32_t type, uint64_t off) {
    gb_str(g, name); gb_u32(g, (uint32_t)nd);
    for (int i = 0; i < nd; i++) gb_u64(g, dims[i]);
    gb_u32(g, type); gb_u64(g, off);
}
/* Pads to the 32-byte alignment and appends `data` zero bytes of tensor data. */
static void gb_data(gguf_buf *g, size_t data) {
    while (g->n % 32) g->b[g->n++] = 0;
    memset(g->b + g->n, 0, data); g->n += data;
}

static void expect_gguf_fails(const char *what, const char *scratch, gguf_buf *g, const char *needle) {
    expect_load_fails(what, scratch, g->b, g->n);
    if (!strstr(loom_last_error(), needle)) {
        failed++; printf("FAIL %s: message '%s' does not name the cause ('%s')\n", what, loom_last_error(), needle);
    }
}

static void gguf_bombs(const char *scratch) {
    gguf_buf g;
    uint64_t big4[4] = {2147483647u, 2147483647u, 2147483647u, 4};
    gb_header(&g, 1, 0); gb_tensor(&g, "t", 4, big4, 0, 0); gb_data(&g, 64);
    expect_gguf_fails("shape product overflows Int64", scratch, &g, "too many elements");
    uint64_t huge1[1] = {1ull << 63};
    gb_header(&g, 1, 0); gb_tensor(&g, "t", 1, huge1, 0, 0); gb_data(&g, 64);
    expect_gguf_fails("dimension near 2^63", scratch, &g, "absurd dimension");
    uint64_t d8[1] = {8};
    gb_header(&g, 1, 0); gb_tensor(&g, "t", 0, d8, 0, 0); gb_data(&g, 64);
    expect_gguf_fails("zero dimensions", scratch, &g, "dimensions");
    gb_header(&g, 2, 0); gb_tensor(&g, "a", 1, d8, 0, 0); gb_tensor(&g, "b", 1, d8, 0, 0); gb_data(&g, 64);
    expect_gguf_fails("tensors at the same offset", scratch, &g, "overlap");
    uint64_t d16[1] = {16};
    gb_header(&g, 2, 0); gb_tensor(&g, "a", 1, d16, 0, 0); gb_tensor(&g, "b", 1, d8, 0, 32); gb_data(&g, 96);
    expect_gguf_fails("overlapping tensor data", scratch, &g, "overlap");
    gb_header(&g, 1, 0); gb_tensor(&g, "a", 1, d8, 0, 4); gb_data(&g, 64);
    expect_gguf_fails("misaligned tensor offset", scratch, &g, "not aligned");
    gb_header(&g, 1, 0); gb_tensor(&g, "a", 1, d8, 0, 0xFFFFFFFFFFFFFFE0ull); gb_data(&g, 64);
    expect_gguf_fails("tensor offset near 2^64", scratch, &g, "beyond the end");
    gb_header(&g, 1, 0); gb_tensor(&g, "a", 1, d16, 0, 32); gb_data(&g, 64);
    expect_gguf_fails("tensor data past the end", scratch, &g, "past the end");
    gb_header(&g, 2, 0); gb_tensor(&g, "a", 1, d8, 0, 0); gb_tensor(&g, "a", 1, d8, 0, 32); gb_data(&g, 64);
    expect_gguf_fails("duplicate tensor name", scratch, &g, "duplicate");
    /* Metadata: a string value and a string array whose lengths are near 2^64, a bad alignment. */
    gb_header(&g, 0, 1); gb_str(&g, "k"); gb_u32(&g, 8); gb_u64(&g, UINT64_MAX - 3);
    expect_gguf_fails("string value length near 2^64", scratch, &g, "length");
    gb_header(&g, 0, 1); gb_str(&g, "k"); gb_u32(&g, 9); gb_u32(&g, 8); gb_u64(&g, UINT64_MAX / 8);
    expect_gguf_fails("string array count near 2^61", scratch, &g, "more than the file holds");
    gb_header(&g, 0, 1); gb_str(&g, "k"); gb_u32(&g, 9); gb_u32(&g, 9); gb_u64(&g, UINT64_MAX);
    expect_gguf_fails("array of arrays count 2^64-1", scratch, &g, "more than the file holds");
    gb_header(&g, 0, 1); gb_str(&g, "general.alignment"); gb_u32(&g, 4); gb_u32(&g, 3);
    expect_gguf_fails("alignment not a power of two", scratch, &g, "alignment");
    gb_header(&g, 0, 1); gb_str(&g, "general.alignment"); gb_u32(&g, 4); gb_u32(&g, 0);
    expect_gguf_fails("alignment 0", scratch, &g, "alignment");
    gb_header(&g, 0, 2); gb_str(&g, "k"); gb_u32(&g, 4); gb_u32(&g, 1); gb_str(&g, "k"); gb_u32(&g, 4); gb_u32(&g, 1);
    expect_gguf_fails("duplicate metadata key", scratch, &g, "duplicate");
}

/* A context's n_ctx: beyond the documented maximum (1048576) it is refused at once. */
static void context_limit_cases(const char *model_path) {
    loom_model *m = NULL;
    if (loom_model_load(model_path, NULL, &m) != LOOM_OK) { failed++; printf("FAIL load %s\n", model_path); return; }
    uint32_t bad[3] = {(1u << 20) + 1, 2147483647u, UINT32_MAX};
    for (int i = 0; i < 3; i++) {
        loom_context_params p = loom_context_default_params();
        p.n_ctx = bad[i];
        loom_context *c = (loom_context *)0x1;
        char what[64];
        snprintf(what, sizeof what, "n_ctx %u", bad[i]);
        expect_status(what, loom_context_new(m, &p, &c), LOOM_ERR_INVALID_ARGUMENT);
        if (c != NULL || !strstr(loom_last_error(), "n_ctx")) { failed++; printf("FAIL %s: '%s'\n", what, loom_last_error()); }
    }
    loom_context_params p = loom_context_default_params();
    p.n_seq_max = 1025;
    loom_context *c = NULL;
    expect_fail("n_seq_max 1025", loom_context_new(m, &p, &c));
    p = loom_context_default_params();
    p.n_batch = 1 << 17;
    expect_fail("n_batch 131072", loom_context_new(m, &p, &c));
    loom_model_free(m);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s MODEL.gguf TOKENIZER.json SCRATCH [T5-FOLDER]\n", argv[0]); return 2; }
    const char *model_path = argv[1], *tok_path = argv[2], *scratch = argv[3];
    char path[4096];

    /* NULL pointers everywhere. */
    loom_model *m = NULL;
    loom_tokenizer *t = NULL;
    expect_fail("load NULL path", loom_model_load(NULL, NULL, &m));
    expect_fail("load NULL out", loom_model_load(model_path, NULL, NULL));
    expect_fail("tokenizer_load NULL path", loom_tokenizer_load(NULL, &t));
    expect_fail("tokenizer_load NULL out", loom_tokenizer_load(tok_path, NULL));
    expect_fail("meta_count NULL", loom_model_meta_count(NULL));
    expect_fail("meta_key NULL", loom_model_meta_key_by_index(NULL, 0, NULL, 0));
    expect_fail("meta_val NULL model", loom_model_meta_val_str(NULL, "general.name", NULL, 0));
    expect_fail("model_tokenizer NULL", loom_model_tokenizer(NULL, NULL));
    expect_fail("tokenize NULL tokenizer", loom_tokenize(NULL, "a", 1, NULL, 0, false, false));
    expect_fail("detokenize NULL tokenizer", loom_detokenize(NULL, NULL, 0, NULL, 0, false));
    expect_fail("token_to_piece NULL tokenizer", loom_token_to_piece(NULL, 0, NULL, 0, false));
    expect_fail("n_vocab NULL", loom_tokenizer_n_vocab(NULL));
    expect_fail("n_embd NULL", loom_model_n_embd(NULL));
    expect_fail("embed NULL model", loom_embed(NULL, NULL, NULL, 0, NULL, NULL, 0));
    expect_fail("encode NULL model", loom_encode(NULL, NULL, NULL, 0, 0, NULL, 0));
    expect_fail("mlm_logits NULL model", loom_mlm_logits(NULL, NULL, 0, NULL, 0));
    if (loom_tokenizer_mask(NULL) != LOOM_TOKEN_NULL) { failed++; printf("FAIL tokenizer_mask(NULL)\n"); } else passed++;
    expect_fail("is_seq2seq NULL", loom_model_is_seq2seq(NULL));
    expect_fail("seq2seq_generate NULL model", loom_seq2seq_generate(NULL, NULL, 0, 4, NULL, 0));
    loom_model_free(NULL);
    loom_tokenizer_free(NULL);
    passed++; /* the frees of NULL returned */

    /* Params with a nonsense size. */
    loom_model_params bad = loom_model_default_params();
    bad.size = 0;
    expect_fail("params size 0", loom_model_load(model_path, &bad, &m));

    /* Load progress and logging: a cancelling callback (a good file: aborted; a bad one: not called),
     * log levels out of range, a NULL log callback with user data. */
    int progress_calls = 0;
    loom_model_params cancelling = loom_model_default_params();
    cancelling.progress_callback = cancel_progress;
    cancelling.progress_user_data = &progress_calls;
    m = (loom_model *)0x1;
    expect_fail("progress cancels", loom_model_load(model_path, &cancelling, &m));
    if (loom_last_status() != LOOM_ERR_ABORTED || m != NULL || progress_calls != 1) {
        failed++; printf("FAIL progress cancel: status %d, %d calls\n", loom_last_status(), progress_calls);
    } else passed++;
    expect_fail("progress on a missing file", loom_model_load("/nonexistent/model.gguf", &cancelling, &m));
    if (progress_calls != 1) { failed++; printf("FAIL progress called for a missing file\n"); } else passed++;
    expect_fail("log level 4", loom_log_set_level(4));
    expect_fail("log level -1", loom_log_set_level(-1));
    expect_fail("log level INT32_MIN", loom_log_set_level(INT32_MIN));
    loom_log_set(NULL, &progress_calls);
    loom_log_set(NULL, NULL);
    if (loom_log_get_level() != LOOM_LOG_INFO) { failed++; printf("FAIL log level changed by bad input\n"); } else passed++;

    /* Missing file, a directory without a model, an empty file, wrong magic. */
    expect_fail("missing file", loom_model_load("/nonexistent/model.gguf", NULL, &m));
    expect_fail("missing tokenizer", loom_tokenizer_load("/nonexistent/tokenizer.json", &t));
    expect_fail("folder without config", loom_model_load(scratch, NULL, &m));
    expect_load_fails("empty file", scratch, "", 0);
    expect_load_fails("wrong magic", scratch, "GGML\3\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24);
    expect_load_fails("version 1", scratch, "GGUF\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24);
    expect_load_fails("version 99", scratch, "GGUF\x63\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24);

    size_t len;
    unsigned char *good = read_file(model_path, &len);
    unsigned char *copy = malloc(len);

    /* Truncated at many cut points: every byte of the first 4 KiB (all the metadata of the tiny
     * model and its tensor infos), then every 997 bytes through the tensor data. */
    int cuts = 0;
    for (size_t cut = 0; cut < len; cut += (cut < 4096 ? 1 : 997)) {
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu", cut);
        snprintf(path, sizeof path, "%s/bad.gguf", scratch);
        write_file(path, good, cut);
        expect_fail(what, loom_model_load(path, NULL, &m));
        cuts++;
    }
    printf("truncations tried: %d\n", cuts);

    /* Absurd counts: tensor count and metadata count near 2^64. */
    memcpy(copy, good, len);
    put_u64(copy + 8, UINT64_MAX / 2);
    expect_load_fails("absurd tensor count", scratch, copy, len);
    memcpy(copy, good, len);
    put_u64(copy + 16, UINT64_MAX - 3);
    expect_load_fails("absurd metadata count", scratch, copy, len);
    /* The first key's length near 2^64. */
    memcpy(copy, good, len);
    put_u64(copy + 24, UINT64_MAX - 7);
    expect_load_fails("absurd key length", scratch, copy, len);

    /* A hand-made GGUF: one array whose count is larger than the file. */
    {
        unsigned char g[256];
        size_t o = 0;
        memcpy(g, "GGUF", 4); o = 4;
        uint32_t v3 = 3; memcpy(g + o, &v3, 4); o += 4;
        put_u64(g + o, 0); o += 8;  /* tensors */
        put_u64(g + o, 1); o += 8;  /* kv */
        put_u64(g + o, 3); o += 8; memcpy(g + o, "key", 3); o += 3;
        uint32_t arr = 9; memcpy(g + o, &arr, 4); o += 4;
        uint32_t i32 = 5; memcpy(g + o, &i32, 4); o += 4;
        put_u64(g + o, 1ull << 40); o += 8;
        expect_load_fails("array count larger than file", scratch, g, o);
        /* nested arrays deeper than any real file */
        o = 24;
        put_u64(g + o, 3); o += 8; memcpy(g + o, "key", 3); o += 3;
        for (int d = 0; d < 12; d++) {
            memcpy(g + o, &arr, 4); o += 4;
            put_u64(g + o, 1); o += 8;
        }
        expect_load_fails("arrays nested 12 deep", scratch, g, o);
        /* an unknown value type */
        o = 24;
        put_u64(g + o, 3); o += 8; memcpy(g + o, "key", 3); o += 3;
        uint32_t unk = 77; memcpy(g + o, &unk, 4); o += 4;
        expect_load_fails("unknown value type", scratch, g, o);
    }

    gguf_bombs(scratch);
    context_limit_cases(model_path);
    {
        /* llama.attention.head_count_kv = 0 trapped (division by zero) while validating the
         * architecture (found by the gguf_model fuzz target): now an error naming the parameters. */
        const char *key = "llama.attention.head_count_kv";
        size_t klen = strlen(key), at = 0;
        for (size_t i = 0; i + klen + 8 <= len && i < 4096; i++) {
            if (memcmp(good + i, key, klen) == 0) { at = i + klen + 4; break; }  /* skip the u32 type */
        }
        if (at == 0) { failed++; printf("FAIL head_count_kv not found in %s\n", model_path); }
        else {
            memcpy(copy, good, len);
            memset(copy + at, 0, 4);
            snprintf(path, sizeof path, "%s/bad.gguf", scratch);
            write_file(path, copy, len);
            m = (loom_model *)0x1;
            expect_fail("head_count_kv 0", loom_model_load(path, NULL, &m));
            if (m != NULL || !strstr(loom_last_error(), "inconsistent llama hyper-parameters")) {
                failed++; printf("FAIL head_count_kv 0: '%s'\n", loom_last_error());
            }
        }
    }

    /* Tensor data out of bounds: find the first tensor info's offset field by loading the good file's
     * metadata, then patch each u64 after the metadata that equals a tensor offset... Simpler and
     * exhaustive: patch every 8-byte-aligned position of the header region with a huge value; each
     * variant must either load or fail cleanly, and at least the tensor offset variants must fail. */
    int patched_fail = 0, patched_ok = 0;
    for (size_t pos = 24; pos + 8 <= 4096 && pos + 8 <= len; pos += 4) {
        memcpy(copy, good, len);
        put_u64(copy + pos, 0x7fffffffffff0000ull);
        snprintf(path, sizeof path, "%s/bad.gguf", scratch);
        write_file(path, copy, len);
        m = NULL;
        loom_status s = loom_model_load(path, NULL, &m);
        if (s == LOOM_OK) { patched_ok++; loom_model_free(m); }
        else if (loom_last_error()[0]) patched_fail++;
        else { failed++; printf("FAIL patch at %zu: no message\n", pos); }
    }
    printf("header patches: %d rejected with a message, %d still valid\n", patched_fail, patched_ok);
    if (patched_fail > 0) passed++; else { failed++; printf("FAIL no header patch was rejected\n"); }

    /* A good model: out-of-range ids, a too-small buffer, bad metadata queries. */
    expect_ok("load good model", loom_model_load(model_path, NULL, &m));
    if (m) {
        const loom_tokenizer *tok = NULL;
        expect_ok("model tokenizer", loom_model_tokenizer(m, &tok));
        loom_tokenizer_free((loom_tokenizer *)tok); /* borrowed: must be a no-op */
        loom_token ids[64];
        int32_t n = loom_tokenize(tok, "Hello world, this is a test.", 28, ids, 64, false, false);
        expect_ok("tokenize", n);
        int32_t small = loom_tokenize(tok, "Hello world, this is a test.", 28, ids, 1, false, false);
        expect_fail("tokenize buffer too small", small);
        if (n > 1 && small != -n) { failed++; printf("FAIL too-small tokenize returned %d, need %d\n", small, -n); }
        if (loom_last_status() != LOOM_ERR_BUFFER_TOO_SMALL) { failed++; printf("FAIL last_status not BUFFER_TOO_SMALL\n"); }
        expect_fail("tokenize NULL out with cap", loom_tokenize(tok, "abc", 3, NULL, 8, false, false));
        const char *texts[1] = {"not an encoder"};
        float embedding[8];
        expect_fail("embed with a decoder model", loom_embed(m, texts, NULL, 1, NULL, embedding, 8));
        expect_fail("n_embd of a decoder model", loom_model_n_embd(m));
        if (loom_model_is_seq2seq(m) != 0) { failed++; printf("FAIL a decoder model reports seq2seq\n"); } else passed++;
        expect_fail("seq2seq_generate with a decoder model", loom_seq2seq_generate(m, ids, 1, 4, ids, 64));
        expect_fail("tokenize NULL text with len", loom_tokenize(tok, NULL, 5, ids, 64, false, false));
        char buf[8];
        expect_fail("detokenize small buffer", loom_detokenize(tok, ids, (size_t)n, buf, 2, false));
        loom_token badids[3] = {1, -5, 2};
        expect_fail("detokenize negative id", loom_detokenize(tok, badids, 3, buf, sizeof buf, false));
        badids[1] = 1 << 30;
        expect_fail("detokenize huge id", loom_detokenize(tok, badids, 3, buf, sizeof buf, false));
        expect_fail("token_to_piece invalid id", loom_token_to_piece(tok, 999999, buf, sizeof buf, false));
        expect_fail("token_to_piece negative id", loom_token_to_piece(tok, -1, buf, sizeof buf, false));
        expect_fail("token_text invalid id", loom_token_text(tok, 999999, buf, sizeof buf));
        expect_fail("meta index -1", loom_model_meta_key_by_index(m, -1, buf, sizeof buf));
        expect_fail("meta index too large", loom_model_meta_key_by_index(m, 1 << 20, buf, sizeof buf));
        expect_fail("meta missing key", loom_model_meta_val_str(m, "no.such.key", buf, sizeof buf));
        expect_fail("meta NULL key", loom_model_meta_val_str(m, NULL, buf, sizeof buf));
        expect_fail("meta small buffer", loom_model_meta_key_by_index(m, 0, buf, 1));
        /* Invalid UTF-8 tokenizes without dying. */
        const char bad_utf8[] = "\xff\xfe\xc3(\xe2\x82 \xf0\x9f";
        expect_ok("tokenize invalid utf-8", loom_tokenize(tok, bad_utf8, sizeof bad_utf8 - 1, ids, 64, false, false));
        /* A model handle passed where a tokenizer is expected is refused. */
        expect_fail("model as tokenizer", loom_tokenize((const loom_tokenizer *)m, "a", 1, ids, 64, false, false));
        loom_model_free(m);
    }

    /* A tokenizer.json that is not JSON, and one that is JSON but not a tokenizer. */
    snprintf(path, sizeof path, "%s/tokenizer.json", scratch);
    write_file(path, "{\"model\": [1, 2", 15);
    expect_fail("truncated tokenizer.json", loom_tokenizer_load(path, &t));
    write_file(path, "{\"model\": {\"type\": \"Nope\"}}", 27);
    expect_fail("unknown tokenizer model", loom_tokenizer_load(path, &t));
    {
        /* 100000 nested arrays: bounded depth, no stack overflow. */
        size_t depth = 100000;
        char *deep = malloc(2 * depth);
        memset(deep, '[', depth);
        memset(deep + depth, ']', depth);
        write_file(path, deep, 2 * depth);
        free(deep);
        expect_fail("deeply nested tokenizer.json", loom_tokenizer_load(path, &t));
    }

    /* BPE training: NULLs, bad params, too small a vocabulary, unreadable files, then a good run. */
    {
        loom_bpe_training *tr = (loom_bpe_training *)0x1;
        const char *texts[3] = {"hello world, hello there", "the quick brown fox\n", NULL};
        size_t lens[3] = {24, 20, 5};
        loom_bpe_train_params bp = loom_bpe_train_default_params();
        if (bp.vocab_size != 30000 || !bp.byte_level || bp.size != sizeof bp) {
            failed++; printf("FAIL bpe default params\n");
        }
        bp.vocab_size = 300;
        expect_fail("bpe_train NULL out", loom_bpe_train(texts, NULL, 2, NULL, 0, &bp, NULL));
        expect_fail("bpe_train NULL texts", loom_bpe_train(NULL, NULL, 2, NULL, 0, &bp, &tr));
        if (tr != NULL) { failed++; printf("FAIL bpe_train: out not NULL after failure\n"); }
        expect_fail("bpe_train NULL files", loom_bpe_train(texts, NULL, 2, NULL, 1, &bp, &tr));
        expect_fail("bpe_train NULL text", loom_bpe_train(texts, NULL, 3, NULL, 0, &bp, &tr));
        expect_fail("bpe_train NULL text with length", loom_bpe_train(texts, lens, 3, NULL, 0, &bp, &tr));
        lens[0] = (size_t)-1;
        expect_fail("bpe_train huge text length", loom_bpe_train(texts, lens, 2, NULL, 0, &bp, &tr));
        lens[0] = 24;
        expect_fail("bpe_train huge n_texts", loom_bpe_train(texts, NULL, (size_t)-1, NULL, 0, &bp, &tr));
        const char *missing[1] = {"/nonexistent/corpus.txt"};
        expect_fail("bpe_train missing file", loom_bpe_train(NULL, NULL, 0, missing, 1, &bp, &tr));
        const char *dir[1] = {scratch};
        expect_fail("bpe_train directory as file", loom_bpe_train(NULL, NULL, 0, dir, 1, &bp, &tr));
        const char *null_file[1] = {NULL};
        expect_fail("bpe_train NULL file name", loom_bpe_train(NULL, NULL, 0, null_file, 1, &bp, &tr));
        loom_bpe_train_params bad_bp = bp;
        bad_bp.size = 0;
        expect_fail("bpe_train params size 0", loom_bpe_train(texts, NULL, 2, NULL, 0, &bad_bp, &tr));
        bad_bp = bp;
        bad_bp.vocab_size = 100;
        expect_fail("bpe_train vocab_size below the byte alphabet", loom_bpe_train(texts, NULL, 2, NULL, 0, &bad_bp, &tr));
        bad_bp.vocab_size = 0;
        expect_fail("bpe_train vocab_size 0", loom_bpe_train(texts, NULL, 2, NULL, 0, &bad_bp, &tr));
        bad_bp.vocab_size = UINT32_MAX;
        expect_fail("bpe_train vocab_size huge", loom_bpe_train(texts, NULL, 2, NULL, 0, &bad_bp, &tr));
        bad_bp = bp;
        bad_bp.n_special_tokens = 2;
        expect_fail("bpe_train NULL special_tokens", loom_bpe_train(texts, NULL, 2, NULL, 0, &bad_bp, &tr));
        const char *specials[2] = {"<s>", NULL};
        bad_bp.special_tokens = specials;
        expect_fail("bpe_train NULL special token", loom_bpe_train(texts, NULL, 2, NULL, 0, &bad_bp, &tr));
        specials[1] = "";
        expect_fail("bpe_train empty special token", loom_bpe_train(texts, NULL, 2, NULL, 0, &bad_bp, &tr));
        bad_bp = bp;
        bad_bp.byte_level = false;
        expect_fail("bpe_train no text, no alphabet", loom_bpe_train(NULL, NULL, 0, NULL, 0, &bad_bp, &tr));
        bad_bp.vocab_size = 5;
        expect_fail("bpe_train vocab_size below the alphabet", loom_bpe_train(texts, NULL, 2, NULL, 0, &bad_bp, &tr));
        expect_fail("bpe_training_json NULL", loom_bpe_training_json(NULL, NULL, 0));
        expect_fail("bpe_training_save NULL", loom_bpe_training_save(NULL, "x.json"));
        expect_fail("bpe_training_tokenizer NULL", loom_bpe_training_tokenizer(NULL, &t));
        expect_fail("bpe_training_n_vocab NULL", loom_bpe_training_n_vocab(NULL));
        expect_fail("bpe_training_n_merges NULL", loom_bpe_training_n_merges(NULL));
        loom_bpe_training_free(NULL);
        passed++;

        /* A good run (invalid UTF-8 in the text is replaced, not fatal). */
        specials[1] = "<pad>";
        bp.special_tokens = specials;
        bp.n_special_tokens = 2;
        texts[2] = "bad \xff\xfe utf-8 \xc3";
        expect_ok("bpe_train", loom_bpe_train(texts, NULL, 3, NULL, 0, &bp, &tr));
        if (tr) {
            int32_t nv = loom_bpe_training_n_vocab(tr);
            if (nv <= 258 || nv > 300 || loom_bpe_training_n_merges(tr) != nv - 258) {
                failed++; printf("FAIL bpe training sizes: %d tokens, %d merges\n", nv, loom_bpe_training_n_merges(tr));
            }
            char small[4];
            int32_t need = loom_bpe_training_json(tr, small, sizeof small);
            expect_fail("bpe_training_json small buffer", need);
            if (loom_last_status() != LOOM_ERR_BUFFER_TOO_SMALL) { failed++; printf("FAIL json: not BUFFER_TOO_SMALL\n"); }
            expect_fail("bpe_training_json NULL buffer with capacity", loom_bpe_training_json(tr, NULL, 1 << 20));
            if (need < 0) {
                char *json = malloc((size_t)-need);
                expect_ok("bpe_training_json", loom_bpe_training_json(tr, json, (size_t)-need));
                snprintf(path, sizeof path, "%s/trained.json", scratch);
                write_file(path, json, strlen(json));
                free(json);
                loom_tokenizer *loaded = NULL;
                expect_ok("load trained tokenizer.json", loom_tokenizer_load(path, &loaded));
                loom_tokenizer_free(loaded);
            }
            snprintf(path, sizeof path, "%s/no/such/dir/tokenizer.json", scratch);
            expect_fail("bpe_training_save unwritable path", loom_bpe_training_save(tr, path));
            expect_fail("bpe_training_save NULL path", loom_bpe_training_save(tr, NULL));
            snprintf(path, sizeof path, "%s/saved.json", scratch);
            expect_ok("bpe_training_save", loom_bpe_training_save(tr, path));
            expect_fail("bpe_training_tokenizer NULL out", loom_bpe_training_tokenizer(tr, NULL));
            loom_tokenizer *tt = NULL;
            expect_ok("bpe_training_tokenizer", loom_bpe_training_tokenizer(tr, &tt));
            loom_token tids[64];
            char back[64];
            int32_t nt = loom_tokenize(tt, "hello there", 11, tids, 64, false, false);
            expect_ok("tokenize with trained tokenizer", nt);
            int32_t nb = nt >= 0 ? loom_detokenize(tt, tids, (size_t)nt, back, sizeof back, true) : -1;
            if (nb != 11 || memcmp(back, "hello there", 11) != 0) { failed++; printf("FAIL trained round trip\n"); }
            expect_fail("tokenizer as training", loom_bpe_training_n_vocab((const loom_bpe_training *)tt));
            expect_fail("training as tokenizer", loom_tokenizer_n_vocab((const loom_tokenizer *)tr));
            loom_bpe_training_free((loom_bpe_training *)tt); /* not a training: must be a no-op */
            loom_bpe_training_free(tr);
            expect_ok("trained tokenizer outlives its training", loom_tokenize(tt, "hello", 5, tids, 64, false, false));
            loom_tokenizer_free(tt);
        }
    }

    /* Encoder-decoder generation (optional 4th argument: the tiny-t5 folder; 512-token vocabulary). */
    if (argc > 4) {
        loom_model *t5 = NULL;
        expect_ok("load tiny-t5", loom_model_load(argv[4], NULL, &t5));
        if (t5) {
            if (loom_model_is_seq2seq(t5) != 1) { failed++; printf("FAIL tiny-t5 is not seq2seq\n"); } else passed++;
            loom_token in[3] = {109, 90, 1}, out[16];
            expect_fail("seq2seq NULL ids", loom_seq2seq_generate(t5, NULL, 3, 4, out, 16));
            expect_fail("seq2seq no ids", loom_seq2seq_generate(t5, in, 0, 4, out, 16));
            expect_fail("seq2seq negative max_new_tokens", loom_seq2seq_generate(t5, in, 3, -1, out, 16));
            expect_fail("seq2seq NULL out with cap", loom_seq2seq_generate(t5, in, 3, 4, NULL, 16));
            in[1] = 512;
            int32_t st = loom_seq2seq_generate(t5, in, 3, 4, out, 16);
            expect_fail("seq2seq id past the vocabulary", st);
            if (st != LOOM_ERR_OUT_OF_RANGE) { failed++; printf("FAIL invalid id gave %d, not OUT_OF_RANGE\n", st); }
            in[1] = -3;
            expect_fail("seq2seq negative id", loom_seq2seq_generate(t5, in, 3, 4, out, 16));
            in[1] = 90;
            int32_t small = loom_seq2seq_generate(t5, in, 3, 4, out, 2);
            expect_fail("seq2seq buffer too small", small);
            if (small != -4 || loom_last_status() != LOOM_ERR_BUFFER_TOO_SMALL) { failed++; printf("FAIL too-small seq2seq returned %d\n", small); }
            int32_t n = loom_seq2seq_generate(t5, in, 3, 4, out, 16);
            expect_ok("seq2seq generate", n);
            if (n != 4) { failed++; printf("FAIL seq2seq generated %d tokens, expected 4\n", n); }
            const char *texts[1] = {"not an encoder"};
            float embedding[8];
            expect_fail("embed with a seq2seq model", loom_embed(t5, texts, NULL, 1, NULL, embedding, 8));
            loom_model_free(t5);
        }
        loom_model *vocab = NULL;
        loom_model_params vp = loom_model_default_params();
        vp.vocab_only = true;
        expect_ok("load tiny-t5 vocab_only", loom_model_load(argv[4], &vp, &vocab));
        if (vocab) {
            loom_token in[2] = {3, 1}, out[4];
            if (loom_model_is_seq2seq(vocab) != 0) { failed++; printf("FAIL vocab_only tiny-t5 reports seq2seq\n"); } else passed++;
            expect_fail("seq2seq generate vocab_only", loom_seq2seq_generate(vocab, in, 2, 4, out, 4));
            loom_model_free(vocab);
        }
    }

    /* Masked-LM logits: tiny-bert (512-token vocabulary, 128 positions) sits beside tiny-llama in
     * Tests/Fixtures; its HF folder has the MLM head, its llama.cpp GGUF conversion has none. */
    {
        char bert_dir[4096], bert_gguf[4200];
        snprintf(bert_dir, sizeof bert_dir, "%s", model_path);
        for (int up = 0; up < 2; up++) { char *slash = strrchr(bert_dir, '/'); if (slash) *slash = 0; }
        strncat(bert_dir, "/tiny-bert", sizeof bert_dir - strlen(bert_dir) - 1);
        snprintf(bert_gguf, sizeof bert_gguf, "%s/model.f32.gguf", bert_dir);
        loom_model *decoder = NULL, *bert = NULL, *headless = NULL;
        loom_token ids[4] = {2, 4, 5, 3};
        static float logits[4 * 512];
        if (loom_model_load(model_path, NULL, &decoder) == LOOM_OK) {
            int32_t st = loom_mlm_logits(decoder, ids, 4, logits, 4 * 512);
            expect_fail("mlm_logits with a decoder model", st);
            if (st != LOOM_ERR_UNSUPPORTED) { failed++; printf("FAIL mlm_logits decoder gave %d\n", st); }
            loom_model_free(decoder);
        }
        if (loom_model_load(bert_dir, NULL, &bert) == LOOM_OK) {
            expect_fail("mlm_logits NULL ids", loom_mlm_logits(bert, NULL, 4, logits, 4 * 512));
            expect_fail("mlm_logits no ids", loom_mlm_logits(bert, ids, 0, logits, 4 * 512));
            expect_fail("mlm_logits too many ids", loom_mlm_logits(bert, ids, 129, logits, 4 * 512));
            expect_fail("mlm_logits NULL out with cap", loom_mlm_logits(bert, ids, 4, NULL, 4 * 512));
            ids[1] = 512;
            int32_t st = loom_mlm_logits(bert, ids, 4, logits, 4 * 512);
            expect_fail("mlm_logits id past the vocabulary", st);
            if (st != LOOM_ERR_OUT_OF_RANGE) { failed++; printf("FAIL mlm_logits invalid id gave %d\n", st); }
            ids[1] = -1;
            expect_fail("mlm_logits negative id", loom_mlm_logits(bert, ids, 4, logits, 4 * 512));
            ids[1] = 4;
            int32_t small = loom_mlm_logits(bert, ids, 4, logits, 100);
            expect_fail("mlm_logits buffer too small", small);
            if (small != -4 * 512 || loom_last_status() != LOOM_ERR_BUFFER_TOO_SMALL) { failed++; printf("FAIL too-small mlm_logits returned %d\n", small); }
            int32_t n = loom_mlm_logits(bert, ids, 4, logits, 4 * 512);
            expect_ok("mlm_logits", n);
            if (n != 4 * 512) { failed++; printf("FAIL mlm_logits wrote %d floats\n", n); }
            const loom_tokenizer *bt = NULL;
            if (loom_model_tokenizer(bert, &bt) == LOOM_OK && loom_tokenizer_mask(bt) == 4) passed++;
            else { failed++; printf("FAIL tiny-bert mask token\n"); }
            loom_model_free(bert);
        } else { failed++; printf("FAIL load %s: %s\n", bert_dir, loom_last_error()); }
        if (loom_model_load(bert_gguf, NULL, &headless) == LOOM_OK) {
            int32_t st = loom_mlm_logits(headless, ids, 4, logits, 4 * 512);
            expect_fail("mlm_logits without a head (GGUF)", st);
            if (st != LOOM_ERR_UNSUPPORTED) { failed++; printf("FAIL headless mlm_logits gave %d\n", st); }
            loom_model_free(headless);
        } else { failed++; printf("FAIL load %s: %s\n", bert_gguf, loom_last_error()); }
    }

    chat_and_prompt_cases(model_path);

    free(good);
    free(copy);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
