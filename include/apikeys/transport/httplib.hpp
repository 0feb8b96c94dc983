// apikeys::httplib_transport: a Transport over cpp-httplib with pooled keep-alive connections.
#ifndef APIKEYS_TRANSPORT_HTTPLIB_HPP
#define APIKEYS_TRANSPORT_HTTPLIB_HPP

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <httplib.h>

#include "../error.hpp"
#include "../http.hpp"
#include "../result.hpp"
#include "../transport.hpp"
#include "../version.hpp"

namespace apikeys {

struct httplib_transport_options {
  /// The budget of a request whose `timeout` is zero (or negative).
  std::chrono::milliseconds default_timeout{60'000};
  /// Connecting may take at most this long, and never longer than the request's own budget.
  std::chrono::milliseconds connect_timeout{10'000};
  /// A PEM file of trusted CAs for https; empty means OpenSSL's default locations.
  std::string ca_bundle_path;
  /// Host names for which https checks neither the certificate chain nor the host name, as written in
  /// the URL (an IPv6 literal without brackets), matched exactly but for ASCII case. Every other host is
  /// verified: turning verification off is always a decision about one named server, never global.
  std::vector<std::string> insecure_hosts;
  /// Idle keep-alive connections kept per scheme+host+port; more are closed once their request ends.
  std::size_t max_idle_per_origin = 8;
  /// Off: every 3xx reaches the caller as a response. On: 301, 302, 303, 307 and 308 with a Location are
  /// followed within the same timeout, dropping Authorization once the origin changes.
  bool follow_redirects = false;
  /// How many redirects one send may follow before it fails with errc::too_many_redirects.
  std::size_t max_redirects = 10;
};

namespace detail {

struct httplib_url {
  bool https = false;
  std::string host;  // lowercase; an IPv6 literal without its brackets
  int port = 0;
  std::string target;  // path and query, never empty, no fragment
  bool ipv6 = false;

  bool default_port() const noexcept { return port == (https ? 443 : 80); }
  std::string authority() const {
    std::string out = ipv6 ? "[" + host + "]" : host;
    if (!default_port()) out.append(":").append(std::to_string(port));
    return out;
  }
  // The pool key, and what error messages name: never the path, which is the caller's business.
  std::string origin() const {
    return std::string{https ? "https://" : "http://"} + (ipv6 ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
  }
};

inline transport_error httplib_url_error(std::string what) {
  return transport_error{errc::transport_error, "unusable URL: " + std::move(what)};
}

constexpr bool url_target_char(char c) noexcept {
  // The caller percent-encodes; a space or control byte would corrupt the request line, and raw
  // non-ASCII would be sent as something other than what the caller meant.
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;
}

constexpr bool url_host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/// Splits `http[s]://host[:port][/path][?query][#fragment]`. The URL itself never goes into an error
/// message: a caller may have put something private in it.
inline result<httplib_url, transport_error> parse_httplib_url(std::string_view url) {
  httplib_url out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return unexpected{httplib_url_error("no scheme")};
  const auto scheme = url.substr(0, scheme_end);
  if (iequals(scheme, "https"))
    out.https = true;
  else if (!iequals(scheme, "http"))
    return unexpected{httplib_url_error("the scheme is neither http nor https")};
  url.remove_prefix(scheme_end + 3);

  const auto authority_end = std::min(url.find_first_of("/?#"), url.size());
  std::string_view authority = url.substr(0, authority_end);
  url.remove_prefix(authority_end);
  if (authority.find('@') != std::string_view::npos)
    return unexpected{httplib_url_error("user information in URLs is not supported")};

  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return unexpected{httplib_url_error("unterminated IPv6 literal")};
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return unexpected{httplib_url_error("junk after IPv6 literal")};
    if (!rest.empty()) port = rest.substr(1);
    out.ipv6 = true;
    if (host.empty()) return unexpected{httplib_url_error("empty IPv6 literal")};
    for (char c : host) {
      const bool hex = (c >= '0' && c <= '9') || (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f');
      if (!hex && c != ':' && c != '.') return unexpected{httplib_url_error("bad character in IPv6 literal")};
    }
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (host.empty()) return unexpected{httplib_url_error("no host")};
    for (char c : host)
      if (!url_host_char(ascii_lower(c))) return unexpected{httplib_url_error("bad character in host")};
  }
  out.host.reserve(host.size());
  for (char c : host) out.host.push_back(ascii_lower(c));

  if (port.empty()) {
    out.port = out.https ? 443 : 80;
  } else {
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value < 1 || value > 65535 || port.front() == '+')
      return unexpected{httplib_url_error("bad port")};
    out.port = value;
  }

  url = url.substr(0, url.find('#'));
  for (char c : url)
    if (!url_target_char(c)) return unexpected{httplib_url_error("a space, control or non-ASCII byte in the path")};
  if (url.empty() || url.front() == '?') out.target = "/";
  out.target.append(url);
  return out;
}

/// Where a redirect's Location points, relative to the URL that answered it.
inline result<httplib_url, transport_error> resolve_httplib_location(const httplib_url& base,
                                                                     std::string_view location) {
  // Absolute when "://" comes before any path, query or fragment ("/next?to=http://x" is relative).
  const auto scheme_end = location.find("://");
  if (scheme_end != std::string_view::npos && location.find_first_of("/?#") > scheme_end)
    return parse_httplib_url(location);
  const std::string scheme = base.https ? "https:" : "http:";
  if (location.substr(0, 2) == "//") return parse_httplib_url(scheme + std::string{location});
  std::string absolute = scheme + "//" + base.authority();
  const std::string_view path = std::string_view{base.target}.substr(0, base.target.find('?'));
  if (!location.empty() && location.front() == '/') {
    absolute.append(location);
  } else if (!location.empty() && location.front() == '?') {
    absolute.append(path).append(location);
  } else {
    // A relative path replaces the last segment of the base path; dot segments are left to the server.
    absolute.append(path.substr(0, path.rfind('/') + 1)).append(location);
  }
  return parse_httplib_url(absolute);
}

// httplib inserts headers without checking them, so a CR or LF would split the request.
inline bool httplib_header_name_ok(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ':') return false;
  }
  return true;
}
inline bool httplib_header_value_ok(std::string_view value) noexcept {
  return value.find_first_of(std::string_view{"\r\n\0", 3}) == std::string_view::npos;
}

inline bool httplib_insecure_host(const httplib_transport_options& options, std::string_view host) noexcept {
  return std::any_of(options.insecure_hosts.begin(), options.insecure_hosts.end(),
                     [host](const std::string& name) { return iequals(name, host); });
}

// A hostile Content-Length must not make us allocate gigabytes before a byte of body arrives.
inline constexpr std::size_t httplib_max_reserve = std::size_t{64} << 20;
// simdjson reads up to 64 bytes past the end of a document; spare capacity lets it skip a copy.
inline constexpr std::size_t httplib_body_padding = 64;

/// Idle clients per origin. The lock guards only the idle lists, never a request in flight.
class httplib_pool {
 public:
  explicit httplib_pool(httplib_transport_options options) : options_(std::move(options)) {}

