// apikeys error policies: how a client hands its internal result<T> to the caller.
#ifndef APIKEYS_ERROR_POLICY_HPP
#define APIKEYS_ERROR_POLICY_HPP

#include <type_traits>
#include <utility>

#include "error.hpp"
#include "result.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

namespace detail {
template <class>
inline constexpr bool dependent_false = false;
}  // namespace detail

/// The default: a call returns T itself and throws api_exception on failure.
struct throw_on_error {
  template <class T>
  static T apply(result<T>&& r) {
#if APIKEYS_HAS_EXCEPTIONS
    if (!r) throw api_exception(std::move(r).error());
    if constexpr (!std::is_void_v<T>) return std::move(*r);
#else
    (void)r;
    static_assert(detail::dependent_false<T>,
                  "apikeys::throw_on_error needs exceptions; in a -fno-exceptions build use apikeys::return_result");
#endif
  }
};

/// A call returns result<T>: check it, nothing is thrown.
struct return_result {
  template <class T>
  static result<T> apply(result<T>&& r) noexcept {
    return std::move(r);
  }
};

/// An ErrorPolicy maps result<T> onto what a call returns.
template <class P>
concept error_policy = requires(result<int>&& r) { P::template apply<int>(std::move(r)); };

}  // namespace apikeys

#endif  // APIKEYS_ERROR_POLICY_HPP
