// apikeys benchmarks: Google Benchmark's main, plus `--profile NAME N` to run one benchmark's body N times.
//
// Under callgrind a fixed number of calls makes instruction counts per call exact and repeatable:
//   valgrind --tool=callgrind apikeys_bench --profile decode/list20/apikeys 1000
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <benchmark/benchmark.h>

#include "support/profile.hpp"

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--profile") == 0) {
    const auto* body = apikeys_bench::find_profile(argv[2]);
    if (!body) {
      std::fprintf(stderr, "no profile named %s\n", argv[2]);
      return 2;
    }
    const long n = std::strtol(argv[3], nullptr, 10);
    (*body)();  // warm up: thread-local buffers, once
    for (long i = 0; i < n; ++i) apikeys_bench::profiled_call(*body);
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
