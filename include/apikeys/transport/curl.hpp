// apikeys::curl_transport: a Transport over libcurl's easy interface with a pool of reused keep-alive handles.
#ifndef APIKEYS_TRANSPORT_CURL_HPP
#define APIKEYS_TRANSPORT_CURL_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include "../error.hpp"
#include "../http.hpp"
#include "../result.hpp"
#include "../transport.hpp"
#include "../version.hpp"
#include "detail/adapter_common.hpp"

namespace APIKEYS_NAMESPACE {

/// How a curl_transport connects; the class comment below says what each setting does to a send.
struct curl_transport_options {
  std::chrono::milliseconds default_timeout{60'000};  ///< for a request whose `timeout` is zero or less
  std::chrono::milliseconds connect_timeout{10'000};  ///< and never more than the request's own budget
  std::string ca_bundle_path;                         ///< trusted CAs (PEM); empty: libcurl's default store
  /// Hosts, exactly as in the URL but for ASCII case (an IPv6 literal with or without brackets), whose
  /// certificate and name https does NOT check; never a global switch.
  std::vector<std::string> insecure_hosts;
  std::size_t max_idle_handles = 8;     ///< easy handles kept for reuse, each with its own connections
  bool follow_redirects = true;         ///< as browsers and .NET's HttpClient; off: every 3xx reaches the caller
  std::size_t max_redirects = 5;        ///< followed in one send; one more 3xx is errc::too_many_redirects
  bool use_environment_proxy = false;   ///< off: http_proxy, https_proxy and ALL_PROXY are ignored
  /// Told of each connection (connect, tls_handshake or connection_reused, at trace, from libcurl's
  /// CURLINFO_NUM_CONNECTS after each hop) and each followed redirect (debug); off by default.
  log_sink logger{};
};

namespace detail {

/// libcurl's global state, set up once before the first handle. curl_global_init is not thread-safe in
/// older libcurl; a function-local static makes it happen exactly once, whichever thread comes first.
/// curl_global_cleanup is never called: another part of the program (or another library) may still use
/// libcurl, there is no safe moment to tear OpenSSL down under it, and the OS reclaims it at exit anyway.
inline CURLcode curl_global_state() noexcept {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  return code;
}

struct curl_url_deleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};
struct curl_free_deleter {
  void operator()(char* p) const noexcept { curl_free(p); }
};
using curl_string = std::unique_ptr<char, curl_free_deleter>;

inline curl_string curl_url_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* out = nullptr;
  if (curl_url_get(url, part, &out, flags) != CURLUE_OK) return curl_string{};
  return curl_string{out};
}

/// Checks `http[s]://host[:port][/path][?query][#fragment]` with libcurl's own parser (so what is checked
/// is what is sent) plus the rules httplib_transport applies. The URL never goes into the message.
inline result<http_endpoint, transport_error> parse_curl_url(std::string_view url) {
  if (!std::all_of(url.begin(), url.end(), url_byte_ok))
    return unexpected{url_error("a space, control or non-ASCII byte")};
  const auto head = split_url_head(url);
  if (!head) return unexpected{head.error()};
  http_endpoint out;
  out.https = head->https;

  std::unique_ptr<CURLU, curl_url_deleter> handle{curl_url()};
  if (!handle) return unexpected{out_of_memory_error()};
  const std::string text{url};
  if (curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK)
    return unexpected{url_error("libcurl cannot parse it")};
  const auto host = curl_url_part(handle.get(), CURLUPART_HOST);
  const auto port = curl_url_part(handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!host || !port) return unexpected{url_error("no host")};
  std::string_view h{host.get()};
  if (!h.empty() && h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return unexpected{url_error("bad IPv6 literal")};
    h = h.substr(1, h.size() - 2);
    out.ipv6 = true;
  }
  if (h.empty()) return unexpected{url_error("no host")};
  out.host = ascii_lowercase(h);
  out.port = parse_port(port.get());
  if (out.port == 0) return unexpected{url_error("bad port")};
  return out;
}


struct curl_easy_deleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
using curl_easy_ptr = std::unique_ptr<CURL, curl_easy_deleter>;

struct curl_slist_deleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using curl_slist_ptr = std::unique_ptr<curl_slist, curl_slist_deleter>;

/// Idle easy handles, each with its own connection cache. The lock guards only the list, never a transfer.
/// No CURLSH connection share: libcurl documents it as unsafe between concurrently running threads.
class curl_pool {
 public:
  explicit curl_pool(curl_transport_options options) : options_(std::move(options)) {}

