#!/usr/bin/python3
"""The PyTorch side of compare_pytorch.py: times one variant of one cell in this process.

  torch_rnn.py --config M --cell lstm --threads 1 --variant module [--budget-s 1]
  torch_rnn.py --check        # {"openblas": <path or null>, "torch": <version>}

Prints one JSON object: median ms, min ms, runs, peak RSS of training (MB), the OpenBLAS
library torch has mapped. compare_pytorch.py runs it in a fresh process per variant with the
thread environment set. Variants: "module" (nn.RNN / nn.LSTM / nn.GRU), the cell from
primitive ops in eager mode ("ops_eager"), with the cell function under torch.jit.script
("ops_jit"), and with the time loop scripted as well ("ops_jit_loop"); per-step inputs come
from x.unbind(0) (x[t] is 3-5x slower in PyTorch's backward).
"""
import argparse
import gc
import json
import re
import statistics
import time

CONFIGS = {"S": (100, 1, 16, 32), "M": (50, 32, 64, 256), "L": (100, 64, 512, 512)}
CELLS = ("rnn", "lstm", "gru", "lnlstm")
GATES = {"rnn": 1, "gru": 3, "lstm": 4, "lnlstm": 4}
MODULE_CELLS = ("rnn", "lstm", "gru")
OPS_VARIANTS = ("ops_eager", "ops_jit", "ops_jit_loop")
SEED = 20240501


def proc_status_kb(field):
    with open("/proc/self/status") as f:
        m = re.search(r"^%s:\s+(\d+) kB" % field, f.read(), re.M)
    return float(m.group(1)) if m else -1.0


def openblas_in_maps():
    with open("/proc/self/maps") as f:
        for line in f:
            if "libopenblas" in line:
                return line.split()[-1]
    return None


