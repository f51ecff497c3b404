// Reduced-precision matmul kernels (see include/loom_lowp.h for layouts and contracts).
// Each SIMD function carries its own target attribute, so the file builds without global ISA flags;
// callers check the loomi_lowp_have_* / amx_ready queries before calling a kernel.
#include "loom_lowp.h"
#include "loom_support.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#define LOOMI_X86 1
#endif

uint16_t loomi_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

float loomi_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t loomi_f32_to_f16(float f) {
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}

float loomi_f16_to_f32(uint16_t u) {
    _Float16 h;
    memcpy(&h, &u, 2);
    return (float)h;
}

int loomi_lowp_padded_k(int k) { return (k + 31) / 32 * 32; }
int loomi_lowp_rows(int m) { return (m + 31) / 32 * 32; }
size_t loomi_lowp_packed_count(int n, int k) { return (size_t)((n + 15) / 16) * 16 * (size_t)loomi_lowp_padded_k(k); }

void loomi_lowp_pack(const float *w, int n, int k, int ldw, int kind, float scale, uint16_t *out) {
    int kp = loomi_lowp_padded_k(k);
    memset(out, 0, loomi_lowp_packed_count(n, k) * 2);
    for (int r = 0; r < n; r++) {
        uint16_t *panel = out + (size_t)(r / 16) * kp * 16 + 2 * (r % 16);
        const float *row = w + (size_t)r * ldw;
        for (int c = 0; c < k; c++) {
            uint16_t v = kind == LOOMI_LOWP_BF16 ? loomi_f32_to_bf16(row[c]) : loomi_f32_to_f16(row[c] * scale);
            panel[(size_t)(c >> 1) * 32 + (c & 1)] = v;
        }
    }
}

#if LOOMI_X86

static void cpuid2(uint32_t leaf, uint32_t sub, uint32_t r[4]) { loomi_cpuid(leaf, sub, r); }

// AVX-512 F/DQ/BW/VL with zmm state saved by the OS (XCR0 bits 1, 2, 5, 6, 7).
static int have_avx512_base(void) {
    uint32_t r[4];
    cpuid2(0, 0, r);
    if (r[0] < 7) return 0;
    cpuid2(1, 0, r);
    if (!((r[2] >> 27) & 1)) return 0;
    if ((loomi_xgetbv0() & 0xE6) != 0xE6) return 0;
    cpuid2(7, 0, r);
    return ((r[1] >> 16) & 1) && ((r[1] >> 17) & 1) && ((r[1] >> 30) & 1) && ((r[1] >> 31) & 1);
}

// Detected once; racing first calls compute the same value (relaxed atomics keep that defined).
#define CACHED(expr) do { \
        static int cached = -1; \
        int v = __atomic_load_n(&cached, __ATOMIC_RELAXED); \
        if (v < 0) { v = (expr); __atomic_store_n(&cached, v, __ATOMIC_RELAXED); } \
        return v; \
    } while (0)

static int detect_avx512bf16(void) {
    uint32_t r[4];
    if (!have_avx512_base()) return 0;
    cpuid2(7, 0, r);
    if (r[0] < 1) return 0;
    cpuid2(7, 1, r);
    return (r[0] >> 5) & 1;
}

static int detect_avx512fp16(void) {
    uint32_t r[4];
    if (!have_avx512_base()) return 0;
    cpuid2(7, 0, r);
    return (r[3] >> 23) & 1;
}

int loomi_lowp_have_avx512(void) { CACHED(have_avx512_base()); }
int loomi_lowp_have_avx512bf16(void) { CACHED(detect_avx512bf16()); }
int loomi_lowp_have_avx512fp16(void) { CACHED(detect_avx512fp16()); }

static pthread_once_t amx_once = PTHREAD_ONCE_INIT;
static int amx_ok;

static void amx_init(void) {
    uint32_t r[4];
    if (!have_avx512_base()) return;
    cpuid2(7, 0, r);
    if (!((r[3] >> 22) & 1) || !((r[3] >> 24) & 1)) return;  // AMX-BF16, AMX-TILE
    if (((loomi_xgetbv0() >> 17) & 3) != 3) return;         // XTILECFG, XTILEDATA enabled by the OS
    // Linux hands out tile data state only on request; without it tile instructions fault (SIGILL).
    if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) != 0) return;
    amx_ok = 1;
}

