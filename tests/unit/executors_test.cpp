// apikeys tests: every operation through every executor and both error policies, over send() and async_send().
#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/event_loop_transport.hpp>
#include <apikeys/testing/scripted_transport.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/emulator_config.hpp"
#include "support/executor_matrix.hpp"
#include "support/names.hpp"
#include "support/settle.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::testing::emulator;
using apikeys::testing::event_loop_transport;
using apikeys_tests::loop_transport;
using namespace apikeys::literals;
using namespace std::chrono_literals;

constexpr object_id never_issued = "000000000000000000000003"_oid;
constexpr std::string_view email = "someone@example.com";
constexpr std::string_view password = "correct horse";

static_assert(apikeys::transport<emulator> && !apikeys::async_transport<emulator>);
static_assert(apikeys::async_transport<loop_transport> && !apikeys::transport<loop_transport>);
static_assert(apikeys::any_transport<emulator> && apikeys::any_transport<loop_transport>);
static_assert(apikeys::executor<apikeys::inline_executor> && apikeys::executor<apikeys::future_executor> &&
              apikeys::executor<apikeys::callback_executor> && apikeys::executor<apikeys::coroutine_executor>);

using apikeys_tests::config_for;

// --- one call to its end, as a result<T>, whatever the executor and the policy --------------------------------

using apikeys_tests::settle;

template <class R>
std::optional<api_error> error_in(const R& r) {
  if (r) return std::nullopt;
  return r.error();
}

// --- the matrix ------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE_DEFINE("every operation and login, through every executor and error policy", S, every_cell) {
  apikeys_tests::world<S> w{1ms};
  apikeys_tests::every_operation(w);
}
TEST_CASE_TEMPLATE_APPLY(every_cell, apikeys_tests::every_setup);

// --- co_await, operation by operation ---------------------------------------------------------------------

template <class Transport>
using co_app = apikeys::basic_app_client<Transport, apikeys::coroutine_executor>;
template <class Transport>
using co_app_results = apikeys::basic_app_client<Transport, apikeys::coroutine_executor, apikeys::return_result>;

// The seed's story with co_await under throw_on_error: values, and api_exception where a call fails.
template <class Transport>
apikeys::task<std::vector<std::string>> key_story(co_app<Transport>& app) {
  std::vector<std::string> log;
  std::shared_ptr<session> user = co_await app.log_in(credentials::email_password(email, password));
  auto keys = app.api_keys(user);
  api_key key = co_await keys.create("someKeyName");
  log.push_back("created " + key.name);
  std::optional<api_key> fetched = co_await keys.fetch(key.id);
  log.push_back(fetched ? "fetched " + fetched->name : "fetched nothing");
  std::vector<api_key> all = co_await keys.fetch_all();
  log.push_back("all " + std::to_string(all.size()));
  co_await keys.disable(key.id);
  fetched = co_await keys.fetch(key.id);
  log.push_back(fetched->enabled ? "enabled" : "disabled");
  co_await keys.enable(key.id);
  fetched = co_await keys.fetch(key.id);
  log.push_back(fetched->enabled ? "enabled" : "disabled");
  std::shared_ptr<session> device = co_await app.log_in(credentials::api_key(*key.value));
  log.push_back("logged in with " + device->provider());
  co_await keys.remove(key.id);
  fetched = co_await keys.fetch(key.id);
  log.push_back(fetched ? "still there" : "deleted");
  try {
    co_await keys.enable(key.id);
    log.push_back("enabled a deleted key");
  } catch (const apikeys::api_exception& ex) {
    log.push_back(std::string{"threw "} + std::string{apikeys::to_string(ex.code())});
  }
  co_return log;
}

const std::vector<std::string> story_log = {"created someKeyName", "fetched someKeyName", "all 1",  "disabled",
                                            "enabled",             "logged in with api-key", "deleted",
                                            "threw API key not found"};

TEST_CASE("co_await each operation, on a thread pool and on an event loop") {
  emulator emu;
  emu.add_user(email, password);
  SUBCASE("send(): the calls run on the executor's pool") {
    co_app<emulator&> app{emu, config_for(emu)};
    CHECK(apikeys::sync_wait(key_story(app)) == story_log);
  }
  SUBCASE("async_send(): no thread waits, the loop thread resumes the coroutine") {
    loop_transport loop{emu, 1ms};
    co_app<loop_transport&> app{loop, config_for(emu), apikeys::coroutine_executor{nullptr}};
    CHECK(apikeys::sync_wait(key_story(app)) == story_log);
  }
}

