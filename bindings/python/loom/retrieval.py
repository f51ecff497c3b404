"""Retrieval index and grounded generation (include/loom.h, "retrieval and grounded generation")."""
import ctypes
import json
import os
from dataclasses import dataclass, field

from . import _native, generation
from ._handle import Handle
from .errors import LoomError, call_buffer, check


def _require_abi(lib):
    if not hasattr(lib, "loom_index_new"):
        raise LoomError(-4, "this libloom.so predates the retrieval index; rebuild it")


@dataclass
class SearchHit:
    """One retrieved passage: its document's id, the passage text, the cosine similarity to the query,
    the passage and document numbers in the index, and the document's metadata."""
    id: str
    text: str
    score: float
    passage: int
    document: int
    metadata: object = None


@dataclass
class Source:
    """A passage put in a grounded prompt as source [number]; cited: the answer mentions [number]."""
    number: int
    id: str
    text: str
    score: float
    cited: bool
    passage: int
    document: int


@dataclass
class GroundedAnswer:
    """The answer text, its sources (every passage put in the prompt, best match first), the prompt the
    model was given and why the generation stopped."""
    text: str
    sources: list
    prompt: str
    finish_reason: str
    cited: list = field(default_factory=list)

    def __str__(self):
        return self.text


class RetrievalIndex(Handle):
    """Documents cut into passages, embedded with an encoder model (e.g. all-MiniLM-L6-v2: mean pooling,
    L2-normalised) and searched by cosine similarity. Thread-safe; keeps its encoder alive.

    RetrievalIndex(encoder, chunk_tokens=128, overlap=32, n_threads=None): passages are sentences
    packed up to chunk_tokens encoder tokens, each sharing up to `overlap` tokens (whole sentences)
    with the one before."""

    _kind = "retrieval index"

    def __init__(self, encoder, chunk_tokens=128, overlap=32, n_threads=None, _handle=None):
        lib = _native.lib()
        _require_abi(lib)
        self.encoder = encoder
        if _handle is not None:
            self._handle = _handle
            return
        params = lib.loom_index_default_params()
        params.chunk_tokens = int(chunk_tokens)
        params.chunk_overlap = int(overlap)
        params.n_threads = 0 if n_threads is None else int(n_threads)
        handle = ctypes.c_void_p()
        check(lib.loom_index_new(encoder._h(), ctypes.byref(params), ctypes.byref(handle)))
        self._handle = handle

    def _release(self, handle):
        _native.lib().loom_index_free(handle)

    @classmethod
    def load(cls, path, encoder, n_threads=None):
        """Reads an index written by save(); `encoder` must give embeddings of the saved width."""
        lib = _native.lib()
        _require_abi(lib)
        params = lib.loom_index_default_params()
        params.n_threads = 0 if n_threads is None else int(n_threads)
        handle = ctypes.c_void_p()
        check(lib.loom_index_load(encoder._h(), os.fsencode(path), ctypes.byref(params), ctypes.byref(handle)))
        return cls(encoder, _handle=handle)

    def save(self, path):
        """Writes the index (versioned binary format, written atomically)."""
        check(_native.lib().loom_index_save(self._h(), os.fsencode(path)))

    def add(self, id, text, metadata=None):
        """Adds a document under a new id; metadata (any JSON-serialisable value) is stored as JSON.
        Returns the number of passages it was cut into."""
        if not isinstance(id, str) or not isinstance(text, str):
            raise TypeError("add(id, text): id and text must be strings")
        body = text.encode("utf-8")
        meta = None if metadata is None else json.dumps(metadata).encode("utf-8")
        return check(_native.lib().loom_index_add(self._h(), id.encode("utf-8"), body, len(body), meta))

    def add_folder(self, folder, pattern=(".txt", ".md")):
        """Adds every file of `folder` whose name ends with one of `pattern` (sorted; id = file name,
        metadata = {"path": ...}). Returns the ids added."""
        ids = []
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and name.endswith(tuple(pattern)):
                with open(path, encoding="utf-8", errors="replace") as f:
                    self.add(name, f.read(), metadata={"path": path})
                ids.append(name)
        return ids

    def __len__(self):
        return check(_native.lib().loom_index_n_documents(self._h()))

    @property
    def n_passages(self):
        return check(_native.lib().loom_index_n_passages(self._h()))

    def _string(self, fn, i):
        lib = _native.lib()
        h = self._h()
        return call_buffer(lambda b, c: getattr(lib, fn)(h, i, b, c)).decode("utf-8", "replace")

    def document(self, i):
        """Document i as {"id", "text", "metadata"}."""
        meta = self._string("loom_index_document_metadata", i)
        return {"id": self._string("loom_index_document_id", i), "text": self._string("loom_index_document_text", i),
                "metadata": json.loads(meta) if meta else None}

    def passage_text(self, i):
        return self._string("loom_index_passage_text", i)

    def _hit(self, passage, document, score):
        meta = self._string("loom_index_document_metadata", document)
        try:
            meta = json.loads(meta) if meta else None
        except ValueError:
            pass
        return SearchHit(id=self._string("loom_index_document_id", document), text=self.passage_text(passage),
                         score=float(score), passage=passage, document=document, metadata=meta)

    def search(self, query, k=3):
        """The k passages most similar to `query`, best first: a list of SearchHit."""
        lib = _native.lib()
        q = query.encode("utf-8")
        cap = max(1, int(k))
        hits = (_native.SearchHit * cap)()
        n = check(lib.loom_index_search(self._h(), q, len(q), int(k), hits, cap))
        return [self._hit(h.passage, h.document, h.score) for h in hits[:n]]


