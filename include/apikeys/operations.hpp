// apikeys requests: what every request of docs/protocol.md sections 1 to 4 is made of. Each operation's own
// request is built by its descriptor (operations/keys.hpp, operations/auth.hpp) from these blocks.
#ifndef APIKEYS_OPERATIONS_HPP
#define APIKEYS_OPERATIONS_HPP

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "detail/json_writer.hpp"  // the descriptors write their bodies with it
#include "error.hpp"
#include "http.hpp"
#include "object_id.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE::ops {

/// What every request shares: the host it goes to (scheme://authority, then an optional path prefix, no
/// trailing '/'), the bearer token it carries (empty for none), and its timeout.
struct request_context {
  std::string_view host;
  std::string_view token;
  std::chrono::milliseconds timeout{0};
};

inline constexpr std::string_view api_root = "/api/client/v2.0";
inline constexpr std::string_view keys_path = "/api/client/v2.0/auth/api_keys";
inline constexpr std::string_view session_path = "/api/client/v2.0/auth/session";
inline constexpr std::string_view profile_path = "/api/client/v2.0/auth/profile";
inline constexpr std::string_view json_content_type = "application/json;charset=utf-8";

/// A key name the server accepts: non-empty, ASCII letters, digits, '_' and '-' only. Checked before
/// sending, so the caller learns of a bad name without a round trip.
APIKEYS_DECL std::optional<api_error> validate_key_name(std::string_view name);

/// errc::invalid_argument naming `what` ("the email") when `text` is not UTF-8; JSON cannot carry it.
APIKEYS_DECL std::optional<api_error> refuse_non_utf8(std::string_view text, std::string_view what);

/// Starts `out` as a request of section 2: the method, {ctx.host}{path}, Accept, Content-Type, the
/// bearer token when ctx has one, an empty body and ctx's timeout. A reused request keeps its buffers.
APIKEYS_DECL void start_request(http_request& out, http_method method, const request_context& ctx, std::string_view path);

/// start_request for one key's route: {host}/api/client/v2.0/auth/api_keys/{id}{suffix}.
APIKEYS_DECL void start_key_request(http_request& out, http_method method, const request_context& ctx,
                                    const object_id& id, std::string_view suffix);

/// A POST with no bearer token to {host}/api/client/v2.0/app/{app_id}/auth/providers/{provider}/{action}
/// (log in, register); the app id is percent-encoded, so it cannot change the route.
APIKEYS_DECL void start_provider_request(http_request& out, const request_context& ctx, std::string_view app_id,
                                         std::string_view provider, std::string_view action);

/// Appends `segment` percent-encoded: everything but RFC 3986's unreserved characters.
APIKEYS_DECL void append_path_segment(std::string& out, std::string_view segment);

}  // namespace apikeys::ops

#if !defined(APIKEYS_SEPARATE_COMPILATION) || defined(APIKEYS_IMPLEMENTATION)
#include "impl/operations.hpp"
#endif

#endif  // APIKEYS_OPERATIONS_HPP
