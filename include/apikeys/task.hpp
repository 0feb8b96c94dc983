// apikeys::task<T>: a small lazy coroutine type to co_await apikeys calls in, and sync_wait to run one from main().
#ifndef APIKEYS_TASK_HPP
#define APIKEYS_TASK_HPP

#include <condition_variable>
#include <coroutine>
#include <exception>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "version.hpp"

namespace APIKEYS_NAMESPACE {

template <class T = void>
class task;

namespace detail {

struct task_promise_base {
  // Resumed when the task finishes: the coroutine that awaited it, or sync_wait's notifier.
  std::coroutine_handle<> continuation;
  void (*notify)(void*) noexcept = nullptr;
  void* notify_context = nullptr;
  std::exception_ptr error;

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> finished) const noexcept {
      task_promise_base& promise = finished.promise();
      if (promise.continuation) return promise.continuation;
      // sync_wait may destroy the frame as soon as it is told: nothing here touches it afterwards.
      if (promise.notify) promise.notify(promise.notify_context);
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }

  void rethrow_if_failed() const {
#if APIKEYS_HAS_EXCEPTIONS
    if (error) std::rethrow_exception(error);
#endif
  }
};

template <class T>
struct task_promise : task_promise_base {
  std::optional<T> value;

  task<T> get_return_object() noexcept;
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    rethrow_if_failed();
    return std::move(*value);
  }
};

template <>
struct task_promise<void> : task_promise_base {
  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take() const { rethrow_if_failed(); }
};

}  // namespace detail

/// A coroutine that starts when it is awaited (or given to sync_wait) and gives back a T, or rethrows
/// what escaped it. `co_await` it from another task: the awaiting coroutine continues on the thread
/// the task finished on. Move-only; destroying a task that never ran destroys its frame unrun.
/// Thread safety: a task is one flow of control; await it once, from one place.
template <class T>
class [[nodiscard]] task {
  static_assert(!std::is_reference_v<T>, "apikeys::task<T> holds a value; return a pointer for a reference");

 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  /// Runs the task to its end, then continues the awaiting coroutine with its value.
  auto operator co_await() && noexcept { return awaiter{handle_}; }
  auto operator co_await() & noexcept { return awaiter{handle_}; }

 private:
  using handle_type = std::coroutine_handle<promise_type>;
  friend promise_type;
  template <class U>
  friend U sync_wait(task<U> work);

  explicit task(handle_type handle) noexcept : handle_(handle) {}
  void destroy() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
  }

  struct awaiter {
    handle_type handle;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) const noexcept {
      handle.promise().continuation = awaiting;
      return handle;  // symmetric transfer: start the task without growing the stack
    }
    T await_resume() const { return handle.promise().take(); }
  };

  handle_type handle_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}
}  // namespace detail

/// Runs `work` and blocks this thread until it finishes, wherever it finishes; returns its value or
/// rethrows its exception. For main() and tests: calling it on a thread the task needs to make
/// progress (the event loop of its transport, the only thread of its pool) deadlocks.
template <class T>
T sync_wait(task<T> work) {
  struct waiter {
    std::mutex mutex;
    std::condition_variable done_signal;
    bool done = false;
    static void notify(void* self) noexcept {
      auto* w = static_cast<waiter*>(self);
      const std::lock_guard lock(w->mutex);
      w->done = true;
      w->done_signal.notify_all();  // under the lock: the waiter returns, and w goes, right after
    }
  };
  waiter w;
  auto& promise = work.handle_.promise();
  promise.notify = &waiter::notify;
  promise.notify_context = &w;
  work.handle_.resume();
  {
    std::unique_lock lock(w.mutex);
    w.done_signal.wait(lock, [&] { return w.done; });
  }
  return promise.take();
}

}  // namespace apikeys

#endif  // APIKEYS_TASK_HPP
