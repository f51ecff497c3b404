/* Ranking through the C ABI: sequence classification and reward models against transformers'
 * references (Tests/Fixtures/tiny-llama-reward, tiny-bert-classifier: refs.json), best-of-n ranked by a
 * reward model, and the retrieval index (add, search, accessors, save/load round trip, hostile files)
 * with grounded generation, on Tests/Fixtures/grounding. The index runs with the tiny-bert encoder
 * (fixtures only); with all-MiniLM-L6-v2 present, retrieval must also rank each question's answering
 * document first (questions.json). Every bad input must come back as a status with a message.
 *
 * usage: abi_ranking FIXTURES_DIR TINY_MODEL.gguf SCRATCH_DIR [MINILM_DIR]
 * Prints the measured differences, a line per failed check and a closing "N passed, M failed" line
 * (exit 1 on failures). A missing MINILM_DIR is reported ("skipped") and is not a failure here. */
#include <loom.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(what, cond) do { if (cond) passed++; else { failed++; printf("FAIL %s (line %d): %s\n", what, __LINE__, loom_last_error()); } } while (0)

/* A call that must fail with `want` (and set it as the thread's last status with a message). */
#define EXPECT_STATUS(what, call, want) do { \
    int32_t got_ = (int32_t)(call); const char *msg_ = loom_last_error(); \
    if (got_ == (want) && loom_last_status() == (want) && msg_ && msg_[0]) passed++; \
    else { failed++; printf("FAIL %s (line %d): got %d (last status %d), want %d; message '%s'\n", what, __LINE__, \
                            got_, loom_last_status(), (int)(want), msg_ ? msg_ : "(null)"); } } while (0)

/* A buffer call with too small a buffer: -(size needed) and LOOM_ERR_BUFFER_TOO_SMALL. */
#define EXPECT_NEED(what, call, need) do { \
    int32_t got_ = (int32_t)(call); \
    if (got_ == -(int32_t)(need) && loom_last_status() == LOOM_ERR_BUFFER_TOO_SMALL) passed++; \
    else { failed++; printf("FAIL %s (line %d): got %d (last status %d), want -%d\n", what, __LINE__, got_, \
                            loom_last_status(), (int)(need)); } } while (0)

/* ------------------------------------------------------------------ a minimal reader of the fixtures' JSON */

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(buf, cap);
            if (!grown) { free(buf); fclose(f); return NULL; }
            buf = grown;
        }
        got = fread(buf + n, 1, 4096, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

/* Moves *p past the next `"key":` and following spaces; false when there is none. */
static bool seek_key(const char **p, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *at = strstr(*p, pattern);
    if (!at) return false;
    at += strlen(pattern);
    while (*at == ' ' || *at == '\n' || *at == '\t' || *at == '\r') at++;
    if (*at != ':') return false;
    at++;
    while (*at == ' ' || *at == '\n' || *at == '\t' || *at == '\r') at++;
    *p = at;
    return true;
}

/* The next "key": "string" (escapes \" \\ \/ \n \t only); false when absent or too long. */
static bool next_string(const char **p, const char *key, char *out, size_t cap) {
    const char *s = *p;
    if (!seek_key(&s, key) || *s != '"') return false;
    s++;
    size_t n = 0;
    while (*s && *s != '"') {
        char c = *s++;
        if (c == '\\') {
            char e = *s++;
            if (e == 'n') c = '\n';
            else if (e == 't') c = '\t';
            else if (e == '"' || e == '\\' || e == '/') c = e;
            else return false;
        }
        if (n + 1 >= cap) return false;
        out[n++] = c;
    }
    if (*s != '"') return false;
    out[n] = 0;
    *p = s + 1;
    return true;
}

/* The next "key": [numbers]: how many (at most max), or -1. */
static int next_numbers(const char **p, const char *key, double *out, int max) {
    const char *s = *p;
    if (!seek_key(&s, key) || *s != '[') return -1;
    s++;
    int n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r' || *s == ',') s++;
        if (*s == ']') break;
        char *end = NULL;
        double v = strtod(s, &end);
        if (end == s || n >= max) return -1;
        out[n++] = v;
        s = end;
    }
    *p = s + 1;
    return n;
}

static bool next_number(const char **p, const char *key, double *out) {
    const char *s = *p;
    if (!seek_key(&s, key)) return false;
    char *end = NULL;
    *out = strtod(s, &end);
    if (end == s) return false;
    *p = end;
    return true;
}

#define MAX_CASES 8
#define MAX_IDS 64
typedef struct {
    char text[512];
    loom_token ids[MAX_IDS];
    int n_ids;
    double values[4]; /* score, or logits */
    int n_values;
} ref_case;

/* The cases of a refs.json: text, ids and `score` (a number) or `logits` (a list). */
static int read_refs(const char *path, const char *value_key, ref_case *cases) {
    char *json = read_file(path, NULL);
    if (!json) { printf("cannot read %s\n", path); return 0; }
    const char *p = json;
    int n = 0;
    while (n < MAX_CASES && next_string(&p, "text", cases[n].text, sizeof cases[n].text)) {
        double ids[MAX_IDS];
        int k = next_numbers(&p, "ids", ids, MAX_IDS);
        if (k <= 0) break;
        for (int i = 0; i < k; i++) cases[n].ids[i] = (loom_token)ids[i];
        cases[n].n_ids = k;
        if (strcmp(value_key, "score") == 0) {
            if (!next_number(&p, "score", &cases[n].values[0])) break;
            cases[n].n_values = 1;
        } else {
            cases[n].n_values = next_numbers(&p, value_key, cases[n].values, 4);
            if (cases[n].n_values <= 0) break;
        }
        n++;
    }
    free(json);
    return n;
}

