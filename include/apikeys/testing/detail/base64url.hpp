// apikeys::testing::detail: unpadded base64url (RFC 4648 section 5), the alphabet of JWT parts.
#ifndef APIKEYS_TESTING_DETAIL_BASE64URL_HPP
#define APIKEYS_TESTING_DETAIL_BASE64URL_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "../../version.hpp"

namespace APIKEYS_NAMESPACE::testing::detail {

inline constexpr char base64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr int base64url_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/// Encodes bytes without `=` padding, as JWTs do.
inline std::string base64url_encode(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t n = (static_cast<std::uint32_t>(bytes[i]) << 16) |
                            (static_cast<std::uint32_t>(bytes[i + 1]) << 8) | bytes[i + 2];
    out.push_back(base64url_alphabet[(n >> 18) & 63u]);
    out.push_back(base64url_alphabet[(n >> 12) & 63u]);
    out.push_back(base64url_alphabet[(n >> 6) & 63u]);
    out.push_back(base64url_alphabet[n & 63u]);
  }
  if (size - i == 1) {
    const std::uint32_t n = static_cast<std::uint32_t>(bytes[i]) << 16;
    out.push_back(base64url_alphabet[(n >> 18) & 63u]);
    out.push_back(base64url_alphabet[(n >> 12) & 63u]);
  } else if (size - i == 2) {
    const std::uint32_t n = (static_cast<std::uint32_t>(bytes[i]) << 16) | (static_cast<std::uint32_t>(bytes[i + 1]) << 8);
    out.push_back(base64url_alphabet[(n >> 18) & 63u]);
    out.push_back(base64url_alphabet[(n >> 12) & 63u]);
    out.push_back(base64url_alphabet[(n >> 6) & 63u]);
  }
  return out;
}

/// Encodes the bytes of `text`.
inline std::string base64url_encode(std::string_view text) { return base64url_encode(text.data(), text.size()); }

/// True when `text` is a non-empty unpadded base64url string of a possible length.
constexpr bool is_base64url(std::string_view text) noexcept {
  if (text.empty() || text.size() % 4 == 1) return false;
  for (const char c : text)
    if (base64url_value(c) < 0) return false;
  return true;
}

/// Decodes unpadded base64url; an empty optional for anything else (padding, foreign characters,
/// a length no encoder produces, or non-zero leftover bits).
inline std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = base64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xffu));
    }
  }
  if ((acc & ((1u << bits) - 1u)) != 0) return std::nullopt;  // a canonical encoder leaves these bits zero
  return out;
}

}  // namespace apikeys::testing::detail

#endif  // APIKEYS_TESTING_DETAIL_BASE64URL_HPP
