"""Retrieval index (MiniLM) and grounded generation (SmolLM2) through the C ABI."""
import ctypes
import json
import threading

import pytest

import loom
from conftest import CACHE, DEFAULT_MODEL, FIXTURES, need

GROUNDING = FIXTURES / "grounding"
MINILM = CACHE / "models" / "all-MiniLM-L6-v2"


def questions():
    return json.loads((GROUNDING / "questions.json").read_text())["questions"]


@pytest.fixture(scope="module")
def encoder():
    with loom.Model(str(need(MINILM))) as m:
        yield m


@pytest.fixture(scope="module")
def index(encoder):
    idx = loom.RetrievalIndex(encoder, n_threads=2)
    added = idx.add_folder(GROUNDING, pattern=(".txt",))
    assert len(added) == 6 and len(idx) == 6
    yield idx
    idx.close()


def test_retrieval_ranks_the_answering_document_first(index):
    for q in questions():
        hits = index.search(q["question"], k=3)
        assert len(hits) == 3
        print(q["question"], "->", [(h.id, round(h.score, 3)) for h in hits])
        assert hits[0].id == q["document"] + ".txt"
        assert hits[0].score > hits[1].score
        assert hits[0].metadata == {"path": str(GROUNDING / hits[0].id)}
        assert hits[0].text in index.document(hits[0].document)["text"]


def test_save_load_roundtrip_and_bad_files(index, encoder, tmp_path):
    path = tmp_path / "docs.loomidx"
    index.save(path)
    loaded = loom.RetrievalIndex.load(path, encoder)
    assert len(loaded) == len(index) and loaded.n_passages == index.n_passages
    q = questions()[2]["question"]
    assert [(h.id, h.passage) for h in loaded.search(q, k=4)] == [(h.id, h.passage) for h in index.search(q, k=4)]
    data = path.read_bytes()
    bad = tmp_path / "bad.loomidx"
    for cut in (0, 8, 31, 100, len(data) - 3):
        bad.write_bytes(data[:cut])
        with pytest.raises(loom.LoomError) as e:
            loom.RetrievalIndex.load(bad, encoder)
        assert e.value.status in (-2, -3)
    bad.write_bytes(b"LOOMRIX\0" + data[8:12] + b"\xff\xff\xff\x00" + data[16:])
    with pytest.raises(loom.LoomError):
        loom.RetrievalIndex.load(bad, encoder)
    with pytest.raises(loom.LoomError):
        loom.RetrievalIndex.load(tmp_path / "missing.loomidx", encoder)


def test_index_api_errors(encoder):
    lib = loom._native.lib()
    idx = loom.RetrievalIndex(encoder, chunk_tokens=16, overlap=4, n_threads=1)
    long_text = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(20))
    assert idx.add("long", long_text) > 1   # chunked into several passages
    with pytest.raises(loom.LoomError):
        idx.add("long", "a repeated id")
    with pytest.raises(loom.LoomError):
        loom.RetrievalIndex(encoder, chunk_tokens=8, overlap=8)
    with loom.Model(FIXTURES / "tiny-llama") as decoder:
        with pytest.raises(loom.LoomError):
            loom.RetrievalIndex(decoder)
    h = idx._h()
    assert lib.loom_index_search(h, b"x", 1, 3, None, 0) == -3   # buffer too small: the count needed
    assert lib.loom_last_status() == -8
    assert lib.loom_index_search(None, b"x", 1, 3, None, 0) == -1
    assert lib.loom_index_passage_text(h, 999, None, 0) == -7
    assert lib.loom_index_document_id(h, -1, None, 0) == -7
    assert lib.loom_index_add(h, None, b"x", 1, None) == -1
    hits = (loom._native.SearchHit * 1)()
    assert lib.loom_index_search(h, b"topic 7", 7, 1, hits, 1) == 1
    lib.loom_index_free(None)
    idx.close()


def test_index_is_shareable(index):
    errors, seen = [], []

    def work(q):
        try:
            for _ in range(3):
                seen.append((q["document"], index.search(q["question"], k=1)[0].id))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(q,)) for q in questions()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(seen) == 18
    assert all(doc + ".txt" == got for doc, got in seen)


def test_grounded_answers_list_the_answering_document(index):
    facts = 0
    with loom.Model(str(need(DEFAULT_MODEL))) as lm:
        for q in questions():
            a = lm.generate_grounded(q["question"], index, k=3, max_new_tokens=40)
            print(q["question"], "->", repr(a.text), [s.id for s in a.sources], "cited", a.cited)
            assert [s.number for s in a.sources] == [1, 2, 3]
            assert a.sources[0].id == q["document"] + ".txt"
            assert f"[1] ({q['document']}.txt)" in a.prompt and q["question"] in a.prompt
            assert a.finish_reason in ("eog", "length")
            facts += q["fact"].lower() in a.text.lower()
        print(f"grounded answers naming the key fact: {facts}/{len(questions())}")
        assert facts >= 2   # 3/6 with SmolLM2-135M Q4_1 at the time of writing (greedy)
        with pytest.raises(TypeError):
            lm.generate_grounded("q", "not an index")
