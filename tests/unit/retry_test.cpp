// apikeys tests: retrying_transport with a fake clock: what is retried for which method, how often, with what
// delays, Retry-After, the attempt and time bounds, and through the real clients (a reset create is sent once).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/scripted_transport.hpp>
#include <apikeys/transport/retry.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/names.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::retry_options;
using apikeys::testing::scripted_transport;
using ms = std::chrono::milliseconds;
using send_answer = apikeys::result<http_response, transport_error>;
using retrying = apikeys::retrying_transport<scripted_transport&>;

static_assert(apikeys::transport<retrying>);
static_assert(apikeys::transport<apikeys::retrying_transport<scripted_transport>>);

// now() reads a variable; sleep() records the delay and moves both clocks on by it, taking no real time.
struct fake_clock {
  std::chrono::steady_clock::time_point now{std::chrono::hours{1}};
  // Thu, 26 Nov 2026 06:00:00 GMT
  std::chrono::system_clock::time_point wall =
      std::chrono::sys_days{std::chrono::year{2026} / 11 / 26} + std::chrono::hours{6};
  std::vector<ms> delays;

  void advance(ms d) {
    now += d;
    wall += d;
  }
  apikeys::retry_clock clock() {
    apikeys::retry_clock c;
    c.now = [this] { return now; };
    c.sleep = [this](ms d) {
      delays.push_back(d);
      advance(d);
    };
    c.wall_now = [this] { return wall; };
    return c;
  }
};

const apikeys::jitter_function identity = [](ms d) { return d; };

http_request make_request(http_method method) {
  http_request r;
  r.method = method;
  r.url = "https://us-east-1.aws.services.example/api/client/v2.0/auth/api_keys";
  r.headers = {{"Accept", "application/json"},
               {"Content-Type", "application/json;charset=utf-8"},
               {"Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"}};
  if (method == http_method::post) r.body = R"({"name":"my-key"})";
  r.timeout = ms{5000};
  return r;
}

bool same_bytes(const http_request& a, const http_request& b) {
  return a.method == b.method && a.url == b.url && a.headers == b.headers && a.body == b.body;
}

// A status, or (status 0) a transport failure with this code.
struct outcome {
  int status;
  errc code;
};

std::string describe(const outcome& o) {
  return o.status != 0 ? fmt::format("HTTP {}", o.status) : std::string{apikeys::to_string(o.code)};
}

void script(scripted_transport& t, const outcome& o, std::size_t times) {
  for (std::size_t i = 0; i < times; ++i) {
    if (o.status != 0) {
      http_response r;
      r.status = o.status;
      r.headers = {{"Content-Type", "text/plain"}};
      r.body = "answer " + std::to_string(i);
      t.respond(std::move(r));
    } else {
      t.fail(o.code, "boom " + std::to_string(i));
    }
  }
}

constexpr errc transport_codes[] = {errc::transport_error, errc::connection_failed, errc::timeout,
                                    errc::tls_error,       errc::connection_reset,  errc::too_many_redirects};

// --- which failures are retried, for which methods, how often, with which delays --------------------------

