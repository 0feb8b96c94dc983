// apikeys tests: a user's secrets as the server hands them out: a key's value and JWT-shaped tokens.
#ifndef APIKEYS_TESTS_UNIT_SUPPORT_SAMPLE_TOKENS_HPP
#define APIKEYS_TESTS_UNIT_SUPPORT_SAMPLE_TOKENS_HPP

#include <string_view>

// Opaque to the clients, distinct from each other in every 10-character piece of their payload and
// signature, so the secret-leak tests can search printed text for them. A test file writes
// `using namespace apikeys_tests::sample_tokens;` inside its anonymous namespace.
namespace apikeys_tests::sample_tokens {

// The standard JWT header every token starts with; what identifies a token is what follows it.
inline constexpr std::string_view jwt_header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.";

inline constexpr std::string_view key_value = "S3cr3tKeyValueQ7mZpW2xLk9RtYbN4vHc8JdF6gUeA1sTo5iPrMnBq0wXzCyEjK";
// A password log in's session.
inline constexpr std::string_view access_token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiZXhwIjoxOTAwMDAwMDAwLCJpYXQiOjE3MDAwMDAwMDB9."
    "QWNjZXNzU2lnbmF0dXJlT25lX3h5eg";
inline constexpr std::string_view refresh_token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwidHlwIjoicmVmcmVzaCIsImlhdCI6MTcwMDAwMDAwMH0."
    "UmVmcmVzaFNpZ25hdHVyZU9uZV9hYmM";
// What a refresh of that session hands out.
inline constexpr std::string_view refreshed_access_token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwibiI6M30.UmVmcmVzaGVkQWNjZXNzU2ln";
// A log in with the key's session.
inline constexpr std::string_view key_access_token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiZGV2IjoiZGV2aWNlLTIifQ.S2V5TG9naW5BY2Nlc3NTaWc";
inline constexpr std::string_view key_refresh_token =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwicmVmIjoiZGV2aWNlLTIifQ.S2V5TG9naW5SZWZyZXNoU2ln";

}  // namespace apikeys_tests::sample_tokens

#endif  // APIKEYS_TESTS_UNIT_SUPPORT_SAMPLE_TOKENS_HPP
