// The app and key clients over real loopback HTTP against the apikeys-emulator program: the seed's story,
// concurrency, keep-alive latency, and clean stops.
#include <apikeys/apikeys.hpp>
#include <apikeys/transport/httplib.hpp>
#if APIKEYS_TEST_HAVE_CURL
#include <apikeys/transport/curl.hpp>
#endif

#include <doctest/doctest.h>
#include <fmt/core.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/adapter_test_support.hpp"
#include "support/emulator_process.hpp"
#include "../unit/support/final_list.hpp"
#include "../unit/support/key_checks.hpp"
#include "../unit/support/names.hpp"

#ifndef APIKEYS_EMULATOR_PATH

TEST_CASE("apikeys-emulator over HTTP" * doctest::skip()) {
  MESSAGE("this build has no apikeys-emulator (APIKEYS_BUILD_TOOLS is off), so there is nothing to run");
}

#else

namespace {

using namespace std::chrono_literals;
using namespace apikeys_tests::names;
using apikeys_tests::config_for;
using apikeys_tests::describe;
using apikeys_tests::emulator_process;
using apikeys_tests::error_of;
using apikeys_tests::port_of;
using clock_type = std::chrono::steady_clock;

using app_client = apikeys::basic_app_client<apikeys::httplib_transport>;
using result_app_client =
    apikeys::basic_app_client<apikeys::httplib_transport, apikeys::inline_executor, apikeys::return_result>;
using result_key_client =
    apikeys::basic_api_key_client<apikeys::httplib_transport&, apikeys::inline_executor, apikeys::return_result>;

constexpr std::size_t key_limit = 20;
const std::string keys_path = "/api/client/v2.0/auth/api_keys";


double to_ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The log the server wrote: "METHOD path status" of every request line, in order, and whatever else.
struct server_log {
  std::vector<std::string> requests;
  std::vector<std::string> other;
};

server_log parse_log(const std::string& text) {
  server_log out;
  std::istringstream lines(text);
  std::string line;
  // "apikeys info response method=GET route=/path status=200 duration_us=180 body_bytes=72" (warn: 4xx, 5xx).
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string tag, level, kind, method, path, status, took, size, extra;
    const bool eight = static_cast<bool>(words >> tag >> level >> kind >> method >> path >> status >> took >> size) &&
                       !(words >> extra);
    const auto value = [](const std::string& word, std::string_view name) {
      return word.rfind(name, 0) == 0 ? word.substr(name.size()) : std::string{};
    };
    const std::string code = value(status, "status=");
    const bool shaped = eight && tag == "apikeys" && (level == "info" || level == "warn") && kind == "response" &&
                        code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                        (level == "warn") == (code[0] >= '4') && took.rfind("duration_us=", 0) == 0 &&
                        size.rfind("body_bytes=", 0) == 0 && value(path, "route=").rfind('/', 0) == 0;
    (shaped ? out.requests : out.other).push_back(shaped ? value(method, "method=") + " " + value(path, "route=") + " " + code : line);
  }
  return out;
}

// After stop(): the log holds request lines and the closing line only (a sanitizer report in the server,
// built with the same flags, would be anything else), and every status is one of `allowed`.
server_log check_stopped_log(emulator_process& server, const std::set<std::string>& allowed) {
  const server_log log = parse_log(server.stderr_text());
  CHECK_MESSAGE(log.other.size() == 1, "unexpected server output: ", fmt::format("{}", fmt::join(log.other, "\n")));
  if (!log.other.empty())
    CHECK(log.other.back().rfind(fmt::format("apikeys-emulator: stopped after {} requests", log.requests.size()), 0) ==
          0);
  std::map<std::string, std::size_t> statuses;
  for (const std::string& r : log.requests) ++statuses[r.substr(r.size() - 3)];
  for (const auto& entry : statuses)
    CHECK_MESSAGE(allowed.count(entry.first) == 1, entry.second, " answers with status ", entry.first);
  return log;
}

bool is_alphanumeric(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

bool is_not_found(const api_error& e) {
  return e.code == errc::api_key_not_found && e.http_status == 404 && e.server_code == "APIKeyNotFound";
}
bool is_conflict(const api_error& e) {
  return e.code == errc::api_key_already_exists && e.http_status == 409 && e.server_code == "APIKeyAlreadyExists";
}
bool is_limit(const api_error& e) {
  return e.code == errc::invalid_parameter && e.http_status == 400 && e.server_code == "InvalidParameter" &&
         e.message == "user may only have 20 API keys";
}

// The client's own ephemeral ports of every TCP connection, open or in TIME_WAIT, to `server_port` on
// loopback: a fresh connection per request would leave one entry per request for a minute.
std::set<int> client_ports_to(int server_port) {
  std::set<int> ports;
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // the column titles
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string slot, local, remote, state;
    if (!(words >> slot >> local >> remote >> state) || state == "0A") continue;  // 0A: LISTEN
    const auto split = [](const std::string& endpoint) {
      const auto colon = endpoint.find(':');
      return std::pair{endpoint.substr(0, colon), std::stoi(endpoint.substr(colon + 1), nullptr, 16)};
    };
    const auto [local_addr, local_port] = split(local);
    const auto [remote_addr, remote_port] = split(remote);
    if (local_addr != "0100007F" || remote_addr != "0100007F") continue;
    if (local_port == server_port) ports.insert(remote_port);
    if (remote_port == server_port) ports.insert(local_port);
  }
  return ports;
}

