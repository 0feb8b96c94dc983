#!/usr/bin/env python3
"""Compiles every ```cpp block of README.md, so that no snippet a reader copies is wrong.

usage: tools/check_readme_snippets.py [--markdown FILE] [--cxx CXX] [-I DIR]... [--only LINE]...
                                      [--keep DIR] [--list]

Each snippet is wrapped in a small harness and compiled on its own, one at a time, with
`CXX -std=c++20 -fsyntax-only -Wall -Wextra -Werror` (unused variables allowed) and `-I include`; a snippet
that includes the cpp-httplib adapter or the emulator server also gets `pkg-config --cflags cpp-httplib`,
one that includes the libcurl adapter `pkg-config --cflags libcurl`. `#line` directives make the compiler
name the markdown file's own lines.

How a snippet is wrapped is chosen by an HTML comment on the line directly before its fence:

  <!-- snippet: function -->       the body of a function; its #include lines go to the top of the file,
                                   after #include <apikeys/apikeys.hpp>. The default, unless the snippet
                                   defines main().
  <!-- snippet: file -->           a whole translation unit, compiled as it is. The default for a snippet
                                   that defines main().
  <!-- snippet: doctest -->        the body of a doctest TEST_CASE; #include lines go to the top, after
                                   <doctest/doctest.h> and <apikeys/apikeys.hpp>.
  <!-- snippet: skip (reason) -->  not compiled; the reason is required and is printed.

The harnesses add nothing else: a snippet declares every name it uses that the headers do not.

Exits 0 when every snippet compiles, 1 when one does not (each failure names its line, with the compiler's
messages), 2 on a usage error, a malformed marker or an unterminated fence. The last line of output is
"N passed, M failed".

  -I DIR        searched before include/ (e.g. -I single_include, to check the snippets against the single
                header); repeatable
  --only LINE   check only the snippet whose fence opens on LINE; repeatable
  --keep DIR    also write each generated source to DIR, for reading
  --list        print each snippet's line and mode, compile nothing
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("function", "file", "doctest", "skip")
CPP_LANGUAGES = ("cpp", "c++")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<mode>[A-Za-z-]+)\s*(?:\((?P<reason>[^)]*)\))?\s*-->\s*$")
ANY_MARKER = re.compile(r"^\s*<!--\s*snippet\b")
INCLUDE = re.compile(r"^\s*#\s*include\b")
MAIN = re.compile(r"^\s*int\s+main\s*\(", re.MULTILINE)
COMPILE_TIMEOUT = 600  # seconds, per snippet: a loaded CI machine compiles cpp-httplib slowly


class MarkdownError(Exception):
    pass


@dataclass
class Snippet:
    line: int                      # 1-based line of the opening fence
    mode: str
    reason: str = ""
    explicit: bool = False         # the mode came from a marker
    lines: list = field(default_factory=list)  # (markdown line number, text without the fence's indent)


def parse(path):
    """The ```cpp snippets of a markdown file, with their modes."""
    text = path.read_text(encoding="utf-8").split("\n")
    snippets = []
    open_fence = None   # (fence string, indent, snippet or None for a block we do not check)
    previous = None     # the line before the current one, outside fences
    used_markers = set()
    marker_lines = set()  # every marker outside a fence
    for number, line in enumerate(text, start=1):
        if open_fence is not None:
            fence, indent, snippet = open_fence
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) <= {fence[0]}:
                open_fence = None
                previous = line
                continue
            if snippet is not None:
                body = line[len(indent):] if line.startswith(indent) else line.lstrip()
                snippet.lines.append((number, body))
            continue
        if ANY_MARKER.match(line):
            marker_lines.add(number)
        match = FENCE.match(line)
        if match:
            info = match.group("info").strip().split()
            language = info[0].lower() if info else ""
            snippet = None
            if language in CPP_LANGUAGES:
                snippet = Snippet(line=number, mode="")
                marker = MARKER.match(previous or "")
                if marker:
                    mode = marker.group("mode").lower()
                    if mode not in MODES:
                        raise MarkdownError(f"{path}:{number - 1}: unknown snippet mode '{mode}' (known: {', '.join(MODES)})")
                    reason = (marker.group("reason") or "").strip()
                    if mode == "skip" and not reason:
                        raise MarkdownError(f"{path}:{number - 1}: a skipped snippet needs a reason: <!-- snippet: skip (why) -->")
                    snippet.mode, snippet.reason, snippet.explicit = mode, reason, True
                    used_markers.add(number - 1)
                elif previous is not None and ANY_MARKER.match(previous):
                    raise MarkdownError(f"{path}:{number - 1}: malformed snippet marker: {previous.strip()}")
                snippets.append(snippet)
            open_fence = (match.group("fence"), match.group("indent"), snippet)
            open_line = number
            previous = line
            continue
        previous = line
    if open_fence is not None:
        raise MarkdownError(f"{path}:{open_line}: this code fence is never closed")
    # A marker that is not directly before a cpp fence would silently do nothing.
    for number in sorted(marker_lines - used_markers):
        raise MarkdownError(f"{path}:{number}: a snippet marker must be on the line directly before a ```cpp fence")
    for snippet in snippets:
        if not snippet.mode:
            source = "\n".join(body for _, body in snippet.lines)
            snippet.mode = "file" if MAIN.search(source) else "function"
    return snippets


