// apikeys::secret: owns an API key value or a token, prints redacted, and wipes its bytes when done.
#ifndef APIKEYS_SECRET_HPP
#define APIKEYS_SECRET_HPP

#include <cstddef>
#include <cstring>
#include <string.h>  // explicit_bzero
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "detail/format.hpp"
#include "version.hpp"

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
