// apikeys tests: settle() runs one client call to its end, as a result<T>, whatever the executor and policy.
#ifndef APIKEYS_TESTS_UNIT_SUPPORT_SETTLE_HPP
#define APIKEYS_TESTS_UNIT_SUPPORT_SETTLE_HPP

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

// throw_on_error's api_exception becomes the result's error, so one check serves both policies.
template <class F>
auto catching(F&& f) {
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
      return out{apikeys::unexpected{ex.error()}};
    }
  }
}

// `call()` invokes a client method; what it returns says how to wait for it.
template <class Call>
auto settle(Call&& call) {
  using returned = decltype(call());
  if constexpr (is_future<returned>) {
    auto future = call();
    return catching([&] { return future.get(); });
  } else if constexpr (is_deferred<returned>) {
    using out = typename returned::result_type;
    std::promise<out> done;
    auto got = done.get_future();
    call().then([&done](out&& r) { done.set_value(std::move(r)); });
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
        failure = ex.error();
      }
      co_return out{apikeys::unexpected{std::move(*failure)}};
    };
    return apikeys::sync_wait(body());
  } else {
    return catching(call);
  }
}

}  // namespace apikeys_tests

#endif  // APIKEYS_TESTS_UNIT_SUPPORT_SETTLE_HPP
