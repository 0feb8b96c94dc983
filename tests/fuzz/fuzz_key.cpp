// apikeys fuzz target: create's and fetch's answers (decode_created_key, decode_key) from arbitrary bodies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"

using namespace apikeys_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto created =
      decode_every_way([](const apikeys::http_response& r) { return apikeys::decode_created_key(r); }, 201, body);
  const auto fetched =
      decode_every_way([](const apikeys::http_response& r) { return apikeys::decode_key(r); }, 200, body);

  if (created) {
    check_key(*created);
    APIKEYS_FUZZ_CHECK(created->value.has_value(), "create's answer must carry the secret");
  } else {
    check_decode_error(created.error(), 201);
  }
  if (fetched) {
    check_key(*fetched);
    APIKEYS_FUZZ_CHECK(!fetched->value.has_value(), "only create may reveal a secret");
  } else {
    check_decode_error(fetched.error(), 200);
  }

  // The two read the same object and differ only in `key`: required by one, type-checked and dropped
  // by the other. So a create answer is always a fetch answer, and a fetch answer fails as a create
  // answer only for want of `key`.
  if (created) {
    APIKEYS_FUZZ_CHECK(fetched.has_value(), fetched.error().message);
    APIKEYS_FUZZ_CHECK(
        fetched->id == created->id && fetched->name == created->name && fetched->enabled == created->enabled,
        "create and fetch read the same key differently");
  } else if (fetched) {
    APIKEYS_FUZZ_CHECK(created.error().message == "malformed response: missing field 'key'", created.error().message);
  }
  return 0;
}
