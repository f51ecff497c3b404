/* Answers a chat question with streaming output through the C ABI.
 * usage: generate MODEL.gguf [QUESTION] */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool print_piece(void *user_data, size_t seq, loom_token token, const char *piece, size_t len) {
    (void)user_data; (void)seq; (void)token;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return true; /* keep going */
}

static int fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, loom_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [QUESTION]\n", argv[0]);
        return 2;
    }
    const char *question = argc > 2 ? argv[2] : "What is the capital of France?";

    /* Everything starts empty, so that one cleanup path frees whatever was made (free(NULL) and
     * loom_*_free(NULL) are no-ops). */
    loom_model *model = NULL;
    loom_context *ctx = NULL;
    loom_generation *gen = NULL;
    char *prompt = NULL;
    loom_token *ids = NULL;
    int status = 1;
    if (loom_model_load(argv[1], NULL, &model) != LOOM_OK) { fail("load"); goto done; }
    const loom_tokenizer *tok = NULL;
    if (loom_model_tokenizer(model, &tok) != LOOM_OK) { fail("tokenizer"); goto done; }

    /* Render the conversation with the model's chat template. */
    loom_chat_message msg = {"user", question};
    int32_t n = loom_chat_apply_template(model, NULL, &msg, 1, true, NULL, 0);
    if (n >= 0 || loom_last_status() != LOOM_ERR_BUFFER_TOO_SMALL) { fail("template"); goto done; }
    prompt = malloc((size_t)-n);
    if (!prompt || loom_chat_apply_template(model, NULL, &msg, 1, true, prompt, (size_t)-n) < 0) { fail("template"); goto done; }

    /* Tokenize it (special tokens such as <|im_start|> parsed, no BOS added: the template has them). */
    int32_t n_ids = -loom_tokenize(tok, prompt, strlen(prompt), NULL, 0, false, true);
    ids = malloc(sizeof(loom_token) * (size_t)(n_ids > 0 ? n_ids : 1));
    if (!ids || loom_tokenize(tok, prompt, strlen(prompt), ids, (size_t)n_ids, false, true) < 0) { fail("tokenize"); goto done; }

    loom_context_params cp = loom_context_default_params();
    cp.n_ctx = 1024;
    if (loom_context_new(model, &cp, &ctx) != LOOM_OK) { fail("context"); goto done; }

    loom_generate_params gp = loom_generate_default_params(); /* greedy */
    gp.max_tokens = 128;
    gp.on_token = print_piece;
    const loom_token *prompts[1] = {ids};
    size_t lengths[1] = {(size_t)n_ids};
    if (loom_generate(ctx, prompts, lengths, 1, &gp, &gen) != LOOM_OK) { fail("generate"); goto done; }
    int32_t n_new = loom_generation_tokens(gen, 0, NULL, 0); /* -count when there are tokens */
    printf("\n[%d tokens, finish reason %d]\n", n_new < 0 ? -n_new : n_new, loom_generation_finish_reason(gen, 0));
    status = 0;

done:
    loom_generation_free(gen);
    loom_context_free(ctx);
    free(ids);
    free(prompt);
    loom_model_free(model);
    return status;
}
