// apikeys tests: 8 threads on one in-process emulator through the clients: no key lost or duplicated, the limit held.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/emulator_config.hpp"
#include "support/final_list.hpp"
#include "support/names.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::testing::emulator;
using namespace apikeys::literals;

using app_type = apikeys::basic_app_client<emulator&, apikeys::inline_executor, apikeys::return_result>;
using keys_type = apikeys::basic_api_key_client<emulator&, apikeys::inline_executor, apikeys::return_result>;

constexpr int thread_count = 8;
constexpr int iterations = 200;
constexpr std::size_t key_limit = 20;
constexpr object_id never_issued = "000000000000000000000002"_oid;

using apikeys_tests::config_for;

std::size_t below(std::mt19937& rng, std::size_t n) { return static_cast<std::size_t>(rng() % n); }

// The only errors these workloads may see, each exactly as docs/protocol.md section 5 words it.
bool is_error(const api_error& e, errc code, int status, std::string_view server_code, std::string_view message) {
  return e.code == code && e.http_status == status && e.server_code == server_code && e.message == message &&
         !e.link.empty();
}
bool is_duplicate(const api_error& e) {
  return is_error(e, errc::api_key_already_exists, 409, "APIKeyAlreadyExists", "API key with name already exists");
}
bool is_limit(const api_error& e) {
  return is_error(e, errc::invalid_parameter, 400, "InvalidParameter", "user may only have 20 API keys");
}
bool is_not_found(const api_error& e) {
  return is_error(e, errc::api_key_not_found, 404, "APIKeyNotFound", "API key not found");
}

// What one thread saw; merged and judged after every thread has joined, so no assertion runs off the
// test's own thread.
struct tally {
  std::size_t creates_ok = 0;
  std::size_t duplicates = 0;
  std::size_t limits = 0;
  std::size_t not_found = 0;
  std::size_t removes = 0;
  std::size_t largest_list = 0;
  std::vector<std::string> problems;

  template <class... Args>
  void problem(fmt::format_string<Args...> format, Args&&... args) {
    problems.push_back(fmt::format(format, std::forward<Args>(args)...));
  }
};

void report(const std::vector<tally>& tallies) {
  for (std::size_t t = 0; t < tallies.size(); ++t) {
    CAPTURE(t);
    for (const std::string& p : tallies[t].problems) FAIL_CHECK(p);
    CHECK(tallies[t].problems.empty());
  }
}

// --- each thread its own user: every answer predicted by a sequential model -------------------------------

struct model_key {
  object_id id;
  std::string name;
  bool enabled = true;
};

// One user's keys as the server must hold them, in creation order.
class key_model {
 public:
  std::vector<model_key> live;
  std::vector<model_key> removed;

  model_key* find(const object_id& id) {
    for (model_key& k : live)
      if (k.id == id) return &k;
    return nullptr;
  }
  bool has_name(std::string_view name) const {
    return std::any_of(live.begin(), live.end(), [&](const model_key& k) { return k.name == name; });
  }
  // A live key most of the time, else a removed one, else one nobody ever had.
  object_id pick(std::mt19937& rng) const {
    const std::size_t roll = below(rng, 8);
    if (!live.empty() && (roll < 6 || removed.empty())) return live[below(rng, live.size())].id;
    if (!removed.empty()) return removed[below(rng, removed.size())].id;
    return never_issued;
  }
};

void check_list(const std::vector<api_key>& list, const key_model& model, tally& out, int i) {
  out.largest_list = std::max(out.largest_list, list.size());
  if (list.size() > key_limit) out.problem("iteration {}: fetch_all returned {} keys", i, list.size());
  if (list.size() != model.live.size()) {
    out.problem("iteration {}: fetch_all returned {} keys, the model holds {}", i, list.size(), model.live.size());
    return;
  }
  for (std::size_t k = 0; k < list.size(); ++k) {
    const model_key& want = model.live[k];
    const api_key& got = list[k];
    if (got.id != want.id || got.name != want.name || got.enabled != want.enabled || got.value.has_value())
      out.problem("iteration {}: fetch_all[{}] is {}, the model says {} \"{}\" enabled={}", i, k, got, want.id,
                  want.name, want.enabled);
  }
}

