// apikeys tests: what fetch must answer for a key that create returned.
#ifndef APIKEYS_TESTS_UNIT_SUPPORT_KEY_CHECKS_HPP
#define APIKEYS_TESTS_UNIT_SUPPORT_KEY_CHECKS_HPP

#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>

#include <optional>

namespace apikeys_tests {

// The same key as `created`, with no value: the server shows a key's secret only in create's answer.
inline void check_fetched(const std::optional<apikeys::api_key>& fetched, const apikeys::api_key& created) {
  REQUIRE(fetched.has_value());
  CHECK(fetched->id == created.id);
  CHECK(fetched->name == created.name);
  CHECK(fetched->enabled == created.enabled);
  CHECK_FALSE(fetched->value.has_value());
}

}  // namespace apikeys_tests

#endif  // APIKEYS_TESTS_UNIT_SUPPORT_KEY_CHECKS_HPP
