"""Answer questions about a folder of text files: index them with a sentence-embedding model, retrieve the
passages closest to each question and let a chat model answer from them, citing its sources.

    python3 examples/python/ask_folder.py FOLDER "When was the lighthouse built?" ["another question" ...]
    python3 examples/python/ask_folder.py Tests/Fixtures/grounding          # questions from stdin

Options (environment): LOOM_ENCODER (default ~/.cache/loom/models/all-MiniLM-L6-v2), LOOM_MODEL (default
~/.cache/loom/models/SmolLM2-135M-Instruct.Q4_1.gguf), LOOM_INDEX=path to keep the index between runs
(built when missing; delete it after changing the folder). Files ending in .txt or .md are indexed.
"""
import os
import sys

import loom

CACHE = os.environ.get("LOOM_CACHE", os.path.expanduser("~/.cache/loom"))
ENCODER = os.environ.get("LOOM_ENCODER", os.path.join(CACHE, "models", "all-MiniLM-L6-v2"))
MODEL = os.environ.get("LOOM_MODEL", os.path.join(CACHE, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))


def build_index(encoder, folder, saved):
    if saved and os.path.exists(saved):
        return loom.RetrievalIndex.load(saved, encoder)
    index = loom.RetrievalIndex(encoder, chunk_tokens=128, overlap=32)
    names = index.add_folder(folder)
    if not names:
        sys.exit(f"no .txt or .md files in {folder}")
    print(f"indexed {len(names)} files as {index.n_passages} passages", file=sys.stderr)
    if saved:
        index.save(saved)
    return index


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    folder, questions = sys.argv[1], sys.argv[2:]
    with loom.Model(ENCODER) as encoder, loom.Model(MODEL) as model:
        index = build_index(encoder, folder, os.environ.get("LOOM_INDEX"))
        while True:
            q = questions.pop(0) if questions else (None if len(sys.argv) > 2 else input("question> ").strip())
            if not q:
                break
            answer = model.generate_grounded(q, index, k=3, max_new_tokens=200)
            print(answer.text)
            for s in answer.sources:
                mark = " (cited)" if s.cited else ""
                print(f"  [{s.number}] {s.id}  score {s.score:.3f}{mark}")
            if len(sys.argv) > 2 and not questions:
                break


if __name__ == "__main__":
    main()