def define_cells(torch):
    """The four cells from primitive ops, PyTorch's gate orders; ps = parameter list."""
    from typing import List, Tuple
    Tensor = torch.Tensor
    F = torch.nn.functional

    def rnn(x: Tensor, h: Tensor, c: Tensor, ps: List[Tensor]) -> Tuple[Tensor, Tensor]:
        h = torch.tanh(torch.mm(x, ps[0].t()) + ps[2] + torch.mm(h, ps[1].t()) + ps[3])
        return h, c

    def lstm(x: Tensor, h: Tensor, c: Tensor, ps: List[Tensor]) -> Tuple[Tensor, Tensor]:
        z = torch.mm(x, ps[0].t()) + ps[2] + torch.mm(h, ps[1].t()) + ps[3]
        i, f, g, o = z.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def gru(x: Tensor, h: Tensor, c: Tensor, ps: List[Tensor]) -> Tuple[Tensor, Tensor]:
        xr, xz, xn = (torch.mm(x, ps[0].t()) + ps[2]).chunk(3, 1)
        hr, hz, hn = (torch.mm(h, ps[1].t()) + ps[3]).chunk(3, 1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * h, c

    def lnlstm(x: Tensor, h: Tensor, c: Tensor, ps: List[Tensor]) -> Tuple[Tensor, Tensor]:
        z = torch.mm(x, ps[0].t()) + torch.mm(h, ps[1].t())
        z = F.layer_norm(z, [z.size(1)], ps[2], ps[3], 1e-5)
        i, f, g, o = z.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        cn = F.layer_norm(c, [c.size(1)], ps[4], ps[5], 1e-5)
        return torch.sigmoid(o) * torch.tanh(cn), c

    return {"rnn": rnn, "lstm": lstm, "gru": gru, "lnlstm": lnlstm}


def make_sequence_fn(torch, cell_fn):
    """The time loop over x.unbind(0), scripted together with the (already scripted) cell."""
    from typing import List
    Tensor = torch.Tensor

    def sequence(x: Tensor, h: Tensor, c: Tensor, ps: List[Tensor]) -> Tensor:
        outs: List[Tensor] = []
        for xt in x.unbind(0):
            h, c = cell_fn(xt, h, c, ps)
            outs.append(h)
        return torch.stack(outs)

    return torch.jit.script(sequence)


def time_runs(run, budget_s, min_warmup):
    """Mirror of bench/harness.h TimeRuns; returns (median_ms, min_ms, runs, peak_rss_mb)."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        exact = True
    except OSError:
        exact = False
    base = proc_status_kb("VmRSS")
    sampled = base
    warm, i = 0.0, 0
    while True:
        t0 = time.perf_counter()
        run()
        ms = (time.perf_counter() - t0) * 1e3
        sampled = max(sampled, proc_status_kb("VmRSS"))
        warm, i = warm + ms, i + 1
        if i >= min_warmup and (ms > 250 * budget_s or (i >= 2 and warm >= 100)):
            break
    times = []
    while len(times) < 3 or (sum(times) < budget_s * 1e3 and len(times) < 200):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
        sampled = max(sampled, proc_status_kb("VmRSS"))
    runs = len(times)
    top = proc_status_kb("VmHWM") if exact else sampled
    return statistics.median(times), min(times), runs, (top - base) / 1024.0


def run_variant(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    t, b, i, h = CONFIGS[args.config]
    x = torch.sin(0.37 * torch.arange(t * b * i, dtype=torch.float64) + 0.1).float()
    x = x.reshape(t, b, i)
    if args.variant == "module":
        module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[args.cell](i, h)
        params = list(module.parameters())

        def forward():
            return module(x)[0]
    else:
        k = 1.0 / h ** 0.5
        g = GATES[args.cell]
        shapes = [(g * h, i), (g * h, h)]
        shapes += [(4 * h,), (4 * h,), (h,), (h,)] if args.cell == "lnlstm" else [(g * h,)] * 2
        params = [torch.empty(s).uniform_(-k, k).requires_grad_() for s in shapes]
        if args.cell == "lnlstm":  # LayerNorm gains 1, biases 0, as tapegrad's cell
            with torch.no_grad():
                for p, v in zip(params[2:], (1.0, 0.0, 1.0, 0.0)):
                    p.fill_(v)
        cell_fn = define_cells(torch)[args.cell]
        if args.variant != "ops_eager":
            cell_fn = torch.jit.script(cell_fn)
        sequence = make_sequence_fn(torch, cell_fn) if args.variant == "ops_jit_loop" else None

        def forward():
            h0, c0 = torch.zeros(b, h), torch.zeros(b, h)
            if sequence is not None:
                return sequence(x, h0, c0, params)
            hs, cs, outs = h0, c0, []
            for xt in x.unbind(0):
                hs, cs = cell_fn(xt, hs, cs, params)
                outs.append(hs)
            return torch.stack(outs)

    def run():
        forward().sum().backward()
        for p in params:
            p.grad = None

    # TorchScript's profiling executor compiles its optimised graph during the first runs.
    warmup = 4 if args.variant.startswith("ops_jit") else 1
    median, fastest, runs, rss = time_runs(run, args.budget_s, warmup)
    print(json.dumps({"variant": args.variant, "ms": median, "min_ms": fastest, "runs": runs,
                      "peak_rss_mb": rss, "openblas": openblas_in_maps(),
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


def check():
    import torch
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # make sure the BLAS is mapped
    print(json.dumps({"openblas": openblas_in_maps(), "torch": torch.__version__}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="report torch's BLAS and version")
    ap.add_argument("--config", choices=list(CONFIGS))
    ap.add_argument("--cell", choices=CELLS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variant", choices=("module",) + OPS_VARIANTS)
    ap.add_argument("--budget-s", type=float, default=1.0, help="seconds of timed runs")
    args = ap.parse_args()
    if args.check:
        return check()
    if not args.config or not args.cell or not args.variant:
        ap.error("--config, --cell and --variant are required")
    if args.variant == "module" and args.cell not in MODULE_CELLS:
        ap.error("PyTorch has no module for %s" % args.cell)
    return run_variant(args)


if __name__ == "__main__":
    main()
