// apikeys fuzz target: classify_response (docs/protocol.md section 5) with the status, Content-Type and body fuzzed.
//
// Input: [status selector][header selector][custom Content-Type, when the selector asks for one][body...]
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

using namespace apikeys_fuzz;

namespace {

// What a strict parser reads out of an error body: every member of a valid JSON object, the last of a
// repeated name kept. Only used one way round: when the strict parser accepts a body, the classifier
// (which parses lazily, and so may accept more) must read the same error out of it.
struct strict_reading {
  bool readable = false;
  std::optional<std::string> code, message, link;
};

strict_reading read_strictly(const std::string& body) {
  static simdjson::dom::parser parser;
  strict_reading out;
  const simdjson::padded_string padded(body);
  simdjson::dom::object object;
  if (parser.parse(padded).get(object)) return out;
  for (const auto field : object) {
    std::optional<std::string>* target = field.key == "error_code" ? &out.code
                                         : field.key == "error"    ? &out.message
                                         : field.key == "link"     ? &out.link
                                                                   : nullptr;
    if (!target) continue;
    std::string_view text;
    if (field.value.get_string().get(text)) return out;  // a non-string error member: the body is text
    target->emplace(text);
  }
  out.readable = true;
  return out;
}

// The Content-Type rule of section 5, written out again: the first Content-Type header, its media type
// (before any ';') trimmed of spaces and tabs, equal to application/json ignoring ASCII case.
bool labelled_json(const std::vector<apikeys::http_header>& headers) {
  for (const auto& h : headers) {
    if (!apikeys::detail::iequals(h.name, "content-type")) continue;
    std::string_view media{h.value};
    media = media.substr(0, media.find(';'));
    while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
    return apikeys::detail::iequals(media, "application/json");
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  byte_reader in(data, size);
  const int status = status_from(in.byte());
  auto headers = headers_from(in.byte(), in);
  const std::string body = in.rest();
  const bool json = labelled_json(headers);
  const bool success = status >= 200 && status <= 299;

  auto pair = both_paddings(status, std::move(headers), body);
  const auto error = apikeys::classify_response(pair.tight);
  const auto roomy = apikeys::classify_response(pair.roomy);
  const auto again = apikeys::classify_response(pair.tight);
  APIKEYS_FUZZ_CHECK(error.has_value() == roomy.has_value() && error.has_value() == again.has_value(), body);
  if (error) {
    APIKEYS_FUZZ_CHECK(same_error(*error, *roomy) && same_error(*error, *again), body);
  }

  if (!error) {
    APIKEYS_FUZZ_CHECK(success, "a non-2xx answer was taken as a success");
  } else {
    check_error_shape(*error);
    APIKEYS_FUZZ_CHECK(error->http_status == status, apikeys::detail::describe(*error));
    APIKEYS_FUZZ_CHECK(error->context.empty(), error->context);
    const auto kind = error->kind();
    APIKEYS_FUZZ_CHECK(kind == apikeys::error_kind::http || kind == apikeys::error_kind::service,
                       apikeys::detail::describe(*error));
    if (kind == apikeys::error_kind::http) {
      std::string expected = body.empty() ? "HTTP status " + std::to_string(status)
                                          : body.substr(0, 1024) + (body.size() > 1024 ? "..." : "");
      // Control bytes but line breaks and tabs become '?' (they would reach logs and terminals).
      for (char& c : expected)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f) c = '?';
      APIKEYS_FUZZ_CHECK(error->message == expected, error->message);
    } else {
      APIKEYS_FUZZ_CHECK(json, "a service error read from a body not labelled JSON");
    }
  }

  // Where a strict parser reads an error out of a JSON-labelled body, the classifier reads the same one.
  if (json && body.size() <= apikeys::detail::max_response_bytes) {
    const strict_reading strict = read_strictly(body);
    if (strict.readable && strict.code && !strict.code->empty()) {
      APIKEYS_FUZZ_CHECK(error.has_value(), body);
      APIKEYS_FUZZ_CHECK(error->server_code == *strict.code, error->server_code);
      APIKEYS_FUZZ_CHECK(error->code == apikeys::errc_from_server_code(*strict.code), error->server_code);
      APIKEYS_FUZZ_CHECK(error->message == (strict.message ? *strict.message : std::string{"no error message"}),
                         error->message);
      APIKEYS_FUZZ_CHECK(error->link == strict.link.value_or(std::string{}), error->link);
    } else if (strict.readable && strict.message) {
      APIKEYS_FUZZ_CHECK(error.has_value(), body);
      APIKEYS_FUZZ_CHECK(error->code == apikeys::errc::unknown_service_error, apikeys::detail::describe(*error));
      APIKEYS_FUZZ_CHECK(error->message == *strict.message, error->message);
      APIKEYS_FUZZ_CHECK(error->link == strict.link.value_or(std::string{}), error->link);
    } else if (strict.readable) {
      // A valid object naming no error: a success on 2xx, the text otherwise.
      APIKEYS_FUZZ_CHECK(error.has_value() != success, body);
    }
  }
  return 0;
}
