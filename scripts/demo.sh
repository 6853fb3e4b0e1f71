#!/usr/bin/env bash
# Builds tapegrad and runs the gradient-check report over every op.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)" --target grad_check
OMP_NUM_THREADS=1 "$BUILD_DIR"/examples/grad_check