// The client ports of connections to `server_port` made since this was constructed: the kernel may hand
// a port out again while TIME_WAIT entries of an earlier test's connections to it are still listed.
class connections_since {
 public:
  explicit connections_since(int server_port) : port_(server_port), earlier_(client_ports_to(server_port)) {}
  std::set<int> client_ports() const {
    std::set<int> ports = client_ports_to(port_);
    for (const int p : earlier_) ports.erase(p);
    return ports;
  }

 private:
  int port_;
  std::set<int> earlier_;
};

struct percentiles {
  double median_ms;
  double p99_ms;
};

percentiles percentiles_of(std::vector<clock_type::duration> samples) {
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  const double median = n % 2 ? to_ms(samples[n / 2]) : (to_ms(samples[n / 2 - 1]) + to_ms(samples[n / 2])) / 2;
  const std::size_t p99_rank = (n * 99 + 99) / 100;  // the ceiling of 0.99 n, 1-based
  return {median, to_ms(samples[std::max<std::size_t>(p99_rank, 1) - 1])};
}

void check_no_problems(const std::vector<std::vector<std::string> >& problems) {
  std::size_t total = 0;
  for (std::size_t t = 0; t < problems.size(); ++t) {
    total += problems[t].size();
    for (std::size_t i = 0; i < std::min<std::size_t>(problems[t].size(), 5); ++i)
      FAIL_CHECK("thread " << t << ": " << problems[t][i]);
  }
  CHECK_MESSAGE(total == 0, total, " unexpected outcomes in all");
}

}  // namespace

