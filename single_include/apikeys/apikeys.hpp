// apikeys in one header, generated from include/apikeys/apikeys.hpp by tools/amalgamate.py: do not edit.
#pragma once

// ---- begin apikeys/apikeys.hpp ----
// apikeys: the whole library but transport adapters and testing helpers, in one include.
#ifndef APIKEYS_APIKEYS_HPP
#define APIKEYS_APIKEYS_HPP

// ---- begin apikeys/version.hpp ----
// apikeys: version numbers and the feature switches every other header reads.
#ifndef APIKEYS_VERSION_HPP
#define APIKEYS_VERSION_HPP

#define APIKEYS_VERSION_MAJOR 0
#define APIKEYS_VERSION_MINOR 1
#define APIKEYS_VERSION_PATCH 0
#define APIKEYS_VERSION_STRING "0.1.0"
/// One comparable number, major * 10000 + minor * 100 + patch: `#if APIKEYS_VERSION >= 100` for 0.1.0 or later.
#define APIKEYS_VERSION (APIKEYS_VERSION_MAJOR * 10000 + APIKEYS_VERSION_MINOR * 100 + APIKEYS_VERSION_PATCH)

// Exceptions are optional: return_result works with -fno-exceptions, throw_on_error does not.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define APIKEYS_HAS_EXCEPTIONS 1
#else
#define APIKEYS_HAS_EXCEPTIONS 0
#endif

// APIKEYS_SEPARATE_COMPILATION (defined for the whole program) turns the decoders, the part of apikeys
// that needs <simdjson.h>, into declarations; exactly one translation unit then defines
// APIKEYS_IMPLEMENTATION before including <apikeys/apikeys.hpp> to compile them (CMake: apikeys::compiled).
#if defined(APIKEYS_SEPARATE_COMPILATION)
#define APIKEYS_DECL
#define APIKEYS_ABI_MODE compiled
#else
#define APIKEYS_DECL inline
#define APIKEYS_ABI_MODE header_only
#endif

// Everything apikeys declares lives in an inline namespace named for its version and its mode,
// apikeys::abi_v0_1_0_header_only or apikeys::abi_v0_1_0_compiled (users still write apikeys::api_key). Two
// translation units that disagree (one header-only, one with APIKEYS_SEPARATE_COMPILATION; or headers and
// an apikeys::compiled of another version) then fail to link where they share an apikeys name, instead
// of linking and breaking the one-definition rule silently. nlohmann/json's ABI namespace is the model.
#define APIKEYS_ABI_JOIN_(major, minor, patch, mode) abi_v##major##_##minor##_##patch##_##mode
#define APIKEYS_ABI_JOIN(major, minor, patch, mode) APIKEYS_ABI_JOIN_(major, minor, patch, mode)
#define APIKEYS_ABI_NAMESPACE \
  APIKEYS_ABI_JOIN(APIKEYS_VERSION_MAJOR, APIKEYS_VERSION_MINOR, APIKEYS_VERSION_PATCH, APIKEYS_ABI_MODE)
/// What apikeys' headers open: `namespace APIKEYS_NAMESPACE {` is `namespace apikeys::inline abi_... {`.
#define APIKEYS_NAMESPACE apikeys::inline APIKEYS_ABI_NAMESPACE

namespace APIKEYS_NAMESPACE {
inline constexpr const char* version_string = APIKEYS_VERSION_STRING;
}  // namespace apikeys

#endif  // APIKEYS_VERSION_HPP
// ---- end apikeys/version.hpp ----
// ---- begin apikeys/object_id.hpp ----
// apikeys::object_id: the 12-byte id of an API key, parsed and printed as 24 lowercase hex digits.
#ifndef APIKEYS_OBJECT_ID_HPP
#define APIKEYS_OBJECT_ID_HPP

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

// ---- begin apikeys/detail/format.hpp ----
// apikeys::detail: one fmt formatter shape for every public type, over a non-template describe().
#ifndef APIKEYS_DETAIL_FORMAT_HPP
#define APIKEYS_DETAIL_FORMAT_HPP

#include <fmt/core.h>

namespace APIKEYS_NAMESPACE::detail {

// Each public type has a plain `std::string describe(const T&)`; the formatter only copies its text out.
// It needs nothing beyond <fmt/core.h> (inheriting formatter<string_view> would pull in <fmt/format.h>,
// which costs every including translation unit about half a second), so it takes no format spec: "{}".
template <class T, std::string (*Describe)(const T&)>
struct described_formatter {
  constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin()) {
    auto it = ctx.begin();
    if (it != ctx.end() && *it != '}') {
      // fmt's public way to report a bad spec: format_error at run time, a compile error for a checked
      // format string. fmt 11 replaced the context's on_error() with fmt::report_error().
#if FMT_VERSION >= 110000
      fmt::report_error("apikeys types take no format spec");
#else
      ctx.on_error("apikeys types take no format spec");
#endif
    }
    return it;
  }
  template <class FormatContext>
  auto format(const T& value, FormatContext& ctx) const -> decltype(ctx.out()) {
    const std::string text = Describe(value);
    auto out = ctx.out();
    for (const char c : text) *out++ = c;
    return out;
  }
};

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_FORMAT_HPP
// ---- end apikeys/detail/format.hpp ----
namespace APIKEYS_NAMESPACE {

namespace detail {
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
inline constexpr char lower_hex_digits[] = "0123456789abcdef";

// hex_value of every byte, 0xff where it is not a hex digit.
inline constexpr std::array<std::uint8_t, 256> hex_table = [] {
  std::array<std::uint8_t, 256> table{};
  for (std::size_t c = 0; c < table.size(); ++c) {
    const int v = hex_value(static_cast<char>(c));
    table[c] = v < 0 ? std::uint8_t{0xff} : static_cast<std::uint8_t>(v);
  }
  return table;
}();
}  // namespace detail

/// An ObjectId. A value type: copy it freely; safe to share between threads (immutable).
class object_id {
 public:
  static constexpr std::size_t size = 12;
  static constexpr std::size_t text_size = 24;
  using bytes_type = std::array<std::uint8_t, size>;

  /// All-zero id. Never names a real key, but useful as a placeholder.
  constexpr object_id() noexcept = default;
  constexpr explicit object_id(const bytes_type& bytes) noexcept : bytes_(bytes) {}

  /// Parses exactly 24 hex digits (either case). Anything else gives an empty optional.
  /// Deliberately not a constructor: a string is never silently taken where an id belongs.
  static constexpr std::optional<object_id> parse(std::string_view text) noexcept {
    if (text.size() != text_size) return std::nullopt;
    // Every id of every key list goes through here: one table load per digit, and one test at the end
    // (a non-hex byte maps to 0xff, whose high bits survive the OR).
    bytes_type bytes{};
    unsigned invalid = 0;
    for (std::size_t i = 0; i < size; ++i) {
      const unsigned hi = detail::hex_table[static_cast<unsigned char>(text[2 * i])];
      const unsigned lo = detail::hex_table[static_cast<unsigned char>(text[2 * i + 1])];
      invalid |= hi | lo;
      bytes[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0x0f));
    }
    if ((invalid & 0xf0) != 0) return std::nullopt;
    return object_id{bytes};
  }

  /// 24 lowercase hex digits, the only spelling the wire uses.
  std::string to_string() const {
    std::string out(text_size, '0');
    write_to(out.data());
    return out;
  }

  /// Writes the 24 lowercase hex digits to out (no terminator); for building URLs without allocating.
  constexpr void write_to(char* out) const noexcept {
    for (std::size_t i = 0; i < size; ++i) {
      out[2 * i] = detail::lower_hex_digits[bytes_[i] >> 4];
      out[2 * i + 1] = detail::lower_hex_digits[bytes_[i] & 0x0f];
    }
  }

  constexpr const bytes_type& bytes() const noexcept { return bytes_; }

  friend constexpr bool operator==(const object_id&, const object_id&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const object_id&, const object_id&) noexcept = default;

 private:
  bytes_type bytes_{};
};

namespace detail {
inline std::string describe(const object_id& id) { return id.to_string(); }
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const object_id& id) { return os << id.to_string(); }

namespace detail {
// Not constexpr on purpose: reaching it while evaluating a consteval _oid literal is a compile error.
inline void malformed_object_id_literal_must_be_24_hex_digits() {}
}  // namespace detail

inline namespace literals {
/// "5e5e6f0abe4ae2a2c2c2d329"_oid: checked while compiling; a malformed literal does not compile.
consteval object_id operator""_oid(const char* text, std::size_t length) {
  const auto parsed = object_id::parse(std::string_view{text, length});
  if (!parsed) detail::malformed_object_id_literal_must_be_24_hex_digits();
  return parsed ? *parsed : object_id{};
}
}  // namespace literals

}  // namespace apikeys

template <>
struct std::hash<apikeys::object_id> {
  std::size_t operator()(const apikeys::object_id& id) const noexcept {
    // FNV-1a over the 12 bytes: ids are already random enough, this just folds them.
    std::uint64_t h = 1469598103934665603ull;
    for (const auto b : id.bytes()) {
      h ^= b;
      h *= 1099511628211ull;
    }
    return static_cast<std::size_t>(h);
  }
};

template <>
struct fmt::formatter<apikeys::object_id>
    : apikeys::detail::described_formatter<apikeys::object_id, &apikeys::detail::describe> {};

#endif  // APIKEYS_OBJECT_ID_HPP
// ---- end apikeys/object_id.hpp ----
// ---- begin apikeys/secret.hpp ----
// apikeys::secret: owns an API key value or a token, prints redacted, and wipes its bytes when done.
#ifndef APIKEYS_SECRET_HPP
#define APIKEYS_SECRET_HPP

#include <cstring>
#include <string.h>  // explicit_bzero
#include <memory>
#include <utility>

namespace APIKEYS_NAMESPACE {

namespace detail {
// A plain memset of memory about to be freed may be optimised away. glibc's explicit_bzero never is and
// runs at memset speed; elsewhere volatile stores, a byte at a time, give the same guarantee.
inline void secure_wipe(void* data, std::size_t size) noexcept {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
  if (size != 0) ::explicit_bzero(data, size);
#else
  auto* p = static_cast<volatile unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) p[i] = 0;
#endif
}
}  // namespace detail

/// A secret string (API key value, access or refresh token). It owns its own buffer, allocated once at
/// exactly its size, so no copy of the bytes is ever left behind by a reallocation; the buffer is zeroed
/// before it is released. Printing it (fmt, ostream) shows only a redaction marker.
/// Thread safety: like std::string, concurrent reads are safe, a write needs exclusive access.
class secret {
 public:
  static constexpr std::string_view redacted = "<redacted>";

  secret() noexcept = default;
  explicit secret(std::string_view value) { assign(value); }
  explicit secret(const char* value) { assign(std::string_view{value}); }
  /// Takes the string's bytes and wipes the string it was given, so the caller holds no plaintext copy.
  explicit secret(std::string&& value) {
    assign(value);
    detail::secure_wipe(value.data(), value.size());
    value.clear();
  }
  secret(const secret& other) { assign(other.reveal()); }
  secret(secret&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  secret& operator=(const secret& other) {
    if (this != &other) {
      secret copy(other);
      swap(copy);
    }
    return *this;
  }
  secret& operator=(secret&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~secret() { release(); }

  /// The plaintext. The view lives as long as this secret is neither destroyed nor assigned.
  std::string_view reveal() const noexcept { return {data_ ? data_ : "", size_}; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  void clear() noexcept { release(); }
  void swap(secret& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

  /// Constant-time over the longer of the two lengths, so a comparison does not reveal a common prefix.
  friend bool operator==(const secret& a, const secret& b) noexcept { return equal(a.reveal(), b.reveal()); }
  static bool equal(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size() > b.size() ? a.size() : b.size();
    unsigned diff = a.size() == b.size() ? 0u : 1u;
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
      const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
      diff |= static_cast<unsigned>(x ^ y);
    }
    return diff == 0;
  }

 private:
  void assign(std::string_view value) {
    release();
    if (value.empty()) return;
    data_ = new char[value.size()];
    std::memcpy(data_, value.data(), value.size());
    size_ = value.size();
  }
  void release() noexcept {
    if (data_) {
      detail::secure_wipe(data_, size_);
      delete[] data_;
    }
    data_ = nullptr;
    size_ = 0;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
};

namespace detail {
inline std::string describe(const secret&) { return std::string{secret::redacted}; }
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const secret&) { return os << secret::redacted; }

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::secret>
    : apikeys::detail::described_formatter<apikeys::secret, &apikeys::detail::describe> {};

#endif  // APIKEYS_SECRET_HPP
// ---- end apikeys/secret.hpp ----
// ---- begin apikeys/http.hpp ----
// apikeys HTTP aggregates: what an operation hands a transport, and what a transport hands back.
#ifndef APIKEYS_HTTP_HPP
#define APIKEYS_HTTP_HPP

#include <chrono>
#include <vector>

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
// ---- end apikeys/http.hpp ----
// ---- begin apikeys/log.hpp ----
// apikeys logging: levels, the structured events calls report, the sink that takes them, a ready FILE* sink.
#ifndef APIKEYS_LOG_HPP
#define APIKEYS_LOG_HPP

#include <cstdio>
#include <type_traits>

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
// ---- end apikeys/log.hpp ----
// ---- begin apikeys/error.hpp ----
// apikeys errors: the errc codes, their std::error_category, api_error, and api_exception.
#ifndef APIKEYS_ERROR_HPP
#define APIKEYS_ERROR_HPP

#include <exception>
#include <system_error>

namespace APIKEYS_NAMESPACE {

/// Every way an apikeys call can fail. Zero is success, as std::error_code expects.
enum class errc {
  // The caller's mistake, found before anything was sent.
  invalid_argument = 1,   ///< an empty or disallowed key name, text that is not UTF-8, a bad config
  not_logged_in,          ///< the session is logged out (it has no refresh token)
  // No HTTP response at all.
  transport_error,        ///< any other transport failure
  connection_failed,      ///< refused, unreachable, DNS failure
  timeout,                ///< the request's timeout ran out
  tls_error,              ///< handshake or certificate verification failed
  connection_reset,       ///< the connection closed before a whole response arrived
  too_many_redirects,     ///< the transport gave up following redirects
  // A response that could not be understood.
  bad_response,           ///< a 2xx answer whose body is not what the protocol says
  http_error,             ///< a non-2xx status with no service error in the body
  // Service errors, named by the server's `error_code` (docs/protocol.md section 5).
  unknown_service_error,  ///< an error body with a message but no `error_code`
  server_error,           ///< an `error_code` apikeys does not know (the raw name is in server_code)
  missing_auth_req,       ///< MissingAuthReq
  invalid_session,        ///< InvalidSession
  invalid_parameter,      ///< InvalidParameter
  missing_parameter,      ///< MissingParameter
  internal_server_error,  ///< InternalServerError
  api_key_not_found,      ///< APIKeyNotFound
  api_key_already_exists, ///< APIKeyAlreadyExists
  user_disabled,          ///< UserDisabled
  auth_error,             ///< AuthError
  bad_request,            ///< BadRequest
  maintenance_in_progress,///< MaintenanceInProgress
  auth_provider_not_found,///< AuthProviderNotFound
  // Added after the first release of the list, so earlier values keep their numbers.
  cancelled,              ///< the call never started: its executor's pool shut down first (nothing was sent)
  store_error,            ///< a session store could not be read or written (session_store.hpp); nothing was sent
};

/// The broad families of errc, for callers who branch on "whose fault is it".
enum class error_kind { none, client, transport, bad_response, http, service };

constexpr error_kind kind_of(errc e) noexcept {
  switch (e) {
    case errc::invalid_argument:
    case errc::not_logged_in:
    case errc::cancelled:
    case errc::store_error: return error_kind::client;
    case errc::transport_error:
    case errc::connection_failed:
    case errc::timeout:
    case errc::tls_error:
    case errc::connection_reset:
    case errc::too_many_redirects: return error_kind::transport;
    case errc::bad_response: return error_kind::bad_response;
    case errc::http_error: return error_kind::http;
    default: return static_cast<int>(e) == 0 ? error_kind::none : error_kind::service;
  }
}

constexpr std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::invalid_argument: return "invalid argument";
    case errc::not_logged_in: return "not logged in";
    case errc::transport_error: return "transport error";
    case errc::connection_failed: return "connection failed";
    case errc::timeout: return "timed out";
    case errc::tls_error: return "TLS error";
    case errc::connection_reset: return "connection reset";
    case errc::too_many_redirects: return "too many redirects";
    case errc::bad_response: return "malformed response";
    case errc::http_error: return "HTTP error";
    case errc::unknown_service_error: return "unknown service error";
    case errc::server_error: return "server error";
    case errc::missing_auth_req: return "authentication required";
    case errc::invalid_session: return "invalid session";
    case errc::invalid_parameter: return "invalid parameter";
    case errc::missing_parameter: return "missing parameter";
    case errc::internal_server_error: return "internal server error";
    case errc::api_key_not_found: return "API key not found";
    case errc::api_key_already_exists: return "API key already exists";
    case errc::user_disabled: return "user disabled";
    case errc::auth_error: return "authentication error";
    case errc::bad_request: return "bad request";
    case errc::maintenance_in_progress: return "maintenance in progress";
    case errc::auth_provider_not_found: return "auth provider not found";
    case errc::cancelled: return "cancelled";
    case errc::store_error: return "session store error";
  }
  return "unknown apikeys error";
}

/// The known wire names of docs/protocol.md section 5 and their codes; anything else is errc::server_error.
constexpr errc errc_from_server_code(std::string_view name) noexcept {
  struct entry {
    std::string_view name;
    errc code;
  };
  constexpr entry table[] = {
      {"MissingAuthReq", errc::missing_auth_req},
      {"InvalidSession", errc::invalid_session},
      {"InvalidParameter", errc::invalid_parameter},
      {"MissingParameter", errc::missing_parameter},
      {"InternalServerError", errc::internal_server_error},
      {"APIKeyNotFound", errc::api_key_not_found},
      {"APIKeyAlreadyExists", errc::api_key_already_exists},
      {"UserDisabled", errc::user_disabled},
      {"AuthError", errc::auth_error},
      {"BadRequest", errc::bad_request},
      {"MaintenanceInProgress", errc::maintenance_in_progress},
      {"AuthProviderNotFound", errc::auth_provider_not_found},
  };
  for (const auto& e : table)
    if (e.name == name) return e.code;
  return errc::server_error;
}

namespace detail {
class apikeys_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "apikeys"; }
  std::string message(int value) const override { return std::string{to_string(static_cast<errc>(value))}; }
};
}  // namespace detail

inline const std::error_category& apikeys_category() noexcept {
  static const detail::apikeys_category category;
  return category;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), apikeys_category()}; }

/// A failed call, whatever failed. Never holds a secret: messages come from the server's `error`
/// field, a transport's description, or apikeys itself, never from a request body or a token.
struct api_error {
  errc code = errc::transport_error;
  int http_status = 0;      ///< 0 when no HTTP response arrived (client and transport errors)
  std::string server_code;  ///< the raw `error_code` string, empty when the server sent none
  std::string message;      ///< the server's `error`, or apikeys' own description
  std::string link;         ///< the server's log link, when it sent one
  std::string context;      ///< what apikeys was doing, e.g. "enable API key 5e5e6f0abe4ae2a2c2c2d329"
  /// True when the request may have reached the server and taken effect although no usable answer came
  /// back: a POST, PUT or DELETE whose connection timed out, reset or failed after connecting, or a
  /// `create` whose 201 answer could not be read. A create that fails this way may have made a key
  /// whose value is now lost: fetch_all() shows whether it exists (and it can then be deleted).
  bool outcome_unknown = false;

  std::error_code error_code() const noexcept { return make_error_code(code); }
  error_kind kind() const noexcept { return kind_of(code); }
};

namespace detail {
// A 2xx answer that is not what the protocol says: from a decoder, or from a client that finds the
// answer cannot belong to its call.
inline api_error bad_response(std::string message, int status) {
  api_error e;
  e.code = errc::bad_response;
  e.http_status = status;
  e.message = "malformed response: " + std::move(message);
  return e;
}

inline std::string describe(const api_error& e) {
  std::string out;
  if (!e.context.empty()) out.append(e.context).append(": ");
  // "message (code, ServerCode, HTTP 404)"; without a message the code leads and is not repeated.
  std::string details;
  if (e.message.empty()) {
    out.append(to_string(e.code));
  } else {
    out.append(e.message);
    details.append(to_string(e.code));
  }
  if (!e.server_code.empty()) details.append(details.empty() ? "" : ", ").append(e.server_code);
  if (e.http_status != 0) details.append(details.empty() ? "" : ", ").append("HTTP ").append(std::to_string(e.http_status));
  if (!details.empty()) out.append(" (").append(details).append(")");
  if (!e.link.empty()) out.append(" ").append(e.link);
  if (e.outcome_unknown) out.append("; the outcome is unknown: the server may have carried out the request");
  return out;
}
inline std::string describe(const errc& e) { return std::string{to_string(e)}; }
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const api_error& e) { return os << detail::describe(e); }
inline std::ostream& operator<<(std::ostream& os, errc e) { return os << to_string(e); }

/// What throw_on_error throws. what() is the described api_error, which never contains a secret.
class api_exception : public std::exception {
 public:
  explicit api_exception(api_error error) : error_(std::move(error)), what_(detail::describe(error_)) {}
  const char* what() const noexcept override { return what_.c_str(); }
  const api_error& error() const noexcept { return error_; }
  errc code() const noexcept { return error_.code; }

 private:
  api_error error_;
  std::string what_;
};

namespace detail {
inline std::string describe(const api_exception& e) { return e.what(); }
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const api_exception& e) { return os << e.what(); }

}  // namespace apikeys

template <>
struct std::is_error_code_enum<apikeys::errc> : std::true_type {};

template <>
struct fmt::formatter<apikeys::errc> : apikeys::detail::described_formatter<apikeys::errc, &apikeys::detail::describe> {};
template <>
struct fmt::formatter<apikeys::api_error>
    : apikeys::detail::described_formatter<apikeys::api_error, &apikeys::detail::describe> {};
