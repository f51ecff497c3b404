/* Batching, beam search, logit processors, abort and state through the C ABI on the tiny llama, and
 * the new calls' bad inputs. usage: abi_generation TINY_MODEL.gguf SCRATCH_DIR
 * Prints a line per failed check and a closing "N passed, M failed" line (exit 1 on failures). */
#include <loom.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(what, cond) do { if (cond) passed++; else { failed++; printf("FAIL %s (line %d): %s\n", what, __LINE__, loom_last_error()); } } while (0)

static const loom_token prompts[4][6] = {
    {52, 440, 435, 83, 327, 285}, {5, 6, 7, 8, 9, 10}, {100, 200, 300, 400, 17, 3}, {71, 72, 73, 74, 75, 76}};

static int tokens_of(loom_generation *g, size_t seq, loom_token *out, size_t cap) {
    return loom_generation_tokens(g, seq, out, cap);
}

static int abort_after;
static bool abort_cb(void *user) { int *calls = user; return ++*calls >= abort_after; }

/* Copies row 0 of the last decode's logits (512 of them); true on success. */
static bool copy_row(const loom_context *ctx, float *dst) {
    const float *p = NULL;
    if (loom_context_logits(ctx, 0, &p) != LOOM_OK || !p) return false;
    memcpy(dst, p, 512 * sizeof *p);
    return true;
}

