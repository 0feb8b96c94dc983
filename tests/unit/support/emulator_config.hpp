// apikeys tests: the app_config that points a client at an in-process emulator, with a test's timeout.
#ifndef APIKEYS_TESTS_UNIT_SUPPORT_EMULATOR_CONFIG_HPP
#define APIKEYS_TESTS_UNIT_SUPPORT_EMULATOR_CONFIG_HPP

#include <chrono>

#include <apikeys/config.hpp>
#include <apikeys/testing/emulator.hpp>

namespace apikeys_tests {

inline apikeys::app_config config_for(const apikeys::testing::emulator& emu) {
  apikeys::app_config config;
  config.app_id = emu.app_id();
  config.base_url = emu.hostname();
  config.timeout = std::chrono::milliseconds{5000};
  return config;
}

}  // namespace apikeys_tests

#endif  // APIKEYS_TESTS_UNIT_SUPPORT_EMULATOR_CONFIG_HPP