def generate_grounded(model, question, index, k=3, cite=True, instructions=None, max_new_tokens=256, stop=None,
                      **kwargs):
    """See Model.generate_grounded."""
    lib = _native.lib()
    _require_abi(lib)
    if not isinstance(index, RetrievalIndex):
        raise TypeError("index must be a loom.RetrievalIndex")
    unknown = set(kwargs) - set(generation.GENERATE_KEYS)
    if unknown:
        raise TypeError(f"generate_grounded() got unexpected keyword arguments {sorted(unknown)}")
    settings = generation.Settings(max_new_tokens=max_new_tokens, stop=stop, **kwargs)
    params = lib.loom_grounded_default_params()
    params.k = int(k)
    params.cite = bool(cite)
    instr = None if instructions is None else instructions.encode("utf-8")
    params.instructions = instr
    # The prompt is at most the sources (k passages of chunk_tokens) plus the question and template:
    # a context of the model's default size holds it; grow the model's own when asked for more.
    ctx = model._private_context(max(2048, max_new_tokens + 1024))
    out = ctypes.c_void_p()
    status = lib.loom_generate_grounded(ctx._h(), index._h(), question.encode("utf-8"), ctypes.byref(params),
                                        ctypes.byref(settings.params), ctypes.byref(out))
    try:
        if settings.error:
            raise settings.error[0]
        check(status)
        text = call_buffer(lambda b, c: lib.loom_grounded_text(out, b, c)).decode("utf-8", "replace")
        prompt = call_buffer(lambda b, c: lib.loom_grounded_prompt(out, b, c), initial=4096).decode("utf-8", "replace")
        reason = check(lib.loom_grounded_finish_reason(out))
        sources = []
        for i in range(check(lib.loom_grounded_n_sources(out))):
            s = _native.GroundedSource()
            check(lib.loom_grounded_source_at(out, i, ctypes.byref(s)))
            hit = index._hit(s.passage, s.document, s.score)
            sources.append(Source(number=s.number, id=hit.id, text=hit.text, score=float(s.score), cited=bool(s.cited),
                                  passage=s.passage, document=s.document))
        return GroundedAnswer(text=text, sources=sources, prompt=prompt,
                              finish_reason=generation.FINISH_REASONS.get(reason, str(reason)),
                              cited=[s.id for s in sources if s.cited])
    finally:
        if out:
            lib.loom_grounded_free(out)
