#!/usr/bin/env bash
# The measurements in docs/distributed.md, back to back: all-reduce latency and bandwidth
# (shared memory, then TCP over loopback), then char_lm's training speed on an LSTM of 256 (seq 100)
# on 1 process with 2 replicas, on 2 ranks x 1 thread and on 1 rank x 1 thread; then the
# compute time of one update at the per-rank batches the projection to 8 and 64 machines
# uses (char_lm's model, and an L-size LSTM: embedding 512, hidden 512, seq 100). Short runs
# (UPDATES updates each, 60 by default; char_lm's three in ROUNDS interleaved rounds, 5 by
# default, and their medians): about 15 minutes on 2 cores. Needs scripts/fetch_data.sh.
#   scripts/measure_distributed.sh [allreduce] [char_lm] [compute]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
UPDATES=${UPDATES:-60}
ROUNDS=${ROUNDS:-5}
DATA=${DATA:-data/moby_dick.txt}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(allreduce char_lm compute)

mpi_flags=(--oversubscribe --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
[ "$(id -u)" -eq 0 ] && mpi_flags+=(--allow-run-as-root)
over_tcp=(--mca pml ob1 --mca btl tcp,self)
export OMP_NUM_THREADS=1
echo "== $(getconf _NPROCESSORS_ONLN) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M') UTC"

for part in "${parts[@]}"; do
  case "$part" in
    allreduce)
      echo "== all-reduce, 2 ranks, shared memory"
      mpirun -np 2 "${mpi_flags[@]}" "$BUILD_DIR"/bench/allreduce_bench
      echo "== all-reduce, 2 ranks, TCP over loopback"
      mpirun -np 2 "${mpi_flags[@]}" "${over_tcp[@]}" "$BUILD_DIR"/bench/allreduce_bench ;;
    char_lm)  # ROUNDS rounds of the three, interleaved so that a change in the machine's load
      # reaches all three alike; then each one's median
      common=(--data="$DATA" --cell=lstm --hidden=256 --seq=100 --max_updates="$UPDATES" --minutes=60 --eval_every=0 --sample=0
              --out_dir=/tmp/tg_measure_distributed)
      speed() { grep -oE '[0-9]+ chars/s$' | cut -d' ' -f1; }
      share() { grep -oE '[0-9.]+% of training in collectives' | cut -d% -f1; }
      median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
      replicas=() ranks=() shares=() one=()
      for round in $(seq "$ROUNDS"); do
        out=$("$BUILD_DIR"/examples/char_lm "${common[@]}" --threads=2 --replicas=2)
        replicas+=("$(speed <<< "$out")")
        out=$(mpirun -np 2 "${mpi_flags[@]}" "$BUILD_DIR"/examples/char_lm "${common[@]}" --threads=1)
        ranks+=("$(speed <<< "$out")")
        shares+=("$(share <<< "$out")")
        out=$(mpirun -np 1 "${mpi_flags[@]}" "$BUILD_DIR"/examples/char_lm "${common[@]}" --threads=1)
        one+=("$(speed <<< "$out")")
        echo "round $round (load $(cut -d' ' -f1 /proc/loadavg)): 1 process x 2 replicas ${replicas[-1]}," \
             "2 ranks x 1 thread ${ranks[-1]} (${shares[-1]}% in collectives), 1 rank x 1 thread ${one[-1]} chars/s"
      done
      r=$(printf '%s\n' "${replicas[@]}" | median)
      n=$(printf '%s\n' "${ranks[@]}" | median)
      echo "== char_lm, medians of $ROUNDS rounds of $UPDATES updates"
      echo "1 process x 2 replicas (--threads=2 --replicas=2): $r chars/s"
      echo "2 ranks x 1 thread (mpirun -np 2 ... --threads=1): $n chars/s," \
           "$(printf '%s\n' "${shares[@]}" | median)% of training in collectives"
      echo "1 rank x 1 thread (mpirun -np 1 ... --threads=1): $(printf '%s\n' "${one[@]}" | median) chars/s"
      awk -v n="$n" -v r="$r" 'BEGIN { printf "2 ranks / 2 replicas: %.1f%%\n", 100 * n / r }' ;;
    compute)  # CPU ms per update on 1 thread: (CPU of 1 + K updates - CPU of 1 update) / K,
      # which leaves out loading and compiling (and a tiny validation), and is close to what a
      # core of its own would take
      for config in "256 64 64" "256 64 32" "256 64 4" "256 64 1" "512 512 64" "512 512 8" "512 512 1"; do
        read -r hidden embedding batch <<< "$config"
        k=$(( batch >= 32 ? 6 : batch >= 4 ? 16 : 64 ))
        cpu() {  # user + system seconds of a run of $1 updates
          /usr/bin/time -f "%U %S" -o /tmp/tg_measure_cpu "$BUILD_DIR"/examples/char_lm --data="$DATA" --cell=lstm \
            --hidden="$hidden" --embedding="$embedding" --batch="$batch" --seq=100 --threads=1 \
            --replicas=1 --max_updates="$1" --minutes=60 --eval_every=0 --sample=0 --valid_fraction=0.001 \
            --out_dir=/tmp/tg_measure_compute > /tmp/tg_measure_out
          awk '{ print $1 + $2 }' /tmp/tg_measure_cpu
        }
        one=$(cpu 1)
        more=$(cpu $(( 1 + k )))
        params=$(awk '/^training/ { print $3 }' /tmp/tg_measure_out)
        awk -v h="$hidden" -v e="$embedding" -v b="$batch" -v p="$params" -v a="$one" -v m="$more" -v k="$k" \
          'BEGIN { printf "hidden %d, embedding %d, batch %d: %s parameters, %.1f ms CPU per update\n", h, e, b, p, 1000 * (m - a) / k }'
      done ;;
    *) echo "measure_distributed: unknown part '$part' (allreduce, char_lm, compute)" >&2; exit 2 ;;
  esac
done