TEST_CASE("the seed's whole story over HTTP: log in, create, fetch, disable, key login, delete, stop") {
  emulator_process server({"--app-id", "http-test", "--user", "alice@example.com:pw"});
  std::vector<std::string> expected_log;
  const auto expect = [&](std::string_view method, const std::string& path, int status) {
    expected_log.push_back(fmt::format("{} {} {}", method, path, status));
  };
  const std::string app_path = "/api/client/v2.0/app/http-test";
  std::vector<std::string> secrets{"pw"};

  app_client app(apikeys::httplib_transport{}, config_for(server, "http-test"));
  const std::shared_ptr<session> alice = app.log_in(credentials::email_password("alice@example.com", "pw"));
  expect("GET", app_path + "/location", 200);
  expect("POST", app_path + "/auth/providers/local-userpass/login", 200);
  expect("GET", "/api/client/v2.0/auth/profile", 200);  // the profile a log in fetches
  REQUIRE(alice);
  CHECK(alice->logged_in());
  CHECK(alice->provider() == "local-userpass");
  CHECK(alice->host() == server.base_url());
  CHECK_FALSE(alice->user_id().empty());
  secrets.emplace_back(alice->access_token().reveal());
  secrets.emplace_back(alice->refresh_token().reveal());

  auto keys = app.api_keys(alice);
  const api_key created = keys.create("someKeyName");
  const std::string key_path = keys_path + "/" + created.id.to_string();
  expect("POST", keys_path, 201);
  CHECK(created.name == "someKeyName");
  CHECK(created.enabled);
  REQUIRE(created.value.has_value());
  const std::string secret_value{created.value->reveal()};
  CHECK(secret_value.size() == 64);
  CHECK(is_alphanumeric(secret_value));
  secrets.push_back(secret_value);

  const std::optional<api_key> fetched = keys.fetch(created.id);
  expect("GET", key_path, 200);
  apikeys_tests::check_fetched(fetched, created);

  const std::vector<api_key> all = keys.fetch_all();
  expect("GET", keys_path, 200);
  REQUIRE(all.size() == 1);
  CHECK(all[0].id == created.id);
  CHECK(all[0].name == "someKeyName");
  CHECK(all[0].enabled);
  CHECK_FALSE(all[0].value.has_value());

  {
    auto again = app.api_keys<apikeys::return_result>(alice).create("someKeyName");
    expect("POST", keys_path, 409);
    REQUIRE_FALSE(again.has_value());
    CHECK_MESSAGE(is_conflict(again.error()), error_of(again));
  }

  keys.disable(created.id);
  expect("PUT", key_path + "/disable", 204);
  const auto disabled = keys.fetch(created.id);
  expect("GET", key_path, 200);
  REQUIRE(disabled.has_value());
  CHECK_FALSE(disabled->enabled);

  // The device: another app client with its own transport (and so its own connections).
  result_app_client device_app(apikeys::httplib_transport{}, config_for(server, "http-test"));
  {
    auto refused = device_app.log_in(credentials::api_key(*created.value));
    expect("GET", app_path + "/location", 200);
    expect("POST", app_path + "/auth/providers/api-key/login", 401);
    REQUIRE_FALSE(refused.has_value());
    const api_error& e = refused.error();
    CHECK_MESSAGE(e.code == errc::auth_error, describe(e));
    CHECK(e.http_status == 401);
    CHECK(e.server_code == "AuthError");
    CHECK(e.message == "unauthorized");
    CHECK(describe(e).find(secret_value) == std::string::npos);
  }

  keys.enable(created.id);
  expect("PUT", key_path + "/enable", 204);
  const auto enabled = keys.fetch(created.id);
  expect("GET", key_path, 200);
  REQUIRE(enabled.has_value());
  CHECK(enabled->enabled);

  auto device = device_app.log_in(credentials::api_key(*created.value));
  expect("POST", app_path + "/auth/providers/api-key/login", 200);
  expect("GET", "/api/client/v2.0/auth/profile", 200);
  REQUIRE_MESSAGE(device.has_value(), error_of(device));
  const std::shared_ptr<session> device_session = *device;
  CHECK(device_session->user_id() == alice->user_id());
  CHECK(device_session->provider() == "api-key");
  CHECK(device_session->device_id() != alice->device_id());
  secrets.emplace_back(device_session->access_token().reveal());
  secrets.emplace_back(device_session->refresh_token().reveal());
  {
    // Logged in as the owner, the device sees the owner's keys, but may not delete the one it came in with.
    auto device_keys = device_app.api_keys(device_session);
    auto seen = device_keys.fetch_all();
    expect("GET", keys_path, 200);
    REQUIRE(seen.has_value());
    REQUIRE(seen->size() == 1);
    CHECK((*seen)[0].id == created.id);
    auto refused = device_keys.remove(created.id);
    expect("DELETE", key_path, 403);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == errc::auth_error);
    CHECK(refused.error().http_status == 403);
    CHECK(refused.error().message == "cannot delete the API key in use");
  }

  keys.remove(created.id);
  expect("DELETE", key_path, 204);
  CHECK_FALSE(keys.fetch(created.id).has_value());
  expect("GET", key_path, 404);
  CHECK(keys.fetch_all().empty());
  expect("GET", keys_path, 200);
  keys.remove(created.id);  // a missing key: succeeds as a no-op
  expect("DELETE", key_path, 404);
  {
    auto gone = device_app.log_in(credentials::api_key(*created.value));
    expect("POST", app_path + "/auth/providers/api-key/login", 401);
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().code == errc::auth_error);
    CHECK(gone.error().message == "unauthorized");
  }

  CHECK(server.stop(SIGTERM) == 0);
  const std::string log_text = server.stderr_text();
  const server_log log = parse_log(log_text);
  CHECK(log.requests == expected_log);
  REQUIRE(log.other.size() == 1);
  CHECK(log.other[0].rfind(fmt::format("apikeys-emulator: stopped after {} requests", expected_log.size()), 0) == 0);
  for (const std::string& s : secrets) {
    REQUIRE(s.size() >= 2);
    CHECK_MESSAGE(log_text.find(s) == std::string::npos, "a secret of ", s.size(), " bytes is in the server log");
  }
  CHECK(log_text.find("Bearer") == std::string::npos);
  CHECK(log_text.find("eyJ") == std::string::npos);  // how every JWT starts
}

// Issue #13: an app behind a gateway's path prefix. The emulator serves every route only under the prefix
// and answers location with the prefixed hostname, so each call below reaches it only if the client kept
// the prefix and the adapter sent the whole path, percent-escape included, verbatim.
#if APIKEYS_TEST_HAVE_CURL
#define APIKEYS_TEST_PREFIX_TRANSPORTS apikeys::httplib_transport, apikeys::curl_transport
#else
#define APIKEYS_TEST_PREFIX_TRANSPORTS apikeys::httplib_transport
#endif
TEST_CASE_TEMPLATE("a path-prefixed emulator over HTTP: log in, create and fetch_all all go under the prefix",
                   Transport, APIKEYS_TEST_PREFIX_TRANSPORTS) {
  const std::string prefix = "/gw%20one/realm";
  emulator_process server({"--app-id", "prefix-test", "--path-prefix", prefix + "/", "--user", "alice@example.com:pw"});
  const std::string& base_url = server.base_url();
  REQUIRE(base_url.starts_with("http://127.0.0.1:"));
  REQUIRE(base_url.ends_with(prefix));  // printed with the prefix, its trailing '/' dropped
  const std::string origin = base_url.substr(0, base_url.size() - prefix.size());
  const std::string app_path = prefix + "/api/client/v2.0/app/prefix-test";
  const std::string prefixed_keys_path = prefix + keys_path;

  using app_type = apikeys::basic_app_client<Transport>;
  app_type app(Transport{}, config_for(server, "prefix-test"));
  const std::shared_ptr<session> alice = app.log_in(credentials::email_password("alice@example.com", "pw"));
  REQUIRE(alice);
  CHECK(alice->logged_in());
  CHECK(alice->host() == base_url);
  const apikeys::location_response where = app.location();
  CHECK(where.hostname == base_url);
  CHECK(where.ws_hostname == "ws://" + origin.substr(std::string_view{"http://"}.size()) + prefix);

  auto keys = app.api_keys(alice);
  const api_key created = keys.create("behind-a-gateway");
  CHECK(created.name == "behind-a-gateway");
  REQUIRE(created.value.has_value());
  const std::vector<api_key> all = keys.fetch_all();
  REQUIRE(all.size() == 1);
  CHECK(all[0].id == created.id);
  CHECK(all[0].name == "behind-a-gateway");

  // The same routes without the prefix are not the app's: the emulator does not serve them.
  Transport raw{};
  apikeys::http_request outside;
  outside.method = http_method::get;
  outside.url = origin + "/api/client/v2.0/app/prefix-test/location";
  outside.timeout = std::chrono::seconds{10};
  const auto answer = raw.send(outside);
  REQUIRE(answer.has_value());
  CHECK(answer->status == 404);

  CHECK(server.stop(SIGTERM) == 0);
  const server_log log = parse_log(server.stderr_text());
  const std::vector<std::string> expected_log{
      "GET " + app_path + "/location 200",
      "POST " + app_path + "/auth/providers/local-userpass/login 200",
      "GET " + prefix + "/api/client/v2.0/auth/profile 200",
      "POST " + prefixed_keys_path + " 201",
      "GET " + prefixed_keys_path + " 200",
      "GET /api/client/v2.0/app/prefix-test/location 404",
  };
  CHECK(log.requests == expected_log);
}