template <class Transport>
apikeys::task<void> result_story(co_app_results<Transport>& app, std::vector<std::thread::id>& resumed_on) {
  // Under return_result a co_await yields result<T> and throws nothing.
  result<std::shared_ptr<session>> user = co_await app.log_in(credentials::email_password(email, "wrong password"));
  resumed_on.push_back(std::this_thread::get_id());
  REQUIRE_FALSE(user);
  CHECK(user.error().code == errc::auth_error);
  user = co_await app.log_in(credentials::email_password(email, password));
  resumed_on.push_back(std::this_thread::get_id());
  REQUIRE(user);
  auto keys = app.api_keys(*user);
  result<api_key> key = co_await keys.create("k1");
  resumed_on.push_back(std::this_thread::get_id());
  REQUIRE(key);
  result<void> enabled = co_await keys.enable(never_issued);
  resumed_on.push_back(std::this_thread::get_id());
  REQUIRE_FALSE(enabled);
  CHECK(enabled.error().code == errc::api_key_not_found);
  result<std::optional<api_key>> fetched = co_await keys.fetch(key->id);
  REQUIRE(fetched);
  CHECK((*fetched)->name == "k1");
  result<void> removed = co_await keys.remove(key->id);
  CHECK(removed);
  result<std::vector<api_key>> all = co_await keys.fetch_all();
  REQUIRE(all);
  CHECK(all->empty());
  result<void> logged_out = co_await app.log_out(*user);
  CHECK(logged_out);
  result<api_key> refused = co_await keys.create("k2");
  resumed_on.push_back(std::this_thread::get_id());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::not_logged_in);
}

// Every resumption happened on the thread that finished the call.
void check_resumed_on(const std::vector<std::thread::id>& resumed_on, std::thread::id worker) {
  for (const auto& id : resumed_on) CHECK(id == worker);
}

TEST_CASE("co_await under return_result yields result<T>, and resumes where the call finished") {
  emulator emu;
  emu.add_user(email, password);
  std::vector<std::thread::id> resumed_on;
  SUBCASE("pool") {
    auto pool = std::make_shared<apikeys::thread_pool>(1);
    co_app_results<emulator&> app{emu, config_for(emu), apikeys::coroutine_executor{pool}};
    apikeys::sync_wait(result_story(app, resumed_on));
    REQUIRE(resumed_on.size() == 5);
    // Every call ran on the pool's one thread, and the coroutine resumed there each time, even when the
    // call finished before the awaiting thread had suspended it.
    std::promise<std::thread::id> pool_thread;
    pool->post([&pool_thread] { pool_thread.set_value(std::this_thread::get_id()); });
    check_resumed_on(resumed_on, pool_thread.get_future().get());
  }
  SUBCASE("event loop") {
    loop_transport loop{emu};
    co_app_results<loop_transport&> app{loop, config_for(emu), apikeys::coroutine_executor{nullptr}};
    apikeys::sync_wait(result_story(app, resumed_on));
    REQUIRE(resumed_on.size() == 5);
    // The loop thread finished every exchange; the call refused before sending finished inside the await,
    // on the thread the coroutine was already on: the loop thread.
    check_resumed_on(resumed_on, loop.loop_thread_id());
  }
}

// --- task<T> itself -------------------------------------------------------------------------------------------

apikeys::task<int> forty_two() { co_return 42; }
apikeys::task<int> add_one(apikeys::task<int> inner) { co_return 1 + co_await std::move(inner); }
apikeys::task<void> fail_with(std::string what) {
  throw std::runtime_error(what);
  co_return;
}
apikeys::task<std::string> catch_inner() {
  try {
    co_await fail_with("inner failure");
  } catch (const std::runtime_error& ex) {
    co_return std::string{"caught "} + ex.what();
  }
  co_return "nothing thrown";
}

