// apikeys fuzz target: fetch all's answer (decode_key_list) from arbitrary bodies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"

using namespace apikeys_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto list =
      decode_every_way([](const apikeys::http_response& r) { return apikeys::decode_key_list(r); }, 200, body);
  if (!list) {
    check_decode_error(list.error(), 200);
    return 0;
  }
  // Each key takes at least `{"_id":"<24 digits>","name":"","disabled":true}` (60 bytes) and a separator.
  APIKEYS_FUZZ_CHECK(list->size() * 61 <= body.size() + 1, body);
  for (const auto& key : *list) {
    check_key(key);
    APIKEYS_FUZZ_CHECK(!key.value.has_value(), "fetch all never carries a secret");
  }
  // A one-key list holds a fetch answer: decode_key must read the same key out of it.
  if (list->size() == 1) {
    const auto first = body.find('{');
    const auto last = body.rfind('}');
    APIKEYS_FUZZ_CHECK(first != std::string::npos && last != std::string::npos && first < last, body);
    const auto single = decode_every_way([](const apikeys::http_response& r) { return apikeys::decode_key(r); }, 200,
                                         body.substr(first, last - first + 1));
    APIKEYS_FUZZ_CHECK(single.has_value(), single.error().message);
    APIKEYS_FUZZ_CHECK(same_value(*single, (*list)[0]), "a key reads differently inside a list");
  }
  return 0;
}