int loomi_lowp_amx_ready(void) {
    pthread_once(&amx_once, amx_init);
    return amx_ok;
}

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define TBF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define TFP16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512fp16")))
#define TAMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,amx-tile,amx-bf16")))
#define INLINE static inline __attribute__((always_inline))

TBF16 static void convert_bf16_avx512(const float *x, int m, int k, int ldx, int kp, uint16_t *out) {
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * ldx;
        uint16_t *o = out + (size_t)i * kp;
        for (int c = 0; c < kp; c += 16) {
            __mmask16 mask = c + 16 <= k ? 0xFFFF : c < k ? (__mmask16)((1u << (k - c)) - 1) : 0;
            __m512 v = _mm512_maskz_loadu_ps(mask, row + c);
            _mm256_storeu_si256((__m256i *)(o + c), (__m256i)_mm512_cvtneps_pbh(v));
        }
    }
}

void loomi_lowp_convert_bf16(const float *x, int m, int k, int ldx, uint16_t *out) {
    int kp = loomi_lowp_padded_k(k);
    if (loomi_lowp_have_avx512bf16()) {
        convert_bf16_avx512(x, m, k, ldx, kp, out);
    } else {
        for (int i = 0; i < m; i++)
            for (int c = 0; c < kp; c++) out[(size_t)i * kp + c] = c < k ? loomi_f32_to_bf16(x[(size_t)i * ldx + c]) : 0;
    }
}

// 2^e with e chosen so that maxabs·2^e lies in [8, 16); 1 for zero or non-finite rows.
static float row_scale(float maxabs) {
    if (!(maxabs > 0) || !isfinite(maxabs)) return 1;
    int e;
    frexpf(maxabs, &e);  // maxabs = f·2^e, f in [0.5, 1)
    return ldexpf(1, 4 - e);
}

TFP16 static void convert_f16_avx512(const float *x, int m, int k, int ldx, int kp, uint16_t *out, float *mult) {
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * ldx;
        __m512 mx = _mm512_setzero_ps();
        for (int c = 0; c < k; c += 16) {
            __mmask16 mask = c + 16 <= k ? 0xFFFF : (__mmask16)((1u << (k - c)) - 1);
            mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_maskz_loadu_ps(mask, row + c)));
        }
        float s = row_scale(_mm512_reduce_max_ps(mx));
        mult[i] = 1 / s;
        __m512 vs = _mm512_set1_ps(s);
        uint16_t *o = out + (size_t)i * kp;
        for (int c = 0; c < kp; c += 16) {
            __mmask16 mask = c + 16 <= k ? 0xFFFF : c < k ? (__mmask16)((1u << (k - c)) - 1) : 0;
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, row + c), vs);
            _mm256_storeu_si256((__m256i *)(o + c), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        }
    }
}

void loomi_lowp_convert_f16(const float *x, int m, int k, int ldx, uint16_t *out, float *row_mult) {
    int kp = loomi_lowp_padded_k(k);
    if (loomi_lowp_have_avx512fp16()) {
        convert_f16_avx512(x, m, k, ldx, kp, out, row_mult);
    } else {
        for (int i = 0; i < m; i++) {
            const float *row = x + (size_t)i * ldx;
            float mx = 0;
            for (int c = 0; c < k; c++) mx = fmaxf(mx, fabsf(row[c]));
            float s = row_scale(mx);
            row_mult[i] = 1 / s;
            for (int c = 0; c < kp; c++) out[(size_t)i * kp + c] = c < k ? loomi_f32_to_f16(row[c] * s) : 0;
        }
    }
}

// Writes a 16-feature slice of one output row: v (· mult) + bias, masked to the features that exist.
INLINE T512 void store16(float *c, int col, int n, __m512 v, float mult, const float *bias) {
    if (col >= n) return;
    __mmask16 mask = col + 16 <= n ? 0xFFFF : (__mmask16)((1u << (n - col)) - 1);
    if (mult != 1) v = _mm512_mul_ps(v, _mm512_set1_ps(mult));
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias + col));
    _mm512_mask_storeu_ps(c + col, mask, v);
}

