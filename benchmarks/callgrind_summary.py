#!/usr/bin/env python3
"""apikeys benchmarks: callgrind_annotate's output (on stdin) as instructions per call, top functions first.

Usage: callgrind_annotate FILE | callgrind_summary.py --calls N [--top K]"""
import argparse
import re
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, required=True)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    total = None
    rows = []
    in_functions = False
    for line in sys.stdin:
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)", line)
        if "PROGRAM TOTALS" in line and m:
            total = int(m.group(1).replace(",", ""))
        elif "file:function" in line:
            in_functions = True
        elif in_functions and m:
            name = m.group(2)
            name = re.sub(r"\s*\[[^\]]*\]\s*$", "", name)  # the object file
            name = re.sub(r"^[^:]*/([^/:]+):", r"\1: ", name)  # the source path, to its file name
            rows.append((int(m.group(1).replace(",", "")), name))
    if total is None:
        print("no callgrind data")
        return 1
    print(f"total {total / args.calls:,.0f} Ir/call")
    for ir, name in rows[: args.top]:
        short = name if len(name) <= 150 else name[:147] + "..."
        print(f"  {ir / args.calls:>9,.0f}  {100 * ir / total:5.1f} %  {short}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
