// apikeys benchmarks, part 4: a client call over loopback HTTP against the raw adapter sending the same bytes.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <httplib.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/emulator_server.hpp>
#include <apikeys/transport/httplib.hpp>
#if APIKEYS_BENCH_HAVE_CURL
#include <apikeys/transport/curl.hpp>
#endif

#include "support/alloc_counter.hpp"
#include "support/fixtures.hpp"
#include "support/hand_decoders.hpp"

namespace {

using apikeys::http_request;
using clock_type = std::chrono::steady_clock;
namespace ops = apikeys::ops;

// --- the servers ------------------------------------------------------------------------------------------

// Answers every key route with a fixed body and does nothing else, so the time around it is the client's
// and the network's: what is left of the ratio is apikeys' overhead.
class fixed_server {
 public:
  fixed_server() {
    server_.set_keep_alive_max_count(1'000'000);
    server_.set_tcp_nodelay(true);
    const std::string keys{ops::keys_path};
    const std::string one_key = keys + "/[0-9a-f]{24}";
    server_.Post(keys, [](const httplib::Request&, httplib::Response& res) {
      res.status = 201;
      res.set_content(apikeys_bench::create_body(), "application/json");
    });
    server_.Get(keys, [list = apikeys_bench::key_list_body(20)](const httplib::Request&, httplib::Response& res) {
      res.set_content(list, "application/json");
    });
    server_.Get(one_key, [](const httplib::Request&, httplib::Response& res) {
      res.set_content(apikeys_bench::key_body(), "application/json");
    });
    const auto no_content = [](const httplib::Request&, httplib::Response& res) { res.status = 204; };
    server_.Put(one_key + "/(enable|disable)", no_content);
    server_.Delete(one_key, no_content);
    const int port = server_.bind_to_any_port("127.0.0.1");
    if (port <= 0) throw std::runtime_error("fixed_server: cannot listen on 127.0.0.1");
    base_url_ = "http://127.0.0.1:" + std::to_string(port);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 2000 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  fixed_server(const fixed_server&) = delete;
  fixed_server& operator=(const fixed_server&) = delete;
  ~fixed_server() {
    server_.stop();
    thread_.join();
  }
  const std::string& base_url() const noexcept { return base_url_; }

 private:
  httplib::Server server_;
  std::string base_url_;
  std::thread thread_;
};

// The emulator over HTTP, with one logged-in user who holds 20 keys.
struct emulated {
  apikeys::testing::emulator emu;
  std::unique_ptr<apikeys::testing::emulator_server> server;
  std::shared_ptr<apikeys::session> user;
  std::vector<apikeys::object_id> ids;

