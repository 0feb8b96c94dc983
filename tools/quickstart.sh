#!/usr/bin/env bash
# Builds and runs examples/quickstart.cpp, the API key story, against an emulator in the same process:
#   tools/quickstart.sh [quickstart options...]
#
# On Debian 12 as root it first installs the packages it needs; as another user it prints the one
# apt-get line to run and stops. It builds only the quickstart (Release, in build/quickstart) and exits
# with the quickstart's own status. Options are passed to the program: --help lists them, e.g.
# --base-url URL --app-id ID to talk to another server, and with it --store FILE --part 1, then (a new
# process) --store FILE --part 2 with APIKEYS_KEY set, to tell the story across a restart (README).
# APIKEYS_SKIP_PACKAGE_CHECK=1 skips the check.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Tests are not built here, so doctest is not needed.
packages=(cmake ninja-build g++ pkg-config libsimdjson-dev libfmt-dev libcpp-httplib-dev libssl-dev)
dir=build/quickstart

case "${1:-}" in
  -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" ;;  # then the program's own --help, below
esac

# --- packages -----------------------------------------------------------------------------------------------
. tools/lib/packages.sh
ensure_packages quickstart.sh "${packages[@]}" || exit 1

# --- build --------------------------------------------------------------------------------------------------
# The build's chatter goes to a log that is shown only when something fails, so the story stands alone.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "quickstart.sh: building the quickstart in $dir ..." >&2
if ! cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
      -DAPIKEYS_BUILD_TESTS=OFF -DAPIKEYS_BUILD_TOOLS=OFF -DAPIKEYS_INSTALL=OFF >"$log" 2>&1 ||
   ! cmake --build "$dir" --target quickstart -j 2 >>"$log" 2>&1; then
  cat "$log" >&2
  echo "quickstart.sh: the build failed (above)" >&2
  exit 1
fi
echo >&2

# --- run ----------------------------------------------------------------------------------------------------
"$dir/examples/quickstart" "$@"
