// Small C helpers the Swift layers need and Swift cannot express directly:
// thread-local error state for the C ABI, and (later) inline CPU hints.
#ifndef LOOM_SUPPORT_H
#define LOOM_SUPPORT_H
#include <stdint.h>
#include <stddef.h>

/// Records the calling thread's last status and message (message is copied, truncated to 1023 bytes).
void loomi_set_error(int32_t status, const char *message, size_t length);
/// Clears the calling thread's error state.
void loomi_clear_error(void);

/// Exported through the C ABI (declared in include/loom.h).
const char *loom_last_error(void);
int32_t loom_last_status(void);


/* CPU hints for spin loops and streaming kernels; inline, so they cost nothing from Swift. */
static inline void loomi_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline void loomi_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/* CPU identification for run-time kernel dispatch (LoomCore/CPUFeatures.swift). On other
   architectures they report nothing, so the portable kernels are chosen. */
static inline void loomi_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
#if defined(__x86_64__) || defined(__i386__)
    uint32_t a, b, c, d;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(subleaf));
    out[0] = a; out[1] = b; out[2] = c; out[3] = d;
#else
    (void)leaf; (void)subleaf;
    out[0] = out[1] = out[2] = out[3] = 0;
#endif
}

/* XCR0 (which register states the OS saves). Only call when CPUID.1:ECX.OSXSAVE[27] is set. */
static inline uint64_t loomi_xgetbv0(void) {
#if defined(__x86_64__) || defined(__i386__)
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#else
    return 0;
#endif
}

/* Prefetch into all cache levels for a streaming read (same as loomi_prefetch, explicit name). */
static inline void loomi_prefetch_t0(const void *p) { __builtin_prefetch(p, 0, 3); }
/* Prefetch into L2 (and L3) but not L1. */
static inline void loomi_prefetch_t1(const void *p) { __builtin_prefetch(p, 0, 2); }

#endif