INLINE int32_t load_pair(const uint16_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

// ---- AVX512-BF16: MR tokens x 2 panels (32 features), 16 f32 lanes per feature slice.

#define BF16_MR 8

INLINE TBF16 void bf16_tile(const uint16_t *a, int kp, const int mr, const uint16_t *b0, const uint16_t *b1,
                            const int two, float *c, int ldc, int col, int n, const float *bias) {
    __m512 acc0[BF16_MR], acc1[BF16_MR];
    for (int i = 0; i < mr; i++) { acc0[i] = _mm512_setzero_ps(); acc1[i] = _mm512_setzero_ps(); }
    const int pairs = kp / 2;
    for (int p = 0; p < pairs; p++) {
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(b0 + 32 * p);
        __m512bh w1 = two ? (__m512bh)_mm512_loadu_si512(b1 + 32 * p) : w0;
        for (int i = 0; i < mr; i++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32(load_pair(a + (size_t)i * kp + 2 * p));
            acc0[i] = _mm512_dpbf16_ps(acc0[i], x, w0);
            if (two) acc1[i] = _mm512_dpbf16_ps(acc1[i], x, w1);
        }
    }
    for (int i = 0; i < mr; i++) {
        store16(c + (size_t)i * ldc, col, n, acc0[i], 1, bias);
        if (two) store16(c + (size_t)i * ldc, col + 16, n, acc1[i], 1, bias);
    }
}

#define BF16_CASE(R) case R: \
    if (two) bf16_tile(ai, kp, R, b0, b1, 1, ci, ldc, col, n, bias); \
    else bf16_tile(ai, kp, R, b0, b1, 0, ci, ldc, col, n, bias); break;

TBF16 void loomi_gemm_bf16_avx512(const uint16_t *a, int m, int kp, const uint16_t *b, int p0, int p1,
                                  float *c, int ldc, int n, const float *bias) {
    // Token blocks of 64 (their activations stay in L2) › panel pairs › MR-token tiles.
    for (int mb = 0; mb < m; mb += 64) {
        int me = mb + 64 < m ? mb + 64 : m;
        for (int p = p0; p < p1; p += 2) {
            int two = p + 1 < p1, col = 16 * p;
            const uint16_t *b0 = b + (size_t)p * kp * 16, *b1 = b0 + (size_t)kp * 16;
            for (int i = mb; i < me; i += BF16_MR) {
                int mr = me - i < BF16_MR ? me - i : BF16_MR;
                const uint16_t *ai = a + (size_t)i * kp;
                float *ci = c + (size_t)i * ldc;
                switch (mr) {
                    BF16_CASE(8) BF16_CASE(7) BF16_CASE(6) BF16_CASE(5)
                    BF16_CASE(4) BF16_CASE(3) BF16_CASE(2) BF16_CASE(1)
                }
            }
        }
    }
}
#undef BF16_CASE

// ---- AVX512-FP16: MR tokens x 2 panels. Lanes hold (feature, column parity) pairs, so one
// vfmadd231ph does two columns for 16 features; f16 sums are moved into f32 every F16_FLUSH pairs.

#define F16_MR 8
#define F16_FLUSH 64   // column pairs per f16 partial sum (each lane adds 64 products)

INLINE TFP16 __m512 f16_lo(__m512h h) { return _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_castph_si512(h))); }
INLINE TFP16 __m512 f16_hi(__m512h h) { return _mm512_cvtph_ps(_mm512_extracti64x4_epi64(_mm512_castph_si512(h), 1)); }

// Lanes (2j, 2j+1) of lo (features 0-7) and hi (8-15) summed: features 0-15 in order.
INLINE T512 __m512 pair_sum(__m512 lo, __m512 hi) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_add_ps(_mm512_permutex2var_ps(lo, even, hi), _mm512_permutex2var_ps(lo, odd, hi));
}

