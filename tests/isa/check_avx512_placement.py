#!/usr/bin/env python3
"""Fails when AVX-512 code sits in a function that the AVX2 path could run.

The kernels are compiled once per ISA (ops/kernels/CMakeLists.txt). Inline and template code
that both builds emit under one name is merged by the linker, which keeps either copy; if it
kept the AVX-512 one, an AVX2-only CPU would run AVX-512 instructions. So every function that
holds an AVX-512 instruction must have a name only the AVX-512 build can emit: one inside
tg::kernels::avx512, or one whose template arguments name that namespace or xsimd's AVX-512
architectures (xsimd's own templates are instantiated per architecture).

An AVX-512 instruction is an EVEX-encoded one (first opcode byte 0x62, which in 64-bit mode is
nothing else), or one that names a zmm register, a mask register k0-k7 or xmm/ymm16-31.

  check_avx512_placement.py OBJDUMP [--expect-avx512] FILE...
With --expect-avx512 it also fails when no AVX-512 instruction is found at all (the AVX-512
kernels must be there).
"""
import re
import subprocess
import sys

EVEX = re.compile(r"^\s*[0-9a-f]+:\t((?:67|2e|3e|26|64|65|36) )*62 ")
AVX512_REGISTER = re.compile(r"%zmm|%k[0-7]\b|%[xy]mm(1[6-9]|2[0-9]|3[01])\b")
FUNCTION = re.compile(r"^[0-9a-f]+ <(.*)>:$")
ALLOWED = ("tg::kernels::avx512", "xsimd::avx512")


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    objdump, args = argv[1], argv[2:]
    expect = "--expect-avx512" in args
    files = [a for a in args if a != "--expect-avx512"]
    misplaced, placed = {}, 0
    for path in files:
        listing = subprocess.run([objdump, "-d", "-C", path], check=True, capture_output=True,
                                 text=True).stdout
        function = None
        for line in listing.splitlines():
            m = FUNCTION.match(line)
            if m:
                function = m.group(1)
                continue
            # An instruction line is "address:\tbytes\tmnemonic operands"; a long
            # instruction's further bytes follow on lines without a mnemonic.
            fields = line.split("\t")
            if function is None or len(fields) < 3 or not fields[2].strip():
                continue
            if not (EVEX.match(line) or AVX512_REGISTER.search(line)):
                continue
            if any(a in function for a in ALLOWED):
                placed += 1
            else:
                key = (path, function)
                misplaced.setdefault(key, line.strip())
    for (path, function), line in sorted(misplaced.items()):
        print(f"{path}: {function}: AVX-512 outside tg::kernels::avx512: {line}")
    if misplaced:
        print(f"{len(misplaced)} function(s) outside the AVX-512 namespace hold AVX-512 code")
        return 1
    if expect and placed == 0:
        print("no AVX-512 instruction in tg::kernels::avx512: the AVX-512 kernels are missing")
        return 1
    print(f"{placed} AVX-512 instructions, all inside tg::kernels::avx512")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
