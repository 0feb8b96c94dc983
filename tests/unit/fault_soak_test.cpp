// apikeys tests: the seed's story and a mixed-operation soak through fault_injecting_transport against the
// emulator: every call ends in a value or a typed error, no key is lost or misreported, sessions stay true.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/fault_injection.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/emulator_config.hpp"
#include "support/names.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::testing::emulator;
using apikeys::testing::fault_counts;
using apikeys::testing::fault_kind;
using apikeys::testing::fault_options;
using namespace apikeys::literals;

using faulty_transport = apikeys::testing::fault_injecting_transport<emulator&>;
using app_type = apikeys::basic_app_client<faulty_transport&, apikeys::inline_executor, apikeys::return_result>;
using oracle_app_type = apikeys::basic_app_client<emulator&, apikeys::inline_executor, apikeys::return_result>;
using oracle_keys_type = apikeys::basic_api_key_client<emulator&, apikeys::inline_executor, apikeys::return_result>;

constexpr std::string_view email = "soak@example.com";
constexpr std::string_view password = "soak-password-7Qx";
constexpr std::string_view unknown_suffix = "; the outcome is unknown: the server may have carried out the request";
constexpr object_id never_issued = "000000000000000000000001"_oid;

using apikeys_tests::config_for;

struct server_key {
  std::string name;
  bool enabled = true;
  friend bool operator==(const server_key&, const server_key&) = default;
};
using server_state = std::map<object_id, server_key>;

// What one call changed on the server.
struct state_diff {
  std::vector<object_id> added, removed, toggled;
  bool empty() const { return added.empty() && removed.empty() && toggled.empty(); }
  // True when nothing but `id` changed.
  bool only(const object_id& id) const {
    for (const auto* list : {&added, &removed, &toggled})
      for (const auto& changed : *list)
        if (changed != id) return false;
    return true;
  }
};

state_diff diff(const server_state& before, const server_state& after) {
  state_diff d;
  for (const auto& [id, key] : after) {
    const auto was = before.find(id);
    if (was == before.end()) d.added.push_back(id);
    else if (was->second.enabled != key.enabled) d.toggled.push_back(id);
  }
  for (const auto& [id, key] : before)
    if (after.find(id) == after.end()) d.removed.push_back(id);
  return d;
}

/// The counts a run ends with; printed as the summary table.
struct soak_report {
  std::map<std::string, std::size_t> attempted;  // by operation
  std::map<std::string, std::size_t> outcomes;   // "value", or the errc's name
  std::size_t total = 0;
  std::size_t outcome_unknown = 0;       // errors that said the outcome is unknown
  std::size_t unknown_took_effect = 0;   // ... and the server had in fact carried the request out
  std::size_t keys_behind_unknown = 0;   // keys that exist only because of an unknown create
  std::size_t stale_reads = 0;           // GET answers swapped by a reorder fault
  std::size_t lost = 0;                  // a key on the server the caller was never told of, not even as unknown
  std::size_t misreported = 0;           // an answer that does not match what the server did
  std::size_t session_untrue = 0;        // a session whose state does not match the server's
  std::size_t untyped = 0;               // an error without a code, or an exception escaping return_result
  std::vector<std::string> problems;     // the first few, in words
  fault_counts faults;

  bool clean() const { return lost == 0 && misreported == 0 && session_untrue == 0 && untyped == 0; }
  void problem(std::size_t& counter, std::string what) {
    ++counter;
    if (problems.size() < 20) problems.push_back(std::move(what));
  }

