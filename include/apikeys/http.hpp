// apikeys HTTP aggregates: what an operation hands a transport, and what a transport hands back.
#ifndef APIKEYS_HTTP_HPP
#define APIKEYS_HTTP_HPP

#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "detail/format.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

enum class http_method { get, post, put, delete_ };

constexpr std::string_view to_string(http_method m) noexcept {
  switch (m) {
    case http_method::get: return "GET";
    case http_method::post: return "POST";
    case http_method::put: return "PUT";
    case http_method::delete_: return "DELETE";
  }
  return "?";
}

struct http_header {
  std::string name;
  std::string value;
  friend bool operator==(const http_header&, const http_header&) = default;
};

/// What a transport sends. `timeout` bounds the whole exchange (connect, send, wait, read);
/// zero means the transport's own default.
struct http_request {
  http_method method = http_method::get;
  std::string url;
  std::vector<http_header> headers;
  std::string body;
  std::chrono::milliseconds timeout{0};
};

/// What a transport received. Any status, including 0 from a test double, is passed on as it came.
struct http_response {
  int status = 0;
  std::vector<http_header> headers;
  std::string body;
};

namespace detail {
constexpr char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}
}  // namespace detail

/// The value of the first header named `name` (ASCII case-insensitive, as HTTP says), or nullptr.
inline const std::string* find_header(const std::vector<http_header>& headers, std::string_view name) noexcept {
  for (const auto& h : headers)
    if (detail::iequals(h.name, name)) return &h.value;
  return nullptr;
}

namespace detail {
// Requests carry bearer tokens and credentials in bodies, so a printed request shows header names,
// non-secret header values, and only the size of the body.
inline std::string describe(const http_method& m) { return std::string{to_string(m)}; }
inline std::string describe(const http_header& h) {
  return h.name + ": " + (iequals(h.name, "authorization") ? std::string{"<redacted>"} : h.value);
}
inline std::string describe(const http_request& r) {
  std::string out;
  out.append(to_string(r.method)).append(" ").append(r.url);
  for (const auto& h : r.headers) {
    out.append("\n").append(h.name).append(": ");
    out.append(iequals(h.name, "authorization") ? std::string_view{"<redacted>"} : std::string_view{h.value});
  }
  out.append("\n[").append(std::to_string(r.body.size())).append(" byte body]");
  return out;
}
inline std::string describe(const http_response& r) {
  std::string out = "HTTP " + std::to_string(r.status);
  for (const auto& h : r.headers) out.append("\n").append(h.name).append(": ").append(h.value);
  out.append("\n[").append(std::to_string(r.body.size())).append(" byte body]");
  return out;
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, http_method m) { return os << to_string(m); }
inline std::ostream& operator<<(std::ostream& os, const http_header& h) { return os << detail::describe(h); }
inline std::ostream& operator<<(std::ostream& os, const http_request& r) { return os << detail::describe(r); }
inline std::ostream& operator<<(std::ostream& os, const http_response& r) { return os << detail::describe(r); }

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::http_method>
    : apikeys::detail::described_formatter<apikeys::http_method, &apikeys::detail::describe> {};
template <>
struct fmt::formatter<apikeys::http_header>
    : apikeys::detail::described_formatter<apikeys::http_header, &apikeys::detail::describe> {};
template <>
struct fmt::formatter<apikeys::http_request>
    : apikeys::detail::described_formatter<apikeys::http_request, &apikeys::detail::describe> {};
template <>
struct fmt::formatter<apikeys::http_response>
    : apikeys::detail::described_formatter<apikeys::http_response, &apikeys::detail::describe> {};

#endif  // APIKEYS_HTTP_HPP
