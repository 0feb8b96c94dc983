// apikeys benchmarks, part 2: building each operation's request, into a fresh request and into a reused one.
#include <string>

#include <benchmark/benchmark.h>

#include <apikeys/apikeys.hpp>

#include "support/alloc_counter.hpp"
#include "support/fixtures.hpp"

namespace {

using apikeys::http_request;
namespace ops = apikeys::ops;

struct inputs {
  std::string token = apikeys_bench::refresh_token();
  ops::request_context ctx{apikeys_bench::host, token, std::chrono::milliseconds{60'000}};
  apikeys::object_id id = apikeys_bench::sample_id();
  // The descriptors are made once: what is measured is the building of their requests.
  ops::create_key create{"bench-key-007"};
  ops::fetch_key fetch{id};
  ops::toggle_key enable{id, true};
  ops::toggle_key disable{id, false};
  ops::delete_key remove{id};
  ops::log_in login{apikeys::credentials::api_key(apikeys_bench::pseudo_text(64, apikeys_bench::alnum, 9))};
  apikeys::app_config app = [] {
    apikeys::app_config config;
    config.app_id = "apikeys-benchmark-app";
    return config;
  }();
};

const inputs& in() {
  static const inputs values;
  return values;
}

void create(http_request& r) { (void)in().create.build(r, in().ctx); }
void fetch(http_request& r) { (void)in().fetch.build(r, in().ctx); }
void fetch_all(http_request& r) { (void)ops::fetch_keys{}.build(r, in().ctx); }
void enable(http_request& r) { (void)in().enable.build(r, in().ctx); }
void disable(http_request& r) { (void)in().disable.build(r, in().ctx); }
void remove(http_request& r) { (void)in().remove.build(r, in().ctx); }
void login(http_request& r) {
  const ops::request_context no_token{apikeys_bench::host, {}, in().ctx.timeout};
  (void)in().login.build(r, no_token, in().app);
}

// A new request each time: what a caller that keeps nothing between calls pays (the client does this).
template <void (*Build)(http_request&)>
void build_fresh(benchmark::State& state) {
  (void)in();
  apikeys_bench::alloc_scope allocs;
  for (auto _ : state) {
    http_request request;
    Build(request);
    benchmark::DoNotOptimize(request);
  }
  allocs.report(state);
}

// One request rebuilt in place: its strings and header vector keep their capacity.
template <void (*Build)(http_request&)>
void build_reused(benchmark::State& state) {
  http_request request;
  Build(request);
  apikeys_bench::alloc_scope allocs;
  for (auto _ : state) {
    Build(request);
    benchmark::DoNotOptimize(request);
  }
  allocs.report(state);
  state.counters["body_bytes"] = static_cast<double>(request.body.size());
}

#define APIKEYS_BENCH_BUILD(op)                                                        \
  BENCHMARK(build_fresh<&op>)->Name("build/" #op "/fresh");                            \
  BENCHMARK(build_reused<&op>)->Name("build/" #op "/reused")

APIKEYS_BENCH_BUILD(create);
APIKEYS_BENCH_BUILD(fetch);
APIKEYS_BENCH_BUILD(fetch_all);
APIKEYS_BENCH_BUILD(enable);
APIKEYS_BENCH_BUILD(disable);
APIKEYS_BENCH_BUILD(remove);
APIKEYS_BENCH_BUILD(login);

}  // namespace