TEST_CASE("apikeys-emulator refuses a --path-prefix that could not be a path") {
  for (const std::string bad : {"/realm?x=1", "/realm#top", "/re alm"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(emulator_process({"--path-prefix", bad}), std::runtime_error);
  }
}

namespace {

struct tally {
  std::size_t created = 0, conflicts = 0, limits = 0, not_found = 0, fetches = 0, fetch_alls = 0, toggles = 0,
              removes = 0;
  tally& operator+=(const tally& o) {
    created += o.created;
    conflicts += o.conflicts;
    limits += o.limits;
    not_found += o.not_found;
    fetches += o.fetches;
    fetch_alls += o.fetch_alls;
    toggles += o.toggles;
    removes += o.removes;
    return *this;
  }
};

std::string tally_text(const tally& t) {
  return fmt::format(
      "{} created, {} conflicts (409), {} at the limit (400), {} not found (404), {} fetches, "
      "{} fetch_alls, {} toggles, {} removes",
      t.created, t.conflicts, t.limits, t.not_found, t.fetches, t.fetch_alls, t.toggles, t.removes);
}

constexpr int threads = 8;
constexpr int operations = 200;
constexpr auto time_limit = 120s;

struct model_key {
  object_id id;
  std::string name;
  bool enabled = true;
};

// One thread, one user: nobody else touches its keys, so every answer is known in advance.
void run_own_user(result_key_client& keys, int thread, tally& counts, std::vector<std::string>& problems) {
  std::mt19937 rng(static_cast<std::mt19937::result_type>(1000 + thread));
  const auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  std::vector<model_key> live;
  std::vector<object_id> removed;
  int next_name = 0;
  const auto problem = [&](int op, std::string what) { problems.push_back(fmt::format("op {}: {}", op, what)); };

  const auto create = [&](int op, const std::string& name, bool collides) {
    auto r = keys.create(name);
    if (collides) {
      if (r || !is_conflict(r.error()))
        problem(op, "a create of a name in use did not answer 409");
      else
        ++counts.conflicts;
      return;
    }
    if (live.size() == key_limit) {
      if (r || !is_limit(r.error()))
        problem(op, "a 21st key was not refused with 400 InvalidParameter");
      else
        ++counts.limits;
      return;
    }
    if (!r) return problem(op, "create failed: " + describe(r.error()));
    if (r->name != name || !r->enabled || !r->value || r->value->reveal().size() != 64)
      return problem(op, "create answered an unexpected key");
    live.push_back({r->id, name, true});
    ++counts.created;
  };

  for (int op = 0; op < operations; ++op) {
    const std::size_t dice = pick(100);
    // Now and then the target is a key this thread removed, whose every answer is "not found".
    const bool stale = !removed.empty() && (live.empty() || pick(5) == 0);
    const object_id target = stale          ? removed[pick(removed.size())]
                             : live.empty() ? object_id{}
                                            : live[pick(live.size())].id;
    const auto in_model = std::find_if(live.begin(), live.end(), [&](const model_key& k) { return k.id == target; });
    const bool has_target = stale || !live.empty();
    if (dice < 30 || (!has_target && dice >= 35)) {
      create(op, fmt::format("t{}-k{}", thread, next_name++), false);
    } else if (dice < 35) {
      if (live.empty())
        create(op, fmt::format("t{}-k{}", thread, next_name++), false);
      else
        create(op, live[pick(live.size())].name, true);
    } else if (dice < 50) {
      ++counts.fetches;
      auto r = keys.fetch(target);
      if (!r)
        problem(op, "fetch failed: " + describe(r.error()));
      else if (stale && r->has_value())
        problem(op, "fetch found a removed key");
      else if (!stale && (!r->has_value() || (*r)->name != in_model->name || (*r)->enabled != in_model->enabled ||
                          (*r)->value.has_value()))
        problem(op, "fetch disagrees with the model");
    } else if (dice < 65) {
      ++counts.fetch_alls;
      auto r = keys.fetch_all();
      if (!r) {
        problem(op, "fetch_all failed: " + describe(r.error()));
        continue;
      }
      bool same = r->size() == live.size();
      for (std::size_t i = 0; same && i < live.size(); ++i)
        same = (*r)[i].id == live[i].id && (*r)[i].name == live[i].name && (*r)[i].enabled == live[i].enabled &&
               !(*r)[i].value.has_value();
      if (!same) problem(op, fmt::format("fetch_all lists {} keys, the model {}", r->size(), live.size()));
    } else if (dice < 85) {
      const bool enable = dice < 75;
      ++counts.toggles;
      auto r = enable ? keys.enable(target) : keys.disable(target);
      if (stale) {
        if (r || !is_not_found(r.error()))
          problem(op, "toggling a removed key did not answer 404");
        else
          ++counts.not_found;
      } else if (!r) {
        problem(op, "toggle failed: " + describe(r.error()));
      } else {
        in_model->enabled = enable;
      }
    } else {
      ++counts.removes;
      auto r = keys.remove(target);
      if (!r) {
        problem(op, "remove failed: " + describe(r.error()));
      } else if (!stale) {
        removed.push_back(target);
        live.erase(in_model);
      }
    }
  }

  auto final_keys = keys.fetch_all();
  if (!final_keys) return problem(operations, "the final fetch_all failed: " + describe(final_keys.error()));
  bool same = final_keys->size() == live.size();
  for (std::size_t i = 0; same && i < live.size(); ++i)
    same = (*final_keys)[i].id == live[i].id && (*final_keys)[i].enabled == live[i].enabled;
  if (!same) problem(operations, "the final keys differ from the model");
}

// What one thread of the shared-session run saw and did.
struct shared_thread_state {
  std::vector<std::pair<object_id, std::string> > created;  // id, name
  std::set<object_id> removed;                              // removes that succeeded (a 404 counts too)
  std::map<object_id, bool> own_flags;                      // the thread's last successful toggle of its keys
  std::size_t most_listed = 0;
};

// All threads share one user and one session: keys vanish under each other, names are contested, and the
// 20 slots are fought over. Each thread toggles only its own keys, so their final state is still known.
void run_shared_user(result_key_client& keys, int thread, tally& counts, shared_thread_state& state,
                     std::vector<std::string>& problems) {
  std::mt19937 rng(static_cast<std::mt19937::result_type>(2000 + thread));
  const auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  std::vector<std::pair<object_id, std::string> > own;  // believed alive
  std::vector<object_id> snapshot;                      // the last fetch_all
  int next_name = 0;
  const auto problem = [&](int op, std::string what) { problems.push_back(fmt::format("op {}: {}", op, what)); };
  const auto forget = [&](const object_id& id) {
    own.erase(std::remove_if(own.begin(), own.end(), [&](const auto& k) { return k.first == id; }), own.end());
  };

  for (int op = 0; op < operations; ++op) {
    const std::size_t dice = pick(100);
    if (dice < 35) {
      // Mostly fresh names; some a name this thread holds, some contested by every thread.
      const std::size_t kind = pick(10);
      const std::string name = kind == 0 && !own.empty() ? own[pick(own.size())].second
                               : kind <= 1               ? fmt::format("contested-{}", pick(3))
                                                         : fmt::format("t{}-k{}", thread, next_name++);
      auto r = keys.create(name);
      if (r) {
        if (r->name != name || !r->value || r->value->reveal().size() != 64)
          problem(op, "create answered an unexpected key");
        state.created.emplace_back(r->id, name);
        own.emplace_back(r->id, name);
        ++counts.created;
      } else if (is_conflict(r.error())) {
        ++counts.conflicts;
      } else if (is_limit(r.error())) {
        ++counts.limits;
      } else {
        problem(op, "create failed: " + describe(r.error()));
      }
    } else if (dice < 50) {
      ++counts.fetches;
      const bool from_own = !own.empty() && (snapshot.empty() || pick(2) == 0);
      if (!from_own && snapshot.empty()) continue;
      const object_id id = from_own ? own[pick(own.size())].first : snapshot[pick(snapshot.size())];
      auto r = keys.fetch(id);
      if (!r)
        problem(op, "fetch failed: " + describe(r.error()));
      else if (r->has_value() && ((*r)->id != id || (*r)->value.has_value()))
        problem(op, "fetch answered another key");
    } else if (dice < 65) {
      ++counts.fetch_alls;
      auto r = keys.fetch_all();
      if (!r) {
        problem(op, "fetch_all failed: " + describe(r.error()));
        continue;
      }
      state.most_listed = std::max(state.most_listed, r->size());
      if (r->size() > key_limit) problem(op, fmt::format("fetch_all lists {} keys", r->size()));
      std::set<object_id> ids;
      std::set<std::string> names;
      for (const api_key& k : *r)
        if (!ids.insert(k.id).second || !names.insert(k.name).second) problem(op, "fetch_all lists a key twice");
      snapshot.clear();
      for (const api_key& k : *r) snapshot.push_back(k.id);
    } else if (dice < 80) {
      if (own.empty()) continue;
      ++counts.toggles;
      const bool enable = dice < 72;
      const object_id id = own[pick(own.size())].first;
      auto r = enable ? keys.enable(id) : keys.disable(id);
      if (r) {
        state.own_flags[id] = enable;
      } else if (is_not_found(r.error())) {
        ++counts.not_found;  // another thread deleted it
        forget(id);
      } else {
        problem(op, "toggle failed: " + describe(r.error()));
      }
    } else {
      // Half the time someone else's key, from the last listing: deletes race each other.
      const bool from_own = !own.empty() && (snapshot.empty() || pick(2) == 0);
      if (!from_own && snapshot.empty()) continue;
      ++counts.removes;
      const object_id id = from_own ? own[pick(own.size())].first : snapshot[pick(snapshot.size())];
      auto r = keys.remove(id);
      if (!r) {
        problem(op, "remove failed: " + describe(r.error()));
      } else {
        state.removed.insert(id);
        forget(id);
        snapshot.erase(std::remove(snapshot.begin(), snapshot.end(), id), snapshot.end());
      }
    }
  }
}

}  // namespace

TEST_CASE("8 threads x 200 mixed operations over HTTP, one user per thread: every answer as the model says") {
  std::vector<std::string> args{"--app-id", "concurrency"};
  for (int t = 0; t < threads; ++t) {
    args.emplace_back("--user");
    args.push_back(fmt::format("alice{}@example.com:pw-{}", t, t));
  }
  emulator_process server(args);
  result_app_client app(apikeys::httplib_transport{}, config_for(server, "concurrency"));

  std::vector<std::vector<std::string> > problems(threads);
  std::vector<tally> counts(threads);
  std::latch go(threads);
  const auto start = clock_type::now();
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        auto& mine = problems[static_cast<std::size_t>(t)];
        go.arrive_and_wait();
        auto user =
            app.log_in(credentials::email_password(fmt::format("alice{}@example.com", t), fmt::format("pw-{}", t)));
        if (!user) return mine.push_back("log in failed: " + describe(user.error()));
        auto keys = app.api_keys<apikeys::return_result>(*user);
        run_own_user(keys, t, counts[static_cast<std::size_t>(t)], mine);
      });
    }
  }
  const auto took = clock_type::now() - start;

  check_no_problems(problems);
  tally total;
  for (const tally& t : counts) total += t;
  MESSAGE(
      fmt::format("{} threads x {} operations in {:.0f} ms: {}", threads, operations, to_ms(took), tally_text(total)));
  CHECK(took < time_limit);
  // The mix must have reached every interesting answer, or the run proved less than it claims.
  CHECK(total.limits > 0);
  CHECK(total.conflicts > 0);
  CHECK(total.not_found > 0);
  CHECK(server.stop() == 0);
  // Each thread: log in and its profile, its operations, a final fetch_all; and the one location lookup.
  const server_log log = check_stopped_log(server, {"200", "201", "204", "400", "404", "409"});
  CHECK(log.requests.size() == 1 + threads * (2 + operations + 1));
}

