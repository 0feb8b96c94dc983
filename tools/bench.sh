#!/usr/bin/env bash
# Builds the apikeys benchmarks (g++, Release, -O2), runs them, and prints a table of ratios: tools/bench.sh [options]
#
# Options:
#   --out DIR        where the raw results and the table go (default: build/bench/results)
#   --reps N         Google Benchmark repetitions; the table uses their medians (default: 5)
#   --min-time S     minimum seconds per repetition of an in-process benchmark (default: 0.2)
#   --compile-reps N compilations of each compile-time unit (default: 5)
#   --no-native      skip the second decode run built with -march=native
#   --no-loopback    skip the loopback HTTP benchmarks
#   --no-compile     skip the compile-time measurements
#   --callgrind      also count instructions per call under callgrind (valgrind; -O2 -g build in
#                    build/bench-prof): exact and repeatable where timings are noisy; adds about a minute
# Builds in build/bench (and build/bench-native). Never run by CTest; takes about five minutes.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=build/bench/results
reps=5
min_time=0.2
compile_reps=5
native=1
loopback=1
compile=1
callgrind=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --min-time) min_time="$2"; shift 2 ;;
    --compile-reps) compile_reps="$2"; shift 2 ;;
    --no-native) native=0; shift ;;
    --no-loopback) loopback=0; shift ;;
    --no-compile) compile=0; shift ;;
    --callgrind) callgrind=1; shift ;;
    -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

packages=(cmake ninja-build g++ libsimdjson-dev libfmt-dev libcpp-httplib-dev libssl-dev pkg-config python3
          libbenchmark-dev nlohmann-json3-dev)
[ "$callgrind" = 1 ] && packages+=(valgrind)
. tools/lib/packages.sh
ensure_packages bench.sh "${packages[@]}" || exit 1

mkdir -p "$out"
rm -f "$out"/bench.json "$out"/bench.txt "$out"/bench-native.json "$out"/bench-native.txt \
      "$out"/loopback.json "$out"/loopback.txt "$out"/compile.txt "$out"/table.md "$out"/callgrind.txt
jobs=2
release=(-G Ninja -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DAPIKEYS_BUILD_TESTS=OFF
         -DAPIKEYS_BUILD_EXAMPLES=OFF -DAPIKEYS_BUILD_TOOLS=OFF -DAPIKEYS_INSTALL=OFF
         -DAPIKEYS_BUILD_BENCHMARKS=ON)

# --- build ----------------------------------------------------------------------------------------------------
echo "=== bench.sh: build (g++ Release -O2) ==="
cmake -S . -B build/bench "${release[@]}" -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
targets=(apikeys_bench)
[ "$loopback" = 1 ] && targets+=(apikeys_bench_loopback)
cmake --build build/bench -j "$jobs" --target "${targets[@]}"
if [ "$native" = 1 ]; then
  echo "=== bench.sh: build with -march=native ==="
  cmake -S . -B build/bench-native "${release[@]}" -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG -march=native" >/dev/null
  cmake --build build/bench-native -j "$jobs" --target apikeys_bench
fi

# --- run ------------------------------------------------------------------------------------------------------
common=(--benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true --benchmark_out_format=json)
echo "=== bench.sh: decode, build, client (in memory) ==="
build/bench/benchmarks/apikeys_bench "${common[@]}" --benchmark_min_time="$min_time" \
  --benchmark_out="$out/bench.json" | tee "$out/bench.txt"
if [ "$native" = 1 ]; then
  echo "=== bench.sh: decode with -march=native ==="
  build/bench-native/benchmarks/apikeys_bench "${common[@]}" --benchmark_min_time="$min_time" \
    --benchmark_filter='^decode/' --benchmark_out="$out/bench-native.json" | tee "$out/bench-native.txt"
fi
if [ "$loopback" = 1 ]; then
  echo "=== bench.sh: loopback HTTP ==="
  build/bench/benchmarks/apikeys_bench_loopback "${common[@]}" --benchmark_out="$out/loopback.json" \
    | tee "$out/loopback.txt"
fi

# --- compile time ---------------------------------------------------------------------------------------------
if [ "$compile" = 1 ]; then
  echo "=== bench.sh: compile time (g++ -std=c++20 -O2 -c, $compile_reps rounds) ==="
  single=build/bench/single_include
  mkdir -p "$single/apikeys"
  python3 tools/amalgamate.py --output "$single/apikeys/apikeys.hpp" >/dev/null
  printf '#include <apikeys/apikeys.hpp>\n' > build/bench/include_only.cpp
  python3 benchmarks/compile_time.py --rounds "$compile_reps" --out "$out/compile.txt" \
    "apikeys=-Iinclude benchmarks/compile/all_operations.cpp" \
    "single-header=-I$single -Iinclude benchmarks/compile/all_operations.cpp" \
    "separate=-DAPIKEYS_SEPARATE_COMPILATION -Iinclude benchmarks/compile/all_operations.cpp" \
    "simdjson+fmt=benchmarks/compile/simdjson_fmt.cpp" \
    "include-only=-Iinclude build/bench/include_only.cpp"
fi

# --- callgrind: instructions per call, exact on a loaded machine (opt-in) -----------------------------------
if [ "$callgrind" = 1 ]; then
  echo "=== bench.sh: callgrind (instructions per call, -O2 -g build in build/bench-prof) ==="
  cmake -S . -B build/bench-prof "${release[@]}" -DCMAKE_CXX_FLAGS_RELEASE="-O2 -g -DNDEBUG" >/dev/null
  cmake --build build/bench-prof -j "$jobs" --target apikeys_bench
  profiles=(decode/create/apikeys decode/create/simdjson decode/list20/apikeys decode/list20/simdjson
            decode/error/apikeys decode/error/simdjson decode/login/apikeys decode/login/simdjson
            client/create client/fetch client/fetch_all client/enable)
  calls=1000
  report="$out/callgrind.txt"
  {
    echo "# callgrind: $calls calls of each benchmark body (apikeys_bench --profile NAME $calls), counted"
    echo "# with --toggle-collect='*profiled_call*'; Ir = instructions executed, per call."
  } > "$report"
  for name in "${profiles[@]}"; do
    file="build/bench-prof/callgrind.$(echo "$name" | tr / _)"
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*profiled_call*' \
      --callgrind-out-file="$file" build/bench-prof/benchmarks/apikeys_bench --profile "$name" "$calls" \
      >/dev/null 2>&1
    {
      echo
      echo "## $name"
      callgrind_annotate "$file" 2>/dev/null | python3 benchmarks/callgrind_summary.py --calls "$calls"
    } >> "$report"
  done
  grep -E '^## |^total' "$report"
fi

# --- the table ------------------------------------------------------------------------------------------------
echo
python3 benchmarks/report.py --dir "$out" --reps "$reps" | tee "$out/table.md"