TEST_CASE("task: lazy, nests, carries values and exceptions") {
  CHECK(apikeys::sync_wait(forty_two()) == 42);
  CHECK(apikeys::sync_wait(add_one(add_one(forty_two()))) == 44);
  CHECK(apikeys::sync_wait(catch_inner()) == "caught inner failure");
  CHECK_THROWS_WITH_AS(apikeys::sync_wait(fail_with("escapes")), "escapes", std::runtime_error);

  bool ran = false;
  {
    auto never_awaited = [&]() -> apikeys::task<void> {
      ran = true;
      co_return;
    };
    auto t = never_awaited();  // lazy: destroyed without running
  }
  CHECK_FALSE(ran);

  // A long chain of tasks that finish at once does not grow the stack (symmetric transfer).
  struct chain {
    static apikeys::task<int> depth(int n) {
      if (n == 0) co_return 0;
      co_return 1 + co_await depth(n - 1);
    }
  };
  CHECK(apikeys::sync_wait(chain::depth(10000)) == 10000);
}

// --- destroying executors and pools with calls in flight ---------------------------------------------------

// send() says when the first request arrives, then holds every request until the gate opens.
struct gated_transport {
  emulator& emu;
  std::promise<void> entered{};
  std::atomic<bool> told{false};
  std::promise<void> gate{};
  std::shared_future<void> opened = gate.get_future().share();

  http_response send(const http_request& request) {
    if (!told.exchange(true)) entered.set_value();
    opened.wait();
    return emu.send(request);
  }
  void open() { gate.set_value(); }
};

struct logged_in {
  emulator emu;
  std::shared_ptr<session> user;
  logged_in() {
    emu.add_user(email, password);
    apikeys::basic_app_client<emulator&> app{emu, config_for(emu)};
    user = app.log_in(credentials::email_password(email, password));
  }
};

TEST_CASE("destroying a future executor's last owner: the running call finishes, queued calls fail, nothing hangs") {
  logged_in w;
  gated_transport slow{w.emu};
  auto arrived = slow.entered.get_future();
  using keys_type = apikeys::basic_api_key_client<gated_transport&, apikeys::future_executor>;
  auto keys = std::make_unique<keys_type>(slow, w.user, apikeys::client_options{},
                                          apikeys::future_executor{std::make_shared<apikeys::thread_pool>(1)});
  std::vector<std::future<api_key>> futures;
  for (int i = 0; i < 4; ++i) futures.push_back(keys->create("k" + std::to_string(i)));
  arrived.wait();  // k0 is running on the pool's one thread, held at the gate; k1..k3 are queued

  // The transport answers k0 once the shutdown has cancelled the queue, as a slow network would.
  std::thread network([&] {
    futures[1].wait();
    slow.open();
  });
  keys.reset();  // the client owned the only reference to the pool: cancel k1..k3, then join k0
  network.join();

  for (auto& f : futures) REQUIRE(f.wait_for(0s) == std::future_status::ready);
  CHECK(futures[0].get().name == "k0");
  for (int i = 1; i < 4; ++i) {
    try {
      futures[static_cast<std::size_t>(i)].get();
      FAIL("a cancelled call succeeded");
    } catch (const apikeys::api_exception& ex) {
      CHECK(ex.code() == errc::cancelled);
      CHECK(ex.error().kind() == apikeys::error_kind::client);
      CHECK(ex.error().http_status == 0);
      CHECK_FALSE(ex.error().outcome_unknown);  // it never started: nothing was sent
      CHECK(ex.error().message == "the executor shut down before the call started");
      CHECK(ex.error().context == "create API key \"k" + std::to_string(i) + "\"");
    }
  }
  CHECK(w.emu.key_count(w.user->user_id()) == 1);
}

