// apikeys::transport: the one operation a user's HTTP backend provides, and the concept that checks it.
#ifndef APIKEYS_TRANSPORT_HPP
#define APIKEYS_TRANSPORT_HPP

#include <concepts>
#include <exception>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "detail/format.hpp"
#include "error.hpp"
#include "http.hpp"
#include "result.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

/// A request that got no HTTP response: refused, reset, timed out, TLS failure. `code` is one of the
/// transport codes of errc (connection_failed, timeout, tls_error, connection_reset, too_many_redirects,
/// transport_error); `message` describes it for people and must not contain secrets.
struct transport_error {
  errc code = errc::transport_error;
  std::string message;
};

namespace detail {
inline std::string describe(const transport_error& e) {
  return std::string{to_string(e.code)} + (e.message.empty() ? "" : ": " + e.message);
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const transport_error& e) { return os << detail::describe(e); }

/// What `send` may return: the response itself (a transport that reports failures by throwing), or a
/// result that reports a failure as a transport_error without throwing.
template <class R>
concept send_result = std::same_as<std::remove_cvref_t<R>, http_response> ||
                      std::same_as<std::remove_cvref_t<R>, result<http_response, transport_error>>;

/// A Transport: `t.send(request)` performs one HTTP exchange. Called concurrently when a client is shared
/// between threads, so a transport used that way must be thread-safe.
template <class T>
concept transport = requires(T& t, const http_request& request) {
  { t.send(request) } -> send_result;
};

namespace detail {
// Every client checks its Transport with this, so a type without a suitable send() is reported in one
// readable line instead of pages of substitution failures.
template <class T>
constexpr bool check_transport() {
  static_assert(transport<std::remove_reference_t<T>>,
                "apikeys: the Transport type needs a member `send(const apikeys::http_request&)` returning "
                "apikeys::http_response or apikeys::result<apikeys::http_response, apikeys::transport_error>");
  return true;
}

/// Runs `attempt()`, a call into a user's transport. Should it throw, `on_throw(failure)` makes the
/// answer instead, with the exception as a transport_error: no exception from a transport ever escapes
/// into apikeys' callers or its completion threads. The one place apikeys catches a transport's throws.
template <class Attempt, class OnThrow>
decltype(auto) contain_transport_throw(Attempt&& attempt, [[maybe_unused]] OnThrow&& on_throw) {
#if APIKEYS_HAS_EXCEPTIONS
  try {
#endif
    return std::forward<Attempt>(attempt)();
#if APIKEYS_HAS_EXCEPTIONS
  } catch (const std::exception& ex) {
    return std::forward<OnThrow>(on_throw)(transport_error{errc::transport_error, std::string{"the transport threw: "} + ex.what()});
  } catch (...) {
    return std::forward<OnThrow>(on_throw)(transport_error{errc::transport_error, "the transport threw an unknown exception"});
  }
#endif
}

/// One send(), whatever the transport returns or throws, as a send_result.
template <class Transport>
result<http_response, transport_error> guarded_send(Transport& transport, const http_request& request) {
  return contain_transport_throw([&]() -> result<http_response, transport_error> { return transport.send(request); },
                                 [](transport_error failure) -> result<http_response, transport_error> {
                                   return unexpected{std::move(failure)};
                                 });
}

}  // namespace detail

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::transport_error>
    : apikeys::detail::described_formatter<apikeys::transport_error, &apikeys::detail::describe> {};

#endif  // APIKEYS_TRANSPORT_HPP