TEST_CASE("8 threads x 200 mixed operations over HTTP on ONE shared user and session: nothing lost or doubled") {
  emulator_process server({"--app-id", "concurrency", "--user", "shared@example.com:pw"});
  result_app_client app(apikeys::httplib_transport{}, config_for(server, "concurrency"));
  auto user = app.log_in(credentials::email_password("shared@example.com", "pw"));
  REQUIRE_MESSAGE(user.has_value(), error_of(user));
  auto keys = app.api_keys<apikeys::return_result>(*user);

  std::vector<std::vector<std::string> > problems(threads);
  std::vector<tally> counts(threads);
  std::vector<shared_thread_state> states(threads);
  std::latch go(threads);
  const auto start = clock_type::now();
  {
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        const auto i = static_cast<std::size_t>(t);
        go.arrive_and_wait();
        run_shared_user(keys, t, counts[i], states[i], problems[i]);
      });
    }
  }
  const auto took = clock_type::now() - start;

  check_no_problems(problems);
  tally total;
  for (const tally& t : counts) total += t;
  MESSAGE(fmt::format("{} threads x {} operations on one session in {:.0f} ms: {}", threads, operations, to_ms(took),
                      tally_text(total)));
  CHECK(took < time_limit);
  CHECK(total.limits > 0);
  CHECK(total.conflicts > 0);
  CHECK((*user)->logged_in());

  // The ledger: every id created once, and what is left is exactly what was created and not removed.
  std::map<object_id, std::pair<int, std::string> > created;  // id -> owner thread, name
  std::set<object_id> removed;
  std::size_t most_listed = 0;
  for (int t = 0; t < threads; ++t) {
    const auto& s = states[static_cast<std::size_t>(t)];
    for (const auto& entry : s.created)
      CHECK_MESSAGE(created.emplace(entry.first, std::pair{t, entry.second}).second, "id ", entry.first,
                    " created twice");
    removed.insert(s.removed.begin(), s.removed.end());
    most_listed = std::max(most_listed, s.most_listed);
  }
  CHECK(most_listed <= key_limit);
  for (const object_id& id : removed)
    CHECK_MESSAGE(created.count(id) == 1, "removed ", id, ", which no create answered");

  auto final_keys = keys.fetch_all();
  REQUIRE_MESSAGE(final_keys.has_value(), error_of(final_keys));
  CHECK(final_keys->size() <= key_limit);
  const auto ids = apikeys_tests::check_final_list(
      *final_keys, created, removed, [&](const api_key& k, const std::pair<int, std::string>& record) {
        CHECK(k.name == record.second);
        const auto& flags = states[static_cast<std::size_t>(record.first)].own_flags;
        const auto flag = flags.find(k.id);
        CHECK_MESSAGE(k.enabled == (flag == flags.end() ? true : flag->second), "key ", k.id, " of thread ",
                      record.first);
      });
  MESSAGE(fmt::format("{} keys created, {} removed, {} left", created.size(), removed.size(), ids.listed.size()));
  CHECK(server.stop() == 0);
  check_stopped_log(server, {"200", "201", "204", "400", "404", "409"});
}