TEST_CASE("a shared pool: shutdown cancels queued callbacks exactly once and resumes queued coroutines") {
  logged_in w;
  gated_transport slow{w.emu};
  auto arrived = slow.entered.get_future();
  auto pool = std::make_shared<apikeys::thread_pool>(1);
  apikeys::basic_api_key_client<gated_transport&, apikeys::callback_executor, apikeys::return_result> callbacks{
      slow, w.user, {}, apikeys::callback_executor{pool}};
  apikeys::basic_api_key_client<gated_transport&, apikeys::coroutine_executor> coroutines{
      slow, w.user, {}, apikeys::coroutine_executor{pool}};

  std::mutex mutex;
  std::vector<std::string> outcomes;
  std::atomic<int> calls{0};
  auto record = [&](result<api_key>&& r) {
    ++calls;
    const std::lock_guard lock(mutex);
    outcomes.push_back(r ? "created " + r->name : "failed " + r.error().context);
  };
  callbacks.create("first").then(record);
  arrived.wait();
  callbacks.create("second").then(record);

  std::optional<std::string> awaited;
  // A named lambda: the coroutine reaches its captures through the closure, which must outlive it.
  auto third = [&]() -> apikeys::task<void> {
    try {
      api_key k = co_await coroutines.create("third");
      awaited = "created " + k.name;
    } catch (const apikeys::api_exception& ex) {
      awaited = std::string{"threw: "} + ex.what();
    }
  };
  auto waiting = third();
  // Start the coroutine on a helper thread: it suspends at once (its call is queued behind "first").
  std::thread starter([&] { apikeys::sync_wait(std::move(waiting)); });

  // Once "second" and the coroutine's call wait behind "first", shut the pool down while "first" is
  // held at the gate; the gate opens once the shutdown has cancelled "second".
  for (int i = 0; i < 5000 && pool->queued() < 2; ++i) std::this_thread::sleep_for(1ms);
  REQUIRE(pool->queued() == 2);
  std::thread network([&] {
    while (calls == 0) std::this_thread::sleep_for(1ms);
    slow.open();
  });
  pool->shutdown();
  network.join();
  starter.join();

  CHECK(calls == 2);
  CHECK(outcomes == std::vector<std::string>{"failed create API key \"second\"", "created first"});
  REQUIRE(awaited);
  CHECK(*awaited ==
        "threw: create API key \"third\": the executor shut down before the call started (cancelled)");

  // After shutdown a call fails at once, on the calling thread.
  calls = 0;
  callbacks.create("late").then(record);
  CHECK(calls == 1);
  CHECK(outcomes.back() == "failed create API key \"late\"");
}

TEST_CASE("thread_pool: order, post after shutdown, shutdown from its own thread") {
  SUBCASE("one thread runs work in order") {
    apikeys::thread_pool pool(1);
    CHECK(pool.size() == 1);
    std::vector<int> seen;
    for (int i = 0; i < 100; ++i) CHECK(pool.post([&seen, i] { seen.push_back(i); }));
    pool.shutdown();
    // Whatever ran, ran in order; whatever did not was cancelled.
    for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<int>(i));
  }
  SUBCASE("post after shutdown cancels at once") {
    apikeys::thread_pool pool(2);
    pool.shutdown();
    CHECK(pool.stopped());
    struct work {
      int* ran;
      int* cancelled;
      void operator()() { ++*ran; }
      void cancel() { ++*cancelled; }
    };
    int ran = 0;
    int cancelled = 0;
    CHECK_FALSE(pool.post(work{&ran, &cancelled}));
    CHECK(ran == 0);
    CHECK(cancelled == 1);
  }
  SUBCASE("shutdown from a pool thread joins the others; the destructor joins it") {
    auto pool = std::make_unique<apikeys::thread_pool>(3);
    std::promise<bool> inside;
    pool->post([&] {
      const bool mine = pool->running_in_this_thread();
      pool->shutdown();
      inside.set_value(mine);
    });
    CHECK(inside.get_future().get());
    CHECK_FALSE(pool->running_in_this_thread());
    pool.reset();
  }
}

// --- asynchronous transports ---------------------------------------------------------------------------------

// async_send() answers inside the call, before returning: the executors must neither deadlock nor nest.
struct immediate_transport {
  emulator& emu;
  template <class Completion>
  void async_send(const http_request& request, Completion&& completion) {
    completion(emu.send(request));
  }
};

// Has both: the inline executor must use send(), the others async_send().
struct dual_transport {
  emulator& emu;
  std::atomic<int> sync_sends{0};
  std::atomic<int> async_sends{0};
  http_response send(const http_request& request) {
    ++sync_sends;
    return emu.send(request);
  }
  void async_send(const http_request& request, std::function<void(send_result_type)> completion) {
    ++async_sends;
    completion(emu.send(request));
  }
};

// Misbehaves on purpose.
struct unruly_transport {
  enum class mode { throw_before, complete_then_throw, complete_twice, report_failure };
  mode how = mode::throw_before;
  emulator& emu;
  template <class Completion>
  void async_send(const http_request& request, Completion completion) {
    switch (how) {
      case mode::throw_before: throw std::runtime_error("socket exploded");
      case mode::complete_then_throw:
        completion(emu.send(request));
        throw std::runtime_error("late failure");
      case mode::complete_twice: {
        auto copy = completion;
        completion(emu.send(request));
        copy(apikeys::unexpected{apikeys::transport_error{errc::timeout, "second completion"}});
        return;
      }
      case mode::report_failure:
        completion(apikeys::unexpected{apikeys::transport_error{errc::connection_failed, "no route to host"}});
        return;
    }
  }
};