void own_user_workload(app_type& app, emulator& emu, int t, std::latch& start, tally& out) {
  const std::string email = fmt::format("thread{}@example.com", t);
  const std::string password = fmt::format("password {}", t);
  start.arrive_and_wait();
  if (auto registered = app.register_user(email, password); !registered) {
    out.problem("register: {}", registered.error());
    return;
  }
  const auto user = app.log_in(credentials::email_password(email, password));
  if (!user) {
    out.problem("log in: {}", user.error());
    return;
  }
  keys_type keys = app.api_keys(*user);
  key_model model;
  std::mt19937 rng(static_cast<std::mt19937::result_type>(1234 + t));

  for (int i = 0; i < iterations; ++i) {
    const std::size_t roll = below(rng, 100);
    if (roll < 38) {
      // Create: a fresh name, or (one time in four) a name the user holds or once held.
      std::string name = fmt::format("t{}_i{}", t, i);
      if (roll >= 28) {
        if (!model.live.empty() && (roll < 33 || model.removed.empty()))
          name = model.live[below(rng, model.live.size())].name;
        else if (!model.removed.empty())
          name = model.removed[below(rng, model.removed.size())].name;
      }
      const bool duplicate = model.has_name(name);
      const bool full = model.live.size() >= key_limit;
      auto created = keys.create(name);
      if (duplicate) {
        if (created || !is_duplicate(created.error())) out.problem("iteration {}: create {} should be a 409", i, name);
        ++out.duplicates;
      } else if (full) {
        if (created || !is_limit(created.error())) out.problem("iteration {}: create {} should hit the limit", i, name);
        ++out.limits;
      } else if (!created) {
        out.problem("iteration {}: create {} failed: {}", i, name, created.error());
      } else if (created->name != name || !created->enabled || !created->value || created->value->size() != 64) {
        out.problem("iteration {}: create {} answered {}", i, name, *created);
      } else {
        ++out.creates_ok;
        model.live.push_back(model_key{created->id, name, true});
      }
    } else if (roll < 50) {
      const object_id id = model.pick(rng);
      const auto fetched = keys.fetch(id);
      const model_key* want = model.find(id);
      if (!fetched) {
        out.problem("iteration {}: fetch {} failed: {}", i, id, fetched.error());
      } else if (!want) {
        if (fetched->has_value()) out.problem("iteration {}: fetch {} found a key the model does not hold", i, id);
      } else if (!fetched->has_value()) {
        out.problem("iteration {}: fetch {} found nothing", i, id);
      } else if ((*fetched)->id != id || (*fetched)->name != want->name || (*fetched)->enabled != want->enabled ||
                 (*fetched)->value.has_value()) {
        out.problem("iteration {}: fetch {} answered {}", i, id, **fetched);
      }
    } else if (roll < 60) {
      const auto list = keys.fetch_all();
      if (!list)
        out.problem("iteration {}: fetch_all failed: {}", i, list.error());
      else
        check_list(*list, model, out, i);
    } else if (roll < 84) {
      const bool enable = roll < 72;
      const object_id id = model.pick(rng);
      const auto toggled = enable ? keys.enable(id) : keys.disable(id);
      if (model_key* want = model.find(id)) {
        if (toggled)
          want->enabled = enable;
        else
          out.problem("iteration {}: {} {} failed: {}", i, enable ? "enable" : "disable", id, toggled.error());
      } else {
        if (toggled || !is_not_found(toggled.error()))
          out.problem("iteration {}: {} of a missing key {} should be a 404", i, enable ? "enable" : "disable", id);
        ++out.not_found;
      }
    } else {
      const object_id id = model.pick(rng);
      if (const auto removed = keys.remove(id); !removed) {
        out.problem("iteration {}: remove {} failed: {}", i, id, removed.error());
      } else if (const model_key* gone = model.find(id)) {
        model.removed.push_back(*gone);
        model.live.erase(model.live.begin() + (gone - model.live.data()));
        ++out.removes;
      }
    }
  }

  const auto final_list = keys.fetch_all();
  if (!final_list)
    out.problem("final fetch_all failed: {}", final_list.error());
  else
    check_list(*final_list, model, out, iterations);
  if (emu.key_count((*user)->user_id()) != model.live.size())
    out.problem("the emulator holds {} keys, the model {}", emu.key_count((*user)->user_id()), model.live.size());
  if (!(*user)->logged_in()) out.problem("the session ended");
}

