// apikeys tests: one app and one key client shared by 8 threads, through every executor: no race, no result lost.
#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/event_loop_transport.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/executor_matrix.hpp"
#include "support/names.hpp"
#include "support/settle.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::testing::emulator;
using namespace apikeys::literals;
using namespace std::chrono_literals;

constexpr int thread_count = 8;
constexpr int operations_per_thread = 500;
constexpr int cycle_length = 7;  // create, fetch, disable, fetch, enable, fetch_all, remove
constexpr int cycles = operations_per_thread / cycle_length;
constexpr int extra_operations = operations_per_thread - cycles * cycle_length;
constexpr object_id never_issued = "000000000000000000000004"_oid;
constexpr std::string_view email = "shared@example.com";
constexpr std::string_view password = "shared password";

// --- one call to its end, as a result<T>, whatever the executor and the policy --------------------------------

using apikeys_tests::settle;

// What one thread saw: how many calls came back as expected, and a description of every one that did not.
struct tally {
  int as_expected = 0;
  std::vector<std::string> surprises;
  std::vector<object_id> created;

  template <class R>
  void expect(bool ok, std::string_view what, const R& r) {
    if (ok) {
      ++as_expected;
      return;
    }
    std::string text{what};
    if (!r) text.append(": ").append(apikeys::detail::describe(r.error()));
    surprises.push_back(std::move(text));
  }
};

// Every executor under each error policy, over send() and over async_send().
TEST_CASE_TEMPLATE_DEFINE("8 threads x 500 operations through one shared client", S, shared_client) {
  apikeys_tests::world<S> w;
  emulator& emu = w.emu;
  auto& app = w.app;
  emu.add_user(email, password);

  // Eight first calls at once on one app: every log in succeeds and the location is asked for once.
  std::vector<std::shared_ptr<session>> sessions(thread_count);
  {
    std::latch go(thread_count);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < sessions.size(); ++t) {
      threads.emplace_back([&, t] {
        go.arrive_and_wait();
        auto r = settle([&] { return app.log_in(credentials::email_password(email, password)); });
        if (r) sessions[t] = *r;
      });
    }
    for (auto& thread : threads) thread.join();
  }
  for (const auto& s : sessions) REQUIRE(s != nullptr);
  CHECK(emu.request_count() == 1 + 2 * thread_count);  // location once; each log in and its profile

  // One key client, one session, eight threads.
  auto keys = app.api_keys(sessions[0]);
  const std::size_t requests_before = emu.request_count();
  std::vector<tally> tallies(thread_count);
  {
    std::latch go(thread_count);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < tallies.size(); ++t) {
      threads.emplace_back([&, t] {
        tally& mine = tallies[t];
        go.arrive_and_wait();
        for (int c = 0; c < cycles; ++c) {
          const std::string name = "t" + std::to_string(t) + "_" + std::to_string(c);
          auto created = settle([&] { return keys.create(name); });
          mine.expect(created && created->name == name && created->enabled && created->value.has_value(), "create", created);
          if (!created) continue;
          const object_id id = created->id;
          mine.created.push_back(id);

          auto fetched = settle([&] { return keys.fetch(id); });
          mine.expect(fetched && fetched->has_value() && (*fetched)->id == id && (*fetched)->enabled, "fetch", fetched);
          auto disabled = settle([&] { return keys.disable(id); });
          mine.expect(static_cast<bool>(disabled), "disable", disabled);
          auto refetched = settle([&] { return keys.fetch(id); });
          mine.expect(refetched && refetched->has_value() && !(*refetched)->enabled, "fetch disabled", refetched);
          auto enabled = settle([&] { return keys.enable(id); });
          mine.expect(static_cast<bool>(enabled), "enable", enabled);
          auto all = settle([&] { return keys.fetch_all(); });
          bool listed = false;
          if (all)
            for (const api_key& k : *all) listed = listed || (k.id == id && k.enabled && !k.value);
          // Each thread holds at most one key at a time.
          mine.expect(all && listed && all->size() <= thread_count, "fetch_all", all);
          auto removed = settle([&] { return keys.remove(id); });
          mine.expect(static_cast<bool>(removed), "remove", removed);
        }
        for (int e = 0; e < extra_operations; ++e) {
          auto missing = settle([&] { return keys.fetch(never_issued); });
          mine.expect(missing && !missing->has_value(), "fetch missing", missing);
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }

  // Every result accounted for: each thread's 500 calls came back as expected, each sent one request.
  std::set<object_id> ids;
  std::size_t created = 0;
  for (const tally& t : tallies) {
    for (const std::string& surprise : t.surprises) FAIL_CHECK(surprise);
    CHECK(t.as_expected == operations_per_thread);
    created += t.created.size();
    ids.insert(t.created.begin(), t.created.end());
  }
  CHECK(created == static_cast<std::size_t>(thread_count * cycles));
  CHECK(ids.size() == created);
  CHECK(emu.request_count() - requests_before == static_cast<std::size_t>(thread_count * operations_per_thread));
  CHECK(emu.key_count(sessions[0]->user_id()) == 0);
  CHECK(sessions[0]->logged_in());
  if constexpr (S::async) CHECK(w.sent() == emu.request_count());
}
TEST_CASE_TEMPLATE_APPLY(shared_client, apikeys_tests::every_setup);

}  // namespace
