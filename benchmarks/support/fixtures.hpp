// apikeys benchmarks: the server answers and request inputs every benchmark shares, made deterministically.
#ifndef APIKEYS_BENCH_FIXTURES_HPP
#define APIKEYS_BENCH_FIXTURES_HPP

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <apikeys/apikeys.hpp>

namespace apikeys_bench {

inline constexpr std::string_view host = "https://services.cloud.mongodb.com";
// simdjson reads up to 64 bytes past a document; the httplib adapter leaves that much spare capacity.
inline constexpr std::size_t body_padding = 64;

/// The id of the i-th key: 24 lowercase hex digits, as servers send them.
inline std::string key_id(std::size_t i) {
  char text[48];
  std::snprintf(text, sizeof text, "65f0a1b2c3d4e5f6%08zx", i);
  return text;
}

/// Deterministic text from an alphabet: the shapes of secrets and tokens, without any randomness.
inline std::string pseudo_text(std::size_t length, std::string_view alphabet, std::size_t seed) {
  std::string out(length, ' ');
  std::size_t x = seed * 2654435761u + 12345u;
  for (auto& c : out) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    c = alphabet[(x >> 33) % alphabet.size()];
  }
  return out;
}
inline constexpr std::string_view alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A JWT-shaped token (header.payload.signature), as the server's access and refresh tokens are.
inline std::string jwt(std::size_t seed, std::size_t payload_length) {
  return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + pseudo_text(payload_length, base64url, seed) + "." +
         pseudo_text(43, base64url, seed + 1);
}

/// The i-th key name of a list. Of every 20, six have 20 characters (past std::string's 15-byte small
/// buffer, so they cost an allocation) and fourteen have 9 or 10; every third key is disabled. A 20-key
/// list is then 1,488 bytes, a 1,000-key list 74,318.
inline std::string key_name(std::size_t i) {
  char text[48];
  const std::size_t slot = i % 20;
  const int n = static_cast<int>(i % 100);
  if (slot < 6)
    std::snprintf(text, sizeof text, "production-deploy-%02d", n);
  else if (slot < 13)
    std::snprintf(text, sizeof text, "laptop-%02d", n);
  else
    std::snprintf(text, sizeof text, "desktop-%02d", n);
  return text;
}

inline void append_key_object(std::string& out, std::size_t i) {
  out.append(R"({"_id":")").append(key_id(i)).append(R"(","name":")").append(key_name(i));
  out.append(i % 3 == 2 ? R"(","disabled":true})" : R"(","disabled":false})");
}

/// Create's answer, as the emulator writes it: 147 bytes, the secret 64 alphanumerics.
inline std::string create_body() {
  return R"({"_id":")" + key_id(7) + R"(","key":")" + pseudo_text(64, alnum, 7) +
         R"(","name":"bench-key-007","disabled":false})";
}
/// Fetch's answer: one key without its secret.
inline std::string key_body() {
  std::string out;
  append_key_object(out, 7);
  return out;
}
/// Fetch all's answer with `n` keys.
inline std::string key_list_body(std::size_t n) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out.push_back(',');
    append_key_object(out, i);
  }
  out.push_back(']');
  return out;
}
/// The 404 of a missing key, in the server's error format.
inline std::string error_body() {
  return R"({"error":"API key not found","error_code":"APIKeyNotFound","link":"https://services.cloud.mongodb.com/groups/65f0a1b2c3d4e5f600000001/apps/65f0a1b2c3d4e5f600000002/logs?co_id=65f0a1b2c3d4e5f600000003"})";
}
/// A log in's answer: two JWTs and two ids.
inline std::string login_body() {
  return R"({"access_token":")" + jwt(1, 180) + R"(","refresh_token":")" + jwt(2, 150) + R"(","user_id":")" +
         key_id(100) + R"(","device_id":")" + key_id(200) + R"("})";
}
inline std::string location_body() {
  return R"({"deployment_model":"GLOBAL","location":"US-VA","hostname":"https://services.cloud.mongodb.com","ws_hostname":"wss://ws.services.cloud.mongodb.com"})";
}

/// A response as a real adapter hands it over: JSON content type, body with padding to spare.
inline apikeys::http_response json_response(int status, std::string_view body) {
  apikeys::http_response out;
  out.status = status;
  if (!body.empty()) out.headers.push_back({"Content-Type", "application/json"});
  out.body.reserve(body.size() + body_padding);
  out.body.assign(body);
  return out;
}

/// The refresh token a benchmark session holds: a JWT like the server's.
inline std::string refresh_token() { return jwt(3, 150); }

inline std::shared_ptr<apikeys::session> make_session(std::string_view at_host = host) {
  return std::make_shared<apikeys::session>(key_id(100), key_id(200), "local-userpass", std::string{at_host},
                                            apikeys::secret{jwt(1, 180)}, apikeys::secret{refresh_token()});
}

inline apikeys::object_id sample_id() { return *apikeys::object_id::parse(key_id(7)); }

}  // namespace apikeys_bench

#endif  // APIKEYS_BENCH_FIXTURES_HPP
