from .errors import LoomError


class Handle:
    """Owns one libloom handle: close() releases it (also on garbage collection and at the end of a
    `with` block); methods reach it through _h(), which raises once it is closed."""

    _kind = "object"
    _handle = None

    def _release(self, handle):
        """Frees `handle` (subclasses call their loom_*_free)."""

    def close(self):
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            self._release(handle)

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _h(self):
        if not getattr(self, "_handle", None):
            raise LoomError(-1, f"the {self._kind} is closed")
        return self._handle
