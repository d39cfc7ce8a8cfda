#!/usr/bin/env bash
# Tokenizer speed and `tlm prepare` on ~100 MB (bench/RESULTS.md, "Data at scale").
#   bash bench/tokenizer_speed.sh [build]      (about 3 minutes of CPU on 2 cores)
# Corpora (written to $TMPDIR, removed at the end):
#   shakes100: data/tinyshakespeare.txt repeated 90 times (100.4 MB; the pre-token cache hits)
#   fortunes:  the built-in corpus's sources concatenated once, without repetition: every file of
#              /usr/share/games/fortunes that has a .dat index, then /usr/share/common-licenses/*
# For each: tlm's BPE (bpe_vocab_size 4352 = 4096 merges) trained, then encoded on 1 and on 2
# threads (encode MB/s from prepare's own timer; both runs give identical files, checked), and
# the char tokenizer on 2 threads. Then the BPE training time for 1024..8192 merges (shakes100).
# Wall-clock figures depend on the machine's load (printed before and after); the CPU-time
# figures (all threads) do much less.
set -euo pipefail
BUILD=${1:-build}
TLM=$BUILD/tlm
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for i in $(seq 90); do cat data/tinyshakespeare.txt; done > "$W/shakes100.txt"
: > "$W/fortunes.txt"
for dat in /usr/share/games/fortunes/*.dat; do cat "${dat%.dat}" >> "$W/fortunes.txt"; done
cat /usr/share/common-licenses/* >> "$W/fortunes.txt" 2>/dev/null || true
cat > "$W/row.py" <<'PY'
import json, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
mib = lambda b: b / 2**20
if sys.argv[1] == "merges":
    print(f"| {sys.argv[2]} | {r['tokenizer_seconds']:.2f} s | {r['tokenizer_cpu_seconds']:.2f} s | "
          f"{mib(r['peak_rss_tokenizer_bytes']):.0f} MiB |")
else:
    corpus, tok, threads = sys.argv[1:4]
    mb = r['bytes'] / 1e6
    print(f"| {corpus} | {mb:.1f} MB | {tok} | {r['vocab_size']} | {threads} | {r['tokens']:,} | "
          f"{r['tokenizer_seconds']:.2f} s ({r['tokenizer_cpu_seconds']:.2f} s CPU) | "
          f"{mib(r['peak_rss_tokenizer_bytes']):.0f} MiB | {r['encode_mb_per_s']:.1f} MB/s | "
          f"{mb / max(r['encode_cpu_seconds'], 1e-9):.1f} MB/s | {mib(r['peak_rss_bytes']):.0f} MiB |")
PY
row() {  # corpus tokenizer vocab threads
  local out="$W/out_$1_$2_$3_$4"
  "$TLM" prepare --data "$W/$1.txt" --tokenizer "$2" --bpe_vocab_size "$3" --threads "$4" \
         --out "$out" 2>/dev/null | python3 "$W/row.py" "$1" "$2" "$4"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| corpus | size | tokenizer | vocab | threads | tokens | tokenizer training | peak RSS after training | encode (wall) | encode per CPU-second | peak RSS (prepare) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for corpus in shakes100 fortunes; do
  row $corpus bpe 4352 1
  row $corpus bpe 4352 2
  cmp "$W/out_${corpus}_bpe_4352_1/train.bin" "$W/out_${corpus}_bpe_4352_2/train.bin"
  cmp "$W/out_${corpus}_bpe_4352_1/val.bin" "$W/out_${corpus}_bpe_4352_2/val.bin"
  row $corpus char 0 2
  rm -rf "$W"/out_*
done
echo
echo "| merges | BPE training (shakes100, wall) | CPU | peak RSS after training |"
echo "|---|---|---|---|"
for merges in 1024 2048 4096 8192; do
  "$TLM" prepare --data "$W/shakes100.txt" --tokenizer bpe --bpe_vocab_size $((256 + merges)) \
         --threads 2 --out "$W/m$merges" 2>/dev/null | python3 "$W/row.py" merges $merges
  rm -rf "$W/m$merges"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
