// apikeys executors: where a call runs and what the caller holds while it does.
#ifndef APIKEYS_EXECUTOR_HPP
#define APIKEYS_EXECUTOR_HPP

#include <type_traits>
#include <utility>

namespace apikeys {

/// The default: the call runs on the caller's thread and returns its value.
/// Thread safety: stateless; share it freely.
struct inline_executor {
  template <class Operation>
  std::invoke_result_t<Operation&> execute(Operation&& operation) const {
    return operation();
  }
};

/// An Executor runs a nullary operation and shapes what the call returns.
template <class E>
concept executor = requires(E& e) { e.execute([] { return 0; }); };

}  // namespace apikeys

#endif  // APIKEYS_EXECUTOR_HPP
