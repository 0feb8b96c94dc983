// apikeys executors: where a call runs and what the caller holds while it does.
#ifndef APIKEYS_EXECUTOR_HPP
#define APIKEYS_EXECUTOR_HPP

#include <type_traits>
#include <utility>

#include "error.hpp"
#include "result.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

// Every client method hands its Executor one *call* object `c` and returns what `execute(c)` returns.
// A call is movable and not started yet; its client must outlive it. It offers:
//
//   C::result_type           result<T>, what the operation produces
//   C::value_type            what the ErrorPolicy makes of it: T (throw_on_error) or result<T> (return_result)
//   C::is_asynchronous       true when the transport has async_send: start() then never blocks on I/O
//   c()                      runs the whole call on this thread and returns C::value_type (may throw)
//   c.run()                  the same, as result_type: never throws an api_exception
//   std::move(c).start(f)    starts the call; f(result_type&&) runs exactly once when it finishes, on the
//                            transport's completion thread, or on this thread (synchronous transports run
//                            the whole call inside start(), so call it from the thread that should block)
//   c.abandon()              the result_type of a call that will never run (its executor shut down)
//   C::apply(result_type&&)  the ErrorPolicy: turns a finished call's result into C::value_type
//
// A call runs once: run(), operator() and start() are alternatives, not steps.

/// The default: the call runs on the caller's thread and returns its value.
/// Thread safety: stateless; share it freely.
struct inline_executor {
  template <class Operation>
  std::invoke_result_t<Operation&> execute(Operation&& operation) const {
    return operation();
  }
};

namespace detail {
// A call of an int-valued operation that does nothing, for checking Executor types against.
struct probe_call {
  using result_type = result<int>;
  using value_type = int;
  static constexpr bool is_asynchronous = false;
  int operator()() { return 0; }
  result_type run() { return 0; }
  template <class Completion>
  void start(Completion&& completion) && {
    completion(result_type{0});
  }
  result_type abandon() { return unexpected{api_error{}}; }
  static value_type apply(result_type&& r) { return *r; }
};
}  // namespace detail

/// An Executor runs a call (see above) and shapes what the call returns.
template <class E>
concept executor = requires(E& e) { e.execute(detail::probe_call{}); };

}  // namespace apikeys

#endif  // APIKEYS_EXECUTOR_HPP