def generate(snippet, markdown_name):
    """The translation unit that checks one snippet."""
    name = markdown_name.replace("\\", "/").replace('"', "")
    out = [f"// Generated by tools/check_readme_snippets.py from {name}:{snippet.line} ({snippet.mode})."]

    def at(number):
        out.append(f'#line {number} "{name}"')

    if snippet.mode == "file":
        at(snippet.lines[0][0] if snippet.lines else snippet.line)
        out.extend(body for _, body in snippet.lines)
        return "\n".join(out) + "\n"

    includes = [(n, body) for n, body in snippet.lines if INCLUDE.match(body)]
    statements = [(n, body) for n, body in snippet.lines if not INCLUDE.match(body)]
    if snippet.mode == "doctest":
        out.append("#include <doctest/doctest.h>")
    out.append("#include <apikeys/apikeys.hpp>")
    for number, body in includes:
        at(number)
        out.append(body.strip())
    out.append('#line 1 "harness"')
    if snippet.mode == "doctest":
        out.append(f'TEST_CASE("{name}:{snippet.line}") {{')
    else:
        out.append(f"[[maybe_unused]] void readme_snippet_at_line_{snippet.line}() {{")
    expected = None
    for number, body in statements:
        if number != expected:
            at(number)
        out.append(body)
        expected = number + 1
    out.append('#line 1 "harness"')
    out.append("}")
    return "\n".join(out) + "\n"


def pkg_config_cflags(package):
    if not shutil.which("pkg-config"):
        return []
    done = subprocess.run(["pkg-config", "--cflags", package], capture_output=True, text=True)
    return shlex.split(done.stdout) if done.returncode == 0 else []


def flags_for(source, include_dirs):
    flags = ["-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-Wno-unused-variable",
             "-Wno-unused-but-set-variable", "-Wno-unused-parameter", "-Wno-unused-function"]
    flags += [f"-I{d}" for d in include_dirs]
    if re.search(r"apikeys/(transport/httplib|testing/emulator_server)\.hpp", source):
        flags += pkg_config_cflags("cpp-httplib")
    if "apikeys/transport/curl.hpp" in source:
        flags += pkg_config_cflags("libcurl")
    return flags


def main(argv):
    parser = argparse.ArgumentParser(
        description="Compiles every ```cpp block of a markdown file (default: README.md), each in a small harness.")
    parser.add_argument("--markdown", type=Path, default=ROOT / "README.md", help="the file to check (default: README.md)")
    parser.add_argument("--cxx", default=os.environ.get("CXX") or "g++", help="the compiler (default: $CXX, else g++)")
    parser.add_argument("-I", dest="include_dirs", action="append", default=[], type=Path,
                        help="an include directory searched before include/; repeatable")
    parser.add_argument("--only", action="append", type=int, default=[], metavar="LINE",
                        help="check only the snippet whose fence opens on LINE; repeatable")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="also write the generated sources to DIR")
    parser.add_argument("--list", action="store_true", help="list the snippets and their modes; compile nothing")
    args = parser.parse_args(argv)

    markdown = args.markdown
    if not markdown.is_file():
        print(f"check_readme_snippets: no such file: {markdown}", file=sys.stderr)
        return 2
    try:
        display = str(markdown.resolve().relative_to(Path.cwd()))
    except ValueError:
        display = str(markdown)
    try:
        snippets = parse(markdown)
    except MarkdownError as error:
        print(f"check_readme_snippets: {error}", file=sys.stderr)
        return 2
    unknown = set(args.only) - {s.line for s in snippets}
    if unknown:
        print(f"check_readme_snippets: no ```cpp fence opens on line(s) {sorted(unknown)} of {display}", file=sys.stderr)
        return 2
    if args.only:
        snippets = [s for s in snippets if s.line in args.only]

    if args.list:
        for s in snippets:
            how = s.mode + ("" if s.explicit else " (default)") + (f": {s.reason}" if s.reason else "")
            print(f"{display}:{s.line}: {how}")
        print(f"{len(snippets)} snippets")
        return 0

    if not shutil.which(args.cxx):
        print(f"check_readme_snippets: compiler not found: {args.cxx}", file=sys.stderr)
        return 2
    include_dirs = [d.resolve() for d in args.include_dirs] + [ROOT / "include"]
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)

    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="readme-snippets-") as scratch:
        for s in snippets:
            where = f"{display}:{s.line}"
            if s.mode == "skip":
                print(f"skipped {where}: {s.reason}")
                continue
            source = generate(s, display)
            path = Path(scratch) / f"snippet_{s.line}.cpp"
            path.write_text(source, encoding="utf-8")
            if args.keep:
                (args.keep / path.name).write_text(source, encoding="utf-8")
            command = [args.cxx, *flags_for(source, include_dirs), str(path)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT)
                ok, output = done.returncode == 0, done.stdout + done.stderr
            except subprocess.TimeoutExpired:
                ok, output = False, f"the compiler took more than {COMPILE_TIMEOUT} s\n"
            if ok:
                passed += 1
                print(f"ok      {where} ({s.mode})", flush=True)
            else:
                failed += 1
                print(f"FAILED  {where} ({s.mode}): the snippet does not compile:", flush=True)
                print(output.rstrip())
                print(f"        command: {shlex.join(command)}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
