// apikeys configuration: which app to talk to, where, and how this device describes itself.
#ifndef APIKEYS_CONFIG_HPP
#define APIKEYS_CONFIG_HPP

#include <chrono>
#include <string>

#include "log.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

namespace detail {
constexpr const char* compiled_platform() noexcept {
#if defined(__ANDROID__)
  return "Android";
#elif defined(__linux__)
  return "Linux";
#elif defined(__APPLE__)
  return "macOS";
#elif defined(_WIN32)
  return "Windows";
#else
  return "Unknown";
#endif
}
constexpr const char* compiled_cpu_arch() noexcept {
#if defined(__x86_64__) || defined(_M_X64)
  return "x86_64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  return "arm64";
#elif defined(__i386__) || defined(_M_IX86)
  return "x86";
#elif defined(__arm__)
  return "armeabi-v7a";
#else
  return "unknown";
#endif
}
}  // namespace detail

/// What a log in tells the server about the device (`options.device`, docs/protocol.md section 4). The server
/// requires `platform_version`, `sdk` and `sdk_version` to be non-empty; the rest may be empty.
struct device_info {
  std::string platform = detail::compiled_platform();
  std::string platform_version = "unknown";
  std::string sdk = "apikeys-cpp";
  std::string sdk_version = APIKEYS_VERSION_STRING;
  std::string cpu_arch = detail::compiled_cpu_arch();
  std::string device_name{};
  std::string device_version{};
  std::string framework_name{};
  std::string framework_version{};
  std::string core_version{};
  std::string bundle_id{};
};

/// An App Services app. `base_url` is where the location call goes; every later call goes to the
/// hostname the location answer names.
struct app_config {
  std::string app_id{};
  std::string base_url = "https://services.cloud.mongodb.com";
  device_info device{};
  std::chrono::milliseconds timeout{60'000};  ///< copied into every request's `timeout`
  /// log_in fetches the profile (GET /auth/profile) with the new access token, as realm-core does, and a
  /// failed fetch fails the log in; false: log_in sends the login request alone and session::profile()
  /// stays null until app.profile().
  bool fetch_profile_at_login = true;
  /// Where the app's calls report (log.hpp); off by default. The key clients of api_keys() inherit it.
  log_sink logger{};
};

}  // namespace apikeys

#endif  // APIKEYS_CONFIG_HPP
