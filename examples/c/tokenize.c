/* Tokenizes a sentence with a model's tokenizer and prints ids, pieces and the round trip.
 * usage: tokenize MODEL.gguf [TEXT] */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [TEXT]\n", argv[0]);
        return 2;
    }
    const char *text = argc > 2 ? argv[2] : "Hello, world! Loom tokenizes this sentence.";

    loom_model_params params = loom_model_default_params();
    params.vocab_only = true; /* the vocabulary is all this example needs */
    loom_model *model = NULL;
    if (loom_model_load(argv[1], &params, &model) != LOOM_OK) {
        fprintf(stderr, "error: %s\n", loom_last_error());
        return 1;
    }
    const loom_tokenizer *tok = NULL; /* borrowed from the model */
    if (loom_model_tokenizer(model, &tok) != LOOM_OK) {
        fprintf(stderr, "error: %s\n", loom_last_error());
        loom_model_free(model);
        return 1;
    }

    /* Ask for the size first (buffer convention: a negative count is the size needed). */
    int32_t n = loom_tokenize(tok, text, strlen(text), NULL, 0, true, false);
    if (n < 0 && loom_last_status() == LOOM_ERR_BUFFER_TOO_SMALL) n = -n;
    loom_token *ids = malloc(sizeof(loom_token) * (size_t)(n > 0 ? n : 1));
    n = loom_tokenize(tok, text, strlen(text), ids, (size_t)n, true, false);
    if (n < 0) {
        fprintf(stderr, "error: %s\n", loom_last_error());
        free(ids);
        loom_model_free(model);
        return 1;
    }

    printf("%d tokens:", n);
    for (int32_t i = 0; i < n; i++) printf(" %d", ids[i]);
    printf("\n");
    for (int32_t i = 0; i < n; i++) {
        char piece[256];
        int32_t len = loom_token_to_piece(tok, ids[i], piece, sizeof piece, true);
        if (len >= 0) printf("%6d '%.*s'\n", ids[i], (int)len, piece);
    }

    char back[4096];
    int32_t len = loom_detokenize(tok, ids, (size_t)n, back, sizeof back, false);
    if (len >= 0) printf("detokenized: %.*s\n", (int)len, back);

    free(ids);
    loom_model_free(model);
    return 0;
}
