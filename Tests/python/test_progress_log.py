"""Load progress with cancel (Model(progress=...)) and the log callback (loom.set_log_callback, ...)."""
import gc
import logging
import threading

import pytest

import loom
from conftest import DEFAULT_MODEL, FIXTURES, need

TINY = FIXTURES / "tiny-llama" / "model.f32.gguf"
ABORTED = -6


@pytest.fixture(autouse=True)
def silent_after():
    yield
    loom.set_log_callback(None)
    loom.set_log_level("info")


def test_progress_rises_to_one():
    values = []
    with loom.Model(TINY, progress=values.append):   # None returned: go on
        pass
    assert values[0] == 0.0 and values[-1] == 1.0
    assert all(a < b for a, b in zip(values, values[1:])), values
    assert len(values) > 4
    values.clear()
    with loom.Model(TINY, vocab_only=True, progress=lambda p: values.append(p) or True):
        pass
    assert values == [0.0, 1.0]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_cancel_raises_aborted(where):
    n = []
    with loom.Model(TINY, progress=n.append):
        pass
    stop_at = {"first": 0, "middle": len(n) // 2, "last": len(n) - 1}[where]
    calls = []

    def progress(p):
        calls.append(p)
        return len(calls) <= stop_at

    with pytest.raises(loom.LoomError) as e:
        loom.Model(TINY, progress=progress)
    assert e.value.status == ABORTED
    assert "cancel" in str(e.value)
    assert len(calls) == stop_at + 1


def test_exception_in_progress_cancels_and_propagates():
    class Stop(Exception):
        pass

    def progress(p):
        if p > 0:
            raise Stop("from the callback")
        return True

    with pytest.raises(Stop):
        loom.Model(TINY, progress=progress)
    with pytest.raises(TypeError):
        loom.Model(TINY, progress=42)


def _mappings(path):
    with open("/proc/self/maps") as f:
        return sum(1 for line in f if line.rstrip().endswith(str(path)))


def test_cancelled_loads_unmap_the_file():
    path = need(DEFAULT_MODEL)
    gc.collect()
    before = _mappings(path)   # other tests' session fixtures may hold the file open
    for stop_at in (0, 50, 200):
        calls = []
        with pytest.raises(loom.LoomError):
            loom.Model(path, progress=lambda p: calls.append(p) or len(calls) <= stop_at)
        gc.collect()
        assert _mappings(path) == before


def test_log_callback_receives_messages():
    got = []
    loom.set_log_callback(lambda level, message: got.append((level, message)))
    with loom.Model(TINY):
        pass
    loaded = [m for lvl, m in got if lvl == "info" and m.startswith("loaded ")]
    assert len(loaded) == 1 and "architecture llama" in loaded[0], got

    # Thresholds
    loom.set_log_level("debug")
    assert loom.get_log_level() == "debug"
    with pytest.raises(loom.LoomError):
        loom.Model("/nonexistent/model.gguf")
    assert any(lvl == "debug" and "loom_model_load" in m for lvl, m in got), got
    loom.set_log_level(logging.ERROR)
    assert loom.get_log_level() == "error"
    n = len(got)
    with loom.Model(TINY):
        pass
    assert len(got) == n
    with pytest.raises(ValueError):
        loom.set_log_level("loud")
    with pytest.raises(TypeError):
        loom.set_log_callback(3)

    # Cleared: silent again.
    loom.set_log_level("debug")
    loom.set_log_callback(None)
    with loom.Model(TINY):
        pass
    assert len(got) == n


def test_log_callback_from_threads():
    got = []
    lock = threading.Lock()

    def sink(level, message):
        with lock:
            got.append(message)

    loom.set_log_callback(sink, level="info")
    threads = [threading.Thread(target=lambda: loom.Model(TINY).close()) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(m.startswith("loaded ") for m in got) == 4


def test_log_to_logging(caplog):
    with caplog.at_level(logging.DEBUG, logger="loom"):
        loom.log_to_logging()
        assert loom.get_log_level() == "debug"
        with loom.Model(TINY):
            pass
    records = [r for r in caplog.records if r.name == "loom"]
    assert any(r.levelno == logging.INFO and r.getMessage().startswith("loaded ") for r in records)
    assert any(r.levelno == logging.DEBUG for r in records)
