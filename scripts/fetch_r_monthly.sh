#!/usr/bin/env bash
# Six monthly series with trend or seasonality from R's built-in `datasets` package, each as
# <name>.csv with columns "time" (decimal year) and "value", for examples/time_series:
#   co2 (468 months), AirPassengers (144), nottem (240), UKDriverDeaths (192), ldeaths (72),
#   USAccDeaths (72).
#   build/examples/time_series --csv=data/co2.csv --column=value --window=24 --horizon=12 --period=12
# Needs Rscript (Debian r-base-core, as scripts/fetch_sunspots.sh).
# Usage: scripts/fetch_r_monthly.sh [output directory, default data]. Idempotent. Exit status
# 1 when Rscript is missing.
set -euo pipefail

out_dir="${1:-data}"
if ! command -v Rscript >/dev/null 2>&1; then
  echo "fetch_r_monthly: Rscript not found; install it with: sudo apt-get install --no-install-recommends r-base-core" >&2
  exit 1
fi
mkdir -p "$out_dir"
Rscript --vanilla -e '
  dir <- commandArgs(trailingOnly = TRUE)[1]
  for (name in c("co2", "AirPassengers", "nottem", "UKDriverDeaths", "ldeaths", "USAccDeaths")) {
    out <- file.path(dir, paste0(name, ".csv"))
    if (file.exists(out) && file.size(out) > 0) next
    x <- get(name, envir = asNamespace("datasets"))
    tmp <- paste0(out, ".tmp")
    write.csv(data.frame(time = as.numeric(time(x)), value = as.numeric(x)), tmp, row.names = FALSE)
    file.rename(tmp, out)
    cat("fetch_r_monthly: wrote", out, "(", length(x), "months )\n")
  }' "$out_dir"
