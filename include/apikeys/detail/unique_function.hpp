// apikeys::detail::unique_function: a move-only std::function, for completions that own a promise or a frame.
#ifndef APIKEYS_DETAIL_UNIQUE_FUNCTION_HPP
#define APIKEYS_DETAIL_UNIQUE_FUNCTION_HPP

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "../version.hpp"

namespace APIKEYS_NAMESPACE::detail {

template <class Signature>
class unique_function;

// std::function insists on copyable targets; a completion that holds a std::promise is not one.
template <class R, class... Args>
class unique_function<R(Args...)> {
  struct base {
    virtual ~base() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct holder final : base {
    explicit holder(F&& f) : fn(std::move(f)) {}
    explicit holder(const F& f) : fn(f) {}
    R call(Args... args) override { return std::invoke(fn, std::forward<Args>(args)...); }
    F fn;
  };

 public:
  unique_function() noexcept = default;
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, unique_function> && std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  unique_function(F&& f)  // NOLINT: implicit, like std::function
      : target_(std::make_unique<holder<std::decay_t<F>>>(std::forward<F>(f))) {}

  explicit operator bool() const noexcept { return target_ != nullptr; }
  R operator()(Args... args) const { return target_->call(std::forward<Args>(args)...); }

 private:
  std::unique_ptr<base> target_;
};

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_UNIQUE_FUNCTION_HPP
