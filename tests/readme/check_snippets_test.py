#!/usr/bin/env python3
"""Checks tools/check_readme_snippets.py itself: every harness compiles what it should, a snippet that does
not compile fails the run naming its line, and malformed markdown is refused.

usage: tests/readme/check_snippets_test.py [--cxx CXX]
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHECKER = ROOT / "tools" / "check_readme_snippets.py"
FIXTURE = HERE / "fixture.md"

failures = []


def check(what, ok, output=""):
    print(f"{'ok' if ok else 'FAILED'}: {what}")
    if not ok:
        failures.append(what)
        if output:
            print(output.rstrip())


def run(*args):
    done = subprocess.run([sys.executable, str(CHECKER), *args], capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def line_of(text, path=FIXTURE):
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if text in line:
            return number
    raise SystemExit(f"{path} has no line containing {text!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cxx", default="g++")
    args = parser.parse_args()

    # --list: the mode of every snippet, defaults included, without compiling.
    rc, out = run("--markdown", str(FIXTURE), "--list")
    # "<path>:<line>: <mode>[ (default)][: <reason>]"
    modes = [line.split(": ", 1)[1].split(": ")[0] for line in out.splitlines() if "fixture.md:" in line]
    expected = ["function (default)", "file (default)", "file", "doctest", "skip", "function (default)",
                "function (default)"]
    check("--list names every cpp snippet with its mode", rc == 0 and modes == expected, out)

    # The whole fixture: six snippets compiled, one of them broken, one skipped.
    rc, out = run("--markdown", str(FIXTURE), "--cxx", args.cxx)
    bad_fence = line_of("```c++")
    bad_line = line_of("EXPECTED ERROR")
    check("a snippet that does not compile fails the run (exit status 1)", rc == 1, out)
    check("the failure names the snippet's fence line", f"fixture.md:{bad_fence} (function): the snippet does not compile" in out, out)
    check("the compiler's message names the markdown line", f"fixture.md:{bad_line}:" in out and "error" in out, out)
    check("the skipped snippet is reported with its reason", "shows a fragment on purpose" in out, out)
    check("the summary is the last line", out.rstrip().splitlines()[-1] == "5 passed, 1 failed", out)

    # --only: just the snippets asked for.
    rc, out = run("--markdown", str(FIXTURE), "--cxx", args.cxx, "--only", str(line_of("<!-- snippet: file -->") + 1))
    check("--only checks one snippet", rc == 0 and out.rstrip().splitlines()[-1] == "1 passed, 0 failed", out)

    # Malformed markdown is refused before anything is compiled, naming the line.
    cases = {
        "an unknown mode": ("text\n<!-- snippet: functions -->\n```cpp\nint x;\n```\n", 2),
        "a skip without a reason": ("<!-- snippet: skip -->\n```cpp\nint x;\n```\n", 1),
        "a marker that is not before a cpp fence": ("<!-- snippet: file -->\n\n```cpp\nint x;\n```\n", 1),
        "a marker before another language": ("<!-- snippet: file -->\n```sh\nexit 1\n```\n", 1),
        "a fence never closed": ("text\n```cpp\nint x;\n", 2),
    }
    with tempfile.TemporaryDirectory() as scratch:
        for what, (text, line) in cases.items():
            path = Path(scratch) / "bad.md"
            path.write_text(text, encoding="utf-8")
            rc, out = run("--markdown", str(path), "--cxx", args.cxx)
            check(f"{what} is refused (exit status 2, line {line})", rc == 2 and f"bad.md:{line}:" in out, out)

    print(f"{len(failures)} check(s) failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
