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

#endif
