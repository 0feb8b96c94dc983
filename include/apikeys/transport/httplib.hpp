// apikeys::httplib_transport: a Transport over cpp-httplib with pooled keep-alive connections.
#ifndef APIKEYS_TRANSPORT_HTTPLIB_HPP
#define APIKEYS_TRANSPORT_HTTPLIB_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <httplib.h>

#include "../error.hpp"
#include "../http.hpp"
#include "../result.hpp"
#include "../transport.hpp"
#include "../version.hpp"
#include "detail/adapter_common.hpp"

namespace APIKEYS_NAMESPACE {

/// How an httplib_transport connects; the class comment below says what each setting does to a send.
struct httplib_transport_options {
  std::chrono::milliseconds default_timeout{60'000};  ///< for a request whose `timeout` is zero or less
  std::chrono::milliseconds connect_timeout{10'000};  ///< and never more than the request's own budget
  std::string ca_bundle_path;                         ///< trusted CAs (PEM); empty: OpenSSL's default store
  /// Hosts, exactly as in the URL but for ASCII case (an IPv6 literal without brackets), whose
  /// certificate and name https does NOT check; never a global switch.
  std::vector<std::string> insecure_hosts;
  std::size_t max_idle_per_origin = 8;  ///< idle keep-alive connections kept per scheme+host+port
  bool follow_redirects = true;         ///< as browsers and .NET's HttpClient; off: every 3xx reaches the caller
  std::size_t max_redirects = 5;        ///< followed in one send; one more 3xx is errc::too_many_redirects
  /// Told of each connection (connect and tls_handshake, or connection_reused, at trace: whether the pooled
  /// client's socket was open when the request began, which is what cpp-httplib's public API shows) and each
  /// followed redirect (debug); off by default.
  log_sink logger{};
};

namespace detail {

// cpp-httplib renamed or reshaped a few public members between 0.11 and 0.53. Each helper uses whichever
// the included release has (a requires-expression needs a template to fail softly), so one adapter builds
// against every supported release without a version table.

/// The request target goes out as given: apikeys builds it already encoded.
// Whether the client holds an open connection (ClientImpl::is_socket_open, public in every supported release).
template <class Client>
bool httplib_socket_open(const Client& client) {
  if constexpr (requires { client.is_socket_open(); }) {
    return client.is_socket_open() != 0;
  } else {
    return false;
  }
}

template <class Client>
void send_target_verbatim(Client& client) {
  if constexpr (requires { client.set_path_encode(false); })
    client.set_path_encode(false);
  else
    client.set_url_encode(false);
}

/// Sets the callback httplib asks, as the answer arrives, whether to go on reading.
template <class Request, class Progress>
void set_download_progress(Request& req, Progress progress) {
  if constexpr (requires { req.download_progress = progress; })
    req.download_progress = std::move(progress);
  else
    req.progress = std::move(progress);
}

/// Moves every response header into `out`, in httplib's order.
template <class Headers>
void take_headers(Headers& from, std::vector<http_header>& out) {
  out.reserve(from.size());
  if constexpr (requires { from.extract(from.begin()); }) {
    // A std::multimap-like container: extracting moves the names too.
    while (!from.empty()) {
      auto node = from.extract(from.begin());
      out.push_back(http_header{std::move(node.key()), std::move(node.mapped())});
    }
  } else {
    for (auto& [name, value] : from) out.push_back(http_header{std::move(name), std::move(value)});
    from.clear();
  }
}

// Error values later releases added (0.11 has none of them); false where the release lacks the value.
template <class E = httplib::Error>
constexpr bool is_hostname_refusal(E e) {
  if constexpr (requires { E::SSLServerHostnameVerification; })
    return e == E::SSLServerHostnameVerification;
  else
    return false;
}
template <class E = httplib::Error>
constexpr bool is_read_timeout(E e) {
  if constexpr (requires { E::Timeout; })
    return e == E::Timeout;
  else
    return false;
}
template <class E = httplib::Error>
constexpr bool is_connection_closed(E e) {
  if constexpr (requires { E::ConnectionClosed; })
    return e == E::ConnectionClosed;
  else
    return false;
}

/// OpenSSL's verification result for a refused certificate, where the release exposes it (0.11 does).
template <class Client>
long openssl_verify_result([[maybe_unused]] const Client& client) {
  if constexpr (requires { client.get_openssl_verify_result(); })
    return client.get_openssl_verify_result();
  else
    return 0;  // X509_V_OK: nothing to add
}

struct httplib_url : http_endpoint {
  std::string target;  // path and query, never empty, no fragment

  std::string authority() const {
    return default_port() ? bracketed_host() : bracketed_host() + ":" + std::to_string(port);
  }
};

constexpr bool url_host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/// Splits `http[s]://host[:port][/path][?query][#fragment]`; the URL is never quoted in an error.
inline result<httplib_url, transport_error> parse_httplib_url(std::string_view url) {
  auto head = split_url_head(url);
  if (!head) return unexpected{std::move(head).error()};
  httplib_url out;
  out.https = head->https;
  const std::string_view authority = head->authority;

  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return unexpected{url_error("unterminated IPv6 literal")};
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return unexpected{url_error("junk after IPv6 literal")};
    if (!rest.empty()) port = rest.substr(1);
    out.ipv6 = true;
    if (host.empty()) return unexpected{url_error("empty IPv6 literal")};
    for (char c : host) {
      const bool hex = (c >= '0' && c <= '9') || (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f');
      if (!hex && c != ':' && c != '.') return unexpected{url_error("bad character in IPv6 literal")};
    }
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (host.empty()) return unexpected{url_error("no host")};
    for (char c : host)
      if (!url_host_char(ascii_lower(c))) return unexpected{url_error("bad character in host")};
  }
  out.host = ascii_lowercase(host);
  out.port = port.empty() ? (out.https ? 443 : 80) : parse_port(port);
  if (out.port == 0) return unexpected{url_error("bad port")};

  const std::string_view path = head->rest.substr(0, head->rest.find('#'));
  if (!std::all_of(path.begin(), path.end(), url_byte_ok))
    return unexpected{url_error("a space, control or non-ASCII byte in the path")};
  if (path.empty() || path.front() == '?') out.target = "/";
  out.target.append(path);
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

inline bool httplib_insecure_host(const httplib_transport_options& options, std::string_view host) noexcept {
  return host_listed(options.insecure_hosts, host);
}

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
    send_target_verbatim(*client);
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
        return connect_timeout_error(origin, connect_limit, cause);
      return connect_failed_error(origin, cause);
    case Error::Read:
    case Error::Write:
    case Error::Canceled:
      if (budget_spent) return response_timeout_error(origin, budget, cause);
      if (e == Error::Canceled) return {errc::transport_error, "the request to " + origin + " was canceled" + cause};
      if (e == Error::Write) return closed_while_sending_error(origin, cause);
      return closed_before_response_error(origin, cause);
    case Error::SSLConnection:
      if (budget_spent)
        return {errc::timeout,
                "the TLS handshake with " + origin + " did not finish within " + ms_text(budget) + cause};
      return tls_handshake_error(origin, cause);
    case Error::SSLLoadingCerts:
      return ca_load_error(origin, cause);
    case Error::SSLServerVerification: {
      std::string detail;
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
      if (const auto* ssl = dynamic_cast<const httplib::SSLClient*>(&client)) {
        const long verify = openssl_verify_result(*ssl);
        // Only the number: naming it would need libcrypto on the link line, which httplib's .pc omits.
        if (verify != X509_V_OK) detail = " (OpenSSL verify result " + std::to_string(verify) + ")";
      }
#endif
      return certificate_refused_error(origin, detail + cause);
    }
    case Error::ExceedRedirectCount:
      return too_many_redirects_error(origin, cause);
    default:
      // The certificate is valid but names another host (later releases tell this apart).
      if (is_hostname_refusal(e)) return certificate_refused_error(origin, cause);
      if (is_read_timeout(e) || (budget_spent && is_connection_closed(e)))
        return response_timeout_error(origin, budget, cause);
      if (is_connection_closed(e)) return closed_before_response_error(origin, cause);
      return request_failed_error(origin, cause);
  }
}

}  // namespace detail

/// A Transport over cpp-httplib 0.11: http and https (when httplib has OpenSSL support), keep-alive,
/// TCP_NODELAY, timeouts from each request, redirects followed as browsers follow them.
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
/// - Redirects (options.follow_redirects, on by default): a 301, 302, 303, 307 or 308 with a Location is
///   followed, up to options.max_redirects (5) times, and one more is errc::too_many_redirects; a redirect
///   from https to http is never followed, it is errc::tls_error; Authorization, Proxy-Authorization and
///   Cookie stay behind once the origin (scheme, host, port) changes, and 303 (or 301 and 302 after a
///   POST) becomes a GET without a body; 307 and 308 keep the method and the body. Each hop connects
///   (and verifies, or not, per options.insecure_hosts) for its own host. With following off, every 3xx
///   reaches the caller as a response.
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
    return detail::send_without_throwing("httplib threw an exception", [&] { return send_checked(request); });
  }

