// apikeys tests: the logging hook (log.hpp): the exact events a call reports, in order, over scripted_transport;
// levels; the sink's guarantees; the fmt sink's line format; the retry wrapper's events.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/executors/future.hpp>
#include <apikeys/testing/event_loop_transport.hpp>
#include <apikeys/testing/scripted_transport.hpp>
#include <apikeys/transport/retry.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/names.hpp"
#include "support/sample_tokens.hpp"

namespace {

using namespace apikeys_tests::names;
using namespace apikeys_tests::sample_tokens;
using namespace apikeys::literals;
using apikeys::log_event;
using apikeys::log_event_kind;
using apikeys::log_level;
using apikeys::log_sink;
using apikeys::testing::scripted_transport;

using key_client = apikeys::basic_api_key_client<scripted_transport&, apikeys::inline_executor, apikeys::return_result>;
using app_client = apikeys::basic_app_client<scripted_transport&, apikeys::inline_executor, apikeys::return_result>;

constexpr std::string_view host = "https://us-east-1.aws.services.example";
constexpr std::string_view key_id_text = "5e5e6f0abe4ae2a2c2c2d329";
constexpr object_id key_id = "5e5e6f0abe4ae2a2c2c2d329"_oid;

// An event with its views copied out, so it can be kept and compared after the sink returned.
struct seen {
  log_event_kind kind;
  log_level level;
  http_method method;
  std::string route;
  std::string host;
  int status;
  std::size_t body_size;
  std::size_t attempt;
  std::string why;
  std::chrono::milliseconds wait;
  std::string line;  // the fmt sink's line for it
};

struct capture {
  std::mutex mutex;
  std::vector<seen> events;

  log_sink sink(log_level level = log_level::trace) {
    return log_sink([this](const log_event& e) {
      const std::lock_guard lock(mutex);
      events.push_back({e.kind, e.level, e.method, std::string{e.route}, std::string{e.host}, e.status, e.body_size,
                        e.attempt, std::string{e.why}, e.wait, apikeys::detail::describe(e)});
    }, level);
  }
  std::vector<std::string> lines() {
    const std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.line);
    return out;
  }
};

std::shared_ptr<session> make_user() {
  return std::make_shared<session>("user-1", "device-1", "local-userpass", std::string{host}, secret{access_token},
                                   secret{refresh_token});
}

apikeys::app_config make_config(log_sink logger) {
  apikeys::app_config config;
  config.app_id = "keys-app-abcde";
  config.base_url = "https://services.cloud.mongodb.com";
  config.logger = std::move(logger);
  return config;
}

std::string location_json() {
  return fmt::format(
      R"({{"deployment_model":"GLOBAL","location":"US-VA","hostname":"{}","ws_hostname":"wss://us-east-1.aws.ws.example"}})",
      host);
}
std::string login_json() {
  return fmt::format(R"({{"access_token":"{}","refresh_token":"{}","user_id":"user-1","device_id":"device-9"}})",
                     access_token, refresh_token);
}
std::string profile_json() {
  return R"({"user_id":"user-1","domain_id":"d","identities":[{"id":"i1","provider_type":"local-userpass",)"
         R"("provider_id":"p1"}],"data":{"email":"ada@example.com"},"type":"normal"})";
}

std::string created_json() {
  return fmt::format(R"({{"_id":"{}","name":"laptop","key":"{}","disabled":false}})", key_id_text, key_value);
}

void check_no_secret(const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    INFO(line);
    for (std::string_view s : {key_value, access_token, refresh_token, refreshed_access_token, std::string_view{"correct horse"}})
      CHECK(line.find(s) == std::string::npos);
    CHECK(line.find("Bearer") == std::string::npos);
    CHECK(line.find('?') == std::string::npos);
  }
}

