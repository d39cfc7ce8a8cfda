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
