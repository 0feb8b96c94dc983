// apikeys errors: the errc codes, their std::error_category, api_error, and api_exception.
#ifndef APIKEYS_ERROR_HPP
#define APIKEYS_ERROR_HPP

#include <exception>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include "detail/format.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

/// Every way an apikeys call can fail. Zero is success, as std::error_code expects.
enum class errc {
  // The caller's mistake, found before anything was sent.
  invalid_argument = 1,   ///< an empty or disallowed key name, text that is not UTF-8, a bad config
  not_logged_in,          ///< the session is logged out (it has no refresh token)
  // No HTTP response at all.
  transport_error,        ///< any other transport failure
  connection_failed,      ///< refused, unreachable, DNS failure
  timeout,                ///< the request's timeout ran out
  tls_error,              ///< handshake or certificate verification failed
  connection_reset,       ///< the connection closed before a whole response arrived
  too_many_redirects,     ///< the transport gave up following redirects
  // A response that could not be understood.
  bad_response,           ///< a 2xx answer whose body is not what the protocol says
  http_error,             ///< a non-2xx status with no service error in the body
  // Service errors, named by the server's `error_code` (docs/protocol.md section 5).
  unknown_service_error,  ///< an error body with a message but no `error_code`
  server_error,           ///< an `error_code` apikeys does not know (the raw name is in server_code)
  missing_auth_req,       ///< MissingAuthReq
  invalid_session,        ///< InvalidSession
  invalid_parameter,      ///< InvalidParameter
  missing_parameter,      ///< MissingParameter
  internal_server_error,  ///< InternalServerError
  api_key_not_found,      ///< APIKeyNotFound
  api_key_already_exists, ///< APIKeyAlreadyExists
  user_disabled,          ///< UserDisabled
  auth_error,             ///< AuthError
  bad_request,            ///< BadRequest
  maintenance_in_progress,///< MaintenanceInProgress
  auth_provider_not_found,///< AuthProviderNotFound
  // Added after the first release of the list, so earlier values keep their numbers.
  cancelled,              ///< the call never started: its executor's pool shut down first (nothing was sent)
  store_error,            ///< a session store could not be read or written (session_store.hpp); nothing was sent
};

/// The broad families of errc, for callers who branch on "whose fault is it".
enum class error_kind { none, client, transport, bad_response, http, service };

constexpr error_kind kind_of(errc e) noexcept {
  switch (e) {
    case errc::invalid_argument:
    case errc::not_logged_in:
    case errc::cancelled:
    case errc::store_error: return error_kind::client;
    case errc::transport_error:
    case errc::connection_failed:
    case errc::timeout:
    case errc::tls_error:
    case errc::connection_reset:
    case errc::too_many_redirects: return error_kind::transport;
    case errc::bad_response: return error_kind::bad_response;
    case errc::http_error: return error_kind::http;
    default: return static_cast<int>(e) == 0 ? error_kind::none : error_kind::service;
  }
}

constexpr std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::invalid_argument: return "invalid argument";
    case errc::not_logged_in: return "not logged in";
    case errc::transport_error: return "transport error";
    case errc::connection_failed: return "connection failed";
    case errc::timeout: return "timed out";
    case errc::tls_error: return "TLS error";
    case errc::connection_reset: return "connection reset";
    case errc::too_many_redirects: return "too many redirects";
    case errc::bad_response: return "malformed response";
    case errc::http_error: return "HTTP error";
    case errc::unknown_service_error: return "unknown service error";
    case errc::server_error: return "server error";
    case errc::missing_auth_req: return "authentication required";
    case errc::invalid_session: return "invalid session";
    case errc::invalid_parameter: return "invalid parameter";
    case errc::missing_parameter: return "missing parameter";
    case errc::internal_server_error: return "internal server error";
    case errc::api_key_not_found: return "API key not found";
    case errc::api_key_already_exists: return "API key already exists";
    case errc::user_disabled: return "user disabled";
    case errc::auth_error: return "authentication error";
    case errc::bad_request: return "bad request";
    case errc::maintenance_in_progress: return "maintenance in progress";
    case errc::auth_provider_not_found: return "auth provider not found";
    case errc::cancelled: return "cancelled";
    case errc::store_error: return "session store error";
  }
  return "unknown apikeys error";
}