TEST_CASE("keep-alive: sequential calls reuse one connection and take well under a Nagle delay") {
  emulator_process server({"--app-id", "keep-alive", "--user", "bob@example.com:pw"});
  const int port = port_of(server.base_url());
  const connections_since connections{port};
  app_client app(apikeys::httplib_transport{}, config_for(server, "keep-alive"));
  const auto bob = app.log_in(credentials::email_password("bob@example.com", "pw"));
  auto keys = app.api_keys(bob);
  keys.create("warm-up");
  CHECK(app.transport().idle_connections() == 1);
  const std::set<int> first_ports = connections.client_ports();
  REQUIRE(first_ports.size() == 1);

  constexpr int rounds = 50;
  std::vector<clock_type::duration> gets, posts;
  std::size_t pool_not_one = 0;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = clock_type::now();
    const auto listed = keys.fetch_all();
    gets.push_back(clock_type::now() - t0);
    CHECK(listed.size() == 1);
    pool_not_one += app.transport().idle_connections() != 1;
  }
  // A request with a body goes out in two writes (head, then body): without TCP_NODELAY on either side,
  // Nagle holds the second until the delayed ACK of the first, 40 ms later.
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = clock_type::now();
    const api_key k = keys.create(fmt::format("timed-{}", i));
    posts.push_back(clock_type::now() - t0);
    keys.remove(k.id);
    pool_not_one += app.transport().idle_connections() != 1;
  }
  const auto get_stats = percentiles_of(gets);
  const auto post_stats = percentiles_of(posts);
  MESSAGE(fmt::format("{} fetch_all (GET): median {:.3f} ms, p99 {:.3f} ms", rounds, get_stats.median_ms,
                      get_stats.p99_ms));
  MESSAGE(fmt::format("{} create (POST with a body): median {:.3f} ms, p99 {:.3f} ms", rounds, post_stats.median_ms,
                      post_stats.p99_ms));
  CHECK(get_stats.median_ms < 10.0);
  CHECK(post_stats.median_ms < 10.0);
  CHECK(pool_not_one == 0);
  // Location, log in and 151 key calls, all on the one connection the first call opened.
  CHECK(connections.client_ports() == first_ports);
  CHECK(server.stop() == 0);
  const server_log log = check_stopped_log(server, {"200", "201", "204"});
  CHECK(log.requests.size() == 3 + 1 + rounds + 2 * rounds);  // location, log in, its profile, ...
}