TEST_CASE("a create reports request_started then response, with the path only") {
  scripted_transport transport;
  transport.respond(201, created_json());
  capture seen_events;
  key_client keys{transport, make_user(), apikeys::client_options{std::chrono::milliseconds{5000}, seen_events.sink()}};
  REQUIRE(keys.create("laptop"));

  const auto& events = seen_events.events;
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == log_event_kind::request_started);
  CHECK(events[0].level == log_level::debug);
  CHECK(events[0].method == http_method::post);
  CHECK(events[0].route == "/api/client/v2.0/auth/api_keys");
  CHECK(events[0].line == "apikeys debug request_started method=POST route=/api/client/v2.0/auth/api_keys");
  CHECK(events[1].kind == log_event_kind::response);
  CHECK(events[1].level == log_level::info);
  CHECK(events[1].method == http_method::post);
  CHECK(events[1].route == "/api/client/v2.0/auth/api_keys");
  CHECK(events[1].status == 201);
  CHECK(events[1].body_size == created_json().size());
  CHECK(events[1].line.starts_with("apikeys info response method=POST route=/api/client/v2.0/auth/api_keys status=201 duration_us="));
  CHECK(events[1].line.ends_with(fmt::format(" body_bytes={}", created_json().size())));
  check_no_secret(seen_events.lines());
}

TEST_CASE("a 401 to a key call reports the response at warn, session_ended, then the revoking DELETE") {
  scripted_transport transport;
  transport.respond(401, R"({"error":"invalid session","error_code":"InvalidSession"})").respond(204, "");
  capture seen_events;
  key_client keys{transport, make_user(), apikeys::client_options{std::chrono::milliseconds{5000}, seen_events.sink()}};
  const auto fetched = keys.fetch(key_id);
  REQUIRE_FALSE(fetched);
  CHECK_FALSE(keys.user()->logged_in());

  const auto& events = seen_events.events;
  REQUIRE(events.size() == 5);
  CHECK(events[0].kind == log_event_kind::request_started);
  CHECK(events[0].route == fmt::format("/api/client/v2.0/auth/api_keys/{}", key_id_text));
  CHECK(events[1].kind == log_event_kind::response);
  CHECK(events[1].level == log_level::warn);
  CHECK(events[1].method == http_method::get);
  CHECK(events[1].status == 401);
  CHECK(events[2].kind == log_event_kind::session_ended);
  CHECK(events[2].level == log_level::info);
  CHECK(events[2].why == "the server refused the refresh token (401)");
  CHECK(events[2].line == "apikeys info session_ended why=the server refused the refresh token (401)");
  // Then the DELETE that revokes the session on the server (docs/protocol.md section 7).
  CHECK(events[3].kind == log_event_kind::request_started);
  CHECK(events[3].method == http_method::delete_);
  CHECK(events[3].route == "/api/client/v2.0/auth/session");
  CHECK(events[4].kind == log_event_kind::response);
  CHECK(events[4].status == 204);

  // A call refused locally afterwards sends nothing and reports nothing.
  seen_events.events.clear();
  CHECK_FALSE(keys.fetch_all());
  CHECK(seen_events.events.empty());
}

TEST_CASE("the app reports its location lookup once, and its key clients inherit its sink") {
  scripted_transport transport;
  transport.respond(200, location_json()).respond(200, login_json()).respond(200, profile_json()).respond(201, created_json());
  capture seen_events;
  app_client app{transport, make_config(seen_events.sink())};
  auto user = app.log_in(apikeys::credentials::email_password("ada@example.com", "correct horse"));
  REQUIRE(user);
  auto keys = app.api_keys(*user);
  REQUIRE(keys.create("laptop"));

  const auto& events = seen_events.events;
  REQUIRE(events.size() == 9);
  CHECK(events[0].kind == log_event_kind::request_started);
  CHECK(events[0].method == http_method::get);
  CHECK(events[0].route == "/api/client/v2.0/app/keys-app-abcde/location");
  CHECK(events[1].kind == log_event_kind::response);
  CHECK(events[1].status == 200);
  CHECK(events[2].kind == log_event_kind::location_resolved);
  CHECK(events[2].level == log_level::info);
  CHECK(events[2].host == host);
  CHECK(events[2].line == fmt::format("apikeys info location_resolved host={}", host));
  CHECK(events[3].kind == log_event_kind::request_started);
  CHECK(events[3].method == http_method::post);
  CHECK(events[3].route == "/api/client/v2.0/app/keys-app-abcde/auth/providers/local-userpass/login");
  CHECK(events[4].kind == log_event_kind::response);
  CHECK(events[4].status == 200);
  // The log in's profile (docs/protocol.md section 4), with the new access token.
  CHECK(events[5].kind == log_event_kind::request_started);
  CHECK(events[5].method == http_method::get);
  CHECK(events[5].route == "/api/client/v2.0/auth/profile");
  CHECK(events[6].kind == log_event_kind::response);
  CHECK(events[6].status == 200);
  CHECK(events[7].kind == log_event_kind::request_started);
  CHECK(events[7].route == "/api/client/v2.0/auth/api_keys");
  CHECK(events[8].kind == log_event_kind::response);
  CHECK(events[8].status == 201);
  check_no_secret(seen_events.lines());

  // The location is cached: no second lookup, no second location_resolved.
  seen_events.events.clear();
  transport.respond(200, login_json()).respond(200, profile_json());
  REQUIRE(app.log_in(apikeys::credentials::email_password("ada@example.com", "correct horse")));
  REQUIRE(seen_events.events.size() == 4);
  CHECK(seen_events.events[0].kind == log_event_kind::request_started);
  CHECK(seen_events.events[1].kind == log_event_kind::response);
  CHECK(seen_events.events[2].route == "/api/client/v2.0/auth/profile");
  CHECK(seen_events.events[3].kind == log_event_kind::response);
}

