"""Python-side reliability: exceptions raised in callbacks come back to the caller (never a crash),
failures are LoomError with the library's message, and long calls release the GIL."""
import threading
import time

import numpy as np
import pytest

import loom
from conftest import FIXTURES

TINY = FIXTURES / "tiny-llama"


class Boom(Exception):
    pass


def test_logits_processor_exception_propagates():
    with loom.Model(TINY) as m:
        def bad(input_ids, scores):
            raise Boom("from the processor")
        with pytest.raises(Boom, match="from the processor"):
            m.generate([5, 6, 7], max_new_tokens=4, logits_processor=bad)
        assert len(m.generate([5, 6, 7], max_new_tokens=4).ids) == 4      # the model is fine afterwards


def test_abort_callback_exception_propagates_and_context_stays_usable():
    with loom.Model(TINY) as m, m.new_context(n_ctx=256) as ctx:
        def bad():
            raise Boom("from the abort callback")
        ctx.set_abort_callback(bad)
        with pytest.raises(Boom, match="from the abort callback"):
            ctx.decode(list(range(1, 100)))
        with pytest.raises(Boom):
            ctx.generate([5, 6, 7], max_new_tokens=4)
        ctx.set_abort_callback(None)
        ctx.clear()
        ctx.decode([5, 6, 7])
        with m.new_context(n_ctx=256) as fresh:
            fresh.decode([5, 6, 7])
            assert np.array_equal(ctx.logits(), fresh.logits())


def test_progress_callback_exception_propagates():
    def bad(fraction):
        raise Boom("from the progress callback")
    with pytest.raises(Boom):
        loom.Model(TINY / "model.f32.gguf", progress=bad)


def test_stream_consumer_exception_cancels_cleanly():
    with loom.Model(TINY) as m:
        with pytest.raises(Boom):
            for i, _piece in enumerate(m.generate([5, 6, 7], max_new_tokens=50, stream=True)):
                if i == 2:
                    raise Boom("from the consumer")
        assert len(m.generate([5, 6, 7], max_new_tokens=4).ids) == 4


def test_failures_are_loom_errors_with_messages(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\xff" * 60)
    with pytest.raises(loom.LoomError) as e:
        loom.Model(bad)
    assert e.value.status < 0 and str(e.value)
    with pytest.raises(loom.LoomError, match="out"):
        with loom.Model(TINY) as m:
            m.logits([10 ** 6])


def test_long_calls_release_the_gil():
    """While one thread is inside a long loom_generate call, another keeps running Python code: the
    longest pause it sees is far shorter than the call."""
    with loom.Model(TINY) as m:
        prompt = list(range(1, 200))
        start = time.perf_counter()
        m.generate(prompt, max_new_tokens=300)
        call = time.perf_counter() - start
        done = threading.Event()

        def work():
            m.generate(prompt, max_new_tokens=300)
            done.set()

        t = threading.Thread(target=work)
        t.start()
        last = time.perf_counter()
        longest = 0.0
        while not done.is_set():
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now
        t.join()
        print(f"one generate call takes {call * 1000:.0f} ms; the other thread's longest pause {longest * 1000:.1f} ms")
        assert longest < call / 2
