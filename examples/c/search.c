/* Semantic search with a sentence-embedding model (all-MiniLM-L6-v2 folder or a BERT GGUF):
 * embeds a handful of documents and a query, prints the documents by cosine similarity.
 *
 *   search MODEL_DIR "how do I share modified copies?"
 */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>

static const char *documents[] = {
    "You may redistribute copies of the software, modified or not, under the same licence.",
    "The software is provided as is, without warranty of any kind.",
    "Paris is the capital and most populous city of France.",
    "The recipe needs two eggs, flour, sugar and a pinch of salt.",
    "Patent rights granted to you end if you sue over a patent infringement claim.",
    "The train to the airport leaves every fifteen minutes.",
};
#define N_DOCS (sizeof documents / sizeof documents[0])

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL QUERY\n", argv[0]);
        return 2;
    }
    loom_model *model = NULL;
    if (loom_model_load(argv[1], NULL, &model) != LOOM_OK) {
        fprintf(stderr, "load: %s\n", loom_last_error());
        return 1;
    }
    int32_t dim = loom_model_n_embd(model);
    if (dim <= 0) {
        fprintf(stderr, "not an embedding model: %s\n", loom_last_error());
        loom_model_free(model);
        return 1;
    }
    const char *texts[N_DOCS + 1];
    for (size_t i = 0; i < N_DOCS; i++) texts[i] = documents[i];
    texts[N_DOCS] = argv[2];

    loom_embed_params params = loom_embed_default_params();
    params.normalize = 1; /* unit vectors: the dot product is the cosine */
    size_t cap = (N_DOCS + 1) * (size_t)dim;
    float *emb = malloc(cap * sizeof *emb);
    if (!emb || loom_embed(model, texts, NULL, N_DOCS + 1, &params, emb, cap) < 0) {
        fprintf(stderr, "embed: %s\n", emb ? loom_last_error() : "out of memory");
        free(emb);
        loom_model_free(model);
        return 1;
    }
    const float *query = emb + N_DOCS * (size_t)dim;
    float score[N_DOCS];
    size_t order[N_DOCS];
    for (size_t i = 0; i < N_DOCS; i++) {
        float s = 0;
        for (int32_t k = 0; k < dim; k++) s += emb[i * (size_t)dim + k] * query[k];
        score[i] = s;
        order[i] = i;
    }
    for (size_t i = 1; i < N_DOCS; i++) /* insertion sort, best first */
        for (size_t j = i; j > 0 && score[order[j]] > score[order[j - 1]]; j--) {
            size_t t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    printf("query: %s\n", argv[2]);
    for (size_t i = 0; i < N_DOCS; i++) printf("%.4f  %s\n", score[order[i]], documents[order[i]]);
    free(emb);
    loom_model_free(model);
    return 0;
}