  const curl_transport_options& options() const noexcept { return options_; }

  /// The most recently used idle handle (its connections are the likeliest still open), or a new one;
  /// nullptr when libcurl cannot make one.
  curl_easy_ptr acquire() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!idle_.empty()) {
        auto handle = std::move(idle_.back());
        idle_.pop_back();
        return handle;
      }
    }
    return curl_easy_ptr{curl_easy_init()};
  }

  void release(curl_easy_ptr handle) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (idle_.size() < options_.max_idle_handles) {
        idle_.push_back(std::move(handle));
        return;
      }
    }
    // A surplus handle closes its connections here, outside the lock.
  }

  std::size_t idle_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return idle_.size();
  }

 private:
  curl_transport_options options_;
  mutable std::mutex mutex_;
  std::vector<curl_easy_ptr> idle_;
};

/// Takes a handle from the pool and gives it back whatever happens, even when an exception unwinds.
class curl_lease {
 public:
  explicit curl_lease(curl_pool& pool) : pool_(pool), handle_(pool.acquire()) {}
  curl_lease(const curl_lease&) = delete;
  curl_lease& operator=(const curl_lease&) = delete;
  ~curl_lease() {
    if (handle_) pool_.release(std::move(handle_));
  }
  CURL* get() const noexcept { return handle_.get(); }

 private:
  curl_pool& pool_;
  curl_easy_ptr handle_;
};

/// What one transfer collects; the callbacks run inside curl_easy_perform, on the calling thread.
struct curl_exchange_state {
  std::vector<http_header> headers;
  std::string body;
  bool head_done = false;   // the blank line after the current response's head has arrived
  bool out_of_memory = false;
  bool connected = false;   // a connection was ready before the request went out

  void add_header_line(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new response head (after a 1xx): only the final response's headers count.
      headers.clear();
      head_done = false;
      return;
    }
    if (head_done) return;  // trailers after a chunked body are not headers of the response
    if (line.empty()) {
      head_done = true;
      return;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      // An obsolete folded continuation line belongs to the previous header's value.
      if (headers.empty()) return;
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      headers.back().value.append(" ").append(line);
      return;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    const std::string_view name = line.substr(0, colon);
    if (iequals(name, "Content-Length")) reserve_for_content_length(body, value);
    headers.push_back(http_header{std::string{name}, std::string{value}});
  }

  // libcurl is C: an exception must not unwind through it, so a failed allocation aborts the transfer.
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self) noexcept {
    auto& state = *static_cast<curl_exchange_state*>(self);
    const std::size_t n = size * count;
#if APIKEYS_HAS_EXCEPTIONS
    try {
      state.add_header_line(std::string_view{data, n});
    } catch (...) {
      state.out_of_memory = true;
      return 0;
    }
#else
    state.add_header_line(std::string_view{data, n});
#endif
    return n;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self) noexcept {
    auto& state = *static_cast<curl_exchange_state*>(self);
    const std::size_t n = size * count;
#if APIKEYS_HAS_EXCEPTIONS
    try {
      state.body.append(data, n);
    } catch (...) {
      state.out_of_memory = true;
      return 0;
    }
#else
    state.body.append(data, n);
#endif
    return n;
  }

#if LIBCURL_VERSION_NUM >= 0x075000
  static int on_connected(void* self, char*, char*, int, int) noexcept {
    static_cast<curl_exchange_state*>(self)->connected = true;
    return CURL_PREREQFUNC_OK;
  }
#endif
};