TEST_CASE("the table: methods x statuses and transport failures, attempts and exact delays") {
  std::vector<outcome> outcomes;
  for (int s : {429, 502, 503, 504, 500, 400, 401, 404, 409}) outcomes.push_back({s, errc::transport_error});
  for (errc c : transport_codes) outcomes.push_back({0, c});

  for (http_method method : {http_method::get, http_method::put, http_method::delete_, http_method::post}) {
    for (const outcome& o : outcomes) {
      const std::string what = describe(o);
      INFO(apikeys::to_string(method), " answered ", what);
      const bool idempotent = method != http_method::post;
      const bool retry_status = o.status == 429 || o.status == 502 || o.status == 503 || o.status == 504;
      const bool retried = o.status == 0 ? (idempotent || o.code == errc::connection_failed) : (idempotent && retry_status);

      scripted_transport inner;
      script(inner, o, 4);
      fake_clock clock;
      retrying wrapper{inner, retry_options{}, clock.clock(), identity};
      const http_request request = make_request(method);
      const send_answer answer = wrapper.send(request);

      const std::size_t expected_attempts = retried ? 3 : 1;
      CHECK(inner.request_count() == expected_attempts);
      CHECK(inner.pending() == 4 - expected_attempts);
      CHECK(clock.delays == (retried ? std::vector<ms>{ms{200}, ms{400}} : std::vector<ms>{}));
      for (const auto& sent : inner.requests()) {
        CHECK(same_bytes(sent, request));
        CHECK(sent.timeout == ms{5000});
      }
      // The last answer, unchanged but for the attempt count on a retried transport error.
      const std::string last = std::to_string(expected_attempts - 1);
      if (o.status != 0) {
        REQUIRE(answer.has_value());
        CHECK(answer->status == o.status);
        CHECK(answer->body == "answer " + last);
      } else {
        REQUIRE_FALSE(answer.has_value());
        CHECK(answer.error().code == o.code);
        CHECK(answer.error().message == (retried ? "boom 2 (after 3 attempts)" : "boom 0"));
      }
    }
  }
}

TEST_CASE("a retried request that then succeeds returns the success") {
  for (http_method method : {http_method::get, http_method::put, http_method::delete_}) {
    INFO(apikeys::to_string(method));
    scripted_transport inner;
    inner.respond(503).fail(errc::connection_reset).respond(200, R"({"ok":true})").respond(500);
    fake_clock clock;
    retrying wrapper{inner, retry_options{}, clock.clock(), identity};
    const auto answer = wrapper.send(make_request(method));
    REQUIRE(answer.has_value());
    CHECK(answer->status == 200);
    CHECK(answer->body == R"({"ok":true})");
    CHECK(inner.request_count() == 3);
    CHECK(clock.delays == std::vector<ms>{ms{200}, ms{400}});
  }
  SUBCASE("a POST refused before it was sent is sent again") {
    scripted_transport inner;
    inner.fail(errc::connection_failed, "refused").respond(201, "{}");
    fake_clock clock;
    retrying wrapper{inner, retry_options{}, clock.clock(), identity};
    const auto answer = wrapper.send(make_request(http_method::post));
    REQUIRE(answer.has_value());
    CHECK(answer->status == 201);
    CHECK(inner.request_count() == 2);
    CHECK(clock.delays == std::vector<ms>{ms{200}});
  }
}

