// apikeys::coroutine_executor: a call returns an awaitable, for `co_await keys.create("name")` in a C++20 coroutine.
#ifndef APIKEYS_EXECUTORS_COROUTINE_HPP
#define APIKEYS_EXECUTORS_COROUTINE_HPP

#include <atomic>
#include <coroutine>
#include <memory>
#include <optional>
#include <utility>

#include "../thread_pool.hpp"

namespace apikeys {

/// What `co_await` takes: one call, started when awaited. `co_await` gives what the ErrorPolicy makes
/// of the result: the value, throwing api_exception (throw_on_error), or result<T> (return_result).
/// Awaiting suspends the coroutine until the call is done; it resumes on the thread that finished the
/// call: the transport's completion thread (async transport), a pool thread (send()-only transport),
/// or, without suspending at all, the awaiting thread when the call finishes at once.
/// Await it once, right away; it cannot be copied or moved once awaited.
template <class Call>
class [[nodiscard]] call_awaitable {
 public:
  using result_type = typename Call::result_type;

  call_awaitable(Call call, std::shared_ptr<thread_pool> pool) : call_(std::move(call)), pool_(std::move(pool)) {}
  call_awaitable(const call_awaitable&) = delete;
  call_awaitable& operator=(const call_awaitable&) = delete;

  bool await_ready() const noexcept { return false; }

  // Whichever of this function and the completion arrives second resumes the coroutine: the
  // completion by resuming it, this function by not suspending. So a call that completes inside
  // start() or post() continues on this thread without nesting a resume inside await_suspend.
  bool await_suspend(std::coroutine_handle<> continuation) {
    continuation_ = continuation;
    if constexpr (Call::is_asynchronous) {
      std::move(call_).start(completion{this});
    } else if (pool_) {
      pool_->post(pooled{this});
    } else {
      outcome_.emplace(call_.run());
      return false;
    }
    return !arrived_.exchange(true, std::memory_order_acq_rel);
  }

  typename Call::value_type await_resume() { return Call::apply(std::move(*outcome_)); }

 private:
  void complete(result_type&& outcome) noexcept {
    outcome_.emplace(std::move(outcome));
    if (arrived_.exchange(true, std::memory_order_acq_rel)) continuation_.resume();
  }

  struct completion {
    call_awaitable* self;
    void operator()(result_type&& outcome) const noexcept { self->complete(std::move(outcome)); }
  };
  struct pooled {
    call_awaitable* self;
    void operator()() const { self->complete(self->call_.run()); }
    void cancel() const { self->complete(self->call_.abandon()); }
  };

  Call call_;
  std::shared_ptr<thread_pool> pool_;
  std::optional<result_type> outcome_;
  std::atomic<bool> arrived_{false};
  std::coroutine_handle<> continuation_;
};

/// Every call returns a call_awaitable: `api_key key = co_await keys.create("someKeyName");` inside
/// any C++20 coroutine (apikeys::task<T> is one). Pool, cancellation and lifetime rules are
/// future_executor's; a queued call cancelled by the pool's shutdown resumes its coroutine on the
/// shutting-down thread with the cancelled error.
/// Thread safety: execute() may be called concurrently; copies share one pool.
class coroutine_executor {
 public:
  /// A pool of its own, thread_pool::default_size() threads, shared by every copy of this executor.
  coroutine_executor() : pool_(std::make_shared<thread_pool>()) {}
  /// Runs calls on `pool`, which may be shared; null: on the awaiting thread, without suspending.
  explicit coroutine_executor(std::shared_ptr<thread_pool> pool) noexcept : pool_(std::move(pool)) {}

  template <class Call>
  call_awaitable<Call> execute(Call call) const {
    return call_awaitable<Call>(std::move(call), pool_);
  }

  const std::shared_ptr<thread_pool>& pool() const noexcept { return pool_; }

 private:
  std::shared_ptr<thread_pool> pool_;
};

}  // namespace apikeys

#endif  // APIKEYS_EXECUTORS_COROUTINE_HPP
