#!/usr/bin/python3
"""Runs one program with each bad flag value that flag_table.txt lists for it.

  check_flag_table.py --table flag_table.txt --program char_lm --binary build/examples/char_lm
                      --source-dir .

Each row must end the program before it does any work: exit status 2 (no signal, no timeout),
exactly one line on stderr that starts with "<program>: --<flag>" and holds the row's
fragment, nothing on stdout, nothing written to the working directory (a fresh empty one).
Then coverage: every flag of the program's --help whose default is a number or a list must
have a row, or an @unchecked line saying why no value of it is bad. Exit status 1 on any
failure, with one line per failure.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

TIMEOUT_S = 20  # a program that is still running after this has started working


def read_table(path, program, source_dir):
    """The rows for `program` as (line, flag, value, fragment, extra args), the arguments every
    row of it gets (@args) and the flags no value of which is bad (@unchecked)."""
    rows, common, unchecked = [], [], set()
    subst = lambda text: text.replace("{source}", source_dir)
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith("@"):
                words = [subst(w) for w in shlex.split(line)]
                if words[0] not in ("@args", "@unchecked") or len(words) < 3:
                    sys.exit("%s:%d: expected '@args <program> <args...>' or "
                             "'@unchecked <program> <flag> <why>'" % (path, number))
                if words[1] == program:
                    if words[0] == "@args":
                        common += words[2:]
                    else:
                        unchecked.add(words[2])
                continue
            cells = [c.strip() for c in line.split("|")]
            if len(cells) not in (4, 5):
                sys.exit("%s:%d: expected 'program | flag | value | fragment [| args]'" %
                         (path, number))
            if cells[0] != program:
                continue
            extra = [subst(w) for w in shlex.split(cells[4])] if len(cells) == 5 else []
            rows.append((number, cells[1], subst(cells[2]), cells[3], extra))
    return rows, common, unchecked


def check_row(binary, program, common, row):
    """'' if the program refused the value as it must, else what went wrong."""
    number, flag, value, fragment, extra = row
    # "-" in the flag column: a stray positional argument instead of a flag.
    arg = value if flag == "-" else "--%s=%s" % (flag, value)
    argv = [binary] + common + extra + [arg]
    shown = "line %d: %s %s" % (number, program, " ".join(extra + [arg]))
    with tempfile.TemporaryDirectory() as cwd:
        try:
            p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return "%s: still running after %d s (it started working)" % (shown, TIMEOUT_S)
        written = os.listdir(cwd)
    if p.returncode < 0:
        return "%s: killed by signal %d; stderr: %s" % (shown, -p.returncode, p.stderr.strip())
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    prefix = "%s: " % program if flag == "-" else "%s: --%s" % (program, flag)
    problems = []
    if p.returncode != 2:
        problems.append("exit status %d, not 2" % p.returncode)
    if len(lines) != 1:
        problems.append("%d lines on stderr, not 1" % len(lines))
    elif not lines[0].startswith(prefix):
        problems.append("stderr does not start with '%s'" % prefix)
    if fragment not in p.stderr:
        problems.append("stderr lacks '%s'" % fragment)
    if p.stdout.strip():
        problems.append("it printed to stdout (work started): %r" % p.stdout.strip()[:200])
    if written:
        problems.append("it wrote %s" % ", ".join(sorted(written)))
    if not problems:
        return ""
    return "%s: %s; stderr: %s" % (shown, "; ".join(problems), p.stderr.strip()[:400])


def flags_needing_rows(binary):
    """The flags of the program's --help whose default is a number or an unquoted list (string
    flags print theirs in quotes, booleans as true/false)."""
    p = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=TIMEOUT_S)
    text = p.stdout + p.stderr
    entries = re.findall(r"^    --(\w+) \(.*?\);\s+default: (.*?);$", text, re.M | re.S)
    if len(entries) != text.count("default: "):
        sys.exit("check_flag_table.py: read %d flags but %d defaults in %s --help" %
                 (len(entries), text.count("default: "), binary))
    return [name for name, default in entries
            if not default.startswith('"') and default not in ("true", "false")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--source-dir", required=True)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    rows, common, unchecked = read_table(args.table, args.program, os.path.abspath(args.source_dir))
    if not rows:
        print("check_flag_table.py: no rows for %s in %s" % (args.program, args.table))
        return 1
    failures = [f for f in (check_row(binary, args.program, common, r) for r in rows) if f]
    covered = {r[1] for r in rows} | unchecked
    for flag in flags_needing_rows(binary):
        if flag not in covered:
            failures.append("--%s has no row in %s (or an @unchecked line saying why every value "
                            "is allowed)" % (flag, args.table))
    for f in failures:
        print(f)
    print("%s: %d rows, %d failures" % (args.program, len(rows), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