  const httplib_transport_options& options() const noexcept { return options_; }

  /// An idle client for the origin (`url.origin()`), or a new one; nullptr only when https is unavailable.
  std::unique_ptr<httplib::ClientImpl> acquire(const std::string& origin, const httplib_url& url) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = idle_.find(origin);
      if (it != idle_.end() && !it->second.empty()) {
        auto client = std::move(it->second.back());
        it->second.pop_back();
        return client;
      }
    }
    return make_client(url);
  }

  void release(const std::string& origin, std::unique_ptr<httplib::ClientImpl> client) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& idle = idle_[origin];
      if (idle.size() < options_.max_idle_per_origin) {
        idle.push_back(std::move(client));
        return;
      }
    }
    // Closing a surplus connection (a TLS shutdown, perhaps) happens here, outside the lock.
  }

  std::size_t idle_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t n = 0;
    for (const auto& entry : idle_) n += entry.second.size();
    return n;
  }

 private:
  std::unique_ptr<httplib::ClientImpl> make_client(const httplib_url& url) const {
    std::unique_ptr<httplib::ClientImpl> client;
    if (url.https) {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
      auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port);
      if (!ssl->is_valid()) return nullptr;
      if (!options_.ca_bundle_path.empty()) ssl->set_ca_cert_path(options_.ca_bundle_path);
      // With verification on, httplib checks the chain and then the host name against the certificate's
      // subjectAltName (DNS or IP), or its common name when it has none.
      ssl->enable_server_certificate_verification(!httplib_insecure_host(options_, url.host));
      client = std::move(ssl);
#else
      return nullptr;
#endif
    } else {
      client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
    }
    client->set_keep_alive(true);
    // Off by default in httplib; Nagle plus delayed ACK then costs ~40 ms per keep-alive request.
    client->set_tcp_nodelay(true);
    // The caller's path and headers go out as given: no re-encoding, no Accept-Encoding added.
    client->set_url_encode(false);
    client->set_decompress(false);
    client->set_compress(false);
    // Redirects are ours to follow (or not), so that Authorization never leaks to another origin.
    client->set_follow_location(false);
    return client;
  }

  httplib_transport_options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<httplib::ClientImpl>>> idle_;
};

