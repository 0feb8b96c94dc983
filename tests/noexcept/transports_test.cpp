// apikeys without exceptions: the retry wrapper and the fault-injecting double, with the client, as result<T> values.
#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/fault_injection.hpp>
#include <apikeys/testing/scripted_transport.hpp>
#include <apikeys/transport/retry.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "check.hpp"

namespace {

using apikeys::errc;
using apikeys::testing::scripted_transport;
using namespace apikeys::literals;
using namespace std::chrono_literals;

using retrying = apikeys::retrying_transport<scripted_transport&>;
using key_client = apikeys::basic_api_key_client<retrying&, apikeys::inline_executor, apikeys::return_result>;

constexpr apikeys::object_id key_id = "5e5e6f0abe4ae2a2c2c2d329"_oid;
constexpr const char* key_body = R"({"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"k","disabled":false})";

std::shared_ptr<apikeys::session> make_user() {
  return std::make_shared<apikeys::session>("user-1", "device-1", "local-userpass", "https://h.example",
                                            apikeys::secret{"access.token"}, apikeys::secret{"refresh.token"});
}

// A clock that moves only when the wrapper sleeps, and the delays it slept.
struct fake_clock {
  std::chrono::steady_clock::time_point now{};
  std::vector<std::chrono::milliseconds> slept;
  apikeys::retry_clock clock() {
    apikeys::retry_clock c;
    c.now = [this] { return now; };
    c.sleep = [this](std::chrono::milliseconds d) {
      slept.push_back(d);
      now += d;
    };
    return c;
  }
};

void retried_fetch() {
  scripted_transport transport;
  transport.respond(503).respond(200, key_body);
  fake_clock time;
  retrying wrapper{transport, {}, time.clock(), [](std::chrono::milliseconds d) { return d; }};
  auto user = make_user();
  key_client keys{wrapper, user};
  const auto fetched = keys.fetch(key_id);
  APIKEYS_REQUIRE(fetched.has_value());
  APIKEYS_CHECK(fetched->has_value() && (*fetched)->name == "k");
  APIKEYS_CHECK(transport.request_count() == 2);
  APIKEYS_CHECK(time.slept == std::vector<std::chrono::milliseconds>{200ms});
}

void create_not_resent() {
  scripted_transport transport;
  transport.fail(errc::connection_reset, "closed mid-answer");
  fake_clock time;
  retrying wrapper{transport, {}, time.clock()};
  auto user = make_user();
  key_client keys{wrapper, user};
  const auto created = keys.create("k");
  APIKEYS_REQUIRE(!created.has_value());
  APIKEYS_CHECK(created.error().code == errc::connection_reset);
  APIKEYS_CHECK(created.error().outcome_unknown);
  APIKEYS_CHECK(transport.request_count() == 1);
  APIKEYS_CHECK(time.slept.empty());
}

// Every call through injected faults ends in a value or a typed error, with no exception to escape.
void faulty_story() {
  apikeys::testing::emulator emu;
  emu.add_user("a@example.com", "pw-1");
  apikeys::testing::fault_options options;
  options.seed = 7;
  options.refuse = options.drop = options.reset = options.truncate = options.duplicate = 0.1;
  apikeys::testing::fault_injecting_transport<apikeys::testing::emulator&> faulty{emu, options};
  apikeys::app_config config;
  config.app_id = emu.app_id();
  config.base_url = emu.hostname();
  apikeys::basic_app_client<decltype(faulty)&, apikeys::inline_executor, apikeys::return_result> app{faulty, config};
  std::size_t values = 0, errors = 0;
  for (int round = 0; round < 50; ++round) {
    auto user = app.log_in(apikeys::credentials::email_password("a@example.com", "pw-1"));
    if (!user) {
      ++errors;
      APIKEYS_CHECK(user.error().code != errc{});
      continue;
    }
    auto keys = app.api_keys<apikeys::return_result>(*user);
    auto created = keys.create("k" + std::to_string(round));
    created ? ++values : ++errors;
    auto all = keys.fetch_all();
    all ? ++values : ++errors;
    if (created) {
      auto removed = keys.remove(created->id);
      removed ? ++values : ++errors;
    }
  }
  APIKEYS_CHECK(values > 0);
  APIKEYS_CHECK(errors > 0);
  APIKEYS_CHECK(faulty.counts().injected() > 0);
}

}  // namespace

int main() {
  retried_fetch();
  create_not_resent();
  faulty_story();
  return apikeys_noexcept::finish();
}
