# apikeys scripts: make sure Debian packages are installed (sourced by tools/test.sh and tools/quickstart.sh).
#
# ensure_packages NAME PACKAGE...: as root, installs the missing ones (apt-get update once first); as
# another user, prints the one apt-get line needed and returns 1. APIKEYS_SKIP_PACKAGE_CHECK=1 skips it.
ensure_packages() {
  local name="$1"
  shift
  [ "${APIKEYS_SKIP_PACKAGE_CHECK:-0}" = 1 ] && return 0
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "$name: dpkg-query not found; this script expects Debian 12 packages." >&2
    echo "$name: set APIKEYS_SKIP_PACKAGE_CHECK=1 to skip the check if the tools are installed otherwise." >&2
    return 1
  fi
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "$name: installing missing packages: ${missing[*]}"
    apt-get update || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" || return 1
  else
    echo "$name: missing packages; install them as root with:" >&2
    echo "apt-get install -y ${missing[*]}"
    return 1
  fi
}
