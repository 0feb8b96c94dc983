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

#include "detail/format.hpp"
#include "version.hpp"

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