/* ------------------------------------------------------------------ classification */

/* Logits of the cases' texts and of their ids; returns the largest |difference| to the references. */
static double check_classifier(const char *name, loom_model *m, const ref_case *cases, int n, int n_labels) {
    const char *texts[MAX_CASES];
    size_t lens[MAX_CASES], offsets[MAX_CASES + 1];
    loom_token ids[MAX_CASES * MAX_IDS];
    size_t n_ids = 0;
    offsets[0] = 0;
    for (int i = 0; i < n; i++) {
        texts[i] = cases[i].text;
        lens[i] = strlen(cases[i].text);
        memcpy(ids + n_ids, cases[i].ids, (size_t)cases[i].n_ids * sizeof ids[0]);
        n_ids += (size_t)cases[i].n_ids;
        offsets[i + 1] = n_ids;
    }
    float out[MAX_CASES * 4], from_lens[MAX_CASES * 4], from_ids[MAX_CASES * 4];
    loom_classify_params cp = loom_classify_default_params();
    cp.n_threads = 2;
    int32_t total = n * n_labels;
    CHECK(name, loom_classify(m, texts, NULL, (size_t)n, &cp, out, (size_t)total) == total);
    CHECK("classify with lengths", loom_classify(m, texts, lens, (size_t)n, NULL, from_lens, (size_t)total) == total);
    CHECK("classify tokens", loom_classify_tokens(m, ids, offsets, (size_t)n, 2, from_ids, (size_t)total) == total);
    double diff = 0, diff_lens = 0, diff_ids = 0;
    for (int i = 0; i < n; i++) {
        CHECK("refs have every label", cases[i].n_values == n_labels);
        for (int j = 0; j < n_labels && j < cases[i].n_values; j++) {
            float v = out[i * n_labels + j];
            diff = fmax(diff, fabs((double)v - cases[i].values[j]));
            diff_lens = fmax(diff_lens, fabs((double)from_lens[i * n_labels + j] - v));
            diff_ids = fmax(diff_ids, fabs((double)from_ids[i * n_labels + j] - v));
        }
    }
    printf("%s: %d texts, max |diff| to transformers %.3g; to that, with explicit lengths %.3g, from the refs' ids %.3g\n",
           name, n, diff, diff_lens, diff_ids);
    CHECK("within 1e-4 of transformers", diff <= 1e-4);
    CHECK("lengths give the same logits", diff_lens <= 1e-6);
    CHECK("the refs' ids give the same logits", diff_ids <= 1e-6);
    return diff;
}

/* ------------------------------------------------------------------ retrieval */

#define N_DOCS 6
typedef struct {
    char question[256];
    char document[64];
} question;

static int read_questions(const char *path, question *qs) {
    char *json = read_file(path, NULL);
    if (!json) { printf("cannot read %s\n", path); return 0; }
    const char *p = json;
    int n = 0;
    while (n < N_DOCS && next_string(&p, "question", qs[n].question, sizeof qs[n].question)
           && next_string(&p, "document", qs[n].document, sizeof qs[n].document)) n++;
    free(json);
    return n;
}

/* Adds the grounding documents (id: file name, metadata {"path": ...}); returns the passages added. */
static int add_documents(loom_index *idx, const char *fixtures, const question *qs, int n) {
    int passages = 0;
    for (int i = 0; i < n; i++) {
        char path[1024], id[96], meta[1200];
        snprintf(path, sizeof path, "%s/grounding/%s.txt", fixtures, qs[i].document);
        snprintf(id, sizeof id, "%s.txt", qs[i].document);
        snprintf(meta, sizeof meta, "{\"path\": \"%s\"}", path);
        size_t len = 0;
        char *text = read_file(path, &len);
        CHECK("read a grounding document", text != NULL);
        if (!text) continue;
        int32_t got = loom_index_add(idx, id, text, len, meta);
        CHECK("index add", got >= 1);
        if (got > 0) passages += got;
        free(text);
    }
    return passages;
}

/* Searches must agree hit for hit (passage, document, score to 1e-6). */
static bool same_hits(const loom_index *a, const loom_index *b, const char *query, int k) {
    loom_search_hit ha[16], hb[16];
    int32_t na = loom_index_search(a, query, strlen(query), k, ha, 16);
    int32_t nb = loom_index_search(b, query, strlen(query), k, hb, 16);
    if (na != nb || na <= 0) return false;
    for (int i = 0; i < na; i++) {
        if (ha[i].passage != hb[i].passage || ha[i].document != hb[i].document || fabsf(ha[i].score - hb[i].score) > 1e-6f)
            return false;
    }
    return true;
}