template <>
struct fmt::formatter<apikeys::api_exception>
    : apikeys::detail::described_formatter<apikeys::api_exception, &apikeys::detail::describe> {};

#endif  // APIKEYS_ERROR_HPP
// ---- end apikeys/error.hpp ----
// ---- begin apikeys/result.hpp ----
// apikeys::result<T, E>: a value or an error, shaped like std::expected (which C++20 lacks).
#ifndef APIKEYS_RESULT_HPP
#define APIKEYS_RESULT_HPP

#include <cstdlib>
#include <variant>

namespace APIKEYS_NAMESPACE {

/// Wraps an error so that constructing a result from it is never ambiguous with the value.
template <class E>
struct unexpected {
  E error;
};
template <class E>
unexpected(E) -> unexpected<E>;

/// Thrown by result<T, E>::value() on an error when E is not api_error (api_error throws api_exception).
class bad_result_access : public std::exception {
 public:
  const char* what() const noexcept override { return "apikeys::result holds an error, not a value"; }
};

namespace detail {
template <class E>
[[noreturn]] inline void throw_error(const E& error) {
#if APIKEYS_HAS_EXCEPTIONS
  if constexpr (std::is_same_v<E, api_error>)
    throw api_exception(error);
  else
    throw bad_result_access{};
#else
  (void)error;
  std::abort();
#endif
}
}  // namespace detail

/// A T or an E. Thread safety: as for any value type; a shared const result may be read concurrently.
template <class T, class E = api_error>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T> && !std::is_same_v<std::remove_cv_t<T>, E>);

 public:
  using value_type = T;
  using error_type = E;

  result() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  result(const T& value) : v_(std::in_place_index<0>, value) {}  // NOLINT: implicit like std::expected
  result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  /// From anything T can be made from, as std::expected allows (`result<std::string> r = "text";`).
  template <class U>
    requires(std::is_constructible_v<T, U> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
             !std::is_same_v<std::remove_cvref_t<U>, result> && !std::is_same_v<std::remove_cvref_t<U>, E>)
  explicit(!std::is_convertible_v<U, T>) result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  template <class G>
  result(unexpected<G> error) : v_(std::in_place_index<1>, std::move(error.error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    if (!has_value()) detail::throw_error(error());
    return *std::get_if<0>(&v_);
  }
  const T& value() const& {
    if (!has_value()) detail::throw_error(error());
    return *std::get_if<0>(&v_);
  }
  T&& value() && { return std::move(value()); }

  // Preconditions as for std::expected: error() only on an error, * and -> only on a value.
  E& error() & noexcept { return *std::get_if<1>(&v_); }
  const E& error() const& noexcept { return *std::get_if<1>(&v_); }
  E&& error() && noexcept { return std::move(*std::get_if<1>(&v_)); }

  T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&v_)); }
  T* operator->() noexcept { return std::get_if<0>(&v_); }
  const T* operator->() const noexcept { return std::get_if<0>(&v_); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, E> v_;
};

/// result<void, E>: success, or an error.
template <class E>
class [[nodiscard]] result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  result() noexcept = default;
  template <class G>
  result(unexpected<G> error) : error_(std::move(error.error)) {}  // NOLINT

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (error_) detail::throw_error(*error_);
  }
  void operator*() const noexcept {}

  E& error() & noexcept { return *error_; }
  const E& error() const& noexcept { return *error_; }
  E&& error() && noexcept { return std::move(*error_); }

 private:
  std::optional<E> error_;
};

}  // namespace apikeys

#endif  // APIKEYS_RESULT_HPP
// ---- end apikeys/result.hpp ----
// ---- begin apikeys/api_key.hpp ----
// apikeys::api_key: one user API key as the server describes it.
#ifndef APIKEYS_API_KEY_HPP
#define APIKEYS_API_KEY_HPP

namespace APIKEYS_NAMESPACE {

/// A user API key. `value` holds the secret only in the result of create: the server reveals it once,
/// and fetch or fetch_all never carry it. Printing a key never shows the secret.
/// Thread safety: a value type; concurrent reads are safe.
struct api_key {
  object_id id;
  std::string name;
  std::optional<secret> value;
  bool enabled = true;
};

namespace detail {
inline std::string describe(const api_key& k) {
  std::string out = "api_key{id=";
  out.append(k.id.to_string()).append(", name=\"").append(k.name).append("\", enabled=");
  out.append(k.enabled ? "true" : "false");
  if (k.value) out.append(", value=").append(secret::redacted);
  out.append("}");
  return out;
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const api_key& k) { return os << detail::describe(k); }

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::api_key> : apikeys::detail::described_formatter<apikeys::api_key, &apikeys::detail::describe> {};

#endif  // APIKEYS_API_KEY_HPP
// ---- end apikeys/api_key.hpp ----
// ---- begin apikeys/auth_types.hpp ----
// apikeys auth types: what the location, log in and profile routes answer.
#ifndef APIKEYS_AUTH_TYPES_HPP
#define APIKEYS_AUTH_TYPES_HPP

namespace APIKEYS_NAMESPACE {

/// A successful log in: who the device is now, and its two tokens.
struct login_response {
  std::string user_id;
  std::string device_id;
  secret access_token;
  secret refresh_token;
};

/// Where an app lives (docs/protocol.md section 6): every later HTTP call goes to `hostname`.
struct location_response {
  std::string hostname;     ///< scheme://authority, then an optional path prefix; no trailing '/'
  std::string ws_hostname;
};

/// One identity of a user, as the profile lists it.
struct user_identity {
  std::string id;
  std::string provider_type;
  std::string provider_id;
};

/// The profile answer; `data` is kept as the raw JSON object text.
struct user_profile {
  std::string user_id;
  std::string type;
  std::vector<user_identity> identities;
  std::string data;
};

}  // namespace apikeys

#endif  // APIKEYS_AUTH_TYPES_HPP
// ---- end apikeys/auth_types.hpp ----
// ---- begin apikeys/transport.hpp ----
// apikeys::transport: the one operation a user's HTTP backend provides, and the concept that checks it.
#ifndef APIKEYS_TRANSPORT_HPP
#define APIKEYS_TRANSPORT_HPP

#include <concepts>

namespace APIKEYS_NAMESPACE {

/// A request that got no HTTP response: refused, reset, timed out, TLS failure. `code` is one of the
/// transport codes of errc (connection_failed, timeout, tls_error, connection_reset, too_many_redirects,
/// transport_error); `message` describes it for people and must not contain secrets.
struct transport_error {
  errc code = errc::transport_error;
  std::string message;
};

namespace detail {
inline std::string describe(const transport_error& e) {
  return std::string{to_string(e.code)} + (e.message.empty() ? "" : ": " + e.message);
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const transport_error& e) { return os << detail::describe(e); }

/// What `send` may return: the response itself (a transport that reports failures by throwing), or a
/// result that reports a failure as a transport_error without throwing.
template <class R>
concept send_result = std::same_as<std::remove_cvref_t<R>, http_response> ||
                      std::same_as<std::remove_cvref_t<R>, result<http_response, transport_error>>;

/// A Transport: `t.send(request)` performs one HTTP exchange. Called concurrently when a client is shared
/// between threads, so a transport used that way must be thread-safe.
template <class T>
concept transport = requires(T& t, const http_request& request) {
  { t.send(request) } -> send_result;
};

namespace detail {
// Every client checks its Transport with this, so a type without a suitable send() is reported in one
// readable line instead of pages of substitution failures.
template <class T>
constexpr bool check_transport() {
  static_assert(transport<std::remove_reference_t<T>>,
                "apikeys: the Transport type needs a member `send(const apikeys::http_request&)` returning "
                "apikeys::http_response or apikeys::result<apikeys::http_response, apikeys::transport_error>");
  return true;
}

/// Runs `attempt()`, a call into a user's transport. Should it throw, `on_throw(failure)` makes the
/// answer instead, with the exception as a transport_error: no exception from a transport ever escapes
/// into apikeys' callers or its completion threads. The one place apikeys catches a transport's throws.
template <class Attempt, class OnThrow>
decltype(auto) contain_transport_throw(Attempt&& attempt, [[maybe_unused]] OnThrow&& on_throw) {
#if APIKEYS_HAS_EXCEPTIONS
  try {
#endif
    return std::forward<Attempt>(attempt)();
#if APIKEYS_HAS_EXCEPTIONS
  } catch (const std::exception& ex) {
    return std::forward<OnThrow>(on_throw)(transport_error{errc::transport_error, std::string{"the transport threw: "} + ex.what()});
  } catch (...) {
    return std::forward<OnThrow>(on_throw)(transport_error{errc::transport_error, "the transport threw an unknown exception"});
  }
#endif
}

/// One send(), whatever the transport returns or throws, as a send_result.
template <class Transport>
result<http_response, transport_error> guarded_send(Transport& transport, const http_request& request) {
  return contain_transport_throw([&]() -> result<http_response, transport_error> { return transport.send(request); },
                                 [](transport_error failure) -> result<http_response, transport_error> {
                                   return unexpected{std::move(failure)};
                                 });
}

}  // namespace detail

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::transport_error>
    : apikeys::detail::described_formatter<apikeys::transport_error, &apikeys::detail::describe> {};

#endif  // APIKEYS_TRANSPORT_HPP
// ---- end apikeys/transport.hpp ----
// ---- begin apikeys/async_transport.hpp ----
// apikeys asynchronous transports: async_send, and the concept every client checks its Transport with.
#ifndef APIKEYS_ASYNC_TRANSPORT_HPP
#define APIKEYS_ASYNC_TRANSPORT_HPP

namespace APIKEYS_NAMESPACE {

/// What an async_send completion is called with: the response, or why there is none.
using send_result_type = result<http_response, transport_error>;

namespace detail {
// Stands in for the completion a client passes, so the concept can try a call. Copyable, like the real
// one, so a transport may keep it in a std::function.
struct send_completion_probe {
  void operator()(send_result_type) const {}
};
}  // namespace detail

/// An asynchronous Transport: `t.async_send(request, completion)` starts one HTTP exchange and returns
/// without waiting for it. Later it calls `completion(r)` exactly once, with an http_response or a
/// result<http_response, transport_error>, on any thread (its own event loop, say) or even inside
/// async_send itself. `request` stays valid and unchanged until then. The completion is copyable and
/// cheap to copy; it must be called even when the transport shuts down (with a transport_error), or the
/// caller waits for ever. Called concurrently when a client is shared between threads.
template <class T>
concept async_transport = requires(T& t, const http_request& request, detail::send_completion_probe completion) {
  t.async_send(request, std::move(completion));
};

/// What a client takes as its Transport: `send`, `async_send`, or both. With both, the inline executor
/// uses send and the future, callback and coroutine executors use async_send.
template <class T>
concept any_transport = transport<T> || async_transport<T>;

namespace detail {
// The clients' check: one readable line when a type has neither operation.
template <class T>
constexpr bool check_any_transport() {
  static_assert(any_transport<std::remove_reference_t<T>>,
                "apikeys: the Transport type needs a member `send(const apikeys::http_request&)` returning "
                "apikeys::http_response or apikeys::result<apikeys::http_response, apikeys::transport_error>, "
                "or a member `async_send(const apikeys::http_request&, completion)` that calls completion with one");
  return true;
}
}  // namespace detail

}  // namespace apikeys

#endif  // APIKEYS_ASYNC_TRANSPORT_HPP
// ---- end apikeys/async_transport.hpp ----
// ---- begin apikeys/config.hpp ----
// apikeys configuration: which app to talk to, where, and how this device describes itself.
#ifndef APIKEYS_CONFIG_HPP
#define APIKEYS_CONFIG_HPP

namespace APIKEYS_NAMESPACE {

namespace detail {
constexpr const char* compiled_platform() noexcept {
#if defined(__ANDROID__)
  return "Android";
#elif defined(__linux__)
  return "Linux";
#elif defined(__APPLE__)
  return "macOS";
#elif defined(_WIN32)
  return "Windows";
#else
  return "Unknown";
#endif
}
constexpr const char* compiled_cpu_arch() noexcept {
#if defined(__x86_64__) || defined(_M_X64)
  return "x86_64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  return "arm64";
#elif defined(__i386__) || defined(_M_IX86)
  return "x86";
#elif defined(__arm__)
  return "armeabi-v7a";
#else
  return "unknown";
#endif
}
}  // namespace detail

/// What a log in tells the server about the device (`options.device`, docs/protocol.md section 4). The server
/// requires `platform_version`, `sdk` and `sdk_version` to be non-empty; the rest may be empty.
struct device_info {
  std::string platform = detail::compiled_platform();
  std::string platform_version = "unknown";
  std::string sdk = "apikeys-cpp";
  std::string sdk_version = APIKEYS_VERSION_STRING;
  std::string cpu_arch = detail::compiled_cpu_arch();
  std::string device_name{};
  std::string device_version{};
  std::string framework_name{};
  std::string framework_version{};
  std::string core_version{};
  std::string bundle_id{};
};

/// An App Services app. `base_url` is where the location call goes; every later call goes to the
/// hostname the location answer names.
struct app_config {
  std::string app_id{};
  std::string base_url = "https://services.cloud.mongodb.com";
  device_info device{};
  std::chrono::milliseconds timeout{60'000};  ///< copied into every request's `timeout`
  /// log_in fetches the profile (GET /auth/profile) with the new access token, as realm-core does, and a
  /// failed fetch fails the log in; false: log_in sends the login request alone and session::profile()
  /// stays null until app.profile().
  bool fetch_profile_at_login = true;
  /// Where the app's calls report (log.hpp); off by default. The key clients of api_keys() inherit it.
  log_sink logger{};
};

}  // namespace apikeys

#endif  // APIKEYS_CONFIG_HPP
// ---- end apikeys/config.hpp ----
// ---- begin apikeys/credentials.hpp ----
// apikeys::credentials: how a device proves who it is when it logs in.
#ifndef APIKEYS_CREDENTIALS_HPP
#define APIKEYS_CREDENTIALS_HPP

namespace APIKEYS_NAMESPACE {

/// One of the four ways to log in. The password, API key value or token is held in a secret, so
/// printing credentials shows the provider and user name only.
class credentials {
 public:
  enum class kind { anonymous, email_password, api_key, custom_token };

  static credentials anonymous() { return credentials{kind::anonymous, {}, secret{}}; }
  static credentials email_password(std::string_view email, std::string_view password) {
    return credentials{kind::email_password, std::string{email}, secret{password}};
  }
  /// Logs the device in as the user who created the key (docs/protocol.md section 4).
  static credentials api_key(std::string_view key_value) { return credentials{kind::api_key, {}, secret{key_value}}; }
  static credentials api_key(const secret& key_value) { return credentials{kind::api_key, {}, key_value}; }
  static credentials custom_token(std::string_view token) { return credentials{kind::custom_token, {}, secret{token}}; }

  kind provider_kind() const noexcept { return kind_; }
  /// The provider's wire name, as it appears in the login route.
  std::string_view provider() const noexcept {
    switch (kind_) {
      case kind::anonymous: return "anon-user";
      case kind::email_password: return "local-userpass";
      case kind::api_key: return "api-key";
      case kind::custom_token: return "custom-token";
    }
    return "";
  }
  /// The email of email_password credentials; empty for the others.
  const std::string& username() const noexcept { return username_; }
  /// The password, API key value or token; empty for anonymous.
  const secret& proof() const noexcept { return proof_; }

 private:
  credentials(kind k, std::string username, secret proof)
      : kind_(k), username_(std::move(username)), proof_(std::move(proof)) {}

  kind kind_;
  std::string username_;
  secret proof_;
};

namespace detail {
inline std::string describe(const credentials& c) {
  std::string out = "credentials{provider=";
  out.append(c.provider());
  if (!c.username().empty()) out.append(", username=").append(c.username());
  out.append("}");
  return out;
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const credentials& c) { return os << detail::describe(c); }

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::credentials>
    : apikeys::detail::described_formatter<apikeys::credentials, &apikeys::detail::describe> {};

#endif  // APIKEYS_CREDENTIALS_HPP
// ---- end apikeys/credentials.hpp ----
// ---- begin apikeys/session.hpp ----
// apikeys::session: one logged-in user on this device: ids, host, tokens, and whether it is still valid.
#ifndef APIKEYS_SESSION_HPP
#define APIKEYS_SESSION_HPP

#include <mutex>

namespace APIKEYS_NAMESPACE {

class session;

namespace detail {
/// Told after a session's tokens changed (a refresh, a log out), on the thread that changed them and
/// outside the session's lock: how an app keeps its session store up to date (session_store.hpp).
class session_observer {
 public:
  virtual void tokens_changed(session& user) noexcept = 0;

 protected:
  ~session_observer() = default;
};
}  // namespace detail

/// A user's session, made by a log in. The user id and host never change; the tokens do (refresh
/// replaces the access token, log out or a refused refresh token clears both), and so does the profile;
/// a later log in of the same user through an app with a session store replaces the tokens, the device id,
/// the provider and the profile (update_login). Thread safety: every member function may be called
/// concurrently; one session is meant to be shared by many clients and threads.
class session {
 public:
  session(std::string user_id, std::string device_id, std::string provider, std::string host, secret access_token,
          secret refresh_token)
      : user_id_(std::move(user_id)),
        host_(std::move(host)),
        device_id_(std::move(device_id)),
        provider_(std::move(provider)),
        access_token_(std::move(access_token)),
        refresh_token_(std::move(refresh_token)) {}

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  const std::string& user_id() const noexcept { return user_id_; }
  /// A copy: a later log in of the same user may change it (update_login).
  std::string device_id() const {
    std::lock_guard lock(mutex_);
    return device_id_;
  }
  /// The provider of the log in that made (or last updated) this session: "local-userpass", "api-key",
  /// "anon-user" or "custom-token". A copy, as device_id().
  std::string provider() const {
    std::lock_guard lock(mutex_);
    return provider_;
  }
  /// scheme://authority[/prefix] that every call of this session goes to (the location answer's hostname).
  const std::string& host() const noexcept { return host_; }

  bool logged_in() const {
    std::lock_guard lock(mutex_);
    return !refresh_token_.empty();
  }

  /// Calls `use(token)` with the refresh token under the session's lock and returns true, or returns
  /// false without calling it when the session is logged out. The view must not escape `use`. A `use`
  /// that takes a second argument is also told which log in the token is from (login_number()).
  template <class Use>
  bool with_refresh_token(Use&& use) const {
    std::lock_guard lock(mutex_);
    if (refresh_token_.empty()) return false;
    call_with_token(use, refresh_token_);
    return true;
  }
  /// As with_refresh_token, for the access token.
  template <class Use>
  bool with_access_token(Use&& use) const {
    std::lock_guard lock(mutex_);
    if (refresh_token_.empty() || access_token_.empty()) return false;
    call_with_token(use, access_token_);
    return true;
  }
  /// Which log in the tokens are from: 0 for the one that made the session, one more after each
  /// update_login. A call that got a 401 ends the session only if no log in came since it was sent.
  std::uint64_t login_number() const {
    std::lock_guard lock(mutex_);
    return login_number_;
  }

  /// Copies, for code that persists a session; each copy wipes itself when destroyed.
  secret access_token() const {
    std::lock_guard lock(mutex_);
    return access_token_;
  }
  secret refresh_token() const {
    std::lock_guard lock(mutex_);
    return refresh_token_;
  }

  /// The user's profile (identities and data): the one fetched by the log in that made this session
  /// (app_config::fetch_profile_at_login), replaced by each successful app.profile(). Null when none was
  /// fetched. A snapshot shared with the caller: a later fetch replaces it and never changes it.
  std::shared_ptr<const user_profile> profile() const {
    std::lock_guard lock(mutex_);
    return profile_;
  }
  void set_profile(user_profile profile) {
    auto next = std::make_shared<const user_profile>(std::move(profile));
    std::lock_guard lock(mutex_);
    profile_ = std::move(next);
  }

  /// A refresh's new access token; ignored once the session is logged out.
  void set_access_token(secret token) {
    {
      std::lock_guard lock(mutex_);
      if (refresh_token_.empty()) return;
      access_token_ = std::move(token);
    }
    notify();
  }

  /// A new log in of the same user: both tokens, the device id and the provider at once, so no reader
  /// sees a mix of two logins. Logs a logged-out session in again. The observer is not told: the app
  /// that calls this (its upsert) stores the change itself.
  /// A null `profile` (the log in fetched none) keeps the one the session has.
  void update_login(std::string device_id, std::string provider, secret access_token, secret refresh_token,
                    std::shared_ptr<const user_profile> profile) {
    std::lock_guard lock(mutex_);
    device_id_ = std::move(device_id);
    provider_ = std::move(provider);
    access_token_ = std::move(access_token);
    refresh_token_ = std::move(refresh_token);
    if (profile) profile_ = std::move(profile);
    ++login_number_;
  }

  /// Ends the session locally: both tokens are wiped and every later call is refused without a request.
  void log_out() noexcept {
    {
      std::lock_guard lock(mutex_);
      if (refresh_token_.empty() && access_token_.empty()) return;
      access_token_.clear();
      refresh_token_.clear();
    }
    notify();
  }

  /// Whom to tell when the tokens change; an app with a session store sets itself. An observer that is
  /// gone is not told; setting another replaces it.
  void set_observer(std::weak_ptr<detail::session_observer> observer) {
    std::lock_guard lock(mutex_);
    observer_ = std::move(observer);
  }
  /// As log_out(), after calling `use(token)` with the refresh token under the same lock (to build the
  /// request that revokes the session on the server), so of several callers at once only one gets it.
  /// Returns false without calling `use` when the session is already logged out, or when `only_login` is
  /// given and a later log in replaced the tokens (login_number()): the 401 was for tokens it no longer
  /// has. The tokens are wiped even if `use` throws; the view must not escape `use`.
  template <class Use>
  bool end_with_refresh_token(Use&& use, std::optional<std::uint64_t> only_login = std::nullopt) {
    bool ended = false;
    struct notify_on_exit {  // after the lock is released, as log_out() does
      session* self;
      const bool* ended;
      ~notify_on_exit() {
        if (*ended) self->notify();
      }
    } const tell{this, &ended};
    std::lock_guard lock(mutex_);
    if (refresh_token_.empty() || (only_login && *only_login != login_number_)) return false;
    ended = true;
    struct wipe_on_exit {
      session* self;
      ~wipe_on_exit() {
        self->access_token_.clear();
        self->refresh_token_.clear();
      }
    } const wipe{this};
    use(refresh_token_.reveal());
    return true;
  }