TEST_CASE("clean stop: SIGINT and SIGTERM exit 0, even with an idle keep-alive client connected") {
  SUBCASE("SIGINT after a request") {
    emulator_process server({"--app-id", "stop"});
    result_app_client app(apikeys::httplib_transport{}, config_for(server, "stop"));
    auto where = app.location();
    REQUIRE_MESSAGE(where.has_value(), error_of(where));
    CHECK(where->hostname == server.base_url());
    CHECK(server.stop(SIGINT) == 0);
    const server_log log = check_stopped_log(server, {"200"});
    CHECK(log.requests == std::vector<std::string>{"GET /api/client/v2.0/app/stop/location 200"});
  }
  SUBCASE("SIGTERM before any request") {
    emulator_process server;
    CHECK(server.running());
    CHECK(server.stop(SIGTERM) == 0);
    CHECK_FALSE(server.running());
    CHECK(server.stop(SIGTERM) == 0);  // the same answer, and no second signal to a reused pid
    CHECK(check_stopped_log(server, {}).requests.empty());
  }
  SUBCASE("SIGTERM, then SIGINT, with an idle keep-alive connection") {
    for (const int sig : {SIGTERM, SIGINT}) {
      CAPTURE(sig);
      emulator_process server({"--app-id", "stop", "--user", "carol@example.com:pw"});
      const connections_since connections{port_of(server.base_url())};
      result_app_client app(apikeys::httplib_transport{}, config_for(server, "stop"));
      auto carol = app.log_in(credentials::email_password("carol@example.com", "pw"));
      REQUIRE_MESSAGE(carol.has_value(), error_of(carol));
      REQUIRE(app.transport().idle_connections() == 1);
      REQUIRE(connections.client_ports().size() == 1);

      const auto t0 = clock_type::now();
      const int status = server.stop(sig);
      const auto took = clock_type::now() - t0;
      CHECK(status == 0);
      MESSAGE(fmt::format("stopped by signal {} with an idle keep-alive client in {:.1f} ms", sig, to_ms(took)));
      CHECK(took < 3s);
      CHECK(check_stopped_log(server, {"200"}).requests.size() == 3);  // location, log in, profile

      // The pooled connection is dead; the next call fails as a transport error, promptly, not a hang.
      const auto t1 = clock_type::now();
      auto after = app.api_keys<apikeys::return_result>(*carol).fetch_all();
      REQUIRE_FALSE(after.has_value());
      CHECK_MESSAGE(after.error().kind() == apikeys::error_kind::transport, error_of(after));
      CHECK(after.error().http_status == 0);
      CHECK(clock_type::now() - t1 < 5s);
    }
  }
}

