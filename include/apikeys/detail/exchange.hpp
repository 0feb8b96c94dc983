// apikeys::detail: the shared middle of every call: send, turn failures into api_error, classify.
#ifndef APIKEYS_DETAIL_EXCHANGE_HPP
#define APIKEYS_DETAIL_EXCHANGE_HPP

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../decoder.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "../operations/common.hpp"
#include "../result.hpp"
#include "../secret.hpp"
#include "../transport.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE::detail {

inline api_error from_transport_error(transport_error&& failure) {
  api_error e;
  e.code = kind_of(failure.code) == error_kind::transport ? failure.code : errc::transport_error;
  e.message = failure.message.empty() ? std::string{to_string(e.code)} : std::move(failure.message);
  return e;
}

// One exchange: whatever the transport does (returns, reports, throws), the caller gets a response or
// a transport-kind api_error; an HTTP status is never mistaken for a transport failure or the reverse.
template <class Transport>
result<http_response> send(Transport& transport, const http_request& request) {
  return contain_transport_throw(
      [&]() -> result<http_response> {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(transport.send(request))>, http_response>) {
          return transport.send(request);
        } else {
          auto sent = transport.send(request);
          if (!sent) return unexpected{from_transport_error(std::move(sent).error())};
          return std::move(*sent);
        }
      },
      [](transport_error failure) -> result<http_response> { return unexpected{from_transport_error(std::move(failure))}; });
}

// Whether a request that got no response may still have been carried out: only a failure that proves
// nothing was sent (no connection, no TLS session) rules it out, and a GET changes nothing either way.
inline bool may_have_taken_effect(const http_request& request, const api_error& failure) noexcept {
  if (request.method == http_method::get) return false;
  return failure.code != errc::connection_failed && failure.code != errc::tls_error;
}

// The finish of every exchange, sync or async: wipe the request, then apply section 5's rules, so a
// response comes back only when it carries no error.
inline result<http_response> finish_exchange(http_request& request, result<http_response>&& response) {
  wipe(request);
  if (!response) {
    response.error().outcome_unknown = may_have_taken_effect(request, response.error());
    return std::move(response);
  }
  if (auto error = classify_response(*response)) {
    wipe(*response);
    return unexpected{std::move(*error)};
  }
  return std::move(response);
}

// Send, then finish.
template <class Transport>
result<http_response> exchange(Transport& transport, http_request& request) {
  return finish_exchange(request, send(transport, request));
}

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_EXCHANGE_HPP
