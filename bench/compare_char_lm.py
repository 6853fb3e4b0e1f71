#!/usr/bin/python3
"""examples/char_lm against the same model in PyTorch (bench/torch_char_lm.py), in one run.

  bench/compare_char_lm.py [--updates 300] [--threads 2] [--rounds 2] [--json]
                           [--build-dir build] [--data data/moby_dick.txt]

Each round runs tapegrad's char_lm, then PyTorch's, for the same number of updates with the
same settings (embedding 64, LSTM 256, seq 100, batch 32, Adam 2e-3, clipping 5); training
time excludes validation. The best round of each counts. The torch process gets its best
BLAS (the script refuses to run unless torch has loaded OpenBLAS) and its best thread
setting: the first round tries OpenMP x OpenBLAS threads of (N, N), (N, 1) and (1, 1) —
on this 2-core machine OpenBLAS's own spinning threads next to OpenMP's make (2, 2) about
3x slower than (1, 1) — and later rounds use the fastest. Under TG_ISA=avx2 char_lm runs
with ONEDNN_MAX_CPU_ISA=AVX2 as well (compare_pytorch.tapegrad_env), as on an AVX2 machine.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from compare_pytorch import (TORCH_PYTHON, run_json, tapegrad_env, torch_cmd,  # noqa: E402
                             torch_env)

HERE = os.path.dirname(os.path.abspath(__file__))


def tapegrad_chars_per_s(args, out_dir):
    binary = os.path.join(args.build_dir, "examples", "char_lm")
    if not os.access(binary, os.X_OK):
        sys.exit("compare_char_lm.py: %s not found; build it first (cmake --build %s --target "
                 "char_lm)" % (binary, args.build_dir))
    cmd = [binary, "--data", args.data, "--max_updates", str(args.updates), "--minutes", "1000",
           "--eval_every", "0", "--sample", "0", "--valid_streams", "32",
           # torch_char_lm.py's model and rate: the defaults are larger, add dropout and
           # averaging, and train at a higher rate
           "--cell", "lstm", "--hidden", "256", "--seq", "100", "--dropout", "0", "--average", "0",
           "--lr", "2e-3",
           "--threads", str(args.threads), "--out_dir", out_dir]
    env = dict(tapegrad_env(), OMP_NUM_THREADS=str(args.threads))
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("char_lm failed: %s" % p.stderr.strip()[-2000:])
    m = re.search(r"trained (\d+) updates in ([\d.]+) s: (\d+) chars/s", p.stdout)
    return float(m.group(3))


def torch_chars_per_s(args, omp_threads, blas_threads):
    cmd = [TORCH_PYTHON, os.path.join(HERE, "torch_char_lm.py"), "--data", args.data,
           "--updates", str(args.updates), "--threads", str(omp_threads)]
    env = torch_env(omp_threads)
    env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    return run_json(cmd, env)[-1]["chars_per_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--updates", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--data", default="data/moby_dick.txt")
    args = ap.parse_args()
    if not os.path.exists(args.data):
        sys.exit("compare_char_lm.py: %s is missing (scripts/fetch_data.sh fetches it)" % args.data)
    check = run_json(torch_cmd(["--check"]), torch_env(1))[0]
    if not check.get("openblas"):
        print("compare_char_lm.py: torch has not loaded OpenBLAS; install libopenblas0-pthread "
              "(scripts/setup.sh) or every ratio would flatter tapegrad", file=sys.stderr)
        return 2
    n = args.threads
    settings = list(dict.fromkeys([(n, n), (n, 1), (1, 1)]))  # (OpenMP, OpenBLAS) threads
    ours, theirs = [], {}
    with tempfile.TemporaryDirectory() as out_dir:
        for r in range(args.rounds):
            ours.append(tapegrad_chars_per_s(args, out_dir))
            tried = settings if r == 0 else [max(theirs, key=theirs.get)]
            for setting in tried:
                cps = torch_chars_per_s(args, *setting)
                theirs[setting] = max(theirs.get(setting, 0), cps)
                if not args.json:
                    print("round %d: tapegrad %.0f chars/s; torch (OpenMP %d, OpenBLAS %d threads) "
                          "%.0f chars/s" % (r + 1, ours[-1], setting[0], setting[1], cps), flush=True)
    best = max(theirs, key=theirs.get)
    row = {"updates": args.updates, "threads": args.threads, "rounds": args.rounds,
           "tapegrad_chars_per_s": max(ours), "torch_chars_per_s": theirs[best],
           "torch_omp_threads": best[0], "torch_openblas_threads": best[1],
           "speedup": max(ours) / theirs[best], "torch": check.get("torch")}
    if args.json:
        print(json.dumps(row))
    else:
        print("char_lm, %d updates, %d threads: tapegrad %.0f chars/s, PyTorch %s %.0f chars/s "
              "(its best: OpenMP %d, OpenBLAS %d threads): %.2fx"
              % (args.updates, args.threads, row["tapegrad_chars_per_s"], row["torch"],
                 row["torch_chars_per_s"], best[0], best[1], row["speedup"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
