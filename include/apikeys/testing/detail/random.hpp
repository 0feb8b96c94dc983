// apikeys::testing::detail: bytes, secrets and ids from the operating system's cryptographic randomness.
#ifndef APIKEYS_TESTING_DETAIL_RANDOM_HPP
#define APIKEYS_TESTING_DETAIL_RANDOM_HPP

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#if defined(__linux__)
#include <sys/random.h>
#include <sys/types.h>

#include "../../version.hpp"
#endif

namespace APIKEYS_NAMESPACE::testing::detail {

/// Fills `data` with OS randomness (getrandom() on Linux, /dev/urandom elsewhere). There is no sane way
/// to go on without it, and an emulator handing out guessable tokens would be worse, so failure aborts.
inline void fill_random(void* data, std::size_t size) {
  auto* out = static_cast<unsigned char*>(data);
#if defined(__linux__)
  while (size > 0) {
    const ssize_t got = ::getrandom(out, size, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::fputs("apikeys emulator: getrandom() failed\n", stderr);
      std::abort();
    }
    out += got;
    size -= static_cast<std::size_t>(got);
  }
#else
  std::FILE* f = std::fopen("/dev/urandom", "rb");
  if (f == nullptr || std::fread(out, 1, size, f) != size) {
    std::fputs("apikeys emulator: cannot read /dev/urandom\n", stderr);
    std::abort();
  }
  std::fclose(f);
#endif
}

/// `length` characters of [A-Za-z0-9], each uniform: bytes of 248 and above are thrown away, since
/// 248 = 4 * 62 is the largest multiple of 62 a byte holds, so a plain modulo would favour some letters.
inline std::string random_alphanumeric(std::size_t length) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(length);
  unsigned char pool[96];
  while (out.size() < length) {
    fill_random(pool, sizeof pool);
    for (const unsigned char b : pool) {
      if (b >= 248) continue;
      out.push_back(alphabet[b % 62]);
      if (out.size() == length) break;
    }
  }
  return out;
}

/// 2 * `bytes` lowercase hex digits of randomness (24 for an ObjectId-shaped id from 12 bytes).
inline std::string random_hex(std::size_t bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  fill_random(raw.data(), raw.size());
  std::string out(2 * bytes, '0');
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto b = static_cast<unsigned char>(raw[i]);
    out[2 * i] = hex[b >> 4];
    out[2 * i + 1] = hex[b & 0x0f];
  }
  return out;
}

}  // namespace apikeys::testing::detail

#endif  // APIKEYS_TESTING_DETAIL_RANDOM_HPP