TEST_CASE("a transport that completes inside async_send") {
  logged_in w;
  immediate_transport immediate{w.emu};
  apikeys::basic_api_key_client<immediate_transport&, apikeys::coroutine_executor> co_keys{
      immediate, w.user, {}, apikeys::coroutine_executor{nullptr}};
  auto many = [&]() -> apikeys::task<std::size_t> {
    for (int i = 0; i < 2000; ++i) {  // deep enough to overflow a stack if each resume nested
      api_key k = co_await co_keys.create("k");
      co_await co_keys.remove(k.id);
    }
    co_return (co_await co_keys.fetch_all()).size();
  };
  CHECK(apikeys::sync_wait(many()) == 0);

  apikeys::basic_api_key_client<immediate_transport&, apikeys::future_executor> future_keys{
      immediate, w.user, {}, apikeys::future_executor{nullptr}};
  auto f = future_keys.create("f");
  REQUIRE(f.wait_for(0s) == std::future_status::ready);  // finished inside create()
  CHECK(f.get().name == "f");

  // Over an async-only transport the inline executor waits for the completion.
  apikeys::basic_api_key_client<immediate_transport&> inline_keys{immediate, w.user};
  CHECK(inline_keys.fetch_all().size() == 1);
}

TEST_CASE("a transport with send() and async_send(): each executor takes its own") {
  logged_in w;
  dual_transport dual{w.emu};
  apikeys::basic_api_key_client<dual_transport&> inline_keys{dual, w.user};
  CHECK(inline_keys.fetch_all().empty());
  CHECK(dual.sync_sends == 1);
  CHECK(dual.async_sends == 0);
  apikeys::basic_api_key_client<dual_transport&, apikeys::future_executor> future_keys{dual, w.user};
  CHECK(future_keys.fetch_all().get().empty());
  apikeys::basic_api_key_client<dual_transport&, apikeys::callback_executor, apikeys::return_result> callback_keys{dual, w.user};
  std::promise<bool> ok;
  callback_keys.fetch_all().then([&](result<std::vector<api_key>>&& r) { ok.set_value(r.has_value()); });
  CHECK(ok.get_future().get());
  CHECK(dual.sync_sends == 1);
  CHECK(dual.async_sends == 2);
}

TEST_CASE("async_send that throws, completes twice, or reports a failure") {
  logged_in w;
  unruly_transport unruly{unruly_transport::mode::throw_before, w.emu};
  apikeys::basic_api_key_client<unruly_transport&, apikeys::callback_executor, apikeys::return_result> keys{
      unruly, w.user, {}, apikeys::callback_executor{nullptr}};
  std::vector<std::string> seen;
  auto record = [&](result<std::vector<api_key>>&& r) {
    seen.push_back(r ? "keys " + std::to_string(r->size()) : apikeys::detail::describe(r.error()));
  };

  keys.fetch_all().then(record);
  REQUIRE(seen.size() == 1);
  CHECK(seen.back() == "fetch all API keys: the transport threw: socket exploded (transport error)");

  unruly.how = unruly_transport::mode::complete_then_throw;
  keys.fetch_all().then(record);
  REQUIRE(seen.size() == 2);
  CHECK(seen.back() == "keys 0");

  unruly.how = unruly_transport::mode::complete_twice;
  keys.fetch_all().then(record);
  REQUIRE(seen.size() == 3);
  CHECK(seen.back() == "keys 0");

  unruly.how = unruly_transport::mode::report_failure;
  keys.fetch_all().then(record);
  REQUIRE(seen.size() == 4);
  CHECK(seen.back() == "fetch all API keys: no route to host (connection failed)");
}

