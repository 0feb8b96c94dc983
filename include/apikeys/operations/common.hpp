// apikeys operations, what every descriptor shares: what a call needs, its wording, wiping its messages.
#ifndef APIKEYS_OPERATIONS_COMMON_HPP
#define APIKEYS_OPERATIONS_COMMON_HPP

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../error.hpp"
#include "../http.hpp"
#include "../object_id.hpp"
#include "../secret.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE::ops {

/// What a call needs before it can be built, besides its own arguments; the client core provides it.
enum class prerequisite {
  none,           ///< nothing (the location lookup itself)
  location,       ///< the app's host, looked up once (log in, register)
  refresh_token,  ///< a logged-in session; its refresh token is the bearer, and a 401 ends the session
  access_token,   ///< a logged-in session; its access token is the bearer (the profile)
};

}  // namespace apikeys::ops

namespace APIKEYS_NAMESPACE::detail {

inline api_error client_error(errc code, std::string message) {
  api_error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

/// An error worded for its call: `context` says what was being done, and to which key. A key's name is
/// left out when the name itself was refused (the message says why) or there is none. The action alone
/// keeps a context an inner step already gave (a log in whose location lookup failed says so).
inline api_error in_context(api_error error, std::string_view action) {
  if (error.context.empty()) error.context.assign(action);
  return error;
}
inline api_error in_context(api_error error, std::string_view action, const object_id& id) {
  error.context.assign(action).append(" ").append(id.to_string());
  return error;
}
inline api_error in_context(api_error error, std::string_view action, std::string_view name) {
  error.context.assign(action);
  if (!name.empty() && error.code != errc::invalid_argument) error.context.append(" \"").append(name).append("\"");
  return error;
}

// A request may hold a bearer token and credentials, a response a key value or tokens: once a call is done
// with them, their bytes are zeroed rather than left in freed memory.
inline void wipe(http_request& request) noexcept {
  for (auto& h : request.headers)
    if (iequals(h.name, "authorization")) secure_wipe(h.value.data(), h.value.size());
  secure_wipe(request.body.data(), request.body.size());
}
inline void wipe(http_response& response) noexcept { secure_wipe(response.body.data(), response.body.size()); }

}  // namespace apikeys::detail

#endif  // APIKEYS_OPERATIONS_COMMON_HPP
