#!/usr/bin/env bash
# The monthly sunspot numbers (1749-2013, 3177 months) from R's built-in `datasets` package,
# as a CSV for examples/time_series:
#   build/examples/time_series --csv=data/sunspots.csv --column=sunspots --window=60 --horizon=6
# Needs Rscript (Debian r-base-core, not installed by scripts/setup.sh: ~26 MB download).
# Usage: scripts/fetch_sunspots.sh [output directory, default data]. Idempotent; called by
# scripts/fetch_data.sh, also usable on its own. Exit status 1 when Rscript is missing.
set -euo pipefail

out_dir="${1:-data}"
out="$out_dir/sunspots.csv"
if [ -s "$out" ]; then
  echo "fetch_sunspots: $out already there"
  exit 0
fi
if ! command -v Rscript >/dev/null 2>&1; then
  echo "fetch_sunspots: Rscript not found; install it with: sudo apt-get install --no-install-recommends r-base-core" >&2
  exit 1
fi
mkdir -p "$out_dir"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Columns "time" (decimal year) and "sunspots" (monthly mean total sunspot number).
Rscript --vanilla -e '
  x <- datasets::sunspot.month
  write.csv(data.frame(time = as.numeric(time(x)), sunspots = as.numeric(x)),
            commandArgs(trailingOnly = TRUE)[1], row.names = FALSE)' "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "fetch_sunspots: wrote $out ($(($(wc -l < "$out") - 1)) months)"