TEST_CASE("an event loop that stops with calls queued completes them with connection_reset") {
  logged_in w;
  loop_transport loop{w.emu};
  apikeys::basic_api_key_client<loop_transport&, apikeys::future_executor, apikeys::return_result> keys{
      loop, w.user, {}, apikeys::future_executor{nullptr}};
  CHECK(keys.fetch_all().get());
  loop.pause();
  auto first = keys.fetch_all();
  auto second = keys.create("queued");
  CHECK(loop.queued() == 2);
  loop.stop();
  auto first_result = first.get();
  REQUIRE_FALSE(first_result);
  CHECK(first_result.error().code == errc::connection_reset);
  CHECK(first_result.error().message == "the event loop stopped");
  auto second_result = second.get();
  REQUIRE_FALSE(second_result);
  CHECK(second_result.error().code == errc::connection_reset);
  CHECK(second_result.error().context == "create API key \"queued\"");
  auto late = keys.fetch_all().get();
  REQUIRE_FALSE(late);
  CHECK(late.error().code == errc::connection_reset);
  CHECK(w.emu.key_count(w.user->user_id()) == 0);
}

TEST_CASE("the location is looked up once, by concurrent asynchronous log ins") {
  emulator emu;
  emu.add_user(email, password);
  loop_transport loop{emu};
  loop.pause();  // every log in starts before the location is known
  apikeys::basic_app_client<loop_transport&, apikeys::callback_executor, apikeys::return_result> app{
      loop, config_for(emu), apikeys::callback_executor{nullptr}};
  constexpr int logins = 8;
  std::mutex mutex;
  std::condition_variable all_done;
  int done = 0;
  int succeeded = 0;
  for (int i = 0; i < logins; ++i) {
    app.log_in(credentials::email_password(email, password)).then([&](result<std::shared_ptr<session>>&& r) {
      const std::lock_guard lock(mutex);
      if (r) ++succeeded;
      ++done;
      all_done.notify_all();
    });
  }
  // Nothing blocked the caller, and only the location request went out: every log in waits for it.
  CHECK(loop.sent() == 1);
  loop.resume();
  std::unique_lock lock(mutex);
  REQUIRE(all_done.wait_for(lock, 10s, [&] { return done == logins; }));
  CHECK(succeeded == logins);
  CHECK(emu.request_count() == 1 + 2 * logins);  // location once; each log in and its profile
  CHECK(loop.sent() == 1 + 2 * logins);
}