inline std::string ms_text(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

/// What one failed exchange means. Timeouts show up in httplib 0.11 as Connection or Read errors too,
/// so a spent time limit is what tells a timeout from a refusal or a reset.
inline transport_error map_httplib_error(httplib::Error e, const std::string& origin,
                                         std::chrono::steady_clock::duration elapsed,
                                         std::chrono::steady_clock::duration connect_limit,
                                         std::chrono::steady_clock::duration budget, bool budget_spent,
                                         [[maybe_unused]] const httplib::ClientImpl& client) {
  using httplib::Error;
  const std::string cause = " (httplib: " + httplib::to_string(e) + ")";
  // select() does not return early, but the clocks may tick a hair apart.
  constexpr auto slack = std::chrono::milliseconds{1};
  switch (e) {
    case Error::Connection:
    case Error::ConnectionTimeout:
      if (e == Error::ConnectionTimeout || elapsed + slack >= connect_limit)
        return {errc::timeout, "connecting to " + origin + " took longer than " + ms_text(connect_limit) + cause};
      return {errc::connection_failed, "could not connect to " + origin + cause};
    case Error::Read:
    case Error::Write:
    case Error::Canceled:
      if (budget_spent)
        return {errc::timeout, "no complete response from " + origin + " within " + ms_text(budget) + cause};
      if (e == Error::Canceled) return {errc::transport_error, "the request to " + origin + " was canceled" + cause};
      if (e == Error::Write)
        return {errc::connection_reset, "the connection to " + origin + " closed while sending the request" + cause};
      return {errc::connection_reset,
              "the connection to " + origin + " closed before a whole response arrived" + cause};
    case Error::SSLConnection:
      if (budget_spent)
        return {errc::timeout,
                "the TLS handshake with " + origin + " did not finish within " + ms_text(budget) + cause};
      return {errc::tls_error, "the TLS handshake with " + origin + " failed" + cause};
    case Error::SSLLoadingCerts:
      return {errc::tls_error, "could not load the CA certificates for " + origin + cause};
    case Error::SSLServerVerification: {
      std::string detail;
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
      if (const auto* ssl = dynamic_cast<const httplib::SSLClient*>(&client)) {
        const long verify = ssl->get_openssl_verify_result();
        // Only the number: naming it would need libcrypto on the link line, which httplib's .pc omits.
        if (verify != X509_V_OK) detail = " (OpenSSL verify result " + std::to_string(verify) + ")";
      }
#endif
      return {errc::tls_error, "the certificate of " + origin + " was not accepted" + detail + cause};
    }
    case Error::ExceedRedirectCount:
      return {errc::too_many_redirects, "too many redirects from " + origin + cause};
    default:
      return {errc::transport_error, "request to " + origin + " failed" + cause};
  }
}

}  // namespace detail

