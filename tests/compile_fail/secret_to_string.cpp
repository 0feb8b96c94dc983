// expect: conversion from '(const )?apikeys::(abi_v[a-z0-9_]+::)?secret' to
// A secret never turns into a string by itself: code that wants the plaintext must say reveal(), so a
// secret cannot slip into a log line, a message or a std::string by an implicit conversion.
#include <apikeys/secret.hpp>

#include <string>
#include <string_view>
#include <type_traits>

static_assert(!std::is_convertible_v<apikeys::secret, std::string>);
static_assert(!std::is_convertible_v<apikeys::secret, std::string_view>);
static_assert(!std::is_convertible_v<apikeys::secret, const char*>);
static_assert(!std::is_convertible_v<std::string, apikeys::secret>);  // nor does a string become one silently
static_assert(!std::is_convertible_v<std::string_view, apikeys::secret>);

int main() {
  const apikeys::secret value{std::string_view{"S3cr3tKeyValue"}};
#ifndef APIKEYS_COMPILE_FAIL_CONTROL
  const std::string plain = value;
#else
  const std::string plain{value.reveal()};
#endif
  return plain.empty() ? 1 : 0;
}