TEST_CASE("a failed location lookup fails every call waiting for it; the next call asks again") {
  apikeys::testing::scripted_transport script;
  script.respond(500, R"({"error":"down","error_code":"InternalServerError"})");
  script.respond(200, R"({"hostname":"https://h.example","ws_hostname":"wss://h.example","deployment_model":"GLOBAL","location":"US-VA"})");
  script.respond(200, R"({"access_token":"a","refresh_token":"r","user_id":"u","device_id":"d"})");
  event_loop_transport<apikeys::testing::scripted_transport> loop{script};
  apikeys::app_config config;
  config.app_id = "app";
  config.base_url = "https://base.example";
  config.fetch_profile_at_login = false;  // the script holds the log in's own exchanges
  apikeys::basic_app_client<decltype(loop)&, apikeys::future_executor, apikeys::return_result> app{
      loop, config, apikeys::future_executor{nullptr}};
  loop.pause();  // both calls wait for the one lookup
  auto a = app.log_in(credentials::anonymous());
  auto b = app.location();
  CHECK(loop.queued() == 1);
  loop.resume();
  auto a_result = a.get();
  auto b_result = b.get();
  REQUIRE_FALSE(a_result);
  REQUIRE_FALSE(b_result);
  CHECK(a_result.error().code == errc::internal_server_error);
  CHECK(a_result.error().context == "look up the app's location");
  CHECK(b_result.error().code == errc::internal_server_error);
  auto again = app.log_in(credentials::anonymous()).get();
  REQUIRE(again);
  CHECK((*again)->host() == "https://h.example");
  REQUIRE(script.requests().size() == 3);
  CHECK(script.requests()[0].url == "https://base.example/api/client/v2.0/app/app/location");
  CHECK(script.requests()[1].url == "https://base.example/api/client/v2.0/app/app/location");
  CHECK(script.requests()[2].url == "https://h.example/api/client/v2.0/app/app/auth/providers/anon-user/login");
}

TEST_CASE("over async_send: log in fetches the profile, and a key call's 401 sends the revoking DELETE and returns the 401") {
  apikeys::testing::scripted_transport script;
  script.respond(200, R"({"hostname":"https://h.example","ws_hostname":"wss://h.example","deployment_model":"GLOBAL","location":"US-VA"})");
  script.respond(200, R"({"access_token":"a.b.c","refresh_token":"r.s.t","user_id":"u","device_id":"d"})");
  script.respond(200, R"({"user_id":"u","identities":[{"id":"i","provider_type":"anon-user"}],"data":{},"type":"normal"})");
  script.respond(401, R"({"error":"invalid session","error_code":"InvalidSession"})");
  script.respond(500, R"({"error":"down","error_code":"InternalServerError"})");  // the DELETE's answer, not the caller's
  event_loop_transport<apikeys::testing::scripted_transport> loop{script};
  apikeys::app_config config;
  config.app_id = "app";
  config.base_url = "https://base.example";
  apikeys::basic_app_client<decltype(loop)&, apikeys::callback_executor, apikeys::return_result> app{
      loop, config, apikeys::callback_executor{nullptr}};

  std::promise<result<std::shared_ptr<session>>> logged_in;
  app.log_in(credentials::anonymous()).then([&](result<std::shared_ptr<session>>&& r) { logged_in.set_value(std::move(r)); });
  auto user = logged_in.get_future().get();
  REQUIRE(user);
  REQUIRE((*user)->profile());
  CHECK((*user)->profile()->identities.size() == 1);

  auto keys = app.api_keys<apikeys::return_result>(*user);
  std::promise<result<std::vector<apikeys::api_key>>> listed;
  keys.fetch_all().then([&](result<std::vector<apikeys::api_key>>&& r) { listed.set_value(std::move(r)); });
  auto r = listed.get_future().get();
  REQUIRE_FALSE(r);
  CHECK(r.error().http_status == 401);
  CHECK(r.error().code == errc::invalid_session);
  CHECK_FALSE((*user)->logged_in());
  const auto sent = script.requests();
  REQUIRE(sent.size() == 5);
  CHECK(sent[2].url == "https://h.example/api/client/v2.0/auth/profile");
  CHECK(*apikeys::find_header(sent[2].headers, "Authorization") == "Bearer a.b.c");
  CHECK(sent[4].method == apikeys::http_method::delete_);
  CHECK(sent[4].url == "https://h.example/api/client/v2.0/auth/session");
  CHECK(*apikeys::find_header(sent[4].headers, "Authorization") == "Bearer r.s.t");
  CHECK(script.pending() == 0);
}

TEST_CASE("profile's refresh and retry over async_send") {
  emulator emu;
  emu.add_user(email, password);
  loop_transport loop{emu};
  apikeys::basic_app_client<loop_transport&, apikeys::future_executor, apikeys::return_result> app{
      loop, config_for(emu), apikeys::future_executor{nullptr}};
  auto user = app.log_in(credentials::email_password(email, password)).get();
  REQUIRE(user);
  const apikeys::secret old_access = (*user)->access_token();
  emu.advance_clock(std::chrono::hours{1});  // the access token expires; the refresh token does not
  const std::size_t before = emu.request_count();
  auto profile = app.profile(*user).get();
  REQUIRE(profile);
  CHECK(profile->user_id == (*user)->user_id());
  CHECK(emu.request_count() == before + 3);  // profile (401), refresh, profile
  CHECK((*user)->access_token().reveal() != old_access.reveal());
}

// The emulator, noting the thread each request is sent from.
struct thread_noting_transport {
  emulator& emu;
  std::vector<std::thread::id> threads;
  http_response send(const http_request& request) {
    threads.push_back(std::this_thread::get_id());
    return emu.send(request);
  }
};

TEST_CASE("the sync path: inline_executor with return_result runs each key operation at once on the caller's thread") {
  logged_in w;
  thread_noting_transport noting{w.emu, {}};
  apikeys::basic_api_key_client<thread_noting_transport&, apikeys::inline_executor, apikeys::return_result> keys{
      noting, w.user};
  auto created = keys.create("direct");
  REQUIRE(created);
  CHECK(keys.fetch(created->id)->has_value());
  CHECK(keys.fetch_all()->size() == 1);
  CHECK(keys.disable(created->id));
  CHECK(keys.remove(created->id));
  CHECK(w.emu.key_count(w.user->user_id()) == 0);
  REQUIRE(noting.threads.size() == 5);
  for (const std::thread::id& sent_from : noting.threads) CHECK(sent_from == std::this_thread::get_id());
}

}  // namespace
