// apikeys::thread_pool: a small fixed set of threads that runs the calls of the future, callback and coroutine executors.
#ifndef APIKEYS_THREAD_POOL_HPP
#define APIKEYS_THREAD_POOL_HPP

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "version.hpp"

namespace APIKEYS_NAMESPACE {

namespace detail {
struct pool_work {
  virtual ~pool_work() = default;
  virtual void run() = 0;
  virtual void cancel() = 0;
};

template <class Work>
struct pool_work_of final : pool_work {
  explicit pool_work_of(Work&& w) : work(std::move(w)) {}
  void run() override { work(); }
  void cancel() override {
    if constexpr (requires { work.cancel(); }) work.cancel();
  }
  Work work;
};
}  // namespace detail

/// A fixed number of threads, started by the constructor and joined by shutdown() or the destructor;
/// none is ever detached. Work runs in the order it was posted, one item per free thread.
///
/// Shutting down (explicitly, or by destroying the pool) stops taking work, waits for the work that is
/// running, and *cancels* the work still queued: an item with a member `cancel()` has it called (on the
/// thread that shuts the pool down), any other item is destroyed without running. The executors' items
/// complete their calls with a cancelled error that way, so a future gets an error, never a broken
/// promise, and a callback still runs exactly once. Work posted after shutdown is cancelled at once, on
/// the posting thread. A running call is never interrupted: shutdown waits for it as long as its
/// transport takes, which is bounded by the request timeout.
///
/// Thread safety: every member function may be called concurrently, from any thread including the
/// pool's own. The one exception is destruction, which must not happen on one of the pool's threads
/// (a thread cannot join itself): don't let the last std::shared_ptr to a pool go inside a completion.
/// Work must not throw; an exception escaping it ends the program, as from any std::thread.
class thread_pool {
 public:
  /// The hardware's concurrency, between 1 and 4: calls mostly wait on the network, not the CPU.
  static std::size_t default_size() noexcept {
    return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  }

  /// Starts `threads` threads (at least one).
  explicit thread_pool(std::size_t threads = default_size()) {
    threads = std::max<std::size_t>(threads, 1);
    workers_.reserve(threads);
    ids_.reserve(threads);
#if APIKEYS_HAS_EXCEPTIONS
    try {
#endif
      for (std::size_t i = 0; i < threads; ++i) {
        workers_.emplace_back([this] { work(); });
        ids_.push_back(workers_.back().get_id());
      }
#if APIKEYS_HAS_EXCEPTIONS
    } catch (...) {
      shutdown();  // the threads that did start are joined before the failure goes on
      throw;
    }
#endif
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  /// shutdown(), then the pool is gone.
  ~thread_pool() { shutdown(); }

  /// Queues `work` (a callable, optionally with a member `cancel()`). Returns false when the pool is
  /// shut down; the work is then cancelled before post returns.
  template <class Work>
  bool post(Work&& work) {
    std::unique_ptr<detail::pool_work> item =
        std::make_unique<detail::pool_work_of<std::decay_t<Work>>>(std::decay_t<Work>(std::forward<Work>(work)));
    {
      const std::lock_guard lock(mutex_);
      if (!stopping_) queue_.push_back(std::move(item));
    }
    if (item) {  // still ours: refused
      item->cancel();
      return false;
    }
    wake_.notify_one();
    return true;
  }

  /// Stops taking work, cancels what is queued, and joins the threads once their running work is done
  /// (all but the calling thread, if it is one of them: the destructor joins that one). Idempotent.
  void shutdown() noexcept {
    std::deque<std::unique_ptr<detail::pool_work>> abandoned;
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
      abandoned.swap(queue_);
    }
    wake_.notify_all();
    for (auto& item : abandoned) item->cancel();
    abandoned.clear();
    const std::lock_guard lock(join_mutex_);
    for (std::size_t i = 0; i < workers_.size(); ++i)
      if (ids_[i] != std::this_thread::get_id() && workers_[i].joinable()) workers_[i].join();
  }

  /// How many threads the pool has.
  std::size_t size() const noexcept { return workers_.size(); }

  /// How many posted items wait for a free thread.
  std::size_t queued() const {
    const std::lock_guard lock(mutex_);
    return queue_.size();
  }

  /// True once shutdown has begun.
  bool stopped() const {
    const std::lock_guard lock(mutex_);
    return stopping_;
  }

  /// True on one of this pool's threads.
  bool running_in_this_thread() const noexcept {
    return std::find(ids_.begin(), ids_.end(), std::this_thread::get_id()) != ids_.end();
  }

 private:
  void work() {
    for (;;) {
      std::unique_ptr<detail::pool_work> item;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and shutdown has taken the rest
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      item->run();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<detail::pool_work>> queue_;
  bool stopping_ = false;
  std::mutex join_mutex_;  // two threads shutting down at once must not join one thread twice
  std::vector<std::thread> workers_;
  std::vector<std::thread::id> ids_;  // fixed once constructed; read without joining races
};

}  // namespace apikeys

#endif  // APIKEYS_THREAD_POOL_HPP