 private:
  template <class Use>
  void call_with_token(Use& use, const secret& token) const {
    if constexpr (std::is_invocable_v<Use&, std::string_view, std::uint64_t>) {
      use(token.reveal(), login_number_);
    } else {
      use(token.reveal());
    }
  }

  void notify() noexcept {
    std::shared_ptr<detail::session_observer> observer;
    {
      std::lock_guard lock(mutex_);
      observer = observer_.lock();
    }
    if (observer) observer->tokens_changed(*this);
  }

  const std::string user_id_;
  const std::string host_;
  mutable std::mutex mutex_;
  std::string device_id_;
  std::string provider_;
  secret access_token_;
  secret refresh_token_;
  std::shared_ptr<const user_profile> profile_;
  std::uint64_t login_number_ = 0;
  std::weak_ptr<detail::session_observer> observer_;
};

namespace detail {
inline std::string describe(const session& s) {
  std::string out = "session{user_id=";
  out.append(s.user_id()).append(", device_id=").append(s.device_id()).append(", provider=").append(s.provider());
  out.append(", host=").append(s.host()).append(s.logged_in() ? ", logged in}" : ", logged out}");
  return out;
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const session& s) { return os << detail::describe(s); }

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::session> : apikeys::detail::described_formatter<apikeys::session, &apikeys::detail::describe> {};

#endif  // APIKEYS_SESSION_HPP
// ---- end apikeys/session.hpp ----
// ---- begin apikeys/session_store.hpp ----
// apikeys session stores: where an app keeps its logged-in users, so they survive a restart.
#ifndef APIKEYS_SESSION_STORE_HPP
#define APIKEYS_SESSION_STORE_HPP

#include <algorithm>
#include <atomic>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#define APIKEYS_HAS_FILE_SESSION_STORE 1
#else
#define APIKEYS_HAS_FILE_SESSION_STORE 0
#endif

#include <simdjson.h>

// ---- begin apikeys/detail/json_writer.hpp ----
// apikeys::detail: compact JSON writing and UTF-8 validation for request bodies (docs/protocol.md section 3).
#ifndef APIKEYS_DETAIL_JSON_WRITER_HPP
#define APIKEYS_DETAIL_JSON_WRITER_HPP

namespace APIKEYS_NAMESPACE::detail {

/// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
constexpr bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0u) != 0x80u) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return false;
    i += len;
  }
  return true;
}

/// Appends `text` as a JSON string literal: `"` and `\` escaped, control characters as \b \f \n \r \t or
/// \u00xx (lowercase hex), `/` and non-ASCII bytes as they are. The caller has checked the UTF-8.
inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // copy unescaped runs in one append
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    out.push_back('\\');
    switch (c) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '\b': out.push_back('b'); break;
      case '\f': out.push_back('f'); break;
      case '\n': out.push_back('n'); break;
      case '\r': out.push_back('r'); break;
      case '\t': out.push_back('t'); break;
      default:
        out.append("u00");
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0x0f]);
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

/// Appends `"key":` followed by the string value; keys are library constants and need no escaping.
inline void append_json_member(std::string& out, std::string_view key, std::string_view value) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
  append_json_string(out, value);
}

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_JSON_WRITER_HPP
// ---- end apikeys/detail/json_writer.hpp ----
namespace APIKEYS_NAMESPACE {

/// One user as a store keeps it: what a session is made of (session.hpp).
struct stored_user {
  std::string user_id;
  std::string device_id;
  std::string provider;
  std::string host;
  secret access_token;
  secret refresh_token;
};

namespace detail {
// The ids, provider and host; the tokens never (a stored_user prints like the session it makes).
inline std::string describe(const stored_user& u) {
  std::string out = "stored_user{user_id=";
  out.append(u.user_id).append(", device_id=").append(u.device_id).append(", provider=").append(u.provider);
  out.append(", host=").append(u.host).append(u.refresh_token.empty() ? ", no tokens}" : ", tokens <redacted>}");
  return out;
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const stored_user& u) { return os << detail::describe(u); }

/// Everything a store holds: its users in the order they first logged in, and the current user's id
/// (empty when there is none).
struct stored_users {
  std::vector<stored_user> users;
  std::string current_user_id;
};

/// A place for an app's logged-in users (basic_app_client::use_store): .NET's App.AllUsers and
/// App.CurrentUser, kept across restarts. Every operation reports failure as a result, with
/// errc::store_error and a message that never holds a token.
///   load()                  everything it holds (nothing, the first time)
///   save(user)              adds the user, or replaces the one with the same user id in place
///   remove(user_id)         forgets the user (and the current user id if it is this one); a user it does
///                           not hold is no error
///   set_current(user_id)    the current user; empty for none
/// An app calls its store from one thread at a time; a store shared by several apps locks itself.
template <class S>
concept session_store = requires(S& store, const stored_user& user, std::string_view user_id) {
  { store.load() } -> std::same_as<result<stored_users>>;
  { store.save(user) } -> std::same_as<result<void>>;
  { store.remove(user_id) } -> std::same_as<result<void>>;
  { store.set_current(user_id) } -> std::same_as<result<void>>;
};

namespace detail {

// A failure of this side, with no response (operations/common.hpp's client_error sits a floor above).
inline api_error local_error(errc code, std::string message) {
  api_error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}
inline api_error store_error(std::string message) { return local_error(errc::store_error, std::move(message)); }

/// What a session holds, as a store keeps it; the tokens are copied under the session's lock.
inline stored_user to_stored(const session& user) {
  return {user.user_id(), user.device_id(), user.provider(), user.host(), user.access_token(), user.refresh_token()};
}

// The edits every store makes to what it holds, written once.
inline void upsert(stored_users& all, const stored_user& user) {
  for (auto& held : all.users) {
    if (held.user_id == user.user_id) {
      held = user;
      return;
    }
  }
  all.users.push_back(user);
}
inline void forget(stored_users& all, std::string_view user_id) {
  std::erase_if(all.users, [&](const stored_user& held) { return held.user_id == user_id; });
  if (all.current_user_id == user_id) all.current_user_id.clear();
}

}  // namespace detail

/// A store in this process's memory: users survive a new app object, not a new process. For tests, and
/// for apps that want the users API (current_user(), all_users(), the upsert) without persistence.
/// Thread safety: every member function may be called concurrently.
class memory_session_store {
 public:
  result<stored_users> load() const {
    std::lock_guard lock(mutex_);
    return held_;
  }
  result<void> save(const stored_user& user) {
    std::lock_guard lock(mutex_);
    detail::upsert(held_, user);
    return {};
  }
  result<void> remove(std::string_view user_id) {
    std::lock_guard lock(mutex_);
    detail::forget(held_, user_id);
    return {};
  }
  result<void> set_current(std::string_view user_id) {
    std::lock_guard lock(mutex_);
    held_.current_user_id.assign(user_id);
    return {};
  }

 private:
  mutable std::mutex mutex_;
  stored_users held_;
};

#if APIKEYS_HAS_FILE_SESSION_STORE

/// How a file_session_store treats its file.
struct file_store_options {
  /// Refuse (errc::store_error) a file that other users may read or write (any group or other permission
  /// bit): its tokens may have leaked. Off, the file is read anyway; each write makes it 0600 again.
  bool refuse_open_permissions = true;
};

/// A store in one JSON file (docs/protocol.md section 9 shows its format). The file is created with mode
/// 0600, and each missing directory above it with mode 0700, whatever the umask. Every change rewrites
/// the whole file atomically: a temporary file in the same directory, fsync, rename; a reader (another
/// process too) sees the old file or the new one, never half of one. Removing the last user removes the
/// file. A missing file is an empty store. A file that cannot be read, is not one of ours, or (by
/// default) is open to other users is refused with errc::store_error, naming the path and never a token.
/// It also reads the one-session file the apikeys CLI wrote before 0.2 (the six members of a user at the
/// top level), as a store of that one user, who is current.
/// Thread safety: every member function may be called concurrently; two processes that write the same
/// file at once each write a whole file, and the last rename wins.
class file_session_store {
 public:
  /// A session file is a few hundred bytes per user; anything much larger is not one of ours.
  static constexpr std::size_t max_file_size = 1024 * 1024;

  explicit file_session_store(std::string path, file_store_options options = {})
      : path_(std::move(path)), options_(options) {}

  const std::string& path() const noexcept { return path_; }

  result<stored_users> load() const {
    std::lock_guard lock(mutex_);
    return read();
  }
  result<void> save(const stored_user& user) {
    return change([&](stored_users& all) { detail::upsert(all, user); });
  }
  result<void> remove(std::string_view user_id) {
    return change([&](stored_users& all) { detail::forget(all, user_id); });
  }
  result<void> set_current(std::string_view user_id) {
    return change([&](stored_users& all) { all.current_user_id.assign(user_id); });
  }

 private:
  template <class Edit>
  result<void> change(Edit&& edit) {
    std::lock_guard lock(mutex_);
    auto all = read();
    if (!all) return unexpected{std::move(all).error()};
    edit(*all);
    if (all->users.empty()) return erase();
    return write(*all);
  }

  static std::string errno_text(int error) { return std::strerror(error); }
  static void wipe(std::string& text) noexcept {
    detail::secure_wipe(text.data(), text.size());
    text.clear();
  }

  result<stored_users> read() const {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == ENOENT) return stored_users{};
      return unexpected{detail::store_error("cannot open the session file " + path_ + ": " + errno_text(error))};
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      ::close(fd);
      return unexpected{detail::store_error("the session file " + path_ + " is not a regular file")};
    }
    if (options_.refuse_open_permissions && (info.st_mode & 077) != 0) {
      ::close(fd);
      return unexpected{detail::store_error("other users may read the session file " + path_ +
                                            "; refusing it (chmod 600 it, or log in again)")};
    }
    if (static_cast<unsigned long long>(info.st_size) > max_file_size) {
      ::close(fd);
      return unexpected{detail::store_error("the session file " + path_ + " is not valid: it is too large to be one")};
    }
    // Sized once with simdjson's padding, so the tokens are never copied by a reallocation.
    const auto size = static_cast<std::size_t>(info.st_size);
    std::string text(size + simdjson::SIMDJSON_PADDING, ' ');
    std::size_t used = 0;
    while (used < size) {
      const ssize_t n = ::read(fd, text.data() + used, size - used);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error = errno;
        ::close(fd);
        wipe(text);
        return unexpected{detail::store_error("cannot read the session file " + path_ + ": " + errno_text(error))};
      }
      if (n == 0) break;
      used += static_cast<std::size_t>(n);
    }
    ::close(fd);
    std::string problem;
    stored_users all = parse(text, used, problem);
    wipe(text);
    if (!problem.empty())
      return unexpected{detail::store_error("the session file " + path_ + " is not valid: " + problem)};
    return all;
  }

  // The six string members of a user; `problem` says what is wrong (never quoting a value).
  static constexpr std::string_view member_names[6] = {"user_id", "device_id", "provider", "host", "access_token", "refresh_token"};
  struct user_fields {
    std::optional<secret> values[6];
  };
  // One member of a user object; false when `key` is not one of the six (ignored: a later version's).
  static bool read_member(user_fields& into, std::string_view key, simdjson::ondemand::value value, std::string& problem) {
    std::size_t i = 0;
    while (i < 6 && member_names[i] != key) ++i;
    if (i == 6) return false;
    std::string_view text;
    if (into.values[i]) {
      problem = "'" + std::string{member_names[i]} + "' appears twice";
    } else if (value.get_string().get(text) != simdjson::SUCCESS) {
      problem = "'" + std::string{member_names[i]} + "' is not a string";
    } else {
      into.values[i].emplace(text);
    }
    return true;
  }
  static std::optional<stored_user> finish_user(user_fields& fields, std::string& problem) {
    for (std::size_t i = 0; i < 6; ++i) {
      if (!fields.values[i] || fields.values[i]->empty()) {
        problem = "'" + std::string{member_names[i]} + "' is missing or empty";
        return std::nullopt;
      }
    }
    const std::string_view host = fields.values[3]->reveal();
    if (!host.starts_with("http://") && !host.starts_with("https://")) {
      problem = "'host' is not an http or https URL";
      return std::nullopt;
    }
    return stored_user{std::string{fields.values[0]->reveal()}, std::string{fields.values[1]->reveal()},
                       std::string{fields.values[2]->reveal()}, std::string{host}, std::move(*fields.values[4]),
                       std::move(*fields.values[5])};
  }

  // {"current_user_id":"...","users":[{user}, ...]}, or the CLI's older file: one user's members at the top.
  static stored_users parse(const std::string& text, std::size_t used, std::string& problem) {
    stored_users all;
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    const simdjson::padded_string_view view(text.data(), used, text.size());
    if (parser.iterate(view).get(doc) != simdjson::SUCCESS || doc.get_object().get(object) != simdjson::SUCCESS) {
      problem = "it is not one JSON object";
      return all;
    }
    user_fields legacy;
    bool any_legacy = false;
    bool any_current = false;
    bool any_users = false;
    for (auto member : object) {
      simdjson::ondemand::field field;
      std::string_view key;
      if (std::move(member).get(field) != simdjson::SUCCESS || field.unescaped_key().get(key) != simdjson::SUCCESS) {
        problem = "it is not valid JSON";
        return all;
      }
      if (key == "current_user_id") {
        std::string_view id;
        if (any_current || field.value().get_string().get(id) != simdjson::SUCCESS) {
          problem = "'current_user_id' is not one string";
          return all;
        }
        any_current = true;
        all.current_user_id.assign(id);
      } else if (key == "users") {
        simdjson::ondemand::array users;
        if (any_users || field.value().get_array().get(users) != simdjson::SUCCESS) {
          problem = "'users' is not one array";
          return all;
        }
        any_users = true;
        for (auto element : users) {
          simdjson::ondemand::object user_object;
          if (std::move(element).get_object().get(user_object) != simdjson::SUCCESS) {
            problem = "a user is not a JSON object";
            return all;
          }
          user_fields fields;
          for (auto user_member : user_object) {
            simdjson::ondemand::field user_field;
            std::string_view user_key;
            if (std::move(user_member).get(user_field) != simdjson::SUCCESS ||
                user_field.unescaped_key().get(user_key) != simdjson::SUCCESS) {
              problem = "it is not valid JSON";
              return all;
            }
            read_member(fields, user_key, user_field.value(), problem);
            if (!problem.empty()) return all;
          }
          auto user = finish_user(fields, problem);
          if (!user) return all;
          for (const auto& held : all.users) {
            if (held.user_id == user->user_id) {
              problem = "a user appears twice";
              return all;
            }
          }
          all.users.push_back(std::move(*user));
        }
      } else if (read_member(legacy, key, field.value(), problem)) {
        any_legacy = true;
        if (!problem.empty()) return all;
      }
      // Any other member was written by a later version, perhaps: ignored.
    }
    const char* where = nullptr;
    // simdjson 3.0 has no document::at_end(); a location past the last structural means the same.
    if (doc.current_location().get(where) != simdjson::OUT_OF_BOUNDS) {
      problem = "it has trailing content";
      return all;
    }
    if (any_legacy) {
      if (any_users || any_current) {
        problem = "it mixes a user's members with 'users'";
        return all;
      }
      auto user = finish_user(legacy, problem);
      if (!user) return all;
      all.current_user_id = user->user_id;
      all.users.push_back(std::move(*user));
      return all;
    }
    if (!any_users) {
      problem = "'users' is missing";
      return all;
    }
    if (!all.current_user_id.empty() &&
        std::none_of(all.users.begin(), all.users.end(), [&](const stored_user& u) { return u.user_id == all.current_user_id; }))
      problem = "'current_user_id' names no user in it";
    return all;
  }

  static std::string serialize(const stored_users& all) {
    std::size_t room = 64 + 6 * all.current_user_id.size();
    for (const auto& user : all.users)
      room += 128 + 6 * (user.user_id.size() + user.device_id.size() + user.provider.size() + user.host.size() +
                         user.access_token.size() + user.refresh_token.size());
    std::string text;
    text.reserve(room);  // every member escaped at worst: the buffer holding the tokens never moves
    text.append("{\"version\":1,");
    detail::append_json_member(text, "current_user_id", all.current_user_id);
    text.append(",\"users\":[");
    bool first = true;
    for (const auto& user : all.users) {
      if (!first) text.push_back(',');
      first = false;
      text.push_back('{');
      const std::string_view values[6] = {user.user_id, user.device_id, user.provider, user.host,
                                          user.access_token.reveal(), user.refresh_token.reveal()};
      for (std::size_t i = 0; i < 6; ++i) {
        if (i != 0) text.push_back(',');
        detail::append_json_member(text, member_names[i], values[i]);
      }
      text.push_back('}');
    }
    text.append("]}\n");
    return text;
  }

  // mkdir -p of the file's directory, each missing directory private to the user (0700).
  result<void> make_directories() const {
    const std::size_t slash = path_.rfind('/');
    if (slash == std::string::npos || slash == 0) return {};
    const std::string parent = path_.substr(0, slash);
    for (std::size_t end = parent.find('/', 1);; end = parent.find('/', end + 1)) {
      const std::string prefix = parent.substr(0, end);
      if (::mkdir(prefix.c_str(), 0700) == 0) {
        ::chmod(prefix.c_str(), 0700);  // the umask may have taken bits away; 0700 is what we want
      } else if (errno != EEXIST) {
        return unexpected{detail::store_error("cannot create directory " + prefix + ": " + errno_text(errno))};
      }
      if (end == std::string::npos) break;
    }
    struct stat info {};
    if (::stat(parent.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
      return unexpected{detail::store_error(parent + " is not a directory")};
    return {};
  }

  static bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  result<void> write(const stored_users& all) const {
    if (auto made = make_directories(); !made) return made;
    std::string text = serialize(all);
    // Unique per process and write, so two stores on one path in one process never share a temporary.
    static std::atomic<unsigned long> writes{0};
    const std::string temporary = path_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(++writes);
    ::unlink(temporary.c_str());  // a leftover of an earlier crash with our pid; never followed if a link
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      const int error = errno;
      wipe(text);
      return unexpected{detail::store_error("cannot create " + temporary + ": " + errno_text(error))};
    }
    // The umask may only take bits away, and 0600 is what we want whatever it is; say so explicitly.
    bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, text) && ::fsync(fd) == 0;
    int error = ok ? 0 : errno;
    wipe(text);
    if (::close(fd) != 0 && ok) {
      ok = false;
      error = errno;
    }
    if (ok && ::rename(temporary.c_str(), path_.c_str()) != 0) {
      ok = false;
      error = errno;
    }
    if (!ok) {
      ::unlink(temporary.c_str());
      return unexpected{detail::store_error("cannot write the session file " + path_ + ": " + errno_text(error))};
    }
    return {};
  }

  result<void> erase() const {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
      return unexpected{detail::store_error("cannot remove the session file " + path_ + ": " + errno_text(errno))};
    return {};
  }

  std::string path_;
  file_store_options options_;
  mutable std::mutex mutex_;
};

static_assert(session_store<file_session_store>);

#endif  // APIKEYS_HAS_FILE_SESSION_STORE

static_assert(session_store<memory_session_store>);

namespace detail {

// --- the app's users: the store behind basic_app_client's users API -----------------------------------------

/// A store of any type, behind one interface, so the app's type does not name it.
class any_session_store {
 public:
  virtual ~any_session_store() = default;
  virtual result<stored_users> load() = 0;
  virtual result<void> save(const stored_user& user) = 0;
  virtual result<void> remove(std::string_view user_id) = 0;
  virtual result<void> set_current(std::string_view user_id) = 0;
};

template <session_store Store>
class session_store_ref final : public any_session_store {
 public:
  explicit session_store_ref(Store& store) : store_(&store) {}
  result<stored_users> load() override { return store_->load(); }
  result<void> save(const stored_user& user) override { return store_->save(user); }
  result<void> remove(std::string_view user_id) override { return store_->remove(user_id); }
  result<void> set_current(std::string_view user_id) override { return store_->set_current(user_id); }

 private:
  Store* store_;
};

/// An app's logged-in users and the store they are kept in. It observes each of its sessions: a new access
/// token is saved, a session that ends is forgotten (docs/protocol.md section 7). One mutex orders every
/// change and every store call, so the store always holds the latest tokens of each session.
class user_registry final : public session_observer, public std::enable_shared_from_this<user_registry> {
 public:
  /// Uses `store` from now on and restores the logged-in users it holds; the users known so far are
  /// replaced by the store's.
  result<void> attach(std::unique_ptr<any_session_store> store) {
    auto held = store->load();
    if (!held) return unexpected{std::move(held).error()};
    std::vector<std::shared_ptr<session>> restored;
    for (auto& user : held->users) {
      restored.push_back(std::make_shared<session>(std::move(user.user_id), std::move(user.device_id), std::move(user.provider),
                                                   std::move(user.host), std::move(user.access_token),
                                                   std::move(user.refresh_token)));
      restored.back()->set_observer(weak_from_this());
    }
    std::vector<std::shared_ptr<session>> dropped;
    const std::lock_guard lock(mutex_);
    store_ = std::move(store);
    dropped.swap(users_);
    users_ = std::move(restored);
    current_ = held->current_user_id;
    if (find(current_) == nullptr) current_ = users_.empty() ? std::string{} : users_.back()->user_id();
    for (const auto& user : dropped) user->set_observer({});
    return {};
  }

  bool has_store() const {
    const std::lock_guard lock(mutex_);
    return store_ != nullptr;
  }

