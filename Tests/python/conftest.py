import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"
CACHE = pathlib.Path(os.environ.get("LOOM_CACHE", pathlib.Path.home() / ".cache" / "loom"))
DEFAULT_MODEL = CACHE / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def need(path):
    """Skips (or fails under LOOM_REQUIRE_TEST_DATA=1) when cached test data is missing."""
    if not pathlib.Path(path).exists():
        msg = f"{path} is missing: run scripts/fetch-model.sh / scripts/fetch-test-data.sh"
        if os.environ.get("LOOM_REQUIRE_TEST_DATA") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def smollm2():
    import loom
    with loom.Model(need(DEFAULT_MODEL), vocab_only=True) as m:
        yield m


def read_safetensors(path):
    """{name: float32 array} of an F32 safetensors file (tests only)."""
    import json
    import struct

    import numpy as np
    data = pathlib.Path(path).read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype=np.float32).reshape(info["shape"])
    return out


@pytest.fixture(scope="session")
def smollm2_full():
    import loom
    with loom.Model(need(DEFAULT_MODEL)) as m:
        yield m