/// What one failed transfer means. libcurl's error buffer is quoted only where it speaks of the host, the
/// connection or the certificate; elsewhere its generic text is enough and cannot echo anything private.
inline transport_error map_curl_error(CURLcode code, const char* error_buffer, const std::string& origin,
                                      bool connected, std::chrono::steady_clock::duration connect_limit,
                                      std::chrono::steady_clock::duration budget, bool out_of_memory) {
  const std::string generic = std::string{" (curl: "} + curl_easy_strerror(code) + ")";
  const std::string detailed =
      error_buffer != nullptr && *error_buffer != '\0' ? std::string{" (curl: "} + error_buffer + ")" : generic;
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return connect_failed_error(origin, detailed);
    case CURLE_OPERATION_TIMEDOUT:
      if (!connected) return connect_timeout_error(origin, connect_limit, detailed);
      return response_timeout_error(origin, budget, generic);
    case CURLE_SEND_ERROR:
      return closed_while_sending_error(origin, generic);
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return closed_before_response_error(origin, generic);
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
      return ca_load_error(origin, detailed);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ISSUER_ERROR:
      return certificate_refused_error(origin, detailed);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
#if LIBCURL_VERSION_NUM >= 0x074700
    case CURLE_SSL_CLIENTCERT:
#endif
      return tls_handshake_error(origin, detailed);
    case CURLE_TOO_MANY_REDIRECTS:
      return too_many_redirects_error(origin, generic);
    case CURLE_OUT_OF_MEMORY:
      return out_of_memory_error(generic);
    case CURLE_WRITE_ERROR:
      if (out_of_memory) return out_of_memory_error();
      [[fallthrough]];
    default:
      return request_failed_error(origin, generic);
  }
}

}  // namespace detail

/// A Transport over libcurl (7.68 or later): http and https, HTTP/1.1, a pool of reused easy handles and
/// their keep-alive connections, timeouts from each request, redirects followed as browsers follow them.
///
/// - URL: `http[s]://host[:port][/path][?query]`, already percent-encoded; `#fragment` is not sent. A URL
///   it cannot use (another scheme, user information, a bad port, spaces or non-ASCII bytes) is
///   errc::transport_error: nothing was sent, and the concept allows transport codes only. Only http and
///   https are enabled in libcurl, and no proxy is used unless options.use_environment_proxy is set.
/// - Headers: exactly the request's, plus Host and Content-Length (a body, and POST/PUT without one).
///   libcurl's own `Accept: */*`, `Expect: 100-continue` and form Content-Type are suppressed when the
///   request has none of its own, and no User-Agent is sent unless the request has one. A header with a
///   CR, LF or NUL in its value, or a name that is not an HTTP token, is refused with errc::transport_error.
/// - Timeout: `request.timeout` (or options.default_timeout, when zero or negative) is one budget for the
///   whole send, redirects included; connecting gets at most options.connect_timeout of it.
/// - Response headers keep the names, values (without surrounding blanks) and order as received, an empty
///   value included; with redirects followed, only the final response's. The body has at least 64 bytes
///   of spare capacity, for simdjson.
/// - Redirects (options.follow_redirects, on by default): a 301, 302, 303, 307 or 308 with a Location is
///   followed, up to options.max_redirects (5) times, and one more is errc::too_many_redirects; a redirect
///   from https to http is never followed, it is errc::tls_error; Authorization, Proxy-Authorization and
///   Cookie stay behind once the origin (scheme, host, port) changes, and 303 (or 301 and 302 after a
///   POST) becomes a GET without a body; 307 and 308 keep the method and the body. With following off,
///   every 3xx reaches the caller as a response.
/// - https: the peer's chain and host name are verified (against options.ca_bundle_path when set), except
///   for hosts listed in options.insecure_hosts. Redirects are followed by the transport itself, hop by
///   hop, so that each hop gets the verification its own host calls for.
/// - libcurl checks a pooled connection before reuse; when a reused connection dies before any byte of
///   the response arrives, libcurl itself sends the request once more on a new connection.
///
/// Thread safety: send() may be called from any number of threads at once on one transport (or on
/// copies of it, which share the handle pool); each call has an easy handle to itself, taken from the
/// pool or newly made, and a lock is held only to take or return one. A moved-from transport may only
/// be assigned to or destroyed.
class curl_transport {
 public:
  explicit curl_transport(curl_transport_options options = {})
      : pool_(std::make_shared<detail::curl_pool>(std::move(options))) {}

  result<http_response, transport_error> send(const http_request& request) {
    return detail::send_without_throwing("the libcurl transport threw an exception",
                                         [&] { return send_checked(request); });
  }

  const curl_transport_options& options() const noexcept { return pool_->options(); }

  /// Easy handles waiting in the pool right now.
  std::size_t idle_handles() const { return pool_->idle_count(); }

 private:
  using clock = std::chrono::steady_clock;

