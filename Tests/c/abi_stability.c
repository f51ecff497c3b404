/* ABI stability: loom_version() is the header's major.minor.patch; params structs of an older, smaller
 * size (a program compiled against an earlier loom.h) and of a newer, larger size are accepted, fields
 * the caller did not know keeping their defaults.
 * usage: abi_stability TINY_LLAMA.gguf TINY_BERT_FOLDER
 * Prints a line per failed check and a closing "N passed, M failed" line (exit 1 on failures). */
#include <loom.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(what, cond) do { if (cond) passed++; else { failed++; printf("FAIL %s (line %d): %s\n", what, __LINE__, loom_last_error()); } } while (0)

static int progress_calls;
static bool count_progress(void *user, float progress) { (void)user; (void)progress; progress_calls++; return true; }

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s TINY_LLAMA.gguf TINY_BERT_FOLDER\n", argv[0]); return 2; }

    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", LOOM_VERSION_MAJOR, LOOM_VERSION_MINOR, LOOM_VERSION_PATCH);
    CHECK("loom_version() is the header's major.minor.patch", strcmp(loom_version(), want) == 0);

    /* loom_model_params before progress_callback: a callback set beyond size is never called. */
    loom_model_params mp = loom_model_default_params();
    mp.progress_callback = count_progress;
    mp.size = (uint32_t)offsetof(loom_model_params, progress_callback);
    loom_model *model = NULL;
    CHECK("older model params", loom_model_load(argv[1], &mp, &model) == LOOM_OK && model != NULL);
    CHECK("fields beyond the caller's size are not read", progress_calls == 0);
    mp.size = sizeof mp;
    loom_model *again = NULL;
    CHECK("current model params", loom_model_load(argv[1], &mp, &again) == LOOM_OK && progress_calls > 0);
    loom_model_free(again);

    /* loom_context_params before type_kv (garbage after it): f32 cache, 16 sequences. */
    loom_context_params cp = loom_context_default_params();
    cp.n_ctx = 64;
    cp.type_kv = 12345;
    cp.n_seq_max = 0;
    cp.size = (uint32_t)offsetof(loom_context_params, type_kv);
    loom_context *ctx = NULL;
    CHECK("older context params", loom_context_new(model, &cp, &ctx) == LOOM_OK);
    const loom_token toks[3] = {5, 6, 7};
    const int32_t seqs[3] = {15, 15, 15};
    CHECK("default n_seq_max (16) applies", ctx && loom_context_decode_batch(ctx, toks, seqs, NULL, 3) == LOOM_OK);
    cp.size = sizeof cp;
    CHECK("the same garbage at the current size is refused", loom_context_new(model, &cp, &(loom_context *){NULL}) < 0);

    /* A newer, larger struct: the fields this library knows are read, the rest ignored. */
    struct { loom_context_params p; char newer[64]; } big;
    memset(&big, 0x7f, sizeof big);
    big.p = loom_context_default_params();
    big.p.n_ctx = 64;
    big.p.size = (uint32_t)sizeof big;
    loom_context *ctx2 = NULL;
    CHECK("newer, larger context params", loom_context_new(model, &big.p, &ctx2) == LOOM_OK);
    loom_context_free(ctx2);

    /* loom_generate_params before num_beams (garbage after it): greedy, one sequence. */
    loom_generate_params gp = loom_generate_default_params();
    gp.max_tokens = 4;
    gp.num_beams = 99;
    gp.num_return_sequences = -3;
    gp.size = (uint32_t)offsetof(loom_generate_params, num_beams);
    const loom_token *prompts[1] = {toks};
    const size_t lens[1] = {3};
    loom_generation *g = NULL;
    CHECK("older generate params", ctx && loom_generate(ctx, prompts, lens, 1, &gp, &g) == LOOM_OK);
    loom_generation_free(g);

    /* loom_sampling_params before no_repeat_ngram_size; reserved slots must be zero. */
    loom_sampling_params sp = loom_sampling_default_params();
    sp.no_repeat_ngram_size = -5;
    sp.size = (uint32_t)offsetof(loom_sampling_params, no_repeat_ngram_size);
    loom_sampler *s = NULL;
    CHECK("older sampling params", loom_sampler_new(&sp, &s) == LOOM_OK);
    loom_sampler_free(s);
    sp = loom_sampling_default_params();
    sp.reserved[3] = 1;
    s = NULL;
    CHECK("non-zero reserved sampling slots are refused", loom_sampler_new(&sp, &s) == LOOM_ERR_INVALID_ARGUMENT && s == NULL);
    CHECK("size 0 is refused", (sp = loom_sampling_default_params(), sp.size = 0, loom_sampler_new(&sp, &s)) == LOOM_ERR_INVALID_ARGUMENT);

    /* loom_embed_params before precision (garbage after it): f32. */
    loom_model *bert = NULL;
    CHECK("load tiny-bert", loom_model_load(argv[2], NULL, &bert) == LOOM_OK);
    loom_embed_params ep = loom_embed_default_params();
    ep.precision = 777;
    ep.size = (uint32_t)offsetof(loom_embed_params, precision);
    const char *texts[1] = {"hello world"};
    float out[4096];
    CHECK("older embed params", bert && loom_embed(bert, texts, NULL, 1, &ep, out, 4096) > 0);
    ep.size = sizeof ep;
    CHECK("the same garbage at the current size is refused", bert && loom_embed(bert, texts, NULL, 1, &ep, out, 4096) < 0);
    loom_model_free(bert);

    loom_context_free(ctx);
    loom_model_free(model);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