TEST_CASE("custom statuses, backoff growth, max_backoff, and a custom jitter") {
  retry_options options;
  options.max_attempts = 6;
  options.initial_backoff = ms{100};
  options.backoff_multiplier = 3.0;
  options.max_backoff = ms{1000};
  options.max_total = ms{60'000};

  SUBCASE("identity jitter: 100, 300, 900, then capped") {
    scripted_transport inner;
    script(inner, {503, errc::transport_error}, 6);
    fake_clock clock;
    retrying wrapper{inner, options, clock.clock(), identity};
    CHECK(wrapper.send(make_request(http_method::get))->status == 503);
    CHECK(inner.request_count() == 6);
    CHECK(clock.delays == std::vector<ms>{ms{100}, ms{300}, ms{900}, ms{1000}, ms{1000}});
  }
  SUBCASE("the jitter gets the computed backoff; what it returns is slept, within [0, max_backoff]") {
    std::vector<ms> asked;
    std::vector<ms> returns{ms{50}, ms{-5}, ms{950}, ms{4000}, ms{1}};
    apikeys::jitter_function jitter = [&](ms d) {
      asked.push_back(d);
      return returns[asked.size() - 1];
    };
    scripted_transport inner;
    script(inner, {0, errc::timeout}, 6);
    fake_clock clock;
    retrying wrapper{inner, options, clock.clock(), jitter};
    CHECK(wrapper.send(make_request(http_method::delete_)).error().code == errc::timeout);
    CHECK(asked == std::vector<ms>{ms{100}, ms{300}, ms{900}, ms{1000}, ms{1000}});
    CHECK(clock.delays == std::vector<ms>{ms{50}, ms{0}, ms{950}, ms{1000}, ms{1}});
  }
  SUBCASE("retry_statuses is the list used: 500 in, 503 out") {
    options.retry_statuses = {500};
    scripted_transport inner;
    inner.respond(500).respond(503).respond(200);
    fake_clock clock;
    retrying wrapper{inner, options, clock.clock(), identity};
    CHECK(wrapper.send(make_request(http_method::get))->status == 503);
    CHECK(inner.request_count() == 2);
    CHECK(clock.delays == std::vector<ms>{ms{100}});
  }
  SUBCASE("the default jitter stays within [d/2, d]") {
    for (int i = 0; i < 200; ++i) {
      const ms d = apikeys::default_jitter(ms{1000});
      CHECK(d >= ms{500});
      CHECK(d <= ms{1000});
    }
    CHECK(apikeys::default_jitter(ms{1}) == ms{1});
    CHECK(apikeys::default_jitter(ms{0}) == ms{0});
  }
}

// --- bounds ------------------------------------------------------------------------------------------------

TEST_CASE("max_attempts bounds the sends") {
  for (std::size_t max : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    INFO("max_attempts ", max);
    retry_options options;
    options.max_attempts = max;
    scripted_transport inner;
    script(inner, {504, errc::transport_error}, 6);
    fake_clock clock;
    retrying wrapper{inner, options, clock.clock(), identity};
    CHECK(wrapper.send(make_request(http_method::get))->status == 504);
    const std::size_t sends = max == 0 ? 1 : max;
    CHECK(inner.request_count() == sends);
    const std::vector<ms> all{ms{200}, ms{400}, ms{800}, ms{1600}};
    CHECK(clock.delays == std::vector<ms>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(sends - 1)));
  }
}

TEST_CASE("max_total: a delay that would reach it is not taken, and each attempt's timeout is cut to what is left") {
  retry_options options;
  options.max_attempts = 10;
  options.max_total = ms{1000};
  fake_clock clock;
  scripted_transport inner;
  // Each exchange takes 100 ms of fake time and answers 503.
  inner.fallback([&](const http_request&) -> send_answer {
    clock.advance(ms{100});
    http_response r;
    r.status = 503;
    return r;
  });

  SUBCASE("a request with no timeout of its own gets the time left") {
    http_request request = make_request(http_method::get);
    request.timeout = ms{0};
    retrying wrapper{inner, options, clock.clock(), identity};
    CHECK(wrapper.send(request)->status == 503);
    // 0: send (100) -> 100, wait 200 -> 300, send -> 400, wait 400 -> 800, send -> 900, 800 more would cross.
    CHECK(clock.delays == std::vector<ms>{ms{200}, ms{400}});
    const auto sent = inner.requests();
    REQUIRE(sent.size() == 3);
    CHECK(sent[0].timeout == ms{1000});
    CHECK(sent[1].timeout == ms{700});
    CHECK(sent[2].timeout == ms{200});
    for (const auto& s : sent) CHECK(same_bytes(s, request));
  }
  SUBCASE("a request's own shorter timeout is kept") {
    http_request request = make_request(http_method::get);
    request.timeout = ms{500};
    retrying wrapper{inner, options, clock.clock(), identity};
    CHECK(wrapper.send(request)->status == 503);
    const auto sent = inner.requests();
    REQUIRE(sent.size() == 3);
    CHECK(sent[0].timeout == ms{500});
    CHECK(sent[1].timeout == ms{500});
    CHECK(sent[2].timeout == ms{200});
  }
  SUBCASE("the boundary: a delay that would end exactly at max_total is not taken, one a millisecond shorter is") {
    for (long long total : {600LL, 601LL}) {
      INFO("max_total ", total);
      options.max_total = ms{total};
      options.max_attempts = 3;
      scripted_transport instant;
      script(instant, {503, errc::transport_error}, 3);
      fake_clock c;
      retrying wrapper{instant, options, c.clock(), identity};
      CHECK(wrapper.send(make_request(http_method::get))->status == 503);
      // 0: send, wait 200 -> 200, send, then 400 more ends at 600.
      CHECK(c.delays == (total == 600 ? std::vector<ms>{ms{200}} : std::vector<ms>{ms{200}, ms{400}}));
      CHECK(instant.request_count() == (total == 600 ? 2u : 3u));
    }
  }
  SUBCASE("no bound on the total: max_attempts alone, timeouts untouched") {
    options.max_total = ms{0};
    options.max_attempts = 4;
    http_request request = make_request(http_method::get);
    request.timeout = ms{0};
    retrying wrapper{inner, options, clock.clock(), identity};
    CHECK(wrapper.send(request)->status == 503);
    CHECK(clock.delays == std::vector<ms>{ms{200}, ms{400}, ms{800}});
    for (const auto& s : inner.requests()) CHECK(s.timeout == ms{0});
  }
}