  result<http_response, transport_error> send_checked(const http_request& request) {
    const auto budget = detail::request_budget(request, options().default_timeout);
    const auto deadline = clock::now() + budget;

    if (detail::curl_global_state() != CURLE_OK)
      return unexpected{transport_error{errc::transport_error, "libcurl could not be initialised"}};
    auto url = detail::parse_curl_url(request.url);
    if (!url) return unexpected{std::move(url).error()};
    if (auto refused = detail::check_headers(request.headers))
      return unexpected{std::move(*refused)};

    detail::curl_lease lease(*pool_);
    if (lease.get() == nullptr)
      return unexpected{transport_error{errc::transport_error, "libcurl could not create an easy handle"}};

    std::string target = request.url;
    detail::redirect_hop current{request.method, request.body};
    for (std::size_t redirects = 0;; ++redirects) {
      std::string next_url;
      auto response = exchange(lease.get(), target, *url, current, request.headers, budget, deadline, next_url);
      if (!response || !options().follow_redirects) return response;
      const int status = response->status;
      if (!detail::followed_redirect_status(status)) return response;
      if (next_url.empty()) return response;  // no Location
      if (redirects == options().max_redirects)
        return unexpected{detail::redirects_exhausted_error(redirects, url->origin())};
      auto next = detail::parse_curl_url(next_url);
      if (!next) return unexpected{detail::bad_redirect_error(next.error())};
      if (auto refused = current.follow(*url, *next, status)) return unexpected{std::move(*refused)};
      detail::note_redirect(options().logger, current, *next, next_url, status);
      url = std::move(next);
      target = std::move(next_url);
    }
  }

  // One request and its response on `handle`; `next_url` gets where a 3xx with a Location points.
  result<http_response, transport_error> exchange(CURL* handle, const std::string& target,
                                                  const detail::http_endpoint& url, const detail::redirect_hop& current,
                                                  const std::vector<http_header>& headers, clock::duration budget,
                                                  clock::time_point deadline, std::string& next_url) {
    const auto hop_start = clock::now();
    if (hop_start >= deadline)
      return unexpected{detail::budget_spent_error(budget)};
    // Rounded up: libcurl reads 0 as "no limit".
    const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - hop_start);
    const auto connect_limit = options().connect_timeout > std::chrono::milliseconds::zero()
                                   ? std::min(remaining, options().connect_timeout)
                                   : remaining;
    const std::string origin = url.origin();

    // Back to defaults, so nothing of a previous request carries over; live connections are kept.
    curl_easy_reset(handle);

    // The header list: the request's own, then blanks for what libcurl would otherwise add by itself.
    detail::curl_slist_ptr list;
    const auto append = [&list](const std::string& line) {
      curl_slist* grown = curl_slist_append(list.get(), line.c_str());
      if (grown == nullptr) return false;
      (void)list.release();
      list.reset(grown);
      return true;
    };
    bool has_accept = false;
    bool has_expect = false;
    bool has_content_type = false;
    for (const auto& h : headers) {
      if (current.cross_origin &&
          (detail::iequals(h.name, "Authorization") || detail::iequals(h.name, "Proxy-Authorization") ||
           detail::iequals(h.name, "Cookie")))
        continue;
      has_accept = has_accept || detail::iequals(h.name, "Accept");
      has_expect = has_expect || detail::iequals(h.name, "Expect");
      has_content_type = has_content_type || detail::iequals(h.name, "Content-Type");
      // "Name:" would tell libcurl to drop its own header of that name; "Name;" sends an empty value.
      if (!append(h.value.empty() ? h.name + ";" : h.name + ": " + h.value)) return out_of_memory();
    }
    if (!has_accept && !append("Accept:")) return out_of_memory();
    if (!has_expect && !append("Expect:")) return out_of_memory();
    if (!has_content_type && !append("Content-Type:")) return out_of_memory();

    detail::curl_exchange_state state;
    char error_buffer[CURL_ERROR_SIZE] = {};
    // The handle points at the buffer, state and list above; it forgets them before they go, since even
    // an idle handle may report an error while closing a connection.
    struct forget_guard {
      CURL* handle;
      ~forget_guard() { curl_easy_reset(handle); }
    } forget{handle};
    bool ok = true;
    const auto set = [&ok](CURLcode c) { ok = ok && c == CURLE_OK; };

