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
#include "../detail/json_writer.hpp"
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
//   keeps_session_on_401        a 401 neither ends nor revokes the session (refresh)
// An auth error keeps a context an inner step gave it (a failed location lookup says so).

/// Where the app lives: GET {base_url}/api/client/v2.0/app/{app_id}/location (section 6).
struct locate_app {
  using value_type = location_response;
  static constexpr prerequisite needs = prerequisite::none;

  std::optional<api_error> build(http_request& request, const request_context& ctx, const app_config& config) const {
    std::string_view base_url = ctx.host;
    while (base_url.ends_with('/')) base_url.remove_suffix(1);
    request.method = http_method::get;
    request.url.assign(base_url);
    request.url.append(api_root).append("/app/");
    append_path_segment(request.url, config.app_id);
    request.url.append("/location");
    request.headers.clear();
    request.body.clear();
    request.timeout = ctx.timeout;
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

  // The credential, then options.device in the order of section 4; no bearer token.
  std::optional<api_error> build(http_request& request, const request_context& ctx, const app_config& config) const {
    using apikeys::detail::append_json_member;
    const std::string_view proof = creds.proof().reveal();
    const device_info& device = config.device;
    const std::string_view device_fields[][2] = {
        {"appId", config.app_id},
        {"platform", device.platform},
        {"platformVersion", device.platform_version},
        {"sdk", device.sdk},
        {"sdkVersion", device.sdk_version},
        {"cpuArch", device.cpu_arch},
        {"deviceName", device.device_name},
        {"deviceVersion", device.device_version},
        {"frameworkName", device.framework_name},
        {"frameworkVersion", device.framework_version},
        {"coreVersion", device.core_version},
        {"bundleId", device.bundle_id},
    };
    if (auto refused = refuse_non_utf8(creds.username(), "the email")) return refused;
    if (auto refused = refuse_non_utf8(proof, "the password, key or token")) return refused;
    for (const auto& field : device_fields)  // the message is made only for a field that fails
      if (!apikeys::detail::is_valid_utf8(field[1]))
        return refuse_non_utf8(field[1], std::string{"device field "}.append(field[0]));

    start_provider_request(request, ctx, config.app_id, creds.provider(), "login");
    std::string& body = request.body;
    body.push_back('{');
    switch (creds.provider_kind()) {
      case credentials::kind::anonymous: append_json_member(body, "provider", "anon-user"); break;
      case credentials::kind::email_password:
        append_json_member(body, "provider", "local-userpass");
        body.push_back(',');
        append_json_member(body, "username", creds.username());
        body.push_back(',');
        append_json_member(body, "password", proof);
        break;
      case credentials::kind::api_key:
        append_json_member(body, "provider", "api-key");
        body.push_back(',');
        append_json_member(body, "key", proof);
        break;
      case credentials::kind::custom_token: append_json_member(body, "token", proof); break;
    }
    body.append(",\"options\":{\"device\":{");
    bool first = true;
    for (const auto& field : device_fields) {
      if (!first) body.push_back(',');
      first = false;
      append_json_member(body, field[0], field[1]);
    }
    body.append("}}}");
    return std::nullopt;
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
    if (auto refused = refuse_non_utf8(email, "the email")) return refused;
    if (auto refused = refuse_non_utf8(password.reveal(), "the password")) return refused;
    start_provider_request(request, ctx, config.app_id, "local-userpass", "register");
    request.body.push_back('{');
    apikeys::detail::append_json_member(request.body, "email", email);
    request.body.push_back(',');
    apikeys::detail::append_json_member(request.body, "password", password.reveal());
    request.body.push_back('}');
    return std::nullopt;
  }
  result<void> decode(http_response&, const request_context&) const { return {}; }
  result<void> fail(api_error error) const { return unexpected{apikeys::detail::in_context(std::move(error), "register user")}; }
};

/// A new access token for the session: POST /auth/session with the refresh token.
/// A 401 leaves the session as it was, as realm-core's refresh_access_token does (docs/protocol.md section 7).
struct refresh_session {
  using value_type = void;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  static constexpr bool keeps_session_on_401 = true;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_request(request, http_method::post, ctx, session_path);
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
    start_request(request, http_method::delete_, ctx, session_path);
    return std::nullopt;
  }
  result<void> decode(http_response&) const { return {}; }
  result<void> fail(api_error error) const { return unexpected{apikeys::detail::in_context(std::move(error), "log out")}; }
};

/// The user's profile: GET /auth/profile with the access token (a 401 is answered by one refresh and one
/// retry, the client core's rule for access-token calls). The session keeps a copy (session::profile()).
struct fetch_profile {
  using value_type = user_profile;
  static constexpr prerequisite needs = prerequisite::access_token;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_request(request, http_method::get, ctx, profile_path);
    return std::nullopt;
  }
  result<value_type> decode(http_response& response, session& user) const {
    auto found = decode_profile(response);
    if (!found) return fail(std::move(found).error());
    user.set_profile(*found);
    return found;
  }
  result<value_type> fail(api_error error) const { return unexpected{apikeys::detail::in_context(std::move(error), "profile")}; }
};

}  // namespace apikeys::ops

#endif  // APIKEYS_OPERATIONS_AUTH_HPP