// f32 sums live in L1 (acc), the f16 ones in 16 registers: 8 tokens x 2 panels per pass over B.
INLINE TFP16 void f16_tile(const uint16_t *a, int kp, const int mr, const float *row_mult, const uint16_t *b0,
                           const uint16_t *b1, const int two, float w_mult, float *c, int ldc, int col, int n,
                           const float *bias) {
    float acc[F16_MR][64] __attribute__((aligned(64)));
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < 64; j += 16) _mm512_store_ps(acc[i] + j, _mm512_setzero_ps());
    const int pairs = kp / 2;
    for (int pc = 0; pc < pairs; pc += F16_FLUSH) {
        __m512h h0[F16_MR], h1[F16_MR];
        for (int i = 0; i < mr; i++) { h0[i] = _mm512_setzero_ph(); h1[i] = _mm512_setzero_ph(); }
        const int pe = pc + F16_FLUSH < pairs ? pc + F16_FLUSH : pairs;
        for (int p = pc; p < pe; p++) {
            __m512h w0 = _mm512_castsi512_ph(_mm512_loadu_si512(b0 + 32 * p));
            __m512h w1 = two ? _mm512_castsi512_ph(_mm512_loadu_si512(b1 + 32 * p)) : w0;
            for (int i = 0; i < mr; i++) {
                __m512h x = _mm512_castsi512_ph(_mm512_set1_epi32(load_pair(a + (size_t)i * kp + 2 * p)));
                h0[i] = _mm512_fmadd_ph(x, w0, h0[i]);
                if (two) h1[i] = _mm512_fmadd_ph(x, w1, h1[i]);
            }
        }
        for (int i = 0; i < mr; i++) {
            _mm512_store_ps(acc[i], _mm512_add_ps(_mm512_load_ps(acc[i]), f16_lo(h0[i])));
            _mm512_store_ps(acc[i] + 16, _mm512_add_ps(_mm512_load_ps(acc[i] + 16), f16_hi(h0[i])));
            if (two) {
                _mm512_store_ps(acc[i] + 32, _mm512_add_ps(_mm512_load_ps(acc[i] + 32), f16_lo(h1[i])));
                _mm512_store_ps(acc[i] + 48, _mm512_add_ps(_mm512_load_ps(acc[i] + 48), f16_hi(h1[i])));
            }
        }
    }
    for (int i = 0; i < mr; i++) {
        float mult = row_mult[i] * w_mult;
        store16(c + (size_t)i * ldc, col, n, pair_sum(_mm512_load_ps(acc[i]), _mm512_load_ps(acc[i] + 16)), mult, bias);
        if (two)
            store16(c + (size_t)i * ldc, col + 16, n, pair_sum(_mm512_load_ps(acc[i] + 32), _mm512_load_ps(acc[i] + 48)),
                    mult, bias);
    }
}

#define F16_CASE(R) case R: \
    if (two) f16_tile(ai, kp, R, rm, b0, b1, 1, w_mult, ci, ldc, col, n, bias); \
    else f16_tile(ai, kp, R, rm, b0, b1, 0, w_mult, ci, ldc, col, n, bias); break;

TFP16 void loomi_gemm_f16_avx512(const uint16_t *a, int m, int kp, const float *row_mult, const uint16_t *b,
                                 float w_mult, int p0, int p1, float *c, int ldc, int n, const float *bias) {
    for (int mb = 0; mb < m; mb += 64) {
        int me = mb + 64 < m ? mb + 64 : m;
        for (int p = p0; p < p1; p += 2) {
            int two = p + 1 < p1, col = 16 * p;
            const uint16_t *b0 = b + (size_t)p * kp * 16, *b1 = b0 + (size_t)kp * 16;
            for (int i = mb; i < me; i += F16_MR) {
                int mr = me - i < F16_MR ? me - i : F16_MR;
                const uint16_t *ai = a + (size_t)i * kp;
                const float *rm = row_mult + i;
                float *ci = c + (size_t)i * ldc;
                switch (mr) { F16_CASE(8) F16_CASE(7) F16_CASE(6) F16_CASE(5) F16_CASE(4) F16_CASE(3) F16_CASE(2) F16_CASE(1) }
            }
        }
    }
}
#undef F16_CASE

// ---- AMX: 32 tokens x 2 panels per step, four 16x16 f32 accumulator tiles (tmm0-3), A tiles tmm4-5
// (16 tokens x 32 columns), B tiles tmm6-7 (16 column pairs x 16 features).

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