  std::string table(std::string_view title, double seconds) const {
    std::string out = fmt::format("--- {} ({:.2f} s) ---\n", title, seconds);
    out.append(fmt::format("{:<34}{:>8}\n", "operations attempted", total));
    for (const auto& [op, n] : attempted) out.append(fmt::format("  {:<32}{:>8}\n", op, n));
    out.append("outcomes by kind\n");
    for (const auto& [kind, n] : outcomes) out.append(fmt::format("  {:<32}{:>8}\n", kind, n));
    out.append(fmt::format("  {:<32}{:>8}\n", "(errors with outcome_unknown)", outcome_unknown));
    out.append(fmt::format("  {:<32}{:>8}\n", "(... that had taken effect)", unknown_took_effect));
    out.append(fmt::format("  {:<32}{:>8}\n", "(keys behind unknown creates)", keys_behind_unknown));
    out.append(fmt::format("  {:<32}{:>8}\n", "(stale GET answers, reorder)", stale_reads));
    out.append(fmt::format("{:<34}{:>8}\n", "requests through the fault layer", faults.requests));
    for (std::size_t k = 1; k < apikeys::testing::fault_kind_count; ++k)
      out.append(fmt::format("  {:<32}{:>8}\n", fmt::format("{}", static_cast<fault_kind>(k)), faults.by_kind[k]));
    out.append(fmt::format("{:<34}{:>8}\n", "lost keys", lost));
    out.append(fmt::format("{:<34}{:>8}\n", "misreported results", misreported));
    out.append(fmt::format("{:<34}{:>8}\n", "untrue session states", session_untrue));
    out.append(fmt::format("{:<34}{:>8}\n", "untyped outcomes / exceptions", untyped));
    for (const auto& p : problems) out.append("  problem: ").append(p).append("\n");
    return out;
  }
};

/// One emulator, a client stack over the fault layer, and an un-faulted oracle on the same emulator that
/// reads the server's truth after every call.
class soak_run {
 public:
  soak_run(fault_options faults, std::uint64_t op_seed)
      : faults_(emu_, faults), app_(faults_, config_for(emu_)), oracle_(emu_, config_for(emu_)), random_(op_seed) {
    emu_.add_user(email, password);
    auto logged = oracle_.log_in(credentials::email_password(email, password));
    REQUIRE(logged.has_value());
    oracle_user_ = *logged;
    log_in_until_done();
  }

  soak_report& report() { return report_; }
  const std::shared_ptr<session>& user() const { return user_; }

  // --- the server's truth -------------------------------------------------------------------------------

  server_state snapshot() {
    oracle_keys_type keys{emu_, oracle_user_};
    auto all = keys.fetch_all();
    REQUIRE(all.has_value());
    server_state out;
    for (const auto& k : *all) out.emplace(k.id, server_key{k.name, k.enabled});
    return out;
  }

  // Whether `refresh_token` still opens its session on the server (the oracle's raw request).
  bool token_alive(const apikeys::secret& refresh_token) {
    apikeys::http_request r;
    r.method = apikeys::http_method::get;
    r.url = emu_.hostname() + "/api/client/v2.0/auth/api_keys";
    r.headers = {{"Authorization", "Bearer " + std::string{refresh_token.reveal()}}};
    const auto answer = emu_.send(r);
    return answer.status == 200;
  }

  // --- every call: counted, its outcome typed, exceptions caught -------------------------------------------

  template <class Call>
  auto attempt(const std::string& op, bool is_get, Call&& call) -> decltype(call()) {
    using result_type = decltype(call());
    ++report_.attempted[op];
    ++report_.total;
    result_type r = [&]() -> result_type {
      try {
        return call();
      } catch (const std::exception& ex) {
        report_.problem(report_.untyped, op + ": an exception escaped return_result: " + ex.what());
      } catch (...) {
        report_.problem(report_.untyped, op + ": an unknown exception escaped return_result");
      }
      return apikeys::unexpected{api_error{}};
    }();
    if (r) {
      ++report_.outcomes["value"];
      return r;
    }
    const api_error& e = r.error();
    ++report_.outcomes[std::string{apikeys::to_string(e.code)}];
    const std::string text = fmt::format("{}", e);
    if (e.kind() == apikeys::error_kind::none || text.empty())
      report_.problem(report_.untyped, op + ": an error without a code: " + text);
    if (e.outcome_unknown) {
      ++report_.outcome_unknown;
      if (is_get) report_.problem(report_.misreported, op + ": a GET said its outcome is unknown: " + text);
      if (text.size() < unknown_suffix.size() || text.substr(text.size() - unknown_suffix.size()) != unknown_suffix)
        report_.problem(report_.misreported, op + ": outcome_unknown without the words: " + text);
    }
    return r;
  }