static int callback_calls;
static void ban_token_7(void *user, const loom_token *history, size_t n_history, float *logits, size_t n_vocab) {
    (void)user; (void)history; (void)n_history;
    callback_calls++;
    if (n_vocab > 7) logits[7] = -INFINITY;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s TINY_MODEL.gguf SCRATCH_DIR\n", argv[0]); return 2; }
    loom_model *model = NULL;
    if (loom_model_load(argv[1], NULL, &model) != LOOM_OK) { printf("load: %s\n", loom_last_error()); return 1; }
    loom_context_params cp = loom_context_default_params();
    cp.n_ctx = 128;
    cp.n_seq_max = 4;
    loom_context *ctx = NULL;
    CHECK("context", loom_context_new(model, &cp, &ctx) == LOOM_OK);

    /* 4 prompts together = 4 separate greedy runs. */
    const loom_token *ps[4] = {prompts[0], prompts[1], prompts[2], prompts[3]};
    size_t lens[4] = {6, 6, 6, 6};
    loom_generate_params gp = loom_generate_default_params();
    gp.max_tokens = 12;
    loom_generation *batch = NULL;
    CHECK("generate 4", loom_generate(ctx, ps, lens, 4, &gp, &batch) == LOOM_OK);
    CHECK("n_seq 4", loom_generation_n_seq(batch) == 4);
    for (int i = 0; i < 4; i++) {
        loom_context *alone_ctx = NULL;
        loom_context_new(model, &cp, &alone_ctx);
        loom_generation *alone = NULL;
        CHECK("generate 1", loom_generate(alone_ctx, &ps[i], &lens[i], 1, &gp, &alone) == LOOM_OK);
        loom_token a[64], b[64];
        int na = tokens_of(batch, (size_t)i, a, 64), nb = tokens_of(alone, 0, b, 64);
        CHECK("batched = alone", na == nb && na > 0 && memcmp(a, b, sizeof(loom_token) * (size_t)na) == 0);
        loom_generation_free(alone);
        loom_context_free(alone_ctx);
    }
    loom_generation_free(batch);

    /* Beam search: 4 ranked, distinct results with scores. */
    gp.num_beams = 4;
    gp.num_return_sequences = 4;
    gp.early_stopping = LOOM_EARLY_STOPPING_ALWAYS;
    loom_generation *beams = NULL;
    CHECK("beam", loom_generate(ctx, ps, lens, 1, &gp, &beams) == LOOM_OK);
    CHECK("beam n_seq", loom_generation_n_seq(beams) == 4);
    float last = INFINITY;
    for (size_t i = 0; i < 4; i++) {
        float score = 0;
        CHECK("beam score", loom_generation_score(beams, i, &score) == LOOM_OK && score <= last);
        last = score;
    }
    loom_generation_free(beams);
    gp.num_return_sequences = 5;
    CHECK("num_return_sequences > num_beams fails", loom_generate(ctx, ps, lens, 1, &gp, &beams) == LOOM_ERR_INVALID_ARGUMENT && beams == NULL);
    gp.num_return_sequences = 1;
    gp.sampling.temperature = 0.7f;
    CHECK("sampled beams unsupported", loom_generate(ctx, ps, lens, 1, &gp, &beams) == LOOM_ERR_UNSUPPORTED);
    gp.sampling.temperature = 0;
    gp.num_beams = 1;
    gp.early_stopping = 7;
    CHECK("bad early_stopping", loom_generate(ctx, ps, lens, 1, &gp, &beams) == LOOM_ERR_INVALID_ARGUMENT);
    gp.early_stopping = LOOM_EARLY_STOPPING_HEURISTIC;

    /* Processors: a callback banning token 7, a logit bias forcing token 9 first, bad words. */
    loom_generation *g = NULL;
    gp.sampling.logits_callback = ban_token_7;
    loom_logit_bias bias = {9, 1000.0f};
    gp.sampling.logit_bias = &bias;
    gp.sampling.n_logit_bias = 1;
    CHECK("processors", loom_generate(ctx, ps, lens, 1, &gp, &g) == LOOM_OK);
    loom_token ids[64];
    int n = tokens_of(g, 0, ids, 64);
    int all_nine = n > 0;
    for (int i = 0; i < n; i++) all_nine &= ids[i] == 9;
    CHECK("logit bias wins", all_nine);
    CHECK("callback called per token", callback_calls == n);
    loom_generation_free(g);
    gp.sampling.n_logit_bias = 0;
    gp.sampling.logit_bias = NULL;
    loom_token bad[] = {9};
    size_t bad_len[] = {1};
    gp.sampling.bad_words = bad;
    gp.sampling.bad_words_lengths = bad_len;
    gp.sampling.n_bad_words = 1;
    bias.bias = 5.0f;
    CHECK("bad words", loom_generate(ctx, ps, lens, 1, &gp, &g) == LOOM_OK);
    n = tokens_of(g, 0, ids, 64);
    int no_nine = 1;
    for (int i = 0; i < n; i++) no_nine &= ids[i] != 9 && ids[i] != 7;
    CHECK("bad word and callback ban hold", no_nine);
    loom_generation_free(g);
    gp.sampling.bad_words_lengths = NULL;
    CHECK("bad words without lengths", loom_generate(ctx, ps, lens, 1, &gp, &g) == LOOM_ERR_INVALID_ARGUMENT);
    gp.sampling = loom_generate_default_params().sampling;

    /* decode_batch: interleaved rows of two sequences give the logits of separate decodes. */
    loom_context_clear(ctx);
    loom_token toks[6] = {52, 5, 440, 6, 435, 7};
    int32_t seqs[6] = {1, 2, 1, 2, 1, 2};
    CHECK("decode_batch", loom_context_decode_batch(ctx, toks, seqs, NULL, 6) == LOOM_OK);
    CHECK("two logits rows", loom_context_n_logits(ctx) == 2);
    int32_t vocab = loom_context_n_vocab(ctx);
    float *rows = malloc(sizeof(float) * (size_t)vocab * 2);
    for (int r = 0; r < 2; r++) {
        const float *l = NULL;
        loom_context_logits(ctx, r, &l);
        memcpy(rows + (size_t)r * (size_t)vocab, l, sizeof(float) * (size_t)vocab);
    }
    CHECK("seq positions", loom_context_seq_position(ctx, 1) == 3 && loom_context_seq_position(ctx, 2) == 3);
    loom_context *solo = NULL;
    loom_context_new(model, &cp, &solo);
    loom_token s1[3] = {52, 440, 435}, s2[3] = {5, 6, 7};
    float maxdiff = 0;
    for (int r = 0; r < 2; r++) {
        loom_context_clear(solo);
        loom_context_decode(solo, r == 0 ? s1 : s2, 3, -1, false);
        const float *l = NULL;
        loom_context_logits(solo, 0, &l);
        for (int32_t j = 0; j < vocab; j++) {
            float d = fabsf(l[j] - rows[(size_t)r * (size_t)vocab + (size_t)j]);
            if (d > maxdiff) maxdiff = d;
        }
    }
    printf("decode_batch vs separate decodes: max |diff| %g\n", maxdiff);
    CHECK("decode_batch logits", maxdiff <= 1e-5f);
    {   /* no row keeps logits, on a fresh context */
        loom_context *fresh = NULL;
        loom_context_new(model, &cp, &fresh);
        bool none[2] = {false, false};
        CHECK("decode_batch without logits", loom_context_decode_batch(fresh, toks, seqs, none, 2) == LOOM_OK
              && loom_context_n_logits(fresh) == 0);
        loom_context_free(fresh);
    }
    CHECK("seq copy", loom_context_seq_copy(ctx, 1, 3) == LOOM_OK && loom_context_seq_position(ctx, 3) == 3);
    CHECK("seq remove", loom_context_seq_remove(ctx, 1) == LOOM_OK && loom_context_seq_position(ctx, 1) == 0);
    CHECK("seq out of range", loom_context_seq_copy(ctx, 1, 4) == LOOM_ERR_OUT_OF_RANGE);
    CHECK("seq id out of range", loom_context_decode_batch(ctx, toks, (int32_t[]){9, 9, 9, 9, 9, 9}, NULL, 6) == LOOM_ERR_OUT_OF_RANGE);

    /* State: save after a prompt, continue; restore (memory, file) and continue identically. */
    loom_context_clear(ctx);
    loom_context_decode(ctx, prompts[0], 6, -1, false);
    int64_t need = loom_context_state_save(ctx, NULL, 0);
    CHECK("state size", need < 0 && loom_last_status() == LOOM_ERR_BUFFER_TOO_SMALL);
    uint8_t *state = malloc((size_t)-need);
    CHECK("state save", loom_context_state_save(ctx, state, (size_t)-need) == -need);
    char path[4096];
    snprintf(path, sizeof path, "%s/ctx.state", argv[2]);
    CHECK("state save file", loom_context_state_save_file(ctx, path) == LOOM_OK);
    gp.max_tokens = 10;
    const loom_token *p0 = prompts[0];
    size_t l0 = 6;
    loom_token want[16], got[16];
    CHECK("continue", loom_generate(ctx, &p0, &l0, 1, &gp, &g) == LOOM_OK);
    int nwant = tokens_of(g, 0, want, 16);
    loom_generation_free(g);
    for (int from_file = 0; from_file < 2; from_file++) {
        loom_context *r = NULL;
        loom_context_new(model, &cp, &r);
        CHECK("state load", (from_file ? loom_context_state_load_file(r, path) : loom_context_state_load(r, state, (size_t)-need)) == LOOM_OK);
        CHECK("restored position", loom_context_position(r) == 6);
        CHECK("continue restored", loom_generate(r, &p0, &l0, 1, &gp, &g) == LOOM_OK);
        int ngot = tokens_of(g, 0, got, 16);
        CHECK("restored continues identically", ngot == nwant && memcmp(got, want, sizeof(loom_token) * (size_t)ngot) == 0);
        loom_generation_free(g);
        CHECK("damaged state refused", loom_context_state_load(r, state, (size_t)-need - 1) == LOOM_ERR_FORMAT);
        CHECK("position kept after a refused state", loom_context_position(r) > 6);
        loom_context_free(r);
    }
    free(state);

    /* Abort: inside the second layer check of a long prompt; the context stays usable. */
    int calls = 0;
    abort_after = 2;
    loom_token longp[100];
    for (int i = 0; i < 100; i++) longp[i] = (loom_token)(1 + (i * 37) % 400);
    loom_context_clear(ctx);
    CHECK("set abort", loom_context_set_abort_callback(ctx, abort_cb, &calls) == LOOM_OK);
    CHECK("aborted", loom_context_decode(ctx, longp, 100, -1, false) == LOOM_ERR_ABORTED);
    CHECK("nothing committed", loom_context_position(ctx) == 0);
    CHECK("clear abort", loom_context_set_abort_callback(ctx, NULL, NULL) == LOOM_OK);
    CHECK("usable after abort", loom_context_decode(ctx, longp, 100, -1, false) == LOOM_OK && loom_context_position(ctx) == 100);

    /* NULLs and bad arguments of the new calls. */
    loom_lora *lora = (loom_lora *)0x1;
    CHECK("NULL lora path", loom_lora_load(NULL, &lora) == LOOM_ERR_INVALID_ARGUMENT && lora == NULL);
    CHECK("model is not an adapter", loom_lora_load(argv[1], &lora) < 0 && lora == NULL);
    CHECK("NULL adapters with n", loom_context_set_adapters(ctx, NULL, NULL, 1) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("no adapters", loom_context_set_adapters(ctx, NULL, NULL, 0) == LOOM_OK);
    CHECK("NULL ctx adapters", loom_context_set_adapters(NULL, NULL, NULL, 0) < 0);
    loom_lora_free(NULL);
    CHECK("NULL ctx decode_batch", loom_context_decode_batch(NULL, toks, seqs, NULL, 6) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("NULL tokens decode_batch", loom_context_decode_batch(ctx, NULL, seqs, NULL, 6) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("NULL seq ids", loom_context_decode_batch(ctx, toks, NULL, NULL, 6) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("NULL ctx seq_position", loom_context_seq_position(NULL, 0) < 0);
    CHECK("negative seq", loom_context_seq_position(ctx, -1) == LOOM_ERR_OUT_OF_RANGE);
    CHECK("NULL ctx seq_copy", loom_context_seq_copy(NULL, 0, 1) < 0);
    CHECK("NULL ctx seq_remove", loom_context_seq_remove(NULL, 0) < 0);
    CHECK("NULL ctx abort", loom_context_set_abort_callback(NULL, abort_cb, NULL) < 0);
    CHECK("NULL ctx state save", loom_context_state_save(NULL, NULL, 0) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("NULL state load", loom_context_state_load(ctx, NULL, 5) == LOOM_ERR_INVALID_ARGUMENT);
    uint8_t junk[64] = {0};
    CHECK("junk state", loom_context_state_load(ctx, junk, sizeof junk) == LOOM_ERR_FORMAT);
    CHECK("NULL path", loom_context_state_save_file(ctx, NULL) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("missing file", loom_context_state_load_file(ctx, "/nonexistent/state") < 0);
    CHECK("NULL gen score", loom_generation_score(NULL, 0, &last) < 0);
    CHECK("seq2seq_ex on a decoder", loom_seq2seq_generate_ex(model, prompts[0], 6, 1, NULL, &g) == LOOM_ERR_UNSUPPORTED && g == NULL);
    CHECK("seq2seq_ex NULL model", loom_seq2seq_generate_ex(NULL, prompts[0], 6, 1, NULL, &g) < 0);
    size_t huge = (size_t)1 << 40;
    gp.sampling.bad_words = bad;
    gp.sampling.bad_words_lengths = &huge;
    gp.sampling.n_bad_words = 1;
    CHECK("huge bad word", loom_generate(ctx, ps, lens, 1, &gp, &g) == LOOM_ERR_INVALID_ARGUMENT);
    gp.sampling = loom_generate_default_params().sampling;
    gp.sampling.n_logit_bias = (size_t)-1;
    CHECK("huge logit bias count", loom_generate(ctx, ps, lens, 1, &gp, &g) == LOOM_ERR_INVALID_ARGUMENT);
    gp.sampling = loom_generate_default_params().sampling;
    CHECK("n_seq over n_seq_max", loom_generate(ctx, ps, lens, 5, &gp, &g) == LOOM_ERR_INVALID_ARGUMENT);

    free(rows);
    loom_context_free(solo);

    /* LoRA merge / unmerge / save: refused while a context is open; merged logits equal the adapter
     * run per context; unmerge restores the base; the saved GGUF loads with the merged logits. */
    char dir[2048];
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
    snprintf(path, sizeof path, "%s/lora", dir);
    loom_lora *adapter = NULL;
    CHECK("load lora", loom_lora_load(path, &adapter) == LOOM_OK);
    CHECK("kind lora", loom_lora_kind(adapter) == LOOM_ADAPTER_LORA);
    CHECK("kind NULL", loom_lora_kind(NULL) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("merge NULL model", loom_lora_merge(NULL, adapter, 1) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("merge NULL adapter", loom_lora_merge(model, NULL, 1) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("merge NaN scale", loom_lora_merge(model, adapter, NAN) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("merge with an open context", loom_lora_merge(model, adapter, 1) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("unmerge not merged", loom_lora_unmerge(model, adapter) == LOOM_ERR_INVALID_ARGUMENT);
    const loom_token pid[6] = {52, 440, 435, 83, 327, 285};
    float base_row[512], runtime_row[512], merged_row[512], saved_row[512];
    int nv = loom_context_n_vocab(ctx);
    CHECK("vocab 512", nv == 512);
    float scale = 1;
    loom_context_clear(ctx);
    CHECK("base decode", loom_context_decode(ctx, pid, 6, -1, false) == LOOM_OK && copy_row(ctx, base_row));
    CHECK("set lora", loom_context_set_adapters(ctx, &adapter, &scale, 1) == LOOM_OK);
    loom_context_clear(ctx);
    CHECK("runtime decode", loom_context_decode(ctx, pid, 6, -1, false) == LOOM_OK && copy_row(ctx, runtime_row));
    loom_context_free(ctx);
    ctx = NULL;
    CHECK("merge", loom_lora_merge(model, adapter, 1) == LOOM_OK);
    loom_lora_free(adapter);   /* the model keeps its own reference while merged */
    loom_context *mc = NULL;
    CHECK("context after merge", loom_context_new(model, &cp, &mc) == LOOM_OK);
    CHECK("merged decode", loom_context_decode(mc, pid, 6, -1, false) == LOOM_OK && copy_row(mc, merged_row));
    double dm = 0;
    for (int i = 0; i < 512; i++) dm = fmax(dm, fabs(merged_row[i] - runtime_row[i]));
    CHECK("merged equals runtime (1e-4)", dm <= 1e-4);
    snprintf(path, sizeof path, "%s/merged.gguf", argv[2]);
    CHECK("save NULL path", loom_model_save(model, NULL) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("save NULL model", loom_model_save(NULL, path) == LOOM_ERR_INVALID_ARGUMENT);
    CHECK("save to a missing folder", loom_model_save(model, "/nonexistent/dir/x.gguf") < 0);
    CHECK("save", loom_model_save(model, path) == LOOM_OK);
    loom_model *saved = NULL;
    loom_context *sc = NULL;
    CHECK("load saved", loom_model_load(path, NULL, &saved) == LOOM_OK && loom_context_new(saved, &cp, &sc) == LOOM_OK);
    CHECK("saved decode", sc && loom_context_decode(sc, pid, 6, -1, false) == LOOM_OK && copy_row(sc, saved_row));
    CHECK("saved equals merged", sc && memcmp(saved_row, merged_row, sizeof saved_row) == 0);
    loom_context_free(sc);
    loom_model_free(saved);
    remove(path);
    loom_context_free(mc);
    snprintf(path, sizeof path, "%s/lora", dir);
    CHECK("reload lora", loom_lora_load(path, &adapter) == LOOM_OK);
    CHECK("unmerge another handle of the same folder", loom_lora_unmerge(model, adapter) == LOOM_ERR_INVALID_ARGUMENT);
    loom_lora_free(adapter);
    snprintf(path, sizeof path, "%s/prompt-tuning", dir);
    CHECK("prompt tuning kind", loom_lora_load(path, &adapter) == LOOM_OK && loom_lora_kind(adapter) == LOOM_ADAPTER_PROMPT_TUNING);
    CHECK("prompt tuning does not merge", loom_lora_merge(model, adapter, 1) == LOOM_ERR_UNSUPPORTED);
    loom_lora_free(adapter);
    (void)base_row;

    loom_context_free(ctx);
    loom_model_free(model);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
