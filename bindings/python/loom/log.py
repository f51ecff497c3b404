"""libloom's log messages (include/loom.h, "logging"): silent unless asked.

    loom.set_log_callback(lambda level, message: print(level, message))   # level: "error" ... "debug"
    loom.set_log_level("debug")
    loom.log_to_logging()            # or: route every message to logging.getLogger("loom")
    loom.set_log_callback(None)      # silent again
"""
import atexit
import logging
import threading

from . import _native
from .errors import LoomError, check

LEVELS = ("error", "warn", "info", "debug")  # index = LOOM_LOG_* value
_TO_LOGGING = (logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG)

_lock = threading.Lock()
_callback = None  # the installed ctypes callback: kept alive while the library may call it
_atexit_registered = False


def _level_value(level):
    """A LOOM_LOG_* value from "error" / "warn" / "warning" / "info" / "debug", 0 ... 3, or a logging
    module level (logging.DEBUG ...)."""
    if isinstance(level, str):
        name = level.lower()
        name = "warn" if name == "warning" else name
        if name not in LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
        return LEVELS.index(name)
    if isinstance(level, int) and not isinstance(level, bool):
        if 0 <= level <= 3:
            return level
        if level >= 10:  # a logging module level
            return 3 if level < logging.INFO else 2 if level < logging.WARNING else 1 if level < logging.ERROR else 0
    raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")


def _require(lib):
    if not hasattr(lib, "loom_log_set"):
        raise LoomError(-4, "this libloom has no log callback (loom_log_set)")


def set_log_callback(fn, level=None):
    """Sends libloom's messages to fn(level, message) — level one of "error", "warn", "info", "debug",
    message a str — from whichever thread logs (possibly several at once; fn must not call
    set_log_callback). fn=None: silent again. level, when given, sets the threshold (set_log_level).
    Once this returns, the previous callable is no longer called."""
    global _callback
    if fn is not None and not callable(fn):
        raise TypeError("set_log_callback(fn): fn must be callable or None")
    lib = _native.lib()
    _require(lib)
    if level is not None:
        set_log_level(level)
    with _lock:
        if fn is None:
            new = _native.LOG_CALLBACK()  # NULL
        else:
            def on_log(_user_data, lvl, message):
                fn(LEVELS[lvl] if 0 <= lvl < len(LEVELS) else str(lvl), message.decode("utf-8", "replace"))
            new = _native.LOG_CALLBACK(on_log)
        # loom_log_set waits for calls of the previous callback in progress: dropping it afterwards is safe.
        lib.loom_log_set(new, None)
        _callback = new if fn is not None else None
        global _atexit_registered
        if fn is not None and not _atexit_registered:
            # No calls into a finalising interpreter.
            atexit.register(lambda: _callback is not None and set_log_callback(None))
            _atexit_registered = True


def set_log_level(level):
    """Delivers messages of `level` and more severe ones ("error" < "warn" < "info" < "debug"; default
    "info"). Also accepts 0 ... 3 and logging module levels."""
    lib = _native.lib()
    _require(lib)
    check(lib.loom_log_set_level(_level_value(level)))


def get_log_level():
    """The current threshold: "error", "warn", "info" or "debug"."""
    lib = _native.lib()
    _require(lib)
    return LEVELS[lib.loom_log_get_level()]


def log_to_logging(logger="loom", level=None):
    """Routes libloom's messages to a logging.Logger (a name or a Logger; default "loom") at the matching
    logging levels. level=None sets Loom's threshold from the logger's effective level, so messages the
    logger would drop are not even formatted."""
    log = logging.getLogger(logger) if isinstance(logger, str) else logger

    def forward(lvl, message):
        log.log(_TO_LOGGING[LEVELS.index(lvl)] if lvl in LEVELS else logging.INFO, message)

    set_log_callback(forward, level=level if level is not None else _level_value(max(log.getEffectiveLevel(), 10)))
