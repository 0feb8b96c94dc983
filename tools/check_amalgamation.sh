#!/usr/bin/env bash
# Fails when a single header is stale: tools/check_amalgamation.sh [path] (default: the committed one).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:-$repo/single_include/apikeys/apikeys.hpp}"
python="${PYTHON:-python3}"

if ! "$python" "$repo/tools/amalgamate.py" --check --output "$target"; then
  echo "check_amalgamation.sh: $target is stale or missing; regenerate it with: python3 tools/amalgamate.py" >&2
  exit 1
fi