  const httplib_transport_options& options() const noexcept { return pool_->options(); }

  /// Keep-alive connections waiting in the pool right now, over all origins.
  std::size_t idle_connections() const { return pool_->idle_count(); }

 private:
  using clock = std::chrono::steady_clock;

  result<http_response, transport_error> send_checked(const http_request& request) {
    const auto budget = detail::request_budget(request, options().default_timeout);
    const auto deadline = clock::now() + budget;

    auto url = detail::parse_httplib_url(request.url);
    if (!url) return unexpected{std::move(url).error()};
    // httplib inserts headers without checking them, so a CR or LF would split the request.
    if (auto refused = detail::check_headers(request.headers)) return unexpected{std::move(*refused)};

    detail::redirect_hop current{request.method, request.body};
    for (std::size_t redirects = 0;; ++redirects) {
      auto response = exchange(*url, current, request.headers, budget, deadline);
      if (!response || !options().follow_redirects) return response;
      const int status = response->status;
      if (!detail::followed_redirect_status(status)) return response;
      const std::string* location = find_header(response->headers, "Location");
      if (location == nullptr) return response;
      if (redirects == options().max_redirects)
        return unexpected{detail::redirects_exhausted_error(redirects, url->origin())};
      auto next = detail::resolve_httplib_location(*url, *location);
      if (!next) return unexpected{detail::bad_redirect_error(next.error())};
      if (auto refused = current.follow(*url, *next, status)) return unexpected{std::move(*refused)};
      if (options().logger.enabled(log_level::debug)) [[unlikely]]
        detail::note_redirect(options().logger, current, *next, next->target, status);
      url = std::move(next);
    }
  }