  auto keys() { return app_.api_keys(user_); }

  // --- the operations, each checked against what the server did ----------------------------------------------

  std::optional<api_key> create(const std::string& name) {
    const auto before = snapshot();
    auto r = attempt("create", false, [&] { return keys().create(name); });
    const auto after = snapshot();
    const state_diff d = diff(before, after);
    if (r) {
      const api_key& k = *r;
      const bool made = d.added.size() == 1 && d.added[0] == k.id && d.removed.empty() && d.toggled.empty();
      const bool shaped = k.name == name && k.enabled && k.value && k.value->size() == 64;
      const auto listed = after.find(k.id);
      if (!made || !shaped || listed == after.end() || listed->second.name != name)
        report_.problem(report_.misreported, fmt::format("create \"{}\" returned {} but the server changed otherwise", name, k));
      told_.insert(k.id);
      values_[k.id] = *k.value;
      return *r;
    }
    const api_error& e = r.error();
    const bool only_this_name = d.removed.empty() && d.toggled.empty() && d.added.size() <= 1 &&
                                (d.added.empty() || after.at(d.added[0]).name == name);
    if (!only_this_name) report_.problem(report_.misreported, fmt::format("create \"{}\" failed ({}) and changed other keys", name, e));
    if (!d.added.empty()) {
      if (e.outcome_unknown) {
        ++report_.unknown_took_effect;
        ++report_.keys_behind_unknown;
        told_.insert(d.added[0]);  // the caller was told to look: fetch_all shows it
      } else {
        report_.problem(report_.lost, fmt::format("create \"{}\" made key {} but failed without outcome_unknown: {}", name,
                                                  d.added[0].to_string(), e));
      }
    }
    return std::nullopt;
  }

  // A call that must not touch this key or any other unless it succeeded or its outcome is unknown.
  template <class R>
  void check_write(const std::string& what, const object_id& id, const R& r, const state_diff& d) {
    if (!d.only(id)) report_.problem(report_.misreported, what + " changed another key");
    if (!r && !r.error().outcome_unknown && !d.empty())
      report_.problem(report_.misreported, fmt::format("{} failed definitely ({}) yet took effect", what, r.error()));
    if (!r && r.error().outcome_unknown && !d.empty()) ++report_.unknown_took_effect;
  }

  bool toggle(const object_id& id, bool enable) {
    const auto before = snapshot();
    const std::string what = fmt::format("{} {}", enable ? "enable" : "disable", id.to_string());
    auto r = attempt(enable ? "enable" : "disable", false, [&] { return enable ? keys().enable(id) : keys().disable(id); });
    const auto after = snapshot();
    check_write(what, id, r, diff(before, after));
    const auto now = after.find(id);
    if (r && (now == after.end() || now->second.enabled != enable))
      report_.problem(report_.misreported, what + " succeeded but the server's key is not so");
    if (!r && r.error().code == errc::api_key_not_found && before.count(id) != 0)
      report_.problem(report_.misreported, what + " said not found for a key that exists");
    return r.has_value();
  }

  bool remove(const object_id& id) {
    const auto before = snapshot();
    auto r = attempt("remove", false, [&] { return keys().remove(id); });
    const auto after = snapshot();
    const std::string what = "remove " + id.to_string();
    check_write(what, id, r, diff(before, after));
    if (r && after.count(id) != 0) report_.problem(report_.misreported, what + " succeeded but the key is still there");
    if (r) values_.erase(id);
    return r.has_value();
  }

