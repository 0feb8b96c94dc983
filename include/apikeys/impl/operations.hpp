// apikeys operations, the definitions: how each request of operations.hpp is built, byte for byte.
#ifndef APIKEYS_IMPL_OPERATIONS_HPP
#define APIKEYS_IMPL_OPERATIONS_HPP

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "../config.hpp"
#include "../credentials.hpp"
#include "../detail/json_writer.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "../object_id.hpp"
#include "../operations.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE::ops {

APIKEYS_DECL std::optional<api_error> validate_key_name(std::string_view name) {
  auto refuse = [](std::string message) {
    api_error e;
    e.code = errc::invalid_argument;
    e.message = std::move(message);
    return e;
  };
  if (name.empty()) return refuse("an API key name must not be empty");
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return refuse("an API key name can only contain ASCII letters, numbers, underscores, and hyphens");
  }
  return std::nullopt;
}

namespace detail {

inline api_error not_utf8(std::string_view what) {
  api_error e;
  e.code = errc::invalid_argument;
  e.message = std::string{what} + " is not valid UTF-8";
  return e;
}

// Percent-encodes everything but RFC 3986 unreserved characters, so an app id cannot change the route.
inline void append_path_segment(std::string& out, std::string_view segment) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (const char c : segment) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(hex[b >> 4]);
      out.push_back(hex[b & 0x0f]);
    }
  }
}

inline void set_header(http_request& out, std::size_t index, std::string_view name, std::string_view value) {
  if (out.headers.size() <= index) out.headers.resize(index + 1);
  out.headers[index].name.assign(name);
  out.headers[index].value.assign(value);
}

// Method, URL start, the headers of section 2 and an empty body; assign() keeps a reused request's buffers.
inline void start(http_request& out, http_method method, const request_context& ctx, std::string_view path) {
  out.method = method;
  out.url.assign(ctx.host);
  out.url.append(path);
  out.body.clear();
  out.timeout = ctx.timeout;
  out.headers.reserve(3);  // one allocation for the headers of section 2, not three as the vector grows
  set_header(out, 0, "Accept", "application/json");
  set_header(out, 1, "Content-Type", json_content_type);
  if (ctx.token.empty()) {
    out.headers.resize(2);
  } else {
    set_header(out, 2, "Authorization", "Bearer ");
    out.headers[2].value.append(ctx.token);
    out.headers.resize(3);
  }
}

inline void key_route(http_request& out, http_method method, const request_context& ctx, const object_id& id,
                      std::string_view suffix) {
  start(out, method, ctx, keys_path);
  out.url.push_back('/');
  const std::size_t at = out.url.size();
  out.url.resize(at + object_id::text_size);
  id.write_to(out.url.data() + at);
  out.url.append(suffix);
}

inline void login_path(std::string& out, std::string_view app_id, std::string_view provider, std::string_view action) {
  out.append(api_root).append("/app/");
  append_path_segment(out, app_id);
  out.append("/auth/providers/").append(provider).append("/").append(action);
}

}  // namespace detail

APIKEYS_DECL std::optional<api_error> build_create_key(http_request& out, const request_context& ctx, std::string_view name) {
  if (!apikeys::detail::is_valid_utf8(name)) return detail::not_utf8("the API key name");
  detail::start(out, http_method::post, ctx, keys_path);
  out.body.append("{");
  apikeys::detail::append_json_member(out.body, "name", name);
  out.body.append("}");
  return std::nullopt;
}

APIKEYS_DECL void build_fetch_keys(http_request& out, const request_context& ctx) {
  detail::start(out, http_method::get, ctx, keys_path);
}
APIKEYS_DECL void build_fetch_key(http_request& out, const request_context& ctx, const object_id& id) {
  detail::key_route(out, http_method::get, ctx, id, "");
}
APIKEYS_DECL void build_delete_key(http_request& out, const request_context& ctx, const object_id& id) {
  detail::key_route(out, http_method::delete_, ctx, id, "");
}
APIKEYS_DECL void build_enable_key(http_request& out, const request_context& ctx, const object_id& id) {
  detail::key_route(out, http_method::put, ctx, id, "/enable");
}
APIKEYS_DECL void build_disable_key(http_request& out, const request_context& ctx, const object_id& id) {
  detail::key_route(out, http_method::put, ctx, id, "/disable");
}