// --- Retry-After --------------------------------------------------------------------------------------------

struct retry_after_case {
  std::string_view value;
  std::optional<ms> delay;  // nullopt: the backoff (200) is used
};

TEST_CASE("Retry-After: delta-seconds and IMF-fixdate honoured, without jitter; anything else ignored") {
  // The fake wall clock reads Thu, 26 Nov 2026 06:00:00 GMT.
  const retry_after_case cases[] = {
      {"3", ms{3000}},
      {"0", ms{0}},
      {" \t2 ", ms{2000}},
      {"Thu, 26 Nov 2026 06:00:05 GMT", ms{5000}},
      {"Thu, 26 Nov 2026 06:00:00 GMT", ms{0}},
      {"Wed, 25 Nov 2026 23:59:59 GMT", ms{0}},   // in the past
      {"Sun, 06 Nov 1994 08:49:37 GMT", ms{0}},   // the RFC's example, long past
      {"soon", std::nullopt},
      {"-1", std::nullopt},
      {"1.5", std::nullopt},
      {"", std::nullopt},
      {"Thu, 26 Nov 2026 06:00:05 UTC", std::nullopt},
      {"thu, 26 Nov 2026 06:00:05 GMT", std::nullopt},   // day names are case-sensitive
      {"Thu, 31 Nov 2026 06:00:05 GMT", std::nullopt},   // no such day
      {"Thu, 26 Nov 2026 24:00:05 GMT", std::nullopt},
      {"Thu,  26 Nov 2026 06:00:05 GMT", std::nullopt},
      {"Thursday, 26-Nov-26 06:00:05 GMT", std::nullopt},  // obsolete RFC 850 form
      {"Thu Nov 26 06:00:05 2026", std::nullopt},          // obsolete asctime form
  };
  // Halving jitter: a delay of 200 would be 100, so an exact Retry-After proves it skips the jitter.
  const apikeys::jitter_function halve = [](ms d) { return d / 2; };
  for (const auto& c : cases) {
    INFO("Retry-After: '", c.value, "'");
    scripted_transport inner;
    http_response busy;
    busy.status = 503;
    busy.headers = {{"retry-after", std::string{c.value}}};
    inner.respond(busy).respond(200);
    fake_clock clock;
    retrying wrapper{inner, retry_options{}, clock.clock(), halve};
    CHECK(wrapper.send(make_request(http_method::get))->status == 200);
    CHECK(inner.request_count() == 2);
    CHECK(clock.delays == std::vector<ms>{c.delay.value_or(ms{100})});
  }
}

