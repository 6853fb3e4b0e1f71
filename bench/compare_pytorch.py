#!/usr/bin/python3
"""tapegrad against PyTorch (and oneDNN's fused LSTM), interleaved in one run.

For each config x cell x threads: tapegrad's rnn_bench row, then PyTorch's variants
(bench/torch_rnn.py), each in a fresh /usr/bin/python3 process (so that peak RSS is per
variant and nothing warm carries over), then onednn_lstm on LSTM rows. Forward+backward of
loss = sum of all outputs h_t.

  bench/compare_pytorch.py [--configs S,M,L] [--cells rnn,lstm,gru,lnlstm] [--modes eager,compiled]
                           [--threads 1,2] [--json] [--build-dir build] [--budget-s 1]
                           [--rounds 1]

fraction_of_peak counts the GEMM FLOPs the loss needs, without an input gradient (tapegrad
and PyTorch prune it): forward 2*T*B*G*H*(I+H), backward 2*T*B*G*H*(I+2H) for the weight and
recurrent gradients (G = 1 RNN, 3 GRU, 4 LSTM), over the FP32 FMA peak `fma_peak --json`
measures for that thread count (the widest FMA the CPU has; TG_ISA=avx2 measures AVX2's).
oneDNN's LSTM primitive always computes d loss / d x as well (2*T*B*G*H*I more): for compiled
LSTM rows, rnn_bench --input_grad does that same work, and the equal-work columns put its time
beside oneDNN's.

PyTorch gets its best BLAS: the script refuses to run (exit 2) unless torch has loaded
OpenBLAS, and the torch processes run without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE and with
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set to the thread count (torch.set_num_threads does
not limit OpenBLAS). torch_ops_ms is the fastest of the from-ops variants, torch_ms the
fastest of all, and torch_peak_rss_mb belongs to that fastest variant.

TG_ISA=avx2 in the environment runs tapegrad's AVX2 kernels on an AVX-512 machine
(docs/building.md, "CPU targets"); the script then also sets ONEDNN_MAX_CPU_ISA=AVX2 for
rnn_bench and onednn_lstm, so that tapegrad's oneDNN calls and the oneDNN reference run as on
an AVX2 machine too.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from torch_rnn import CELLS, CONFIGS, GATES, MODULE_CELLS, OPS_VARIANTS  # noqa: E402 (no torch)

TORCH_PYTHON = "/usr/bin/python3"  # Debian's torch imports only under this interpreter
TORCH_RNN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_rnn.py")


def torch_env(threads):
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # half speed otherwise (DESIGN 7)
        env.pop(var, None)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    return env


def tapegrad_env():
    """The environment of tapegrad's and oneDNN's processes: under TG_ISA=avx2 oneDNN is held
    to AVX2 as well (ONEDNN_MAX_CPU_ISA), so that everything runs as on an AVX2 machine."""
    env = dict(os.environ)
    if env.get("TG_ISA") == "avx2":
        env["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    return env


def run_json(cmd, env=None):
    """Runs cmd; returns the JSON objects it printed, or raises with its stderr."""
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                   p.stderr.strip()[-2000:]))
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def median_row(rows):
    """The row with the median "ms" (the lower middle one for an even count)."""
    return sorted(rows, key=lambda r: r["ms"])[(len(rows) - 1) // 2]


def torch_cmd(args):
    return [TORCH_PYTHON, TORCH_RNN] + list(args)


def pick_list(text, allowed, what):
    items = [s for s in text.split(",") if s]
    bad = [s for s in items if s not in allowed]
    if bad or not items:
        sys.exit("compare_pytorch.py: unknown or no %s: %s (known: %s)"
                 % (what, ",".join(bad), ",".join(allowed)))
    return items


def find_binary(build_dir, name):
    for path in (os.path.join(build_dir, "bench", name), os.path.join(build_dir, name)):
        if os.access(path, os.X_OK):
            return path
    sys.exit("compare_pytorch.py: %s not found under %s/bench; build it first (cmake --build "
             "%s --target fma_peak rnn_bench onednn_lstm)" % (name, build_dir, build_dir))


def gemm_flops(config, cell, input_grad):
    """GEMM FLOPs of one forward+backward: forward 2TBGH(I+H), backward 2TBGH(I+2H), and
    2TBGH*I more for d loss / d x (bench/harness.h GemmFlops)."""
    t, b, i, h = CONFIGS[config]
    per_k = 2.0 * t * b * GATES[cell] * h
    return per_k * ((i + h) + (i + 2 * h) + (i if input_grad else 0))


def fraction_of_peak(config, cell, input_grad, ms, peak_gflops):
    return gemm_flops(config, cell, input_grad) / (ms * 1e-3) * 1e-9 / peak_gflops


def measure_peaks(fma_peak, threads):
    """threads -> fma_peak's JSON row (gflops, lanes, isa) for each thread count."""
    out = run_json([fma_peak, "--threads=" + ",".join(str(t) for t in threads), "--json"],
                   tapegrad_env())
    return {r["threads"]: r for r in out}


