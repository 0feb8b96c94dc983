#!/usr/bin/env bash
# Builds and runs examples/quickstart.cpp, the API key story, against an emulator in the same process:
#   tools/quickstart.sh [quickstart options...]
#
# On Debian 12 as root it first installs the packages it needs; as another user it prints the one
# apt-get line to run and stops. It builds only the quickstart (Release, in build/quickstart) and exits
# with the quickstart's own status. Options are passed to the program: --help lists them, e.g.
# --base-url URL --app-id ID to talk to another server. APIKEYS_SKIP_PACKAGE_CHECK=1 skips the check.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Tests are not built here, so doctest is not needed.
packages=(cmake ninja-build g++ pkg-config libsimdjson-dev libfmt-dev libcpp-httplib-dev libssl-dev)
dir=build/quickstart

case "${1:-}" in
  -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0" ;;  # then the program's own --help, below
esac

# --- packages -----------------------------------------------------------------------------------------------
if [ "${APIKEYS_SKIP_PACKAGE_CHECK:-0}" != 1 ]; then
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "quickstart.sh: dpkg-query not found; this script expects Debian 12 packages." >&2
    echo "quickstart.sh: set APIKEYS_SKIP_PACKAGE_CHECK=1 to skip the check if the tools are installed otherwise." >&2
    exit 1
  fi
  missing=()
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
      echo "quickstart.sh: installing missing packages: ${missing[*]}"
      apt-get update || exit 1
      DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" || exit 1
    else
      echo "quickstart.sh: missing packages; install them as root with:" >&2
      echo "apt-get install -y ${missing[*]}"
      exit 1
    fi
  fi
fi

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