  /// A log in's new session, kept: when the store already holds this user, that user's session takes the
  /// new tokens and is returned (the upsert); either way the user becomes the current one. Without a
  /// store, `fresh` as it is. A store that cannot be written fails the log in, and nothing changes.
  result<std::shared_ptr<session>> adopt(std::shared_ptr<session> fresh) {
    const std::lock_guard lock(mutex_);
    if (!store_) return fresh;
    const stored_user stored = to_stored(*fresh);
    if (auto saved = store_->save(stored); !saved) return unexpected{std::move(saved).error()};
    if (auto made_current = store_->set_current(stored.user_id); !made_current) return unexpected{std::move(made_current).error()};
    current_ = stored.user_id;
    if (const auto& known = find(stored.user_id)) {
      known->update_login(stored.device_id, stored.provider, stored.access_token, stored.refresh_token, fresh->profile());
      fresh->log_out();  // its tokens live on in `known`; this copy goes
      return known;
    }
    fresh->set_observer(weak_from_this());
    users_.push_back(fresh);
    return fresh;
  }

  std::shared_ptr<session> current_user() const {
    const std::lock_guard lock(mutex_);
    const auto& user = find(current_);
    return user && user->logged_in() ? user : nullptr;
  }

  std::vector<std::shared_ptr<session>> all_users() const {
    const std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<session>> out;
    for (const auto& user : users_)
      if (user->logged_in()) out.push_back(user);
    return out;
  }

  result<void> switch_user(const std::shared_ptr<session>& user) {
    const std::lock_guard lock(mutex_);
    if (!user || find(user->user_id()) != user || !user->logged_in())
      return unexpected{local_error(errc::invalid_argument, "switch user: the user is not logged in to this app")};
    if (!store_) return {};
    if (auto made_current = store_->set_current(user->user_id()); !made_current) return made_current;
    current_ = user->user_id();
    return {};
  }

  // A session of ours changed: save its new tokens, or forget it when it ended. A store that fails here
  // is not reported (there is no caller to tell); the store then holds older tokens, which a refresh or
  // a 401 puts right at the next call.
  void tokens_changed(session& user) noexcept override {
#if APIKEYS_HAS_EXCEPTIONS
    try {
#endif
      const std::lock_guard lock(mutex_);
      const auto& known = find(user.user_id());
      if (!store_ || known.get() != &user) return;
      if (user.logged_in()) {
        (void)store_->save(to_stored(user));
        return;
      }
      const std::shared_ptr<session> ended = known;  // `known` refers into users_, which erase moves
      std::erase(users_, ended);
      (void)store_->remove(user.user_id());
      if (current_ == user.user_id()) {
        current_ = users_.empty() ? std::string{} : users_.back()->user_id();
        (void)store_->set_current(current_);
      }
#if APIKEYS_HAS_EXCEPTIONS
    } catch (...) {
    }
#endif
  }

 private:
  const std::shared_ptr<session>& find(std::string_view user_id) const {
    static const std::shared_ptr<session> none;
    for (const auto& user : users_)
      if (user->user_id() == user_id) return user;
    return none;
  }

  mutable std::mutex mutex_;
  std::unique_ptr<any_session_store> store_;
  std::vector<std::shared_ptr<session>> users_;
  std::string current_;
};

}  // namespace detail

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::stored_user>
    : apikeys::detail::described_formatter<apikeys::stored_user, &apikeys::detail::describe> {};

#endif  // APIKEYS_SESSION_STORE_HPP
// ---- end apikeys/session_store.hpp ----
// ---- begin apikeys/decoder.hpp ----
// apikeys decoding: what each server answer decodes to, and the error rules of section 5.
#ifndef APIKEYS_DECODER_HPP
#define APIKEYS_DECODER_HPP

namespace APIKEYS_NAMESPACE {

// Each decoder reads with simdjson on-demand (impl/decoder.hpp). Header-only by default; with
// APIKEYS_SEPARATE_COMPILATION these are declarations only, compiled once where APIKEYS_IMPLEMENTATION is
// defined, so the translation units that call apikeys never parse <simdjson.h>.

/// Create's answer: the key with its secret, which the server shows this once.
APIKEYS_DECL result<api_key> decode_created_key(const http_response& response);

/// Fetch's answer: one key, without its secret.
APIKEYS_DECL result<api_key> decode_key(const http_response& response);

/// Fetch all's answer: a JSON array of keys, in the server's (creation) order.
APIKEYS_DECL result<std::vector<api_key>> decode_key_list(const http_response& response);

/// A log in's answer: the four required strings of docs/protocol.md section 4. The tokens go straight from
/// the parser's buffer into secrets, never through an ordinary string.
APIKEYS_DECL result<login_response> decode_login(const http_response& response);

/// A refresh's answer: the new access token.
APIKEYS_DECL result<secret> decode_access_token(const http_response& response);

/// The location answer; `hostname` and `ws_hostname` are required strings. hostname, trailing '/' removed,
/// must be an http(s) URL, maybe with a path prefix, in visible ASCII, without user info, query or fragment
/// (docs/protocol.md section 6); ws_hostname is kept as sent.
APIKEYS_DECL result<location_response> decode_location(const http_response& response);

/// The profile answer; `identities` and `data` are required, as core requires them.
APIKEYS_DECL result<user_profile> decode_profile(const http_response& response);

/// docs/protocol.md section 5: the error a response carries, if any, by core's rules in order. A JSON body
/// (Content-Type application/json, parameters allowed) with a non-empty string `error_code` is a service
/// error even on a 2xx; one with only a string `error` is an unknown service error; otherwise a non-2xx
/// status is an HTTP error carrying the body as text. An error body that does not parse is treated as text.
APIKEYS_DECL std::optional<api_error> classify_response(const http_response& response);

}  // namespace apikeys

#if !defined(APIKEYS_SEPARATE_COMPILATION) || defined(APIKEYS_IMPLEMENTATION)
// ---- begin apikeys/impl/decoder.hpp ----
// apikeys decoding, the definitions: simdjson on-demand readers behind decoder.hpp's declarations.
#ifndef APIKEYS_IMPL_DECODER_HPP
#define APIKEYS_IMPL_DECODER_HPP

// ---- begin apikeys/detail/json_reader.hpp ----
// apikeys::detail: the per-thread simdjson parser, padding without copying, and bad-response errors.
#ifndef APIKEYS_DETAIL_JSON_READER_HPP
#define APIKEYS_DETAIL_JSON_READER_HPP

namespace APIKEYS_NAMESPACE::detail {

/// Answers bigger than this are refused before parsing: a key list is at most 20 keys (about 1.5 KB),
/// so 16 MiB leaves room for any compatible server while bounding what a hostile one can make us hold.
inline constexpr std::size_t max_response_bytes = std::size_t{16} << 20;

/// One on-demand parser per thread, reused across calls so its buffers are allocated once. A decode
/// never calls user code while it holds the parser, so reuse cannot be re-entrant.
inline simdjson::ondemand::parser& thread_parser() noexcept {
  thread_local simdjson::ondemand::parser parser{max_response_bytes};
  return parser;
}

/// The body as a padded view: in place when the string's spare capacity already covers simdjson's
/// padding (transports can reserve it), otherwise copied once into a per-thread padded buffer.
inline simdjson::padded_string_view padded_body(const std::string& body) {
  if (body.capacity() - body.size() >= simdjson::SIMDJSON_PADDING) return simdjson::padded_string_view(body);
  thread_local std::string buffer;
  buffer.assign(body);
  buffer.resize(body.size() + simdjson::SIMDJSON_PADDING, ' ');
  return simdjson::padded_string_view(buffer.data(), body.size(), buffer.size());
}

/// A simdjson failure while reading `field` (empty for the document itself) as `expected`.
/// Type errors name the field; structural errors say the JSON itself is broken.
inline api_error json_error(simdjson::error_code code, std::string_view field, std::string_view expected, int status) {
  std::string message;
  const bool type_error = code == simdjson::INCORRECT_TYPE || code == simdjson::NUMBER_ERROR ||
                          code == simdjson::NUMBER_OUT_OF_RANGE || code == simdjson::T_ATOM_ERROR ||
                          code == simdjson::F_ATOM_ERROR || code == simdjson::N_ATOM_ERROR;
  if (type_error && !field.empty()) {
    message.append("field '").append(field).append("' must be ").append(expected);
  } else if (type_error) {
    message.append("the body must be ").append(expected);
  } else {
    if (!field.empty()) message.append("in field '").append(field).append("': ");
    message.append("invalid JSON (").append(simdjson::error_message(code)).append(")");
    if (field.empty() && !expected.empty()) message.append(", expected ").append(expected);
  }
  return bad_response(std::move(message), status);
}

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_JSON_READER_HPP
// ---- end apikeys/detail/json_reader.hpp ----
namespace APIKEYS_NAMESPACE {

namespace detail {

using simdjson::ondemand::object;

// Field paths in messages read like "[3]._id" for the fourth key of a list.
inline std::string field_path(std::string_view prefix, std::string_view name) {
  std::string path{prefix};
  if (!path.empty()) path.push_back('.');
  path.append(name);
  return path;
}

inline api_error missing_field(std::string_view prefix, std::string_view name, int status) {
  return bad_response("missing field '" + field_path(prefix, name) + "'", status);
}

inline api_error duplicate_field(std::string_view prefix, std::string_view name, int status) {
  return bad_response("duplicate field '" + field_path(prefix, name) + "'", status);
}

// Visits every member of `obj` once, in order, handing `visit(key, value)` the unescaped key. Members the
// visitor does not read are skipped by simdjson. Returns the first error, from simdjson or the visitor.
template <class Visit>
std::optional<api_error> for_each_member(object& obj, std::string_view prefix, int status, Visit&& visit) {
  for (auto member : obj) {
    simdjson::ondemand::field field;
    if (auto e = std::move(member).get(field)) return json_error(e, prefix, "an object", status);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return json_error(e, prefix, "an object", status);
    if (auto err = visit(key, field.value())) return err;
  }
  return std::nullopt;
}

// Reads a required string member into `out`, rejecting a second occurrence.
inline std::optional<api_error> read_string(simdjson::ondemand::value value, std::string_view prefix, std::string_view name,
                                            bool& seen, std::string_view& out, int status,
                                            std::string_view expected = "a string") {
  if (seen) return duplicate_field(prefix, name, status);
  seen = true;
  if (auto e = value.get_string().get(out)) return json_error(e, field_path(prefix, name), expected, status);
  return std::nullopt;
}

// Opens the body as a document whose root must be an object; the caller reads it and then calls
// finish_document to refuse trailing content.
inline std::optional<api_error> open_object(const http_response& response, simdjson::ondemand::document& doc,
                                            object& obj, std::string_view expected) {
  if (response.body.size() > max_response_bytes)
    return bad_response("body of " + std::to_string(response.body.size()) + " bytes is too large", response.status);
  if (response.body.empty()) return bad_response("empty body, expected " + std::string{expected}, response.status);
  if (auto e = thread_parser().iterate(padded_body(response.body)).get(doc))
    return json_error(e, "", expected, response.status);
  if (auto e = doc.get_object().get(obj)) return json_error(e, "", expected, response.status);
  return std::nullopt;
}

// simdjson 3.0 has no document::at_end(); a location past the last structural means the same.
inline bool at_document_end(simdjson::ondemand::document& doc) noexcept {
  const char* where = nullptr;
  return doc.current_location().get(where) == simdjson::OUT_OF_BOUNDS;
}

inline std::optional<api_error> finish_document(simdjson::ondemand::document& doc, int status) {
  if (!at_document_end(doc)) return bad_response("trailing content after the JSON value", status);
  return std::nullopt;
}

// Where reading one key object went wrong. Only names and codes: the message, with its path such as
// "[3]._id", is built by describe() when a fault is reported, so a good answer builds no strings.
struct key_fault {
  enum class kind : unsigned char { none, json, type, bad_id, duplicate, missing };
  kind what = kind::none;
  simdjson::error_code code = simdjson::SUCCESS;
  std::string_view field;     // a member name (a literal, never the parser's buffer)
  std::string_view expected;  // what that member must be
  explicit operator bool() const noexcept { return what != kind::none; }
};

inline constexpr std::string_view id_expected = "a string of 24 hex digits";

[[gnu::cold, gnu::noinline]] inline api_error describe(const key_fault& f, std::string_view prefix, int status) {
  switch (f.what) {
    case key_fault::kind::json: return json_error(f.code, prefix, "an object", status);
    case key_fault::kind::type: return json_error(f.code, field_path(prefix, f.field), f.expected, status);
    case key_fault::kind::bad_id:
      return bad_response("field '" + field_path(prefix, f.field) + "' must be " + std::string{f.expected}, status);
    case key_fault::kind::duplicate: return duplicate_field(prefix, f.field, status);
    case key_fault::kind::missing: return missing_field(prefix, f.field, status);
    case key_fault::kind::none: break;
  }
  return bad_response("unreadable API key object", status);
}

// One key object into `key`, filled in place. `with_secret`: create's answer, where `key` (the secret) is
// required; elsewhere a `key` member is still checked for type but never kept, since only create may
// reveal it. Every member is visited once; unknown members are skipped by simdjson.
inline key_fault read_key(object& obj, api_key& key, bool with_secret) {
  using kind = key_fault::kind;
  bool seen_id = false, seen_name = false, seen_disabled = false, seen_key = false;
  std::string_view text;
  for (auto member : obj) {
    simdjson::ondemand::field field;
    std::string_view name;
    if (auto e = std::move(member).get(field)) return {kind::json, e, {}, {}};
    if (auto e = field.unescaped_key().get(name)) return {kind::json, e, {}, {}};
    if (name == "_id") {
      if (seen_id) return {kind::duplicate, {}, "_id", {}};
      seen_id = true;
      if (auto e = field.value().get_string().get(text)) return {kind::type, e, "_id", id_expected};
      const auto id = object_id::parse(text);
      if (!id) return {kind::bad_id, {}, "_id", id_expected};
      key.id = *id;
    } else if (name == "name") {
      if (seen_name) return {kind::duplicate, {}, "name", {}};
      seen_name = true;
      if (auto e = field.value().get_string().get(text)) return {kind::type, e, "name", "a string"};
      key.name.assign(text);
    } else if (name == "disabled") {
      if (seen_disabled) return {kind::duplicate, {}, "disabled", {}};
      seen_disabled = true;
      bool disabled = false;
      if (auto e = field.value().get_bool().get(disabled)) return {kind::type, e, "disabled", "a boolean"};
      key.enabled = !disabled;
    } else if (name == "key") {
      if (seen_key) return {kind::duplicate, {}, "key", {}};
      seen_key = true;
      if (auto e = field.value().get_string().get(text)) return {kind::type, e, "key", "a string"};
      if (with_secret) key.value.emplace(text);
    }
  }
  if (!seen_id) return {kind::missing, {}, "_id", {}};
  if (!seen_name) return {kind::missing, {}, "name", {}};
  if (!seen_disabled) return {kind::missing, {}, "disabled", {}};
  if (with_secret && !seen_key) return {kind::missing, {}, "key", {}};
  return {};
}

// Create's and fetch's answer: one key object, and nothing after it.
inline result<api_key> decode_one_key(const http_response& response, bool with_secret) {
  simdjson::ondemand::document doc;
  object obj;
  if (auto err = open_object(response, doc, obj, "an API key object")) return unexpected{std::move(*err)};
  result<api_key> out{api_key{}};  // filled in place: the caller's result is this one, moved nowhere
  if (auto fault = read_key(obj, *out, with_secret)) return unexpected{describe(fault, "", response.status)};
  if (auto err = finish_document(doc, response.status)) return unexpected{std::move(*err)};
  return out;
}

// Decodes an object whose members named in `names` are required strings, in any order, unknown members
// ignored; `store(i, text)` takes the i-th one's text, which lives only until the next parse.
template <std::size_t N, class Store>
std::optional<api_error> read_required_strings(const http_response& response, std::string_view expected,
                                               const std::string_view (&names)[N], Store&& store) {
  simdjson::ondemand::document doc;
  object obj;
  if (auto err = open_object(response, doc, obj, expected)) return err;
  bool seen[N] = {};
  std::string_view text;
  auto err = for_each_member(obj, "", response.status, [&](std::string_view name, simdjson::ondemand::value value)
                                                           -> std::optional<api_error> {
    for (std::size_t i = 0; i < N; ++i) {
      if (name != names[i]) continue;
      if (auto e = read_string(value, "", name, seen[i], text, response.status)) return e;
      store(i, text);
    }
    return std::nullopt;
  });
  if (err) return err;
  for (std::size_t i = 0; i < N; ++i)
    if (!seen[i]) return missing_field("", names[i], response.status);
  return finish_document(doc, response.status);
}

// A full validation of `text` as JSON, for the rare value kept as raw text (profile data).
inline simdjson::error_code validate_json(std::string_view text) {
  thread_local simdjson::dom::parser strict;
  simdjson::dom::element ignored;
  return strict.parse(simdjson::padded_string{text}).get(ignored);
}

// Visible ASCII only: what may stand in an HTTP header value such as `Authorization: Bearer <token>`.
// Tokens are a few hundred bytes and checked on every log in and refresh, so eight bytes are tested at a
// time: a byte is below 0x21 when subtracting 0x21 borrows into its high bit (and it had none), and above
// 0x7e when adding 1 reaches its high bit (or it had one). Carries only cross from a byte already bad.
inline bool is_visible_ascii(std::string_view text) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  constexpr std::uint64_t highs = 0x8080808080808080ull;
  std::size_t i = 0;
  std::uint64_t bad = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, text.data() + i, sizeof w);
    bad |= ((w - ones * 0x21) & ~w) | ((w + ones) | w);
  }
  if ((bad & highs) != 0) return false;
  for (; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

// Why a location hostname (trailing '/' already removed) cannot be built on, or nullptr when it can. Every
// later URL is the hostname followed by the route, verbatim, as realm-core builds it: so an http or https
// scheme, a non-empty authority without user info, and an optional path prefix; no query or fragment, which
// would swallow the route. Only visible ASCII, so no byte can break the request line; percent-escapes and
// other visible characters of the path are kept as sent, neither decoded nor checked.
inline const char* location_hostname_problem(std::string_view url) noexcept {
  const auto rest = url.substr(url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0);
  if (rest.size() == url.size() || rest.empty()) return "must be an http:// or https:// URL";
  if (!is_visible_ascii(rest)) return "must be visible ASCII, without spaces or control characters";
  const auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return "must not hold user information";
  if (authority.empty() || authority.front() == ':') return "names no host";
  const auto end = rest.find_first_of("?#");
  if (end == std::string_view::npos) return nullptr;
  return rest[end] == '?' ? "must not hold a query" : "must not hold a fragment";
}

// Whether a Content-Type names JSON: `application/json`, with or without parameters (section 5).
inline bool is_json_content_type(const http_response& response) noexcept {
  const std::string* type = find_header(response.headers, "content-type");
  if (!type) return false;
  std::string_view media{*type};
  media = media.substr(0, media.find(';'));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  return iequals(media, "application/json");
}

}  // namespace detail

APIKEYS_DECL result<api_key> decode_created_key(const http_response& response) { return detail::decode_one_key(response, true); }

APIKEYS_DECL result<api_key> decode_key(const http_response& response) { return detail::decode_one_key(response, false); }

APIKEYS_DECL result<std::vector<api_key>> decode_key_list(const http_response& response) {
  constexpr std::string_view expected = "a JSON array of API key objects";
  const int status = response.status;
  if (response.body.size() > detail::max_response_bytes)
    return unexpected{detail::bad_response("body of " + std::to_string(response.body.size()) + " bytes is too large", status)};
  if (response.body.empty()) return unexpected{detail::bad_response("empty body, expected " + std::string{expected}, status)};
  simdjson::ondemand::document doc;
  if (auto e = detail::thread_parser().iterate(detail::padded_body(response.body)).get(doc))
    return unexpected{detail::json_error(e, "", expected, status)};
  simdjson::ondemand::array array;
  if (auto e = doc.get_array().get(array)) return unexpected{detail::json_error(e, "", expected, status)};
  result<std::vector<api_key>> out{std::vector<api_key>{}};
  std::vector<api_key>& keys = *out;
  // A key object takes at least 61 bytes, so this is never too few for a real list; capped, so a huge
  // hostile body does not reserve more than it would make us hold anyway.
  keys.reserve(std::min<std::size_t>(response.body.size() / 61 + 1, 4096));
  for (auto element : array) {
    const auto index_path = [&] { return "[" + std::to_string(keys.size()) + "]"; };
    simdjson::ondemand::object obj;
    if (auto e = element.get_object().get(obj))
      return unexpected{detail::json_error(e, index_path(), "an API key object", status)};
    api_key& key = keys.emplace_back();
    if (auto fault = detail::read_key(obj, key, false)) {
      keys.pop_back();
      return unexpected{detail::describe(fault, index_path(), status)};
    }
  }
  if (auto err = detail::finish_document(doc, status)) return unexpected{std::move(*err)};
  return out;
}

APIKEYS_DECL result<login_response> decode_login(const http_response& response) {
  static constexpr std::string_view names[] = {"access_token", "refresh_token", "user_id", "device_id"};
  login_response out;
  auto err = detail::read_required_strings(response, "a login response object", names,
                                           [&](std::size_t i, std::string_view text) {
                                             switch (i) {
                                               case 0: out.access_token = secret{text}; break;
                                               case 1: out.refresh_token = secret{text}; break;
                                               case 2: out.user_id.assign(text); break;
                                               default: out.device_id.assign(text); break;
                                             }
                                           });
  if (err) return unexpected{std::move(*err)};
  if (!detail::is_visible_ascii(out.access_token.reveal()) || out.access_token.empty())
    return unexpected{detail::bad_response("field 'access_token' must be a non-empty token of visible ASCII", response.status)};
  if (!detail::is_visible_ascii(out.refresh_token.reveal()) || out.refresh_token.empty())
    return unexpected{detail::bad_response("field 'refresh_token' must be a non-empty token of visible ASCII", response.status)};
  return out;
}

APIKEYS_DECL result<secret> decode_access_token(const http_response& response) {
  static constexpr std::string_view names[] = {"access_token"};
  secret token;
  auto err = detail::read_required_strings(response, "a session refresh object", names,
                                           [&](std::size_t, std::string_view text) { token = secret{text}; });
  if (err) return unexpected{std::move(*err)};
  if (!detail::is_visible_ascii(token.reveal()) || token.empty())
    return unexpected{detail::bad_response("field 'access_token' must be a non-empty token of visible ASCII", response.status)};
  return token;
}

APIKEYS_DECL result<location_response> decode_location(const http_response& response) {
  static constexpr std::string_view names[] = {"hostname", "ws_hostname"};
  std::string values[2];
  if (auto err = detail::read_required_strings(response, "a location object", names,
                                               [&](std::size_t i, std::string_view text) { values[i].assign(text); }))
    return unexpected{std::move(*err)};
  while (values[0].ends_with('/')) values[0].pop_back();
  if (const char* problem = detail::location_hostname_problem(values[0]))
    return unexpected{detail::bad_response(std::string{"field 'hostname' "} + problem, response.status)};
  return location_response{std::move(values[0]), std::move(values[1])};
}

APIKEYS_DECL result<user_profile> decode_profile(const http_response& response) {
  const int status = response.status;
  simdjson::ondemand::document doc;
  detail::object obj;
  if (auto err = detail::open_object(response, doc, obj, "a profile object")) return unexpected{std::move(*err)};
  user_profile profile;
  bool seen_user = false, seen_type = false, seen_identities = false, seen_data = false;
  std::string_view text;
  auto err = detail::for_each_member(obj, "", status, [&](std::string_view name, simdjson::ondemand::value value)
                                                          -> std::optional<api_error> {
    if (name == "user_id") {
      if (auto e = detail::read_string(value, "", name, seen_user, text, status)) return e;
      profile.user_id.assign(text);
    } else if (name == "type") {
      if (auto e = detail::read_string(value, "", name, seen_type, text, status)) return e;
      profile.type.assign(text);
    } else if (name == "data") {
      if (seen_data) return detail::duplicate_field("", name, status);
      seen_data = true;
      detail::object data;
      if (auto e = value.get_object().get(data)) return detail::json_error(e, "data", "an object", status);
      if (auto e = data.raw_json().get(text)) return detail::json_error(e, "data", "an object", status);
      // On-demand skips what it is not asked to read, so the kept text is checked whole before it is
      // handed on as JSON.
      while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
        text.remove_suffix(1);
      if (auto e = detail::validate_json(text)) return detail::json_error(e, "data", "an object", status);
      profile.data.assign(text);
    } else if (name == "identities") {
      if (seen_identities) return detail::duplicate_field("", name, status);
      seen_identities = true;
      simdjson::ondemand::array array;
      if (auto e = value.get_array().get(array)) return detail::json_error(e, "identities", "an array", status);
      for (auto element : array) {
        const std::string prefix = "identities[" + std::to_string(profile.identities.size()) + "]";
        detail::object item;
        if (auto e = element.get_object().get(item)) return detail::json_error(e, prefix, "an object", status);
        user_identity identity;
        bool seen[3] = {};
        auto item_err = detail::for_each_member(item, prefix, status, [&](std::string_view key, simdjson::ondemand::value v)
                                                                          -> std::optional<api_error> {
          std::string* target = key == "id" ? &identity.id : key == "provider_type" ? &identity.provider_type
                              : key == "provider_id" ? &identity.provider_id : nullptr;
          if (!target) return std::nullopt;
          const std::size_t slot = key == "id" ? 0u : key == "provider_type" ? 1u : 2u;
          if (auto e = detail::read_string(v, prefix, key, seen[slot], text, status)) return e;
          target->assign(text);
          return std::nullopt;
        });
        if (item_err) return item_err;
        profile.identities.push_back(std::move(identity));
      }
    }
    return std::nullopt;
  });
  if (err) return unexpected{std::move(*err)};
  if (!seen_identities) return unexpected{detail::missing_field("", "identities", status)};
  if (!seen_data) return unexpected{detail::missing_field("", "data", status)};
  if (auto e = detail::finish_document(doc, status)) return unexpected{std::move(*e)};
  return profile;
}

APIKEYS_DECL std::optional<api_error> classify_response(const http_response& response) {
  const int status = response.status;
  const std::string& body = response.body;
  // A body can only name `error` or `error_code` in plain text or through a \u escape: when it has
  // neither, the successful answer is left to its decoder without a second parse.
  // An error body is an object, so a body that does not open with '{' (a key list) needs no scan at all.
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  const bool may_hold_error = first != std::string::npos && body[first] == '{' &&
                              (body.find("error") != std::string::npos || body.find("\\u") != std::string::npos);
  if (may_hold_error && body.size() <= detail::max_response_bytes && detail::is_json_content_type(response)) {
    simdjson::ondemand::document doc;
    detail::object obj;
    bool readable = !detail::thread_parser().iterate(detail::padded_body(body)).get(doc) && !doc.get_object().get(obj);
    std::optional<std::string> code, message, link;
    if (readable) {
      auto err = detail::for_each_member(obj, "", status, [&](std::string_view name, simdjson::ondemand::value value)
                                                              -> std::optional<api_error> {
        std::optional<std::string>* target = name == "error_code" ? &code : name == "error" ? &message
                                           : name == "link" ? &link : nullptr;
        if (!target) return std::nullopt;  // a repeated member overwrites: core's nlohmann::json keeps the last
        std::string_view text;
        if (auto e = value.get_string().get(text)) return detail::json_error(e, name, "a string", status);
        target->emplace(text);
        return std::nullopt;
      });
      readable = !err && detail::at_document_end(doc);
    }
    if (readable && code && !code->empty()) {
      api_error e;
      e.code = errc_from_server_code(*code);
      e.http_status = status;
      e.server_code = std::move(*code);
      e.message = message ? std::move(*message) : std::string{"no error message"};
      if (link) e.link = std::move(*link);
      return e;
    }
    if (readable && message) {
      api_error e;
      e.code = errc::unknown_service_error;
      e.http_status = status;
      e.message = std::move(*message);
      if (link) e.link = std::move(*link);
      return e;
    }
  }
  if (status < 200 || status > 299) {
    api_error e;
    e.code = errc::http_error;
    e.http_status = status;
    constexpr std::size_t max_text = 1024;
    e.message = body.empty() ? "HTTP status " + std::to_string(status) : body.substr(0, max_text);
    if (body.size() > max_text) e.message.append("...");
    // A server's text ends up in logs and terminals: control bytes (NUL, escape sequences) become '?',
    // while line breaks and tabs of an HTML or text page stay.
    for (char& c : e.message)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f) c = '?';
    return e;
  }
  return std::nullopt;
}

}  // namespace apikeys

#endif  // APIKEYS_IMPL_DECODER_HPP
// ---- end apikeys/impl/decoder.hpp ----
#endif

#endif  // APIKEYS_DECODER_HPP
// ---- end apikeys/decoder.hpp ----
// ---- begin apikeys/operations.hpp ----
// apikeys requests: what every request of docs/protocol.md sections 1 to 4 is made of. Each operation's own
// request is built by its descriptor (operations/keys.hpp, operations/auth.hpp) from these blocks.
#ifndef APIKEYS_OPERATIONS_HPP
#define APIKEYS_OPERATIONS_HPP

namespace APIKEYS_NAMESPACE::ops {

/// What every request shares: the host it goes to (scheme://authority, then an optional path prefix, no
/// trailing '/'), the bearer token it carries (empty for none), and its timeout.
struct request_context {
  std::string_view host;
  std::string_view token;
  std::chrono::milliseconds timeout{0};
};

inline constexpr std::string_view api_root = "/api/client/v2.0";
inline constexpr std::string_view keys_path = "/api/client/v2.0/auth/api_keys";
inline constexpr std::string_view session_path = "/api/client/v2.0/auth/session";
inline constexpr std::string_view profile_path = "/api/client/v2.0/auth/profile";
inline constexpr std::string_view json_content_type = "application/json;charset=utf-8";

/// A key name the server accepts: non-empty, ASCII letters, digits, '_' and '-' only. Checked before
/// sending, so the caller learns of a bad name without a round trip.
APIKEYS_DECL std::optional<api_error> validate_key_name(std::string_view name);

/// errc::invalid_argument naming `what` ("the email") when `text` is not UTF-8; JSON cannot carry it.
APIKEYS_DECL std::optional<api_error> refuse_non_utf8(std::string_view text, std::string_view what);

/// Starts `out` as a request of section 2: the method, {ctx.host}{path}, Accept, Content-Type, the
/// bearer token when ctx has one, an empty body and ctx's timeout. A reused request keeps its buffers.
APIKEYS_DECL void start_request(http_request& out, http_method method, const request_context& ctx, std::string_view path);

/// start_request for one key's route: {host}/api/client/v2.0/auth/api_keys/{id}{suffix}.
APIKEYS_DECL void start_key_request(http_request& out, http_method method, const request_context& ctx,
                                    const object_id& id, std::string_view suffix);

/// A POST with no bearer token to {host}/api/client/v2.0/app/{app_id}/auth/providers/{provider}/{action}
/// (log in, register); the app id is percent-encoded, so it cannot change the route.
APIKEYS_DECL void start_provider_request(http_request& out, const request_context& ctx, std::string_view app_id,
                                         std::string_view provider, std::string_view action);

/// Appends `segment` percent-encoded: everything but RFC 3986's unreserved characters.
APIKEYS_DECL void append_path_segment(std::string& out, std::string_view segment);

}  // namespace apikeys::ops

#if !defined(APIKEYS_SEPARATE_COMPILATION) || defined(APIKEYS_IMPLEMENTATION)
// ---- begin apikeys/impl/operations.hpp ----
// apikeys requests, the definitions: the blocks of operations.hpp, byte for byte.
#ifndef APIKEYS_IMPL_OPERATIONS_HPP
#define APIKEYS_IMPL_OPERATIONS_HPP

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
// ---- end apikeys/impl/operations.hpp ----
#endif

#endif  // APIKEYS_OPERATIONS_HPP
// ---- end apikeys/operations.hpp ----
// ---- begin apikeys/operations/keys.hpp ----
// apikeys key operations: the six calls on a user's API keys, each one descriptor (docs/architecture.md).
#ifndef APIKEYS_OPERATIONS_KEYS_HPP
#define APIKEYS_OPERATIONS_KEYS_HPP

// ---- begin apikeys/operations/common.hpp ----
// apikeys operations, what every descriptor shares: what a call needs, its wording, wiping its messages.
#ifndef APIKEYS_OPERATIONS_COMMON_HPP
#define APIKEYS_OPERATIONS_COMMON_HPP

namespace APIKEYS_NAMESPACE::ops {

/// What a call needs before it can be built, besides its own arguments; the client core provides it.
enum class prerequisite {
  none,           ///< nothing (the location lookup itself)
  location,       ///< the app's host, looked up once (log in, register)
  refresh_token,  ///< a logged-in session; its refresh token is the bearer, and a 401 ends the session
  access_token,   ///< a logged-in session; its access token is the bearer (the profile)
};

}  // namespace apikeys::ops

namespace APIKEYS_NAMESPACE::detail {

inline api_error client_error(errc code, std::string message) {
  api_error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

/// An error worded for its call: `context` says what was being done, and to which key. A key's name is
/// left out when the name itself was refused (the message says why) or there is none. The action alone
/// keeps a context an inner step already gave (a log in whose location lookup failed says so).
inline api_error in_context(api_error error, std::string_view action) {
  if (error.context.empty()) error.context.assign(action);
  return error;
}
inline api_error in_context(api_error error, std::string_view action, const object_id& id) {
  error.context.assign(action).append(" ").append(id.to_string());
  return error;
}
inline api_error in_context(api_error error, std::string_view action, std::string_view name) {
  error.context.assign(action);
  if (!name.empty() && error.code != errc::invalid_argument) error.context.append(" \"").append(name).append("\"");
  return error;
}

// A request may hold a bearer token and credentials, a response a key value or tokens: once a call is done
// with them, their bytes are zeroed rather than left in freed memory.
inline void wipe(http_request& request) noexcept {
  for (auto& h : request.headers)
    if (iequals(h.name, "authorization")) secure_wipe(h.value.data(), h.value.size());
  secure_wipe(request.body.data(), request.body.size());
}
inline void wipe(http_response& response) noexcept { secure_wipe(response.body.data(), response.body.size()); }

}  // namespace apikeys::detail

#endif  // APIKEYS_OPERATIONS_COMMON_HPP
// ---- end apikeys/operations/common.hpp ----
namespace APIKEYS_NAMESPACE::ops {

// A descriptor is a plain value: the call's arguments, and what the client core needs to know to run it.
//   value_type       what the call gives back
//   needs            what it needs besides its arguments (common.hpp: the refresh token, here)
//   check()          optional: refuses bad arguments before anything is sent
//   build(r, ctx)    writes the request, from the blocks of operations.hpp; ctx carries the host, the token
//                    and the timeout
//   decode(answer)   makes the value of a 2xx answer (classified already: it carries no error)
//   fail(error)      words an error (the call and its subject in `context`), or turns it into a value
// The client core (detail/client_core.hpp) adds the rest: the session, sending, classifying, a 401.
// A descriptor holds its arguments by value: an executor may run the call after the caller's frame is gone.

/// Create a key named `name`: POST /auth/api_keys. Its answer is the only one that holds the key's value.
struct create_key {
  using value_type = api_key;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  std::string name;

