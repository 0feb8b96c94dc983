// coroutines: the .NET SDK's "user API keys" page with co_await, over an asynchronous transport that blocks no thread.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <fmt/core.h>

// --- An asynchronous transport -------------------------------------------------------------------------------
// Most asynchronous HTTP libraries look like this one: you hand them a request and a callback, they return
// at once, and their own event-loop thread calls the callback when the answer is in. Here the "network" is
// an App Services emulator in this process, answered on the loop thread, so the example needs no sockets.
// All apikeys needs is async_send(request, completion): call completion once, with the response or a
// transport_error, on any thread; keep `request` alive until then.
class event_loop_transport {
 public:
  explicit event_loop_transport(apikeys::testing::emulator& server) : server_(server), loop_([this] { run(); }) {}
  event_loop_transport(const event_loop_transport&) = delete;
  event_loop_transport& operator=(const event_loop_transport&) = delete;
  ~event_loop_transport() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    loop_.join();
  }

  template <class Completion>
  void async_send(const apikeys::http_request& request, Completion completion) {
    const std::lock_guard lock(mutex_);
    jobs_.push_back([this, &request, completion] { completion(server_.send(request)); });
    wake_.notify_one();
  }

  std::thread::id loop_thread() const { return loop_.get_id(); }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and every request has been answered
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  apikeys::testing::emulator& server_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread loop_;
};

static_assert(apikeys::async_transport<event_loop_transport>);

// --- The story, with co_await ----------------------------------------------------------------------------------
// coroutine_executor makes every call an awaitable; the default error policy, throw_on_error, makes
// `co_await` give the value and throw apikeys::api_exception on failure, as `await` does in C#. With an
// asynchronous transport no thread waits while a request is in flight; the coroutine continues on the
// thread that finished the call: here the event-loop thread, once its first answer is in.
using app_client = apikeys::basic_app_client<event_loop_transport&, apikeys::coroutine_executor>;

// Users copy from this file: a step that silently went wrong would teach the wrong thing.
struct unexpected_outcome : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void expect(bool ok, const char* what) {
  if (!ok) throw unexpected_outcome(what);
}

apikeys::task<void> manage_keys(app_client& app, std::thread::id loop_thread) {
  // var user = await app.LogInAsync(Credentials.EmailPassword("demo@example.com", "demo-password"));
  std::shared_ptr<apikeys::session> user =
      co_await app.log_in(apikeys::credentials::email_password("demo@example.com", "demo-password"));
  fmt::print("Logged in as demo@example.com\n");
  expect(std::this_thread::get_id() == loop_thread, "the coroutine did not continue on the loop thread");

  auto keys = app.api_keys(user);

  // var newKey = await user.ApiKeys.CreateAsync("someKeyName");
  apikeys::api_key new_key = co_await keys.create("someKeyName");
  expect(new_key.enabled && new_key.value.has_value(), "the new key is not as created");
  fmt::print("Created API key '{}'; its value is shown only once, store it now\n", new_key.name);

  // var key = await user.ApiKeys.FetchAsync(ObjectId.Parse("5e5e6f0abe4ae2a2c2c2d329"));
  std::optional<apikeys::api_key> key = co_await keys.fetch(new_key.id);
  expect(key && key->name == "someKeyName", "fetch did not find the key");
  fmt::print("Fetched key '{}' by its id\n", key->name);

  // var allKeys = await user.ApiKeys.FetchAllAsync();
  std::vector<apikeys::api_key> all_keys = co_await keys.fetch_all();
  expect(all_keys.size() == 1, "fetch_all did not list exactly the new key");
  fmt::print("The user has {} API key(s)\n", all_keys.size());

  // if (key.IsEnabled) await user.ApiKeys.DisableAsync(key.Id); else await user.ApiKeys.EnableAsync(key.Id);
  for (int i = 0; i < 2; ++i) {
    if (key->enabled)
      co_await keys.disable(key->id);
    else
      co_await keys.enable(key->id);
    const bool was_enabled = key->enabled;
    key = co_await keys.fetch(key->id);
    expect(key && key->enabled != was_enabled, "the key's state did not change");
    fmt::print("{} key '{}'\n", key->enabled ? "Enabled" : "Disabled", key->name);
  }

  // var device = await app.LogInAsync(Credentials.ApiKey(newKey.Key));
  std::shared_ptr<apikeys::session> device = co_await app.log_in(apikeys::credentials::api_key(*new_key.value));
  expect(device->user_id() == user->user_id(), "the key logged in someone else");
  fmt::print("A second device logged in with the key as its owner\n");

  // await user.ApiKeys.DeleteAsync(key.Id);
  co_await keys.remove(new_key.id);
  key = co_await keys.fetch(new_key.id);
  expect(!key, "the deleted key can still be fetched");
  fmt::print("Deleted key '{}'; fetching it returns no key\n", new_key.name);

  // A failure arrives as an exception at the co_await, like a faulted Task in C#.
  try {
    co_await keys.enable(new_key.id);
    expect(false, "enabling a deleted key succeeded");
  } catch (const apikeys::api_exception& e) {
    expect(e.code() == apikeys::errc::api_key_not_found, "enabling a deleted key failed in an unexpected way");
    fmt::print("Enabling the deleted key fails: {}\n", e.error().message);
  }
}

int main() {
  try {
    apikeys::testing::emulator server;
    server.add_user("demo@example.com", "demo-password");
    event_loop_transport transport(server);

    apikeys::app_config config;
    config.app_id = server.app_id();
    config.base_url = server.hostname();
    // No thread pool: with an asynchronous transport the executor never needs one.
    app_client app{transport, config, apikeys::coroutine_executor{nullptr}};

    // main() is not a coroutine: sync_wait runs the story and waits for it to finish.
    apikeys::sync_wait(manage_keys(app, transport.loop_thread()));
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "coroutines: {}\n", e.what());
    return 1;
  }
}
