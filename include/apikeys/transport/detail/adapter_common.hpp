// apikeys::detail: what the HTTP adapters share (URL checks, header checks, redirects, bodies, error texts).
#ifndef APIKEYS_TRANSPORT_DETAIL_ADAPTER_COMMON_HPP
#define APIKEYS_TRANSPORT_DETAIL_ADAPTER_COMMON_HPP

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "../../error.hpp"
#include "../../http.hpp"
#include "../../log.hpp"
#include "../../result.hpp"
#include "../../transport.hpp"
#include "../../version.hpp"

// Deliberately no <httplib.h> or <curl/curl.h>: each adapter must build without the other's library.
namespace APIKEYS_NAMESPACE::detail {

/// Scheme, host and port of an http(s) URL: what a connection is made to, and what messages may name.
struct http_endpoint {
  bool https = false;
  std::string host;  // lowercase; an IPv6 literal without its brackets
  int port = 0;
  bool ipv6 = false;

  bool default_port() const noexcept { return port == (https ? 443 : 80); }
  std::string bracketed_host() const { return ipv6 ? "[" + host + "]" : host; }
  // Never the path, query or user information, which are the caller's business.
  std::string origin() const {
    return std::string{https ? "https://" : "http://"} + bracketed_host() + ":" + std::to_string(port);
  }
};

inline transport_error url_error(std::string what) {
  return transport_error{errc::transport_error, "unusable URL: " + std::move(what)};
}

// The caller percent-encodes; a space or control byte would corrupt the request line, and raw
// non-ASCII would be sent as something other than what the caller meant.
constexpr bool url_byte_ok(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;
}

/// A URL cut after its scheme: `https` set, and the authority and what follows it still to be read.
struct url_head {
  bool https = false;
  std::string_view authority;
  std::string_view rest;  // path, query and fragment, as written
};

/// The checks both adapters make before their own: an http or https scheme and no user information.
/// The URL itself never goes into an error message: a caller may have put something private in it.
inline result<url_head, transport_error> split_url_head(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return unexpected{url_error("no scheme")};
  url_head out;
  const auto scheme = url.substr(0, scheme_end);
  if (iequals(scheme, "https"))
    out.https = true;
  else if (!iequals(scheme, "http"))
    return unexpected{url_error("the scheme is neither http nor https")};
  url.remove_prefix(scheme_end + 3);
  const auto authority_end = std::min(url.find_first_of("/?#"), url.size());
  out.authority = url.substr(0, authority_end);
  out.rest = url.substr(authority_end);
  if (out.authority.find('@') != std::string_view::npos)
    return unexpected{url_error("user information in URLs is not supported")};
  return out;
}

/// 1 to 65535 written in decimal digits only, or 0 for anything else.
inline int parse_port(std::string_view text) noexcept {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 65535) return 0;
  return value;
}

inline std::string ascii_lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out.push_back(ascii_lower(c));
  return out;
}

/// A header name that goes out as written: an HTTP token (RFC 9110 section 5.6.2), so nothing a library
/// or a server could read as syntax (space, ':', ';', control or non-ASCII bytes).
constexpr bool header_name_ok(std::string_view name) noexcept {
  constexpr std::string_view punctuation = "!#$%&'*+-.^_`|~";
  if (name.empty()) return false;
  for (const char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && punctuation.find(c) == std::string_view::npos) return false;
  }
  return true;
}
// A CR or LF would split the request, and a NUL would cut a C string short.
constexpr bool header_value_ok(std::string_view value) noexcept {
  return value.find_first_of(std::string_view{"\r\n\0", 3}) == std::string_view::npos;
}

/// Why the request's headers cannot be sent, if they cannot. The value may be a credential, so it is
/// never quoted; a name is, once it is known to be sane.
inline std::optional<transport_error> check_headers(const std::vector<http_header>& headers) {
  for (const auto& h : headers) {
    if (!header_name_ok(h.name))
      return transport_error{errc::transport_error, "a header name is not an HTTP token"};
    if (!header_value_ok(h.value))
      return transport_error{errc::transport_error, "the value of header '" + h.name + "' holds a CR, LF or NUL"};
  }
  return std::nullopt;
}

