#!/usr/bin/env bash
# Installs what is missing, configures, builds, builds the API reference and runs every test.
# Non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$JOBS"
# The API reference; any Doxygen warning (an undocumented public declaration) fails it.
cmake --build "$BUILD_DIR" --target docs
# One GEMM thread (ExecOptions default); OpenMP must not grab every core of a shared machine.
export OMP_NUM_THREADS=1
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
