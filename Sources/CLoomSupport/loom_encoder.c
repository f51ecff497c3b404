// AVX-512 GELU and residual + LayerNorm for the encoder (see include/loom_encoder.h).
#include "loom_encoder.h"
#include "loom_lowp.h"
#include "loom_support.h"
#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

static inline __attribute__((always_inline)) T512 __m512 gelu16(__m512 v) {
    // erf(t) ≈ t·P(t²)/Q(t²) on [-4, 4] (the coefficients of LoomKernels.erfApprox).
    __m512 t = _mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f));
    t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(-4)), _mm512_set1_ps(4));
    __m512 t2 = _mm512_mul_ps(t, t);
    __m512 p = _mm512_set1_ps(-2.72614225801306e-10f);
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(2.77068142495902e-08f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-2.10102402082508e-06f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-5.69250639462346e-05f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-7.34990630326855e-04f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-2.95459980854025e-03f));
    p = _mm512_fmadd_ps(p, t2, _mm512_set1_ps(-1.60960333262415e-02f));
    __m512 q = _mm512_set1_ps(-1.45660718464996e-05f);
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-2.13374055278905e-04f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-1.68282697438203e-03f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-7.37332916720468e-03f));
    q = _mm512_fmadd_ps(q, t2, _mm512_set1_ps(-1.42647390514189e-02f));
    __m512 erf = _mm512_div_ps(_mm512_mul_ps(p, t), q);
    __m512 half = _mm512_mul_ps(v, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(half, erf, half);
}

T512 static void gelu_avx512(float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

int loomi_gelu_erf_avx512(float *x, size_t n) {
    if (!loomi_lowp_have_avx512()) return 0;
    gelu_avx512(x, n);
    return 1;
}

T512 static void add_layer_norm_avx512(float *x, const float *add, const float *w, const float *b, size_t rows,
                                       size_t n, float eps) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        const float *ar = add ? add + r * n : NULL;
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        size_t i = 0;
        for (; i < n; i += 16) {
            __mmask16 m = i + 16 <= n ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(m, row + i);
            if (ar) { v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, ar + i)); _mm512_mask_storeu_ps(row + i, m, v); }
            if ((i / 16) & 1) s1 = _mm512_add_ps(s1, v); else s0 = _mm512_add_ps(s0, v);
        }
        float mean = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)) / (float)n;
        __m512 vm = _mm512_set1_ps(mean);
        s0 = _mm512_setzero_ps(); s1 = _mm512_setzero_ps();
        for (i = 0; i < n; i += 16) {
            __mmask16 m = i + 16 <= n ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, row + i), vm);
            if ((i / 16) & 1) s1 = _mm512_fmadd_ps(d, d, s1); else s0 = _mm512_fmadd_ps(d, d, s0);
        }
        float var = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)) / (float)n;
        __m512 inv = _mm512_set1_ps((float)(1.0 / sqrt((double)var + (double)eps)));
        for (i = 0; i < n; i += 16) {
            __mmask16 m = i + 16 <= n ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + i), vm), inv);
            __m512 y = _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, w + i), _mm512_maskz_loadu_ps(m, b + i));
            _mm512_mask_storeu_ps(row + i, m, y);
        }
    }
}

int loomi_add_layer_norm_avx512(float *x, const float *add, const float *weight, const float *bias,
                                size_t rows, size_t n, float eps) {
    if (!loomi_lowp_have_avx512()) return 0;
    add_layer_norm_avx512(x, add, weight, bias, rows, n, eps);
    return 1;
}

// e^x for x <= 0 (and -inf -> 0): the polynomial of LoomKernels' vexp (n = round(x·log2 e), r = x − n·ln 2
// in two parts, degree-6 polynomial, scaled by 2^n).
static inline __attribute__((always_inline)) T512 __m512 exp16(__m512 x) {
    __m512 xc = _mm512_min_ps(_mm512_set1_ps(88.7228394f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), magic);
    __m512 n = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), xc);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1)));
    return _mm512_scalef_ps(y, n);
}

size_t loomi_attention_scratch(int L, int hd) {
    size_t lp = (size_t)(L + 31) / 32 * 32;
    return lp * (size_t)hd + 4 * lp + 64;
}

#define HD_MAX 256

static inline __attribute__((always_inline)) __mmask16 tail_mask(int i, int n) {
    return i + 16 <= n ? 0xFFFF : i < n ? (__mmask16)((1u << (n - i)) - 1) : 0;
}

// Softmax in place over the L real keys of one score row (the padding up to lp gets weight 0);
// returns the factor that normalises the weights.
static inline __attribute__((always_inline)) T512 float softmax_row(float *s, int L, int lp) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < L; j += 16) mx = _mm512_mask_max_ps(mx, tail_mask(j, L), mx, _mm512_loadu_ps(s + j));
    float mval = _mm512_reduce_max_ps(mx);
    if (!(mval > -INFINITY)) {   // every score -inf (as softmaxInPlace: uniform weights)
        for (int j = 0; j < lp; j++) s[j] = j < L ? 1 : 0;
        return 1.0f / (float)L;
    }
    __m512 vm = _mm512_set1_ps(mval), sum = _mm512_setzero_ps();
    for (int j = 0; j < lp; j += 16) {
        __m512 e = _mm512_maskz_mov_ps(tail_mask(j, L), exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j), vm)));
        _mm512_storeu_ps(s + j, e);
        sum = _mm512_add_ps(sum, e);
    }
    return (float)(1.0 / (double)_mm512_reduce_add_ps(sum));
}