  std::optional<std::optional<api_key>> fetch(const object_id& id) {
    const auto before = snapshot();
    const std::size_t stale = faults_.counts()[fault_kind::reorder];
    auto r = attempt("fetch", true, [&] { return keys().fetch(id); });
    const auto after = snapshot();
    if (!diff(before, after).empty()) report_.problem(report_.misreported, "fetch changed the server");
    if (!r) return std::nullopt;
    if (faults_.counts()[fault_kind::reorder] != stale) {
      ++report_.stale_reads;
      return std::optional<std::optional<api_key>>{std::in_place, *r};
    }
    const auto it = after.find(id);
    const bool right = r->has_value() ? (it != after.end() && (*r)->id == id && (*r)->name == it->second.name &&
                                         (*r)->enabled == it->second.enabled && !(*r)->value)
                                      : it == after.end();
    if (!right) report_.problem(report_.misreported, "fetch " + id.to_string() + " does not match the server");
    return std::optional<std::optional<api_key>>{std::in_place, *r};
  }

  std::optional<std::vector<api_key>> fetch_all() {
    const auto before = snapshot();
    const std::size_t stale = faults_.counts()[fault_kind::reorder];
    auto r = attempt("fetch_all", true, [&] { return keys().fetch_all(); });
    const auto after = snapshot();
    if (!diff(before, after).empty()) report_.problem(report_.misreported, "fetch_all changed the server");
    if (!r) return std::nullopt;
    if (faults_.counts()[fault_kind::reorder] != stale) {
      ++report_.stale_reads;
      return *r;
    }
    server_state listed;
    for (const auto& k : *r) listed.emplace(k.id, server_key{k.name, k.enabled});
    if (listed != after || listed.size() != r->size()) report_.problem(report_.misreported, "fetch_all does not match the server");
    return *r;
  }

  void refresh() {
    const auto r = attempt("refresh", false, [&] { return app_.refresh(user_); });
    (void)r;
  }

  void profile() {
    const auto r = attempt("profile", true, [&] { return app_.profile(user_); });
    if (r && r->user_id != user_->user_id()) report_.problem(report_.misreported, "profile names another user");
  }

  // Logs the main session out (whatever the network does, it ends here) and checks the server agrees
  // with what the caller was told, then logs in again.
  void log_out_and_in() {
    const apikeys::secret token = user_->refresh_token();
    const auto r = attempt("log_out", false, [&] { return app_.log_out(user_); });
    if (user_->logged_in()) report_.problem(report_.session_untrue, "log_out left the session logged in");
    const bool alive = token_alive(token);
    if (r && alive) report_.problem(report_.misreported, "log_out succeeded but the server session lives on");
    if (!r && !r.error().outcome_unknown && !alive)
      report_.problem(report_.misreported, fmt::format("log_out failed definitely ({}) yet revoked the session", r.error()));
    if (!r && r.error().outcome_unknown && !alive) ++report_.unknown_took_effect;
    // A logged-out session refuses key calls without sending anything.
    const std::size_t sent = faults_.counts().requests;
    const auto refused = attempt("fetch_all (logged out)", true, [&] { return keys().fetch_all(); });
    if (refused || refused.error().code != errc::not_logged_in || faults_.counts().requests != sent)
      report_.problem(report_.session_untrue, "a logged-out session did not refuse a key call unsent");
    log_in_until_done();
  }

  void log_in_until_done() {
    for (int tries = 0; tries < 200; ++tries) {
      auto r = attempt("log_in", false, [&] { return app_.log_in(credentials::email_password(email, password)); });
      if (r) {
        user_ = *r;
        if (user_->user_id() != *emu_.user_id(email)) report_.problem(report_.misreported, "log_in made another user's session");
        return;
      }
    }
    FAIL("log in did not succeed in 200 tries");
  }

