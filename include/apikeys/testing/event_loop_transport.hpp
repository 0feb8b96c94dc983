// apikeys::testing::event_loop_transport: an asynchronous Transport that answers from a synchronous one on its own thread.
#ifndef APIKEYS_TESTING_EVENT_LOOP_TRANSPORT_HPP
#define APIKEYS_TESTING_EVENT_LOOP_TRANSPORT_HPP

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "../async_transport.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "../result.hpp"
#include "../transport.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE::testing {

/// Turns a Transport with send() (the emulator, a scripted_transport) into one with only async_send(),
/// as a callback-style HTTP library would be: async_send queues the request and returns; one loop
/// thread answers the queue in order, each request no sooner than `delay` after it was sent, and calls
/// its completion there. pause() and resume() let a test hold answers back deterministically. For testing code that uses the future, callback and coroutine executors:
/// `apikeys::basic_app_client<event_loop_transport<emulator>&, apikeys::coroutine_executor> app{loop, config};`
///
/// Thread safety: async_send may be called concurrently, and from the loop thread (a completion that
/// starts the next call). stop() or the destructor ends the loop; requests not yet answered then
/// complete with errc::connection_reset on the stopping thread, and later ones at once. Neither may run
/// on the loop thread.
template <class Inner>
class event_loop_transport {
  static_assert(transport<Inner>, "apikeys: event_loop_transport wraps a Transport with send()");

 public:
  explicit event_loop_transport(Inner& inner, std::chrono::milliseconds delay = std::chrono::milliseconds{0})
      : inner_(inner), delay_(delay), loop_([this] { run(); }) {
    loop_id_ = loop_.get_id();
  }
  event_loop_transport(const event_loop_transport&) = delete;
  event_loop_transport& operator=(const event_loop_transport&) = delete;
  ~event_loop_transport() { stop(); }

  /// Queues `request`, which must stay valid until `completion` has been called.
  template <class Completion>
  void async_send(const http_request& request, Completion&& completion) {
    std::function<void(send_result_type)> done(std::forward<Completion>(completion));
    {
      const std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.push_back(job{&request, std::move(done), std::chrono::steady_clock::now() + delay_});
        ++sent_;
        wake_.notify_one();
        return;
      }
    }
    done(stopped_error());
  }

  /// Ends the loop (idempotent); what is still queued completes with errc::connection_reset.
  void stop() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (loop_.joinable()) loop_.join();
    std::deque<job> left;
    {
      const std::lock_guard lock(mutex_);
      left.swap(queue_);
    }
    for (auto& j : left) j.completion(stopped_error());
  }

  /// While paused the loop answers nothing: requests pile up, as behind a slow network, until resume().
  void pause() {
    const std::lock_guard lock(mutex_);
    paused_ = true;
  }
  void resume() {
    {
      const std::lock_guard lock(mutex_);
      paused_ = false;
    }
    wake_.notify_one();
  }

  /// How many requests wait for an answer.
  std::size_t queued() const {
    const std::lock_guard lock(mutex_);
    return queue_.size();
  }

  /// The loop thread, on which completions run.
  std::thread::id loop_thread_id() const noexcept { return loop_id_; }
  /// How many requests async_send has taken.
  std::size_t sent() const {
    const std::lock_guard lock(mutex_);
    return sent_;
  }

 private:
  struct job {
    const http_request* request;
    std::function<void(send_result_type)> completion;
    std::chrono::steady_clock::time_point due;
  };

  static send_result_type stopped_error() {
    return unexpected{transport_error{errc::connection_reset, "the event loop stopped"}};
  }

  void run() {
    for (;;) {
      job next{};
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || (!paused_ && !queue_.empty()); });
        if (stopping_) return;
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      std::this_thread::sleep_until(next.due);
      next.completion(apikeys::detail::guarded_send(inner_, *next.request));
    }
  }

  Inner& inner_;
  std::chrono::milliseconds delay_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> queue_;
  bool stopping_ = false;
  bool paused_ = false;
  std::size_t sent_ = 0;
  std::thread loop_;  // after what run() uses: it starts running at once
  std::thread::id loop_id_{};
};

}  // namespace apikeys::testing

#endif  // APIKEYS_TESTING_EVENT_LOOP_TRANSPORT_HPP