  std::optional<api_error> check() const { return validate_key_name(name); }
  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    if (auto refused = refuse_non_utf8(name, "the API key name")) return refused;
    start_request(request, http_method::post, ctx, keys_path);
    request.body.push_back('{');
    apikeys::detail::append_json_member(request.body, "name", name);
    request.body.push_back('}');
    return std::nullopt;
  }
  result<api_key> decode(http_response& response) const {
    auto key = decode_created_key(response);
    apikeys::detail::wipe(response);
    if (!key) {
      // The server said 201: the key exists, but its value, shown only in this answer, is lost.
      api_error error = std::move(key).error();
      error.outcome_unknown = true;
      return fail(std::move(error));
    }
    // An answer about another key (a proxy's stale or crossed answer) would hand the caller a value for a
    // key they did not ask for, while the one they asked for may exist with its value lost.
    if (key->name != name) {
      api_error error = apikeys::detail::bad_response("the answer names another key", response.status);
      error.outcome_unknown = true;
      return fail(std::move(error));
    }
    return key;
  }
  result<api_key> fail(api_error error) const {
    return unexpected{apikeys::detail::in_context(std::move(error), "create API key", name)};
  }
};

/// The key with this id: GET /auth/api_keys/{id}. A key the user does not have is an empty optional.
struct fetch_key {
  using value_type = std::optional<api_key>;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  object_id id;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_key_request(request, http_method::get, ctx, id, "");
    return std::nullopt;
  }
  result<value_type> decode(http_response& response) const {
    auto key = decode_key(response);
    if (!key) return fail(std::move(key).error());
    if (key->id != id) return fail(apikeys::detail::bad_response("the answer is about another key", response.status));
    return value_type{std::move(*key)};
  }
  result<value_type> fail(api_error error) const {
    if (error.code == errc::api_key_not_found) return value_type{};
    return unexpected{apikeys::detail::in_context(std::move(error), "fetch API key", id)};
  }
};

/// Every key of the user, in creation order, without values: GET /auth/api_keys.
struct fetch_keys {
  using value_type = std::vector<api_key>;
  static constexpr prerequisite needs = prerequisite::refresh_token;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_request(request, http_method::get, ctx, keys_path);
    return std::nullopt;
  }
  result<value_type> decode(http_response& response) const {
    auto keys = decode_key_list(response);
    if (!keys) return fail(std::move(keys).error());
    return keys;
  }
  result<value_type> fail(api_error error) const {
    return unexpected{apikeys::detail::in_context(std::move(error), "fetch all API keys")};
  }
};

/// Enable or disable a key: PUT /auth/api_keys/{id}/enable or /disable. Enabling an enabled key (or
/// disabling a disabled one) succeeds; a missing key fails. A disabled key's logins are refused until it is
/// enabled again. One descriptor for both, so that `on ? c.enable(id) : c.disable(id)` has one type.
struct toggle_key {
  using value_type = void;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  object_id id;
  bool enable = true;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_key_request(request, http_method::put, ctx, id, enable ? "/enable" : "/disable");
    return std::nullopt;
  }
  result<void> decode(http_response&) const { return {}; }
  result<void> fail(api_error error) const {
    return unexpected{apikeys::detail::in_context(std::move(error), enable ? "enable API key" : "disable API key", id)};
  }
};

/// Delete a key: DELETE /auth/api_keys/{id}. Deleting a key that does not exist succeeds.
struct delete_key {
  using value_type = void;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  object_id id;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_key_request(request, http_method::delete_, ctx, id, "");
    return std::nullopt;
  }
  result<void> decode(http_response&) const { return {}; }
  result<void> fail(api_error error) const {
    if (error.code == errc::api_key_not_found) return {};
    return unexpected{apikeys::detail::in_context(std::move(error), "delete API key", id)};
  }
};

}  // namespace apikeys::ops

#endif  // APIKEYS_OPERATIONS_KEYS_HPP
// ---- end apikeys/operations/keys.hpp ----
// ---- begin apikeys/operations/auth.hpp ----
// apikeys auth operations: the location, registering, logging in, and a session's own calls, each one
// descriptor (docs/architecture.md).
#ifndef APIKEYS_OPERATIONS_AUTH_HPP
#define APIKEYS_OPERATIONS_AUTH_HPP

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
// ---- end apikeys/operations/auth.hpp ----
// ---- begin apikeys/error_policy.hpp ----
// apikeys error policies: how a client hands its internal result<T> to the caller.
#ifndef APIKEYS_ERROR_POLICY_HPP
#define APIKEYS_ERROR_POLICY_HPP

namespace APIKEYS_NAMESPACE {

namespace detail {
template <class>
inline constexpr bool dependent_false = false;
}  // namespace detail

/// The default: a call returns T itself and throws api_exception on failure.
struct throw_on_error {
  template <class T>
  static T apply(result<T>&& r) {
#if APIKEYS_HAS_EXCEPTIONS
    if (!r) throw api_exception(std::move(r).error());
    if constexpr (!std::is_void_v<T>) return std::move(*r);
#else
    (void)r;
    static_assert(detail::dependent_false<T>,
                  "apikeys::throw_on_error needs exceptions; in a -fno-exceptions build use apikeys::return_result");
#endif
  }
};

/// A call returns result<T>: check it, nothing is thrown.
struct return_result {
  template <class T>
  static result<T> apply(result<T>&& r) noexcept {
    return std::move(r);
  }
};

/// An ErrorPolicy maps result<T> onto what a call returns.
template <class P>
concept error_policy = requires(result<int>&& r) { P::template apply<int>(std::move(r)); };

}  // namespace apikeys

#endif  // APIKEYS_ERROR_POLICY_HPP
// ---- end apikeys/error_policy.hpp ----
// ---- begin apikeys/executor.hpp ----
// apikeys executors: where a call runs and what the caller holds while it does.
#ifndef APIKEYS_EXECUTOR_HPP
#define APIKEYS_EXECUTOR_HPP

namespace APIKEYS_NAMESPACE {

// Every client method hands its Executor one *call* object `c` and returns what `execute(c)` returns.
// A call is movable and not started yet; its client must outlive it. It offers:
//
//   C::result_type           result<T>, what the operation produces
//   C::value_type            what the ErrorPolicy makes of it: T (throw_on_error) or result<T> (return_result)
//   C::is_asynchronous       true when the transport has async_send: start() then never blocks on I/O
//   c()                      runs the whole call on this thread and returns C::value_type (may throw)
//   c.run()                  the same, as result_type: never throws an api_exception
//   std::move(c).start(f)    starts the call; f(result_type&&) runs exactly once when it finishes, on the
//                            transport's completion thread, or on this thread (synchronous transports run
//                            the whole call inside start(), so call it from the thread that should block)
//   c.abandon()              the result_type of a call that will never run (its executor shut down)
//   C::apply(result_type&&)  the ErrorPolicy: turns a finished call's result into C::value_type
//
// A call runs once: run(), operator() and start() are alternatives, not steps.

/// The default: the call runs on the caller's thread and returns its value.
/// Thread safety: stateless; share it freely.
struct inline_executor {
  template <class Operation>
  std::invoke_result_t<Operation&> execute(Operation&& operation) const {
    return operation();
  }
};

namespace detail {
// A call of an int-valued operation that does nothing, for checking Executor types against.
struct probe_call {
  using result_type = result<int>;
  using value_type = int;
  static constexpr bool is_asynchronous = false;
  int operator()() { return 0; }
  result_type run() { return 0; }
  template <class Completion>
  void start(Completion&& completion) && {
    completion(result_type{0});
  }
  result_type abandon() { return unexpected{api_error{}}; }
  static value_type apply(result_type&& r) { return *r; }
};
}  // namespace detail

/// An Executor runs a call (see above) and shapes what the call returns.
template <class E>
concept executor = requires(E& e) { e.execute(detail::probe_call{}); };

}  // namespace apikeys

#endif  // APIKEYS_EXECUTOR_HPP
// ---- end apikeys/executor.hpp ----
// ---- begin apikeys/thread_pool.hpp ----
// apikeys::thread_pool: a small fixed set of threads that runs the calls of the future, callback and coroutine executors.
#ifndef APIKEYS_THREAD_POOL_HPP
#define APIKEYS_THREAD_POOL_HPP

#include <condition_variable>
#include <deque>
#include <thread>

