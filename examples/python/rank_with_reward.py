"""Best-of-n with a reward model, and the metrics of an evaluation.

    python3 examples/python/rank_with_reward.py GENERATOR REWARD_MODEL [PROMPT]

Draws 4 candidates from GENERATOR (seeds seed..seed+3), ranks them by REWARD_MODEL's score of prompt +
candidate (a HF LlamaForSequenceClassification folder with one label), prints the pairwise preference
probability of the best over the worst, then shows BLEU and F1 on a toy set. (C: loom_generate_best_of,
loom_classify, loom_bleu, loom_precision_recall_f1.)"""
import sys

import loom


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    prompt = sys.argv[3] if len(sys.argv) > 3 else "Once upon a time"
    with loom.Model(sys.argv[1]) as gen, loom.Model(sys.argv[2]) as rm:
        ranked = gen.generate(prompt, best_of=4, reward_model=rm, temperature=0.9, seed=1, max_new_tokens=24)
        for c in ranked:
            print(f"{c.reward:+.4f}  {c.text!r}")
        print("P(best preferred over worst) =", round(loom.preference_probability(ranked[0].reward, ranked[-1].reward), 4))
    hyps = ["the cat sat on the mat", "a quick brown fox"]
    refs = [["the cat is on the mat", "the quick brown fox"]]
    print(loom.metrics.corpus_bleu(hyps, refs))          # sacreBLEU's line
    print("macro F1:", loom.metrics.f1([0, 1, 1, 2], [0, 1, 2, 2], average="macro"))


if __name__ == "__main__":
    main()