  result<http_response, transport_error> exchange(const detail::httplib_url& url, const detail::redirect_hop& current,
                                                  const std::vector<http_header>& headers,
                                                  clock::duration budget, clock::time_point deadline) {
    const auto hop_start = clock::now();
    if (hop_start >= deadline) return unexpected{detail::budget_spent_error(budget)};
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
      if (current.cross_origin &&
          (detail::iequals(h.name, "Authorization") || detail::iequals(h.name, "Proxy-Authorization") ||
           detail::iequals(h.name, "Cookie")))
        continue;
      req.headers.emplace(h.name, h.value);
    }
    // httplib would write an IPv6 Host without brackets.
    if (url.ipv6 && find_header(headers, "Host") == nullptr) req.headers.emplace("Host", url.authority());
    req.body.assign(current.body.data(), current.body.size());

    httplib::Response res;
    req.response_handler = [&res](const httplib::Response& head) {
      detail::reserve_for_content_length(res.body, head.get_header_value("Content-Length"));
      return true;
    };
    detail::set_download_progress(req, [deadline](std::uint64_t done, std::uint64_t total) {
      return clock::now() < deadline || (total != 0 && done >= total);
    });

    // Open before the send: httplib reuses the connection (it reconnects, unseen, if the server closed it).
    const bool was_open = options().logger.enabled(log_level::trace) && detail::httplib_socket_open(*client);
    httplib::Error error = httplib::Error::Success;
    const bool ok = client->send(req, res, error);
    if (!ok || error != httplib::Error::Success) {
      const auto now = clock::now();
      return unexpected{detail::map_httplib_error(error, origin, now - hop_start, connect_limit, budget,
                                                  now + std::chrono::milliseconds{1} >= deadline, *client)};
    }
    pool_->release(origin, std::move(client));
    if (options().logger.enabled(log_level::trace)) [[unlikely]] detail::note_connection(options().logger, url, !was_open);

    http_response out;
    out.status = res.status;
    detail::take_headers(res.headers, out.headers);
    out.body = std::move(res.body);
    detail::ensure_body_padding(out.body);
    return out;
  }

  std::shared_ptr<detail::httplib_pool> pool_;
};

static_assert(transport<httplib_transport>);

}  // namespace apikeys

#endif  // APIKEYS_TRANSPORT_HTTPLIB_HPP