namespace APIKEYS_NAMESPACE {

namespace detail {
struct pool_work {
  virtual ~pool_work() = default;
  virtual void run() = 0;
  virtual void cancel() = 0;
};

template <class Work>
struct pool_work_of final : pool_work {
  explicit pool_work_of(Work&& w) : work(std::move(w)) {}
  void run() override { work(); }
  void cancel() override {
    if constexpr (requires { work.cancel(); }) work.cancel();
  }
  Work work;
};
}  // namespace detail

/// A fixed number of threads, started by the constructor and joined by shutdown() or the destructor;
/// none is ever detached. Work runs in the order it was posted, one item per free thread.
///
/// Shutting down (explicitly, or by destroying the pool) stops taking work, waits for the work that is
/// running, and *cancels* the work still queued: an item with a member `cancel()` has it called (on the
/// thread that shuts the pool down), any other item is destroyed without running. The executors' items
/// complete their calls with a cancelled error that way, so a future gets an error, never a broken
/// promise, and a callback still runs exactly once. Work posted after shutdown is cancelled at once, on
/// the posting thread. A running call is never interrupted: shutdown waits for it as long as its
/// transport takes, which is bounded by the request timeout.
///
/// Thread safety: every member function may be called concurrently, from any thread including the
/// pool's own. The one exception is destruction, which must not happen on one of the pool's threads
/// (a thread cannot join itself): don't let the last std::shared_ptr to a pool go inside a completion.
/// Work must not throw; an exception escaping it ends the program, as from any std::thread.
class thread_pool {
 public:
  /// The hardware's concurrency, between 1 and 4: calls mostly wait on the network, not the CPU.
  static std::size_t default_size() noexcept {
    return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  }

  /// Starts `threads` threads (at least one).
  explicit thread_pool(std::size_t threads = default_size()) {
    threads = std::max<std::size_t>(threads, 1);
    workers_.reserve(threads);
    ids_.reserve(threads);
#if APIKEYS_HAS_EXCEPTIONS
    try {
#endif
      for (std::size_t i = 0; i < threads; ++i) {
        workers_.emplace_back([this] { work(); });
        ids_.push_back(workers_.back().get_id());
      }
#if APIKEYS_HAS_EXCEPTIONS
    } catch (...) {
      shutdown();  // the threads that did start are joined before the failure goes on
      throw;
    }
#endif
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  /// shutdown(), then the pool is gone.
  ~thread_pool() { shutdown(); }

  /// Queues `work` (a callable, optionally with a member `cancel()`). Returns false when the pool is
  /// shut down; the work is then cancelled before post returns.
  template <class Work>
  bool post(Work&& work) {
    std::unique_ptr<detail::pool_work> item =
        std::make_unique<detail::pool_work_of<std::decay_t<Work>>>(std::decay_t<Work>(std::forward<Work>(work)));
    {
      const std::lock_guard lock(mutex_);
      if (!stopping_) queue_.push_back(std::move(item));
    }
    if (item) {  // still ours: refused
      item->cancel();
      return false;
    }
    wake_.notify_one();
    return true;
  }

  /// Stops taking work, cancels what is queued, and joins the threads once their running work is done
  /// (all but the calling thread, if it is one of them: the destructor joins that one). Idempotent.
  void shutdown() noexcept {
    std::deque<std::unique_ptr<detail::pool_work>> abandoned;
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
      abandoned.swap(queue_);
    }
    wake_.notify_all();
    for (auto& item : abandoned) item->cancel();
    abandoned.clear();
    const std::lock_guard lock(join_mutex_);
    for (std::size_t i = 0; i < workers_.size(); ++i)
      if (ids_[i] != std::this_thread::get_id() && workers_[i].joinable()) workers_[i].join();
  }

  /// How many threads the pool has.
  std::size_t size() const noexcept { return workers_.size(); }

  /// How many posted items wait for a free thread.
  std::size_t queued() const {
    const std::lock_guard lock(mutex_);
    return queue_.size();
  }

  /// True once shutdown has begun.
  bool stopped() const {
    const std::lock_guard lock(mutex_);
    return stopping_;
  }

  /// True on one of this pool's threads.
  bool running_in_this_thread() const noexcept {
    return std::find(ids_.begin(), ids_.end(), std::this_thread::get_id()) != ids_.end();
  }

 private:
  void work() {
    for (;;) {
      std::unique_ptr<detail::pool_work> item;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and shutdown has taken the rest
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      item->run();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<detail::pool_work>> queue_;
  bool stopping_ = false;
  std::mutex join_mutex_;  // two threads shutting down at once must not join one thread twice
  std::vector<std::thread> workers_;
  std::vector<std::thread::id> ids_;  // fixed once constructed; read without joining races
};

}  // namespace apikeys

#endif  // APIKEYS_THREAD_POOL_HPP
// ---- end apikeys/thread_pool.hpp ----
// ---- begin apikeys/executors/future.hpp ----
// apikeys::future_executor: a call returns a std::future, fulfilled on a thread pool or by an async transport.
#ifndef APIKEYS_EXECUTORS_FUTURE_HPP
#define APIKEYS_EXECUTORS_FUTURE_HPP

#include <future>

// ---- begin apikeys/executors/pooled.hpp ----
// apikeys executors: what the future, callback and coroutine executors share: a pool, and where a call runs.
#ifndef APIKEYS_EXECUTORS_POOLED_HPP
#define APIKEYS_EXECUTORS_POOLED_HPP

namespace APIKEYS_NAMESPACE::detail {

// A call queued on a pool: run there, or, if the pool shuts down first, completed with the call's cancelled
// error. A completion with a member thrown(std::exception_ptr) is also handed what run() threw that is not
// an api_error (those are results): std::bad_alloc and the like.
template <class Call, class Done>
struct pooled_work {
  Call call;
  Done done;
  void operator()() {
#if APIKEYS_HAS_EXCEPTIONS
    if constexpr (requires { done.thrown(std::exception_ptr{}); }) {
      try {
        done(call.run());
      } catch (...) {
        done.thrown(std::current_exception());
      }
      return;
    }
#endif
    done(call.run());
  }
  void cancel() { done(call.abandon()); }
};

// Where every pooled executor runs a call: with an async transport, started here and completed on the
// transport's completion thread; with a send()-only transport, on the pool; with no pool, here and now.
template <class Call, class Done>
void dispatch(Call&& call, const std::shared_ptr<thread_pool>& pool, Done&& done) {
  using call_type = std::remove_cvref_t<Call>;
  if constexpr (call_type::is_asynchronous) {
    std::move(call).start(std::forward<Done>(done));
  } else if (pool) {
    pool->post(pooled_work<call_type, std::decay_t<Done>>{std::move(call), std::forward<Done>(done)});
  } else {
    done(call.run());
  }
}

// The shape of a call that is an object made of the call and the pool (deferred_call, call_awaitable).
template <template <class> class Shape>
struct made_with_pool {
  template <class Call>
  static Shape<Call> launch(Call call, const std::shared_ptr<thread_pool>& pool) {
    return Shape<Call>(std::move(call), pool);
  }
};

// An executor whose calls take the shape Shape::launch(call, pool) makes of them (a future, a deferred
// call, an awaitable), on a pool of its own or a shared one. Copies share one pool.
template <class Shape>
class pooled_executor {
 public:
  /// A pool of its own, thread_pool::default_size() threads, shared by every copy of this executor.
  pooled_executor() : pool_(std::make_shared<thread_pool>()) {}
  /// Runs calls on `pool`, which may be shared with other executors and clients; null: on the caller's
  /// thread (when the call is started).
  explicit pooled_executor(std::shared_ptr<thread_pool> pool) noexcept : pool_(std::move(pool)) {}

  template <class Call>
  auto execute(Call call) const {
    return Shape::launch(std::move(call), pool_);
  }

  const std::shared_ptr<thread_pool>& pool() const noexcept { return pool_; }

 private:
  std::shared_ptr<thread_pool> pool_;
};

}  // namespace apikeys::detail

#endif  // APIKEYS_EXECUTORS_POOLED_HPP
// ---- end apikeys/executors/pooled.hpp ----
namespace APIKEYS_NAMESPACE {

namespace detail {
// Applies the ErrorPolicy on the way into the promise: under throw_on_error the api_exception is stored
// and future.get() throws it; under return_result get() returns the result<T>.
template <class Call>
void fulfil(std::promise<typename Call::value_type>& promise, typename Call::result_type&& outcome) noexcept {
#if APIKEYS_HAS_EXCEPTIONS
  try {
#endif
    if constexpr (std::is_void_v<typename Call::value_type>) {
      Call::apply(std::move(outcome));
      promise.set_value();
    } else {
      promise.set_value(Call::apply(std::move(outcome)));
    }
#if APIKEYS_HAS_EXCEPTIONS
  } catch (...) {
    promise.set_exception(std::current_exception());
  }
#endif
}

// Fulfils the future with the call's result, or with what its run threw that is not an api_error.
template <class Call>
struct promise_completion {
  std::promise<typename Call::value_type> promise;
  void operator()(typename Call::result_type&& outcome) { fulfil<Call>(promise, std::move(outcome)); }
  void thrown(std::exception_ptr failure) { promise.set_exception(std::move(failure)); }
};

// future_executor's shape of a call: a std::future, and the promise is the completion.
struct future_shape {
  template <class Call>
  static std::future<typename Call::value_type> launch(Call call, const std::shared_ptr<thread_pool>& pool) {
    promise_completion<Call> done;
    auto future = done.promise.get_future();
    dispatch(std::move(call), pool, std::move(done));
    return future;
  }
};
}  // namespace detail

/// Every call returns a std::future of what the ErrorPolicy makes of it: `std::future<api_key>` whose
/// get() throws api_exception (throw_on_error), or `std::future<result<api_key>>` (return_result).
///
/// Where a call runs: with a transport that has async_send, the request is built on the caller's thread
/// and the future is fulfilled on the transport's completion thread; no thread waits on the network.
/// With a send()-only transport the whole call runs on the pool. With a null pool it runs on the
/// caller's thread and the future is ready on return.
///
/// Destroying the last owner of the pool (this executor, its copies, and whoever else shares the
/// pool) shuts it down: calls already running finish and fulfil their futures; calls still queued
/// fulfil theirs with errc::cancelled (never a broken promise). The client the
/// calls were made on must outlive them: declare it after the pool's owners if they live side by side.
///
/// Thread safety: execute() may be called concurrently; copies share one pool.
class future_executor : public detail::pooled_executor<detail::future_shape> {
 public:
  using pooled_executor::pooled_executor;
};

}  // namespace apikeys

#endif  // APIKEYS_EXECUTORS_FUTURE_HPP
// ---- end apikeys/executors/future.hpp ----
// ---- begin apikeys/executors/callback.hpp ----
// apikeys::callback_executor: a call hands its result<T> to a completion callable, exactly once.
#ifndef APIKEYS_EXECUTORS_CALLBACK_HPP
#define APIKEYS_EXECUTORS_CALLBACK_HPP

namespace APIKEYS_NAMESPACE {

namespace detail {
// The user's completion, called once. noexcept: an exception escaping a completion has no caller to go
// to (it runs on a pool or event-loop thread), so it ends the program rather than vanish.
template <class Call, class Completion>
struct callback_completion {
  Completion completion;
  void operator()(typename Call::result_type&& outcome) noexcept { std::invoke(completion, std::move(outcome)); }
};
}  // namespace detail

/// A call not started yet: `.then(completion)` starts it. Nothing is sent until then, and a
/// deferred_call dropped without `.then` sends nothing at all.
/// Thread safety: one call, started once, from one thread; its client must outlive it.
template <class Call>
class [[nodiscard]] deferred_call {
 public:
  using result_type = typename Call::result_type;

  deferred_call(Call call, std::shared_ptr<thread_pool> pool) : call_(std::move(call)), pool_(std::move(pool)) {}

  /// Starts the call; `completion(result<T>&&)` runs exactly once, whatever the ErrorPolicy (a callback
  /// has no caller to throw to). It runs on:
  ///  - the transport's completion thread, with an async transport (possibly this thread, before then()
  ///    returns, if the call fails before sending or the transport completes inside async_send);
  ///  - a pool thread, with a send()-only transport;
  ///  - the thread that shuts the pool down, with the call's cancelled error, if it never started;
  ///  - this thread, before then() returns, with a null pool.
  /// The completion must not throw (std::terminate) and may start further calls.
  template <class Completion>
    requires std::invocable<std::decay_t<Completion>&, result_type&&>
  void then(Completion&& completion) && {
    using done_type = detail::callback_completion<Call, std::decay_t<Completion>>;
    detail::dispatch(std::move(call_), pool_, done_type{std::decay_t<Completion>(std::forward<Completion>(completion))});
  }

 private:
  Call call_;
  std::shared_ptr<thread_pool> pool_;
};

/// Every call returns a deferred_call; `.then(completion)` starts it:
///
///     keys.create("someKeyName").then([](apikeys::result<apikeys::api_key> key) { ... });
///
/// Pool, cancellation and lifetime rules are future_executor's: with an async transport no thread
/// waits on the network; with a send()-only transport calls run on the pool; the client must outlive
/// its calls. Thread safety: execute() may be called concurrently; copies share one pool.
class callback_executor : public detail::pooled_executor<detail::made_with_pool<deferred_call>> {
 public:
  using pooled_executor::pooled_executor;
};

}  // namespace apikeys

#endif  // APIKEYS_EXECUTORS_CALLBACK_HPP
// ---- end apikeys/executors/callback.hpp ----
// ---- begin apikeys/executors/coroutine.hpp ----
// apikeys::coroutine_executor: a call returns an awaitable, for `co_await keys.create("name")` in a C++20 coroutine.
#ifndef APIKEYS_EXECUTORS_COROUTINE_HPP
#define APIKEYS_EXECUTORS_COROUTINE_HPP

#include <coroutine>

namespace APIKEYS_NAMESPACE {

namespace detail {
// Marks, for this thread only, the awaitable whose call is being started. A completion that finds its
// own awaitable marked runs inside that start, on the awaiting thread, and claims the outcome instead of
// resuming. Saved and restored, so a start that itself starts another awaited call stays correct.
class inline_completion_scope {
 public:
  explicit inline_completion_scope(const void* awaitable) noexcept
      : previous_(current()), previous_completed_(completed_flag()) {
    current() = awaitable;
    completed_flag() = false;
  }
  inline_completion_scope(const inline_completion_scope&) = delete;
  inline_completion_scope& operator=(const inline_completion_scope&) = delete;
  ~inline_completion_scope() {
    current() = previous_;
    completed_flag() = previous_completed_;
  }
  bool completed() const noexcept { return completed_flag(); }
  static bool claim(const void* awaitable) noexcept {
    if (current() != awaitable) return false;
    completed_flag() = true;
    return true;
  }

 private:
  static const void*& current() noexcept {
    thread_local const void* starting = nullptr;
    return starting;
  }
  static bool& completed_flag() noexcept {
    thread_local bool completed = false;
    return completed;
  }
  const void* previous_;
  bool previous_completed_;
};
}  // namespace detail

/// What `co_await` takes: one call, started when awaited. `co_await` gives what the ErrorPolicy makes
/// of the result: the value, throwing api_exception (throw_on_error), or result<T> (return_result).
/// Awaiting suspends the coroutine until the call is done; it resumes on the thread that finished the
/// call: the transport's completion thread (async transport) or a pool thread (send()-only transport).
/// Only a call that finishes inside the await itself, on the awaiting thread (refused before sending, a
/// transport that completes inside async_send, no pool), lets the coroutine go on without suspending.
/// So a coroutine never continues on the awaiting thread while the call finished elsewhere.
/// Await it once, right away; it cannot be copied or moved once awaited.
template <class Call>
class [[nodiscard]] call_awaitable {
 public:
  using result_type = typename Call::result_type;

  call_awaitable(Call call, std::shared_ptr<thread_pool> pool) : call_(std::move(call)), pool_(std::move(pool)) {}
  call_awaitable(const call_awaitable&) = delete;
  call_awaitable& operator=(const call_awaitable&) = delete;

  bool await_ready() const noexcept { return false; }

  // A completion that runs inside start() or post() on this thread only stores the outcome, and the
  // coroutine goes on without suspending (no resume nested in await_suspend); any other completion
  // resumes it. Which case happened is kept in thread-local state, because once start() has handed the
  // call to another thread, this object may already be resumed past and destroyed.
  bool await_suspend(std::coroutine_handle<> continuation) {
    continuation_ = continuation;
    if constexpr (!Call::is_asynchronous) {
      if (!pool_) {
        outcome_.emplace(call_.run());
        return false;
      }
    }
    const detail::inline_completion_scope scope{this};
    detail::dispatch(std::move(call_), pool_, completion{this});
    return !scope.completed();
  }

  typename Call::value_type await_resume() { return Call::apply(std::move(*outcome_)); }

 private:
  void complete(result_type&& outcome) noexcept {
    outcome_.emplace(std::move(outcome));
    if (!detail::inline_completion_scope::claim(this)) continuation_.resume();
  }

  struct completion {
    call_awaitable* self;
    void operator()(result_type&& outcome) const noexcept { self->complete(std::move(outcome)); }
  };

  Call call_;
  std::shared_ptr<thread_pool> pool_;
  std::optional<result_type> outcome_;
  std::coroutine_handle<> continuation_;
};

/// Every call returns a call_awaitable: `api_key key = co_await keys.create("someKeyName");` inside
/// any C++20 coroutine (apikeys::task<T> is one). Pool, cancellation and lifetime rules are
/// future_executor's; a queued call cancelled by the pool's shutdown resumes its coroutine on the
/// shutting-down thread with the cancelled error.
/// Thread safety: execute() may be called concurrently; copies share one pool.
class coroutine_executor : public detail::pooled_executor<detail::made_with_pool<call_awaitable>> {
 public:
  using pooled_executor::pooled_executor;
};

}  // namespace apikeys

#endif  // APIKEYS_EXECUTORS_COROUTINE_HPP
// ---- end apikeys/executors/coroutine.hpp ----
// ---- begin apikeys/task.hpp ----
// apikeys::task<T>: a small lazy coroutine type to co_await apikeys calls in, and sync_wait to run one from main().
#ifndef APIKEYS_TASK_HPP
#define APIKEYS_TASK_HPP

namespace APIKEYS_NAMESPACE {

template <class T = void>
class task;

namespace detail {

struct task_promise_base {
  // Resumed when the task finishes: the coroutine that awaited it, or sync_wait's notifier.
  std::coroutine_handle<> continuation;
  void (*notify)(void*) noexcept = nullptr;
  void* notify_context = nullptr;
  std::exception_ptr error;

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> finished) const noexcept {
      task_promise_base& promise = finished.promise();
      if (promise.continuation) return promise.continuation;
      // sync_wait may destroy the frame as soon as it is told: nothing here touches it afterwards.
      if (promise.notify) promise.notify(promise.notify_context);
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }

  void rethrow_if_failed() const {
#if APIKEYS_HAS_EXCEPTIONS
    if (error) std::rethrow_exception(error);
#endif
  }
};

template <class T>
struct task_promise : task_promise_base {
  std::optional<T> value;

  task<T> get_return_object() noexcept;
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    rethrow_if_failed();
    return std::move(*value);
  }
};

template <>
struct task_promise<void> : task_promise_base {
  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take() const { rethrow_if_failed(); }
};

}  // namespace detail

/// A coroutine that starts when it is awaited (or given to sync_wait) and gives back a T, or rethrows
/// what escaped it. `co_await` it from another task: the awaiting coroutine continues on the thread
/// the task finished on. Move-only; destroying a task that never ran destroys its frame unrun.
/// Thread safety: a task is one flow of control; await it once, from one place.
template <class T>
class [[nodiscard]] task {
  static_assert(!std::is_reference_v<T>, "apikeys::task<T> holds a value; return a pointer for a reference");

 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  /// Runs the task to its end, then continues the awaiting coroutine with its value.
  auto operator co_await() && noexcept { return awaiter{handle_}; }
  auto operator co_await() & noexcept { return awaiter{handle_}; }

 private:
  using handle_type = std::coroutine_handle<promise_type>;
  friend promise_type;
  template <class U>
  friend U sync_wait(task<U> work);

  explicit task(handle_type handle) noexcept : handle_(handle) {}
  void destroy() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
  }

  struct awaiter {
    handle_type handle;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) const noexcept {
      handle.promise().continuation = awaiting;
      return handle;  // symmetric transfer: start the task without growing the stack
    }
    T await_resume() const { return handle.promise().take(); }
  };

  handle_type handle_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}
}  // namespace detail

/// Runs `work` and blocks this thread until it finishes, wherever it finishes; returns its value or
/// rethrows its exception. For main() and tests: calling it on a thread the task needs to make
/// progress (the event loop of its transport, the only thread of its pool) deadlocks.
template <class T>
T sync_wait(task<T> work) {
  struct waiter {
    std::mutex mutex;
    std::condition_variable done_signal;
    bool done = false;
    static void notify(void* self) noexcept {
      auto* w = static_cast<waiter*>(self);
      const std::lock_guard lock(w->mutex);
      w->done = true;
      w->done_signal.notify_all();  // under the lock: the waiter returns, and w goes, right after
    }
  };
  waiter w;
  auto& promise = work.handle_.promise();
  promise.notify = &waiter::notify;
  promise.notify_context = &w;
  work.handle_.resume();
  {
    std::unique_lock lock(w.mutex);
    w.done_signal.wait(lock, [&] { return w.done; });
  }
  return promise.take();
}

}  // namespace apikeys

#endif  // APIKEYS_TASK_HPP
// ---- end apikeys/task.hpp ----
// ---- begin apikeys/client.hpp ----
// apikeys::basic_api_key_client: the six key operations of one user's session.
#ifndef APIKEYS_CLIENT_HPP
#define APIKEYS_CLIENT_HPP

// ---- begin apikeys/detail/client_core.hpp ----
// apikeys::detail::client_core: what both clients are made of: checks, launch, runners, the session rule.
#ifndef APIKEYS_DETAIL_CLIENT_CORE_HPP
#define APIKEYS_DETAIL_CLIENT_CORE_HPP

