"""Chat with a model from Python: python3 examples/python/chat.py [MODEL.gguf] [QUESTION]

Streams the answer; without a question it reads questions from stdin until an empty line."""
import os
import sys

import loom

DEFAULT = os.path.join(os.environ.get("LOOM_CACHE", os.path.expanduser("~/.cache/loom")),
                       "models", "SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    questions = sys.argv[2:] or None
    with loom.Model(path) as model:
        messages = []
        while True:
            q = questions.pop(0) if questions else (None if questions is not None else input("> "))
            if not q:
                break
            messages.append({"role": "user", "content": q})
            answer = ""
            for piece in model.chat(messages, max_new_tokens=256, stream=True):
                print(piece, end="", flush=True)
                answer += piece
            print()
            messages.append({"role": "assistant", "content": answer})
            if questions == []:
                break


if __name__ == "__main__":
    main()
