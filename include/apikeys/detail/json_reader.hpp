// apikeys::detail: the per-thread simdjson parser, padding without copying, and bad-response errors.
#ifndef APIKEYS_DETAIL_JSON_READER_HPP
#define APIKEYS_DETAIL_JSON_READER_HPP

#include <cstddef>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "../error.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE::detail {

/// Answers bigger than this are refused before parsing: a key list is at most 20 keys (about 1.5 KB),
/// so 16 MiB leaves room for any compatible server while bounding what a hostile one can make us hold.
inline constexpr std::size_t max_response_bytes = std::size_t{16} << 20;

/// One on-demand parser per thread, reused across calls so its buffers are allocated once. A decode
/// never calls user code while it holds the parser, so reuse cannot be re-entrant.
inline simdjson::ondemand::parser& thread_parser() noexcept {
  thread_local simdjson::ondemand::parser parser{max_response_bytes};
  return parser;
}

/// The body as a padded view: in place when the string's spare capacity already covers simdjson's
/// padding (transports can reserve it), otherwise copied once into a per-thread padded buffer.
inline simdjson::padded_string_view padded_body(const std::string& body) {
  if (body.capacity() - body.size() >= simdjson::SIMDJSON_PADDING) return simdjson::padded_string_view(body);
  thread_local std::string buffer;
  buffer.assign(body);
  buffer.resize(body.size() + simdjson::SIMDJSON_PADDING, ' ');
  return simdjson::padded_string_view(buffer.data(), body.size(), buffer.size());
}

/// A simdjson failure while reading `field` (empty for the document itself) as `expected`.
/// Type errors name the field; structural errors say the JSON itself is broken.
inline api_error json_error(simdjson::error_code code, std::string_view field, std::string_view expected, int status) {
  std::string message;
  const bool type_error = code == simdjson::INCORRECT_TYPE || code == simdjson::NUMBER_ERROR ||
                          code == simdjson::NUMBER_OUT_OF_RANGE || code == simdjson::T_ATOM_ERROR ||
                          code == simdjson::F_ATOM_ERROR || code == simdjson::N_ATOM_ERROR;
  if (type_error && !field.empty()) {
    message.append("field '").append(field).append("' must be ").append(expected);
  } else if (type_error) {
    message.append("the body must be ").append(expected);
  } else {
    if (!field.empty()) message.append("in field '").append(field).append("': ");
    message.append("invalid JSON (").append(simdjson::error_message(code)).append(")");
    if (field.empty() && !expected.empty()) message.append(", expected ").append(expected);
  }
  return bad_response(std::move(message), status);
}

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_JSON_READER_HPP