// ---- begin apikeys/detail/pipeline.hpp ----
// apikeys::detail pipeline: a call as build / send / finish steps, driven on this thread or by async_send.
#ifndef APIKEYS_DETAIL_PIPELINE_HPP
#define APIKEYS_DETAIL_PIPELINE_HPP

// ---- begin apikeys/detail/exchange.hpp ----
// apikeys::detail: the shared middle of every call: send, turn failures into api_error, classify.
#ifndef APIKEYS_DETAIL_EXCHANGE_HPP
#define APIKEYS_DETAIL_EXCHANGE_HPP

namespace APIKEYS_NAMESPACE::detail {

inline api_error from_transport_error(transport_error&& failure) {
  api_error e;
  e.code = kind_of(failure.code) == error_kind::transport ? failure.code : errc::transport_error;
  e.message = failure.message.empty() ? std::string{to_string(e.code)} : std::move(failure.message);
  return e;
}

// One exchange: whatever the transport does (returns, reports, throws), the caller gets a response or
// a transport-kind api_error; an HTTP status is never mistaken for a transport failure or the reverse.
template <class Transport>
result<http_response> send(Transport& transport, const http_request& request) {
  return contain_transport_throw(
      [&]() -> result<http_response> {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(transport.send(request))>, http_response>) {
          return transport.send(request);
        } else {
          auto sent = transport.send(request);
          if (!sent) return unexpected{from_transport_error(std::move(sent).error())};
          return std::move(*sent);
        }
      },
      [](transport_error failure) -> result<http_response> { return unexpected{from_transport_error(std::move(failure))}; });
}

// Whether a request that got no response may still have been carried out: only a failure that proves
// nothing was sent (no connection, no TLS session) rules it out, and a GET changes nothing either way.
inline bool may_have_taken_effect(const http_request& request, const api_error& failure) noexcept {
  if (request.method == http_method::get) return false;
  return failure.code != errc::connection_failed && failure.code != errc::tls_error;
}

// The finish of every exchange, sync or async: wipe the request, then apply section 5's rules, so a
// response comes back only when it carries no error.
inline result<http_response> finish_exchange(http_request& request, result<http_response>&& response) {
  wipe(request);
  if (!response) {
    response.error().outcome_unknown = may_have_taken_effect(request, response.error());
    return std::move(response);
  }
  if (auto error = classify_response(*response)) {
    wipe(*response);
    return unexpected{std::move(*error)};
  }
  return std::move(response);
}

// Send, then finish.
template <class Transport>
result<http_response> exchange(Transport& transport, http_request& request) {
  return finish_exchange(request, send(transport, request));
}

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_EXCHANGE_HPP
// ---- end apikeys/detail/exchange.hpp ----
namespace APIKEYS_NAMESPACE::detail {

// A call, written once as a small state machine that never touches a transport itself:
//   start(request)            fills the first request, or finishes at once (a refused argument, no session);
//   finish(response)          a call of one exchange: makes the result of its classified outcome;
//   resume(response, request) a call of several: takes each outcome and fills the next request, or finishes;
//   fail(error)               the call's own wording of an error that did not come from an exchange.
// "Finishes" is returning the result; an empty optional means "send `request`". The drivers below run a
// machine on this thread (send) or hop from completion to completion (async_send). A one-exchange machine
// hands its result straight back to the caller's frame, so the synchronous path moves nothing extra.
template <class M>
concept one_exchange_machine = requires(M& m, result<http_response>&& response) {
  { m.finish(std::move(response)) } -> std::same_as<result<typename M::value_type>>;
};
template <class M>
concept many_exchange_machine = requires(M& m, http_request& request, result<http_response>&& response) {
  { m.resume(std::move(response), request) } -> std::same_as<std::optional<result<typename M::value_type>>>;
};
template <class M>
concept call_machine = requires(M& m, http_request& request, api_error error) {
  typename M::value_type;
  { m.start(request) } -> std::same_as<std::optional<result<typename M::value_type>>>;
  { m.fail(std::move(error)) } -> std::same_as<result<typename M::value_type>>;
} && (one_exchange_machine<M> || many_exchange_machine<M>);

/// What a queued call that never started completes with when its executor's pool shuts down.
inline api_error cancelled_error() {
  return client_error(errc::cancelled, "the executor shut down before the call started");
}

// An async_send's answer, finished like a sync one: a transport failure mapped, then exchange.hpp's finish.
inline result<http_response> finish_exchange(http_request& request, send_result_type&& sent) {
  if (!sent) return finish_exchange(request, result<http_response>{unexpected{from_transport_error(std::move(sent).error())}});
  return finish_exchange(request, result<http_response>{std::move(*sent)});
}

// One exchange as the log sees it: request_started when it begins, response when the transport answers
// (before section 5's classification, so the status and size are the wire's). answered() must come before
// the request is wiped, as it reads the route from it. Made only when a sink is on.
class exchange_log {
 public:
  exchange_log(const log_sink& logger, const http_request& request)
      : logger_(&logger), request_(&request), start_(std::chrono::steady_clock::now()) {
    if (!logger.enabled(log_level::debug)) return;
    log_event e;
    e.kind = log_event_kind::request_started;
    e.level = log_level::debug;
    e.method = request.method;
    e.route = route_of(request.url);
    logger.write(e);
  }
  void answered(const result<http_response>& sent) const {
    if (sent) return response(sent->status, sent->body.size(), {});
    response(0, 0, to_string(sent.error().code));
  }
  void answered(const send_result_type& sent) const {
    if (sent) return response(sent->status, sent->body.size(), {});
    response(0, 0, to_string(sent.error().code));
  }

 private:
  void response(int status, std::size_t body_size, std::string_view why) const {
    const log_level level = status == 0 ? log_level::error : status >= 400 ? log_level::warn : log_level::info;
    if (!logger_->enabled(level)) return;
    log_event e;
    e.kind = log_event_kind::response;
    e.level = level;
    e.method = request_->method;
    e.route = route_of(request_->url);
    e.status = status;
    e.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_);
    e.body_size = body_size;
    e.why = why;
    logger_->write(e);
  }

  const log_sink* logger_;
  const http_request* request_;
  std::chrono::steady_clock::time_point start_;
};

// A synchronous call on a transport that only has async_send: wait for the completion. It must not be
// the thread the completion runs on (an event loop calling a blocking client deadlocks itself).
template <class Transport>
send_result_type blocking_send(Transport& transport, const http_request& request) {
  struct slot {
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<send_result_type> value;
    void fill(send_result_type&& sent) {
      const std::lock_guard lock(mutex);
      if (!value) value.emplace(std::move(sent));
      ready.notify_all();  // under the lock: the waiter may destroy the slot's last owner right after
    }
  };
  // Shared, so a transport that calls late (or twice) never touches a dead stack frame.
  auto shared = std::make_shared<slot>();
  contain_transport_throw([&] { transport.async_send(request, [shared](send_result_type sent) { shared->fill(std::move(sent)); }); },
                          [&](transport_error failure) { shared->fill(unexpected{std::move(failure)}); });
  std::unique_lock lock(shared->mutex);
  shared->ready.wait(lock, [&] { return shared->value.has_value(); });
  return std::move(*shared->value);
}

// One classified exchange on this thread: send() when the transport has it, else async_send and wait.
// With a sink (non-null only when it is on), the exchange is reported.
template <class Transport>
result<http_response> sync_exchange(Transport& transport, http_request& request, const log_sink* logger = nullptr) {
  if (logger) [[unlikely]] {
    const exchange_log note(*logger, request);
    if constexpr (apikeys::transport<Transport>) {
      auto sent = send(transport, request);
      note.answered(sent);
      return finish_exchange(request, std::move(sent));
    } else {
      auto sent = blocking_send(transport, request);
      note.answered(sent);
      return finish_exchange(request, std::move(sent));
    }
  }
  if constexpr (apikeys::transport<Transport>) {
    return exchange(transport, request);
  } else {
    return finish_exchange(request, blocking_send(transport, request));
  }
}

// The completion handed to async_send. Copies share one state, so whichever copy the transport calls,
// `done` runs once; a throw from async_send after it called the completion changes nothing.
template <class Done>
class exchange_completion {
  struct state {
    state(http_request& r, Done&& d) : request(&r), done(std::move(d)) {}
    std::atomic<bool> fired{false};
    http_request* request;
    std::optional<Done> done;
    std::optional<exchange_log> note{};
  };

 public:
  exchange_completion(http_request& request, Done&& done, const log_sink* logger = nullptr)
      : state_(std::make_shared<state>(request, std::move(done))) {
    if (logger) [[unlikely]] state_->note.emplace(*logger, request);
  }

  void operator()(send_result_type sent) const {
    if (state_->fired.exchange(true, std::memory_order_acq_rel)) return;
    if (state_->note) [[unlikely]] state_->note->answered(sent);
    auto response = finish_exchange(*state_->request, std::move(sent));
    // Moved out first, so what `done` owns (the request included) goes when it returns, not when the
    // transport drops its copy of this completion.
    Done done = std::move(*state_->done);
    state_->done.reset();
    done(std::move(response));
  }

 private:
  std::shared_ptr<state> state_;
};

// Starts one exchange; `done(result<http_response>)` runs once, on the transport's completion thread.
template <class Transport, class Done>
void async_exchange(Transport& transport, http_request& request, Done&& done, const log_sink* logger = nullptr) {
  const exchange_completion<std::decay_t<Done>> completion(request, std::forward<Done>(done), logger);
  contain_transport_throw([&] { transport.async_send(std::as_const(request), completion); },
                          [&](transport_error failure) { completion(unexpected{std::move(failure)}); });
}

/// Runs a machine to the end on this thread: the whole call, blocking. `logger`, when not null, is a sink
/// that is on; each exchange is reported to it.
template <class Transport, call_machine Machine>
result<typename Machine::value_type> run_sync(Transport& transport, Machine& machine, const log_sink* logger = nullptr) {
  http_request request;
  if constexpr (one_exchange_machine<Machine>) {
    if (auto refused = machine.start(request)) return std::move(*refused);
    return machine.finish(sync_exchange(transport, request, logger));
  } else {
    auto outcome = machine.start(request);
    while (!outcome) outcome = machine.resume(sync_exchange(transport, request, logger), request);
    return std::move(*outcome);
  }
}

template <class Transport, class Machine, class Done>
struct async_run {
  async_run(Transport& t, Machine&& m, Done&& d, const log_sink* l)
      : transport(t), machine(std::move(m)), done(std::move(d)), logger(l) {}
  Transport& transport;
  Machine machine;
  Done done;
  const log_sink* logger;
  http_request request;
};

template <class Run, class Outcome>
void finish_run(std::unique_ptr<Run> run, Outcome&& outcome) {
  auto done = std::move(run->done);
  run.reset();
  done(std::move(outcome));
}

template <class Run>
void send_next(std::unique_ptr<Run> run) {
  Run& current = *run;
  const log_sink* logger = current.logger;
  async_exchange(current.transport, current.request, [run = std::move(run)](result<http_response>&& response) mutable {
    if constexpr (one_exchange_machine<decltype(run->machine)>) {
      auto outcome = run->machine.finish(std::move(response));
      finish_run(std::move(run), std::move(outcome));
    } else {
      auto outcome = run->machine.resume(std::move(response), run->request);
      if (!outcome) return send_next(std::move(run));
      finish_run(std::move(run), std::move(*outcome));
    }
  }, logger);
}

/// Starts a machine and returns; `done(result<T>)` runs once when it finishes: on the thread of the
/// transport's last completion, or on this one if the call finishes before sending or the transport
/// completes inside async_send. With a transport that only has send(), the whole call runs here first.
template <class Transport, class Machine, class Done>
void run_async(Transport& transport, Machine&& machine, Done&& done, const log_sink* logger = nullptr) {
  using machine_type = std::remove_cvref_t<Machine>;
  if constexpr (!async_transport<Transport>) {
    machine_type m(std::forward<Machine>(machine));
    done(run_sync(transport, m, logger));
  } else {
    using run_type = async_run<Transport, machine_type, std::decay_t<Done>>;
    auto run = std::make_unique<run_type>(transport, machine_type(std::forward<Machine>(machine)),
                                          std::decay_t<Done>(std::forward<Done>(done)), logger);
    auto outcome = run->machine.start(run->request);
    if (outcome) return finish_run(std::move(run), std::move(*outcome));
    send_next(std::move(run));
  }
}

/// What a client hands its Executor: one call of one operation, not started yet (executor.hpp lists the
/// interface). It points at its client, which must outlive it.
template <class Owner, class Machine, class Policy>
class call {
 public:
  using result_type = result<typename Machine::value_type>;
  using value_type = decltype(Policy::apply(std::declval<result_type&&>()));
  static constexpr bool is_asynchronous = Owner::asynchronous_transport;

  call(Owner& owner, Machine machine) : owner_(&owner), machine_(std::move(machine)) {}

  value_type operator()() { return Policy::apply(run()); }
  result_type run() { return owner_->run_sync(machine_); }
  template <class Completion>
  void start(Completion&& completion) && {
    owner_->run_async(std::move(machine_), std::forward<Completion>(completion));
  }
  result_type abandon() { return machine_.fail(cancelled_error()); }
  static value_type apply(result_type&& outcome) { return Policy::apply(std::move(outcome)); }

 private:
  Owner* owner_;
  Machine machine_;
};

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_PIPELINE_HPP
// ---- end apikeys/detail/pipeline.hpp ----
namespace APIKEYS_NAMESPACE::detail {

// --- the session rule: the token a call sends, and what a 401 means (docs/protocol.md section 7) ----------

/// Builds a request that carries `user`'s refresh or access token as the bearer (read under the session's
/// lock, never copied out); `build(ctx)` fills it. A null session, or one logged out, is refused with
/// errc::not_logged_in, the latter worded by `logged_out` for the call's family.
template <class Build>
std::optional<api_error> build_for_session(const std::shared_ptr<session>& user, ops::prerequisite token,
                                           std::chrono::milliseconds timeout, std::string_view logged_out, Build&& build,
                                           std::uint64_t* login = nullptr) {
  if (!user) return client_error(errc::not_logged_in, "no session: log in first");
  std::optional<api_error> refused;
  const auto with_token = [&](std::string_view bearer, std::uint64_t from_login) {
    if (login) *login = from_login;
    refused = build(ops::request_context{user->host(), bearer, timeout});
  };
  const bool logged_in = token == ops::prerequisite::access_token ? user->with_access_token(with_token)
                                                                   : user->with_refresh_token(with_token);
  if (!logged_in) return client_error(errc::not_logged_in, std::string{logged_out});
  return refused;
}

/// A session's call (operations/keys.hpp, operations/auth.hpp) run for `user`: the descriptor's checks,
/// the session's token, the descriptor's decoding, and docs/protocol.md section 7, as realm-core does it:
/// a 401 to the refresh token ends the session and revokes it on the server (one best-effort
/// DELETE /auth/session, whose outcome never replaces the 401); a 401 to refresh itself leaves the session
/// as it was; a 401 to the access token is answered by one refresh and one retry.
template <class Op>
struct session_call {
  using value_type = typename Op::value_type;
  static constexpr ops::prerequisite needs = Op::needs;
  static_assert(needs == ops::prerequisite::refresh_token || needs == ops::prerequisite::access_token);
  static constexpr bool ends_session = requires { requires Op::ends_session; };
  static constexpr bool keeps_session_on_401 = requires { requires Op::keeps_session_on_401; };

  std::shared_ptr<session> user;
  std::chrono::milliseconds timeout;
  std::string_view logged_out;  // the family's wording of errc::not_logged_in
  Op op;
  const log_sink* logger = nullptr;  // the client's, when it is on: told when this call ends the session
  std::uint64_t sent_login = 0;      // session::login_number() of the token the request carried
  bool refreshing = false;  // access-token calls: the refresh after a first 401 is in flight
  bool retried = false;     // access-token calls: the request after that refresh is in flight
  // The 401 the caller gets: a refresh-token call's while its revoking DELETE is in flight, an access-token
  // call's while the refresh it caused is.
  std::optional<api_error> rejected{};

  std::optional<result<value_type>> start(http_request& request) {
    if constexpr (requires { op.check(); }) {
      if (auto invalid = op.check()) return op.fail(std::move(*invalid));
    }
    if constexpr (ends_session) {
      if (user && !user->logged_in()) return result<value_type>{};
    }
    refreshing = retried = false;
    rejected.reset();
    auto refused = build(request);
    if (!refused) return std::nullopt;
    wipe(request);
    if constexpr (ends_session) {
      if (user) user->log_out();
    }
    return op.fail(std::move(*refused));
  }

  std::optional<result<value_type>> resume(result<http_response>&& response, http_request& request) {
    if constexpr (needs == ops::prerequisite::refresh_token) {
      // The revoking DELETE was answered (or not): whatever it got, the caller gets the 401.
      if (rejected) return op.fail(std::move(*rejected));
      if constexpr (!ends_session && !keeps_session_on_401) {
        if (!response && response.error().http_status == 401) {
          if (!revoke(request)) return op.fail(std::move(response).error());
          rejected = std::move(response).error();
          return std::nullopt;
        }
      }
      return settle(std::move(response));
    } else {
      if (refreshing) {
        refreshing = false;
        // core: a refresh that fails leaves the session as it was and the caller gets the first 401.
        if (!refresh_call().settle(std::move(response))) return op.fail(std::move(*rejected));
        retried = true;
        if (auto refused = build(request)) return op.fail(std::move(*refused));
        return std::nullopt;
      }
      if (!response) {
        if (response.error().http_status != 401 || retried) return op.fail(std::move(response).error());
        rejected = std::move(response).error();
        if (refresh_call().start(request)) return op.fail(std::move(*rejected));
        refreshing = true;
        return std::nullopt;
      }
      return decode(*response);
    }
  }

  result<value_type> fail(api_error error) const { return op.fail(std::move(error)); }

  // The outcome of a refresh-token call's one exchange, with no revoking: the refresh inside an
  // access-token call's retry, and every refresh-token call whose answer is not a 401 to revoke.
  result<value_type> settle(result<http_response>&& response)
    requires(needs == ops::prerequisite::refresh_token)
  {
    if constexpr (ends_session) {
      user->log_out();
      note_session_ended("logged out");
    }
    if (!response) return op.fail(std::move(response).error());
    return decode(*response);
  }

 private:
  result<value_type> decode(http_response& response) {
    if constexpr (requires { op.decode(response, *user); }) {
      return op.decode(response, *user);
    } else {
      return op.decode(response);
    }
  }
  // The descriptor's request, with the session's token; a refusal says why nothing can be sent.
  std::optional<api_error> build(http_request& request) {
    return build_for_session(
        user, needs, timeout, logged_out, [&](const ops::request_context& ctx) { return op.build(request, ctx); },
        &sent_login);
  }
  // Ends the session after a 401 to its refresh token, first building in `request` the log out that
  // revokes it on the server (the same bytes as ops::log_out), under the session's lock: of several calls
  // rejected at once, one sends it. False when there is nothing to send: the session had already ended, or
  // a later log in of the same user (an upsert) gave it tokens the 401 was not about.
  bool revoke(http_request& request) {
    std::optional<api_error> refused;
    const bool ended = user->end_with_refresh_token(
        [&](std::string_view bearer) {
          refused = ops::log_out{}.build(request, ops::request_context{user->host(), bearer, timeout});
        },
        sent_login);
    if (ended) note_session_ended("the server refused the refresh token (401)");
    if (ended && !refused) return true;
    wipe(request);
    return false;
  }
  // The refresh an access-token call makes after a first 401, for the same session.
  session_call<ops::refresh_session> refresh_call() const { return {user, timeout, logged_out, {}, logger}; }
  void note_session_ended(std::string_view why) const {
    if (!logger || !logger->enabled(log_level::info)) return;
    log_event e;
    e.kind = log_event_kind::session_ended;
    e.level = log_level::info;
    e.why = why;
    logger->write(e);
  }
};

/// An app's call that needs no session (operations/auth.hpp): the location lookup (sent to the base URL),
/// or one sent to the app's host, which the client core tells it first (located()).
template <class Op>
struct app_call {
  using value_type = typename Op::value_type;
  static constexpr ops::prerequisite needs = Op::needs;
  static_assert(needs == ops::prerequisite::none || needs == ops::prerequisite::location);

  const app_config* config;  // the app's, which outlives its calls
  Op op;
  std::string host{};

  void located(const location_response& where)
    requires(needs == ops::prerequisite::location)
  {
    host = where.hostname;
  }

  std::optional<result<value_type>> start(http_request& request) {
    if (auto refused = op.build(request, context(), *config)) {
      wipe(request);
      return op.fail(std::move(*refused));
    }
    return std::nullopt;
  }
  result<value_type> finish(result<http_response>&& response) {
    if (!response) return op.fail(std::move(response).error());
    return op.decode(*response, context());
  }
  result<value_type> fail(api_error error) const { return op.fail(std::move(error)); }

 private:
  ops::request_context context() const {
    return {needs == ops::prerequisite::none ? std::string_view{config->base_url} : std::string_view{host}, {}, config->timeout};
  }
};

/// log_in, then the profile with the new access token (session_call's rules, a refresh and retry
/// included), as realm-core's log_in_with_credentials does unless app_config::fetch_profile_at_login is
/// off. A failed profile fails the log in, in its context, and ends the new session here (its tokens are
/// wiped; nothing more is sent).
struct login_call {
  using value_type = std::shared_ptr<session>;
  static constexpr ops::prerequisite needs = ops::prerequisite::location;

  app_call<ops::log_in> login;
  std::optional<session_call<ops::fetch_profile>> profile{};

  void located(const location_response& where) { login.located(where); }

  std::optional<result<value_type>> start(http_request& request) {
    profile.reset();
    return login.start(request);
  }
  std::optional<result<value_type>> resume(result<http_response>&& response, http_request& request) {
    if (!profile) {
      auto made = login.finish(std::move(response));
      if (!made || !login.config->fetch_profile_at_login) return made;
      const log_sink* sink = login.config->logger ? &login.config->logger : nullptr;
      profile.emplace(session_call<ops::fetch_profile>{std::move(*made), login.config->timeout,
                                                       "the user must be logged in", {}, sink});
      if (auto fetched = profile->start(request)) return settle(std::move(*fetched));
      return std::nullopt;
    }
    auto fetched = profile->resume(std::move(response), request);
    if (!fetched) return std::nullopt;
    return settle(std::move(*fetched));
  }
  result<value_type> fail(api_error error) const { return login.fail(std::move(error)); }