APIKEYS_DECL std::optional<api_error> build_login(http_request& out, const request_context& ctx, std::string_view app_id,
                                            const credentials& creds, const device_info& device) {
  using apikeys::detail::append_json_member;
  const std::string_view proof = creds.proof().reveal();
  if (!apikeys::detail::is_valid_utf8(creds.username())) return detail::not_utf8("the email");
  if (!apikeys::detail::is_valid_utf8(proof)) return detail::not_utf8("the password, key or token");
  const std::string_view device_fields[][2] = {
      {"appId", app_id},
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
  for (const auto& field : device_fields)
    if (!apikeys::detail::is_valid_utf8(field[1])) return detail::not_utf8(std::string{"device field "} + std::string{field[0]});

  const request_context no_token{ctx.host, {}, ctx.timeout};
  detail::start(out, http_method::post, no_token, "");
  detail::login_path(out.url, app_id, creds.provider(), "login");
  out.body.push_back('{');
  switch (creds.provider_kind()) {
    case credentials::kind::anonymous: append_json_member(out.body, "provider", "anon-user"); break;
    case credentials::kind::email_password:
      append_json_member(out.body, "provider", "local-userpass");
      out.body.push_back(',');
      append_json_member(out.body, "username", creds.username());
      out.body.push_back(',');
      append_json_member(out.body, "password", proof);
      break;
    case credentials::kind::api_key:
      append_json_member(out.body, "provider", "api-key");
      out.body.push_back(',');
      append_json_member(out.body, "key", proof);
      break;
    case credentials::kind::custom_token: append_json_member(out.body, "token", proof); break;
  }
  out.body.append(",\"options\":{\"device\":{");
  bool first = true;
  for (const auto& field : device_fields) {
    if (!first) out.body.push_back(',');
    first = false;
    append_json_member(out.body, field[0], field[1]);
  }
  out.body.append("}}}");
  return std::nullopt;
}

APIKEYS_DECL std::optional<api_error> build_register(http_request& out, const request_context& ctx, std::string_view app_id,
                                               std::string_view email, std::string_view password) {
  if (!apikeys::detail::is_valid_utf8(email)) return detail::not_utf8("the email");
  if (!apikeys::detail::is_valid_utf8(password)) return detail::not_utf8("the password");
  const request_context no_token{ctx.host, {}, ctx.timeout};
  detail::start(out, http_method::post, no_token, "");
  detail::login_path(out.url, app_id, "local-userpass", "register");
  out.body.push_back('{');
  apikeys::detail::append_json_member(out.body, "email", email);
  out.body.push_back(',');
  apikeys::detail::append_json_member(out.body, "password", password);
  out.body.push_back('}');
  return std::nullopt;
}

APIKEYS_DECL void build_refresh(http_request& out, const request_context& ctx) {
  detail::start(out, http_method::post, ctx, session_path);
}
APIKEYS_DECL void build_logout(http_request& out, const request_context& ctx) {
  detail::start(out, http_method::delete_, ctx, session_path);
}
APIKEYS_DECL void build_profile(http_request& out, const request_context& ctx) {
  detail::start(out, http_method::get, ctx, profile_path);
}

APIKEYS_DECL void build_location(http_request& out, std::string_view base_url, std::string_view app_id,
                           std::chrono::milliseconds timeout) {
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  out.method = http_method::get;
  out.url.assign(base_url);
  out.url.append(api_root).append("/app/");
  detail::append_path_segment(out.url, app_id);
  out.url.append("/location");
  out.headers.clear();
  out.body.clear();
  out.timeout = timeout;
}

}  // namespace apikeys::ops

#endif  // APIKEYS_IMPL_OPERATIONS_HPP