/// A Transport over cpp-httplib 0.11: http and https (when httplib has OpenSSL support), keep-alive,
/// TCP_NODELAY, timeouts from each request, no redirects followed unless asked.
///
/// - https: the server's certificate chain is verified against options.ca_bundle_path (or OpenSSL's
///   default trust store) and its name against the URL's host, for every host but those listed in
///   options.insecure_hosts. A refused certificate or a failed handshake is errc::tls_error.
/// - URL: `http[s]://host[:port][/path][?query]`, already percent-encoded; `#fragment` is dropped. A URL
///   it cannot use (another scheme, user information, a bad port, spaces or non-ASCII bytes) is
///   errc::transport_error: nothing was sent, and the concept allows transport codes only.
/// - Headers: exactly the request's, plus what httplib adds when they are missing: Host, Content-Length
///   (bodies, and POST/PUT without one), `Accept: */*`, `User-Agent: cpp-httplib/<version>`, and
///   `Content-Type: text/plain` on a body without a Content-Type. A header with a CR, LF or NUL in
///   its value, or a name that is not an HTTP token, is refused with errc::transport_error.
/// - Timeout: `request.timeout` (or options.default_timeout, when zero or negative) is one budget for
///   the whole send, redirects included. Connecting gets at most options.connect_timeout of it; every
///   wait for the socket gets what is left; the body is abandoned as soon as the budget is spent. One
///   gap: httplib 0.11 has no hook while it reads the status line and headers, so a server that
///   trickles those a byte at a time, each within the budget, can hold a send past it.
/// - Response headers keep the names and values as received, sorted by name (httplib keeps no other
///   order); httplib 0.11 drops a header whose value is empty. The body has at least 64 bytes of spare
///   capacity, for simdjson.
/// - A pooled connection is checked by httplib before reuse and replaced if the server closed it; a
///   request that fails on a connection anyway is not retried, as it may have been applied.
///
/// Thread safety: send() may be called from any number of threads at once on one transport (or on
/// copies of it, which share the connection pool); each call has a connection to itself, taken from
/// the pool or newly made, and a lock is held only to take or return one. A moved-from transport may
/// only be assigned to or destroyed.
class httplib_transport {
 public:
  httplib_transport() : httplib_transport(httplib_transport_options{}) {}
  explicit httplib_transport(httplib_transport_options options)
      : pool_(std::make_shared<detail::httplib_pool>(std::move(options))) {}

  result<http_response, transport_error> send(const http_request& request) {
#if APIKEYS_HAS_EXCEPTIONS
    try {
      return send_checked(request);
    } catch (const std::bad_alloc&) {
      return unexpected{transport_error{errc::transport_error, "out of memory in the HTTP transport"}};
    } catch (...) {
      // Whatever it says might quote the request, so only the fact travels.
      return unexpected{transport_error{errc::transport_error, "httplib threw an exception"}};
    }
#else
    return send_checked(request);
#endif
  }

  const httplib_transport_options& options() const noexcept { return pool_->options(); }

  /// Keep-alive connections waiting in the pool right now, over all origins.
  std::size_t idle_connections() const { return pool_->idle_count(); }

 private:
  using clock = std::chrono::steady_clock;

  struct hop {
    http_method method;
    std::string_view body;
    bool strip_authorization;
  };