// --- 8 threads sharing one user and one session: what the races allow -------------------------------------

struct created_record {
  object_id id;
  std::string name;
  int owner = 0;
};
struct fetched_record {
  object_id id;
  std::string name;
};

// Every key created so far, for threads to aim at; a key is listed once its create has answered.
class key_pool {
 public:
  void add(const object_id& id, int owner) {
    const std::lock_guard lock(mutex_);
    ids_.emplace_back(id, owner);
  }
  // One of the 32 most recent keys, so removes keep finding live ones.
  std::optional<object_id> recent(std::mt19937& rng) const {
    const std::lock_guard lock(mutex_);
    if (ids_.empty()) return std::nullopt;
    const std::size_t window = std::min<std::size_t>(ids_.size(), 32);
    return ids_[ids_.size() - 1 - below(rng, window)].first;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<object_id, int>> ids_;
};

struct shared_tally : tally {
  std::vector<created_record> created;
  std::vector<object_id> removed;            // every remove that answered success (deleted, or already gone)
  std::vector<object_id> absent;             // every fetch that found nothing, every toggle answered 404
  std::vector<fetched_record> seen;          // every key any fetch or fetch_all showed
  std::vector<std::string> duplicate_names;  // every name answered 409
  std::map<object_id, bool> own_flags;       // this thread's keys: the flag its last successful toggle set
};

void shared_user_workload(keys_type& keys, key_pool& pool, int t, std::latch& start, shared_tally& out) {
  std::mt19937 rng(static_cast<std::mt19937::result_type>(9876 + t));
  std::vector<object_id> mine;
  start.arrive_and_wait();
  for (int i = 0; i < iterations; ++i) {
    const std::size_t roll = below(rng, 100);
    if (roll < 36) {
      // A name of this thread's own, or one of six names every thread fights over.
      const std::string name = roll < 24 ? fmt::format("t{}_i{}", t, i) : fmt::format("shared_{}", below(rng, 6));
      auto created = keys.create(name);
      if (created) {
        if (created->name != name || !created->enabled || !created->value || created->value->size() != 64)
          out.problem("iteration {}: create {} answered {}", i, name, *created);
        ++out.creates_ok;
        out.created.push_back(created_record{created->id, name, t});
        out.own_flags[created->id] = true;
        mine.push_back(created->id);
        pool.add(created->id, t);
      } else if (is_duplicate(created.error()) && roll >= 24) {
        ++out.duplicates;
        out.duplicate_names.push_back(name);
      } else if (is_limit(created.error())) {
        ++out.limits;
      } else {
        out.problem("iteration {}: create {} failed: {}", i, name, created.error());
      }
    } else if (roll < 50) {
      const object_id id = pool.recent(rng).value_or(never_issued);
      const auto fetched = keys.fetch(id);
      if (!fetched) {
        out.problem("iteration {}: fetch {} failed: {}", i, id, fetched.error());
      } else if (!fetched->has_value()) {
        out.absent.push_back(id);
      } else {
        const api_key& k = **fetched;
        if (k.id != id || k.value.has_value()) out.problem("iteration {}: fetch {} answered {}", i, id, k);
        out.seen.push_back(fetched_record{k.id, k.name});
        // Only this thread toggles its keys, so for them the flag is known.
        if (const auto own = out.own_flags.find(id); own != out.own_flags.end() && own->second != k.enabled)
          out.problem("iteration {}: fetch {} shows enabled={}, this thread last set {}", i, id, k.enabled,
                      own->second);
      }
    } else if (roll < 60) {
      const auto list = keys.fetch_all();
      if (!list) {
        out.problem("iteration {}: fetch_all failed: {}", i, list.error());
        continue;
      }
      out.largest_list = std::max(out.largest_list, list->size());
      if (list->size() > key_limit) out.problem("iteration {}: fetch_all returned {} keys", i, list->size());
      std::set<object_id> ids;
      std::set<std::string> names;
      for (const api_key& k : *list) {
        if (!ids.insert(k.id).second) out.problem("iteration {}: fetch_all lists {} twice", i, k.id);
        if (!names.insert(k.name).second) out.problem("iteration {}: fetch_all lists the name {} twice", i, k.name);
        if (k.value.has_value()) out.problem("iteration {}: fetch_all shows a value", i);
        out.seen.push_back(fetched_record{k.id, k.name});
        if (const auto own = out.own_flags.find(k.id); own != out.own_flags.end() && own->second != k.enabled)
          out.problem("iteration {}: fetch_all shows {} enabled={}, this thread last set {}", i, k.id, k.enabled,
                      own->second);
      }
    } else if (roll < 84) {
      if (mine.empty()) continue;
      const bool enable = roll < 72;
      const object_id id = mine[below(rng, mine.size())];
      const auto toggled = enable ? keys.enable(id) : keys.disable(id);
      if (toggled) {
        out.own_flags[id] = enable;
      } else if (is_not_found(toggled.error())) {
        ++out.not_found;  // another thread removed it
        out.absent.push_back(id);
      } else {
        out.problem("iteration {}: {} {} failed: {}", i, enable ? "enable" : "disable", id, toggled.error());
      }
    } else {
      const object_id id = pool.recent(rng).value_or(never_issued);
      if (const auto removed = keys.remove(id); removed) {
        ++out.removes;
        out.removed.push_back(id);
      } else {
        out.problem("iteration {}: remove {} failed: {}", i, id, removed.error());
      }
    }
  }
}

}  // namespace

