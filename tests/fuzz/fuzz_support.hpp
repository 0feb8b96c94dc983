// apikeys fuzzing: a small reader over the fuzzer's bytes, and the invariant checks every target shares.
#ifndef APIKEYS_TESTS_FUZZ_SUPPORT_HPP
#define APIKEYS_TESTS_FUZZ_SUPPORT_HPP

#include <simdjson.h>

#include <apikeys/apikeys.hpp>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace apikeys_fuzz {

// A broken invariant aborts, so libFuzzer records the input as a crash and the replay test fails.
[[noreturn]] inline void invariant_failed(const char* file, int line, const char* condition, std::string_view detail) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, condition);
  if (!detail.empty()) std::fprintf(stderr, "  detail: %.*s\n", static_cast<int>(detail.size()), detail.data());
  std::fflush(stderr);
  std::abort();
}

#define APIKEYS_FUZZ_CHECK(condition, detail)                                                   \
  do {                                                                                          \
    if (!(condition)) ::apikeys_fuzz::invariant_failed(__FILE__, __LINE__, #condition, detail); \
  } while (0)

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

/// Reads typed values off the front of the fuzzer's input; past the end every read yields zeros or
/// empty strings, so a target never needs to check for exhaustion before reading.
class byte_reader {
 public:
  byte_reader(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

  bool empty() const noexcept { return pos_ >= size_; }
  std::size_t remaining() const noexcept { return size_ - pos_; }

  std::uint8_t byte() noexcept { return empty() ? std::uint8_t{0} : data_[pos_++]; }
  std::uint16_t u16() noexcept {
    const unsigned lo = byte();
    const unsigned hi = byte();
    return static_cast<std::uint16_t>(lo | (hi << 8));
  }
  /// A number in [0, n), n at most 256.
  std::size_t pick(std::size_t n) noexcept { return n == 0 ? 0 : byte() % n; }
  bool flag() noexcept { return (byte() & 1u) != 0; }

  std::string bytes(std::size_t n) {
    if (n > remaining()) n = remaining();
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  /// Up to 255 bytes, the length in one byte.
  std::string short_string() { return bytes(byte()); }
  /// Up to 65535 bytes, the length in two (little-endian).
  std::string long_string() { return bytes(u16()); }
  std::string rest() { return bytes(remaining()); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// --- responses chosen by bytes: statuses and Content-Types worth trying -----------------------------------

/// 0-99: a 2xx (200 + b); 100-255: one of the statuses below, boundaries and odd values included.
inline int status_from(std::uint8_t b) noexcept {
  if (b < 100) return 200 + b;
  constexpr int others[] = {0,   -1,  100, 101, 199, 300, 301, 302, 304, 399, 400, 401, 403, 404,     405,
                            409, 418, 429, 500, 502, 503, 504, 599, 600, 999, 1,   199, 300, INT_MAX, INT_MIN};
  return others[static_cast<std::size_t>(b - 100) % std::size(others)];
}

/// Headers from one selector byte (and, for a custom Content-Type, a string from `in`): low 4 bits pick
/// the Content-Type (0: none), bits 4-5 the spelling of the header name, bit 6 adds an unrelated header
/// first, bit 7 a second Content-Type after (text/plain), which must not count: the first one wins.
inline std::vector<apikeys::http_header> headers_from(std::uint8_t selector, byte_reader& in) {
  constexpr std::string_view types[] = {"",
                                        "application/json",
                                        "application/json;charset=utf-8",
                                        "application/json; charset=UTF-8",
                                        "Application/JSON",
                                        " application/json\t",
                                        "application/json ; x=1",
                                        "text/plain",
                                        "text/html",
                                        "application/jsonp",
                                        "application/problem+json",
                                        "text/html; application/json",
                                        "",
                                        ";application/json",
                                        "application/json;"};
  constexpr std::string_view names[] = {"Content-Type", "content-type", "CONTENT-TYPE", "Content-type"};
  std::vector<apikeys::http_header> headers;
  if (selector & 0x40u) headers.push_back({"X-Request-Id", "fuzz"});
  const std::size_t type = selector & 0x0fu;
  const std::string name{names[(selector >> 4) & 0x03u]};
  if (type == 15) {
    headers.push_back({name, in.short_string()});
  } else if (type != 0) {
    headers.push_back({name, std::string{types[type]}});
  }
  if (selector & 0x80u) headers.push_back({"Content-Type", "text/plain"});
  return headers;
}

// --- comparing results: the same input must give the same answer on every path ---------------------------

inline bool same_error(const apikeys::api_error& a, const apikeys::api_error& b) {
  return a.code == b.code && a.http_status == b.http_status && a.server_code == b.server_code &&
         a.message == b.message && a.link == b.link && a.context == b.context;
}

inline bool same_value(const apikeys::secret& a, const apikeys::secret& b) { return a.reveal() == b.reveal(); }
inline bool same_value(const apikeys::api_key& a, const apikeys::api_key& b) {
  if (a.id != b.id || a.name != b.name || a.enabled != b.enabled || a.value.has_value() != b.value.has_value())
    return false;
  return !a.value || a.value->reveal() == b.value->reveal();
}
inline bool same_value(const std::vector<apikeys::api_key>& a, const std::vector<apikeys::api_key>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same_value(a[i], b[i])) return false;
  return true;
}
inline bool same_value(const apikeys::login_response& a, const apikeys::login_response& b) {
  return a.user_id == b.user_id && a.device_id == b.device_id && a.access_token.reveal() == b.access_token.reveal() &&
         a.refresh_token.reveal() == b.refresh_token.reveal();
}
inline bool same_value(const apikeys::location_response& a, const apikeys::location_response& b) {
  return a.hostname == b.hostname && a.ws_hostname == b.ws_hostname;
}
inline bool same_value(const apikeys::user_profile& a, const apikeys::user_profile& b) {
  if (a.user_id != b.user_id || a.type != b.type || a.data != b.data || a.identities.size() != b.identities.size())
    return false;
  for (std::size_t i = 0; i < a.identities.size(); ++i) {
    const auto& x = a.identities[i];
    const auto& y = b.identities[i];
    if (x.id != y.id || x.provider_type != y.provider_type || x.provider_id != y.provider_id) return false;
  }
  return true;
}

template <class T>
bool same_result(const apikeys::result<T>& a, const apikeys::result<T>& b) {
  if (a.has_value() != b.has_value()) return false;
  return a.has_value() ? same_value(*a, *b) : same_error(a.error(), b.error());
}

/// The response twice: once with no spare capacity after the body (decoded from the per-thread padded
/// copy) and once with room for simdjson's padding (decoded in place). padded_body() takes either path.
struct response_pair {
  apikeys::http_response tight;
  apikeys::http_response roomy;
};

inline response_pair both_paddings(int status, std::vector<apikeys::http_header> headers, const std::string& body) {
  response_pair pair;
  pair.tight.status = status;
  pair.tight.headers = headers;
  pair.tight.body = body;
  pair.tight.body.shrink_to_fit();
  pair.roomy.status = status;
  pair.roomy.headers = std::move(headers);
  pair.roomy.body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  pair.roomy.body.assign(body);
  return pair;
}

/// padded_body's promise: the same bytes, with at least SIMDJSON_PADDING readable bytes after them.
inline void check_padding(const std::string& body) {
  const simdjson::padded_string_view view = apikeys::detail::padded_body(body);
  APIKEYS_FUZZ_CHECK(view.length() == body.size(), "");
  APIKEYS_FUZZ_CHECK(view.capacity() >= body.size() + simdjson::SIMDJSON_PADDING, "");
  APIKEYS_FUZZ_CHECK(std::string_view(view.data(), view.length()) == body, "");
}

/// Decodes `body` along both padding paths, twice each (the per-thread parser and buffer are reused, so
/// a second decode must not see the first), and checks all four agree; returns one of them.
template <class Decode>
auto decode_every_way(Decode&& decode, int status, const std::string& body) {
  auto pair = both_paddings(status, {{"Content-Type", "application/json"}}, body);
  check_padding(pair.tight.body);
  check_padding(pair.roomy.body);
  auto first = decode(pair.tight);
  const auto second = decode(pair.roomy);
  const auto third = decode(pair.tight);
  const auto fourth = decode(pair.roomy);
  APIKEYS_FUZZ_CHECK(same_result(first, second), "in-place and copied decodes differ");
  APIKEYS_FUZZ_CHECK(same_result(first, third), "a repeated decode differs");
  APIKEYS_FUZZ_CHECK(same_result(first, fourth), "a repeated in-place decode differs");
  return first;
}

// --- errors ---------------------------------------------------------------------------------------------------

/// The text of a secret never reaches an error: checked in every field and in the printed error.
/// `canary` is a word no library message contains, which the seed corpus plants in secret values.
inline constexpr std::string_view canary = "SECRET";

/// What every api_error promises, whatever produced it.
inline void check_error_shape(const apikeys::api_error& e) {
  using apikeys::errc;
  using apikeys::error_kind;
  const std::string printed = apikeys::detail::describe(e);
  const int code = static_cast<int>(e.code);
  APIKEYS_FUZZ_CHECK(
      code >= static_cast<int>(errc::invalid_argument) && code <= static_cast<int>(errc::auth_provider_not_found),
      printed);
  APIKEYS_FUZZ_CHECK(e.kind() != error_kind::none, printed);
  APIKEYS_FUZZ_CHECK(e.error_code().category().name() == std::string_view{"apikeys"}, printed);
  APIKEYS_FUZZ_CHECK(!e.error_code().message().empty(), printed);
  APIKEYS_FUZZ_CHECK(!printed.empty(), printed);
  APIKEYS_FUZZ_CHECK(e.context.empty() || printed.starts_with(e.context + ": "), printed);
  switch (e.kind()) {
    case error_kind::client:
    case error_kind::transport:
      APIKEYS_FUZZ_CHECK(e.http_status == 0, printed);
      APIKEYS_FUZZ_CHECK(e.server_code.empty() && e.link.empty(), printed);
      APIKEYS_FUZZ_CHECK(!e.message.empty(), printed);
      break;
    case error_kind::bad_response:
      // Only a 2xx answer is decoded, so a malformed one always names a 2xx status.
      APIKEYS_FUZZ_CHECK(e.http_status >= 200 && e.http_status <= 299, printed);
      APIKEYS_FUZZ_CHECK(e.server_code.empty() && e.link.empty(), printed);
      APIKEYS_FUZZ_CHECK(e.message.starts_with("malformed response: "), printed);
      break;
    case error_kind::http:
      APIKEYS_FUZZ_CHECK(e.http_status < 200 || e.http_status > 299, printed);
      APIKEYS_FUZZ_CHECK(e.server_code.empty() && e.link.empty(), printed);
      APIKEYS_FUZZ_CHECK(!e.message.empty() && e.message.size() <= 1024 + 3, printed);
      break;
    case error_kind::service:
      if (e.code == errc::unknown_service_error) {
        APIKEYS_FUZZ_CHECK(e.server_code.empty(), printed);
      } else {
        APIKEYS_FUZZ_CHECK(!e.server_code.empty(), printed);
        APIKEYS_FUZZ_CHECK(apikeys::errc_from_server_code(e.server_code) == e.code, printed);
      }
      // Read from JSON strings, which simdjson has validated.
      APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(e.server_code), printed);
      APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(e.message), printed);
      APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(e.link), printed);
      break;
    case error_kind::none:
      break;
  }
}

/// A decoder's error: malformed, with the answer's status, and no byte of any value it read.
inline void check_decode_error(const apikeys::api_error& e, int status) {
  check_error_shape(e);
  const std::string printed = apikeys::detail::describe(e);
  APIKEYS_FUZZ_CHECK(e.code == apikeys::errc::bad_response, printed);
  APIKEYS_FUZZ_CHECK(e.http_status == status, printed);
  APIKEYS_FUZZ_CHECK(e.context.empty(), printed);
  APIKEYS_FUZZ_CHECK(!contains(printed, canary), printed);
}

/// A decoded key: a printable id that round-trips, a UTF-8 name, and no secret in its printed form.
inline void check_key(const apikeys::api_key& key) {
  const std::string id = key.id.to_string();
  APIKEYS_FUZZ_CHECK(id.size() == apikeys::object_id::text_size, id);
  APIKEYS_FUZZ_CHECK(apikeys::object_id::parse(id) == key.id, id);
  APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(key.name), key.name);
  if (key.value) APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(key.value->reveal()), "");
  // Printed, a key shows its id, name and state, and only a marker for its value.
  const std::string expected = "api_key{id=" + id + ", name=\"" + key.name +
                               "\", enabled=" + (key.enabled ? "true" : "false") +
                               (key.value ? ", value=<redacted>}" : "}");
  APIKEYS_FUZZ_CHECK(apikeys::detail::describe(key) == expected, expected);
}

}  // namespace apikeys_fuzz

#endif  // APIKEYS_TESTS_FUZZ_SUPPORT_HPP
