"""Writes metrics-refs.json: sacreBLEU and scikit-learn values that Tests/LoomEvaluationTests compare to.
Run from this folder with sacrebleu (2.x) and scikit-learn installed: python3 make_refs.py"""
import json
import math

import sacrebleu
import sklearn
from sacrebleu.metrics import BLEU
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

# Hypotheses and two reference streams (None: no second reference for that sentence).
PAIRS = [
    ("The cat sat on the mat.", "The cat sat on the mat.", "A cat was sitting on the mat."),
    ("The cat is on the mat", "There is a cat on the mat.", "The cat sits on the mat."),
    ("It costs $3,500.00 (about 3.2k euros).", "It costs $3,500.00, about 3.2k euros.", None),
    ("In 1999-2000, sales rose 12.5%!", "Sales rose by 12.5% in 1999-2000.", "In 1999 - 2000 sales grew 12.5 %."),
    ("Hello, World! How are you?", "hello world, how are you?", "Hello world! How are you doing?"),
    ("E-mail me at john.doe@example.com, please.", "Please e-mail me at john.doe@example.com.", None),
    ("He said: \"Don't go there.\"", "He said, \"Do not go there.\"", "\"Don't go there,\" he said."),
    ("Paris is the capital of France.", "The capital of France is Paris.", "Paris is France's capital."),
    ("We met at 10:30 a.m. on 5/6/2021.", "We met on 5/6/2021 at 10:30 a.m.", None),
    ("THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG", "The quick brown fox jumps over the lazy dog.", None),
    ("Prices: 1,000; 2,000; 3,000...", "Prices are 1,000, 2,000 and 3,000.", "Prices: 1.000; 2.000; 3.000."),
    ("Use the &quot;--force&quot; flag &amp; retry.", "Use the \"--force\" flag & retry.", None),
    ("Temperatures fell to -5 degrees overnight.", "Overnight, temperatures fell to -5 degrees.", "It got as cold as -5 degrees last night."),
    ("The model (v2.1) outperforms [baseline] by {3} points.", "The v2.1 model beats the baseline by 3 points.", None),
    ("Yes.", "Yes.", "Yes, indeed."),
    ("No", "Absolutely not.", None),
    ("I love New York; it's great.", "I love New York: it is great.", "New York is great, I love it."),
    ("Tokyo, Japan's capital, has ~14 million people.", "Tokyo, the capital of Japan, has about 14 million people.", None),
    ("She bought 3 apples, 2 pears and 1 melon.", "She bought three apples, two pears and one melon.", "She purchased 3 apples, 2 pears, and 1 melon."),
    ("Ça va? Très bien, merci!", "Ça va ? Très bien, merci !", None),
    ("The results were 0.95 and .5 respectively.", "The results were 0.95 and 0.5, respectively.", None),
    ("Read sections 2.3-2.5 before Monday.", "Read sections 2.3 to 2.5 by Monday.", "Before Monday, read sections 2.3-2.5."),
    ("", "An empty hypothesis scores nothing.", None),
    ("a b c d e f g", "a b c d e f g", "g f e d c b a"),
    ("Machine translation is hard, isn't it?", "Machine translation is difficult, isn't it?", "Isn't machine translation hard?"),
]

hyps = [p[0] for p in PAIRS]
refs1 = [p[1] for p in PAIRS]
refs2 = [p[2] for p in PAIRS]


def score(s):
    return {"score": s.score, "counts": [float(c) for c in s.counts], "totals": [float(t) for t in s.totals],
            "precisions": s.precisions, "bp": s.bp, "sys_len": s.sys_len, "ref_len": s.ref_len}


corpus = []
for name, kwargs in [("default", {}), ("lowercase", {"lowercase": True}), ("tokenize_none", {"tokenize": "none"}),
                     ("smooth_floor", {"smooth_method": "floor"}), ("smooth_add_k", {"smooth_method": "add-k"}),
                     ("smooth_none", {"smooth_method": "none"}), ("effective_order", {"effective_order": True}),
                     ("order_2", {"max_ngram_order": 2})]:
    for streams in ("one", "two"):
        refs = [refs1] if streams == "one" else [refs1, refs2]
        corpus.append({"name": name, "refs": streams, "params": kwargs,
                       **score(BLEU(**kwargs).corpus_score(hyps, refs))})

sentence = []
for h, r1, r2 in PAIRS:
    refs = [r1] + ([r2] if r2 is not None else [])
    sentence.append({"hyp": h, "refs": refs, **score(sacrebleu.sentence_bleu(h, refs))})

tok13a = sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()
tokenized = [{"text": t, "13a": tok13a(t.rstrip())} for t in hyps + refs1 + [r for r in refs2 if r is not None]]

LABELS = {
    "multiclass": ([0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0, 3, 3, 2],
                   [0, 2, 2, 2, 0, 0, 1, 2, 1, 1, 0, 0, 3, 2, 2]),
    "binary": ([1, 0, 1, 1, 0, 0, 1, 0, 1, 1], [1, 0, 0, 1, 0, 1, 1, 0, 0, 1]),
    "unseen_prediction": ([1, 1, 2, 2, 3, 3], [1, 2, 2, 2, 4, 3]),   # label 4 only predicted, never true
    "never_predicted": ([0, 1, 2, 0, 1, 2], [0, 0, 0, 0, 1, 1]),     # class 2 never predicted
    "negative_labels": ([-1, 5, 5, -1, 7], [5, 5, -1, -1, 7]),
}
classification = []
for name, (yt, yp) in LABELS.items():
    entry = {"name": name, "y_true": yt, "y_pred": yp, "accuracy": accuracy_score(yt, yp), "averages": {}}
    for zd in (0.0, 1.0):
        averages = ["micro", "macro", "weighted"] + (["binary"] if len(set(yt) | set(yp)) <= 2 else [])
        for avg in averages:
            p, r, f, _ = precision_recall_fscore_support(yt, yp, average=avg, zero_division=zd)
            entry["averages"][f"{avg}/{zd:g}"] = [p, r, f]
        p, r, f, s = precision_recall_fscore_support(yt, yp, average=None, zero_division=zd)
        entry[f"per_class/{zd:g}"] = {"labels": sorted(set(yt) | set(yp)), "precision": list(p), "recall": list(r),
                                      "f1": list(f), "support": [int(x) for x in s]}
    classification.append(entry)

out = {"source": f"sacrebleu {sacrebleu.__version__}, scikit-learn {sklearn.__version__} (make_refs.py)",
       "hyps": hyps, "refs": [refs1, refs2], "corpus": corpus, "sentence": sentence, "tokenized": tokenized,
       "classification": classification}
with open("metrics-refs.json", "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
print("corpus BLEU (one ref):", corpus[0]["score"], " (two refs):", corpus[1]["score"])
