#include "loom_support.h"
#include <string.h>

// Thread-local so that concurrent callers never see each other's messages.
static _Thread_local char last_message[1024];
static _Thread_local int32_t last_status;

void loomi_set_error(int32_t status, const char *message, size_t length) {
    last_status = status;
    if (message == NULL) { last_message[0] = 0; return; }
    if (length >= sizeof(last_message)) length = sizeof(last_message) - 1;
    memcpy(last_message, message, length);
    last_message[length] = 0;
}

void loomi_clear_error(void) {
    last_status = 0;
    last_message[0] = 0;
}

const char *loom_last_error(void) { return last_message; }

int32_t loom_last_status(void) { return last_status; }
