#!/usr/bin/env python3
"""Holds include/apikeys to the floors of docs/architecture.md: a header includes only its own floor or lower.

usage: check_floors.py [repository root]

Reads the table under "## Floors" (one row per floor, lowest first; each header or directory/ in backticks),
places every header under include/apikeys on a floor (a directory entry covers the headers below it), and
fails, naming the file and the include, when a header includes one on a higher floor, or when a header
has no floor at all (a new header must be placed in the table).
"""
import pathlib
import re
import sys


def floors_from_doc(doc: str) -> list[list[str]]:
    section = doc.split("## Floors", 1)
    if len(section) < 2:
        raise SystemExit("check_floors: docs/architecture.md has no '## Floors' section")
    floors = []
    for line in section[1].splitlines():
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not line.startswith("|") or set(cells[0]) <= set("- ") or cells[0] == "floor":
            continue
        entries = re.findall(r"`([^`]+)`", cells[1])
        if entries:
            floors.append(entries)
    if not floors:
        raise SystemExit("check_floors: the Floors table has no rows")
    return floors


def floor_of(header: str, floors: list[list[str]]) -> int | None:
    # An exact entry wins over a directory entry, and a longer directory over a shorter one.
    best, best_len = None, -1
    for level, entries in enumerate(floors):
        for entry in entries:
            if entry == header:
                return level
            if entry.endswith("/") and header.startswith(entry) and len(entry) > best_len:
                best, best_len = level, len(entry)
    return best


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    floors = floors_from_doc((root / "docs" / "architecture.md").read_text(encoding="utf-8"))
    base = root / "include" / "apikeys"
    problems = []
    headers = sorted(p for p in base.rglob("*.hpp"))
    for path in headers:
        name = path.relative_to(base).as_posix()
        level = floor_of(name, floors)
        if level is None:
            problems.append(f"{name}: on no floor of docs/architecture.md (add it to the Floors table)")
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not match:
                continue
            target = (path.parent / match.group(1)).resolve()
            try:
                included = target.relative_to(base.resolve()).as_posix()
            except ValueError:
                continue  # outside apikeys (a user's or a dependency's header)
            target_level = floor_of(included, floors)
            if target_level is not None and target_level > level:
                problems.append(f"{name}:{number}: includes {included}, which is on a higher floor "
                                f"({target_level + 1} > {level + 1})")
    for problem in problems:
        print(problem)
    print(f"check_floors: {len(headers)} headers on {len(floors)} floors, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