TEST_CASE("emulator_process: a child that cannot start is reported with its stderr, and none is left behind") {
  SUBCASE("a bad option") {
    std::string message;
    try {
      emulator_process server({"--bogus"});
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
    CHECK(message.find("exited before printing its URL") != std::string::npos);
    CHECK(message.find("exit status 2") != std::string::npos);
    CHECK(message.find("unknown option '--bogus'") != std::string::npos);
  }
  SUBCASE("a malformed --user, whose value is never repeated") {
    std::string message;
    try {
      emulator_process server({"--user", "no-colon-hunter2"});
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
    CHECK(message.find("--user needs EMAIL:PASSWORD") != std::string::npos);
    CHECK(message.find("hunter2") == std::string::npos);
  }
  SUBCASE("the destructor stops and reaps a running server") {
    pid_t pid = -1;
    {
      emulator_process server;
      pid = server.pid();
      CHECK(pid > 0);
    }
    int status = 0;
    errno = 0;
    CHECK(::waitpid(pid, &status, WNOHANG) == -1);
    CHECK(errno == ECHILD);
  }
  // No zombie and no running child from any of the above.
  int status = 0;
  errno = 0;
  CHECK(::waitpid(-1, &status, WNOHANG) == -1);
  CHECK(errno == ECHILD);
}

TEST_CASE("users survive a restart over HTTP: a file store, the upsert, and a second app object restored from it") {
  emulator_process server({"--app-id", "http-test", "--user", "alice@example.com:pw"});
  std::string dir = "/tmp/apikeys-http-store-XXXXXX";
  REQUIRE(::mkdtemp(dir.data()) != nullptr);
  const std::string path = dir + "/state/users.json";
  std::string alice_id;
  std::string key_value;
  {
    apikeys::file_session_store store{path};
    app_client app(apikeys::httplib_transport{}, config_for(server, "http-test"));
    app.use_store(store);
    const std::shared_ptr<session> alice = app.log_in(credentials::email_password("alice@example.com", "pw"));
    alice_id = alice->user_id();
    const api_key created = app.api_keys(alice).create("restart-key");
    key_value = std::string{created.value->reveal()};
    // the same user by key: the same session object, now the key's
    const std::shared_ptr<session> by_key = app.log_in(credentials::api_key(*created.value));
    CHECK(by_key == alice);
    CHECK(alice->provider() == "api-key");
    CHECK(app.all_users().size() == 1);
  }
  {
    // the restart: a new app object, no log in
    apikeys::file_session_store store{path};
    app_client app(apikeys::httplib_transport{}, config_for(server, "http-test"));
    app.use_store(store);
    const std::shared_ptr<session> restored = app.current_user();
    REQUIRE(restored);
    CHECK(restored->user_id() == alice_id);
    CHECK(restored->provider() == "api-key");
    CHECK(restored->host() == server.base_url());
    const std::vector<api_key> listed = app.api_keys(restored).fetch_all();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].name == "restart-key");
    app.remove_user(restored);
    CHECK(app.all_users().empty());
  }
  std::ifstream gone(path);
  CHECK_FALSE(gone.good());
  CHECK(::rmdir((dir + "/state").c_str()) == 0);
  CHECK(::rmdir(dir.c_str()) == 0);
  CHECK(server.stop() == 0);
  CHECK(server.stderr_text().find(key_value) == std::string::npos);
}

#endif  // APIKEYS_EMULATOR_PATH