  // A second device logs in with a key's value; it must succeed exactly when the key exists and is enabled.
  std::shared_ptr<session> key_login(const object_id& id, bool keep = false) {
    const auto value = values_.find(id);
    if (value == values_.end()) return nullptr;
    const auto before = snapshot();
    auto r = attempt("log_in with key", false, [&] { return app_.log_in(credentials::api_key(value->second)); });
    const auto it = before.find(id);
    const bool usable = it != before.end() && it->second.enabled;
    if (r && (!usable || (*r)->user_id() != user_->user_id()))
      report_.problem(report_.misreported, "a key login succeeded with an unusable key, or as someone else");
    if (!r && r.error().code == errc::auth_error && usable)
      report_.problem(report_.misreported, fmt::format("a key login was refused for a usable key: {}", r.error()));
    if (!r) return nullptr;
    std::shared_ptr<session> device = *r;
    if (!keep) {
      (void)attempt("log_out", false, [&] { return app_.log_out(device); });
      if (device->logged_in()) report_.problem(report_.session_untrue, "log_out left a key session logged in");
    }
    return device;
  }

  // The session is what it says: logged in with tokens the server accepts, or logged out.
  void check_session() {
    if (!user_->logged_in()) {
      report_.problem(report_.session_untrue, "the session ended without a log out or a 401");
      log_in_until_done();
      return;
    }
    oracle_keys_type keys{emu_, user_};
    const auto r = keys.fetch_all();
    if (!r) report_.problem(report_.session_untrue, fmt::format("the session's refresh token is refused: {}", r.error()));
    bool usable_access = false;
    user_->with_access_token([&](std::string_view) { usable_access = true; });
    if (!usable_access) report_.problem(report_.session_untrue, "a logged-in session without an access token");
  }

  // Every key on the server was returned by a create, or hides behind an unknown create.
  void check_nothing_lost() {
    for (const auto& [id, key] : snapshot())
      if (told_.count(id) == 0) report_.problem(report_.lost, "key " + id.to_string() + " \"" + key.name + "\" was never reported");
  }

  // --- the seed's story, each step repeated until it gives a definite answer ----------------------------------

  void story(int round) {
    const std::string name = fmt::format("someKeyName{}", round);
    std::optional<api_key> made;
    for (int tries = 0; !made && tries < 100; ++tries) {
      made = create(name);
      if (made) break;
      // An unknown outcome: look for the key, and delete it, since its value is gone.
      if (auto listed = fetch_all())
        for (const auto& k : *listed)
          if (k.name == name) remove(k.id);
      // A stale list may have hidden it: the server says whether it is really gone.
      for (const auto& [id, key] : snapshot())
        if (key.name == name) remove(id);
    }
    REQUIRE(made.has_value());
    const object_id id = made->id;
    std::optional<std::optional<api_key>> fetched;
    for (int tries = 0; !(fetched && *fetched) && tries < 100; ++tries) fetched = fetch(id);
    REQUIRE((fetched && *fetched));
    CHECK((*fetched)->name == name);
    std::optional<std::vector<api_key>> listed;
    for (int tries = 0; !listed && tries < 100; ++tries) listed = fetch_all();
    REQUIRE(listed.has_value());
    for (const bool enable : {false, true}) {
      bool done = false;
      for (int tries = 0; !done && tries < 100; ++tries) done = toggle(id, enable);
      REQUIRE(done);
      CHECK(snapshot().at(id).enabled == enable);
    }
    std::shared_ptr<session> device;
    for (int tries = 0; !device && tries < 100; ++tries) device = key_login(id);
    REQUIRE(device != nullptr);
    bool removed = false;
    for (int tries = 0; !removed && tries < 100; ++tries) removed = remove(id);
    REQUIRE(removed);
    CHECK(snapshot().count(id) == 0);
    // The deleted key now logs no one in: a definite answer is an AuthError.
    for (int tries = 0; tries < 100; ++tries) {
      auto r = attempt("log_in with deleted key", false,
                       [&] { return app_.log_in(credentials::api_key(*made->value)); });
      if (r) {
        report_.problem(report_.misreported, "a deleted key logged a device in");
        break;
      }
      if (r.error().kind() != apikeys::error_kind::transport && r.error().code != errc::bad_response &&
          r.error().code != errc::http_error) {
        CHECK(r.error().code == errc::auth_error);
        break;
      }
    }
    check_session();
  }