static void write_bytes(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

/* The index mechanics with an encoder; `quality`: retrieval must rank the answering document first. */
static void check_index(const char *name, loom_model *encoder, const loom_index_params *ip, const char *fixtures,
                        const question *qs, int nq, const char *scratch, bool quality, loom_model *other_width,
                        loom_model *lm) {
    loom_index *idx = NULL;
    CHECK("index new", loom_index_new(encoder, ip, &idx) == LOOM_OK && idx);
    if (!idx) return;
    int passages = add_documents(idx, fixtures, qs, nq);
    CHECK("n_documents", loom_index_n_documents(idx) == nq);
    CHECK("n_passages", loom_index_n_passages(idx) == passages && passages >= nq);
    printf("%s: %d documents, %d passages\n", name, loom_index_n_documents(idx), passages);

    /* Adding: a repeated id, a text without words, NULLs. */
    EXPECT_STATUS("repeated id", loom_index_add(idx, "volcano.txt", "Another text.", 13, NULL), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("blank text", loom_index_add(idx, "blank", "  \n\t ", 5, NULL), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("empty id", loom_index_add(idx, "", "Some text.", 10, NULL), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("NULL id", loom_index_add(idx, NULL, "Some text.", 10, NULL), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("NULL text", loom_index_add(idx, "x", NULL, 10, NULL), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("NULL index add", loom_index_add(NULL, "x", "Some text.", 10, NULL), LOOM_ERR_INVALID_ARGUMENT);
    CHECK("failed adds leave the index", loom_index_n_documents(idx) == nq && loom_index_n_passages(idx) == passages);

    /* Search: buffer convention, order, ranges, accessors. */
    const char *q = qs[2].question;
    size_t qlen = strlen(q);
    loom_search_hit hits[8];
    EXPECT_NEED("search cap 0", loom_index_search(idx, q, qlen, 3, NULL, 0), 3);
    EXPECT_NEED("search cap 2", loom_index_search(idx, q, qlen, 3, hits, 2), 3);
    int32_t all = passages < 8 ? passages : 8;
    EXPECT_NEED("search k > passages", loom_index_search(idx, q, qlen, 1000, hits, 1), passages);
    CHECK("search k 0", loom_index_search(idx, q, qlen, 0, hits, 8) == 0);
    EXPECT_STATUS("search k < 0", loom_index_search(idx, q, qlen, -1, hits, 8), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("search NULL index", loom_index_search(NULL, q, qlen, 3, hits, 8), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("search NULL query", loom_index_search(idx, NULL, 4, 3, hits, 8), LOOM_ERR_INVALID_ARGUMENT);
    int32_t got = loom_index_search(idx, q, qlen, all, hits, 8);
    CHECK("search", got == all);
    bool ordered = got > 0, in_range = got > 0;
    for (int i = 0; i < got; i++) {
        if (i > 0 && !(hits[i].score < hits[i - 1].score || (hits[i].score == hits[i - 1].score && hits[i].passage > hits[i - 1].passage)))
            ordered = false;
        if (hits[i].passage < 0 || hits[i].passage >= passages || hits[i].document < 0 || hits[i].document >= nq
            || loom_index_passage_document(idx, hits[i].passage) != hits[i].document
            || !(hits[i].score >= -1.0001f && hits[i].score <= 1.0001f))
            in_range = false;
    }
    CHECK("hits best first", ordered);
    CHECK("hits in range", in_range);

    char id[128], text[4096], passage[4096], meta[1300];
    int32_t id_len = loom_index_document_id(idx, hits[0].document, id, sizeof id);
    CHECK("document id (count without the NUL)", id_len > 0 && (size_t)id_len == strlen(id));
    EXPECT_NEED("document id buffer (size with the NUL)", loom_index_document_id(idx, hits[0].document, id, 2), id_len + 1);
    CHECK("document text", loom_index_document_text(idx, hits[0].document, text, sizeof text) > 0);
    CHECK("passage text", loom_index_passage_text(idx, hits[0].passage, passage, sizeof passage) > 0);
    CHECK("a passage is part of its document", strstr(text, passage) != NULL);
    CHECK("metadata", loom_index_document_metadata(idx, hits[0].document, meta, sizeof meta) > 0
                      && strncmp(meta, "{\"path\": \"", 10) == 0 && strstr(meta, id) != NULL);
    EXPECT_STATUS("document -1", loom_index_document_id(idx, -1, id, sizeof id), LOOM_ERR_OUT_OF_RANGE);
    EXPECT_STATUS("document n", loom_index_document_text(idx, nq, text, sizeof text), LOOM_ERR_OUT_OF_RANGE);
    EXPECT_STATUS("passage n", loom_index_passage_text(idx, passages, passage, sizeof passage), LOOM_ERR_OUT_OF_RANGE);
    EXPECT_STATUS("passage document n", loom_index_passage_document(idx, passages), LOOM_ERR_OUT_OF_RANGE);

    /* A passage's own text finds that passage, with cosine 1. */
    int self_found = 0;
    double self_score = 1;
    for (int p = 0; p < passages; p += passages / 5 + 1) {
        char own[4096];
        if (loom_index_passage_text(idx, p, own, sizeof own) <= 0) continue;
        loom_search_hit top = {-1, -1, 0};
        if (loom_index_search(idx, own, strlen(own), 1, &top, 1) == 1 && top.passage == p) self_found++;
        else printf("  passage %d: top hit %d (%.4f)\n", p, top.passage, top.score);
        self_score = fmin(self_score, top.score);
    }
    printf("%s: passages finding themselves first: %d, lowest score %.6f\n", name, self_found, self_score);
    CHECK("a passage finds itself", self_found == (passages - 1) / (passages / 5 + 1) + 1);
    CHECK("with cosine 1", fabs(self_score - 1) < 1e-4);

    /* Retrieval quality: each question's answering document first. */
    if (quality) {
        int first = 0;
        for (int i = 0; i < nq; i++) {
            loom_search_hit h[3];
            char doc[128] = "";
            if (loom_index_search(idx, qs[i].question, strlen(qs[i].question), 3, h, 3) != 3) continue;
            loom_index_document_id(idx, h[0].document, doc, sizeof doc);
            char want[96];
            snprintf(want, sizeof want, "%s.txt", qs[i].document);
            printf("  %-50s -> %-20s %.4f (next %.4f)\n", qs[i].question, doc, h[0].score, h[1].score);
            first += strcmp(doc, want) == 0;
        }
        printf("%s: answering document first for %d/%d questions\n", name, first, nq);
        CHECK("the answering document ranks first", first == nq);
    }

    /* Save / load round trip. */
    char path[1024], bad_path[1024], missing[1024];
    snprintf(path, sizeof path, "%s/%s.loomidx", scratch, name);
    snprintf(bad_path, sizeof bad_path, "%s/%s.bad.loomidx", scratch, name);
    snprintf(missing, sizeof missing, "%s/no-such-folder/x.loomidx", scratch);
    CHECK("save", loom_index_save(idx, path) == LOOM_OK);
    EXPECT_STATUS("save into a missing folder", loom_index_save(idx, missing), LOOM_ERR_IO);
    EXPECT_STATUS("save NULL path", loom_index_save(idx, NULL), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("save NULL index", loom_index_save(NULL, path), LOOM_ERR_INVALID_ARGUMENT);
    loom_index *loaded = NULL;
    loom_index_params lp = loom_index_default_params();
    lp.n_threads = 2;   /* only the threads are read; chunking comes from the file */
    CHECK("load", loom_index_load(encoder, path, &lp, &loaded) == LOOM_OK && loaded);
    if (loaded) {
        CHECK("loaded counts", loom_index_n_documents(loaded) == nq && loom_index_n_passages(loaded) == passages);
        int agree = 0;
        for (int i = 0; i < nq; i++) agree += same_hits(idx, loaded, qs[i].question, 5);
        CHECK("loaded index searches alike", agree == nq);
        bool same_docs = true;
        for (int d = 0; d < nq; d++) {
            char a[1300], b[1300];
            if (loom_index_document_id(idx, d, a, sizeof a) <= 0 || loom_index_document_id(loaded, d, b, sizeof b) <= 0 || strcmp(a, b))
                same_docs = false;
            if (loom_index_document_metadata(idx, d, a, sizeof a) <= 0 || loom_index_document_metadata(loaded, d, b, sizeof b) <= 0
                || strcmp(a, b))
                same_docs = false;
        }
        for (int p = 0; p < passages; p++) {
            char a[4096], b[4096];
            if (loom_index_passage_text(idx, p, a, sizeof a) <= 0 || loom_index_passage_text(loaded, p, b, sizeof b) <= 0 || strcmp(a, b)
                || loom_index_passage_document(idx, p) != loom_index_passage_document(loaded, p))
                same_docs = false;
        }
        CHECK("loaded documents, metadata and passages", same_docs);
        printf("%s: saved and loaded: %d/%d queries give the same hits\n", name, agree, nq);
        loom_index_free(loaded);
    }

    /* Files it cannot use. */
    size_t size = 0;
    char *bytes = read_file(path, &size);
    CHECK("read the saved file", bytes && size > 64 && memcmp(bytes, "LOOMRIX", 8) == 0);
    if (bytes && size > 64) {
        const size_t cuts[] = {0, 8, 31, 40, size / 2, size - 3};
        int refused = 0;
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            write_bytes(bad_path, bytes, cuts[c]);
            loaded = NULL;
            loom_status s = loom_index_load(encoder, bad_path, NULL, &loaded);
            refused += (s == LOOM_ERR_FORMAT || s == LOOM_ERR_IO) && loaded == NULL && loom_last_error()[0];
            loom_index_free(loaded);
        }
        CHECK("truncated files are refused", refused == (int)(sizeof cuts / sizeof cuts[0]));
        char *edited = malloc(size);
        if (edited) {
            memcpy(edited, bytes, size);
            edited[0] = 'X';
            write_bytes(bad_path, edited, size);
            EXPECT_STATUS("bad magic", loom_index_load(encoder, bad_path, NULL, &loaded), LOOM_ERR_FORMAT);
            memcpy(edited, bytes, size);
            edited[8] = 99;   /* the version */
            write_bytes(bad_path, edited, size);
            loom_status s = loom_index_load(encoder, bad_path, NULL, &loaded);
            CHECK("another version is refused", (s == LOOM_ERR_UNSUPPORTED || s == LOOM_ERR_FORMAT) && loaded == NULL);
            free(edited);
        }
    }
    free(bytes);
    EXPECT_STATUS("load a missing file", loom_index_load(encoder, missing, NULL, &loaded), LOOM_ERR_IO);
    EXPECT_STATUS("load NULL path", loom_index_load(encoder, NULL, NULL, &loaded), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("load NULL out", loom_index_load(encoder, path, NULL, NULL), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("load NULL encoder", loom_index_load(NULL, path, NULL, &loaded), LOOM_ERR_INVALID_ARGUMENT);
    if (other_width) EXPECT_STATUS("load with an encoder of another width", loom_index_load(other_width, path, NULL, &loaded),
                                   LOOM_ERR_INVALID_ARGUMENT);

    /* Grounded generation (a few greedy tokens of the tiny llama): the sources are the search's hits. */
    if (lm) {
        loom_context_params cp = loom_context_default_params();
        cp.n_ctx = 2048;
        cp.n_seq_max = 1;
        cp.n_threads = 2;
        loom_context *ctx = NULL;
        CHECK("context", loom_context_new(lm, &cp, &ctx) == LOOM_OK);
        loom_generate_params gp = loom_generate_default_params();
        gp.max_tokens = 6;
        loom_grounded_params gr = loom_grounded_default_params();
        loom_grounded *a = NULL;
        CHECK("grounded", loom_generate_grounded(ctx, idx, qs[0].question, &gr, &gp, &a) == LOOM_OK && a);
        if (a) {
            loom_search_hit h[3];
            CHECK("search for the sources", loom_index_search(idx, qs[0].question, strlen(qs[0].question), 3, h, 3) == 3);
            CHECK("3 sources", loom_grounded_n_sources(a) == 3);
            bool match = true;
            for (int i = 0; i < 3; i++) {
                loom_grounded_source s;
                if (loom_grounded_source_at(a, i, &s) != LOOM_OK || s.number != i + 1 || s.passage != h[i].passage
                    || s.document != h[i].document || fabsf(s.score - h[i].score) > 1e-6f)
                    match = false;
            }
            CHECK("sources are the hits, numbered from 1", match);
            loom_grounded_source s;
            EXPECT_STATUS("source 3", loom_grounded_source_at(a, 3, &s), LOOM_ERR_OUT_OF_RANGE);
            EXPECT_STATUS("source NULL out", loom_grounded_source_at(a, 0, NULL), LOOM_ERR_INVALID_ARGUMENT);
            int32_t plen = loom_grounded_prompt(a, NULL, 0);
            CHECK("prompt size", plen < 0 && loom_last_status() == LOOM_ERR_BUFFER_TOO_SMALL);
            char *prompt = plen < 0 ? malloc((size_t)-plen) : NULL;
            char first_source[160], doc[96];
            loom_index_document_id(idx, h[0].document, doc, sizeof doc);
            snprintf(first_source, sizeof first_source, "[1] (%s) ", doc);
            CHECK("prompt", prompt && loom_grounded_prompt(a, prompt, (size_t)-plen) == -plen - 1
                            && strstr(prompt, first_source) && strstr(prompt, qs[0].question));
            free(prompt);
            char answer[1024];
            CHECK("answer text", loom_grounded_text(a, answer, sizeof answer) >= 1);
            loom_finish_reason r = loom_grounded_finish_reason(a);
            CHECK("finish reason", r >= 0);
            loom_grounded_free(a);
        }
        gp.num_beams = 2;
        EXPECT_STATUS("grounded with beams", loom_generate_grounded(ctx, idx, qs[0].question, NULL, &gp, &a), LOOM_ERR_UNSUPPORTED);
        gp.num_beams = 1;
        gr.k = 0;
        EXPECT_STATUS("grounded k 0", loom_generate_grounded(ctx, idx, qs[0].question, &gr, &gp, &a), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("grounded empty question", loom_generate_grounded(ctx, idx, "", NULL, &gp, &a), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("grounded NULL question", loom_generate_grounded(ctx, idx, NULL, NULL, &gp, &a), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("grounded NULL index", loom_generate_grounded(ctx, NULL, qs[0].question, NULL, &gp, &a), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("grounded NULL out", loom_generate_grounded(ctx, idx, qs[0].question, NULL, &gp, NULL), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("n_sources NULL", loom_grounded_n_sources(NULL), LOOM_ERR_INVALID_ARGUMENT);
        loom_grounded_free(NULL);
        loom_context_free(ctx);
    }
    loom_index_free(idx);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s FIXTURES_DIR TINY_MODEL.gguf SCRATCH_DIR [MINILM_DIR]\n", argv[0]); return 2; }
    const char *fixtures = argv[1], *scratch = argv[3], *minilm = argc > 4 ? argv[4] : NULL;
    char path[1024];

    /* ---------------------------------------------------------------- the reward model */
    ref_case reward_cases[MAX_CASES], bert_cases[MAX_CASES];
    snprintf(path, sizeof path, "%s/tiny-llama-reward/refs.json", fixtures);
    int n_reward = read_refs(path, "score", reward_cases);
    snprintf(path, sizeof path, "%s/tiny-bert-classifier/refs.json", fixtures);
    int n_bert = read_refs(path, "logits", bert_cases);
    CHECK("refs.json cases", n_reward == 4 && n_bert == 4);

    loom_model *rm = NULL, *clf = NULL, *lm = NULL;
    snprintf(path, sizeof path, "%s/tiny-llama-reward", fixtures);
    CHECK("load tiny-llama-reward", loom_model_load(path, NULL, &rm) == LOOM_OK);
    snprintf(path, sizeof path, "%s/tiny-bert-classifier", fixtures);
    CHECK("load tiny-bert-classifier", loom_model_load(path, NULL, &clf) == LOOM_OK);
    CHECK("load tiny llama", loom_model_load(argv[2], NULL, &lm) == LOOM_OK);
    if (!rm || !clf || !lm) { printf("%d passed, %d failed\n", passed, failed); return 1; }

    CHECK("reward model has one label", loom_model_n_labels(rm) == 1);
    char label[32];
    CHECK("label 0", loom_model_label(rm, 0, label, sizeof label) == 7 && strcmp(label, "LABEL_0") == 0);
    EXPECT_NEED("label buffer (size with the NUL)", loom_model_label(rm, 0, label, 3), 8);
    EXPECT_STATUS("label 1", loom_model_label(rm, 1, label, sizeof label), LOOM_ERR_OUT_OF_RANGE);
    EXPECT_STATUS("label -1", loom_model_label(rm, -1, label, sizeof label), LOOM_ERR_OUT_OF_RANGE);
    double reward_diff = check_classifier("tiny-llama-reward", rm, reward_cases, n_reward, 1);

    /* ---------------------------------------------------------------- preference probability */
    {
        float p = -1.0f, q = -1.0f;
        CHECK("reward preference", loom_reward_preference(rm, reward_cases[0].text, reward_cases[1].text, NULL, &p) == LOOM_OK);
        double want = 1.0 / (1.0 + exp(reward_cases[1].values[0] - reward_cases[0].values[0]));
        printf("loom_reward_preference: P(case 0 over case 1) = %.6f (transformers' scores give %.6f, diff %.3g)\n",
               p, want, fabs(p - want));
        CHECK("preference within 1e-4 of transformers' scores", fabs(p - want) <= 1e-4);
        CHECK("reverse preference", loom_reward_preference(rm, reward_cases[1].text, reward_cases[0].text, NULL, &q) == LOOM_OK
                                        && fabs((double)p + q - 1) <= 1e-6);
        CHECK("a text over itself", loom_reward_preference(rm, reward_cases[2].text, reward_cases[2].text, NULL, &q) == LOOM_OK
                                        && q == 0.5f);
        EXPECT_STATUS("preference NULL text_a", loom_reward_preference(rm, NULL, reward_cases[1].text, NULL, &p), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("preference NULL text_b", loom_reward_preference(rm, reward_cases[0].text, NULL, NULL, &p), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("preference NULL out", loom_reward_preference(rm, "a", "b", NULL, NULL), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("preference NULL model", loom_reward_preference(NULL, "a", "b", NULL, &p), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("preference, two-label classifier", loom_reward_preference(clf, "a", "b", NULL, &p), LOOM_ERR_UNSUPPORTED);
        EXPECT_STATUS("preference, no head", loom_reward_preference(lm, "a", "b", NULL, &p), LOOM_ERR_UNSUPPORTED);
    }

    /* ---------------------------------------------------------------- the BERT classifier */
    CHECK("classifier has two labels", loom_model_n_labels(clf) == 2);
    CHECK("label 1", loom_model_label(clf, 1, label, sizeof label) == 7 && strcmp(label, "LABEL_1") == 0);
    double bert_diff = check_classifier("tiny-bert-classifier", clf, bert_cases, n_bert, 2);

    /* ---------------------------------------------------------------- buffer convention and bad inputs */
    const char *two[] = {reward_cases[0].text, reward_cases[1].text};
    float out[8];
    for (int i = 0; i < 8; i++) out[i] = 12345.0f;
    EXPECT_NEED("classify cap 1 of 2", loom_classify(rm, two, NULL, 2, NULL, out, 1), 2);
    CHECK("a too-small buffer is not written", out[0] == 12345.0f);
    EXPECT_NEED("classify cap 0, NULL out", loom_classify(rm, two, NULL, 2, NULL, NULL, 0), 2);
    EXPECT_NEED("classify 2 labels x 2 texts in 3", loom_classify(clf, two, NULL, 2, NULL, out, 3), 4);
    CHECK("classify n 0", loom_classify(rm, NULL, NULL, 0, NULL, NULL, 0) == 0);
    size_t offsets2[3] = {0, 2, 3};
    const loom_token ids3[3] = {52, 440, 435};
    EXPECT_NEED("classify tokens cap 1", loom_classify_tokens(rm, ids3, offsets2, 2, 1, out, 1), 2);
    CHECK("classify tokens two rows", loom_classify_tokens(rm, ids3, offsets2, 2, 1, out, 2) == 2);

    EXPECT_STATUS("classify NULL model", loom_classify(NULL, two, NULL, 2, NULL, out, 8), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("classify NULL texts", loom_classify(rm, NULL, NULL, 2, NULL, out, 8), LOOM_ERR_INVALID_ARGUMENT);
    const char *with_null[] = {"a text", NULL};
    EXPECT_STATUS("classify a NULL text", loom_classify(rm, with_null, NULL, 2, NULL, out, 8), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("classify NULL out", loom_classify(rm, two, NULL, 2, NULL, NULL, 8), LOOM_ERR_INVALID_ARGUMENT);
    loom_classify_params plain_params = loom_classify_default_params();
    plain_params.add_special = false;
    const char *empty[] = {""};
    EXPECT_STATUS("classify an empty text without special tokens", loom_classify(rm, empty, NULL, 1, &plain_params, out, 8),
                  LOOM_ERR_INVALID_ARGUMENT);
    loom_classify_params bad = loom_classify_default_params();
    bad.size = 1;
    EXPECT_STATUS("classify params size 1", loom_classify(rm, two, NULL, 2, &bad, out, 8), LOOM_ERR_INVALID_ARGUMENT);
    bad = loom_classify_default_params();
    bad.max_length = -1;
    EXPECT_STATUS("classify max_length -1", loom_classify(rm, two, NULL, 2, &bad, out, 8), LOOM_ERR_INVALID_ARGUMENT);
    bad = loom_classify_default_params();
    bad.n_threads = 100000;
    EXPECT_STATUS("classify n_threads 100000", loom_classify(rm, two, NULL, 2, &bad, out, 8), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("classify a model without a head", loom_classify(lm, two, NULL, 2, NULL, out, 8), LOOM_ERR_UNSUPPORTED);
    EXPECT_STATUS("n_labels without a head", loom_model_n_labels(lm), LOOM_ERR_UNSUPPORTED);
    EXPECT_STATUS("n_labels NULL", loom_model_n_labels(NULL), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("label without a head", loom_model_label(lm, 0, label, sizeof label), LOOM_ERR_UNSUPPORTED);
    const loom_token bad_ids[2] = {5, 100000};
    size_t offsets1[2] = {0, 2};
    EXPECT_STATUS("classify tokens bad id", loom_classify_tokens(rm, bad_ids, offsets1, 1, 1, out, 8), LOOM_ERR_OUT_OF_RANGE);
    EXPECT_STATUS("classify tokens negative id", loom_classify_tokens(rm, (const loom_token[]){-3}, (size_t[]){0, 1}, 1, 1, out, 8),
                  LOOM_ERR_OUT_OF_RANGE);
    EXPECT_STATUS("classify tokens bad BERT id", loom_classify_tokens(clf, bad_ids, offsets1, 1, 1, out, 8), LOOM_ERR_OUT_OF_RANGE);
    EXPECT_STATUS("classify tokens NULL offsets", loom_classify_tokens(rm, ids3, NULL, 1, 1, out, 8), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("classify tokens NULL ids", loom_classify_tokens(rm, NULL, offsets1, 1, 1, out, 8), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("classify tokens offsets[0] 1", loom_classify_tokens(rm, ids3, (size_t[]){1, 2}, 1, 1, out, 8),
                  LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("classify tokens empty row", loom_classify_tokens(rm, ids3, (size_t[]){0, 0}, 1, 1, out, 8),
                  LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("classify tokens decreasing offsets", loom_classify_tokens(rm, ids3, (size_t[]){0, 3, 1}, 2, 1, out, 8),
                  LOOM_ERR_INVALID_ARGUMENT);

    /* ---------------------------------------------------------------- best-of-n ranked by the reward model */
    {
        const char *prompt_text = "The teacher taught";
        const loom_tokenizer *tok = NULL;
        loom_token prompt[32];
        CHECK("tokenizer", loom_model_tokenizer(lm, &tok) == LOOM_OK);
        int32_t np = loom_tokenize(tok, prompt_text, strlen(prompt_text), prompt, 32, true, false);
        CHECK("tokenize prompt", np > 0);
        loom_context_params cp = loom_context_default_params();
        cp.n_ctx = 64;
        cp.n_seq_max = 6;
        cp.n_threads = 2;
        loom_context *ctx = NULL;
        CHECK("context", loom_context_new(lm, &cp, &ctx) == LOOM_OK);
        loom_generate_params gp = loom_generate_default_params();
        gp.max_tokens = 12;
        gp.sampling.temperature = 1.0f;
        gp.sampling.has_seed = true;
        gp.sampling.seed = 7;
        loom_generation *g = NULL, *again = NULL;
        CHECK("best of 6", np > 0 && loom_generate_best_of(ctx, prompt, (size_t)np, prompt_text, 6, &gp, rm, NULL, &g) == LOOM_OK);
        if (g) {
            CHECK("6 candidates", loom_generation_n_seq(g) == 6);
            float rewards[6] = {0};
            bool ranked = true, scored = true;
            int distinct = 1;
            char texts[6][600];
            loom_token first_ids[6][16];
            int32_t n_first[6];
            for (int i = 0; i < 6; i++) {
                CHECK("reward", loom_generation_reward(g, (size_t)i, &rewards[i]) == LOOM_OK);
                if (i > 0 && rewards[i] > rewards[i - 1]) ranked = false;
                char text[512];
                int32_t n = loom_generation_text(g, (size_t)i, text, sizeof text);
                snprintf(texts[i], sizeof texts[i], "%s%s", prompt_text, n > 0 ? text : "");
                n_first[i] = loom_generation_tokens(g, (size_t)i, first_ids[i], 16);
                bool repeated = false;
                for (int j = 0; j < i; j++) {
                    if (n_first[i] == n_first[j] && n_first[i] >= 0
                        && memcmp(first_ids[i], first_ids[j], (size_t)n_first[i] * sizeof(loom_token)) == 0)
                        repeated = true;
                }
                if (i > 0 && !repeated) distinct++;
            }
            /* The documented scored text: the prompt text followed by the candidate's (special tokens parsed). */
            const char *ptrs[6];
            for (int i = 0; i < 6; i++) ptrs[i] = texts[i];
            float direct[6];
            loom_classify_params rp = loom_classify_default_params();
            rp.parse_special = true;
            CHECK("classify candidates", loom_classify(rm, ptrs, NULL, 6, &rp, direct, 6) == 6);
            double diff = 0;
            for (int i = 0; i < 6; i++) diff = fmax(diff, fabs((double)direct[i] - rewards[i]));
            if (diff > 1e-5) scored = false;
            printf("best-of-6 rewards: %.4f %.4f %.4f %.4f %.4f %.4f (%d distinct; max |reward - classify(prompt + text)| %.3g)\n",
                   rewards[0], rewards[1], rewards[2], rewards[3], rewards[4], rewards[5], distinct, diff);
            CHECK("ranked best first", ranked);
            CHECK("rewards are the reward model's scores", scored);
            CHECK("distinct draws", distinct > 1);
            CHECK("best of 6 again", loom_generate_best_of(ctx, prompt, (size_t)np, prompt_text, 6, &gp, rm, NULL, &again) == LOOM_OK);
            bool same = again != NULL;
            for (int i = 0; i < 6 && again; i++) {
                loom_token ids[16];
                int32_t n = loom_generation_tokens(again, (size_t)i, ids, 16);
                if (n != n_first[i] || (n > 0 && memcmp(ids, first_ids[i], (size_t)n * sizeof ids[0]))) same = false;
            }
            CHECK("reproducible with a seed", same);
            float r;
            EXPECT_STATUS("reward of candidate 6", loom_generation_reward(g, 6, &r), LOOM_ERR_OUT_OF_RANGE);
            EXPECT_STATUS("reward NULL out", loom_generation_reward(g, 0, NULL), LOOM_ERR_INVALID_ARGUMENT);
            loom_generation_free(again);
            loom_generation_free(g);
        }
        /* A plain generation has no rewards; greedy n > 1, beams, a two-label or missing reward model fail. */
        const loom_token *ps[1] = {prompt};
        size_t lens[1] = {(size_t)np};
        loom_generation *plain = NULL;
        CHECK("plain generate", loom_generate(ctx, ps, lens, 1, &gp, &plain) == LOOM_OK);
        float r;
        EXPECT_STATUS("reward of an unscored result", loom_generation_reward(plain, 0, &r), LOOM_ERR_UNSUPPORTED);
        loom_generation_free(plain);
        g = NULL;
        EXPECT_STATUS("best of 7 > n_seq_max", loom_generate_best_of(ctx, prompt, (size_t)np, NULL, 7, &gp, rm, NULL, &g),
                      LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("best of 0", loom_generate_best_of(ctx, prompt, (size_t)np, NULL, 0, &gp, rm, NULL, &g), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("best of, two-label model", loom_generate_best_of(ctx, prompt, (size_t)np, NULL, 2, &gp, clf, NULL, &g),
                      LOOM_ERR_UNSUPPORTED);
        EXPECT_STATUS("best of, model without a head", loom_generate_best_of(ctx, prompt, (size_t)np, NULL, 2, &gp, lm, NULL, &g),
                      LOOM_ERR_UNSUPPORTED);
        EXPECT_STATUS("best of, NULL reward model", loom_generate_best_of(ctx, prompt, (size_t)np, NULL, 2, &gp, NULL, NULL, &g),
                      LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("best of, NULL prompt", loom_generate_best_of(ctx, NULL, 3, NULL, 2, &gp, rm, NULL, &g), LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("best of, NULL out", loom_generate_best_of(ctx, prompt, (size_t)np, NULL, 2, &gp, rm, NULL, NULL),
                      LOOM_ERR_INVALID_ARGUMENT);
        EXPECT_STATUS("best of, NULL context", loom_generate_best_of(NULL, prompt, (size_t)np, NULL, 2, &gp, rm, NULL, &g),
                      LOOM_ERR_INVALID_ARGUMENT);
        loom_generate_params greedy = loom_generate_default_params();
        greedy.max_tokens = 4;
        EXPECT_STATUS("best of 3 greedy", loom_generate_best_of(ctx, prompt, (size_t)np, NULL, 3, &greedy, rm, NULL, &g),
                      LOOM_ERR_INVALID_ARGUMENT);
        gp.num_beams = 2;
        EXPECT_STATUS("best of with beams", loom_generate_best_of(ctx, prompt, (size_t)np, NULL, 2, &gp, rm, NULL, &g),
                      LOOM_ERR_UNSUPPORTED);
        CHECK("failures leave *out NULL", g == NULL);
        loom_context_free(ctx);
    }

    /* ---------------------------------------------------------------- retrieval */
    question qs[N_DOCS];
    snprintf(path, sizeof path, "%s/grounding/questions.json", fixtures);
    int nq = read_questions(path, qs);
    CHECK("questions.json", nq == N_DOCS);
    loom_model *tiny_bert = NULL, *mini = NULL;
    snprintf(path, sizeof path, "%s/tiny-bert", fixtures);
    CHECK("load tiny-bert", loom_model_load(path, NULL, &tiny_bert) == LOOM_OK);
    loom_index *idx = NULL;
    EXPECT_STATUS("index of 128-token passages on a 128-position encoder", loom_index_new(tiny_bert, NULL, &idx),
                  LOOM_ERR_INVALID_ARGUMENT);
    loom_index_params ip = loom_index_default_params();
    ip.chunk_tokens = 32;
    ip.chunk_overlap = 32;
    EXPECT_STATUS("overlap = chunk", loom_index_new(tiny_bert, &ip, &idx), LOOM_ERR_INVALID_ARGUMENT);
    ip.chunk_overlap = -1;
    EXPECT_STATUS("overlap -1", loom_index_new(tiny_bert, &ip, &idx), LOOM_ERR_INVALID_ARGUMENT);
    ip.chunk_overlap = 8;
    ip.n_threads = 100000;
    EXPECT_STATUS("n_threads 100000", loom_index_new(tiny_bert, &ip, &idx), LOOM_ERR_INVALID_ARGUMENT);
    ip.n_threads = 2;
    EXPECT_STATUS("index on a decoder", loom_index_new(lm, &ip, &idx), LOOM_ERR_UNSUPPORTED);
    EXPECT_STATUS("index NULL encoder", loom_index_new(NULL, &ip, &idx), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("index NULL out", loom_index_new(tiny_bert, &ip, NULL), LOOM_ERR_INVALID_ARGUMENT);
    loom_index_params small = ip;
    small.size = 2;
    EXPECT_STATUS("index params size 2", loom_index_new(tiny_bert, &small, &idx), LOOM_ERR_INVALID_ARGUMENT);
    CHECK("failed index calls leave *out NULL", idx == NULL);
    EXPECT_STATUS("n_documents NULL", loom_index_n_documents(NULL), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS("n_passages NULL", loom_index_n_passages(NULL), LOOM_ERR_INVALID_ARGUMENT);
    loom_index_free(NULL);

    if (minilm) {
        loom_model_params mp = loom_model_default_params();
        if (loom_model_load(minilm, &mp, &mini) != LOOM_OK) {
            printf("skipped: all-MiniLM-L6-v2 checks (%s: %s)\n", minilm, loom_last_error());
            mini = NULL;
        }
    } else {
        printf("skipped: all-MiniLM-L6-v2 checks (no MINILM_DIR given)\n");
    }
    if (tiny_bert && nq == N_DOCS) check_index("tiny-bert", tiny_bert, &ip, fixtures, qs, nq, scratch, false, mini, lm);
    if (mini && nq == N_DOCS) {
        loom_index_params mip = loom_index_default_params();
        mip.n_threads = 2;
        check_index("minilm", mini, &mip, fixtures, qs, nq, scratch, true, tiny_bert, NULL);
    }

    loom_model_free(mini);
    loom_model_free(tiny_bert);
    loom_model_free(lm);
    loom_model_free(clf);
    loom_model_free(rm);
    printf("max |diff| to transformers: tiny-llama-reward score %.3g, tiny-bert-classifier logits %.3g\n", reward_diff, bert_diff);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
