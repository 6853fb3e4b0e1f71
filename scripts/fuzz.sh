#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-16, ASan+UBSan) in build-fuzz/ and runs each
# for SECONDS (default 60). Non-zero when any target finds a crash, a sanitizer report, a
# leak, a timeout or an allocation over the limits; the input that did it is kept under
# build-fuzz/findings/<target>/ and the run's log under build-fuzz/logs/<target>.log.
# Replay one finding:  build-fuzz/fuzz/fuzz_<target> <file>
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors checkpoint run_info text_data csv_series graph_ops)

scripts/setup.sh
# As scripts/test.sh --sanitize: the same flags and ccache settings, so the libraries that
# build-asan compiled come from the cache.
export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=1
JOBS=${JOBS:-$(nproc)}
BUILD_DIR=build-fuzz
CC=clang-16 CXX=clang++-16 cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DTG_FUZZ=ON -DTG_SANITIZE=fuzzer-no-link,address,undefined \
  -DTG_BUILD_TESTS=OFF -DTG_BUILD_EXAMPLES=OFF -DTG_BUILD_BENCH=OFF
cmake --build "$BUILD_DIR" -j "$JOBS" --target $(printf 'fuzz_%s ' "${targets[@]}")

export OMP_NUM_THREADS=1
# Reports name functions and lines only with a symbolizer, which the runtime does not find
# by itself here.
symbolizer=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
sym=${symbolizer:+:external_symbolizer_path=$symbolizer}
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1$sym
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1$sym
export LSAN_OPTIONS=suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0
# The targets' scratch files (fuzz/scratch_file.h) go to a directory of this run, on tmpfs
# when there is one.
scratch_root=/tmp
[ -w /dev/shm ] && scratch_root=/dev/shm
scratch=$(mktemp -d "$scratch_root/tg_fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch

mkdir -p "$BUILD_DIR/logs"
passed=0
failed=()
for t in "${targets[@]}"; do
  # New inputs go to the first directory (kept between runs); the committed seeds stay as
  # they are.
  corpus=$BUILD_DIR/corpus/$t findings=$BUILD_DIR/findings/$t
  mkdir -p "$corpus" "$findings"
  log=$BUILD_DIR/logs/$t.log
  if "$BUILD_DIR/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
       -malloc_limit_mb=1024 -timeout=30 -print_final_stats=1 \
       -artifact_prefix="$findings/" "$corpus" "fuzz/corpus/$t" > "$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz_$t: ${runs:-?} inputs in ${seconds}s, no finding"
    passed=$((passed + 1))
  else
    echo "fuzz_$t: FINDING (log: $log)"
    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*fuzz: )|Test unit written to" "$log" | head -20 || true
    failed+=("$t")
  fi
done
echo "fuzz: ${passed} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
