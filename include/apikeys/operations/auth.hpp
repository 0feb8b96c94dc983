// apikeys auth operations: the location, registering, logging in, and a session's own calls, each one
// descriptor (docs/architecture.md).
#ifndef APIKEYS_OPERATIONS_AUTH_HPP
#define APIKEYS_OPERATIONS_AUTH_HPP

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "../config.hpp"
#include "../credentials.hpp"
#include "../decoder.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "../operations.hpp"
#include "../result.hpp"
#include "../secret.hpp"
#include "../session.hpp"
#include "../version.hpp"
#include "common.hpp"

namespace APIKEYS_NAMESPACE::ops {

// The descriptors of operations/keys.hpp, with what the app's calls add:
//   needs == none or location   build(r, ctx, config): ctx.host is the base URL (none) or the app's host
//                               (location); decode(answer, ctx) may use that host
//   needs == refresh_token      decode(answer, session&) may change the session (refresh)
//   ends_session                the session ends here whatever the answer (log out); a logged-out session
//                               sends nothing and succeeds
// An auth error keeps a context an inner step gave it (a failed location lookup says so).

/// Where the app lives: GET {base_url}/api/client/v2.0/app/{app_id}/location (section 6).
struct locate_app {
  using value_type = location_response;
  static constexpr prerequisite needs = prerequisite::none;

  std::optional<api_error> build(http_request& request, const request_context& ctx, const app_config& config) const {
    build_location(request, ctx.host, config.app_id, ctx.timeout);
    return std::nullopt;
  }
  result<value_type> decode(http_response& response, const request_context&) const {
    auto found = decode_location(response);
    if (!found) return fail(std::move(found).error());
    return found;
  }
  result<value_type> fail(api_error error) const {
    return unexpected{apikeys::detail::in_context(std::move(error), "look up the app's location")};
  }
};

/// Log a device in with `creds`: POST .../auth/providers/{provider}/login. The answer becomes a session.
struct log_in {
  using value_type = std::shared_ptr<session>;
  static constexpr prerequisite needs = prerequisite::location;
  credentials creds;

  std::optional<api_error> build(http_request& request, const request_context& ctx, const app_config& config) const {
    return build_login(request, ctx, config.app_id, creds, config.device);
  }
  result<value_type> decode(http_response& response, const request_context& ctx) const {
    auto login = decode_login(response);
    apikeys::detail::wipe(response);
    if (!login) return fail(std::move(login).error());
    return std::make_shared<session>(std::move(login->user_id), std::move(login->device_id), std::string{creds.provider()},
                                     std::string{ctx.host}, std::move(login->access_token), std::move(login->refresh_token));
  }
  result<value_type> fail(api_error error) const { return unexpected{apikeys::detail::in_context(std::move(error), "log in")}; }
};

/// Register an email/password user: POST .../auth/providers/local-userpass/register.
struct register_user {
  using value_type = void;
  static constexpr prerequisite needs = prerequisite::location;
  std::string email;
  secret password;

  std::optional<api_error> build(http_request& request, const request_context& ctx, const app_config& config) const {
    return build_register(request, ctx, config.app_id, email, password.reveal());
  }
  result<void> decode(http_response&, const request_context&) const { return {}; }
  result<void> fail(api_error error) const { return unexpected{apikeys::detail::in_context(std::move(error), "register user")}; }
};

/// A new access token for the session: POST /auth/session with the refresh token.
struct refresh_session {
  using value_type = void;
  static constexpr prerequisite needs = prerequisite::refresh_token;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    build_refresh(request, ctx);
    return std::nullopt;
  }
  result<void> decode(http_response& response, session& user) const {
    auto token = decode_access_token(response);
    apikeys::detail::wipe(response);
    if (!token) return fail(std::move(token).error());
    user.set_access_token(std::move(*token));
    return {};
  }
  result<void> fail(api_error error) const { return unexpected{apikeys::detail::in_context(std::move(error), "refresh session")}; }
};

/// Revoke the session: DELETE /auth/session with the refresh token. It ends here even when the server
/// cannot be reached (the error is still reported).
struct log_out {
  using value_type = void;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  static constexpr bool ends_session = true;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    build_logout(request, ctx);
    return std::nullopt;
  }
  result<void> decode(http_response&) const { return {}; }
  result<void> fail(api_error error) const { return unexpected{apikeys::detail::in_context(std::move(error), "log out")}; }
};

/// The user's profile: GET /auth/profile with the access token (a 401 is answered by one refresh and one
/// retry, the client core's rule for access-token calls).
struct fetch_profile {
  using value_type = user_profile;
  static constexpr prerequisite needs = prerequisite::access_token;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    build_profile(request, ctx);
    return std::nullopt;
  }
  result<value_type> decode(http_response& response) const {
    auto found = decode_profile(response);
    if (!found) return fail(std::move(found).error());
    return found;
  }
  result<value_type> fail(api_error error) const { return unexpected{apikeys::detail::in_context(std::move(error), "profile")}; }
};

}  // namespace apikeys::ops

#endif  // APIKEYS_OPERATIONS_AUTH_HPP