 private:
  result<value_type> settle(result<user_profile>&& fetched) {
    std::shared_ptr<session> user = std::move(profile->user);
    if (fetched) return user;
    user->log_out();
    api_error error = std::move(fetched).error();
    error.context.clear();  // the caller asked to log in; the profile was part of it
    return fail(std::move(error));
  }
};

// --- the core ------------------------------------------------------------------------------------------------

template <class Machine>
constexpr bool needs_location() {
  if constexpr (requires { Machine::needs; }) {
    return Machine::needs == ops::prerequisite::location;
  } else {
    return false;
  }
}

/// What both clients are: a Transport, the client's own State, and an Executor, in that order (the
/// executor goes first, so one that owns a pool joins its calls while all they use is still here), with
/// one way to run a call machine (detail/pipeline.hpp) on them. A machine that needs the location is told
/// it first; State provides it (`location(core)` and `location_async(core, then)`), and its sink (`logger()`).
/// Its template arguments are checked here, once, for both clients.
template <class Transport, class Executor, class ErrorPolicy, class State>
class client_core {
  static_assert(check_any_transport<Transport>());
  static_assert(executor<Executor>, "apikeys: Executor needs execute(operation) (see apikeys/executor.hpp)");
  static_assert(error_policy<ErrorPolicy>, "apikeys: ErrorPolicy needs a static apply(result<T>&&) (see error_policy.hpp)");

 public:
  using transport_ref = std::remove_reference_t<Transport>&;
  static constexpr bool asynchronous_transport = async_transport<std::remove_reference_t<Transport>>;

  template <class... StateArgs>
  client_core(Transport transport, Executor executor, StateArgs&&... state)
      : transport_(std::forward<Transport>(transport)),
        state_(std::forward<StateArgs>(state)...),
        executor_(std::move(executor)) {}

  transport_ref transport() noexcept { return transport_; }
  Executor& executor() noexcept { return executor_; }
  State& state() noexcept { return state_; }
  const State& state() const noexcept { return state_; }

  /// Hands the call to the Executor, which decides what the caller gets.
  template <class Machine>
  decltype(auto) launch(Machine&& machine) {
    using machine_type = std::remove_cvref_t<Machine>;
    return executor_.execute(call<client_core, machine_type, ErrorPolicy>(*this, std::forward<Machine>(machine)));
  }

  /// Runs the call to the end on this thread.
  template <class Machine>
  result<typename Machine::value_type> run_sync(Machine& machine) {
    if constexpr (needs_location<Machine>()) {
      auto found = state_.location(*this);
      if (!found) return machine.fail(std::move(found).error());
      machine.located(*found);
    }
    return detail::run_sync(transport_, machine, logger());
  }

  /// Starts the call; `done(result<T>)` runs once, where pipeline.hpp's run_async says.
  template <class Machine, class Done>
  void run_async(Machine&& machine, Done&& done) {
    using machine_type = std::remove_cvref_t<Machine>;
    if constexpr (!asynchronous_transport) {
      machine_type local(std::forward<Machine>(machine));
      done(run_sync(local));
    } else if constexpr (needs_location<machine_type>()) {
      state_.location_async(*this, [this, m = machine_type(std::forward<Machine>(machine)),
                                    then = std::decay_t<Done>(std::forward<Done>(done))](result<location_response>&& found) mutable {
        if (!found) return then(m.fail(std::move(found).error()));
        m.located(*found);
        detail::run_async(transport_, std::move(m), std::move(then), logger());
      });
    } else {
      detail::run_async(transport_, std::forward<Machine>(machine), std::forward<Done>(done), logger());
    }
  }

  /// The State's sink (`state.logger()`) when it is on, else null: what the pipeline reports to.
  const log_sink* logger() const noexcept {
    const log_sink& sink = state_.logger();
    return sink ? &sink : nullptr;
  }

 private:
  Transport transport_;
  State state_;
  Executor executor_;
};

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_CLIENT_CORE_HPP
// ---- end apikeys/detail/client_core.hpp ----
namespace APIKEYS_NAMESPACE {

struct client_options {
  std::chrono::milliseconds timeout{60'000};  ///< copied into every request's `timeout`
  log_sink logger{};  ///< where the client's calls report (log.hpp); off by default
};

/// Manages the API keys of the user whose session it was given (never an implicit "current user").
/// Every call sends the session's refresh token, as the server requires; a 401 answer ends the session
/// (docs/protocol.md section 7) and the error is returned as the server gave it, without a retry.
///
/// Each operation is one descriptor (operations/keys.hpp) run by the client core, and the Executor
/// decides what a method returns: the value (inline_executor), a std::future (future_executor),
/// a deferred_call to give a completion (callback_executor), or an awaitable (coroutine_executor).
///
/// Transport may be a reference type (`my_transport&`) to share one transport between clients; it has
/// send(), async_send(), or both (see async_transport.hpp).
/// Thread safety: every method may be called concurrently from many threads provided the Transport's
/// send() (or async_send()) may; the session is shared safely. The client must outlive every call it
/// started that has not finished: futures not yet ready, callbacks not yet run, awaits not yet resumed.
template <class Transport, class Executor = inline_executor, class ErrorPolicy = throw_on_error>
class basic_api_key_client {
  struct state {
    std::shared_ptr<session> user;
    client_options options;
    const log_sink& logger() const noexcept { return options.logger; }
  };
  using core_type = detail::client_core<Transport, Executor, ErrorPolicy, state>;

 public:
  using transport_type = Transport;
  using executor_type = Executor;
  using error_policy_type = ErrorPolicy;
  /// True when the Transport has async_send: the future, callback and coroutine executors then block no thread.
  static constexpr bool asynchronous_transport = core_type::asynchronous_transport;

  basic_api_key_client(Transport transport, std::shared_ptr<session> user, client_options options = {},
                       Executor executor = {})
      : core_(std::forward<Transport>(transport), std::move(executor), state{std::move(user), options}) {}

  /// Creates a key named `name` ([A-Za-z0-9_-], checked before sending). The result is the only place the
  /// key's secret value ever appears: store it now.
  decltype(auto) create(std::string_view name) { return launch(ops::create_key{std::string{name}}); }
  /// The key with this id, or an empty optional when the user has no such key.
  decltype(auto) fetch(const object_id& id) { return launch(ops::fetch_key{id}); }
  /// Every key of the user, in creation order, without secrets.
  decltype(auto) fetch_all() { return launch(ops::fetch_keys{}); }
  /// Enables a key; enabling an enabled key succeeds. A missing key is an api_key_not_found error.
  decltype(auto) enable(const object_id& id) { return launch(ops::toggle_key{id, true}); }
  /// Disables a key: logins with it are refused until it is enabled again. A missing key is an error.
  decltype(auto) disable(const object_id& id) { return launch(ops::toggle_key{id, false}); }
  /// Deletes a key; deleting a key that does not exist succeeds.
  decltype(auto) remove(const object_id& id) { return launch(ops::delete_key{id}); }

  const std::shared_ptr<session>& user() const noexcept { return core_.state().user; }
  const client_options& options() const noexcept { return core_.state().options; }
  std::remove_reference_t<Transport>& transport() noexcept { return core_.transport(); }
  Executor& executor() noexcept { return core_.executor(); }

 private:
  // Every key route takes the refresh token, so a 401 to any of them ends the session.
  template <class Op>
  detail::session_call<Op> machine(Op&& op) {
    return {core_.state().user, core_.state().options.timeout, "the user must be logged in to manage API keys", std::move(op),
            core_.logger()};
  }
  template <class Op>
  decltype(auto) launch(Op&& op) {
    return core_.launch(machine(std::move(op)));
  }

  core_type core_;
};

template <class Transport>
using api_key_client = basic_api_key_client<Transport>;

}  // namespace apikeys

#endif  // APIKEYS_CLIENT_HPP
// ---- end apikeys/client.hpp ----
// ---- begin apikeys/app.hpp ----
// apikeys::basic_app_client: logging in, sessions, location, and the key clients of logged-in users.
#ifndef APIKEYS_APP_HPP
#define APIKEYS_APP_HPP

// ---- begin apikeys/detail/unique_function.hpp ----
// apikeys::detail::unique_function: a move-only std::function, for completions that own a promise or a frame.
#ifndef APIKEYS_DETAIL_UNIQUE_FUNCTION_HPP
#define APIKEYS_DETAIL_UNIQUE_FUNCTION_HPP

namespace APIKEYS_NAMESPACE::detail {

template <class Signature>
class unique_function;

// std::function insists on copyable targets; a completion that holds a std::promise is not one.
template <class R, class... Args>
class unique_function<R(Args...)> {
  struct base {
    virtual ~base() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct holder final : base {
    explicit holder(F&& f) : fn(std::move(f)) {}
    explicit holder(const F& f) : fn(f) {}
    R call(Args... args) override { return std::invoke(fn, std::forward<Args>(args)...); }
    F fn;
  };

 public:
  unique_function() noexcept = default;
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, unique_function> && std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  unique_function(F&& f)  // NOLINT: implicit, like std::function
      : target_(std::make_unique<holder<std::decay_t<F>>>(std::forward<F>(f))) {}

  explicit operator bool() const noexcept { return target_ != nullptr; }
  R operator()(Args... args) const { return target_->call(std::forward<Args>(args)...); }

 private:
  std::unique_ptr<base> target_;
};

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_UNIQUE_FUNCTION_HPP
// ---- end apikeys/detail/unique_function.hpp ----
namespace APIKEYS_NAMESPACE {

/// One App Services app: registers users, logs devices in (email/password, API key, anonymous, custom
/// token), refreshes and ends sessions, and hands out key clients for logged-in users. Before its first
/// request it asks the location route once where the app lives; every session it makes talks to that host.
/// The Executor shapes what each method returns, as for basic_api_key_client.
///
/// Transport may be a reference type (`my_transport&`); it has send(), async_send(), or both.
/// Thread safety: every method may be called concurrently provided the Transport's send() (or
/// async_send()) may; the location is looked up once even then, whichever executors ask. The app must
/// outlive every call it started that has not finished, and the key clients it handed out.
template <class Transport, class Executor = inline_executor, class ErrorPolicy = throw_on_error>
class basic_app_client {
  struct state;
  using core_type = detail::client_core<Transport, Executor, ErrorPolicy, state>;
  using lookup_machine = detail::app_call<ops::locate_app>;

  // The app's own state: its config, and the location, looked up once whichever path asks.
  struct state {
    explicit state(app_config c) : config(std::move(c)) {}

    app_config config;
    // The users API (use_store); shared, so a session that outlives the app never reaches a dead app.
    std::shared_ptr<detail::user_registry> users = std::make_shared<detail::user_registry>();
    std::mutex location_mutex;
    std::condition_variable location_idle;
    bool location_in_flight = false;
    std::vector<detail::unique_function<void(result<location_response>)>> location_waiters;
    std::optional<location_response> found;

    const log_sink& logger() const noexcept { return config.logger; }
    const log_sink* logger_if_on() const noexcept { return config.logger ? &config.logger : nullptr; }

    // The location, on this thread: one lookup in flight, whoever started it; later callers wait for its answer.
    result<location_response> location(core_type& core) {
      {
        std::unique_lock lock(location_mutex);
        location_idle.wait(lock, [&] { return !location_in_flight; });
        if (found) return *found;
        location_in_flight = true;
      }
      struct settle_on_throw {
        state* self;
        bool armed = true;
        ~settle_on_throw() {
          if (armed) self->settle(unexpected{detail::client_error(errc::transport_error, "the location lookup failed")});
        }
      } guard{this};
      lookup_machine m{&config, {}};
      auto answer = detail::run_sync(core.transport(), m, logger_if_on());
      guard.armed = false;
      settle(answer);
      return answer;
    }

    // As location(), without blocking: `then(result<location_response>)` runs once the location is known.
    template <class Then>
    void location_async(core_type& core, Then&& then) {
      std::unique_lock lock(location_mutex);
      if (found) {
        result<location_response> cached{*found};
        lock.unlock();
        then(std::move(cached));
        return;
      }
      location_waiters.emplace_back(std::forward<Then>(then));
      if (location_in_flight) return;
      location_in_flight = true;
      lock.unlock();
      detail::run_async(core.transport(), lookup_machine{&config, {}}, [this](result<location_response>&& answer) { settle(answer); },
                        logger_if_on());
    }

    // Ends the lookup in flight: caches a success, wakes the blocked callers, completes the waiting calls.
    void settle(const result<location_response>& answer) {
      std::vector<detail::unique_function<void(result<location_response>)>> waiting;
      {
        const std::lock_guard lock(location_mutex);
        if (answer) found = *answer;
        location_in_flight = false;
        waiting.swap(location_waiters);
      }
      if (answer && config.logger.enabled(log_level::info)) {
        log_event e;
        e.kind = log_event_kind::location_resolved;
        e.level = log_level::info;
        e.host = answer->hostname;
        config.logger.write(e);
      }
      location_idle.notify_all();
      for (auto& then : waiting) then(result<location_response>{answer});
    }
  };


 public:
  using transport_type = Transport;
  using transport_ref = std::remove_reference_t<Transport>&;
  using executor_type = Executor;
  using error_policy_type = ErrorPolicy;
  /// True when the Transport has async_send: the future, callback and coroutine executors then block no thread.
  static constexpr bool asynchronous_transport = core_type::asynchronous_transport;

  basic_app_client(Transport transport, app_config config, Executor executor = {})
      : core_(std::forward<Transport>(transport), std::move(executor), std::move(config)) {}

  /// Logs in and returns the new session (a std::shared_ptr<session>, shared by the clients that use it).
  /// Then fetches the profile into it (session::profile()), unless config().fetch_profile_at_login is off;
  /// a failed profile fails the log in (docs/protocol.md section 4). With a store (use_store), the user
  /// becomes the current user, and a user who is already logged in keeps the same session object, which
  /// takes the new tokens and profile (docs/protocol.md section 7).
  decltype(auto) log_in(const credentials& creds) {
    return launch(remembered_login<detail::login_call>{detail::login_call{app_call(ops::log_in{creds})},
                                                       core_.state().users.get(), config().timeout});
  }
  /// Registers an email/password user; the user can log in at once.
  decltype(auto) register_user(std::string_view email, std::string_view password) {
    return launch(app_call(ops::register_user{std::string{email}, secret{password}}));
  }
  /// Replaces the session's access token. A 401 ends the session (section 7).
  decltype(auto) refresh(std::shared_ptr<session> user) {
    return launch(session_call(std::move(user), ops::refresh_session{}));
  }
  /// Revokes the session on the server and ends it here; the session ends here even when the server
  /// cannot be reached (the error is still reported). Logging out a logged-out session sends nothing.
  /// With a store, the user is forgotten there too.
  decltype(auto) log_out(std::shared_ptr<session> user) {
    return launch(session_call(std::move(user), ops::log_out{}));
  }

  // --- the users API (.NET's App.CurrentUser, AllUsers, SwitchUser, RemoveUser) ----------------------------

  /// Keeps this app's users in `store` (session_store.hpp) from now on, and restores the users it holds:
  /// they are logged in again, without a request, with the tokens they had. Each later log in is saved
  /// (an upsert), each refresh's new access token too, and a session that ends is forgotten. The store
  /// must outlive the app. Fails (errc::store_error, through the ErrorPolicy) when the store cannot be
  /// read; the app then keeps what it had.
  template <session_store Store>
  decltype(auto) use_store(Store& store) {
    return ErrorPolicy::apply(core_.state().users->attach(std::make_unique<detail::session_store_ref<Store>>(store)));
  }
  /// The user the app acts for: the last one logged in or switched to; null without a store or a user.
  std::shared_ptr<session> current_user() const { return core_.state().users->current_user(); }
  /// The logged-in users the store holds, in the order they first logged in; empty without a store.
  std::vector<std::shared_ptr<session>> all_users() const { return core_.state().users->all_users(); }
  /// Makes `user`, one of all_users(), the current user (saved in the store); anyone else is refused with
  /// errc::invalid_argument.
  decltype(auto) switch_user(const std::shared_ptr<session>& user) {
    return ErrorPolicy::apply(core_.state().users->switch_user(user));
  }
  /// log_out under .NET's name: revokes the session, ends it here and forgets the user in the store,
  /// even when the server cannot be reached (that error is still reported).
  decltype(auto) remove_user(std::shared_ptr<session> user) { return log_out(std::move(user)); }
  /// The user's profile, also kept by the session (session::profile()). Uses the access token; a 401 is
  /// answered by one refresh and one retry.
  decltype(auto) profile(std::shared_ptr<session> user) {
    return launch(session_call(std::move(user), ops::fetch_profile{}));
  }
  /// Where the app lives; looked up once, then cached.
  decltype(auto) location() { return launch(cached_location_machine{}); }

  /// A key client for `user`, sharing this app's transport (the app must outlive it) and, when it is of
  /// the same type, this app's executor (and so its thread pool). Pick another executor or error policy
  /// per client: `app.api_keys<apikeys::return_result>(user)`.
  template <class Policy = ErrorPolicy, class Exec = Executor>
  basic_api_key_client<transport_ref, Exec, Policy> api_keys(std::shared_ptr<session> user) {
    if constexpr (std::is_same_v<Exec, Executor>) {
      return api_keys<Policy, Exec>(std::move(user), core_.executor());
    } else {
      return api_keys<Policy, Exec>(std::move(user), Exec{});
    }
  }
  /// As above, with the key client's own executor.
  template <class Policy = ErrorPolicy, class Exec = Executor>
  basic_api_key_client<transport_ref, Exec, Policy> api_keys(std::shared_ptr<session> user, Exec executor) {
    return basic_api_key_client<transport_ref, Exec, Policy>(core_.transport(), std::move(user),
                                                             client_options{config().timeout, config().logger}, std::move(executor));
  }

  const app_config& config() const noexcept { return core_.state().config; }
  transport_ref transport() noexcept { return core_.transport(); }
  Executor& executor() noexcept { return core_.executor(); }

 private:
  // The descriptors (operations/auth.hpp), as the client core runs them.
  template <class Op>
  detail::app_call<Op> app_call(Op&& op) const {
    return {&config(), std::move(op)};
  }
  template <class Op>
  detail::session_call<Op> session_call(std::shared_ptr<session> user, Op&& op) const {
    return {std::move(user), config().timeout, "the user must be logged in", std::move(op), core_.logger()};
  }

  // log_in's machine, whose new session the app's users keep (the upsert) where it is made, on whichever
  // thread finishes the call. When the store cannot be written, the new session is revoked on the server
  // (one best-effort DELETE /auth/session, whose outcome changes nothing) and the log in fails with the
  // store's error: a session nobody holds is not left valid.
  template <class Inner>
  struct remembered_login {
    using value_type = typename Inner::value_type;
    static constexpr ops::prerequisite needs = Inner::needs;
    Inner inner;
    detail::user_registry* users;  // the app's, which outlives its calls
    std::chrono::milliseconds timeout;
    std::optional<api_error> unsaved{};  // set while the revoke of a session the store refused is in flight

    void located(const location_response& where)
      requires(needs == ops::prerequisite::location)
    {
      inner.located(where);
    }
    std::optional<result<value_type>> start(http_request& request) {
      unsaved.reset();
      auto done = inner.start(request);
      if (!done) return done;
      return keep(std::move(*done), request);
    }
    std::optional<result<value_type>> resume(result<http_response>&& response, http_request& request) {
      if (unsaved) return inner.fail(std::move(*std::exchange(unsaved, std::nullopt)));  // the revoke's answer
      if constexpr (detail::one_exchange_machine<Inner>) {
        return keep(inner.finish(std::move(response)), request);
      } else {
        auto done = inner.resume(std::move(response), request);
        if (!done) return done;
        return keep(std::move(*done), request);
      }
    }
    result<value_type> fail(api_error error) const { return inner.fail(std::move(error)); }

   private:
    std::optional<result<value_type>> keep(result<value_type>&& made, http_request& request) {
      using outcome = std::optional<result<value_type>>;
      if (!made) return outcome{std::move(made)};
      const std::shared_ptr<session> fresh = *made;
      auto kept = users->adopt(std::move(*made));
      if (kept) return outcome{std::move(kept)};
      unsaved = std::move(kept).error();
      auto refused = detail::build_for_session(fresh, ops::prerequisite::refresh_token, timeout, "the user must be logged in",
                                               [&](const ops::request_context& ctx) { return ops::log_out{}.build(request, ctx); });
      fresh->log_out();
      if (!refused) return std::nullopt;
      detail::wipe(request);
      return inner.fail(std::move(*std::exchange(unsaved, std::nullopt)));
    }
  };

  // location(): the answer of the single lookup, which it waits for like any call that needs it.
  struct cached_location_machine {
    static constexpr ops::prerequisite needs = ops::prerequisite::location;
    using value_type = location_response;
    std::optional<location_response> found{};

    void located(const location_response& where) { found = where; }
    std::optional<result<value_type>> start(http_request&) { return result<value_type>{*found}; }
    result<value_type> finish(result<http_response>&&) { return fail({}); }  // never sends
    result<value_type> fail(api_error error) const { return ops::locate_app{}.fail(std::move(error)); }
  };

  // --- running machines -------------------------------------------------------------------------------------

  template <class Machine>
  decltype(auto) launch(Machine&& m) {
    return core_.launch(std::forward<Machine>(m));
  }

  core_type core_;
};

template <class Transport>
using app_client = basic_app_client<Transport>;

}  // namespace apikeys

#endif  // APIKEYS_APP_HPP
// ---- end apikeys/app.hpp ----
#endif  // APIKEYS_APIKEYS_HPP
// ---- end apikeys/apikeys.hpp ----
