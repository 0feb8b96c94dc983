// apikeys benchmarks: heap allocations made by this thread, counted by the replaced global operator new.
#ifndef APIKEYS_BENCH_ALLOC_COUNTER_HPP
#define APIKEYS_BENCH_ALLOC_COUNTER_HPP

#include <cstdint>

#include <benchmark/benchmark.h>

namespace apikeys_bench {

/// operator new calls (every form, nothrow and aligned included) made so far by the calling thread.
/// Per thread, so a loopback server's threads never count against the client being measured.
std::uint64_t allocations() noexcept;

/// Counts the allocations of a benchmark's timed loop: construct it just before the loop, call
/// report() just after, and the run shows `allocs/op` (allocations per iteration).
class alloc_scope {
 public:
  alloc_scope() noexcept : start_(allocations()) {}
  void report(benchmark::State& state) const {
    state.counters["allocs/op"] =
        benchmark::Counter(static_cast<double>(allocations() - start_), benchmark::Counter::kAvgIterations);
  }

 private:
  std::uint64_t start_;
};

}  // namespace apikeys_bench

#endif  // APIKEYS_BENCH_ALLOC_COUNTER_HPP