// QB queries at once (8 independent FMA chains): scores against 32 keys per pass over Kᵀ, then
// P·V over 32 values of the head per pass.
static inline __attribute__((always_inline)) T512 void attention_queries(
    const float *q, const float *v, float *out, size_t ld, int L, int lp, int hd, float scale,
    const float *kt, float *s, const int QB) {
    for (int jb = 0; jb < lp; jb += 32) {
        __m512 a0[4], a1[4];
        for (int r = 0; r < QB; r++) { a0[r] = _mm512_setzero_ps(); a1[r] = _mm512_setzero_ps(); }
        for (int e = 0; e < hd; e++) {
            const float *kr = kt + (size_t)e * lp + jb;
            __m512 k0 = _mm512_loadu_ps(kr), k1 = _mm512_loadu_ps(kr + 16);
            for (int r = 0; r < QB; r++) {
                __m512 qe = _mm512_set1_ps(q[(size_t)r * ld + e]);
                a0[r] = _mm512_fmadd_ps(qe, k0, a0[r]);
                a1[r] = _mm512_fmadd_ps(qe, k1, a1[r]);
            }
        }
        __m512 sc = _mm512_set1_ps(scale);
        for (int r = 0; r < QB; r++) {
            _mm512_storeu_ps(s + (size_t)r * lp + jb, _mm512_mul_ps(a0[r], sc));
            _mm512_storeu_ps(s + (size_t)r * lp + jb + 16, _mm512_mul_ps(a1[r], sc));
        }
    }
    float inv[4];
    for (int r = 0; r < QB; r++) inv[r] = softmax_row(s + (size_t)r * lp, L, lp);
    for (int c = 0; c < hd; c += 32) {
        __mmask16 m0 = tail_mask(c, hd), m1 = tail_mask(c + 16, hd);
        __m512 o0[4], o1[4];
        for (int r = 0; r < QB; r++) { o0[r] = _mm512_setzero_ps(); o1[r] = _mm512_setzero_ps(); }
        for (int j = 0; j < L; j++) {
            const float *vj = v + (size_t)j * ld + c;
            __m512 v0 = _mm512_maskz_loadu_ps(m0, vj), v1 = _mm512_maskz_loadu_ps(m1, vj + 16);
            for (int r = 0; r < QB; r++) {
                __m512 p = _mm512_set1_ps(s[(size_t)r * lp + j]);
                o0[r] = _mm512_fmadd_ps(p, v0, o0[r]);
                o1[r] = _mm512_fmadd_ps(p, v1, o1[r]);
            }
        }
        for (int r = 0; r < QB; r++) {
            float *o = out + (size_t)r * ld + c;
            __m512 vi = _mm512_set1_ps(inv[r]);
            _mm512_mask_storeu_ps(o, m0, _mm512_mul_ps(o0[r], vi));
            _mm512_mask_storeu_ps(o + 16, m1, _mm512_mul_ps(o1[r], vi));
        }
    }
}

// Kᵀ ([hd][lp], zero padded to lp = L rounded up to 32) makes the scores broadcast FMAs.
T512 static void attention_head(const float *q, const float *k, const float *v, float *out, size_t ld, int L, int hd,
                                float scale, float *scratch) {
    const int lp = (L + 31) / 32 * 32;
    float *kt = scratch, *s = scratch + (size_t)lp * hd;
    for (int e = 0; e < hd; e++) {
        float *row = kt + (size_t)e * lp;
        for (int j = 0; j < L; j++) row[j] = k[(size_t)j * ld + e];
        for (int j = L; j < lp; j++) row[j] = 0;
    }
    int i = 0;
    for (; i + 4 <= L; i += 4) attention_queries(q + (size_t)i * ld, v, out + (size_t)i * ld, ld, L, lp, hd, scale, kt, s, 4);
    switch (L - i) {
        case 3: attention_queries(q + (size_t)i * ld, v, out + (size_t)i * ld, ld, L, lp, hd, scale, kt, s, 3); break;
        case 2: attention_queries(q + (size_t)i * ld, v, out + (size_t)i * ld, ld, L, lp, hd, scale, kt, s, 2); break;
        case 1: attention_queries(q + (size_t)i * ld, v, out + (size_t)i * ld, ld, L, lp, hd, scale, kt, s, 1); break;
        default: break;
    }
}

int loomi_attention_head_avx512(const float *q, const float *k, const float *v, float *out, size_t ld, int L, int hd,
                                float scale, float *scratch) {
    if (!loomi_lowp_have_avx512() || L <= 0 || hd <= 0 || hd > HD_MAX) return 0;
    attention_head(q, k, v, out, ld, L, hd, scale, scratch);
    return 1;
}

#else
size_t loomi_attention_scratch(int L, int hd) { (void)L; (void)hd; return 1; }
int loomi_attention_head_avx512(const float *q, const float *k, const float *v, float *out, size_t ld, int L, int hd,
                                float scale, float *scratch) {
    (void)q; (void)k; (void)v; (void)out; (void)ld; (void)L; (void)hd; (void)scale; (void)scratch;
    return 0;
}
int loomi_gelu_erf_avx512(float *x, size_t n) { (void)x; (void)n; return 0; }
int loomi_add_layer_norm_avx512(float *x, const float *add, const float *weight, const float *bias,
                                size_t rows, size_t n, float eps) {
    (void)x; (void)add; (void)weight; (void)bias; (void)rows; (void)n; (void)eps;
    return 0;
}
#endif
