/* Element-wise encoder kernels in AVX-512 (BERT's GELU and residual + LayerNorm), chosen at run time:
 * each returns 0 without touching memory when the CPU lacks AVX-512 F/BW/VL/DQ (callers then use
 * the portable Swift versions), 1 when done. */
#ifndef LOOM_ENCODER_H
#define LOOM_ENCODER_H
#include <stddef.h>

/* x = x/2 · (1 + erf(x/√2)) over n values; erf is LoomKernels' rational approximation (≤ 4e-7). */
int loomi_gelu_erf_avx512(float *x, size_t n);

/* For each of `rows` rows of n values: x = LayerNorm(x + add) · weight + bias (add may be NULL).
 * Mean and variance in f32 over 16 lanes, variance from the centred values (two passes). */
int loomi_add_layer_norm_avx512(float *x, const float *add, const float *weight, const float *bias,
                                size_t rows, size_t n, float eps);
/* One head of bidirectional attention over L tokens: out_i = softmax(scale · q_i·Kᵀ) · V for every
 * token i. q, k, v, out point at token 0's first value of the head; tokens are `ld` floats apart;
 * hd values per token. scratch: loomi_attention_scratch(L, hd) floats. */
size_t loomi_attention_scratch(int L, int hd);
int loomi_attention_head_avx512(const float *q, const float *k, const float *v, float *out, size_t ld, int L, int hd,
                                float scale, float *scratch);
#endif