TEST_CASE("log out reports session_ended once; a transport failure is a response at error with status 0") {
  scripted_transport transport;
  transport.fail(apikeys::errc::connection_reset, "reset while reading " + std::string{refresh_token});
  capture seen_events;
  app_client app{transport, make_config(seen_events.sink())};
  const auto out = app.log_out(make_user());
  CHECK_FALSE(out);
  const auto& events = seen_events.events;
  REQUIRE(events.size() == 3);
  CHECK(events[0].kind == log_event_kind::request_started);
  CHECK(events[0].method == http_method::delete_);
  CHECK(events[0].route == "/api/client/v2.0/auth/session");
  CHECK(events[1].kind == log_event_kind::response);
  CHECK(events[1].level == log_level::error);
  CHECK(events[1].status == 0);
  CHECK(events[1].why == "connection reset");
  CHECK(events[1].line.starts_with("apikeys error response method=DELETE route=/api/client/v2.0/auth/session status=0 duration_us="));
  CHECK(events[1].line.ends_with(" body_bytes=0 why=connection reset"));
  CHECK(events[2].kind == log_event_kind::session_ended);
  CHECK(events[2].why == "logged out");
  check_no_secret(seen_events.lines());
}

TEST_CASE("an access-token 401 reports the refresh, the retry, and nothing about the session") {
  scripted_transport transport;
  transport.respond(401, R"({"error":"token expired","error_code":"InvalidSession"})")
      .respond(201, fmt::format(R"({{"access_token":"{}"}})", refreshed_access_token))
      .respond(200, R"({"user_id":"user-1","domain_id":"d","identities":[],"data":{},"type":"normal"})");
  capture seen_events;
  app_client app{transport, make_config(seen_events.sink())};
  REQUIRE(app.profile(make_user()));
  std::vector<std::pair<log_event_kind, int>> got;
  for (const auto& e : seen_events.events) got.emplace_back(e.kind, e.status);
  const std::vector<std::pair<log_event_kind, int>> want{
      {log_event_kind::request_started, 0}, {log_event_kind::response, 401}, {log_event_kind::request_started, 0},
      {log_event_kind::response, 201},      {log_event_kind::request_started, 0}, {log_event_kind::response, 200}};
  CHECK(got == want);
  REQUIRE(seen_events.events.size() == 6);
  CHECK(seen_events.events[2].route == "/api/client/v2.0/auth/session");
  CHECK(seen_events.events[4].route == "/api/client/v2.0/auth/profile");
  check_no_secret(seen_events.lines());
}

