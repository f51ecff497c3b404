"""Semantic search with a sentence-embedding model (all-MiniLM-L6-v2 folder, or a BERT GGUF).

    python3 examples/python/search.py ~/.cache/loom/models/all-MiniLM-L6-v2 "how do I share modified copies?"
"""
import sys

import loom

DOCUMENTS = [
    "You may redistribute copies of the software, modified or not, under the same licence.",
    "The software is provided as is, without warranty of any kind.",
    "Paris is the capital and most populous city of France.",
    "The recipe needs two eggs, flour, sugar and a pinch of salt.",
    "Patent rights granted to you end if you sue over a patent infringement claim.",
    "The train to the airport leaves every fifteen minutes.",
]


def main():
    if len(sys.argv) < 3:
        sys.exit(f"usage: {sys.argv[0]} MODEL QUERY")
    with loom.Model(sys.argv[1]) as model:
        docs = model.embed(DOCUMENTS, normalize=True)   # (n, dim) unit vectors
        query = model.embed([sys.argv[2]], normalize=True)[0]
    scores = docs @ query                               # cosine similarities
    print("query:", sys.argv[2])
    for i in scores.argsort()[::-1]:
        print(f"{scores[i]:.4f}  {DOCUMENTS[i]}")


if __name__ == "__main__":
    main()
