#!/usr/bin/env bash
# Smoke tests of the loom command's ranking subcommands on the tiny fixtures: classify / reward against
# transformers' refs.json (tiny-llama-reward, tiny-bert-classifier), index build / search (save, --append,
# load, a passage finding itself) and ask (sources = the search's hits), with the tiny-bert encoder and the
# tiny llama. With all-MiniLM-L6-v2 cached: each question of Tests/Fixtures/grounding finds its answering
# document first; with SmolLM2 too, `ask` lists it as source [1]. Bad input must exit with status 64 and
# an "Error:" message (never a crash).
# usage: Tests/c/cli_ranking.sh LOOM_CLI SCRATCH_DIR   (Tests/c/run.sh runs it)
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$LOOM_ROOT"
[ $# -ge 2 ] || { echo "usage: $0 LOOM_CLI SCRATCH_DIR"; exit 2; }
loom="$1"
work="$2/cli-ranking"
mkdir -p "$work"
F="$LOOM_ROOT/Tests/Fixtures"
MINILM="$LOOM_CACHE/models/all-MiniLM-L6-v2"
TINY="$F/tiny-llama/model.f32.gguf"
fail() { echo "FAIL: $*"; exit 1; }
checks=0

# A command that must be refused: exit status 64 (ValidationError) and an "Error:" line containing $1.
refuses() {
    local want="$1" status=0
    shift
    "$loom" "$@" > "$work/out.txt" 2> "$work/err.txt" < /dev/null || status=$?
    [ "$status" = 64 ] || fail "loom $* exited with status $status, want 64: $(cat "$work/err.txt")"
    grep -qF -- "$want" <(grep "^Error: " "$work/err.txt") || fail "loom $*: '$(grep "^Error: " "$work/err.txt")' does not mention '$want'"
    checks=$((checks + 1))
}

# Runs python on stdin with the arguments; it prints what it measured and exits non-zero on a failure.
check() { "$PYTHON" - "$@"; checks=$((checks + 1)); }

# ------------------------------------------------------------------ classify / reward
"$PYTHON" -c 'import json, sys; print("\n".join(c["text"] for c in json.load(open(sys.argv[1]))["cases"]))' \
    "$F/tiny-llama-reward/refs.json" > "$work/texts.txt"
"$loom" reward -m "$F/tiny-llama-reward" -f "$work/texts.txt" -t 2 --json > "$work/reward.json"
check "$work/reward.json" "$F/tiny-llama-reward/refs.json" <<'EOF'
import json, sys
got, refs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["cases"]
assert got["kind"] == "reward" and got["labels"] == ["LABEL_0"], got
assert [r["text"] for r in got["results"]] == [c["text"] for c in refs]
diff = max(abs(r["score"] - c["score"]) for r, c in zip(got["results"], refs))
print(f"loom reward -f: {len(refs)} texts, max |score - transformers| = {diff:.3g}")
assert diff <= 1e-4
EOF

mapfile -t bert_texts < <("$PYTHON" -c 'import json, sys; print("\n".join(c["text"] for c in json.load(open(sys.argv[1]))["cases"]))' \
    "$F/tiny-bert-classifier/refs.json")
"$loom" classify -m "$F/tiny-bert-classifier" -t 2 --json "${bert_texts[@]}" > "$work/classify.json"
check "$work/classify.json" "$F/tiny-bert-classifier/refs.json" <<'EOF'
import json, math, sys
got, refs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["cases"]
assert got["kind"] == "softmax" and got["labels"] == ["LABEL_0", "LABEL_1"], got
diff = max(abs(a - b) for r, c in zip(got["results"], refs) for a, b in zip(r["logits"], c["logits"]))
for r in got["results"]:
    e = [math.exp(x - max(r["logits"])) for x in r["logits"]]
    assert all(abs(p - q / sum(e)) < 1e-6 for p, q in zip(r["probs"], e)), r
    assert r["label"] == got["labels"][r["probs"].index(max(r["probs"]))], r
print(f"loom classify --json: {len(refs)} texts, max |logit - transformers| = {diff:.3g}; probabilities = softmax")
assert len(got["results"]) == len(refs) and diff <= 1e-4
EOF

"$loom" classify -m "$F/tiny-bert-classifier" -t 2 "${bert_texts[@]:0:2}" > "$work/classify.txt"
[ "$(grep -c "^   LABEL_" "$work/classify.txt")" = 4 ] && [ "$(grep -c "<- predicted" "$work/classify.txt")" = 2 ] \
    || { cat "$work/classify.txt"; fail "classify: want 2 texts x 2 labels, one predicted each"; }
"$loom" reward -m "$F/tiny-llama-reward" -t 2 "${bert_texts[@]:0:3}" > "$work/reward.txt"
[ "$(wc -l < "$work/reward.txt")" = 3 ] || { cat "$work/reward.txt"; fail "reward: want one line per text"; }
# Standard input (-f -) and arguments give the same scores; arguments come first.
head -2 "$work/texts.txt" | "$loom" classify -m "$F/tiny-llama-reward" -t 2 --json -f - > "$work/stdin.json"
"$loom" classify -m "$F/tiny-llama-reward" -t 2 --json "$(head -1 "$work/texts.txt")" -f <(sed -n 2p "$work/texts.txt") > "$work/args.json"
cmp -s "$work/stdin.json" "$work/args.json" || fail "classify -f - and arguments differ"
checks=$((checks + 3))

"$loom" reward -m "$F/tiny-llama-reward" --json --pair "$(sed -n 2p "$work/texts.txt")" "$(sed -n 1p "$work/texts.txt")" > "$work/pair.json"
check "$work/pair.json" "$F/tiny-llama-reward/refs.json" <<'EOF'
import json, math, sys
got, refs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["cases"]
want = 1 / (1 + math.exp(-(refs[1]["score"] - refs[0]["score"])))
assert abs(got["a"]["score"] - refs[1]["score"]) <= 1e-4 and abs(got["b"]["score"] - refs[0]["score"]) <= 1e-4, got
assert abs(got["preference"] - 1 / (1 + math.exp(got["b"]["score"] - got["a"]["score"]))) < 1e-6, got  # scores printed as float32
print(f"loom reward --pair: P(A over B) = {got['preference']:.6f} (transformers' scores give {want:.6f})")
assert abs(got["preference"] - want) <= 1e-4
EOF

refuses "a reward model has one" reward -m "$F/tiny-bert-classifier" "a text"
refuses "no sequence-classification head" classify -m "$TINY" "a text"
refuses "give texts" classify -m "$F/tiny-llama-reward"
refuses "--pair takes two texts" reward -m "$F/tiny-llama-reward" --pair "only one"
refuses "a reward model has one" classify -m "$F/tiny-bert-classifier" --pair "a" "b"
refuses "cannot read" classify -m "$F/tiny-llama-reward" -f "$work/missing.txt"
refuses "cannot load model" classify -m "$work/missing-model" "a text"
refuses "text 2 gives no tokens" classify -m "$F/tiny-llama-reward" --no-special "a text" ""
refuses "-t must be" classify -m "$F/tiny-llama-reward" -t 0 "a text"

# ------------------------------------------------------------------ index build / search (tiny-bert encoder)
idx="$work/tiny.loomidx"
"$loom" index build -m "$F/tiny-bert" -o "$idx" --ext .txt --chunk-tokens 32 --chunk-overlap 8 -t 2 "$F/grounding" \
    2> /dev/null | tee "$work/build.txt"
grep -q "holds 6 documents" "$work/build.txt" || fail "index build: want 6 documents"
q="When did Mount Tarvel last erupt?"
"$loom" index search -m "$F/tiny-bert" -i "$idx" -k 3 -t 2 --json "$q" > "$work/search.json"
"$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["hits"][0]["text"])' "$work/search.json" > "$work/passage.txt"
"$loom" index search -m "$F/tiny-bert" -i "$idx" -k 1 -t 2 --json "$(cat "$work/passage.txt")" > "$work/self.json"
check "$work/search.json" "$work/self.json" <<'EOF'
import json, sys
hits, own = json.load(open(sys.argv[1]))["hits"], json.load(open(sys.argv[2]))["hits"]
assert [h["rank"] for h in hits] == [1, 2, 3], hits
assert all(a["score"] >= b["score"] for a, b in zip(hits, hits[1:])), hits
assert all(json.loads(h["metadata"])["path"].endswith("/" + h["id"]) for h in hits), hits
assert own[0]["passage"] == hits[0]["passage"] and own[0]["score"] > 0.9999, own
print(f"loom index search: {[(h['id'], round(h['score'], 4)) for h in hits]}; a passage finds itself ({own[0]['score']:.6f})")
EOF
"$loom" index search -m "$F/tiny-bert" -i "$idx" -k 3 -t 2 "$q" > "$work/search.txt"
[ "$(wc -l < "$work/search.txt")" = 4 ] && head -1 "$work/search.txt" | grep -q "^rank *score *document *passage" \
    || { cat "$work/search.txt"; fail "index search: want a header and 3 rows"; }
cp "$idx" "$work/appended.loomidx"
"$loom" index build -m "$F/tiny-bert" -o "$work/appended.loomidx" --append -t 2 "$F/grounding" 2> /dev/null > "$work/append.txt"
grep -q "indexed 1 document (6 skipped).*holds 7 documents" "$work/append.txt" || { cat "$work/append.txt"; fail "index build --append"; }
checks=$((checks + 3))

refuses "pass --chunk-tokens 126 or less" index build -m "$F/tiny-bert" -o "$work/x.loomidx" "$F/grounding"
refuses "neither a file nor a folder" index build -m "$F/tiny-bert" -o "$work/x.loomidx" "$work/missing"
refuses "no files to index" index build -m "$F/tiny-bert" -o "$work/x.loomidx" --ext .none "$F/grounding"
refuses "would both have the document id" index build -m "$F/tiny-bert" -o "$work/x.loomidx" --chunk-tokens 32 --chunk-overlap 8 \
    "$F/grounding/volcano.txt" "$F/grounding/volcano.txt"
refuses "chunk overlap" index build -m "$F/tiny-bert" -o "$work/x.loomidx" --chunk-tokens 32 --chunk-overlap 32 "$F/grounding"
printf ' \n\t\n' > "$work/blank.txt"
refuses "nothing to index" index build -m "$F/tiny-bert" -o "$work/x.loomidx" --chunk-tokens 32 --chunk-overlap 8 "$work/blank.txt"
refuses "not an encoder" index build -m "$TINY" -o "$work/x.loomidx" "$F/grounding"
refuses "cannot load index" index search -m "$F/tiny-bert" -i "$work/missing.loomidx" "$q"
head -c 100 "$idx" > "$work/truncated.loomidx"
refuses "cannot load index" index search -m "$F/tiny-bert" -i "$work/truncated.loomidx" "$q"
refuses "-k must be" index search -m "$F/tiny-bert" -i "$idx" -k 0 "$q"
[ ! -e "$work/x.loomidx" ] || fail "a refused build left $work/x.loomidx"

# ------------------------------------------------------------------ ask (tiny llama, tiny-bert index)
"$loom" ask -m "$TINY" -e "$F/tiny-bert" -i "$idx" -n 6 -c 1024 -t 2 --json --show-prompt "$q" > "$work/ask.json"
check "$work/ask.json" "$work/search.json" <<'EOF'
import json, sys
a, hits = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["hits"]
assert [s["number"] for s in a["sources"]] == [1, 2, 3], a
assert [(s["id"], s["passage"]) for s in a["sources"]] == [(h["id"], h["passage"]) for h in hits], (a["sources"], hits)
assert f"[1] ({hits[0]['id']}) " in a["prompt"] and a["question"] in a["prompt"]
assert a["finish_reason"] in ("length", "eog", "stop"), a
print(f"loom ask (tiny): sources {[s['id'] for s in a['sources']]} = the search's hits; finish {a['finish_reason']}")
EOF
"$loom" ask -m "$TINY" -e "$F/tiny-bert" --docs "$F/grounding" --chunk-tokens 32 --chunk-overlap 8 -n 4 -c 1024 -t 2 "$q" \
    > "$work/ask.txt" 2> /dev/null
grep -q "^sources (best match first):" "$work/ask.txt" && [ "$(grep -c "^  \[[123]\] " "$work/ask.txt")" = 3 ] \
    || { cat "$work/ask.txt"; fail "ask --docs: want 3 numbered sources"; }
checks=$((checks + 1))
refuses "-c sets the context size" ask -m "$TINY" -e "$F/tiny-bert" -i "$idx" -n 4 "$q"
refuses "either -i INDEX or --docs" ask -m "$TINY" -e "$F/tiny-bert" -i "$idx" --docs "$F/grounding" "$q"
refuses "either -i INDEX or --docs" ask -m "$TINY" -e "$F/tiny-bert" "$q"
refuses "--num-beams must be 1" ask -m "$TINY" -e "$F/tiny-bert" -i "$idx" --num-beams 2 "$q"
refuses "cannot load index" ask -m "$TINY" -e "$F/tiny-bert" -i "$work/missing.loomidx" "$q"

# ------------------------------------------------------------------ with all-MiniLM-L6-v2 (and SmolLM2)
if [ -d "$MINILM" ]; then
    "$loom" index build -m "$MINILM" -o "$work/minilm.loomidx" --ext .txt -t 2 "$F/grounding" 2> /dev/null
    "$PYTHON" -c 'import json, sys; [print(q["question"] + "\t" + q["document"]) for q in json.load(open(sys.argv[1]))["questions"]]' \
        "$F/grounding/questions.json" > "$work/questions.tsv"
    first=0
    while IFS=$'\t' read -r question document; do
        top="$("$loom" index search -m "$MINILM" -i "$work/minilm.loomidx" -k 1 -t 2 "$question" | sed -n 2p)"
        echo "  $question -> $top" | cut -c 1-110
        case "$top" in *" $document.txt "*) first=$((first + 1)) ;; esac
    done < "$work/questions.tsv"
    echo "loom index search (MiniLM): the answering document first for $first/6 questions"
    [ "$first" = 6 ] || fail "MiniLM retrieval"
    refuses "cannot load index" index search -m "$F/tiny-bert" -i "$work/minilm.loomidx" "$q"
    checks=$((checks + 1))
    if [ -f "$LOOM_DEFAULT_MODEL" ]; then
        "$loom" ask -e "$MINILM" -i "$work/minilm.loomidx" -n 40 -t 2 --json "$q" > "$work/ask-smollm2.json"
        check "$work/ask-smollm2.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))
print(f"loom ask (SmolLM2): {a['answer']!r}, sources {[(s['id'], round(s['score'], 3), s['cited']) for s in a['sources']]}")
assert a["sources"][0]["id"] == "volcano.txt" and len(a["sources"]) == 3 and a["answer"], a
EOF
    elif [ "${LOOM_REQUIRE_TEST_DATA:-0}" = 1 ]; then
        fail "$LOOM_DEFAULT_MODEL is missing (scripts/fetch-model.sh)"
    fi
elif [ "${LOOM_REQUIRE_TEST_DATA:-0}" = 1 ]; then
    fail "$MINILM is missing (scripts/fetch-model.sh)"
else
    echo "skipped: the MiniLM and SmolLM2 checks ($MINILM is missing)"
fi
echo "loom ranking commands: $checks checks passed"
