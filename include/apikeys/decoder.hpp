// apikeys decoding: what each server answer decodes to, and the error rules of section 5.
#ifndef APIKEYS_DECODER_HPP
#define APIKEYS_DECODER_HPP

#include <optional>
#include <string>
#include <vector>

#include "api_key.hpp"
#include "auth_types.hpp"
#include "error.hpp"
#include "http.hpp"
#include "result.hpp"
#include "secret.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

// Each decoder reads with simdjson on-demand (impl/decoder.hpp). Header-only by default; with
// APIKEYS_SEPARATE_COMPILATION these are declarations only, compiled once where APIKEYS_IMPLEMENTATION is
// defined, so the translation units that call apikeys never parse <simdjson.h>.

/// Create's answer: the key with its secret, which the server shows this once.
APIKEYS_DECL result<api_key> decode_created_key(const http_response& response);

/// Fetch's answer: one key, without its secret.
APIKEYS_DECL result<api_key> decode_key(const http_response& response);

/// Fetch all's answer: a JSON array of keys, in the server's (creation) order.
APIKEYS_DECL result<std::vector<api_key>> decode_key_list(const http_response& response);

/// A log in's answer: the four required strings of docs/protocol.md section 4. The tokens go straight from
/// the parser's buffer into secrets, never through an ordinary string.
APIKEYS_DECL result<login_response> decode_login(const http_response& response);

/// A refresh's answer: the new access token.
APIKEYS_DECL result<secret> decode_access_token(const http_response& response);

/// The location answer; `hostname` and `ws_hostname` are required strings. hostname, trailing '/' removed,
/// must be an http(s) URL, maybe with a path prefix, in visible ASCII, without user info, query or fragment
/// (docs/protocol.md section 6); ws_hostname is kept as sent.
APIKEYS_DECL result<location_response> decode_location(const http_response& response);

/// The profile answer; `identities` and `data` are required, as core requires them.
APIKEYS_DECL result<user_profile> decode_profile(const http_response& response);

/// docs/protocol.md section 5: the error a response carries, if any, by core's rules in order. A JSON body
/// (Content-Type application/json, parameters allowed) with a non-empty string `error_code` is a service
/// error even on a 2xx; one with only a string `error` is an unknown service error; otherwise a non-2xx
/// status is an HTTP error carrying the body as text. An error body that does not parse is treated as text.
APIKEYS_DECL std::optional<api_error> classify_response(const http_response& response);

}  // namespace apikeys

#if !defined(APIKEYS_SEPARATE_COMPILATION) || defined(APIKEYS_IMPLEMENTATION)
#include "impl/decoder.hpp"
#endif

#endif  // APIKEYS_DECODER_HPP