def fmt_ms(v):
    return "-" if v is None else ("%.3f" % v if v < 10 else "%.1f" % v)


def print_table_header(meta):
    print("# tapegrad vs PyTorch %s (%s), forward+backward, %s (%s), %s" % (
        meta["torch"], meta["openblas"], meta["cpu"], meta["isa"], meta["date"]))
    print("# equal work (compiled LSTM): tg+dx = rnn_bench --input_grad, which computes "
          "d loss / d x as oneDNN does; onednn/tg+dx > 1: tapegrad faster")
    print("%-3s %-7s %-8s %3s %10s %10s %10s %10s %-13s %7s %6s %8s %8s | %10s %6s %10s %6s %10s"
          % ("cfg", "cell", "mode", "thr", "tapegrad", "nn.module", "torch ops", "torch best",
             "variant", "speedup", "peak%", "tg MB", "torch MB", "tg+dx", "peak%", "onednn",
             "peak%", "onednn/tg+dx"))


def fmt_pct(v):
    return "-" if v is None else "%5.1f%%" % (100 * v)


def fmt_ratio(v):
    return "-" if v is None else "%.2fx" % v


def print_table_row(r):
    print("%-3s %-7s %-8s %3d %10s %10s %10s %10s %-13s %6.2fx %6s %8.1f %8.1f | %10s %6s %10s "
          "%6s %10s" % (
              r["config"], r["cell"], r["mode"], r["threads"], fmt_ms(r["tapegrad_ms"]),
              fmt_ms(r["torch_module_ms"]), fmt_ms(r["torch_ops_ms"]), fmt_ms(r["torch_ms"]),
              r["torch_variant"], r["speedup"], fmt_pct(r["fraction_of_peak"]),
              r["tapegrad_peak_rss_mb"], r["torch_peak_rss_mb"],
              fmt_ms(r.get("tapegrad_input_grad_ms")),
              fmt_pct(r.get("input_grad_fraction_of_peak")), fmt_ms(r.get("onednn_ms")),
              fmt_pct(r.get("onednn_fraction_of_peak")), fmt_ratio(r.get("equal_work_ratio"))))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
        return "%s, %d cores" % (m.group(1).strip() if m else platform.machine(), os.cpu_count())
    except OSError:
        return platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default="S,M,L")
    ap.add_argument("--cells", default=",".join(CELLS))
    ap.add_argument("--modes", default="eager,compiled")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--build-dir", default=os.path.join(repo, "build"))
    ap.add_argument("--budget-s", type=float, default=1.0, help="timed seconds per row/variant")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat each row's tapegrad/torch/oneDNN runs, keep the medians")
    args = ap.parse_args()

    configs = pick_list(args.configs, list(CONFIGS), "config")
    cells = pick_list(args.cells, CELLS, "cell")
    modes = pick_list(args.modes, ("eager", "compiled"), "mode")
    threads = [int(t) for t in pick_list(args.threads, [str(n) for n in range(1, 257)], "threads")]
    rnn_bench = find_binary(args.build_dir, "rnn_bench")
    fma_peak = find_binary(args.build_dir, "fma_peak")
    onednn = find_binary(args.build_dir, "onednn_lstm") if "lstm" in cells else None

    check = run_json(torch_cmd(["--check"]), torch_env(1))[0]
    if not check["openblas"]:
        print("compare_pytorch.py: torch did not load OpenBLAS (reference BLAS would make every "
              "ratio flatter tapegrad). Install libopenblas0-pthread (scripts/setup.sh) so that "
              "libblas.so.3 points at OpenBLAS, then rerun.", file=sys.stderr)
        return 2
    meta = {"torch": check["torch"], "openblas": os.path.basename(check["openblas"]),
            "cpu": cpu_model(), "date": datetime.date.today().isoformat(),
            "isa": "TG_ISA=" + os.environ["TG_ISA"] if os.environ.get("TG_ISA") else "widest ISA"}
    try:
        # Before any benchmark, so that nothing else of this script competes for the cores.
        fma = measure_peaks(fma_peak, threads)
    except RuntimeError as e:
        print("compare_pytorch.py: %s" % e, file=sys.stderr)
        return 2 if "TG_ISA" in str(e) else 1
    if not args.json:
        print_table_header(meta)
    budget = ["--budget_s=%g" % args.budget_s]
    peaks = {}  # threads -> FMA peaks rnn_bench measured in-process
    try:
        run_rows(args, configs, cells, modes, threads, rnn_bench, onednn, budget, peaks, fma)
    except RuntimeError as e:
        print("compare_pytorch.py: %s" % e, file=sys.stderr)
        return 1
    note = "# peak%% divides by fma_peak --json (%s, %d lanes): " % (
        fma[threads[0]]["isa"], fma[threads[0]]["lanes"]) + ", ".join(
        "%d thr %.1f GFLOP/s" % (t, fma[t]["gflops"]) for t in threads)
    note += "; rnn_bench measured in-process: " + ", ".join(
        "%d thr %.0f-%.0f" % (t, min(p), max(p)) for t, p in sorted(peaks.items()))
    note += "; %s (%s); torch %s; %s; %s" % (meta["cpu"], meta["isa"], meta["torch"],
                                              meta["openblas"], meta["date"])
    print(note, file=sys.stderr if args.json else sys.stdout)
    return 0


