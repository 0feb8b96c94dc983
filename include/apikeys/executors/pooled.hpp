// apikeys executors: what the future, callback and coroutine executors share: a pool, and where a call runs.
#ifndef APIKEYS_EXECUTORS_POOLED_HPP
#define APIKEYS_EXECUTORS_POOLED_HPP

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "../thread_pool.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE::detail {

// A call queued on a pool: run there, or, if the pool shuts down first, completed with the call's cancelled
// error. A completion with a member thrown(std::exception_ptr) is also handed what run() threw that is not
// an api_error (those are results): std::bad_alloc and the like.
template <class Call, class Done>
struct pooled_work {
  Call call;
  Done done;
  void operator()() {
#if APIKEYS_HAS_EXCEPTIONS
    if constexpr (requires { done.thrown(std::exception_ptr{}); }) {
      try {
        done(call.run());
      } catch (...) {
        done.thrown(std::current_exception());
      }
      return;
    }
#endif
    done(call.run());
  }
  void cancel() { done(call.abandon()); }
};

// Where every pooled executor runs a call: with an async transport, started here and completed on the
// transport's completion thread; with a send()-only transport, on the pool; with no pool, here and now.
template <class Call, class Done>
void dispatch(Call&& call, const std::shared_ptr<thread_pool>& pool, Done&& done) {
  using call_type = std::remove_cvref_t<Call>;
  if constexpr (call_type::is_asynchronous) {
    std::move(call).start(std::forward<Done>(done));
  } else if (pool) {
    pool->post(pooled_work<call_type, std::decay_t<Done>>{std::move(call), std::forward<Done>(done)});
  } else {
    done(call.run());
  }
}

// The shape of a call that is an object made of the call and the pool (deferred_call, call_awaitable).
template <template <class> class Shape>
struct made_with_pool {
  template <class Call>
  static Shape<Call> launch(Call call, const std::shared_ptr<thread_pool>& pool) {
    return Shape<Call>(std::move(call), pool);
  }
};

// An executor whose calls take the shape Shape::launch(call, pool) makes of them (a future, a deferred
// call, an awaitable), on a pool of its own or a shared one. Copies share one pool.
template <class Shape>
class pooled_executor {
 public:
  /// A pool of its own, thread_pool::default_size() threads, shared by every copy of this executor.
  pooled_executor() : pool_(std::make_shared<thread_pool>()) {}
  /// Runs calls on `pool`, which may be shared with other executors and clients; null: on the caller's
  /// thread (when the call is started).
  explicit pooled_executor(std::shared_ptr<thread_pool> pool) noexcept : pool_(std::move(pool)) {}

  template <class Call>
  auto execute(Call call) const {
    return Shape::launch(std::move(call), pool_);
  }

  const std::shared_ptr<thread_pool>& pool() const noexcept { return pool_; }

 private:
  std::shared_ptr<thread_pool> pool_;
};

}  // namespace apikeys::detail

#endif  // APIKEYS_EXECUTORS_POOLED_HPP
