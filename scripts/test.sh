#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs every test. Non-zero on any failure.
#   scripts/test.sh              Release build in build/ (g++), the API reference (Doxygen),
#                                the whole ctest suite; the kernel and op tests (ops_test) run
#                                on every ISA path the CPU supports: the widest, and again
#                                with TG_ISA=avx2 (tests named *.avx2; docs/building.md)
#   scripts/test.sh --sanitize   ASan+UBSan build in build-asan/ (clang-16), the whole suite
#                                but the exclusions listed below
#   scripts/test.sh --tsan       ThreadSanitizer build in build-tsan/ (clang-16): the thread
#                                pool, the threaded kernels, RunReplicas, two run
#                                contexts of one compiled program at once and parallel replay
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

mode=${1:-}
case "$mode" in
  ""|--sanitize|--tsan) ;;
  *) echo "usage: $0 [--sanitize|--tsan]" >&2; exit 2 ;;
esac

scripts/setup.sh
# ccache keys on paths relative to the repository, so a clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR=$ROOT
JOBS=${JOBS:-$(nproc)}
# One GEMM thread (ExecOptions default); OpenMP must not grab every core of a shared machine.
export OMP_NUM_THREADS=1

if [ -z "$mode" ]; then
  BUILD_DIR=${BUILD_DIR:-build}
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j "$JOBS"
  # The API reference; any Doxygen warning (an undocumented public declaration) fails it.
  cmake --build "$BUILD_DIR" --target docs
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
  exit 0
fi

# The sanitizer builds: clang-16 at -O1 with line tables (readable reports, quick builds).
# The build directory is not part of ccache's key (-g would otherwise add it), so build-asan
# and scripts/fuzz.sh's build-fuzz, which use the same flags, compile each library once.
export CCACHE_NOHASHDIR=1
# Reports name functions and lines only with a symbolizer, which the runtime does not find
# by itself here.
symbolizer=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
sym=${symbolizer:+:external_symbolizer_path=$symbolizer}
sanitizer_build() {  # sanitizer_build DIR SANITIZERS [TARGET...]
  local dir=$1 sanitizers=$2
  shift 2
  CC=clang-16 CXX=clang++-16 cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DTG_SANITIZE="$sanitizers" -DTG_BUILD_BENCH=OFF
  if [ $# -gt 0 ]; then
    cmake --build "$dir" -j "$JOBS" --target "$@"
  else
    cmake --build "$dir" -j "$JOBS"
  fi
}

if [ "$mode" = --sanitize ]; then
  # fuzzer-no-link only adds coverage counters; it keeps the flags equal to the fuzz build's.
  sanitizer_build build-asan fuzzer-no-link,address,undefined
  # Leaks inside oneDNN, OpenMP and Open MPI are theirs (scripts/lsan.supp); any other leak,
  # and every ASan or UBSan report, fails the test. The MPI tests (label mpi, run by mpirun)
  # unwind whole stacks for LeakSanitizer (tests/dist/CMakeLists.txt).
  # allocator_may_return_null: an allocation the system cannot satisfy returns null, as outside
  # ASan, so the library's ResourceExhausted path is what is tested.
  export ASAN_OPTIONS=halt_on_error=1:allocator_may_return_null=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1$sym
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1$sym
  export LSAN_OPTIONS=suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0
  # Exclusions, each with its reason:
  #   install_and_use_downstream, install_and_use_downstream_dist: install this build and
  #     build a downstream project with the default flags, which cannot link against
  #     sanitized libraries; the normal suite runs them.
  exclude='^(install_and_use_downstream|install_and_use_downstream_dist)$'
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" -E "$exclude"
  exit 0
fi

# --tsan: only what runs threads. Debian's oneDNN and libgomp are not instrumented, so GEMMs
# that reach oneDNN stay on the calling thread here (OMP_NUM_THREADS=1).
sanitizer_build build-tsan thread graph_test ops_test compile_test
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1$sym
# The pool itself, every kernel test that runs threads (names with "Thread"), RunReplicas,
# two RunContexts of one compiled program running at once, and parallel replay (steps of one
# program at once, ParallelReplay itself).
filter='*Thread*:ReplicasTest.*:RunContextTest.TwoContexts*:ParallelReplayTest.*'
status=0
for t in graph ops compile; do
  "build-tsan/tests/${t}_test" --gtest_filter="$filter" || status=1
done
exit $status
