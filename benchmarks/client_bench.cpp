// apikeys benchmarks, part 3: whole client calls over a transport that answers at once, less that transport.
#include <list>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include <apikeys/apikeys.hpp>

#include "support/alloc_counter.hpp"
#include "support/fixtures.hpp"
#include "support/profile.hpp"

namespace {

using apikeys::http_request;
using apikeys::http_response;

// Hands back a copy of a prebuilt answer, padded as a real adapter leaves it. Its own cost (the copy) is
// measured alone as transport/<op>, and the difference is what the library itself costs per call.
struct canned_transport {
  const http_response* answer = nullptr;
  const http_response* location = nullptr;  // for the app client's one location lookup

  http_response send(const http_request& request) const {
    const http_response& from = location && request.url.ends_with("/location") ? *location : *answer;
    http_response out;
    out.status = from.status;
    out.headers = from.headers;
    out.body.reserve(from.body.size() + apikeys_bench::body_padding);
    out.body.assign(from.body);
    return out;
  }
};

const http_response& answer_for(std::string_view op) {
  using namespace apikeys_bench;
  static const http_response created = json_response(201, create_body());
  static const http_response key = json_response(200, key_body());
  static const http_response list = json_response(200, key_list_body(20));
  static const http_response missing = json_response(404, error_body());
  static const http_response login = json_response(200, login_body());
  static const http_response no_content = json_response(204, "");
  if (op == "create") return created;
  if (op == "fetch") return key;
  if (op == "fetch_all") return list;
  if (op == "fetch_missing") return missing;
  if (op == "login") return login;
  return no_content;
}
const http_response& location_answer() {
  static const http_response r = apikeys_bench::json_response(200, apikeys_bench::location_body());
  return r;
}

template <class Call>
void run_calls(benchmark::State& state, Call&& call) {
  call();  // thread-local parser and buffers, and the app's location lookup, happen once before counting
  apikeys_bench::alloc_scope allocs;
  for (auto _ : state) {
    auto out = call();
    benchmark::DoNotOptimize(out);
  }
  allocs.report(state);
}

void key_call(benchmark::State& state, std::string_view op) {
  canned_transport transport{&answer_for(op)};
  apikeys::basic_api_key_client<canned_transport&> client(transport, apikeys_bench::make_session());
  const apikeys::object_id id = apikeys_bench::sample_id();
  if (op == "create") return run_calls(state, [&] { return client.create("bench-key-007"); });
  if (op == "fetch") return run_calls(state, [&] { return client.fetch(id); });
  if (op == "fetch_missing") return run_calls(state, [&] { return client.fetch(id); });
  if (op == "fetch_all") return run_calls(state, [&] { return client.fetch_all(); });
  // void calls: the lambda returns something DoNotOptimize can hold.
  if (op == "enable") return run_calls(state, [&] { return client.enable(id), 0; });
  if (op == "disable") return run_calls(state, [&] { return client.disable(id), 0; });
  if (op == "remove") return run_calls(state, [&] { return client.remove(id), 0; });
  state.SkipWithError("unknown operation");
}

void login_call(benchmark::State& state) {
  canned_transport transport{&answer_for("login"), &location_answer()};
  apikeys::app_config config;
  config.app_id = "apikeys-benchmark-app";
  apikeys::basic_app_client<canned_transport&> app(transport, config);
  const auto creds = apikeys::credentials::api_key(apikeys_bench::pseudo_text(64, apikeys_bench::alnum, 9));
  run_calls(state, [&] { return app.log_in(creds); });
}

// The cost of logging: the same calls with a sink that discards every event, at `level` (trace: every event
// built and handed over; warn: the sink is on but a successful call's events are below it, so each report
// is one comparison). client/<op> is the baseline: no sink, in the same run.
void logged_call(benchmark::State& state, std::string_view op, apikeys::log_level level) {
  canned_transport transport{&answer_for(op)};
  apikeys::client_options options;
  options.logger = apikeys::log_sink([](const apikeys::log_event& e) { benchmark::DoNotOptimize(&e); }, level);
  apikeys::basic_api_key_client<canned_transport&> client(transport, apikeys_bench::make_session(), options);
  const apikeys::object_id id = apikeys_bench::sample_id();
  if (op == "create") return run_calls(state, [&] { return client.create("bench-key-007"); });
  if (op == "fetch") return run_calls(state, [&] { return client.fetch(id); });
  state.SkipWithError("unknown operation");
}
void logged_fetch_trace(benchmark::State& s) { logged_call(s, "fetch", apikeys::log_level::trace); }
void logged_fetch_warn(benchmark::State& s) { logged_call(s, "fetch", apikeys::log_level::warn); }
void logged_create_trace(benchmark::State& s) { logged_call(s, "create", apikeys::log_level::trace); }
BENCHMARK(logged_fetch_trace)->Name("client/fetch/noop_sink_trace");
BENCHMARK(logged_fetch_warn)->Name("client/fetch/noop_sink_warn");
BENCHMARK(logged_create_trace)->Name("client/create/noop_sink_trace");

// The transport alone, called the same way: the part of client/<op> that is not the library.
void transport_only(benchmark::State& state, std::string_view op) {
  const canned_transport transport{&answer_for(op)};
  http_request request;
  (void)apikeys::ops::fetch_keys{}.build(request, {apikeys_bench::host, "token", {}});
  run_calls(state, [&] { return transport.send(request); });
}

// For --profile: one client and transport per operation, alive until the program ends.
struct profiled_client {
  explicit profiled_client(std::string_view op)
      : transport{&answer_for(op)}, client(transport, apikeys_bench::make_session()) {}
  canned_transport transport;
  apikeys::basic_api_key_client<canned_transport&> client;
};

bool profile_client(const char* name, std::string_view op) {
  static std::list<profiled_client> clients;  // a list: elements never move, so references stay valid
  auto& client = clients.emplace_back(op).client;
  const apikeys::object_id id = apikeys_bench::sample_id();
  return apikeys_bench::add_profile(name, [&client, id, op] {
    if (op == "create")
      benchmark::DoNotOptimize(client.create("bench-key-007"));
    else if (op == "fetch_all")
      benchmark::DoNotOptimize(client.fetch_all());
    else if (op == "enable")
      client.enable(id);
    else
      benchmark::DoNotOptimize(client.fetch(id));
  });
}
[[maybe_unused]] const bool client_profiles = profile_client("client/create", "create") &&
                                              profile_client("client/fetch", "fetch") &&
                                              profile_client("client/fetch_all", "fetch_all") &&
                                              profile_client("client/enable", "enable");

#define APIKEYS_BENCH_CLIENT(op)                                                                  \
  void client_##op(benchmark::State& s) { key_call(s, #op); }                                     \
  void transport_##op(benchmark::State& s) { transport_only(s, #op); }                            \
  BENCHMARK(client_##op)->Name("client/" #op);                                                    \
  BENCHMARK(transport_##op)->Name("transport/" #op)

APIKEYS_BENCH_CLIENT(create);
APIKEYS_BENCH_CLIENT(fetch);
APIKEYS_BENCH_CLIENT(fetch_all);
APIKEYS_BENCH_CLIENT(enable);
APIKEYS_BENCH_CLIENT(disable);
APIKEYS_BENCH_CLIENT(remove);
APIKEYS_BENCH_CLIENT(fetch_missing);

void client_login(benchmark::State& s) { login_call(s); }
void transport_login(benchmark::State& s) { transport_only(s, "login"); }
BENCHMARK(client_login)->Name("client/login");
BENCHMARK(transport_login)->Name("transport/login");

}  // namespace
