#!/usr/bin/env bash
# The quickstart across a restart (CTest example.quickstart.restart): one apikeys-emulator process serves
# both halves; part 1 runs in one quickstart process and keeps the user in a file store, part 2 runs in a
# second process restored from that file, with no log in.
#   quickstart_restart.sh EMULATOR QUICKSTART CMAKE SOURCE_DIR
set -euo pipefail

emulator=$1 quickstart=$2 cmake=$3 source_dir=$4
work="$(mktemp -d)"
emulator_pid=""
cleanup() {
  if [[ -n "$emulator_pid" ]]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "quickstart_restart: $*" >&2; exit 1; }

"$emulator" --port 0 --app-id quickstart-restart --user demo@example.com:demo-password >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
for _ in $(seq 100); do
  [[ -s "$work/emulator.out" ]] && break
  kill -0 "$emulator_pid" 2>/dev/null || fail "the emulator stopped: $(cat "$work/emulator.err")"
  sleep 0.1
done
base_url="$(head -n 1 "$work/emulator.out")"
[[ "$base_url" == http://127.0.0.1:* ]] || fail "the emulator printed no URL"

store="$work/state/apikeys/users.json"  # its directories do not exist yet: the store makes them 0700
check() {  # check PART EXPECTED OUTPUT
  "$cmake" "-DPROGRAM=$quickstart" "-DEXPECTED=$source_dir/$2" "-DOUTPUT_FILE=$3" \
    "-DARGS=--base-url;$base_url;--app-id;quickstart-restart;--store;$store;--part;$1" -P "$source_dir/check_output.cmake" >/dev/null
}

# Part 1, then its process is gone; the user is in the file, which only its owner may read.
APIKEYS_EMAIL=demo@example.com APIKEYS_PASSWORD=demo-password check 1 quickstart.part1.expected "$work/part1.out" ||
  fail "part 1 did not tell the story"
[[ "$(stat -c %a "$store")" == 600 ]] || fail "the store file is not 0600"
[[ "$(stat -c %a "$work/state/apikeys")" == 700 && "$(stat -c %a "$work/state")" == 700 ]] || fail "the store's directories are not 0700"
[[ "$(ls -A "$work/state/apikeys")" == users.json ]] || fail "a temporary file was left beside the store"
key_value="$(sed -n 's/^The key.s value is shown only once; store it securely: //p' "$work/part1.out")"
user_id="$(sed -n 's/^Logged in as \([0-9a-f]*\) .*/\1/p' "$work/part1.out")"
[[ ${#key_value} == 64 && ${#user_id} == 24 ]] || fail "part 1 printed no key value or user id"
grep -qF "\"user_id\":\"$user_id\"" "$store" || fail "the store does not hold the user"
! grep -qF "$key_value" "$store" || fail "the store holds the key's value"

# Part 2, a second process: no email or password, only the store and the key's value.
APIKEYS_KEY="$key_value" check 2 quickstart.part2.expected "$work/part2.out" || fail "part 2 did not tell the story"
grep -qx "Restored the session of $user_id from the store, without logging in" "$work/part2.out" ||
  fail "part 2 restored another user"
! grep -qF "$key_value" "$work/part2.out" || fail "part 2 printed the key's value"
[[ ! -e "$store" ]] || fail "the store file is still there after the last user logged out"
kill -0 "$emulator_pid" 2>/dev/null || fail "the emulator did not outlive the parts"
echo "quickstart_restart: both halves told the story, the second restored from the store"
