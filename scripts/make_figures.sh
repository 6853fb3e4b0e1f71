#!/usr/bin/env bash
# Regenerates the figures in docs/figures/ and measured outputs under docs/figures/ by running the
# examples with the settings the docs pages quote (after scripts/test.sh has built them).
#   scripts/make_figures.sh [dot] [custom_cell] [time_series] [time_series_sunspots]
#                           [gradient_flow] [adding_lstm] [adding_rnn] [char_lm]
#                           [char_lm_dropout] [char_lm_average] [char_lm_updates] [compile_time]
# (no argument: all of them, about 2 hours on 2 cores: char_lm trains for 10 minutes three times,
# char_lm_updates for 4,846 updates, and each adding-problem run may use its 10-minute budget).
# Each part writes <part>.txt (the program's output) and its PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUT=docs/figures
mkdir -p "$OUT"
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(dot custom_cell time_series time_series_sunspots gradient_flow adding_lstm adding_rnn char_lm char_lm_dropout char_lm_average char_lm_updates compile_time)
# The char_lm figures' model and rate: bench/torch_char_lm.py's plain LSTM of 256 at seq 100
# with Adam at 2e-3, not char_lm's defaults.
pytorch_model=(--cell=lstm --hidden=256 --seq=100 --lr=2e-3)

run() {  # run <name> <command...>: output shown and kept in $OUT/<name>.txt, with the time taken
  local name=$1; shift
  local start=$SECONDS
  "$@" 2>&1 | tee "$OUT/$name.txt"
  echo "(took $((SECONDS - start)) s)" | tee -a "$OUT/$name.txt"
}

for part in "${parts[@]}"; do
  case "$part" in
    dot)  # one LSTM step of the character model and its backward
      "$BUILD_DIR"/examples/char_lm --data=README.md --cell=lstm --hidden=16 --embedding=8 --seq=4 --batch=2 \
        --max_updates=1 --eval_every=0 --sample=0 --threads=1 --out_dir=/tmp/tg_figures_dot \
        --dot="$OUT/lstm_step.dot" > /dev/null
      dot -Tpng "$OUT/lstm_step.dot" -o "$OUT/lstm_step.png" ;;
    custom_cell)
      run custom_cell "$BUILD_DIR"/examples/custom_cell ;;
    time_series)
      run time_series "$BUILD_DIR"/examples/time_series --plot --out_dir=results/time_series
      cp results/time_series/curve.png "$OUT/time_series_curve.png"
      cp results/time_series/forecast.png "$OUT/time_series_forecast.png" ;;
    time_series_sunspots)  # needs Rscript (scripts/fetch_sunspots.sh)
      scripts/fetch_sunspots.sh data
      run time_series_sunspots "$BUILD_DIR"/examples/time_series --csv=data/sunspots.csv \
        --column=sunspots --window=60 --horizon=6 --plot --out_dir=results/time_series_sunspots
      cp results/time_series_sunspots/forecast.png "$OUT/time_series_sunspots_forecast.png" ;;
    gradient_flow)
      run gradient_flow "$BUILD_DIR"/examples/gradient_flow --plot --out_dir=results/gradient_flow
      cp results/gradient_flow/*.png "$OUT/" ;;
    adding_lstm|adding_rnn)  # one after the other: each uses both cores
      cell=${part#adding_}
      lengths=50,100,200
      [ "$cell" = rnn ] && lengths=10,50,100,200
      run "$part" "$BUILD_DIR"/examples/adding_problem --cells="$cell" --lengths="$lengths" \
        --threads=2 --plot --out_dir="results/$part"
      cp "results/$part/adding_problem.png" "$OUT/$part.png" ;;
    char_lm)  # bench/torch_char_lm.py's settings for 10 minutes: no dropout, raw weights
      scripts/fetch_data.sh
      run char_lm "$BUILD_DIR"/examples/char_lm --minutes=10 --threads=2 "${pytorch_model[@]}" \
        --dropout=0 --average=0 \
        --eval_every=0 --eval_at=638,1050,2623,4846 --eval_at_minutes=1,2,5 --plot \
        --out_dir=results/char_lm
      cp results/char_lm/curve.png "$OUT/char_lm_curve.png" ;;
    char_lm_dropout)  # the same 10 minutes with dropout, which the extra updates need (docs/examples/char_lm.md)
      scripts/fetch_data.sh
      run char_lm_dropout "$BUILD_DIR"/examples/char_lm --minutes=10 --threads=2 "${pytorch_model[@]}" --dropout=0.1 \
        --average=0 --eval_every=500 --eval_at=638,1050,2623,4846 --eval_at_minutes=1,2,5 --plot \
        --out_dir=results/char_lm_dropout
      cp results/char_lm_dropout/curve.png "$OUT/char_lm_dropout_curve.png" ;;
    char_lm_average)  # PyTorch's model size with dropout, scoring the weights' moving average (docs/examples/char_lm.md)
      scripts/fetch_data.sh
      run char_lm_average "$BUILD_DIR"/examples/char_lm --minutes=10 --threads=2 "${pytorch_model[@]}" --dropout=0.1 \
        --average=0.997 --eval_every=500 --eval_at=638,1050,2623,4846 --eval_at_minutes=1,2,5 \
        --plot --out_dir=results/char_lm_average
      cp results/char_lm_average/curve.png "$OUT/char_lm_average_curve.png" ;;
    char_lm_updates)  # the learning curve per update to 4,846 (the README's PyTorch table; deterministic)
      scripts/fetch_data.sh
      run char_lm_updates "$BUILD_DIR"/examples/char_lm --max_updates=4846 --minutes=1000 \
        --threads=2 "${pytorch_model[@]}" --dropout=0 --average=0 --eval_every=0 --eval_at=250,638,1050,1500,2000,2623,3000,3500,4000,4846 \
        --out_dir=results/char_lm_updates
      cp results/char_lm_updates/curve.csv "$OUT/char_lm_updates.csv" ;;
    compile_time)  # what compiling costs as T grows (docs/compiled_mode.md); one process per row
      scripts/fetch_data.sh
      {
        for seq in 100 1000 10000; do
          "$BUILD_DIR"/bench/compile_bench --cell=lstm --seq=$seq --batch=32 --input=64 --hidden=256
        done
        # The plan for T = 100,000 (50 GB) is more than the machine holds: compiled, not run.
        "$BUILD_DIR"/bench/compile_bench --cell=lstm --seq=100000 --batch=32 --input=64 \
          --hidden=256 --nocontext
        "$BUILD_DIR"/bench/compile_bench --cell=gru --layers=2 --seq=1000 --batch=32 --input=64 \
          --hidden=256
        for seq in 1000 10000; do
          "$BUILD_DIR"/examples/char_lm --cell=lstm --hidden=256 --seq=$seq --batch=8 --replicas=1 --threads=1 \
            --max_updates=1 --eval_every=0 --sample=0 --valid_fraction=0.01 \
            --out_dir=/tmp/tg_figures_compile_time | grep "compiled one update"
        done
      } 2>&1 | tee "$OUT/compile_time.txt" ;;
    *) echo "make_figures: unknown part '$part'" >&2; exit 2 ;;
  esac
done