def run_rows(args, configs, cells, modes, threads, rnn_bench, onednn, budget, peaks, fma):
    """For each config x cell x threads: tapegrad, the torch variants, oneDNN; prints rows.
    Compiled LSTM rows also run rnn_bench --input_grad: oneDNN's work, for the equal-work
    columns."""
    for config in configs:
        for cell in cells:
            for t in threads:
                # Rounds alternate tapegrad and torch so that a slow spell on the shared
                # machine hits both; each side keeps its median row over the rounds.
                tg_runs, torch_runs, onednn_runs, dx_runs = {}, {}, [], []
                variants = (("module",) if cell in MODULE_CELLS else ()) + OPS_VARIANTS
                equal_work = cell == "lstm" and "compiled" in modes
                for _ in range(args.rounds):
                    for mode in modes:
                        out = run_json([rnn_bench, "--configs=" + config, "--cells=" + cell,
                                        "--modes=" + mode, "--threads=%d" % t, "--json"] + budget,
                                       tapegrad_env())
                        tg_runs.setdefault(mode, []).append(out[0])
                        peaks.setdefault(t, []).append(out[0]["peak_gflops"])
                    if equal_work:
                        dx_runs.append(run_json([rnn_bench, "--configs=" + config, "--cells=lstm",
                                                 "--modes=compiled", "--input_grad",
                                                 "--threads=%d" % t, "--json"] + budget,
                                                tapegrad_env())[0])
                    for v in variants:
                        out = run_json(torch_cmd([
                            "--config", config, "--cell", cell, "--threads", str(t),
                            "--variant", v, "--budget-s", str(args.budget_s)]), torch_env(t))[0]
                        if not out["openblas"]:
                            raise RuntimeError("a torch worker ran without OpenBLAS")
                        torch_runs.setdefault(v, []).append(out)
                    if cell == "lstm":
                        onednn_runs.append(run_json([onednn, "--configs=" + config,
                                                     "--threads=%d" % t, "--json"] + budget,
                                                    tapegrad_env())[0])
                tg_rows = {m: median_row(rows) for m, rows in tg_runs.items()}
                torch_res = {v: median_row(rows) for v, rows in torch_runs.items()}
                onednn_ms = median_row(onednn_runs)["ms"] if onednn_runs else None
                dx_ms = median_row(dx_runs)["ms"] if dx_runs else None
                peak = fma[t]["gflops"]
                best = min(torch_res, key=lambda v: torch_res[v]["ms"])
                ops_ms = min(torch_res[v]["ms"] for v in OPS_VARIANTS)
                for mode in modes:
                    tg = tg_rows[mode]
                    row = {
                        "config": config, "cell": cell, "mode": mode, "threads": t,
                        "tapegrad_ms": round(tg["ms"], 4),
                        "torch_module_ms": round(torch_res["module"]["ms"], 4)
                        if "module" in torch_res else None,
                        "torch_ops_ms": round(ops_ms, 4),
                        "torch_ms": round(torch_res[best]["ms"], 4),
                        "torch_variant": best,
                        "speedup": round(torch_res[best]["ms"] / tg["ms"], 3),
                        "fraction_of_peak": round(
                            fraction_of_peak(config, cell, False, tg["ms"], peak), 4),
                        "tapegrad_peak_rss_mb": round(tg["tapegrad_peak_rss_mb"], 1),
                        "torch_peak_rss_mb": round(torch_res[best]["peak_rss_mb"], 1),
                    }
                    if cell == "lstm":
                        row["onednn_ms"] = round(onednn_ms, 4)
                        row["onednn_fraction_of_peak"] = round(
                            fraction_of_peak(config, cell, True, onednn_ms, peak), 4)
                    if cell == "lstm" and mode == "compiled":
                        # Equal work: both compute d loss / d x.
                        row["tapegrad_input_grad_ms"] = round(dx_ms, 4)
                        row["input_grad_fraction_of_peak"] = round(
                            fraction_of_peak(config, cell, True, dx_ms, peak), 4)
                        row["equal_work_ratio"] = round(onednn_ms / dx_ms, 3)
                    row["peak_gflops"] = peak
                    row["peak_isa"] = fma[t]["isa"]
                    if args.json:
                        print(json.dumps(row))
                    else:
                        print_table_row(row)
                    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
