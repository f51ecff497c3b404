import ctypes

from . import _native


class LoomError(Exception):
    """A failure reported by libloom: `status` is the loom_status code, the message is the library's."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def check(status):
    """Raises LoomError for a negative status; returns it otherwise."""
    if status < 0:
        raise LoomError(status, _native.lib().loom_last_error().decode("utf-8", "replace"))
    return status


def call_buffer(fill, initial=256):
    """Runs a buffer-filling ABI call `fill(buf, cap) -> n` under the ABI's buffer convention,
    retrying once with the size the library asks for. Returns the bytes written."""
    lib = _native.lib()
    cap = initial
    for _ in range(3):
        buf = ctypes.create_string_buffer(cap)
        n = fill(buf, cap)
        if n >= 0:
            return buf.raw[:n]
        if lib.loom_last_status() != _native.LOOM_ERR_BUFFER_TOO_SMALL:
            check(n)
        cap = -n
    raise LoomError(_native.LOOM_ERR_BUFFER_TOO_SMALL, "the required buffer size kept changing")
