/* Evaluation and metrics through the C ABI: perplexity, scoring, BLEU and classification metrics on
 * good input, and bad input that must come back as statuses with messages (never a crash).
 * usage: abi_evaluation TINY_MODEL.gguf. Prints a closing "N passed, M failed" line. */
#include <loom.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void expect_fail(const char *what, int32_t status) {
    const char *msg = loom_last_error();
    if (status < 0 && msg && msg[0]) passed++;
    else { failed++; printf("FAIL %s: status %d, message '%s'\n", what, status, msg ? msg : "(null)"); }
}

static void expect(const char *what, int ok) {
    if (ok) passed++;
    else { failed++; printf("FAIL %s (%s)\n", what, loom_last_error()); }
}

static bool stop_at_once(void *user, float progress) { (void)user; (void)progress; return false; }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s TINY_MODEL.gguf\n", argv[0]); return 2; }
    loom_model *model = NULL;
    if (loom_model_load(argv[1], NULL, &model) != LOOM_OK) { printf("load: %s\n", loom_last_error()); return 1; }
    const loom_token ids[] = {52, 440, 435, 83, 327, 285, 79, 332, 499, 456, 292, 291, 486, 78, 275, 289};
    const size_t n = sizeof ids / sizeof ids[0];

    /* Perplexity: one window, then sliding windows of 8 every 3 (every token but the first scored). */
    double ppl = 0, nll = 0;
    int64_t scored = 0;
    expect("perplexity", loom_perplexity(model, ids, n, NULL, &ppl, &nll, &scored) == LOOM_OK && scored == (int64_t)n - 1
                         && fabs(ppl - exp(nll / (double)scored)) < 1e-9 * ppl);
    loom_perplexity_params pp = loom_perplexity_default_params();
    pp.n_ctx = 8;
    pp.stride = 3;
    pp.n_threads = 2;
    expect("perplexity sliding", loom_perplexity(model, ids, n, &pp, &ppl, NULL, &scored) == LOOM_OK && scored == (int64_t)n - 1);
    printf("tiny-llama perplexity %.4f over %lld tokens (ctx 8, stride 3)\n", ppl, (long long)scored);
    pp.stride = 9;
    expect_fail("stride > n_ctx", loom_perplexity(model, ids, n, &pp, &ppl, NULL, NULL));
    pp = loom_perplexity_default_params();
    pp.progress_callback = stop_at_once;
    expect("progress false aborts", loom_perplexity(model, ids, n, &pp, &ppl, NULL, NULL) == LOOM_ERR_ABORTED);
    expect_fail("perplexity NULL model", loom_perplexity(NULL, ids, n, NULL, &ppl, NULL, NULL));
    expect_fail("perplexity NULL ids", loom_perplexity(model, NULL, n, NULL, &ppl, NULL, NULL));
    expect_fail("perplexity one token", loom_perplexity(model, ids, 1, NULL, &ppl, NULL, NULL));
    const loom_token bad[] = {1, 2, 99999};
    expect_fail("perplexity bad id", loom_perplexity(model, bad, 3, NULL, &ppl, NULL, NULL));
    loom_perplexity_params tiny = loom_perplexity_default_params();
    tiny.size = 2;
    expect_fail("params size 2", loom_perplexity(model, ids, n, &tiny, &ppl, NULL, NULL));

    /* Scoring: the sum of the per-token values; the same after other calls reuse the cache. */
    loom_context *ctx = NULL;
    loom_context_params cp = loom_context_default_params();
    cp.n_ctx = 32;
    expect("context", loom_context_new(model, &cp, &ctx) == LOOM_OK);
    double lp = 0, lp2 = 0, per[4];
    bool greedy = false;
    expect("score", loom_score(ctx, ids, 6, ids + 6, 4, &lp, &greedy, per) == LOOM_OK
                    && fabs(lp - (per[0] + per[1] + per[2] + per[3])) < 1e-9);
    expect("score other", loom_score(ctx, ids, 6, ids + 6, 2, NULL, NULL, NULL) == LOOM_OK);
    expect("score again", loom_score(ctx, ids, 6, ids + 6, 4, &lp2, NULL, NULL) == LOOM_OK && fabs(lp - lp2) < 1e-5);
    expect_fail("score NULL ctx", loom_score(NULL, ids, 6, ids + 6, 4, &lp, NULL, NULL));
    expect_fail("score empty context", loom_score(ctx, ids, 0, ids + 6, 4, &lp, NULL, NULL));
    expect_fail("score empty continuation", loom_score(ctx, ids, 6, ids + 6, 0, &lp, NULL, NULL));
    expect_fail("score bad id", loom_score(ctx, ids, 6, bad, 3, &lp, NULL, NULL));
    loom_token longer[40] = {0};
    expect_fail("continuation longer than n_ctx", loom_score(ctx, ids, 6, longer, 40, &lp, NULL, NULL));

    const loom_tokenizer *tok = NULL;
    loom_model_tokenizer(model, &tok);
    loom_token pair[64];
    size_t split = 0;
    int32_t got = loom_eval_encode_pair(tok, "The licenses for ", "most software", false, pair, 64, &split);
    expect("encode pair", got > 0 && split > 0 && split < (size_t)got);
    int32_t need = loom_eval_encode_pair(tok, "The licenses for ", "most software", false, pair, 1, &split);
    expect("encode pair buffer convention", need == -got && loom_last_status() == LOOM_ERR_BUFFER_TOO_SMALL);
    expect_fail("encode pair NULL text", loom_eval_encode_pair(tok, NULL, "x", false, pair, 64, NULL));
    expect_fail("encode pair NULL tokenizer", loom_eval_encode_pair(NULL, "a", "b", false, pair, 64, NULL));

    /* BLEU: identical text scores 100; NULL references are "no reference" but one is needed. */
    const char *hyps[] = {"The cat sat on the mat.", "It costs $3,500.00!"};
    const char *refs[] = {"The cat sat on the mat.", "It costs $3,500.00!", NULL, "It is $3,500."};
    loom_bleu_result br;
    expect("bleu", loom_bleu(hyps, 2, refs, 2, NULL, &br) == LOOM_OK && fabs(br.score - 100) < 1e-9
                   && br.max_ngram_order == 4 && br.sys_len == br.ref_len);
    expect("sentence bleu", loom_sentence_bleu(hyps[0], refs + 2, 2, NULL, &br) == LOOM_OK && br.score < 100);
    const char *no_refs[] = {NULL, NULL};
    expect_fail("bleu without reference", loom_bleu(hyps, 2, no_refs, 1, NULL, &br));
    expect_fail("bleu NULL hyps", loom_bleu(NULL, 2, refs, 2, NULL, &br));
    expect_fail("bleu NULL out", loom_bleu(hyps, 2, refs, 2, NULL, NULL));
    expect_fail("bleu 0 streams", loom_bleu(hyps, 2, refs, 0, NULL, &br));
    loom_bleu_params bp = loom_bleu_default_params();
    bp.max_ngram_order = 9;
    expect_fail("bleu order 9", loom_bleu(hyps, 2, refs, 2, &bp, &br));
    bp = loom_bleu_default_params();
    bp.smooth_method = 7;
    expect_fail("bleu smoothing 7", loom_bleu(hyps, 2, refs, 2, &bp, &br));
    bp = loom_bleu_default_params();
    bp.smooth_value = NAN;
    expect_fail("bleu smooth_value NaN", loom_bleu(hyps, 2, refs, 2, &bp, &br));
    expect_fail("sentence bleu no refs", loom_sentence_bleu(hyps[0], no_refs, 2, NULL, &br));

    /* Classification metrics. */
    const int32_t yt[] = {0, 1, 2, 2, 1}, yp[] = {0, 2, 2, 2, 1};
    double acc = 0, p = 0, r = 0, f = 0;
    expect("accuracy", loom_accuracy(yt, yp, 5, &acc) == LOOM_OK && fabs(acc - 0.8) < 1e-12);
    expect("macro", loom_precision_recall_f1(yt, yp, 5, LOOM_AVERAGE_MACRO, 1, 0, &p, &r, &f) == LOOM_OK);
    loom_class_metrics rows[3];
    int32_t k = loom_per_class_metrics(yt, yp, 5, 0, rows, 3);
    expect("per class", k == 3 && rows[2].label == 2 && rows[2].support == 2);
    expect("per class buffer convention", loom_per_class_metrics(yt, yp, 5, 0, rows, 1) == -3
                                          && loom_last_status() == LOOM_ERR_BUFFER_TOO_SMALL);
    expect_fail("binary with 3 labels", loom_precision_recall_f1(yt, yp, 5, LOOM_AVERAGE_BINARY, 1, 0, &p, &r, &f));
    expect_fail("average 9", loom_precision_recall_f1(yt, yp, 5, 9, 1, 0, &p, &r, &f));
    expect_fail("zero_division 0.5", loom_precision_recall_f1(yt, yp, 5, LOOM_AVERAGE_MACRO, 1, 0.5, &p, &r, &f));
    expect_fail("accuracy n 0", loom_accuracy(yt, yp, 0, &acc));
    expect_fail("accuracy NULL", loom_accuracy(NULL, yp, 5, &acc));
    const char *pr[] = {"Paris!", "4"}, *rf[] = {"paris", "four"};
    double em = 0;
    expect("exact match", loom_exact_match(pr, rf, 2, LOOM_EXACT_MATCH_IGNORE_CASE | LOOM_EXACT_MATCH_IGNORE_PUNCTUATION, &em)
                          == LOOM_OK && em == 0.5);
    expect_fail("exact match bad flags", loom_exact_match(pr, rf, 2, 64, &em));
    const char *with_null[] = {"a", NULL};
    expect_fail("exact match NULL entry", loom_exact_match(pr, with_null, 2, 0, &em));

    loom_context_free(ctx);
    loom_model_free(model);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
