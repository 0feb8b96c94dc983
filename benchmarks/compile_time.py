#!/usr/bin/env python3
"""apikeys benchmarks: times `g++ -std=c++20 -O2 -c` of each compile-time unit, several rounds.

Usage: compile_time.py --rounds N --out FILE NAME=ARGS... (ARGS: the compiler arguments, space-separated).
Units are compiled in turn, round after round, so a burst of load elsewhere falls on every unit alike.
Each line of FILE: unit, round, wall seconds, CPU seconds (the compiler's user + system time)."""
import argparse
import os
import resource
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", required=True)
    ap.add_argument("--compiler", default="g++")
    ap.add_argument("units", nargs="+", help="NAME=compiler arguments")
    args = ap.parse_args()
    units = [u.split("=", 1) for u in args.units]
    with open(args.out, "w") as out:
        out.write("# unit round wall_s cpu_s\n")
        for round_no in range(1, args.rounds + 1):
            for name, unit_args in units:
                cmd = [args.compiler, "-std=c++20", "-O2", "-c", *unit_args.split(), "-o", os.devnull]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                subprocess.run(cmd, check=True)
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                line = f"{name} {round_no} {wall:.3f} {cpu:.3f}"
                print(line, flush=True)
                out.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
