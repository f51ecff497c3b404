/* Reduced-precision matmul kernels: y[m x n] = a[m x k] · wᵀ (+ bias), f32 in and out.
 *
 *  - bf16: Intel AMX (tdpbf16ps) or AVX512-BF16 (vdpbf16ps); products of bf16 values, f32 accumulation.
 *  - f16:  AVX512-FP16 (vfmadd…ph); products accumulated in f16 over 128 columns (64 per lane: a
 *          lane pair holds a feature's even and odd columns), then added into f32 accumulators.
 *          Rows of a and the whole of w are scaled by powers of two first (exact), so that those
 *          f16 sums stay far from overflow.
 *
 * Packed weights (both kinds): panels of 16 output features; panel p holds kp·16 values (kp = k
 * rounded up to 32, zero padded), pair row r (columns 2r, 2r+1) at p·kp·16 + 32r, feature j of the
 * panel at 32r + 2j + (column & 1) — AMX's "VNNI" B-tile layout. Features past n are zero.
 * Converted activations: rows of kp values (zero padded); the AMX kernel reads loomi_lowp_rows(m)
 * rows, so the rows after m must be zero for it (the convert calls write rows [0, m) only).
 *
 * Every kernel writes c[i·ldc + col] for rows i < m and features col in [16·p0, min(16·p1, n)).
 * The kernels exist only on x86-64; elsewhere the availability queries return 0 and callers must
 * use f32 matmul (the kernel entry points are then no-ops). */
#ifndef LOOM_LOWP_H
#define LOOM_LOWP_H
#include <stddef.h>
#include <stdint.h>

#define LOOMI_LOWP_BF16 0
#define LOOMI_LOWP_F16 1

/* The CPU runs AVX-512 F/DQ/BW/VL with OS zmm state; and also AVX512-BF16 / AVX512-FP16. */
int loomi_lowp_have_avx512(void);
int loomi_lowp_have_avx512bf16(void);
int loomi_lowp_have_avx512fp16(void);
/* AMX-BF16 usable: CPUID says so and the kernel granted tile data permission. The first call asks
 * for it (arch_prctl ARCH_REQ_XCOMP_PERM, once per process, thread-safe). */
int loomi_lowp_amx_ready(void);

/* k rounded up to 32. */
int loomi_lowp_padded_k(int k);
/* Rows the converted activations must have for m inputs (AMX reads 32 at a time). */
int loomi_lowp_rows(int m);
/* uint16 values of a packed n x k matrix. */
size_t loomi_lowp_packed_count(int n, int k);

/* Packs w (n rows of k f32, row stride ldw) as bf16 (kind LOOMI_LOWP_BF16) or, multiplied by
 * `scale`, as f16 (LOOMI_LOWP_F16), rounding to nearest even. */
void loomi_lowp_pack(const float *w, int n, int k, int ldw, int kind, float scale, uint16_t *out);

/* Activations to bf16: rows [0, m) of x (stride ldx) into rows of kp values. */
void loomi_lowp_convert_bf16(const float *x, int m, int k, int ldx, uint16_t *out);
/* Activations to f16, each row scaled by a power of two (its largest magnitude lands in [8, 16));
 * row_mult[i] receives the factor that undoes it. */
void loomi_lowp_convert_f16(const float *x, int m, int k, int ldx, uint16_t *out, float *row_mult);

/* The kernels (see the top). a: converted activations (kp per row); b: packed weights. */
void loomi_gemm_bf16_amx(const uint16_t *a, int m, int kp, const uint16_t *b, int p0, int p1,
                         float *c, int ldc, int n, const float *bias);
void loomi_gemm_bf16_avx512(const uint16_t *a, int m, int kp, const uint16_t *b, int p0, int p1,
                            float *c, int ldc, int n, const float *bias);
/* f16: the result is (Σ) · row_mult[i] · w_mult + bias. */
void loomi_gemm_f16_avx512(const uint16_t *a, int m, int kp, const float *row_mult, const uint16_t *b,
                           float w_mult, int p0, int p1, float *c, int ldc, int n, const float *bias);

/* Round-to-nearest-even conversions, portable (tests and references). */
uint16_t loomi_f32_to_bf16(float f);
float loomi_bf16_to_f32(uint16_t h);
uint16_t loomi_f32_to_f16(float f);
float loomi_f16_to_f32(uint16_t h);

#endif