/// Whether `host` (from a parsed URL) is one of `names`, exactly but for ASCII case; a listed IPv6 literal
/// may be written with or without its brackets.
inline bool host_listed(const std::vector<std::string>& names, std::string_view host) noexcept {
  return std::any_of(names.begin(), names.end(), [&](std::string_view name) {
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
      name = name.substr(1, name.size() - 2);
    return iequals(name, host);
  });
}

/// A request's whole budget: its own timeout, or the adapter's default when that is zero or negative.
inline std::chrono::steady_clock::duration request_budget(const http_request& request,
                                                          std::chrono::milliseconds default_timeout) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      request.timeout > std::chrono::milliseconds::zero() ? request.timeout : default_timeout);
}

/// A redirect from https to plain http is never followed: the request (and what it carries) would travel
/// unencrypted. It is a TLS error, since what failed is the protection the caller asked for.
inline transport_error https_downgrade_error(const http_endpoint& from, const http_endpoint& to) {
  return {errc::tls_error, "refused a redirect from " + from.origin() + " to plain http at " + to.origin()};
}

/// What one hop of a send carries; a redirect changes it as browsers do.
struct redirect_hop {
  http_method method;
  std::string_view body;
  bool cross_origin = false;  // some redirect has left the first origin: credentials stay behind

  /// 303 turns anything but GET into a bodiless GET; 301 and 302 do so for POST.
  void redirected(int status) noexcept {
    if ((status == 303 && method != http_method::get) ||
        ((status == 301 || status == 302) && method == http_method::post)) {
      method = http_method::get;
      body = {};
    }
  }

  /// Both adapters' one step from `from` to `to` on a followed `status`: refused when it would give up
  /// TLS; else the credentials stay behind from the first change of origin on, and the method follows.
  std::optional<transport_error> follow(const http_endpoint& from, const http_endpoint& to, int status) {
    if (from.https && !to.https) return https_downgrade_error(from, to);
    if (to.origin() != from.origin()) cross_origin = true;
    redirected(status);
    return std::nullopt;
  }
};

// The adapters' own events (log.hpp), at trace: a new connection (and its TLS handshake) or a pooled one.
inline void note_connection(const log_sink& logger, const http_endpoint& to, bool new_connection) {
  if (!logger.enabled(log_level::trace)) return;
  const std::string origin = to.origin();
  log_event e;
  e.level = log_level::trace;
  e.host = origin;
  e.kind = new_connection ? log_event_kind::connect : log_event_kind::connection_reused;
  logger.write(e);
  if (new_connection && to.https) {
    e.kind = log_event_kind::tls_handshake;
    logger.write(e);
  }
}

// A followed redirect, at debug: the hop's status, and the method, path and origin the next hop goes to.
inline void note_redirect(const log_sink& logger, const redirect_hop& next, const http_endpoint& to,
                          std::string_view to_url, int status) {
  if (!logger.enabled(log_level::debug)) return;
  const std::string origin = to.origin();
  log_event e;
  e.kind = log_event_kind::redirect;
  e.level = log_level::debug;
  e.status = status;
  e.method = next.method;
  e.route = route_of(to_url);
  e.host = origin;
  logger.write(e);
}

