// apikeys::future_executor: a call returns a std::future, fulfilled on a thread pool or by an async transport.
#ifndef APIKEYS_EXECUTORS_FUTURE_HPP
#define APIKEYS_EXECUTORS_FUTURE_HPP

#include <exception>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

#include "../thread_pool.hpp"
#include "../version.hpp"
#include "pooled.hpp"

namespace APIKEYS_NAMESPACE {

namespace detail {
// Applies the ErrorPolicy on the way into the promise: under throw_on_error the api_exception is stored
// and future.get() throws it; under return_result get() returns the result<T>.
template <class Call>
void fulfil(std::promise<typename Call::value_type>& promise, typename Call::result_type&& outcome) noexcept {
#if APIKEYS_HAS_EXCEPTIONS
  try {
#endif
    if constexpr (std::is_void_v<typename Call::value_type>) {
      Call::apply(std::move(outcome));
      promise.set_value();
    } else {
      promise.set_value(Call::apply(std::move(outcome)));
    }
#if APIKEYS_HAS_EXCEPTIONS
  } catch (...) {
    promise.set_exception(std::current_exception());
  }
#endif
}

// Fulfils the future with the call's result, or with what its run threw that is not an api_error.
template <class Call>
struct promise_completion {
  std::promise<typename Call::value_type> promise;
  void operator()(typename Call::result_type&& outcome) { fulfil<Call>(promise, std::move(outcome)); }
  void thrown(std::exception_ptr failure) { promise.set_exception(std::move(failure)); }
};

// future_executor's shape of a call: a std::future, and the promise is the completion.
struct future_shape {
  template <class Call>
  static std::future<typename Call::value_type> launch(Call call, const std::shared_ptr<thread_pool>& pool) {
    promise_completion<Call> done;
    auto future = done.promise.get_future();
    dispatch(std::move(call), pool, std::move(done));
    return future;
  }
};
}  // namespace detail

/// Every call returns a std::future of what the ErrorPolicy makes of it: `std::future<api_key>` whose
/// get() throws api_exception (throw_on_error), or `std::future<result<api_key>>` (return_result).
///
/// Where a call runs: with a transport that has async_send, the request is built on the caller's thread
/// and the future is fulfilled on the transport's completion thread; no thread waits on the network.
/// With a send()-only transport the whole call runs on the pool. With a null pool it runs on the
/// caller's thread and the future is ready on return.
///
/// Destroying the last owner of the pool (this executor, its copies, and whoever else shares the
/// pool) shuts it down: calls already running finish and fulfil their futures; calls still queued
/// fulfil theirs with errc::cancelled (never a broken promise). The client the
/// calls were made on must outlive them: declare it after the pool's owners if they live side by side.
///
/// Thread safety: execute() may be called concurrently; copies share one pool.
class future_executor : public detail::pooled_executor<detail::future_shape> {
 public:
  using pooled_executor::pooled_executor;
};

}  // namespace apikeys

#endif  // APIKEYS_EXECUTORS_FUTURE_HPP