TAMX void loomi_gemm_bf16_amx(const uint16_t *a, int m, int kp, const uint16_t *b, int p0, int p1,
                              float *c, int ldc, int n, const float *bias) {
    amx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.colsb[t] = 64; cfg.rows[t] = 16; }
    _tile_loadconfig(&cfg);
    float out[4][256] __attribute__((aligned(64)));
    const size_t stride = (size_t)kp * 2;   // bytes per activation row
    for (int mb = 0; mb < m; mb += 32) {    // activation rows are padded to a multiple of 32
        for (int p = p0; p < p1; p += 2) {
            int two = p + 1 < p1;
            const uint16_t *b0 = b + (size_t)p * kp * 16, *b1 = b0 + (size_t)kp * 16;
            const uint16_t *a0 = a + (size_t)mb * kp, *a1 = a0 + (size_t)16 * kp;
            _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
            for (int kb = 0; kb < kp; kb += 32) {
                _tile_loadd(4, a0 + kb, stride);
                _tile_loadd(5, a1 + kb, stride);
                _tile_loadd(6, b0 + (size_t)kb * 16, 64);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(2, 5, 6);
                if (two) {
                    _tile_loadd(7, b1 + (size_t)kb * 16, 64);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_dpbf16ps(3, 5, 7);
                }
            }
            _tile_stored(0, out[0], 64);
            _tile_stored(2, out[2], 64);
            if (two) { _tile_stored(1, out[1], 64); _tile_stored(3, out[3], 64); }
            for (int r = 0; r < 32 && mb + r < m; r++) {
                float *ci = c + (size_t)(mb + r) * ldc;
                int t = r < 16 ? 0 : 2;
                store16(ci, 16 * p, n, _mm512_load_ps(out[t] + 16 * (r & 15)), 1, bias);
                if (two) store16(ci, 16 * p + 16, n, _mm512_load_ps(out[t + 1] + 16 * (r & 15)), 1, bias);
            }
        }
    }
    _tile_release();
}

#else  // not x86-64: no kernels; the queries say so and callers take the f32 path.

int loomi_lowp_have_avx512(void) { return 0; }
int loomi_lowp_have_avx512bf16(void) { return 0; }
int loomi_lowp_have_avx512fp16(void) { return 0; }
int loomi_lowp_amx_ready(void) { return 0; }
void loomi_lowp_convert_bf16(const float *x, int m, int k, int ldx, uint16_t *out) {
    int kp = loomi_lowp_padded_k(k);
    for (int i = 0; i < m; i++)
        for (int c = 0; c < kp; c++) out[(size_t)i * kp + c] = c < k ? loomi_f32_to_bf16(x[(size_t)i * ldx + c]) : 0;
}
void loomi_lowp_convert_f16(const float *x, int m, int k, int ldx, uint16_t *out, float *row_mult) {
    int kp = loomi_lowp_padded_k(k);
    for (int i = 0; i < m; i++) {
        row_mult[i] = 1;
        for (int c = 0; c < kp; c++) out[(size_t)i * kp + c] = c < k ? loomi_f32_to_f16(x[(size_t)i * ldx + c]) : 0;
    }
}
void loomi_gemm_bf16_amx(const uint16_t *a, int m, int kp, const uint16_t *b, int p0, int p1,
                         float *c, int ldc, int n, const float *bias) {
    (void)a; (void)m; (void)kp; (void)b; (void)p0; (void)p1; (void)c; (void)ldc; (void)n; (void)bias;
}
void loomi_gemm_bf16_avx512(const uint16_t *a, int m, int kp, const uint16_t *b, int p0, int p1,
                            float *c, int ldc, int n, const float *bias) {
    (void)a; (void)m; (void)kp; (void)b; (void)p0; (void)p1; (void)c; (void)ldc; (void)n; (void)bias;
}
void loomi_gemm_f16_avx512(const uint16_t *a, int m, int kp, const float *row_mult, const uint16_t *b,
                           float w_mult, int p0, int p1, float *c, int ldc, int n, const float *bias) {
    (void)a; (void)m; (void)kp; (void)row_mult; (void)b; (void)w_mult; (void)p0; (void)p1; (void)c; (void)ldc;
    (void)n; (void)bias;
}
#endif
