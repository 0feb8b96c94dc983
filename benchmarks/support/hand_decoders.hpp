// apikeys benchmarks: the baseline, a careful hand-written simdjson on-demand decoder of the same answers.
#ifndef APIKEYS_BENCH_HAND_DECODERS_HPP
#define APIKEYS_BENCH_HAND_DECODERS_HPP

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <apikeys/apikeys.hpp>

namespace apikeys_bench {

using apikeys::api_error;
using apikeys::api_key;
using apikeys::http_response;
using apikeys::login_response;
using apikeys::object_id;
using apikeys::result;
using apikeys::unexpected;
namespace ondemand = simdjson::ondemand;

inline api_error malformed() {
  api_error e;
  e.code = apikeys::errc::bad_response;
  e.message = "malformed response";
  return e;
}

// One reused parser, the body read in place (it has padding to spare), every member visited once with its
// unescaped key, required members checked, strings copied out. No duplicate-member or trailing-content
// checks and no field paths in messages: the library's extra work shows up as its overhead.
namespace hand {

inline ondemand::parser& parser() {
  thread_local ondemand::parser p;
  return p;
}

inline bool read_key(ondemand::object obj, api_key& key, bool with_secret) {
  bool id = false, name = false, disabled = false, secret = !with_secret;
  for (auto member : obj) {
    ondemand::field field;
    std::string_view k, text;
    if (std::move(member).get(field) || field.unescaped_key().get(k)) return false;
    if (k == "_id") {
      if (field.value().get_string().get(text)) return false;
      const auto parsed = object_id::parse(text);
      if (!parsed) return false;
      key.id = *parsed;
      id = true;
    } else if (k == "name") {
      if (field.value().get_string().get(text)) return false;
      key.name.assign(text);
      name = true;
    } else if (k == "disabled") {
      bool b = false;
      if (field.value().get_bool().get(b)) return false;
      key.enabled = !b;
      disabled = true;
    } else if (k == "key" && with_secret) {
      if (field.value().get_string().get(text)) return false;
      key.value.emplace(text);
      secret = true;
    }
  }
  return id && name && disabled && secret;
}

inline result<api_key> decode_created_key(const http_response& r) {
  ondemand::document doc;
  ondemand::object obj;
  if (parser().iterate(simdjson::padded_string_view(r.body)).get(doc) || doc.get_object().get(obj))
    return unexpected{malformed()};
  api_key key;
  if (!read_key(obj, key, true)) return unexpected{malformed()};
  return key;
}

inline result<api_key> decode_key(const http_response& r) {
  ondemand::document doc;
  ondemand::object obj;
  if (parser().iterate(simdjson::padded_string_view(r.body)).get(doc) || doc.get_object().get(obj))
    return unexpected{malformed()};
  api_key key;
  if (!read_key(obj, key, false)) return unexpected{malformed()};
  return key;
}

inline result<std::vector<api_key>> decode_key_list(const http_response& r) {
  ondemand::document doc;
  ondemand::array array;
  if (parser().iterate(simdjson::padded_string_view(r.body)).get(doc) || doc.get_array().get(array))
    return unexpected{malformed()};
  std::vector<api_key> keys;
  for (auto element : array) {
    ondemand::object obj;
    if (element.get_object().get(obj)) return unexpected{malformed()};
    api_key key;
    if (!read_key(obj, key, false)) return unexpected{malformed()};
    keys.push_back(std::move(key));
  }
  return keys;
}

inline result<login_response> decode_login(const http_response& r) {
  ondemand::document doc;
  ondemand::object obj;
  if (parser().iterate(simdjson::padded_string_view(r.body)).get(doc) || doc.get_object().get(obj))
    return unexpected{malformed()};
  login_response out;
  int seen = 0;
  for (auto member : obj) {
    ondemand::field field;
    std::string_view k, text;
    if (std::move(member).get(field) || field.unescaped_key().get(k)) return unexpected{malformed()};
    if (k == "access_token") {
      if (field.value().get_string().get(text)) return unexpected{malformed()};
      out.access_token = apikeys::secret{text};
      seen |= 1;
    } else if (k == "refresh_token") {
      if (field.value().get_string().get(text)) return unexpected{malformed()};
      out.refresh_token = apikeys::secret{text};
      seen |= 2;
    } else if (k == "user_id") {
      if (field.value().get_string().get(text)) return unexpected{malformed()};
      out.user_id.assign(text);
      seen |= 4;
    } else if (k == "device_id") {
      if (field.value().get_string().get(text)) return unexpected{malformed()};
      out.device_id.assign(text);
      seen |= 8;
    }
  }
  if (seen != 15) return unexpected{malformed()};
  return out;
}

inline bool json_content_type(const http_response& r) {
  const std::string* type = apikeys::find_header(r.headers, "content-type");
  if (!type) return false;
  const std::string_view media = std::string_view{*type}.substr(0, type->find(';'));
  return apikeys::detail::iequals(media, "application/json");
}

// Section 5's rules for an error answer: a JSON body naming error_code is a service error.
inline std::optional<api_error> classify_response(const http_response& r) {
  if (json_content_type(r)) {
    ondemand::document doc;
    ondemand::object obj;
    if (!parser().iterate(simdjson::padded_string_view(r.body)).get(doc) && !doc.get_object().get(obj)) {
      std::optional<std::string> code, message, link;
      bool readable = true;
      for (auto member : obj) {
        ondemand::field field;
        std::string_view k, text;
        if (std::move(member).get(field) || field.unescaped_key().get(k)) {
          readable = false;
          break;
        }
        auto* target = k == "error_code" ? &code : k == "error" ? &message : k == "link" ? &link : nullptr;
        if (!target) continue;
        if (field.value().get_string().get(text)) {
          readable = false;
          break;
        }
        target->emplace(text);
      }
      if (readable && code && !code->empty()) {
        api_error e;
        e.code = apikeys::errc_from_server_code(*code);
        e.http_status = r.status;
        e.server_code = std::move(*code);
        if (message) e.message = std::move(*message);
        if (link) e.link = std::move(*link);
        return e;
      }
    }
  }
  if (r.status < 200 || r.status > 299) {
    api_error e;
    e.code = apikeys::errc::http_error;
    e.http_status = r.status;
    e.message = r.body;
    return e;
  }
  return std::nullopt;
}

}  // namespace hand

}  // namespace apikeys_bench

#endif  // APIKEYS_BENCH_HAND_DECODERS_HPP