  // --- the mixed soak -----------------------------------------------------------------------------------------

  void mixed(std::size_t operations) {
    for (std::size_t i = 0; i < operations; ++i) {
      const server_state now = snapshot();
      std::vector<object_id> ids;
      for (const auto& [id, key] : now) ids.push_back(id);
      const auto any_id = [&]() -> object_id {
        if (ids.empty() || chance(0.1)) return never_issued;
        return ids[pick(ids.size() - 1)];
      };
      const std::size_t roll = pick(99);
      if (roll < 22) {
        // Mostly fresh names; sometimes one in use (409), sometimes one the client refuses unsent.
        if (now.size() >= 18) {
          remove(any_id());
        } else if (!now.empty() && chance(0.15)) {
          create(now.begin()->second.name);
        } else if (chance(0.05)) {
          const std::size_t sent = faults_.counts().requests;
          const auto r = attempt("create (invalid name)", false, [&] { return keys().create("not valid!"); });
          if (r || r.error().code != errc::invalid_argument || faults_.counts().requests != sent)
            report_.problem(report_.misreported, "an invalid name was not refused unsent");
        } else {
          create(fmt::format("k{}", next_name_++));
        }
      } else if (roll < 40) {
        remove(any_id());
      } else if (roll < 60) {
        // Drawn in two statements: argument order is unspecified, and the seed must replay on any compiler.
        const object_id id = any_id();
        toggle(id, chance(0.5));
      } else if (roll < 72) {
        fetch(any_id());
      } else if (roll < 82) {
        fetch_all();
      } else if (roll < 88) {
        refresh();
      } else if (roll < 92) {
        profile();
      } else if (roll < 95) {
        log_out_and_in();
      } else {
        std::vector<object_id> with_values;
        for (const auto& [id, value] : values_) with_values.push_back(id);
        if (!with_values.empty()) key_login(with_values[pick(with_values.size() - 1)]);
      }
      check_session();
    }
    check_nothing_lost();
  }

  void finish() { report_.faults = faults_.counts(); }

 private:
  bool chance(double p) { return std::uniform_real_distribution<double>{0.0, 1.0}(random_) < p; }
  std::size_t pick(std::size_t most) { return std::uniform_int_distribution<std::size_t>{0, most}(random_); }

  emulator emu_;
  faulty_transport faults_;
  app_type app_;
  oracle_app_type oracle_;
  std::mt19937_64 random_;
  std::shared_ptr<session> oracle_user_;
  std::shared_ptr<session> user_;
  std::set<object_id> told_;                         // keys the caller was told of (value, or unknown outcome)
  std::map<object_id, apikeys::secret> values_;      // the values of keys returned by create
  std::size_t next_name_ = 0;
  soak_report report_;
};

fault_options every_fault(std::uint64_t seed) {
  fault_options o;
  o.seed = seed;
  o.refuse = 0.04;
  o.drop = 0.05;
  o.reset = 0.05;
  o.truncate = 0.05;
  o.delay = 0.03;
  o.duplicate = 0.05;
  o.reorder = 0.05;
  o.max_delay = std::chrono::microseconds{200};
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void require_clean(const soak_report& report, const std::string& table) {
  MESSAGE(table);
  CHECK(report.lost == 0);
  CHECK(report.misreported == 0);
  CHECK(report.session_untrue == 0);
  CHECK(report.untyped == 0);
}

// The run's seeds may be set from outside to replay a failure: APIKEYS_SOAK_SEED=<n>.
std::uint64_t base_seed() {
  if (const char* text = std::getenv("APIKEYS_SOAK_SEED")) return std::strtoull(text, nullptr, 10);
  return 20260726;
}

}  // namespace