TEST_CASE("levels: enabled() per level, and a sink at info gets only info, warn and error events") {
  const log_sink off;
  CHECK_FALSE(off);
  for (auto level : {log_level::off, log_level::error, log_level::warn, log_level::info, log_level::debug, log_level::trace})
    CHECK_FALSE(off.enabled(level));

  const log_sink info([](const log_event&) {}, log_level::info);
  CHECK(info);
  CHECK_FALSE(info.enabled(log_level::off));
  CHECK(info.enabled(log_level::error));
  CHECK(info.enabled(log_level::warn));
  CHECK(info.enabled(log_level::info));
  CHECK_FALSE(info.enabled(log_level::debug));
  CHECK_FALSE(info.enabled(log_level::trace));

  const log_sink at_off([](const log_event&) {}, log_level::off);
  CHECK_FALSE(at_off);
  CHECK_FALSE(at_off.enabled(log_level::error));
  const log_sink empty(std::function<void(const log_event&)>{}, log_level::trace);
  CHECK_FALSE(empty);
  CHECK_FALSE(empty.enabled(log_level::error));

  scripted_transport transport;
  transport.respond(201, created_json()).respond(404, R"({"error":"API key not found","error_code":"APIKeyNotFound"})");
  capture seen_events;
  key_client keys{transport, make_user(), apikeys::client_options{std::chrono::milliseconds{5000}, seen_events.sink(log_level::info)}};
  REQUIRE(keys.create("laptop"));
  CHECK_FALSE(keys.enable(key_id));
  REQUIRE(seen_events.events.size() == 2);
  CHECK(seen_events.events[0].kind == log_event_kind::response);
  CHECK(seen_events.events[0].level == log_level::info);
  CHECK(seen_events.events[1].kind == log_event_kind::response);
  CHECK(seen_events.events[1].level == log_level::warn);
  CHECK(seen_events.events[1].status == 404);

  // warn: the 404 only.
  seen_events.events.clear();
  transport.respond(201, created_json()).respond(404, R"({"error":"API key not found","error_code":"APIKeyNotFound"})");
  key_client warned{transport, make_user(), apikeys::client_options{std::chrono::milliseconds{5000}, seen_events.sink(log_level::warn)}};
  REQUIRE(warned.create("laptop"));
  CHECK_FALSE(warned.enable(key_id));
  REQUIRE(seen_events.events.size() == 1);
  CHECK(seen_events.events[0].status == 404);
}

TEST_CASE("a sink that throws changes nothing about the call") {
  scripted_transport transport;
  transport.respond(201, created_json());
  int calls = 0;
  const log_sink thrower([&](const log_event&) {
    ++calls;
    throw std::runtime_error("sink failed");
  }, log_level::trace);
  key_client keys{transport, make_user(), apikeys::client_options{std::chrono::milliseconds{5000}, thrower}};
  const auto created = keys.create("laptop");
  REQUIRE(created);
  REQUIRE(created->value);
  CHECK(created->value->reveal() == key_value);
  CHECK(calls == 2);
}

TEST_CASE("calls over an async_send transport report the same events") {
  scripted_transport inner;
  inner.respond(201, created_json());
  apikeys::testing::event_loop_transport<scripted_transport&> loop{inner};
  capture seen_events;
  apikeys::basic_api_key_client<decltype(loop)&, apikeys::future_executor, apikeys::return_result> keys{
      loop, make_user(), apikeys::client_options{std::chrono::milliseconds{5000}, seen_events.sink()}};
  REQUIRE(keys.create("laptop").get());
  const std::lock_guard lock(seen_events.mutex);
  REQUIRE(seen_events.events.size() == 2);
  CHECK(seen_events.events[0].kind == log_event_kind::request_started);
  CHECK(seen_events.events[1].kind == log_event_kind::response);
  CHECK(seen_events.events[1].status == 201);
}

TEST_CASE("the app's location lookup over an async_send transport reports location_resolved once") {
  scripted_transport inner;
  inner.respond(200, location_json()).respond(200, login_json()).respond(200, profile_json());
  apikeys::testing::event_loop_transport<scripted_transport&> loop{inner};
  capture seen_events;
  apikeys::basic_app_client<decltype(loop)&, apikeys::future_executor, apikeys::return_result> app{
      loop, make_config(seen_events.sink(log_level::info))};
  REQUIRE(app.log_in(apikeys::credentials::email_password("ada@example.com", "correct horse")).get());
  const std::lock_guard lock(seen_events.mutex);
  REQUIRE(seen_events.events.size() == 4);
  CHECK(seen_events.events[0].kind == log_event_kind::response);
  CHECK(seen_events.events[0].route == "/api/client/v2.0/app/keys-app-abcde/location");
  CHECK(seen_events.events[1].kind == log_event_kind::location_resolved);
  CHECK(seen_events.events[1].host == host);
  CHECK(seen_events.events[2].kind == log_event_kind::response);
  CHECK(seen_events.events[2].route == "/api/client/v2.0/app/keys-app-abcde/auth/providers/local-userpass/login");
  CHECK(seen_events.events[3].kind == log_event_kind::response);
  CHECK(seen_events.events[3].route == "/api/client/v2.0/auth/profile");
}

