// apikeys::callback_executor: a call hands its result<T> to a completion callable, exactly once.
#ifndef APIKEYS_EXECUTORS_CALLBACK_HPP
#define APIKEYS_EXECUTORS_CALLBACK_HPP

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "../thread_pool.hpp"
#include "../version.hpp"
#include "pooled.hpp"

namespace APIKEYS_NAMESPACE {

namespace detail {
// The user's completion, called once. noexcept: an exception escaping a completion has no caller to go
// to (it runs on a pool or event-loop thread), so it ends the program rather than vanish.
template <class Call, class Completion>
struct callback_completion {
  Completion completion;
  void operator()(typename Call::result_type&& outcome) noexcept { std::invoke(completion, std::move(outcome)); }
};
}  // namespace detail

/// A call not started yet: `.then(completion)` starts it. Nothing is sent until then, and a
/// deferred_call dropped without `.then` sends nothing at all.
/// Thread safety: one call, started once, from one thread; its client must outlive it.
template <class Call>
class [[nodiscard]] deferred_call {
 public:
  using result_type = typename Call::result_type;

  deferred_call(Call call, std::shared_ptr<thread_pool> pool) : call_(std::move(call)), pool_(std::move(pool)) {}

  /// Starts the call; `completion(result<T>&&)` runs exactly once, whatever the ErrorPolicy (a callback
  /// has no caller to throw to). It runs on:
  ///  - the transport's completion thread, with an async transport (possibly this thread, before then()
  ///    returns, if the call fails before sending or the transport completes inside async_send);
  ///  - a pool thread, with a send()-only transport;
  ///  - the thread that shuts the pool down, with the call's cancelled error, if it never started;
  ///  - this thread, before then() returns, with a null pool.
  /// The completion must not throw (std::terminate) and may start further calls.
  template <class Completion>
    requires std::invocable<std::decay_t<Completion>&, result_type&&>
  void then(Completion&& completion) && {
    using done_type = detail::callback_completion<Call, std::decay_t<Completion>>;
    detail::dispatch(std::move(call_), pool_, done_type{std::decay_t<Completion>(std::forward<Completion>(completion))});
  }

 private:
  Call call_;
  std::shared_ptr<thread_pool> pool_;
};

/// Every call returns a deferred_call; `.then(completion)` starts it:
///
///     keys.create("someKeyName").then([](apikeys::result<apikeys::api_key> key) { ... });
///
/// Pool, cancellation and lifetime rules are future_executor's: with an async transport no thread
/// waits on the network; with a send()-only transport calls run on the pool; the client must outlive
/// its calls. Thread safety: execute() may be called concurrently; copies share one pool.
class callback_executor : public detail::pooled_executor<detail::made_with_pool<deferred_call>> {
 public:
  using pooled_executor::pooled_executor;
};

}  // namespace apikeys

#endif  // APIKEYS_EXECUTORS_CALLBACK_HPP
