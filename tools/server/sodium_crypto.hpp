// apikeys-server's token_crypto: HS256 and SHA-256 from libsodium instead of apikeys' test-double SHA-256,
// with key rotation: the first key signs, every key verifies. Server-only: not a public header.
#ifndef APIKEYS_SERVER_SODIUM_CRYPTO_HPP
#define APIKEYS_SERVER_SODIUM_CRYPTO_HPP

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include <apikeys/testing/emulator.hpp>

namespace apikeys_server {

static_assert(crypto_auth_hmacsha256_BYTES == 32 && crypto_auth_hmacsha256_KEYBYTES == 32 && crypto_hash_sha256_BYTES == 32);

class sodium_token_crypto final : public apikeys::testing::token_crypto {
 public:
  using key_type = apikeys::testing::emulator::signing_key;
  using digest_type = apikeys::testing::detail::sha256_digest;

  /// `keys` not empty: keys[0] signs new tokens; a token signed with any of them verifies (the ones after
  /// the first are the keys a rotation retired, accepted until their tokens have expired).
  explicit sodium_token_crypto(std::vector<key_type> keys) : keys_(std::move(keys)) {
    if (keys_.empty()) throw std::invalid_argument("sodium_token_crypto: no key");
    if (::sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
  }
  sodium_token_crypto(const sodium_token_crypto&) = delete;
  sodium_token_crypto& operator=(const sodium_token_crypto&) = delete;
  ~sodium_token_crypto() override {
    for (auto& key : keys_) ::sodium_memzero(key.data(), key.size());
  }

  digest_type sign(std::string_view input) const override {
    digest_type mac{};
    ::crypto_auth_hmacsha256(mac.data(), bytes(input), input.size(), keys_.front().data());
    return mac;
  }
  bool verify(std::string_view input, const digest_type& mac) const override {
    bool any = false;
    for (const auto& key : keys_)  // every key is tried, so the time does not tell which one matched
      any = (::crypto_auth_hmacsha256_verify(mac.data(), bytes(input), input.size(), key.data()) == 0) || any;
    return any;
  }
  digest_type digest(std::string_view value) const override {
    digest_type out{};
    ::crypto_hash_sha256(out.data(), bytes(value), value.size());
    return out;
  }

 private:
  static const unsigned char* bytes(std::string_view text) noexcept {
    return reinterpret_cast<const unsigned char*>(text.data());
  }
  std::vector<key_type> keys_;
};

}  // namespace apikeys_server

#endif  // APIKEYS_SERVER_SODIUM_CRYPTO_HPP
