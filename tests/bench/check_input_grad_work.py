#!/usr/bin/python3
"""rnn_bench --input_grad must add exactly the input-gradient products, in both modes.

  check_input_grad_work.py --binary build/bench/rnn_bench

Runs every cell at configuration S, eager and compiled, without and with --input_grad, and
checks: the GEMM FLOPs a row counts are forward 2*T*B*G*H*(I+H) plus backward
2*T*B*G*H*(I+2H), plus 2*T*B*G*H*I with --input_grad; the compiled program's own matmul
FLOPs (counted from its steps) grow by exactly 2*T*B*G*H*I with --input_grad and otherwise lie
within one step's recurrent gradient of the formula; with --input_grad both modes leave a
non-zero d loss / d x, the same in both. Exit status 1 with one line per failure.
"""
import argparse
import json
import subprocess
import sys

GATES = {"rnn": 1, "lstm": 4, "gru": 3, "lnlstm": 4}


def rows(binary, input_grad):
    cmd = [binary, "--configs=S", "--cells=" + ",".join(GATES), "--modes=eager,compiled",
           "--threads=1", "--budget_s=0.01", "--json",
           "--input_grad" if input_grad else "--noinput_grad"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    out = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        out[(r["cell"], r["mode"])] = r
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    without, with_dx = rows(args.binary, False), rows(args.binary, True)
    failures = []
    for cell, g in GATES.items():
        r = without[(cell, "compiled")]
        t, b, i, h = r["seq"], r["batch"], r["input"], r["hidden"]
        per_k = 2 * t * b * g * h
        needed = per_k * ((i + h) + (i + 2 * h))
        dx = per_k * i
        for mode in ("eager", "compiled"):
            for table, extra, name in ((without, 0, "without"), (with_dx, dx, "with")):
                row = table[(cell, mode)]
                if row["gemm_flops"] != needed + extra:
                    failures.append("%s %s %s --input_grad: gemm_flops %d, formula %d"
                                    % (cell, mode, name, row["gemm_flops"], needed + extra))
            if with_dx[(cell, mode)].get("dx_abs_sum", 0) <= 0:
                failures.append("%s %s --input_grad: no d loss / d x (dx_abs_sum %s)"
                                % (cell, mode, with_dx[(cell, mode)].get("dx_abs_sum")))
            if "dx_abs_sum" in without[(cell, mode)]:
                failures.append("%s %s without --input_grad computed d loss / d x" % (cell, mode))
        counted = r["program_gemm_flops"]
        counted_dx = with_dx[(cell, "compiled")]["program_gemm_flops"]
        if counted_dx - counted != dx:
            failures.append("%s compiled: --input_grad adds %d matmul FLOPs to the program, "
                            "not 2*T*B*G*H*I = %d" % (cell, counted_dx - counted, dx))
        # h_0 needs no gradient: the program may skip one step's 2*B*G*H*H, nothing else.
        if not needed - 2 * b * g * h * h <= counted <= needed:
            failures.append("%s compiled: the program runs %d matmul FLOPs, formula %d"
                            % (cell, counted, needed))
        eager_dx = with_dx[(cell, "eager")]["dx_abs_sum"]
        compiled_dx = with_dx[(cell, "compiled")]["dx_abs_sum"]
        if abs(eager_dx - compiled_dx) > 1e-3 * abs(eager_dx):
            failures.append("%s: |d loss / d x| sums differ: eager %g, compiled %g"
                            % (cell, eager_dx, compiled_dx))
    for f in failures:
        print(f)
    print("input_grad work: %d cells, %d failures" % (len(GATES), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
