// apikeys benchmarks: named benchmark bodies that main.cpp's --profile mode runs a fixed number of times.
#ifndef APIKEYS_BENCH_PROFILE_HPP
#define APIKEYS_BENCH_PROFILE_HPP

#include <functional>
#include <map>
#include <string>

namespace apikeys_bench {

using profile_body = std::function<void()>;

inline std::map<std::string, profile_body>& profiles() {
  static std::map<std::string, profile_body> all;
  return all;
}

/// Registers `body` under `name` at static initialisation; returns true so it can initialise a constant.
inline bool add_profile(std::string name, profile_body body) {
  profiles().emplace(std::move(name), std::move(body));
  return true;
}

inline const profile_body* find_profile(const std::string& name) {
  const auto it = profiles().find(name);
  return it == profiles().end() ? nullptr : &it->second;
}

/// One call of a body, never inlined: callgrind's --toggle-collect=*profiled_call* counts exactly these.
[[gnu::noinline]] inline void profiled_call(const profile_body& body) { body(); }

}  // namespace apikeys_bench

#endif  // APIKEYS_BENCH_PROFILE_HPP