  result<http_response, transport_error> send_checked(const http_request& request) {
    const auto start = clock::now();
    const auto budget = std::chrono::duration_cast<clock::duration>(
        request.timeout > std::chrono::milliseconds::zero() ? request.timeout : options().default_timeout);
    const auto deadline = start + budget;

    auto url = detail::parse_httplib_url(request.url);
    if (!url) return unexpected{std::move(url).error()};
    for (const auto& h : request.headers) {
      // The value may be a credential, so it is never quoted; a name is, once it is known to be sane.
      if (!detail::httplib_header_name_ok(h.name))
        return unexpected{transport_error{errc::transport_error, "a header name is not an HTTP token"}};
      if (!detail::httplib_header_value_ok(h.value))
        return unexpected{transport_error{errc::transport_error,
                                          "the value of header '" + h.name + "' holds a CR, LF or NUL"}};
    }

    hop current{request.method, request.body, false};
    for (std::size_t redirects = 0;; ++redirects) {
      auto response = exchange(*url, current, request.headers, budget, deadline);
      if (!response || !options().follow_redirects) return response;
      const int status = response->status;
      if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) return response;
      const std::string* location = find_header(response->headers, "Location");
      if (location == nullptr) return response;
      if (redirects == options().max_redirects)
        return unexpected{transport_error{errc::too_many_redirects, "gave up after " + std::to_string(redirects) +
                                                                        " redirects, the last from " + url->origin()}};
      auto next = detail::resolve_httplib_location(*url, *location);
      if (!next) return unexpected{transport_error{errc::transport_error, "redirect to an " + next.error().message}};
      if (next->origin() != url->origin()) current.strip_authorization = true;
      // As browsers do: 303 turns anything but GET into a bodiless GET, 301 and 302 do so for POST.
      if ((status == 303 && current.method != http_method::get) ||
          ((status == 301 || status == 302) && current.method == http_method::post)) {
        current.method = http_method::get;
        current.body = {};
      }
      url = std::move(next);
    }
  }

  result<http_response, transport_error> exchange(const detail::httplib_url& url, const hop& current,
                                                  const std::vector<http_header>& headers,
                                                  clock::duration budget, clock::time_point deadline) {
    const auto hop_start = clock::now();
    if (hop_start >= deadline)
      return unexpected{transport_error{errc::timeout, "no complete response within " + detail::ms_text(budget)}};
    const auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(deadline - hop_start);
    const auto connect_limit =
        std::min(remaining, std::chrono::duration_cast<std::chrono::microseconds>(options().connect_timeout));

    const std::string origin = url.origin();
    auto client = pool_->acquire(origin, url);
    if (!client)
      return unexpected{transport_error{errc::tls_error, "no TLS support for " + origin +
                                                             " (httplib built without OpenSSL, or no TLS context)"}};
    client->set_connection_timeout(connect_limit);
    client->set_read_timeout(remaining);
    client->set_write_timeout(remaining);

    httplib::Request req;
    req.method = std::string{to_string(current.method)};
    req.path = url.target;
    for (const auto& h : headers) {
      if (current.strip_authorization &&
          (detail::iequals(h.name, "Authorization") || detail::iequals(h.name, "Proxy-Authorization")))
        continue;
      req.headers.emplace(h.name, h.value);
    }
    // httplib would write an IPv6 Host without brackets.
    if (url.ipv6 && find_header(headers, "Host") == nullptr) req.headers.emplace("Host", url.authority());
    req.body.assign(current.body.data(), current.body.size());

    httplib::Response res;
    req.response_handler = [&res](const httplib::Response& head) {
      const std::string length = head.get_header_value("Content-Length");
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
      if (ec == std::errc{} && end == length.data() + length.size())
        res.body.reserve(std::min(n, detail::httplib_max_reserve) + detail::httplib_body_padding);
      return true;
    };
    req.progress = [deadline](std::uint64_t done, std::uint64_t total) {
      return clock::now() < deadline || (total != 0 && done >= total);
    };

    httplib::Error error = httplib::Error::Success;
    const bool ok = client->send(req, res, error);
    if (!ok || error != httplib::Error::Success) {
      const auto now = clock::now();
      return unexpected{detail::map_httplib_error(error, origin, now - hop_start, connect_limit, budget,
                                                  now + std::chrono::milliseconds{1} >= deadline, *client)};
    }
    pool_->release(origin, std::move(client));

    http_response out;
    out.status = res.status;
    out.headers.reserve(res.headers.size());
    while (!res.headers.empty()) {
      auto node = res.headers.extract(res.headers.begin());
      out.headers.push_back(http_header{std::move(node.key()), std::move(node.mapped())});
    }
    out.body = std::move(res.body);
    if (out.body.capacity() < out.body.size() + detail::httplib_body_padding)
      out.body.reserve(out.body.size() + detail::httplib_body_padding);
    return out;
  }

  std::shared_ptr<detail::httplib_pool> pool_;
};

static_assert(transport<httplib_transport>);

}  // namespace apikeys

#endif  // APIKEYS_TRANSPORT_HTTPLIB_HPP