TEST_CASE("fault_injecting_transport: the same seed gives the same schedule; each fault does what it says") {
  emulator emu;
  emu.add_user(email, password);
  const auto run = [&](std::uint64_t seed) {
    faulty_transport faults{emu, every_fault(seed)};
    app_type app{faults, config_for(emu)};
    std::vector<std::string> outcomes;
    for (int i = 0; i < 200; ++i) {
      const auto r = app.log_in(credentials::email_password(email, password));
      outcomes.push_back(r ? std::string{"ok"} : std::string{apikeys::to_string(r.error().code)});
    }
    return std::make_pair(outcomes, faults.counts());
  };
  const auto first = run(7);
  const auto again = run(7);
  const auto other = run(8);
  CHECK(first.first == again.first);
  CHECK(first.second.by_kind == again.second.by_kind);
  CHECK(first.first != other.first);
  CHECK(first.second.injected() > 0);

  SUBCASE("refuse never reaches the server; drop and reset do") {
    fault_options o;
    o.refuse = 1.0;
    faulty_transport refusing{emu, o};
    const std::size_t before = emu.request_count();
    apikeys::http_request r;
    r.url = emu.hostname() + "/api/client/v2.0/app/" + emu.app_id() + "/location";
    const auto refused = refusing.send(r);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == errc::connection_failed);
    CHECK(emu.request_count() == before);
    for (const auto& [kind, code] : {std::pair{fault_kind::drop, errc::timeout}, std::pair{fault_kind::reset, errc::connection_reset}}) {
      fault_options one;
      (kind == fault_kind::drop ? one.drop : one.reset) = 1.0;
      faulty_transport t{emu, one};
      const std::size_t sent = emu.request_count();
      const auto lost = t.send(r);
      REQUIRE_FALSE(lost.has_value());
      CHECK(lost.error().code == code);
      CHECK(emu.request_count() == sent + 1);
      CHECK(t.counts()[kind] == 1);
    }
  }
  SUBCASE("truncate cuts the body short; duplicate sends twice; reorder hands back the stashed answer") {
    apikeys::http_request r;
    r.url = emu.hostname() + "/api/client/v2.0/app/" + emu.app_id() + "/location";
    const auto whole = emu.send(r);
    fault_options cut;
    cut.truncate = 1.0;
    faulty_transport cutting{emu, cut};
    for (int i = 0; i < 20; ++i) {
      const auto got = cutting.send(r);
      REQUIRE(got.has_value());
      CHECK(got->status == 200);
      CHECK(got->body.size() < whole.body.size());
      CHECK(whole.body.compare(0, got->body.size(), got->body) == 0);
      CHECK_FALSE(apikeys::decode_location(*got).has_value());
    }
    fault_options twice;
    twice.duplicate = 1.0;
    faulty_transport doubling{emu, twice};
    const std::size_t sent = emu.request_count();
    CHECK(doubling.send(r).has_value());
    CHECK(emu.request_count() == sent + 2);

    fault_options swap;
    swap.reorder = 1.0;
    faulty_transport swapping{emu, swap};
    const auto a = swapping.send(r);  // stashed, passed on
    emu.set_hostname("http://127.0.0.2", "ws://127.0.0.2");
    const auto b = swapping.send(r);  // the stale answer, naming 127.0.0.1
    REQUIRE((a && b));
    CHECK(b->body == a->body);
    CHECK(b->body.find("127.0.0.1") != std::string::npos);
    CHECK(swapping.counts()[fault_kind::reorder] == 1);
    const auto c = swapping.send(r);
    REQUIRE(c.has_value());
    CHECK(c->body.find("127.0.0.2") != std::string::npos);
  }
}

