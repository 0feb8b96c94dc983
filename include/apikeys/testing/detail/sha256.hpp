// apikeys::testing::detail: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), so the emulator needs no crypto library.
#ifndef APIKEYS_TESTING_DETAIL_SHA256_HPP
#define APIKEYS_TESTING_DETAIL_SHA256_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../../version.hpp"

namespace APIKEYS_NAMESPACE::testing::detail {

using sha256_digest = std::array<std::uint8_t, 32>;

/// Incremental SHA-256. Feed it with update(), then call finish() once.
/// Thread safety: none; one hasher per thread.
class sha256 {
 public:
  static constexpr std::size_t block_size = 64;
  static constexpr std::size_t digest_size = 32;

  /// Hashes more bytes.
  void update(const void* data, std::size_t size) noexcept {
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    total_ += size;
    while (size > 0) {
      if (buffered_ == 0 && size >= block_size) {
        // Whole blocks straight from the input, skipping the copy into the buffer.
        compress(bytes);
        bytes += block_size;
        size -= block_size;
        continue;
      }
      const std::size_t take = (block_size - buffered_) < size ? (block_size - buffered_) : size;
      for (std::size_t i = 0; i < take; ++i) buffer_[buffered_ + i] = bytes[i];
      buffered_ += take;
      bytes += take;
      size -= take;
      if (buffered_ == block_size) {
        compress(buffer_.data());
        buffered_ = 0;
      }
    }
  }

  /// Hashes the bytes of `text`.
  void update(std::string_view text) noexcept { update(text.data(), text.size()); }

  /// Pads, hashes the last block(s) and returns the digest; the hasher is spent afterwards.
  sha256_digest finish() noexcept {
    const std::uint64_t bit_length = total_ * 8u;
    buffer_[buffered_++] = 0x80;
    if (buffered_ > block_size - 8) {
      while (buffered_ < block_size) buffer_[buffered_++] = 0;
      compress(buffer_.data());
      buffered_ = 0;
    }
    while (buffered_ < block_size - 8) buffer_[buffered_++] = 0;
    for (int i = 7; i >= 0; --i) buffer_[buffered_++] = static_cast<std::uint8_t>(bit_length >> (8 * i));
    compress(buffer_.data());
    buffered_ = 0;
    sha256_digest out{};
    for (std::size_t i = 0; i < 8; ++i) {
      out[4 * i] = static_cast<std::uint8_t>(state_[i] >> 24);
      out[4 * i + 1] = static_cast<std::uint8_t>(state_[i] >> 16);
      out[4 * i + 2] = static_cast<std::uint8_t>(state_[i] >> 8);
      out[4 * i + 3] = static_cast<std::uint8_t>(state_[i]);
    }
    return out;
  }

 private:
  static constexpr std::uint32_t rotr(std::uint32_t x, int n) noexcept { return (x >> n) | (x << (32 - n)); }

  void compress(const std::uint8_t* block) noexcept {
    static constexpr std::array<std::uint32_t, 64> k = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::array<std::uint32_t, 64> w{};
    for (std::size_t i = 0; i < 16; ++i)
      w[i] = (static_cast<std::uint32_t>(block[4 * i]) << 24) | (static_cast<std::uint32_t>(block[4 * i + 1]) << 16) |
             (static_cast<std::uint32_t>(block[4 * i + 2]) << 8) | static_cast<std::uint32_t>(block[4 * i + 3]);
    for (std::size_t i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
    std::uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
    for (std::size_t i = 0; i < 64; ++i) {
      const std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state_[0] += a;
    state_[1] += b;
    state_[2] += c;
    state_[3] += d;
    state_[4] += e;
    state_[5] += f;
    state_[6] += g;
    state_[7] += h;
  }

  std::array<std::uint32_t, 8> state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<std::uint8_t, block_size> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

/// SHA-256 of `data` in one call.
inline sha256_digest sha256_of(std::string_view data) noexcept {
  sha256 hasher;
  hasher.update(data);
  return hasher.finish();
}

/// HMAC-SHA256 of `message` under `key` (RFC 2104: keys longer than a block are hashed first).
inline sha256_digest hmac_sha256(std::string_view key, std::string_view message) noexcept {
  std::array<std::uint8_t, sha256::block_size> block_key{};
  if (key.size() > sha256::block_size) {
    const sha256_digest hashed = sha256_of(key);
    for (std::size_t i = 0; i < hashed.size(); ++i) block_key[i] = hashed[i];
  } else {
    for (std::size_t i = 0; i < key.size(); ++i) block_key[i] = static_cast<std::uint8_t>(key[i]);
  }
  std::array<std::uint8_t, sha256::block_size> pad{};
  for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = static_cast<std::uint8_t>(block_key[i] ^ 0x36u);
  sha256 inner;
  inner.update(pad.data(), pad.size());
  inner.update(message);
  const sha256_digest inner_digest = inner.finish();
  for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = static_cast<std::uint8_t>(block_key[i] ^ 0x5cu);
  sha256 outer;
  outer.update(pad.data(), pad.size());
  outer.update(inner_digest.data(), inner_digest.size());
  return outer.finish();
}

/// Compares two digests in time that does not depend on where they differ.
inline bool digests_equal(const sha256_digest& a, const sha256_digest& b) noexcept {
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned>(a[i] ^ b[i]);
  return diff == 0;
}

/// 64 lowercase hex digits, for known-answer tests.
inline std::string to_hex(const sha256_digest& digest) {
  constexpr char hex[] = "0123456789abcdef";
  std::string out(2 * digest.size(), '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 0x0f];
  }
  return out;
}

}  // namespace apikeys::testing::detail

#endif  // APIKEYS_TESTING_DETAIL_SHA256_HPP
