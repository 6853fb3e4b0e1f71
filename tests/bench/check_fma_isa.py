#!/usr/bin/python3
"""fma_peak measures the widest FMA the CPU has, TG_ISA chooses one, and a bad TG_ISA is refused.

  check_fma_isa.py --fma_peak build/bench/fma_peak --refusing build/bench/rnn_bench ...

fma_peak --threads=1 --json prints one line {"gflops": G, "lanes": L, "threads": 1, ...} with
L = 16 where /proc/cpuinfo lists avx512f, else 8; TG_ISA=avx2 gives 8 lanes; TG_ISA=avx512 gives
16 lanes or, on a CPU without AVX-512, the refusal below. Every program given (and fma_peak)
refuses TG_ISA=avx3 before any work: exit status 2, nothing on stdout, one line on stderr
starting "<program>: TG_ISA=avx3: unknown instruction set; allowed values: avx2, avx512" (the
library's message, ops/kernels/isa.h, which goes on with what this CPU supports). Exit status 1
with one
line per failure.
"""
import argparse
import json
import os
import re
import subprocess
import sys


def cpu_has_avx512f():
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^flags\s*:(.*)$", f.read(), re.M)
    return m is not None and "avx512f" in m.group(1).split()


def run(binary, isa, args):
    env = dict(os.environ)
    env.pop("TG_ISA", None)
    if isa is not None:
        env["TG_ISA"] = isa
    return subprocess.run([binary] + args, env=env, capture_output=True, text=True, timeout=120)


def check_peak(binary, isa, lanes, failures):
    p = run(binary, isa, ["--threads=1", "--json", "--seconds=0.01"])
    lines = p.stdout.splitlines()
    shown = "TG_ISA=%s fma_peak" % isa if isa else "fma_peak"
    if p.returncode != 0 or len(lines) != 1:
        failures.append("%s: exit %d, %d lines: %s" % (shown, p.returncode, len(lines),
                                                       p.stderr.strip()))
        return
    r = json.loads(lines[0])
    if r.get("lanes") != lanes or r.get("threads") != 1 or not r.get("gflops", 0) > 0:
        failures.append("%s: %s, expected lanes %d, threads 1, gflops > 0" % (shown, lines[0],
                                                                               lanes))


def check_refusal(binary, isa, message, failures):
    name = os.path.basename(binary)
    p = run(binary, isa, ["--threads=1"])
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    expected = "%s: %s" % (name, message)
    if p.returncode != 2 or p.stdout.strip() or len(lines) != 1 or not lines[0].startswith(expected):
        failures.append("TG_ISA=%s %s: exit %d, stdout %r, stderr %r; expected exit 2 and %r"
                        % (isa, name, p.returncode, p.stdout[:200], p.stderr[:400], expected))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fma_peak", required=True)
    ap.add_argument("--refusing", nargs="*", default=[], help="other programs that read TG_ISA")
    args = ap.parse_args()
    failures = []
    wide = cpu_has_avx512f()
    check_peak(args.fma_peak, None, 16 if wide else 8, failures)
    check_peak(args.fma_peak, "avx2", 8, failures)
    if wide:
        check_peak(args.fma_peak, "avx512", 16, failures)
    else:
        check_refusal(args.fma_peak, "avx512", "TG_ISA=avx512: this CPU does not support avx512",
                      failures)
    for binary in [args.fma_peak] + args.refusing:
        check_refusal(binary, "avx3",
                      "TG_ISA=avx3: unknown instruction set; allowed values: avx2, avx512",
                      failures)
    for f in failures:
        print(f)
    print("fma_peak ISA: %d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