TEST_CASE("fault soak: the seed's story, repeated under every fault, ends as it should") {
  const auto start = std::chrono::steady_clock::now();
  soak_run run{every_fault(base_seed()), base_seed() + 1};
  for (int round = 0; round < 40; ++round) run.story(round);
  run.check_nothing_lost();
  run.finish();
  const auto& report = run.report();
  require_clean(report, report.table(fmt::format("fault soak: the seed's story x40, seed {}", base_seed()), seconds_since(start)));
  CHECK(report.faults.injected() > 100);
  CHECK(report.outcome_unknown > 0);
}

TEST_CASE("fault soak: mixed operations under every fault: nothing lost, nothing misreported, sessions true") {
  const auto start = std::chrono::steady_clock::now();
  soak_run run{every_fault(base_seed() + 2), base_seed() + 3};
  run.mixed(3000);
  run.finish();
  const auto& report = run.report();
  require_clean(report, report.table(fmt::format("fault soak: 3000 mixed operations, seed {}", base_seed() + 2), seconds_since(start)));
  // The soak means something only if every fault happened and the unknown outcomes really occurred.
  for (std::size_t k = 1; k < apikeys::testing::fault_kind_count; ++k) {
    INFO("fault kind ", to_string(static_cast<fault_kind>(k)));
    CHECK(report.faults.by_kind[k] > 10);
  }
  CHECK(report.unknown_took_effect > 0);
  CHECK(report.keys_behind_unknown > 0);
  CHECK(report.outcomes.at("value") > 1000);
}

TEST_CASE("fault soak control: swapped answers to writes are lies the checks catch") {
  // A stale create answer (another key's 201) is byte-for-byte plausible, so no client can see through
  // it; the point here is that the soak's bookkeeping notices, so its zeros above mean something.
  fault_options lying;
  lying.seed = base_seed() + 4;
  lying.reorder = 0.5;
  lying.reorder_writes = true;
  soak_run run{lying, base_seed() + 5};
  run.mixed(300);
  run.finish();
  const auto& report = run.report();
  MESSAGE(report.table("control: reorder_writes (the checks must fire)", 0.0));
  CHECK(report.faults[fault_kind::reorder] > 0);
  CHECK(report.lost + report.misreported > 0);
}

TEST_CASE("fault_injecting_transport from four threads: every request is forwarded once, twice or never, as counted") {
  emulator emu;
  for (std::size_t t = 0; t < 4; ++t) emu.add_user(fmt::format("t{}@example.com", t), password);
  faulty_transport faults{emu, every_fault(base_seed() + 6)};
  app_type app{faults, config_for(emu)};
  const std::size_t before = emu.request_count();
  std::vector<std::thread> threads;
  std::vector<std::size_t> values(4, 0);
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::shared_ptr<session> user;
      for (int tries = 0; !user && tries < 100; ++tries)
        if (auto r = app.log_in(credentials::email_password(fmt::format("t{}@example.com", t), password))) user = *r;
      if (!user) return;
      auto keys = app.api_keys(user);
      for (int i = 0; i < 60; ++i) {
        auto made = keys.create(fmt::format("k{}", i));
        if (made) {
          ++values[t];
          (void)keys.disable(made->id);
          for (int tries = 0; tries < 10 && !keys.remove(made->id); ++tries) {
          }
        }
        (void)keys.fetch_all();
      }
    });
  }
  for (auto& th : threads) th.join();
  const fault_counts counts = faults.counts();
  std::size_t applied = 0;
  for (const std::size_t n : counts.by_kind) applied += n;
  CHECK(applied == counts.requests);
  CHECK(emu.request_count() - before == counts.requests - counts[fault_kind::refuse] + counts[fault_kind::duplicate]);
  for (const std::size_t n : values) CHECK(n > 10);
}