TEST_CASE("Retry-After: a date counts from the wall clock now") {
  fake_clock clock;
  clock.wall += ms{1500};
  scripted_transport inner;
  http_response busy;
  busy.status = 429;
  busy.headers = {{"Retry-After", "Thu, 26 Nov 2026 06:00:05 GMT"}};
  inner.respond(busy).respond(204);
  retrying wrapper{inner, retry_options{}, clock.clock(), identity};
  CHECK(wrapper.send(make_request(http_method::put))->status == 204);
  CHECK(clock.delays == std::vector<ms>{ms{3500}});
}

TEST_CASE("Retry-After asking for more than max_backoff or the time left ends the retries with that answer") {
  SUBCASE("exactly max_backoff is still waited for") {
    scripted_transport inner;
    http_response busy;
    busy.status = 503;
    busy.headers = {{"Retry-After", "10"}};
    inner.respond(busy).respond(200);
    fake_clock clock;
    retrying wrapper{inner, retry_options{}, clock.clock(), identity};
    CHECK(wrapper.send(make_request(http_method::get))->status == 200);
    CHECK(clock.delays == std::vector<ms>{ms{10'000}});
  }
  for (std::string_view value : {"11", "99999999999999999999999999", "Thu, 26 Nov 2026 06:01:00 GMT"}) {
    INFO("Retry-After: ", value);
    scripted_transport inner;
    http_response busy;
    busy.status = 503;
    busy.headers = {{"Retry-After", std::string{value}}};
    busy.body = "come back later";
    inner.respond(busy).respond(200);
    fake_clock clock;
    retrying wrapper{inner, retry_options{}, clock.clock(), identity};
    const auto answer = wrapper.send(make_request(http_method::get));
    CHECK(answer->status == 503);
    CHECK(answer->body == "come back later");
    CHECK(inner.request_count() == 1);
    CHECK(clock.delays.empty());
  }
  SUBCASE("within max_backoff but beyond max_total") {
    retry_options options;
    options.max_backoff = ms{60'000};
    options.max_total = ms{15'000};
    scripted_transport inner;
    http_response busy;
    busy.status = 503;
    busy.headers = {{"Retry-After", "20"}};
    inner.respond(busy).respond(200);
    fake_clock clock;
    retrying wrapper{inner, options, clock.clock(), identity};
    CHECK(wrapper.send(make_request(http_method::get))->status == 503);
    CHECK(inner.request_count() == 1);
    CHECK(clock.delays.empty());
  }
  SUBCASE("ignored on statuses not retried and on POST") {
    for (http_method method : {http_method::get, http_method::post}) {
      scripted_transport inner;
      http_response answer;
      answer.status = method == http_method::get ? 500 : 503;
      answer.headers = {{"Retry-After", "1"}};
      inner.respond(answer).respond(200);
      fake_clock clock;
      retrying wrapper{inner, retry_options{}, clock.clock(), identity};
      CHECK(wrapper.send(make_request(method))->status == answer.status);
      CHECK(inner.request_count() == 1);
    }
  }
}

TEST_CASE("parse_retry_after and parse_imf_fixdate directly") {
  using apikeys::detail::parse_imf_fixdate;
  using std::chrono::sys_days;
  using std::chrono::year;
  CHECK(parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT") ==
        sys_days{year{1994} / 11 / 6} + std::chrono::hours{8} + std::chrono::minutes{49} + std::chrono::seconds{37});
  CHECK(parse_imf_fixdate("Thu, 29 Feb 2024 00:00:00 GMT") == sys_days{year{2024} / 2 / 29});
  CHECK_FALSE(parse_imf_fixdate("Sat, 29 Feb 2025 00:00:00 GMT"));
  CHECK(parse_imf_fixdate("Wed, 31 Dec 2025 23:59:60 GMT") == sys_days{year{2026} / 1 / 1});  // leap second
  CHECK_FALSE(parse_imf_fixdate("Wed, 31 Dec 2025 23:60:00 GMT"));
  CHECK_FALSE(parse_imf_fixdate("Wed, 31 Dek 2025 23:59:59 GMT"));
  CHECK_FALSE(parse_imf_fixdate("Wed, 3x Dec 2025 23:59:59 GMT"));
  CHECK_FALSE(parse_imf_fixdate("Wed, 31 Dec 2025 23:59:59 GMT "));
  const auto wall = std::chrono::system_clock::time_point{sys_days{year{2026} / 11 / 26}};
  CHECK(apikeys::detail::parse_retry_after("Thu, 26 Nov 2026 00:00:01 GMT", wall - ms{1}) == ms{1001});
  CHECK(apikeys::detail::parse_retry_after("120", wall) == ms{120'000});
  CHECK(apikeys::detail::parse_retry_after("9223372036854775807", wall) == ms::max());
}

// --- what the inner transport may do -------------------------------------------------------------------------

struct throwing_transport {
  int sends = 0;
  http_response send(const http_request&) {
    ++sends;
    throw std::runtime_error("kaboom");
  }
};

struct plain_transport {
  std::vector<int> statuses;
  std::size_t sends = 0;
  http_response send(const http_request&) {
    http_response r;
    r.status = statuses.at(sends++);
    return r;
  }
};

TEST_CASE("an inner transport that throws is a transport error, retried as one") {
  for (http_method method : {http_method::get, http_method::post}) {
    INFO(apikeys::to_string(method));
    throwing_transport inner;
    fake_clock clock;
    apikeys::retrying_transport<throwing_transport&> wrapper{inner, retry_options{}, clock.clock(), identity};
    const auto answer = wrapper.send(make_request(method));
    REQUIRE_FALSE(answer.has_value());
    CHECK(answer.error().code == errc::transport_error);
    if (method == http_method::post) {
      CHECK(inner.sends == 1);
      CHECK(answer.error().message == "the transport threw: kaboom");
    } else {
      CHECK(inner.sends == 3);
      CHECK(answer.error().message == "the transport threw: kaboom (after 3 attempts)");
    }
  }
}

TEST_CASE("an inner transport returning a plain http_response, held by value") {
  fake_clock clock;
  apikeys::retrying_transport<plain_transport> wrapper{plain_transport{{502, 429, 200}}, retry_options{}, clock.clock(),
                                                       identity};
  CHECK(wrapper.send(make_request(http_method::delete_))->status == 200);
  CHECK(wrapper.inner().sends == 3);
  CHECK(clock.delays == std::vector<ms>{ms{200}, ms{400}});
}

TEST_CASE("a transport error with no message still says how many attempts it took") {
  scripted_transport inner;
  inner.fail(errc::timeout).fail(errc::timeout);
  fake_clock clock;
  retry_options options;
  options.max_attempts = 2;
  retrying wrapper{inner, options, clock.clock(), identity};
  const auto answer = wrapper.send(make_request(http_method::get));
  CHECK(answer.error().code == errc::timeout);
  CHECK(answer.error().message == "after 2 attempts");
}

// --- through the real clients ---------------------------------------------------------------------------------

constexpr std::string_view host = "https://us-east-1.aws.services.example";
constexpr std::string_view keys_url = "https://us-east-1.aws.services.example/api/client/v2.0/auth/api_keys";
constexpr std::string_view key_one_url =
    "https://us-east-1.aws.services.example/api/client/v2.0/auth/api_keys/5e5e6f0abe4ae2a2c2c2d329";
constexpr std::string_view key_json = R"({"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"my-key","disabled":false})";
constexpr std::string_view key_secret = "k3yS3cretVALUEabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV01";
using namespace apikeys::literals;
constexpr apikeys::object_id key_id = "5e5e6f0abe4ae2a2c2c2d329"_oid;

template <class Policy = apikeys::return_result>
using key_client = apikeys::basic_api_key_client<retrying&, apikeys::inline_executor, Policy>;

std::shared_ptr<apikeys::session> make_user() {
  return std::make_shared<apikeys::session>(
      "user-1", "device-1", "local-userpass", std::string{host},
      apikeys::secret{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJ0eXAiOiJhY2Nlc3MifQ.YWNjZXNzLXNpZw"},
      apikeys::secret{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJ0eXAiOiJyZWZyZXNoIn0.cmVmcmVzaC1zaWc"});
}

TEST_CASE("client: a create answered by a reset connection is sent exactly once") {
  scripted_transport inner;
  inner.fail(errc::connection_reset, "peer reset").respond(201, "{}");
  fake_clock clock;
  retrying wrapper{inner, retry_options{}, clock.clock(), identity};
  SUBCASE("return_result") {
    key_client<> keys{wrapper, make_user()};
    const auto created = keys.create("my-key");
    REQUIRE_FALSE(created.has_value());
    CHECK(created.error().code == errc::connection_reset);
    CHECK(created.error().http_status == 0);
    CHECK(created.error().message == "peer reset");
  }
  SUBCASE("throw_on_error") {
    key_client<apikeys::throw_on_error> keys{wrapper, make_user()};
    CHECK_THROWS_AS((void)keys.create("my-key"), apikeys::api_exception);
  }
  CHECK(inner.request_count() == 1);
  CHECK(inner.pending() == 1);
  CHECK(inner.last_request().method == http_method::post);
  CHECK(inner.last_request().url == keys_url);
  CHECK(clock.delays.empty());
}

TEST_CASE("client: a create refused before connecting is sent again and succeeds") {
  scripted_transport inner;
  inner.fail(errc::connection_failed, "refused")
      .respond(201, fmt::format(R"({{"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"my-key","disabled":false,"key":"{}"}})",
                                key_secret));
  fake_clock clock;
  retrying wrapper{inner, retry_options{}, clock.clock(), identity};
  key_client<> keys{wrapper, make_user()};
  const auto created = keys.create("my-key");
  REQUIRE(created.has_value());
  REQUIRE(created->value.has_value());
  CHECK(created->value->reveal() == key_secret);
  const auto sent = inner.requests();
  REQUIRE(sent.size() == 2);
  CHECK(same_bytes(sent[0], sent[1]));
  CHECK(sent[1].body == R"({"name":"my-key"})");
  CHECK(clock.delays == std::vector<ms>{ms{200}});
}

TEST_CASE("client: fetch answered 503 then 200 succeeds after one delay") {
  scripted_transport inner;
  inner.respond(503).respond(200, std::string{key_json});
  fake_clock clock;
  retrying wrapper{inner, retry_options{}, clock.clock(), identity};
  key_client<> keys{wrapper, make_user()};
  const auto fetched = keys.fetch(key_id);
  REQUIRE(fetched.has_value());
  REQUIRE(fetched->has_value());
  CHECK((*fetched)->name == "my-key");
  const auto sent = inner.requests();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].url == key_one_url);
  CHECK(same_bytes(sent[0], sent[1]));
  CHECK(clock.delays == std::vector<ms>{ms{200}});
}

TEST_CASE("client: fetch_all and enable give the client the last status after the attempts run out") {
  scripted_transport inner;
  inner.respond(429).respond(429).respond(429);
  inner.respond(502).respond(504).respond(204);
  fake_clock clock;
  retrying wrapper{inner, retry_options{}, clock.clock(), identity};
  key_client<> keys{wrapper, make_user()};
  const auto all = keys.fetch_all();
  REQUIRE_FALSE(all.has_value());
  CHECK(all.error().http_status == 429);
  CHECK(all.error().code == errc::http_error);
  CHECK(keys.enable(key_id).has_value());
  CHECK(inner.request_count() == 6);
  CHECK(inner.last_request().method == http_method::put);
  CHECK(clock.delays == std::vector<ms>{ms{200}, ms{400}, ms{200}, ms{400}});
}

TEST_CASE("client: delete on a reset connection is retried") {
  scripted_transport inner;
  fake_clock clock;
  retrying wrapper{inner, retry_options{}, clock.clock(), identity};
  key_client<> keys{wrapper, make_user()};
  SUBCASE("and succeeds") {
    inner.fail(errc::connection_reset).respond(204);
    CHECK(keys.remove(key_id).has_value());
    CHECK(inner.request_count() == 2);
    CHECK(clock.delays == std::vector<ms>{ms{200}});
  }
  SUBCASE("or reports the reset after three attempts") {
    inner.fail(errc::connection_reset, "reset").fail(errc::connection_reset, "reset").fail(errc::connection_reset, "reset");
    const auto removed = keys.remove(key_id);
    REQUIRE_FALSE(removed.has_value());
    CHECK(removed.error().code == errc::connection_reset);
    CHECK(removed.error().message == "reset (after 3 attempts)");
    CHECK(inner.request_count() == 3);
  }
  for (const auto& s : inner.requests()) {
    CHECK(s.method == http_method::delete_);
    CHECK(s.url == key_one_url);
  }
}

TEST_CASE("app client: the location GET is retried, a login POST answered 503 is not") {
  scripted_transport inner;
  inner.respond(503)
      .respond(200, fmt::format(R"({{"deployment_model":"GLOBAL","location":"US-VA","hostname":"{}","ws_hostname":"wss://x"}})",
                                host))
      .respond(503)
      .respond(200, "{}");
  fake_clock clock;
  retrying wrapper{inner, retry_options{}, clock.clock(), identity};
  apikeys::app_config config;
  config.app_id = "keys-app-abcde";
  config.base_url = "https://services.cloud.mongodb.com";
  apikeys::basic_app_client<retrying&, apikeys::inline_executor, apikeys::return_result> app{wrapper, config};
  const auto user = app.log_in(apikeys::credentials::email_password("ada@example.com", "correct horse"));
  REQUIRE_FALSE(user.has_value());
  CHECK(user.error().http_status == 503);
  const auto sent = inner.requests();
  REQUIRE(sent.size() == 3);
  CHECK(sent[0].method == http_method::get);
  CHECK(same_bytes(sent[0], sent[1]));
  CHECK(sent[2].method == http_method::post);
  CHECK(sent[2].url ==
        "https://us-east-1.aws.services.example/api/client/v2.0/app/keys-app-abcde/auth/providers/local-userpass/login");
  CHECK(inner.pending() == 1);
  CHECK(clock.delays == std::vector<ms>{ms{200}});
}

// --- shared between threads ------------------------------------------------------------------------------------

TEST_CASE("one wrapper shared by 4 threads x 50 sends, default jitter and real now()") {
  std::mutex mutex;
  std::map<std::string, int> seen;  // each request fails once, then succeeds
  std::vector<ms> delays;
  scripted_transport inner;
  inner.fallback([&](const http_request& r) -> send_answer {
    std::lock_guard lock(mutex);
    const int times = seen[r.url]++;
    if (times == 0) return apikeys::unexpected{transport_error{errc::connection_reset, "reset"}};
    http_response ok;
    ok.status = 200;
    ok.body = r.url;
    return ok;
  });
  apikeys::retry_clock clock;
  clock.sleep = [&](ms d) {
    std::lock_guard lock(mutex);
    delays.push_back(d);
  };
  retrying wrapper{inner, retry_options{}, clock};
  constexpr int threads = 4, sends = 50;
  std::vector<int> good(threads, 0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&wrapper, &good, t] {
      for (int i = 0; i < sends; ++i) {
        http_request r = make_request(http_method::get);
        r.url += fmt::format("/{}-{}", t, i);
        const auto answer = wrapper.send(r);
        if (answer && answer->status == 200 && answer->body == r.url) ++good[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < threads; ++t) CHECK(good[static_cast<std::size_t>(t)] == sends);
  CHECK(inner.request_count() == static_cast<std::size_t>(2 * threads * sends));
  REQUIRE(delays.size() == static_cast<std::size_t>(threads * sends));
  for (ms d : delays) {
    CHECK(d >= ms{100});
    CHECK(d <= ms{200});
  }
}

}  // namespace
