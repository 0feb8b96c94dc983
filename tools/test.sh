#!/usr/bin/env bash
# Builds apikeys and runs its whole test suite in every configuration CI uses: tools/test.sh [leg...]
#
# Legs (default: all):
#   gcc            g++, Debug
#   clang-asan     clang++-14, Debug, AddressSanitizer + UndefinedBehaviorSanitizer
#   single-header  g++ against single_include/apikeys/apikeys.hpp (only when that file exists)
#   tsan           clang++-14, ThreadSanitizer, on the tests that start threads (label "concurrency")
#   fuzz           clang++-14 with libFuzzer: builds only the fuzz targets, replays their corpus and fuzzes each
#                  for FUZZ_SECONDS (default 20) seconds (tools/fuzz.sh fuzzes for longer)
#   compat         g++ against the newest fmt, simdjson and cpp-httplib apikeys supports, built from the release
#                  trees in $APIKEYS_COMPAT_DIR (default: ../shared/compat beside this clone): the unit and
#                  integration tests and the examples; skipped, not failed, when that directory is absent
# Each leg builds in build/<leg>. Exits non-zero when any leg fails.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

all_legs=(gcc clang-asan single-header tsan fuzz compat)
packages=(cmake ninja-build g++ clang-14 libclang-rt-14-dev libsimdjson-dev libfmt-dev doctest-dev help2man lintian dpkg-dev file
          libcpp-httplib-dev libcurl4-openssl-dev libssl-dev pkg-config python3 openssl valgrind
          libsqlite3-dev libsodium-dev)
jobs=2

# --- which legs ---------------------------------------------------------------------------------------------
legs=("$@")
if [ ${#legs[@]} -eq 0 ]; then
  legs=("${all_legs[@]}")
fi
for leg in "${legs[@]}"; do
  case "$leg" in
    gcc|clang-asan|single-header|tsan|fuzz|compat) ;;
    -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown leg '$leg' (known: ${all_legs[*]})" >&2; exit 2 ;;
  esac
done

# --- packages -----------------------------------------------------------------------------------------------
. tools/lib/packages.sh
ensure_packages test.sh "${packages[@]}" || exit 1

# --- legs ---------------------------------------------------------------------------------------------------
# For the sanitized leg: leaks count as failures, and a UB report stops the test with a stack.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
declare -A status=()
failed=0

run_leg() {
  local leg="$1"
  shift
  local ctest_args=()
  local build_args=()
  # The sanitizer legs leave the compiler-only checks (compile-fail, amalgamation, package consumers) to
  # the g++ legs: they test the build, not the code the sanitizers watch.
  if [ "$leg" = tsan ]; then
    # ThreadSanitizer watches threads: only the tests that start them (the "concurrency" label).
    ctest_args=(-L concurrency)
    build_args=(--target apikeys_concurrency_tests)
  elif [ "$leg" = clang-asan ]; then
    ctest_args=(-LE "package")
  elif [ "$leg" = fuzz ]; then
    # Only the fuzz targets: the other legs build and run everything else.
    ctest_args=(-L fuzz)
    build_args=(--target fuzz_key fuzz_key_list fuzz_error_body fuzz_login fuzz_location fuzz_client)
  elif [ "$leg" = compat ]; then
    # What the dependencies' releases can change: the unit and integration tests and the examples. The
    # build checks (compile-fail, header check, amalgamation, packages) and the fuzz, leak and valgrind
    # runs are the other legs'.
    ctest_args=(-R '^(unit|integration|example)\.')
    build_args=(--target apikeys_core_tests)
  fi
  local dir="build/$leg"
  echo
  echo "=== $leg: configure ($dir) ==="
  if ! cmake -S . -B "$dir" -G Ninja "$@"; then
    status[$leg]="FAILED (configure)"
    return 1
  fi
  echo "=== $leg: build ==="
  if ! cmake --build "$dir" -j "$jobs" "${build_args[@]}"; then
    status[$leg]="FAILED (build)"
    return 1
  fi
  echo "=== $leg: test ==="
  if ! ctest --test-dir "$dir" --output-on-failure -j "$jobs" "${ctest_args[@]}"; then
    status[$leg]="FAILED (tests)"
    return 1
  fi
  status[$leg]="passed"
}

for leg in "${legs[@]}"; do
  case "$leg" in
    gcc)
      run_leg gcc -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug || failed=1
      ;;
    clang-asan)
      run_leg clang-asan -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
        -DAPIKEYS_SANITIZE=address,undefined || failed=1
      ;;
    tsan)
      run_leg tsan -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DAPIKEYS_SANITIZE=thread || failed=1
      ;;
    fuzz)
      run_leg fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 \
        -DAPIKEYS_FUZZ=ON "-DAPIKEYS_FUZZ_SECONDS=${FUZZ_SECONDS:-20}" || failed=1
      ;;
    compat)
      compat_dir="${APIKEYS_COMPAT_DIR:-$(cd .. && pwd)/shared/compat}"
      fmt_dir=$(ls -d "$compat_dir"/fmt-* 2>/dev/null | sort -V | tail -n 1)
      simdjson_dir=$(ls -d "$compat_dir"/simdjson-* 2>/dev/null | sort -V | tail -n 1)
      httplib_dir=$(ls -d "$compat_dir"/cpp-httplib-* 2>/dev/null | sort -V | tail -n 1)
      if [ -z "$fmt_dir" ] || [ -z "$simdjson_dir" ] || [ -z "$httplib_dir" ]; then
        echo
        echo "=== compat: skipped (no fmt-*, simdjson-* and cpp-httplib-* release trees in $compat_dir) ==="
        status[compat]="skipped (no $compat_dir)"
        continue
      fi
      # No optimisation and no debug info: the leg checks that everything compiles and behaves, quickly.
      run_leg compat -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE= -DAPIKEYS_INSTALL=OFF \
        "-DAPIKEYS_FMT_SOURCE_DIR=$fmt_dir" "-DAPIKEYS_SIMDJSON_SOURCE_DIR=$simdjson_dir" \
        "-DAPIKEYS_HTTPLIB_SOURCE_DIR=$httplib_dir" || failed=1
      ;;
    single-header)
      if [ ! -f single_include/apikeys/apikeys.hpp ]; then
        echo
        echo "=== single-header: skipped (no single_include/apikeys/apikeys.hpp; run python3 tools/amalgamate.py) ==="
        status[single-header]="skipped (no single header)"
        continue
      fi
      # Optimised (g++'s -O2 warnings differ from -O0's) but without debug info, which would double its
      # build time.
      run_leg single-header -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O2 \
        -DAPIKEYS_USE_SINGLE_HEADER=ON || failed=1
      ;;
  esac
done

echo
echo "=== summary ==="
for leg in "${legs[@]}"; do
  printf '  %-14s %s\n' "$leg" "${status[$leg]:-not run}"
done
exit $failed