/// The known wire names of docs/protocol.md section 5 and their codes; anything else is errc::server_error.
constexpr errc errc_from_server_code(std::string_view name) noexcept {
  struct entry {
    std::string_view name;
    errc code;
  };
  constexpr entry table[] = {
      {"MissingAuthReq", errc::missing_auth_req},
      {"InvalidSession", errc::invalid_session},
      {"InvalidParameter", errc::invalid_parameter},
      {"MissingParameter", errc::missing_parameter},
      {"InternalServerError", errc::internal_server_error},
      {"APIKeyNotFound", errc::api_key_not_found},
      {"APIKeyAlreadyExists", errc::api_key_already_exists},
      {"UserDisabled", errc::user_disabled},
      {"AuthError", errc::auth_error},
      {"BadRequest", errc::bad_request},
      {"MaintenanceInProgress", errc::maintenance_in_progress},
      {"AuthProviderNotFound", errc::auth_provider_not_found},
  };
  for (const auto& e : table)
    if (e.name == name) return e.code;
  return errc::server_error;
}

namespace detail {
class apikeys_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "apikeys"; }
  std::string message(int value) const override { return std::string{to_string(static_cast<errc>(value))}; }
};
}  // namespace detail

inline const std::error_category& apikeys_category() noexcept {
  static const detail::apikeys_category category;
  return category;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), apikeys_category()}; }

/// A failed call, whatever failed. Never holds a secret: messages come from the server's `error`
/// field, a transport's description, or apikeys itself, never from a request body or a token.
struct api_error {
  errc code = errc::transport_error;
  int http_status = 0;      ///< 0 when no HTTP response arrived (client and transport errors)
  std::string server_code;  ///< the raw `error_code` string, empty when the server sent none
  std::string message;      ///< the server's `error`, or apikeys' own description
  std::string link;         ///< the server's log link, when it sent one
  std::string context;      ///< what apikeys was doing, e.g. "enable API key 5e5e6f0abe4ae2a2c2c2d329"
  /// True when the request may have reached the server and taken effect although no usable answer came
  /// back: a POST, PUT or DELETE whose connection timed out, reset or failed after connecting, or a
  /// `create` whose 201 answer could not be read. A create that fails this way may have made a key
  /// whose value is now lost: fetch_all() shows whether it exists (and it can then be deleted).
  bool outcome_unknown = false;

  std::error_code error_code() const noexcept { return make_error_code(code); }
  error_kind kind() const noexcept { return kind_of(code); }
};

namespace detail {
// A 2xx answer that is not what the protocol says: from a decoder, or from a client that finds the
// answer cannot belong to its call.
inline api_error bad_response(std::string message, int status) {
  api_error e;
  e.code = errc::bad_response;
  e.http_status = status;
  e.message = "malformed response: " + std::move(message);
  return e;
}

inline std::string describe(const api_error& e) {
  std::string out;
  if (!e.context.empty()) out.append(e.context).append(": ");
  // "message (code, ServerCode, HTTP 404)"; without a message the code leads and is not repeated.
  std::string details;
  if (e.message.empty()) {
    out.append(to_string(e.code));
  } else {
    out.append(e.message);
    details.append(to_string(e.code));
  }
  if (!e.server_code.empty()) details.append(details.empty() ? "" : ", ").append(e.server_code);
  if (e.http_status != 0) details.append(details.empty() ? "" : ", ").append("HTTP ").append(std::to_string(e.http_status));
  if (!details.empty()) out.append(" (").append(details).append(")");
  if (!e.link.empty()) out.append(" ").append(e.link);
  if (e.outcome_unknown) out.append("; the outcome is unknown: the server may have carried out the request");
  return out;
}
inline std::string describe(const errc& e) { return std::string{to_string(e)}; }
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const api_error& e) { return os << detail::describe(e); }
inline std::ostream& operator<<(std::ostream& os, errc e) { return os << to_string(e); }

/// What throw_on_error throws. what() is the described api_error, which never contains a secret.
class api_exception : public std::exception {
 public:
  explicit api_exception(api_error error) : error_(std::move(error)), what_(detail::describe(error_)) {}
  const char* what() const noexcept override { return what_.c_str(); }
  const api_error& error() const noexcept { return error_; }
  errc code() const noexcept { return error_.code; }

 private:
  api_error error_;
  std::string what_;
};

namespace detail {
inline std::string describe(const api_exception& e) { return e.what(); }
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const api_exception& e) { return os << e.what(); }

}  // namespace apikeys

template <>
struct std::is_error_code_enum<apikeys::errc> : std::true_type {};

template <>
struct fmt::formatter<apikeys::errc> : apikeys::detail::described_formatter<apikeys::errc, &apikeys::detail::describe> {};
template <>
struct fmt::formatter<apikeys::api_error>
    : apikeys::detail::described_formatter<apikeys::api_error, &apikeys::detail::describe> {};
template <>
struct fmt::formatter<apikeys::api_exception>
    : apikeys::detail::described_formatter<apikeys::api_exception, &apikeys::detail::describe> {};

#endif  // APIKEYS_ERROR_HPP
