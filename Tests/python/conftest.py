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
