// apikeys tests: the app_config that points a client at an in-process emulator, with a test's timeout.
#ifndef APIKEYS_TESTS_UNIT_SUPPORT_EMULATOR_CONFIG_HPP
#define APIKEYS_TESTS_UNIT_SUPPORT_EMULATOR_CONFIG_HPP

#include <chrono>
#include <string>
#include <utility>

#include <apikeys/config.hpp>
#include <apikeys/testing/emulator.hpp>

namespace apikeys_tests {

// `base_url`, when given, is where the client looks the location up instead of the emulator's hostname: a
// server in front of it, or a URL a test checks is asked.
inline apikeys::app_config config_for(const apikeys::testing::emulator& emu, std::string base_url = {}) {
  apikeys::app_config config;
  config.app_id = emu.app_id();
  config.base_url = base_url.empty() ? emu.hostname() : std::move(base_url);
  config.timeout = std::chrono::milliseconds{5000};
  return config;
}

}  // namespace apikeys_tests

#endif  // APIKEYS_TESTS_UNIT_SUPPORT_EMULATOR_CONFIG_HPP
