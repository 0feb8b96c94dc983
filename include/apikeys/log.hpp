// apikeys logging: levels, the structured events calls report, the sink that takes them, a ready FILE* sink.
#ifndef APIKEYS_LOG_HPP
#define APIKEYS_LOG_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "detail/format.hpp"
#include "http.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

/// How much a sink wants, least first, as realm-core's logger orders them (its `detail` and `fatal` have
/// no events here). A sink at `info` receives error, warn and info events; `off` receives nothing.
enum class log_level : std::uint8_t { off = 0, error = 1, warn = 2, info = 3, debug = 4, trace = 5 };

constexpr std::string_view to_string(log_level l) noexcept {
  switch (l) {
    case log_level::off: return "off";
    case log_level::error: return "error";
    case log_level::warn: return "warn";
    case log_level::info: return "info";
    case log_level::debug: return "debug";
    case log_level::trace: return "trace";
  }
  return "unknown";
}

/// What happened. The level each kind is reported at is fixed (README "Logging" lists them):
/// request_started debug; response info, warn for an HTTP error status, error for no response at all;
/// retry warn; session_ended info; location_resolved info; redirect debug; connect, tls_handshake and
/// connection_reused trace.
enum class log_event_kind : std::uint8_t {
  request_started,    ///< method, route
  response,           ///< method, route, status (0: no response, `why` says why), duration, body_size
  retry,              ///< method, route, attempt (the one about to start), why, wait
  session_ended,      ///< why
  location_resolved,  ///< host (the location answer's hostname)
  connect,            ///< host (an adapter opened a new connection)
  tls_handshake,      ///< host (an adapter completed a TLS handshake)
  connection_reused,  ///< host (an adapter sent over a pooled connection)
  redirect,           ///< method, route and host of the next hop, status of the redirect
};

constexpr std::string_view to_string(log_event_kind k) noexcept {
  switch (k) {
    case log_event_kind::request_started: return "request_started";
    case log_event_kind::response: return "response";
    case log_event_kind::retry: return "retry";
    case log_event_kind::session_ended: return "session_ended";
    case log_event_kind::location_resolved: return "location_resolved";
    case log_event_kind::connect: return "connect";
    case log_event_kind::tls_handshake: return "tls_handshake";
    case log_event_kind::connection_reused: return "connection_reused";
    case log_event_kind::redirect: return "redirect";
  }
  return "unknown";
}

/// One event. Only the fields its kind lists (log_event_kind) are set; the rest keep their defaults.
/// It never holds a token, a password, a key value, a header, a body or a query string: `route` is a
/// URL's path (a key id may appear in it), `host` a URL's scheme and host without user info.
/// The string_views point into the reporter's storage: valid during the sink's call only.
struct log_event {
  log_event_kind kind = log_event_kind::request_started;
  log_level level = log_level::info;
  http_method method = http_method::get;
  std::string_view route{};
  std::string_view host{};
  int status = 0;
  std::chrono::microseconds duration{0};
  std::size_t body_size = 0;
  std::size_t attempt = 0;
  std::string_view why{};
  std::chrono::milliseconds wait{0};
};

/// Where events go: a callable taking `const log_event&`, and the least important level it wants.
/// A default-constructed sink is off. `enabled(level)` is one comparison, and every reporter asks it before
/// it builds an event, so a client without a sink pays one branch per report. Copies share nothing but
/// what the callable's copies share. The callable is called on whichever thread the call runs (the caller's,
/// a pool's, a transport's completion thread), concurrently when calls are concurrent: it must be safe for
/// that. It should not throw; what it throws is dropped.
class log_sink {
 public:
  log_sink() noexcept = default;
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, log_sink> && std::is_invocable_v<F&, const log_event&>)
  explicit log_sink(F&& write, log_level min_level = log_level::info)
      : write_(std::forward<F>(write)), min_level_(write_ ? min_level : log_level::off) {}

  /// Whether an event of `level` would be written: false for every level when the sink is off.
  bool enabled(log_level level) const noexcept {
    // off (0) wraps to the largest value, so it is never enabled; a level is enabled when it is at most min.
    return static_cast<unsigned>(level) - 1u < static_cast<unsigned>(min_level_);
  }
  log_level min_level() const noexcept { return min_level_; }
  explicit operator bool() const noexcept { return min_level_ != log_level::off; }

  /// Writes `event` when its level is enabled.
  void write(const log_event& event) const noexcept {
    if (!enabled(event.level)) return;
#if APIKEYS_HAS_EXCEPTIONS
    try {
      write_(event);
    } catch (...) {  // a sink's failure must not change the call's outcome
    }
#else
    write_(event);
#endif
  }

 private:
  std::function<void(const log_event&)> write_{};
  log_level min_level_ = log_level::off;
};