TEST_CASE("the retry wrapper reports each retry: the attempt about to start, why, the wait") {
  using ms = std::chrono::milliseconds;
  scripted_transport inner;
  inner.respond(503).fail(apikeys::errc::timeout, "timed out").respond(200, "[]");
  capture seen_events;
  apikeys::retry_options options;
  options.logger = seen_events.sink(log_level::warn);
  std::vector<ms> slept;
  apikeys::retry_clock clock;
  clock.sleep = [&](ms d) { slept.push_back(d); };
  apikeys::retrying_transport<scripted_transport&> retrying{inner, options, clock, [](ms d) { return d; }};
  http_request request;
  request.url = "https://us-east-1.aws.services.example/api/client/v2.0/auth/api_keys?secret=" + std::string{key_value};
  request.headers.push_back({"Authorization", "Bearer " + std::string{refresh_token}});
  const auto answer = retrying.send(request);
  REQUIRE(answer);
  CHECK(answer->status == 200);
  REQUIRE(seen_events.events.size() == 2);
  const auto& first = seen_events.events[0];
  CHECK(first.kind == log_event_kind::retry);
  CHECK(first.level == log_level::warn);
  CHECK(first.method == http_method::get);
  CHECK(first.route == "/api/client/v2.0/auth/api_keys");
  CHECK(first.attempt == 2);
  CHECK(first.why == "status 503");
  CHECK(first.wait == ms{200});
  CHECK(first.line == "apikeys warn retry method=GET route=/api/client/v2.0/auth/api_keys attempt=2 wait_ms=200 why=status 503");
  const auto& second = seen_events.events[1];
  CHECK(second.attempt == 3);
  CHECK(second.why == "timed out");
  CHECK(second.wait == ms{400});
  CHECK(slept == std::vector<ms>{ms{200}, ms{400}});
  check_no_secret(seen_events.lines());
}

TEST_CASE("fmt_log_sink writes one line per event to its FILE*, each kind with its own fields") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  const log_sink sink = apikeys::fmt_log_sink(file, log_level::debug);
  log_event e;
  e.kind = log_event_kind::request_started;
  e.level = log_level::debug;
  e.method = http_method::put;
  e.route = "/api/client/v2.0/auth/api_keys/abc/enable";
  sink.write(e);
  e.kind = log_event_kind::redirect;
  e.status = 308;
  e.host = "https://eu.example";
  sink.write(e);
  e.level = log_level::trace;  // below the sink's level: not written
  sink.write(e);
  log_event ended;
  ended.kind = log_event_kind::session_ended;
  ended.level = log_level::info;
  ended.why = "logged out";
  sink.write(ended);
  std::rewind(file);
  std::string text;
  char buffer[256];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, file)) text.append(buffer, n);
  std::fclose(file);
  CHECK(text ==
        "apikeys debug request_started method=PUT route=/api/client/v2.0/auth/api_keys/abc/enable\n"
        "apikeys debug redirect status=308 method=PUT route=/api/client/v2.0/auth/api_keys/abc/enable host=https://eu.example\n"
        "apikeys info session_ended why=logged out\n");
  CHECK(fmt::format("{}", ended) == "apikeys info session_ended why=logged out");
  CHECK(fmt::format("{} {}", log_level::trace, log_event_kind::connection_reused) == "trace connection_reused");
  CHECK_FALSE(apikeys::fmt_log_sink(nullptr, log_level::trace));
}

TEST_CASE("route_of keeps the path only; host_of drops user info") {
  using apikeys::detail::host_of;
  using apikeys::detail::route_of;
  CHECK(route_of("https://h.example/api/x?token=abc#frag") == "/api/x");
  CHECK(route_of("https://h.example") == "/");
  CHECK(route_of("https://h.example?q=1") == "/");
  CHECK(route_of("/api/y?z") == "/api/y");
  CHECK(host_of("https://user:pw@h.example:8443/api?q") == "https://h.example:8443");
  CHECK(host_of("no scheme") == "");
}

}  // namespace