    set(curl_easy_setopt(handle, CURLOPT_URL, target.c_str()));
    set(curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer));
#if LIBCURL_VERSION_NUM >= 0x075500
    set(curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https"));
    set(curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
#else
    set(curl_easy_setopt(handle, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
    set(curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS)));
#endif
    // HTTP/2 would lowercase every header name, and the wire is meant to carry the request as written.
    set(curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
    set(curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L));
    if (!options().use_environment_proxy) set(curl_easy_setopt(handle, CURLOPT_PROXY, ""));
    set(curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count())));
    set(curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_limit.count())));
    set(curl_easy_setopt(handle, CURLOPT_TCP_NODELAY, 1L));

    const bool verify = !detail::host_listed(options().insecure_hosts, url.host);
    set(curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L));
    set(curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L));
    if (!options().ca_bundle_path.empty()) {
      // Only the bundle: the system's directory of CAs would otherwise be trusted beside it.
      set(curl_easy_setopt(handle, CURLOPT_CAINFO, options().ca_bundle_path.c_str()));
      set(curl_easy_setopt(handle, CURLOPT_CAPATH, static_cast<const char*>(nullptr)));
    }

    // A body goes out from the request's own buffer. GET and DELETE without one send no Content-Length;
    // POST and PUT without one send Content-Length: 0, as httplib_transport does.
    const bool with_body =
        !current.body.empty() || current.method == http_method::post || current.method == http_method::put;
    if (with_body) {
      set(curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(current.body.size())));
      set(curl_easy_setopt(handle, CURLOPT_POSTFIELDS, current.body.empty() ? "" : current.body.data()));
    } else {
      set(curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L));
    }
    if (current.method != http_method::post && (with_body || current.method != http_method::get)) {
      const std::string_view method = to_string(current.method);  // a literal, so NUL-terminated
      set(curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method.data()));
    }
    set(curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list.get()));

    set(curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &detail::curl_exchange_state::on_header));
    set(curl_easy_setopt(handle, CURLOPT_HEADERDATA, static_cast<void*>(&state)));
    set(curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &detail::curl_exchange_state::on_body));
    set(curl_easy_setopt(handle, CURLOPT_WRITEDATA, static_cast<void*>(&state)));
#if LIBCURL_VERSION_NUM >= 0x075000
    set(curl_easy_setopt(handle, CURLOPT_PREREQFUNCTION, &detail::curl_exchange_state::on_connected));
    set(curl_easy_setopt(handle, CURLOPT_PREREQDATA, static_cast<void*>(&state)));
#endif
    if (!ok)
      return unexpected{transport_error{errc::transport_error, "libcurl refused an option for " + origin}};

    const CURLcode code = curl_easy_perform(handle);
#if LIBCURL_VERSION_NUM < 0x075000
    curl_off_t connect_time = 0;
    curl_easy_getinfo(handle, CURLINFO_CONNECT_TIME_T, &connect_time);
    long new_connections = 0;
    curl_easy_getinfo(handle, CURLINFO_NUM_CONNECTS, &new_connections);
    state.connected = connect_time > 0 || new_connections == 0;
#endif
    if (code != CURLE_OK) {
      return unexpected{detail::map_curl_error(code, error_buffer, origin, state.connected, connect_limit, budget,
                                               state.out_of_memory)};
    }

    if (options().logger.enabled(log_level::trace)) [[unlikely]] {
      long made = 0;
      curl_easy_getinfo(handle, CURLINFO_NUM_CONNECTS, &made);
      detail::note_connection(options().logger, url, made > 0);
    }
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    char* location = nullptr;
    if (curl_easy_getinfo(handle, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location != nullptr)
      next_url = location;

    http_response out;
    out.status = static_cast<int>(status);
    out.headers = std::move(state.headers);
    out.body = std::move(state.body);
    detail::ensure_body_padding(out.body);
    return out;
  }

  static result<http_response, transport_error> out_of_memory() { return unexpected{detail::out_of_memory_error()}; }

  std::shared_ptr<detail::curl_pool> pool_;
};

static_assert(transport<curl_transport>);

}  // namespace apikeys

#endif  // APIKEYS_TRANSPORT_CURL_HPP
