// apikeys tests: settle() runs one client call to its end, as a result<T>, whatever the executor and policy.
#ifndef APIKEYS_TESTS_UNIT_SUPPORT_SETTLE_HPP
#define APIKEYS_TESTS_UNIT_SUPPORT_SETTLE_HPP

#include <chrono>
#include <future>
#include <optional>
#include <type_traits>
#include <utility>

#include <apikeys/apikeys.hpp>

namespace apikeys_tests {

template <class T>
struct as_result {
  using type = apikeys::result<T>;
};
template <class T>
struct as_result<apikeys::result<T>> {
  using type = apikeys::result<T>;
};

template <class>
constexpr bool is_future = false;
template <class T>
constexpr bool is_future<std::future<T>> = true;
template <class>
constexpr bool is_deferred = false;
template <class C>
constexpr bool is_deferred<apikeys::deferred_call<C>> = true;
template <class>
constexpr bool is_awaitable = false;
template <class C>
constexpr bool is_awaitable<apikeys::call_awaitable<C>> = true;

// What a caller checks beyond the outcome. The defaults check nothing; the fuzz target checks that an
// exception's what() and code() agree with its error, and that a deferred call completes inside then().
struct settle_checks {
  // A throw_on_error call threw `ex`, which is about to become the result's error.
  void thrown(const apikeys::api_exception&) const {}
  // A deferred call had not completed when then() returned; settle() waits for it.
  void pending() const {}
};

// throw_on_error's api_exception becomes the result's error, so one check serves both policies.
template <class F, class Checks = settle_checks>
auto catching(F&& f, const Checks& checks = {}) {
  using returned = std::invoke_result_t<F&>;
  using out = typename as_result<returned>::type;
  if constexpr (std::is_same_v<returned, out>) {
    return f();
  } else {
    try {
      if constexpr (std::is_void_v<returned>) {
        f();
        return out{};
      } else {
        return out{f()};
      }
    } catch (const apikeys::api_exception& ex) {
      checks.thrown(ex);
      return out{apikeys::unexpected{ex.error()}};
    }
  }
}

// `call()` invokes a client method; what it returns says how to wait for it.
template <class Call, class Checks = settle_checks>
auto settle(Call&& call, const Checks& checks = {}) {
  using returned = decltype(call());
  if constexpr (is_future<returned>) {
    auto future = call();
    return catching([&] { return future.get(); }, checks);
  } else if constexpr (is_deferred<returned>) {
    using out = typename returned::result_type;
    std::promise<out> done;
    auto got = done.get_future();
    call().then([&done](out&& r) { done.set_value(std::move(r)); });
    if (got.wait_for(std::chrono::seconds{0}) != std::future_status::ready) checks.pending();
    return got.get();
  } else if constexpr (is_awaitable<returned>) {
    using out = typename returned::result_type;
    using awaited = decltype(std::declval<returned&>().await_resume());
    auto body = [&]() -> apikeys::task<out> {
      std::optional<apikeys::api_error> failure;
      try {
        if constexpr (std::is_same_v<awaited, out>) {
          co_return co_await call();
        } else if constexpr (std::is_void_v<awaited>) {
          co_await call();
          co_return out{};
        } else {
          co_return out{co_await call()};
        }
      } catch (const apikeys::api_exception& ex) {
        checks.thrown(ex);
        failure = ex.error();
      }
      co_return out{apikeys::unexpected{std::move(*failure)}};
    };
    return apikeys::sync_wait(body());
  } else {
    return catching(call, checks);
  }
}

}  // namespace apikeys_tests

#endif  // APIKEYS_TESTS_UNIT_SUPPORT_SETTLE_HPP