TEST_CASE(
    "8 threads, each with its own user, 200 mixed calls each: every answer is the one a sequential model predicts") {
  emulator emu;
  app_type app{emu, config_for(emu)};
  std::vector<tally> tallies(thread_count);
  std::latch start{thread_count};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t)
      threads.emplace_back(own_user_workload, std::ref(app), std::ref(emu), t, std::ref(start),
                           std::ref(tallies[static_cast<std::size_t>(t)]));
    for (std::thread& thread : threads) thread.join();
  }
  report(tallies);

  // Each workload is fixed by its seed, so every kind of answer must have happened.
  for (std::size_t t = 0; t < tallies.size(); ++t) {
    CAPTURE(t);
    CHECK(tallies[t].creates_ok > key_limit);
    CHECK(tallies[t].duplicates > 0);
    CHECK(tallies[t].limits > 0);
    CHECK(tallies[t].not_found > 0);
    CHECK(tallies[t].removes > 0);
    CHECK(tallies[t].largest_list == key_limit);
  }
}

TEST_CASE(
    "8 threads sharing one user and one session, 200 mixed calls each: no key lost or duplicated, the limit held") {
  emulator emu;
  app_type app{emu, config_for(emu)};
  const std::string user_id = emu.add_user("shared@example.com", "shared password");
  const auto user = app.log_in(credentials::email_password("shared@example.com", "shared password"));
  REQUIRE(user);
  // Half the threads share one key client, the others each make their own over the same session.
  keys_type shared_keys = app.api_keys(*user);
  std::vector<keys_type> own_keys;
  for (int t = 0; t < thread_count; ++t) own_keys.push_back(app.api_keys(*user));

  key_pool pool;
  std::vector<shared_tally> tallies(thread_count);
  std::latch start{thread_count};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
      keys_type& keys = t % 2 == 0 ? shared_keys : own_keys[static_cast<std::size_t>(t)];
      threads.emplace_back(shared_user_workload, std::ref(keys), std::ref(pool), t, std::ref(start),
                           std::ref(tallies[static_cast<std::size_t>(t)]));
    }
    for (std::thread& thread : threads) thread.join();
  }
  report(std::vector<tally>(tallies.begin(), tallies.end()));
  CHECK((*user)->logged_in());

  // Merge what every thread saw.
  std::map<object_id, created_record> created;
  std::set<object_id> removed;
  std::size_t creates_ok = 0, duplicates = 0, limits = 0, removes = 0;
  for (const shared_tally& t : tallies) {
    for (const created_record& c : t.created)
      CHECK_MESSAGE(created.emplace(c.id, c).second, "the id ", c.id, " was created twice");
    removed.insert(t.removed.begin(), t.removed.end());
    creates_ok += t.creates_ok;
    duplicates += t.duplicates;
    limits += t.limits;
    removes += t.removes;
    CHECK(t.largest_list <= key_limit);
  }
  removed.erase(never_issued);

  // The final state is exactly what the successful calls imply: created and not removed.
  const auto final_list = shared_keys.fetch_all();
  REQUIRE(final_list);
  const std::set<object_id> expected = apikeys_tests::check_final_list(
      *final_list, created, removed, [&](const api_key& k, const created_record& record) {
        CHECK(k.name == record.name);
        // Only the creating thread toggled it: its last successful toggle set the flag.
        const shared_tally& owner = tallies[static_cast<std::size_t>(record.owner)];
        CHECK_MESSAGE(k.enabled == owner.own_flags.at(k.id), "key ", k.id, " of thread ", record.owner);
      }).expected;
  CHECK(final_list->size() <= key_limit);
  CHECK(emu.key_count(user_id) == final_list->size());
  // Every removed id had been created, and creates beyond the limit needed removes to make room.
  for (const object_id& id : removed)
    CHECK_MESSAGE(created.count(id) == 1, "removed ", id, ", which no create answered");
  CHECK(created.size() - removed.size() == final_list->size());
  CHECK(created.size() <= key_limit + removed.size());

  // No name is held twice, now or ever at once: of the keys created with one name, one at most survives.
  std::map<std::string, int> survivors;
  for (const auto& [id, record] : created)
    if (expected.count(id) != 0) ++survivors[record.name];
  for (const auto& entry : survivors)
    CHECK_MESSAGE(entry.second == 1, "name ", entry.first, " survives ", entry.second, " times");

  // Every 404 and every empty fetch is of a key some remove took; everything seen was created, under its name.
  for (const shared_tally& t : tallies) {
    for (const object_id& id : t.absent)
      CHECK_MESSAGE((id == never_issued || removed.count(id) == 1), "found nothing at ", id, ", which nobody removed");
    for (const fetched_record& s : t.seen) {
      const auto record = created.find(s.id);
      REQUIRE_MESSAGE(record != created.end(), "saw ", s.id, ", which no create answered");
      CHECK(s.name == record->second.name);
    }
    for (const std::string& name : t.duplicate_names) {
      const bool ever_created =
          std::any_of(created.begin(), created.end(), [&](const auto& entry) { return entry.second.name == name; });
      CHECK_MESSAGE(ever_created, "409 for ", name, ", which no create answered");
    }
  }

  // The races this test is for did happen.
  CHECK(creates_ok > key_limit);
  CHECK(duplicates > 0);
  CHECK(limits > 0);
  CHECK(removes > 0);
}
