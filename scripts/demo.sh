#!/usr/bin/env bash
# The first thing to run: installs what is missing, builds, fetches Moby-Dick, trains the
# character language model for about 3 minutes (progress bar on a terminal), prints a
# 300-character sample and, as its last line, "validation: X.XXX bits/char".
#   scripts/demo.sh                 # MINUTES=10 THREADS=2 scripts/demo.sh for a longer run
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target char_lm
scripts/fetch_data.sh
exec "$BUILD_DIR"/examples/char_lm --data=data/moby_dick.txt --minutes="${MINUTES:-3}" \
  --threads="${THREADS:-2}" --eval_every=1000 --sample=300 --prime="Call me" --plot
