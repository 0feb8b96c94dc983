// apikeys::coroutine_executor: a call returns an awaitable, for `co_await keys.create("name")` in a C++20 coroutine.
#ifndef APIKEYS_EXECUTORS_COROUTINE_HPP
#define APIKEYS_EXECUTORS_COROUTINE_HPP

#include <coroutine>
#include <memory>
#include <optional>
#include <utility>

#include "../thread_pool.hpp"
#include "../version.hpp"
#include "pooled.hpp"

namespace APIKEYS_NAMESPACE {

namespace detail {
// Marks, for this thread only, the awaitable whose call is being started. A completion that finds its
// own awaitable marked runs inside that start, on the awaiting thread, and claims the outcome instead of
// resuming. Saved and restored, so a start that itself starts another awaited call stays correct.
class inline_completion_scope {
 public:
  explicit inline_completion_scope(const void* awaitable) noexcept
      : previous_(current()), previous_completed_(completed_flag()) {
    current() = awaitable;
    completed_flag() = false;
  }
  inline_completion_scope(const inline_completion_scope&) = delete;
  inline_completion_scope& operator=(const inline_completion_scope&) = delete;
  ~inline_completion_scope() {
    current() = previous_;
    completed_flag() = previous_completed_;
  }
  bool completed() const noexcept { return completed_flag(); }
  static bool claim(const void* awaitable) noexcept {
    if (current() != awaitable) return false;
    completed_flag() = true;
    return true;
  }

 private:
  static const void*& current() noexcept {
    thread_local const void* starting = nullptr;
    return starting;
  }
  static bool& completed_flag() noexcept {
    thread_local bool completed = false;
    return completed;
  }
  const void* previous_;
  bool previous_completed_;
};
}  // namespace detail

/// What `co_await` takes: one call, started when awaited. `co_await` gives what the ErrorPolicy makes
/// of the result: the value, throwing api_exception (throw_on_error), or result<T> (return_result).
/// Awaiting suspends the coroutine until the call is done; it resumes on the thread that finished the
/// call: the transport's completion thread (async transport) or a pool thread (send()-only transport).
/// Only a call that finishes inside the await itself, on the awaiting thread (refused before sending, a
/// transport that completes inside async_send, no pool), lets the coroutine go on without suspending.
/// So a coroutine never continues on the awaiting thread while the call finished elsewhere.
/// Await it once, right away; it cannot be copied or moved once awaited.
template <class Call>
class [[nodiscard]] call_awaitable {
 public:
  using result_type = typename Call::result_type;

  call_awaitable(Call call, std::shared_ptr<thread_pool> pool) : call_(std::move(call)), pool_(std::move(pool)) {}
  call_awaitable(const call_awaitable&) = delete;
  call_awaitable& operator=(const call_awaitable&) = delete;

  bool await_ready() const noexcept { return false; }

  // A completion that runs inside start() or post() on this thread only stores the outcome, and the
  // coroutine goes on without suspending (no resume nested in await_suspend); any other completion
  // resumes it. Which case happened is kept in thread-local state, because once start() has handed the
  // call to another thread, this object may already be resumed past and destroyed.
  bool await_suspend(std::coroutine_handle<> continuation) {
    continuation_ = continuation;
    if constexpr (!Call::is_asynchronous) {
      if (!pool_) {
        outcome_.emplace(call_.run());
        return false;
      }
    }
    const detail::inline_completion_scope scope{this};
    detail::dispatch(std::move(call_), pool_, completion{this});
    return !scope.completed();
  }

  typename Call::value_type await_resume() { return Call::apply(std::move(*outcome_)); }

 private:
  void complete(result_type&& outcome) noexcept {
    outcome_.emplace(std::move(outcome));
    if (!detail::inline_completion_scope::claim(this)) continuation_.resume();
  }

  struct completion {
    call_awaitable* self;
    void operator()(result_type&& outcome) const noexcept { self->complete(std::move(outcome)); }
  };

  Call call_;
  std::shared_ptr<thread_pool> pool_;
  std::optional<result_type> outcome_;
  std::coroutine_handle<> continuation_;
};

/// Every call returns a call_awaitable: `api_key key = co_await keys.create("someKeyName");` inside
/// any C++20 coroutine (apikeys::task<T> is one). Pool, cancellation and lifetime rules are
/// future_executor's; a queued call cancelled by the pool's shutdown resumes its coroutine on the
/// shutting-down thread with the cancelled error.
/// Thread safety: execute() may be called concurrently; copies share one pool.
class coroutine_executor : public detail::pooled_executor<detail::made_with_pool<call_awaitable>> {
 public:
  using pooled_executor::pooled_executor;
};

}  // namespace apikeys

#endif  // APIKEYS_EXECUTORS_COROUTINE_HPP
