// The abi consumer: passes an apikeys::api_key to describe.cpp, and checks what comes back.
#include <cstdio>

#include "describe.hpp"

int main() {
  using namespace apikeys::literals;
  apikeys::api_key key;
  if (!decode_canned_key(key) || key.id != "5e5e6f0abe4ae2a2c2c2d329"_oid || key.name != "laptop" || !key.enabled) {
    std::puts("abi consumer: the key did not decode as expected");
    return 1;
  }
  std::puts("abi consumer: ok");
  return 0;
}