  emulated() {
    server = std::make_unique<apikeys::testing::emulator_server>(emu);
    emu.add_user("bench@example.com", "bench-password");
    apikeys::httplib_transport transport;
    apikeys::app_config config;
    config.app_id = emu.app_id();
    config.base_url = server->base_url();
    apikeys::basic_app_client<apikeys::httplib_transport&> app(transport, config);
    user = app.log_in(apikeys::credentials::email_password("bench@example.com", "bench-password"));
    auto keys = app.api_keys(user);
    for (std::size_t i = 0; i < 20; ++i) ids.push_back(keys.create(apikeys_bench::key_name(i)).id);
  }
};

fixed_server& fixed() {
  static fixed_server server;
  return server;
}
emulated& emulator() {
  static emulated e;
  return e;
}

// --- one benchmark: raw adapter and client, alternately, on one keep-alive connection ---------------------

double percentile(std::vector<double>& samples, double p) {
  std::sort(samples.begin(), samples.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1) + 0.5);
  return samples[at];
}

struct target {
  std::string host;
  std::shared_ptr<apikeys::session> user;
  apikeys::object_id id;
};

// Three ways to make the same exchange, timed in turn on one keep-alive connection:
//   raw     the adapter alone sending the client's bytes (no decoding at all);
//   minimal raw plus a hand-written simdjson decode of the answer: the least any client must do;
//   client  the apikeys client call (build, send, classify, decode, policy, executor).
template <class Transport, class HandDecode, class ClientCall>
void trio_run(benchmark::State& state, const target& where,
              void (*build)(http_request&, const ops::request_context&, const apikeys::object_id&),
              HandDecode&& hand_decode, ClientCall&& client_call) {
  Transport transport;
  apikeys::basic_api_key_client<Transport&> client(transport, where.user);
  // The raw side sends exactly what the client sends: the same builder, host, token and timeout.
  http_request raw;
  where.user->with_refresh_token([&](std::string_view token) {
    build(raw, ops::request_context{where.host, token, client.options().timeout}, where.id);
  });
  const auto raw_send = [&](bool decode) {
    auto sent = transport.send(raw);
    if (!sent || sent->status < 200 || sent->status > 299) throw std::runtime_error("raw send failed");
    if (decode) {
      auto decoded = hand_decode(*sent);
      benchmark::DoNotOptimize(decoded);
    }
    benchmark::DoNotOptimize(sent);
  };
  const auto run = [&](int which) {
    if (which == 2)
      client_call(client);
    else
      raw_send(which == 1);
  };
  for (int i = 0; i < 20; ++i)  // connect, and let every path settle
    for (int which = 0; which < 3; ++which) run(which);

  std::vector<double> us[3];
  std::uint64_t allocs[3] = {};
  for (auto& v : us) v.reserve(static_cast<std::size_t>(state.max_iterations));
  int first = 0;
  for (auto _ : state) {
    for (int k = 0; k < 3; ++k) {
      const int which = (first + k) % 3;
      const std::uint64_t a0 = apikeys_bench::allocations();
      const auto t0 = clock_type::now();
      run(which);
      const std::chrono::duration<double, std::micro> took = clock_type::now() - t0;
      us[which].push_back(took.count());
      allocs[which] += apikeys_bench::allocations() - a0;
    }
    first = (first + 1) % 3;  // rotate, so no path always runs first (or on the warmest cache)
  }
  const double n = static_cast<double>(us[0].size());
  const char* names[3] = {"raw", "minimal", "client"};
  double p50[3];
  for (int i = 0; i < 3; ++i) {
    p50[i] = percentile(us[i], 0.50);
    state.counters[std::string{names[i]} + "_p50_us"] = p50[i];
    state.counters[std::string{names[i]} + "_p99_us"] = percentile(us[i], 0.99);
    state.counters[std::string{names[i]} + "_allocs/op"] = static_cast<double>(allocs[i]) / n;
  }
  state.counters["client/raw_p50"] = p50[2] / p50[0];
  state.counters["client/minimal_p50"] = p50[2] / p50[1];
}

void build_create(http_request& r, const ops::request_context& ctx, const apikeys::object_id&) {
  static const ops::create_key create{"bench-key-007"};
  (void)create.build(r, ctx);
}
void build_fetch(http_request& r, const ops::request_context& ctx, const apikeys::object_id& id) {
  (void)ops::fetch_key{id}.build(r, ctx);
}
void build_fetch_all(http_request& r, const ops::request_context& ctx, const apikeys::object_id&) {
  (void)ops::fetch_keys{}.build(r, ctx);
}
void build_enable(http_request& r, const ops::request_context& ctx, const apikeys::object_id& id) {
  (void)ops::toggle_key{id, true}.build(r, ctx);
}

target fixed_target() {
  return {fixed().base_url(), apikeys_bench::make_session(fixed().base_url()), apikeys_bench::sample_id()};
}
target emulator_target() {
  auto& e = emulator();
  return {e.server->base_url(), e.user, e.ids.front()};
}

template <class Transport>
void loopback(benchmark::State& state, target (*where)(), std::string_view op) {
  const target t = where();
  namespace hand = apikeys_bench::hand;
  if (op == "create")
    trio_run<Transport>(state, t, &build_create, &hand::decode_created_key,
                        [](auto& c) { benchmark::DoNotOptimize(c.create("bench-key-007")); });
  else if (op == "fetch")
    trio_run<Transport>(state, t, &build_fetch, &hand::decode_key,
                        [&](auto& c) { benchmark::DoNotOptimize(c.fetch(t.id)); });
  else if (op == "fetch_all")
    trio_run<Transport>(state, t, &build_fetch_all, &hand::decode_key_list,
                        [](auto& c) { benchmark::DoNotOptimize(c.fetch_all()); });
  else if (op == "enable")
    trio_run<Transport>(state, t, &build_enable, [](const apikeys::http_response&) { return 0; },
                        [&](auto& c) { c.enable(t.id); });
  else
    state.SkipWithError("unknown operation");
}

constexpr benchmark::IterationCount rounds = 1000;

// Names read "loopback/<adapter>/<server>/<operation>".
#define APIKEYS_BENCH_LOOPBACK(adapter, transport_type, server, op)                                        \
  void loopback_##adapter##_##server##_##op(benchmark::State& s) {                                       \
    loopback<transport_type>(s, &server##_target, #op);                                                 \
  }                                                                                                       \
  BENCHMARK(loopback_##adapter##_##server##_##op)                                                        \
      ->Name("loopback/" #adapter "/" #server "/" #op)                                                   \
      ->Iterations(rounds)                                                                                \
      ->UseRealTime()

#define APIKEYS_BENCH_LOOPBACK_ALL(adapter, transport_type)            \
  APIKEYS_BENCH_LOOPBACK(adapter, transport_type, fixed, fetch_all);    \
  APIKEYS_BENCH_LOOPBACK(adapter, transport_type, fixed, fetch);        \
  APIKEYS_BENCH_LOOPBACK(adapter, transport_type, fixed, create);       \
  APIKEYS_BENCH_LOOPBACK(adapter, transport_type, fixed, enable);       \
  APIKEYS_BENCH_LOOPBACK(adapter, transport_type, emulator, fetch_all); \
  APIKEYS_BENCH_LOOPBACK(adapter, transport_type, emulator, fetch);     \
  APIKEYS_BENCH_LOOPBACK(adapter, transport_type, emulator, enable)

APIKEYS_BENCH_LOOPBACK_ALL(httplib, apikeys::httplib_transport);
#if APIKEYS_BENCH_HAVE_CURL
APIKEYS_BENCH_LOOPBACK_ALL(curl, apikeys::curl_transport);
#endif

}  // namespace
