// apikeys fuzz target: the location and profile answers (decode_location, decode_profile) from arbitrary bodies.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

using namespace apikeys_fuzz;

namespace {

// Every later URL is built on the hostname, so it must be a whole http(s) origin.
void check_hostname(std::string_view host) {
  const std::string_view rest = host.starts_with("https://")  ? host.substr(8)
                                : host.starts_with("http://") ? host.substr(7)
                                                              : "";
  APIKEYS_FUZZ_CHECK(!rest.empty(), host);
  APIKEYS_FUZZ_CHECK(!host.ends_with('/'), host);
  APIKEYS_FUZZ_CHECK(rest.find_first_of(" \t\r\n") == std::string_view::npos, host);
  APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(host), host);
}

// `data` is kept as raw JSON text: it must parse, on its own, as an object.
void check_profile_data(const std::string& data) {
  static simdjson::dom::parser parser;
  const simdjson::padded_string padded(data);
  simdjson::dom::element element;
  APIKEYS_FUZZ_CHECK(!parser.parse(padded).get(element), data);
  APIKEYS_FUZZ_CHECK(element.type() == simdjson::dom::element_type::OBJECT, data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto location =
      decode_every_way([](const apikeys::http_response& r) { return apikeys::decode_location(r); }, 200, body);
  const auto profile =
      decode_every_way([](const apikeys::http_response& r) { return apikeys::decode_profile(r); }, 200, body);

  if (location) {
    check_hostname(location->hostname);
    APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(location->ws_hostname), location->ws_hostname);
  } else {
    check_decode_error(location.error(), 200);
  }
  if (profile) {
    check_profile_data(profile->data);
    for (const auto& identity : profile->identities)
      for (const std::string* text : {&identity.id, &identity.provider_type, &identity.provider_id})
        APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(*text), *text);
    // `[]` at the least per identity, and `{}` inside an array takes 3 bytes with its separator.
    APIKEYS_FUZZ_CHECK(profile->identities.size() * 3 <= body.size(), body);
  } else {
    check_decode_error(profile.error(), 200);
  }
  return 0;
}