constexpr bool followed_redirect_status(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

inline transport_error redirects_exhausted_error(std::size_t redirects, const std::string& origin) {
  return {errc::too_many_redirects,
          "gave up after " + std::to_string(redirects) + " redirects, the last from " + origin};
}
inline transport_error bad_redirect_error(const transport_error& url_problem) {
  return {errc::transport_error, "redirect to an " + url_problem.message};
}

// A hostile Content-Length must not make us allocate gigabytes before a byte of body arrives.
inline constexpr std::size_t max_body_reserve = std::size_t{64} << 20;
// simdjson reads up to 64 bytes past the end of a document; spare capacity lets it skip a copy.
inline constexpr std::size_t body_padding = 64;

/// Room for the body a Content-Length announces (within reason), plus the padding.
inline void reserve_for_content_length(std::string& body, std::string_view content_length) {
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(content_length.data(), content_length.data() + content_length.size(), n);
  if (ec == std::errc{} && end == content_length.data() + content_length.size())
    body.reserve(std::min(n, max_body_reserve) + body_padding);
}
inline void ensure_body_padding(std::string& body) {
  if (body.capacity() < body.size() + body_padding) body.reserve(body.size() + body_padding);
}

inline std::string ms_text(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// The messages both adapters give for the same failure, so that a caller reads the same words whichever
// is plugged in. `cause` is the library's own word on it, already in parentheses and never private.
inline transport_error out_of_memory_error(std::string_view cause = {}) {
  return {errc::transport_error, "out of memory in the HTTP transport" + std::string{cause}};
}
inline transport_error budget_spent_error(std::chrono::steady_clock::duration budget) {
  return {errc::timeout, "no complete response within " + ms_text(budget)};
}
inline transport_error connect_failed_error(const std::string& origin, std::string_view cause) {
  return {errc::connection_failed, "could not connect to " + origin + std::string{cause}};
}
inline transport_error connect_timeout_error(const std::string& origin, std::chrono::steady_clock::duration limit,
                                             std::string_view cause) {
  return {errc::timeout, "connecting to " + origin + " took longer than " + ms_text(limit) + std::string{cause}};
}
inline transport_error response_timeout_error(const std::string& origin, std::chrono::steady_clock::duration budget,
                                              std::string_view cause) {
  return {errc::timeout, "no complete response from " + origin + " within " + ms_text(budget) + std::string{cause}};
}
inline transport_error closed_while_sending_error(const std::string& origin, std::string_view cause) {
  return {errc::connection_reset, "the connection to " + origin + " closed while sending the request" +
                                      std::string{cause}};
}
inline transport_error closed_before_response_error(const std::string& origin, std::string_view cause) {
  return {errc::connection_reset, "the connection to " + origin + " closed before a whole response arrived" +
                                      std::string{cause}};
}
inline transport_error tls_handshake_error(const std::string& origin, std::string_view cause) {
  return {errc::tls_error, "the TLS handshake with " + origin + " failed" + std::string{cause}};
}
inline transport_error ca_load_error(const std::string& origin, std::string_view cause) {
  return {errc::tls_error, "could not load the CA certificates for " + origin + std::string{cause}};
}
inline transport_error certificate_refused_error(const std::string& origin, std::string_view cause) {
  return {errc::tls_error, "the certificate of " + origin + " was not accepted" + std::string{cause}};
}
inline transport_error too_many_redirects_error(const std::string& origin, std::string_view cause) {
  return {errc::too_many_redirects, "too many redirects from " + origin + std::string{cause}};
}
inline transport_error request_failed_error(const std::string& origin, std::string_view cause) {
  return {errc::transport_error, "request to " + origin + " failed" + std::string{cause}};
}

/// Runs an adapter's send so that no exception escapes it: a failed allocation becomes the out-of-memory
/// error, anything else `thrown` (whatever an exception says might quote the request, so only the fact
/// travels).
template <class Send>
result<http_response, transport_error> send_without_throwing([[maybe_unused]] std::string_view thrown,
                                                             Send&& send) {
#if APIKEYS_HAS_EXCEPTIONS
  try {
    return std::forward<Send>(send)();
  } catch (const std::bad_alloc&) {
    return unexpected{out_of_memory_error()};
  } catch (...) {
    return unexpected{transport_error{errc::transport_error, std::string{thrown}}};
  }
#else
  return std::forward<Send>(send)();
#endif
}

}  // namespace apikeys::detail

#endif  // APIKEYS_TRANSPORT_DETAIL_ADAPTER_COMMON_HPP
