#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++-14) and fuzzes each in turn: tools/fuzz.sh [seconds] [target...]
#
#   seconds   per target; default 600 for the decoder targets and 1800 for fuzz_client
#   target    fuzz_key fuzz_key_list fuzz_error_body fuzz_login fuzz_location fuzz_client (default: all)
#
# One fuzzer at a time, one process each, over a scratch copy of tests/fuzz/corpus/<target>/ in
# build/fuzz/run/<target>/ (the repository's corpus is only read). Prints each target's executions,
# exec/s and coverage from libFuzzer's closing lines, and fails when any target crashes, leaks or times
# out. A crashing input is minimized into build/fuzz/findings/<target>/: add it to the corpus as
# tests/fuzz/corpus/<target>/crash-<what> so it stays a regression test.
# Environment: FUZZ_BUILD_DIR (default build/fuzz), FUZZ_MAX_LEN (libFuzzer -max_len, default 8192).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

all_targets=(fuzz_key fuzz_key_list fuzz_error_body fuzz_login fuzz_location fuzz_client)
build_dir="${FUZZ_BUILD_DIR:-build/fuzz}"
max_len="${FUZZ_MAX_LEN:-8192}"

seconds=""
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
  seconds="$1"
  shift
fi
case "${1:-}" in
  -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${all_targets[@]}")
fi
for target in "${targets[@]}"; do
  if [[ ! " ${all_targets[*]} " =~ " ${target} " ]]; then
    echo "fuzz.sh: unknown target '$target' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

. tools/lib/packages.sh
ensure_packages fuzz.sh cmake ninja-build clang-14 libclang-rt-14-dev libsimdjson-dev libfmt-dev doctest-dev || exit 1

# -O1 with assertions kept: fast enough to fuzz, and NDEBUG would hide the checks that matter.
echo "=== configure ($build_dir) ==="
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 \
  -DAPIKEYS_FUZZ=ON >/dev/null || exit 1
echo "=== build ${targets[*]} ==="
cmake --build "$build_dir" -j 2 --target "${targets[@]}" || exit 1

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

declare -A summary=()
failed=0
for target in "${targets[@]}"; do
  time_limit="$seconds"
  if [ -z "$time_limit" ]; then
    if [ "$target" = fuzz_client ]; then time_limit=1800; else time_limit=600; fi
  fi
  binary="$build_dir/tests/fuzz/$target"
  work="$build_dir/run/$target"
  findings="$build_dir/findings/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts" "$findings"
  cp tests/fuzz/corpus/"$target"/* "$work/corpus/"
  seeds=$(ls "$work/corpus" | wc -l)
  echo
  echo "=== $target: ${time_limit} s from $seeds seeds ==="
  "$binary" -max_total_time="$time_limit" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
  status=$?
  done_line=$(grep -a -E '^#[0-9]+[[:space:]]+DONE' "$work/log" | tail -1)
  last_line=$(grep -a -E '^#[0-9]+[[:space:]]' "$work/log" | tail -1)
  runs=$(grep -a 'stat::number_of_executed_units' "$work/log" | awk '{print $2}')
  rate=$(grep -a 'stat::average_exec_per_sec' "$work/log" | awk '{print $2}')
  line="${done_line:-$last_line}"
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$line")
  artifacts=("$work"/artifacts/*)
  if [ $status -eq 0 ] && [ ! -e "${artifacts[0]}" ]; then
    result="ok"
  else
    failed=1
    result="FAILED (exit $status)"
    grep -a -E 'fuzz invariant failed|^  detail: |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|^SUMMARY' \
      "$work/log" | head -8
    for artifact in "${artifacts[@]}"; do
      [ -e "$artifact" ] || continue
      minimized="$findings/$(basename "$artifact")"
      echo "--- minimizing $artifact"
      "$binary" -minimize_crash=1 -max_total_time=60 -runs=100000 -exact_artifact_path="$minimized" "$artifact" \
        >"$work/minimize.log" 2>&1
      [ -s "$minimized" ] || cp "$artifact" "$minimized"
      echo "    -> $minimized ($(wc -c <"$minimized") bytes); keep it: cp $minimized tests/fuzz/corpus/$target/crash-<what>"
    done
  fi
  summary[$target]=$(printf '%-16s %-18s %10s runs %7s exec/s  cov %-5s ft %-6s corpus %s' \
    "$target" "$result" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")
  echo "${summary[$target]}"
  echo "    log: $work/log"
done

echo
echo "=== summary ==="
for target in "${targets[@]}"; do
  echo "  ${summary[$target]}"
done
exit $failed
