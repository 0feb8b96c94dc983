// apikeys operations: the exact request of every call (docs/protocol.md sections 1 to 4), built without a transport.
#ifndef APIKEYS_OPERATIONS_HPP
#define APIKEYS_OPERATIONS_HPP

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "credentials.hpp"
#include "error.hpp"
#include "http.hpp"
#include "object_id.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE::ops {

/// What every request shares: the host it goes to (scheme://authority, no trailing '/'), the bearer
/// token it carries (empty for none), and its timeout.
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

/// POST {host}/api/client/v2.0/auth/api_keys with {"name":"<name>"}. Refuses a name that is not UTF-8;
/// the name rules themselves are validate_key_name's, which the client applies first.
APIKEYS_DECL std::optional<api_error> build_create_key(http_request& out, const request_context& ctx, std::string_view name);

/// GET {host}/api/client/v2.0/auth/api_keys
APIKEYS_DECL void build_fetch_keys(http_request& out, const request_context& ctx);

/// GET {host}/api/client/v2.0/auth/api_keys/{id}
APIKEYS_DECL void build_fetch_key(http_request& out, const request_context& ctx, const object_id& id);

/// DELETE {host}/api/client/v2.0/auth/api_keys/{id}
APIKEYS_DECL void build_delete_key(http_request& out, const request_context& ctx, const object_id& id);

/// PUT {host}/api/client/v2.0/auth/api_keys/{id}/enable
APIKEYS_DECL void build_enable_key(http_request& out, const request_context& ctx, const object_id& id);

/// PUT {host}/api/client/v2.0/auth/api_keys/{id}/disable
APIKEYS_DECL void build_disable_key(http_request& out, const request_context& ctx, const object_id& id);

/// POST {host}/api/client/v2.0/app/{app_id}/auth/providers/{provider}/login with the credential, then
/// `options.device` (section 4). No Authorization header.
APIKEYS_DECL std::optional<api_error> build_login(http_request& out, const request_context& ctx, std::string_view app_id,
                                            const credentials& creds, const device_info& device);

/// POST {host}/api/client/v2.0/app/{app_id}/auth/providers/local-userpass/register with
/// {"email":...,"password":...}. No Authorization header.
APIKEYS_DECL std::optional<api_error> build_register(http_request& out, const request_context& ctx, std::string_view app_id,
                                               std::string_view email, std::string_view password);

/// POST {host}/api/client/v2.0/auth/session with the refresh token: a new access token.
APIKEYS_DECL void build_refresh(http_request& out, const request_context& ctx);

/// DELETE {host}/api/client/v2.0/auth/session with the refresh token.
APIKEYS_DECL void build_logout(http_request& out, const request_context& ctx);

/// GET {host}/api/client/v2.0/auth/profile with the access token.
APIKEYS_DECL void build_profile(http_request& out, const request_context& ctx);

/// GET {base_url}/api/client/v2.0/app/{app_id}/location, with no headers at all (section 6).
APIKEYS_DECL void build_location(http_request& out, std::string_view base_url, std::string_view app_id,
                           std::chrono::milliseconds timeout);

}  // namespace apikeys::ops

#if !defined(APIKEYS_SEPARATE_COMPILATION) || defined(APIKEYS_IMPLEMENTATION)
#include "impl/operations.hpp"
#endif

#endif  // APIKEYS_OPERATIONS_HPP