namespace detail {

// A URL's path, without the scheme and authority before it or the query and fragment after it. One pass by
// hand: string_view's find_first_of calls memchr once per character, which a no-op sink would pay per event.
constexpr std::string_view route_of(std::string_view url) noexcept {
  std::size_t at = 0;
  for (std::size_t i = 0; i + 2 < url.size(); ++i) {
    if (url[i] == '/' || url[i] == '?' || url[i] == '#') break;  // no scheme: a path already
    if (url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/') {
      at = i + 3;
      while (at < url.size() && url[at] != '/' && url[at] != '?' && url[at] != '#') ++at;
      break;
    }
  }
  std::size_t end = at;
  while (end < url.size() && url[end] != '?' && url[end] != '#') ++end;
  return end == at ? std::string_view{"/"} : url.substr(at, end - at);
}

// A URL's scheme://host[:port], without user info, path, query or fragment.
inline std::string host_of(std::string_view url) {
  std::string out;
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return out;
  out.append(url.substr(0, scheme + 3));
  auto authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  out.append(authority);
  return out;
}

inline void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(" ").append(name).append("=").append(value.empty() ? std::string_view{"-"} : value);
}

/// The line fmt_log_sink writes for an event (without the newline):
/// `apikeys <level> <kind> name=value ...`, with the fields its kind lists, in a fixed order; `why`, the
/// one value that may hold spaces, comes last; an empty value is written `-`.
inline std::string describe(const log_event& e) {
  std::string out = "apikeys ";
  out.append(to_string(e.level)).append(" ").append(to_string(e.kind));
  const auto request = [&] {
    append_field(out, "method", to_string(e.method));
    append_field(out, "route", e.route);
  };
  switch (e.kind) {
    case log_event_kind::request_started: request(); break;
    case log_event_kind::response:
      request();
      append_field(out, "status", std::to_string(e.status));
      append_field(out, "duration_us", std::to_string(e.duration.count()));
      append_field(out, "body_bytes", std::to_string(e.body_size));
      if (e.status == 0 || !e.why.empty()) append_field(out, "why", e.why);
      break;
    case log_event_kind::retry:
      request();
      append_field(out, "attempt", std::to_string(e.attempt));
      append_field(out, "wait_ms", std::to_string(e.wait.count()));
      append_field(out, "why", e.why);
      break;
    case log_event_kind::session_ended: append_field(out, "why", e.why); break;
    case log_event_kind::redirect:
      append_field(out, "status", std::to_string(e.status));
      request();
      append_field(out, "host", e.host);
      break;
    case log_event_kind::location_resolved:
    case log_event_kind::connect:
    case log_event_kind::tls_handshake:
    case log_event_kind::connection_reused: append_field(out, "host", e.host); break;
  }
  return out;
}
inline std::string describe(const log_level& l) { return std::string{to_string(l)}; }
inline std::string describe(const log_event_kind& k) { return std::string{to_string(k)}; }

}  // namespace detail

/// A sink that writes each event as one line (detail::describe's format, then '\n') to `out`, with one
/// fwrite, so lines from concurrent calls do not interleave. `out` must stay open while the sink is used.
inline log_sink fmt_log_sink(std::FILE* out, log_level min_level = log_level::info) {
  if (!out) return {};
  return log_sink(
      [out](const log_event& event) {
        std::string line = detail::describe(event);
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), out);
      },
      min_level);
}

inline std::ostream& operator<<(std::ostream& os, log_level l) { return os << to_string(l); }
inline std::ostream& operator<<(std::ostream& os, log_event_kind k) { return os << to_string(k); }
inline std::ostream& operator<<(std::ostream& os, const log_event& e) { return os << detail::describe(e); }

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::log_level> : apikeys::detail::described_formatter<apikeys::log_level, &apikeys::detail::describe> {};
template <>
struct fmt::formatter<apikeys::log_event_kind>
    : apikeys::detail::described_formatter<apikeys::log_event_kind, &apikeys::detail::describe> {};
template <>
struct fmt::formatter<apikeys::log_event> : apikeys::detail::described_formatter<apikeys::log_event, &apikeys::detail::describe> {};

#endif  // APIKEYS_LOG_HPP
