// apikeys requests, the definitions: the blocks of operations.hpp, byte for byte.
#ifndef APIKEYS_IMPL_OPERATIONS_HPP
#define APIKEYS_IMPL_OPERATIONS_HPP

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "../detail/json_writer.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "../object_id.hpp"
#include "../operations.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE::ops {

namespace detail {

inline api_error invalid_argument(std::string message) {
  api_error e;
  e.code = errc::invalid_argument;
  e.message = std::move(message);
  return e;
}

inline void set_header(http_request& out, std::size_t index, std::string_view name, std::string_view value) {
  if (out.headers.size() <= index) out.headers.resize(index + 1);
  out.headers[index].name.assign(name);
  out.headers[index].value.assign(value);
}

}  // namespace detail

APIKEYS_DECL std::optional<api_error> validate_key_name(std::string_view name) {
  if (name.empty()) return detail::invalid_argument("an API key name must not be empty");
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return detail::invalid_argument("an API key name can only contain ASCII letters, numbers, underscores, and hyphens");
  }
  return std::nullopt;
}

APIKEYS_DECL std::optional<api_error> refuse_non_utf8(std::string_view text, std::string_view what) {
  if (apikeys::detail::is_valid_utf8(text)) return std::nullopt;
  return detail::invalid_argument(std::string{what} + " is not valid UTF-8");
}

APIKEYS_DECL void append_path_segment(std::string& out, std::string_view segment) {
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

APIKEYS_DECL void start_request(http_request& out, http_method method, const request_context& ctx, std::string_view path) {
  out.method = method;
  out.url.assign(ctx.host);
  out.url.append(path);
  out.body.clear();
  out.timeout = ctx.timeout;
  out.headers.reserve(3);  // one allocation for the headers of section 2, not three as the vector grows
  detail::set_header(out, 0, "Accept", "application/json");
  detail::set_header(out, 1, "Content-Type", json_content_type);
  if (ctx.token.empty()) {
    out.headers.resize(2);
  } else {
    detail::set_header(out, 2, "Authorization", "Bearer ");
    out.headers[2].value.append(ctx.token);
    out.headers.resize(3);
  }
}

APIKEYS_DECL void start_key_request(http_request& out, http_method method, const request_context& ctx,
                                    const object_id& id, std::string_view suffix) {
  start_request(out, method, ctx, keys_path);
  out.url.push_back('/');
  const std::size_t at = out.url.size();
  out.url.resize(at + object_id::text_size);
  id.write_to(out.url.data() + at);
  out.url.append(suffix);
}

APIKEYS_DECL void start_provider_request(http_request& out, const request_context& ctx, std::string_view app_id,
                                         std::string_view provider, std::string_view action) {
  start_request(out, http_method::post, request_context{ctx.host, {}, ctx.timeout}, api_root);
  out.url.append("/app/");
  append_path_segment(out.url, app_id);
  out.url.append("/auth/providers/").append(provider).append("/").append(action);
}

}  // namespace apikeys::ops

#endif  // APIKEYS_IMPL_OPERATIONS_HPP
