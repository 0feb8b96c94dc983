#!/usr/bin/env python3
"""Generate single_include/apikeys/apikeys.hpp from include/apikeys/apikeys.hpp.

Every quoted include ("client.hpp", "detail/json_writer.hpp") is resolved relative to the file that includes
it and inlined exactly once, in first-use order; angle-bracket includes stay as they are (repeats of one
already included unconditionally are dropped). The output depends on nothing but the input files, so CI can
regenerate it and compare.

    python3 tools/amalgamate.py                 write single_include/apikeys/apikeys.hpp
    python3 tools/amalgamate.py --check         exit 1 if the file on disk is not what would be generated
    python3 tools/amalgamate.py --output PATH   write (or with --check, compare) PATH instead
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = REPO / "include" / "apikeys" / "apikeys.hpp"
DEFAULT_OUTPUT = REPO / "single_include" / "apikeys" / "apikeys.hpp"

PRAGMA_ONCE = re.compile(r"^\s*#\s*pragma\s+once\b")
QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
ANGLE_INCLUDE = re.compile(r"^\s*#\s*include\s*<([^>]+)>")
IF_OPEN = re.compile(r"^\s*#\s*if(n?def)?\b")
IF_ELSE = re.compile(r"^\s*#\s*(else|elif)\b")
IF_CLOSE = re.compile(r"^\s*#\s*endif\b")
GUARD_OPEN = re.compile(r"^\s*#\s*ifndef\s+(\w+)\s*$")
GUARD_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)\s*$")


def is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("//")


def include_guard(lines: list[str]) -> tuple[int, int, int] | None:
    """Line indices of a classic include guard (#ifndef X / #define X ... #endif), if the file has one.

    A guard is kept in the output, since it is what lets a header from include/ meet the same header already
    inlined here, but it is not a condition: what is inside it is inlined unconditionally."""
    code = [i for i, line in enumerate(lines) if is_code(line) and not PRAGMA_ONCE.match(line)]
    if len(code) < 3:
        return None
    first, second, last = code[0], code[1], code[-1]
    opened = GUARD_OPEN.match(lines[first])
    defined = GUARD_DEFINE.match(lines[second])
    if not opened or not defined or opened.group(1) != defined.group(1) or not IF_CLOSE.match(lines[last]):
        return None
    # The #endif must close the #ifndef, not a block that opened after it.
    depth = 0
    for i in range(first, last + 1):
        if IF_OPEN.match(lines[i]):
            depth += 1
        elif IF_CLOSE.match(lines[i]):
            depth -= 1
            if depth == 0 and i != last:
                return None
    return first, second, last


class AmalgamationError(Exception):
    pass


class Amalgamator:
    def __init__(self, root: Path):
        # Paths in the output are shown relative to root (include/), never absolute, to stay reproducible.
        self.root = root
        self.inlined: dict[Path, tuple[str, ...]] = {}  # file -> the #if context it was inlined under
        self.system_includes: set[str] = set()  # angle includes already made outside any #if
        self.out: list[str] = []
        self.after_drop = False  # the previous input line was left out of the output

    def display(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.name

    def inline(self, path: Path, context: tuple[str, ...], included_from: str) -> None:
        path = Path(os.path.normpath(path))
        if path in self.inlined:
            first = self.inlined[path]
            # A file first inlined under an #if is missing wherever that #if was false; a later include in
            # another context would silently get nothing, so refuse instead of guessing.
            if first and first != context[: len(first)]:
                raise AmalgamationError(
                    f"{included_from}: {self.display(path)} was first inlined inside a conditional "
                    f"({' / '.join(first)}) and is included again elsewhere; include it unconditionally")
            return
        if not path.is_file():
            raise AmalgamationError(f"{included_from}: cannot find included file {path}")
        self.inlined[path] = context

        name = self.display(path)
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()

        guard = include_guard(lines)
        self.out.append(f"// ---- begin {name} ----")
        self.after_drop = False
        local: list[str] = []  # this file's own #if nesting, on top of the context it is inlined in
        for number, line in enumerate(lines, start=1):
            where = f"{name}:{number}"
            if not line.strip() and self.after_drop and (not self.out or not self.out[-1].strip()
                                                         or self.out[-1].startswith("// ---- ")):
                continue  # a dropped line left two blank lines (or one after a marker) behind
            self.after_drop = False
            if PRAGMA_ONCE.match(line):
                self.after_drop = True
                continue
            if guard and number - 1 in guard:
                self.out.append(line)
                continue
            if IF_OPEN.match(line):
                local.append(line.strip())
            elif IF_ELSE.match(line):
                if not local:
                    raise AmalgamationError(f"{where}: #else/#elif without #if")
                local[-1] = local[-1] + " | " + line.strip()
            elif IF_CLOSE.match(line):
                if not local:
                    raise AmalgamationError(f"{where}: #endif without #if")
                local.pop()

            quoted = QUOTED_INCLUDE.match(line)
            if quoted:
                self.inline(path.parent / quoted.group(1), context + tuple(local), where)
                self.after_drop = True
                continue
            angle = ANGLE_INCLUDE.match(line)
            if angle:
                header = angle.group(1).strip()
                if header in self.system_includes:
                    self.after_drop = True
                    continue
                if not context and not local:
                    self.system_includes.add(header)
            self.out.append(line)
        if local:
            raise AmalgamationError(f"{name}: unterminated #if ({local[-1]})")
        self.out.append(f"// ---- end {name} ----")


def generate(input_path: Path) -> str:
    input_path = input_path.resolve()
    root = input_path.parent.parent  # include/apikeys/apikeys.hpp -> include/
    amalgamator = Amalgamator(root)
    amalgamator.inline(input_path, (), "command line")
    banner = (f"// apikeys in one header, generated from {root.name}/{amalgamator.display(input_path)} "
              f"by tools/amalgamate.py: do not edit.")
    return "\n".join([banner, "#pragma once", ""] + amalgamator.out) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Generate the apikeys single header.")
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT,
                        help="umbrella header to start from (default: include/apikeys/apikeys.hpp)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="file to write or check (default: single_include/apikeys/apikeys.hpp)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if OUTPUT differs from what would be generated")
    args = parser.parse_args(argv)

    try:
        text = generate(args.input)
    except (AmalgamationError, OSError, UnicodeDecodeError) as error:
        print(f"amalgamate.py: error: {error}", file=sys.stderr)
        return 2

    output: Path = args.output
    try:
        current = output.read_bytes().decode("utf-8") if output.is_file() else None
    except UnicodeDecodeError:
        current = ""

    if args.check:
        if current is None:
            print(f"amalgamate.py: {output} does not exist; run: python3 tools/amalgamate.py", file=sys.stderr)
            return 1
        if current != text:
            print(f"amalgamate.py: {output} is stale (it differs from include/); "
                  f"run: python3 tools/amalgamate.py", file=sys.stderr)
            diff = list(difflib.unified_diff(current.split("\n"), text.split("\n"),
                                             "on disk", "generated", n=1, lineterm=""))
            for line in diff[:40]:
                print(line, file=sys.stderr)
            if len(diff) > 40:
                print(f"... ({len(diff) - 40} more diff lines)", file=sys.stderr)
            return 1
        print(f"amalgamate.py: {output} is up to date")
        return 0

    if current == text:
        print(f"amalgamate.py: {output} already up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"amalgamate.py: wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
