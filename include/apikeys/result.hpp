// apikeys::result<T, E>: a value or an error, shaped like std::expected (which C++20 lacks).
#ifndef APIKEYS_RESULT_HPP
#define APIKEYS_RESULT_HPP

#include <cstdlib>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "error.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

/// Wraps an error so that constructing a result from it is never ambiguous with the value.
template <class E>
struct unexpected {
  E error;
};
template <class E>
unexpected(E) -> unexpected<E>;

/// Thrown by result<T, E>::value() on an error when E is not api_error (api_error throws api_exception).
class bad_result_access : public std::exception {
 public:
  const char* what() const noexcept override { return "apikeys::result holds an error, not a value"; }
};

namespace detail {
template <class E>
[[noreturn]] inline void throw_error(const E& error) {
#if APIKEYS_HAS_EXCEPTIONS
  if constexpr (std::is_same_v<E, api_error>)
    throw api_exception(error);
  else
    throw bad_result_access{};
#else
  (void)error;
  std::abort();
#endif
}
}  // namespace detail

/// A T or an E. Thread safety: as for any value type; a shared const result may be read concurrently.
template <class T, class E = api_error>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T> && !std::is_same_v<std::remove_cv_t<T>, E>);

 public:
  using value_type = T;
  using error_type = E;

  result() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  result(const T& value) : v_(std::in_place_index<0>, value) {}  // NOLINT: implicit like std::expected
  result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  /// From anything T can be made from, as std::expected allows (`result<std::string> r = "text";`).
  template <class U>
    requires(std::is_constructible_v<T, U> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
             !std::is_same_v<std::remove_cvref_t<U>, result> && !std::is_same_v<std::remove_cvref_t<U>, E>)
  explicit(!std::is_convertible_v<U, T>) result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  template <class G>
  result(unexpected<G> error) : v_(std::in_place_index<1>, std::move(error.error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    if (!has_value()) detail::throw_error(error());
    return *std::get_if<0>(&v_);
  }
  const T& value() const& {
    if (!has_value()) detail::throw_error(error());
    return *std::get_if<0>(&v_);
  }
  T&& value() && { return std::move(value()); }

  // Preconditions as for std::expected: error() only on an error, * and -> only on a value.
  E& error() & noexcept { return *std::get_if<1>(&v_); }
  const E& error() const& noexcept { return *std::get_if<1>(&v_); }
  E&& error() && noexcept { return std::move(*std::get_if<1>(&v_)); }

  T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&v_)); }
  T* operator->() noexcept { return std::get_if<0>(&v_); }
  const T* operator->() const noexcept { return std::get_if<0>(&v_); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, E> v_;
};

/// result<void, E>: success, or an error.
template <class E>
class [[nodiscard]] result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  result() noexcept = default;
  template <class G>
  result(unexpected<G> error) : error_(std::move(error.error)) {}  // NOLINT

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (error_) detail::throw_error(*error_);
  }
  void operator*() const noexcept {}

  E& error() & noexcept { return *error_; }
  const E& error() const& noexcept { return *error_; }
  E&& error() && noexcept { return std::move(*error_); }

 private:
  std::optional<E> error_;
};

}  // namespace apikeys

#endif  // APIKEYS_RESULT_HPP
