// apikeys decoding, the definitions: simdjson on-demand readers behind decoder.hpp's declarations.
#ifndef APIKEYS_IMPL_DECODER_HPP
#define APIKEYS_IMPL_DECODER_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "../api_key.hpp"
#include "../decoder.hpp"
#include "../detail/json_reader.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "../object_id.hpp"
#include "../result.hpp"
#include "../secret.hpp"
#include "../version.hpp"

namespace APIKEYS_NAMESPACE {

namespace detail {

using simdjson::ondemand::object;

// Field paths in messages read like "[3]._id" for the fourth key of a list.
inline std::string field_path(std::string_view prefix, std::string_view name) {
  std::string path{prefix};
  if (!path.empty()) path.push_back('.');
  path.append(name);
  return path;
}

inline api_error missing_field(std::string_view prefix, std::string_view name, int status) {
  return bad_response("missing field '" + field_path(prefix, name) + "'", status);
}

inline api_error duplicate_field(std::string_view prefix, std::string_view name, int status) {
  return bad_response("duplicate field '" + field_path(prefix, name) + "'", status);
}

// Visits every member of `obj` once, in order, handing `visit(key, value)` the unescaped key. Members the
// visitor does not read are skipped by simdjson. Returns the first error, from simdjson or the visitor.
template <class Visit>
std::optional<api_error> for_each_member(object& obj, std::string_view prefix, int status, Visit&& visit) {
  for (auto member : obj) {
    simdjson::ondemand::field field;
    if (auto e = std::move(member).get(field)) return json_error(e, prefix, "an object", status);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return json_error(e, prefix, "an object", status);
    if (auto err = visit(key, field.value())) return err;
  }
  return std::nullopt;
}

// Reads a required string member into `out`, rejecting a second occurrence.
inline std::optional<api_error> read_string(simdjson::ondemand::value value, std::string_view prefix, std::string_view name,
                                            bool& seen, std::string_view& out, int status,
                                            std::string_view expected = "a string") {
  if (seen) return duplicate_field(prefix, name, status);
  seen = true;
  if (auto e = value.get_string().get(out)) return json_error(e, field_path(prefix, name), expected, status);
  return std::nullopt;
}

// Opens the body as a document whose root must be an object; the caller reads it and then calls
// finish_document to refuse trailing content.
inline std::optional<api_error> open_object(const http_response& response, simdjson::ondemand::document& doc,
                                            object& obj, std::string_view expected) {
  if (response.body.size() > max_response_bytes)
    return bad_response("body of " + std::to_string(response.body.size()) + " bytes is too large", response.status);
  if (response.body.empty()) return bad_response("empty body, expected " + std::string{expected}, response.status);
  if (auto e = thread_parser().iterate(padded_body(response.body)).get(doc))
    return json_error(e, "", expected, response.status);
  if (auto e = doc.get_object().get(obj)) return json_error(e, "", expected, response.status);
  return std::nullopt;
}

// simdjson 3.0 has no document::at_end(); a location past the last structural means the same.
inline bool at_document_end(simdjson::ondemand::document& doc) noexcept {
  const char* where = nullptr;
  return doc.current_location().get(where) == simdjson::OUT_OF_BOUNDS;
}

inline std::optional<api_error> finish_document(simdjson::ondemand::document& doc, int status) {
  if (!at_document_end(doc)) return bad_response("trailing content after the JSON value", status);
  return std::nullopt;
}

// Where reading one key object went wrong. Only names and codes: the message, with its path such as
// "[3]._id", is built by describe() when a fault is reported, so a good answer builds no strings.
struct key_fault {
  enum class kind : unsigned char { none, json, type, bad_id, duplicate, missing };
  kind what = kind::none;
  simdjson::error_code code = simdjson::SUCCESS;
  std::string_view field;     // a member name (a literal, never the parser's buffer)
  std::string_view expected;  // what that member must be
  explicit operator bool() const noexcept { return what != kind::none; }
};

inline constexpr std::string_view id_expected = "a string of 24 hex digits";

[[gnu::cold, gnu::noinline]] inline api_error describe(const key_fault& f, std::string_view prefix, int status) {
  switch (f.what) {
    case key_fault::kind::json: return json_error(f.code, prefix, "an object", status);
    case key_fault::kind::type: return json_error(f.code, field_path(prefix, f.field), f.expected, status);
    case key_fault::kind::bad_id:
      return bad_response("field '" + field_path(prefix, f.field) + "' must be " + std::string{f.expected}, status);
    case key_fault::kind::duplicate: return duplicate_field(prefix, f.field, status);
    case key_fault::kind::missing: return missing_field(prefix, f.field, status);
    case key_fault::kind::none: break;
  }
  return bad_response("unreadable API key object", status);
}

// One key object into `key`, filled in place. `with_secret`: create's answer, where `key` (the secret) is
// required; elsewhere a `key` member is still checked for type but never kept, since only create may
// reveal it. Every member is visited once; unknown members are skipped by simdjson.
inline key_fault read_key(object& obj, api_key& key, bool with_secret) {
  using kind = key_fault::kind;
  bool seen_id = false, seen_name = false, seen_disabled = false, seen_key = false;
  std::string_view text;
  for (auto member : obj) {
    simdjson::ondemand::field field;
    std::string_view name;
    if (auto e = std::move(member).get(field)) return {kind::json, e, {}, {}};
    if (auto e = field.unescaped_key().get(name)) return {kind::json, e, {}, {}};
    if (name == "_id") {
      if (seen_id) return {kind::duplicate, {}, "_id", {}};
      seen_id = true;
      if (auto e = field.value().get_string().get(text)) return {kind::type, e, "_id", id_expected};
      const auto id = object_id::parse(text);
      if (!id) return {kind::bad_id, {}, "_id", id_expected};
      key.id = *id;
    } else if (name == "name") {
      if (seen_name) return {kind::duplicate, {}, "name", {}};
      seen_name = true;
      if (auto e = field.value().get_string().get(text)) return {kind::type, e, "name", "a string"};
      key.name.assign(text);
    } else if (name == "disabled") {
      if (seen_disabled) return {kind::duplicate, {}, "disabled", {}};
      seen_disabled = true;
      bool disabled = false;
      if (auto e = field.value().get_bool().get(disabled)) return {kind::type, e, "disabled", "a boolean"};
      key.enabled = !disabled;
    } else if (name == "key") {
      if (seen_key) return {kind::duplicate, {}, "key", {}};
      seen_key = true;
      if (auto e = field.value().get_string().get(text)) return {kind::type, e, "key", "a string"};
      if (with_secret) key.value.emplace(text);
    }
  }
  if (!seen_id) return {kind::missing, {}, "_id", {}};
  if (!seen_name) return {kind::missing, {}, "name", {}};
  if (!seen_disabled) return {kind::missing, {}, "disabled", {}};
  if (with_secret && !seen_key) return {kind::missing, {}, "key", {}};
  return {};
}

// Create's and fetch's answer: one key object, and nothing after it.
inline result<api_key> decode_one_key(const http_response& response, bool with_secret) {
  simdjson::ondemand::document doc;
  object obj;
  if (auto err = open_object(response, doc, obj, "an API key object")) return unexpected{std::move(*err)};
  result<api_key> out{api_key{}};  // filled in place: the caller's result is this one, moved nowhere
  if (auto fault = read_key(obj, *out, with_secret)) return unexpected{describe(fault, "", response.status)};
  if (auto err = finish_document(doc, response.status)) return unexpected{std::move(*err)};
  return out;
}

// Decodes an object whose members named in `names` are required strings, in any order, unknown members
// ignored; `store(i, text)` takes the i-th one's text, which lives only until the next parse.
template <std::size_t N, class Store>
std::optional<api_error> read_required_strings(const http_response& response, std::string_view expected,
                                               const std::string_view (&names)[N], Store&& store) {
  simdjson::ondemand::document doc;
  object obj;
  if (auto err = open_object(response, doc, obj, expected)) return err;
  bool seen[N] = {};
  std::string_view text;
  auto err = for_each_member(obj, "", response.status, [&](std::string_view name, simdjson::ondemand::value value)
                                                           -> std::optional<api_error> {
    for (std::size_t i = 0; i < N; ++i) {
      if (name != names[i]) continue;
      if (auto e = read_string(value, "", name, seen[i], text, response.status)) return e;
      store(i, text);
    }
    return std::nullopt;
  });
  if (err) return err;
  for (std::size_t i = 0; i < N; ++i)
    if (!seen[i]) return missing_field("", names[i], response.status);
  return finish_document(doc, response.status);
}

// A full validation of `text` as JSON, for the rare value kept as raw text (profile data).
inline simdjson::error_code validate_json(std::string_view text) {
  thread_local simdjson::dom::parser strict;
  simdjson::dom::element ignored;
  return strict.parse(simdjson::padded_string{text}).get(ignored);
}

// Visible ASCII only: what may stand in an HTTP header value such as `Authorization: Bearer <token>`.
// Tokens are a few hundred bytes and checked on every log in and refresh, so eight bytes are tested at a
// time: a byte is below 0x21 when subtracting 0x21 borrows into its high bit (and it had none), and above
// 0x7e when adding 1 reaches its high bit (or it had one). Carries only cross from a byte already bad.
inline bool is_visible_ascii(std::string_view text) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  constexpr std::uint64_t highs = 0x8080808080808080ull;
  std::size_t i = 0;
  std::uint64_t bad = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, text.data() + i, sizeof w);
    bad |= ((w - ones * 0x21) & ~w) | ((w + ones) | w);
  }
  if ((bad & highs) != 0) return false;
  for (; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

// Why a location hostname (trailing '/' already removed) cannot be built on, or nullptr when it can. Every
// later URL is the hostname followed by the route, verbatim, as realm-core builds it: so an http or https
// scheme, a non-empty authority without user info, and an optional path prefix; no query or fragment, which
// would swallow the route. Only visible ASCII, so no byte can break the request line; percent-escapes and
// other visible characters of the path are kept as sent, neither decoded nor checked.
inline const char* location_hostname_problem(std::string_view url) noexcept {
  const auto rest = url.substr(url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0);
  if (rest.size() == url.size() || rest.empty()) return "must be an http:// or https:// URL";
  if (!is_visible_ascii(rest)) return "must be visible ASCII, without spaces or control characters";
  const auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return "must not hold user information";
  if (authority.empty() || authority.front() == ':') return "names no host";
  const auto end = rest.find_first_of("?#");
  if (end == std::string_view::npos) return nullptr;
  return rest[end] == '?' ? "must not hold a query" : "must not hold a fragment";
}

// Whether a Content-Type names JSON: `application/json`, with or without parameters (section 5).
inline bool is_json_content_type(const http_response& response) noexcept {
  const std::string* type = find_header(response.headers, "content-type");
  if (!type) return false;
  std::string_view media{*type};
  media = media.substr(0, media.find(';'));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  return iequals(media, "application/json");
}

}  // namespace detail

APIKEYS_DECL result<api_key> decode_created_key(const http_response& response) { return detail::decode_one_key(response, true); }

APIKEYS_DECL result<api_key> decode_key(const http_response& response) { return detail::decode_one_key(response, false); }

APIKEYS_DECL result<std::vector<api_key>> decode_key_list(const http_response& response) {
  constexpr std::string_view expected = "a JSON array of API key objects";
  const int status = response.status;
  if (response.body.size() > detail::max_response_bytes)
    return unexpected{detail::bad_response("body of " + std::to_string(response.body.size()) + " bytes is too large", status)};
  if (response.body.empty()) return unexpected{detail::bad_response("empty body, expected " + std::string{expected}, status)};
  simdjson::ondemand::document doc;
  if (auto e = detail::thread_parser().iterate(detail::padded_body(response.body)).get(doc))
    return unexpected{detail::json_error(e, "", expected, status)};
  simdjson::ondemand::array array;
  if (auto e = doc.get_array().get(array)) return unexpected{detail::json_error(e, "", expected, status)};
  result<std::vector<api_key>> out{std::vector<api_key>{}};
  std::vector<api_key>& keys = *out;
  // A key object takes at least 61 bytes, so this is never too few for a real list; capped, so a huge
  // hostile body does not reserve more than it would make us hold anyway.
  keys.reserve(std::min<std::size_t>(response.body.size() / 61 + 1, 4096));
  for (auto element : array) {
    const auto index_path = [&] { return "[" + std::to_string(keys.size()) + "]"; };
    simdjson::ondemand::object obj;
    if (auto e = element.get_object().get(obj))
      return unexpected{detail::json_error(e, index_path(), "an API key object", status)};
    api_key& key = keys.emplace_back();
    if (auto fault = detail::read_key(obj, key, false)) {
      keys.pop_back();
      return unexpected{detail::describe(fault, index_path(), status)};
    }
  }
  if (auto err = detail::finish_document(doc, status)) return unexpected{std::move(*err)};
  return out;
}

APIKEYS_DECL result<login_response> decode_login(const http_response& response) {
  static constexpr std::string_view names[] = {"access_token", "refresh_token", "user_id", "device_id"};
  login_response out;
  auto err = detail::read_required_strings(response, "a login response object", names,
                                           [&](std::size_t i, std::string_view text) {
                                             switch (i) {
                                               case 0: out.access_token = secret{text}; break;
                                               case 1: out.refresh_token = secret{text}; break;
                                               case 2: out.user_id.assign(text); break;
                                               default: out.device_id.assign(text); break;
                                             }
                                           });
  if (err) return unexpected{std::move(*err)};
  if (!detail::is_visible_ascii(out.access_token.reveal()) || out.access_token.empty())
    return unexpected{detail::bad_response("field 'access_token' must be a non-empty token of visible ASCII", response.status)};
  if (!detail::is_visible_ascii(out.refresh_token.reveal()) || out.refresh_token.empty())
    return unexpected{detail::bad_response("field 'refresh_token' must be a non-empty token of visible ASCII", response.status)};
  return out;
}

APIKEYS_DECL result<secret> decode_access_token(const http_response& response) {
  static constexpr std::string_view names[] = {"access_token"};
  secret token;
  auto err = detail::read_required_strings(response, "a session refresh object", names,
                                           [&](std::size_t, std::string_view text) { token = secret{text}; });
  if (err) return unexpected{std::move(*err)};
  if (!detail::is_visible_ascii(token.reveal()) || token.empty())
    return unexpected{detail::bad_response("field 'access_token' must be a non-empty token of visible ASCII", response.status)};
  return token;
}

APIKEYS_DECL result<location_response> decode_location(const http_response& response) {
  static constexpr std::string_view names[] = {"hostname", "ws_hostname"};
  std::string values[2];
  if (auto err = detail::read_required_strings(response, "a location object", names,
                                               [&](std::size_t i, std::string_view text) { values[i].assign(text); }))
    return unexpected{std::move(*err)};
  while (values[0].ends_with('/')) values[0].pop_back();
  if (const char* problem = detail::location_hostname_problem(values[0]))
    return unexpected{detail::bad_response(std::string{"field 'hostname' "} + problem, response.status)};
  return location_response{std::move(values[0]), std::move(values[1])};
}

APIKEYS_DECL result<user_profile> decode_profile(const http_response& response) {
  const int status = response.status;
  simdjson::ondemand::document doc;
  detail::object obj;
  if (auto err = detail::open_object(response, doc, obj, "a profile object")) return unexpected{std::move(*err)};
  user_profile profile;
  bool seen_user = false, seen_type = false, seen_identities = false, seen_data = false;
  std::string_view text;
  auto err = detail::for_each_member(obj, "", status, [&](std::string_view name, simdjson::ondemand::value value)
                                                          -> std::optional<api_error> {
    if (name == "user_id") {
      if (auto e = detail::read_string(value, "", name, seen_user, text, status)) return e;
      profile.user_id.assign(text);
    } else if (name == "type") {
      if (auto e = detail::read_string(value, "", name, seen_type, text, status)) return e;
      profile.type.assign(text);
    } else if (name == "data") {
      if (seen_data) return detail::duplicate_field("", name, status);
      seen_data = true;
      detail::object data;
      if (auto e = value.get_object().get(data)) return detail::json_error(e, "data", "an object", status);
      if (auto e = data.raw_json().get(text)) return detail::json_error(e, "data", "an object", status);
      // On-demand skips what it is not asked to read, so the kept text is checked whole before it is
      // handed on as JSON.
      while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
        text.remove_suffix(1);
      if (auto e = detail::validate_json(text)) return detail::json_error(e, "data", "an object", status);
      profile.data.assign(text);
    } else if (name == "identities") {
      if (seen_identities) return detail::duplicate_field("", name, status);
      seen_identities = true;
      simdjson::ondemand::array array;
      if (auto e = value.get_array().get(array)) return detail::json_error(e, "identities", "an array", status);
      for (auto element : array) {
        const std::string prefix = "identities[" + std::to_string(profile.identities.size()) + "]";
        detail::object item;
        if (auto e = element.get_object().get(item)) return detail::json_error(e, prefix, "an object", status);
        user_identity identity;
        bool seen[3] = {};
        auto item_err = detail::for_each_member(item, prefix, status, [&](std::string_view key, simdjson::ondemand::value v)
                                                                          -> std::optional<api_error> {
          std::string* target = key == "id" ? &identity.id : key == "provider_type" ? &identity.provider_type
                              : key == "provider_id" ? &identity.provider_id : nullptr;
          if (!target) return std::nullopt;
          const std::size_t slot = key == "id" ? 0u : key == "provider_type" ? 1u : 2u;
          if (auto e = detail::read_string(v, prefix, key, seen[slot], text, status)) return e;
          target->assign(text);
          return std::nullopt;
        });
        if (item_err) return item_err;
        profile.identities.push_back(std::move(identity));
      }
    }
    return std::nullopt;
  });
  if (err) return unexpected{std::move(*err)};
  if (!seen_identities) return unexpected{detail::missing_field("", "identities", status)};
  if (!seen_data) return unexpected{detail::missing_field("", "data", status)};
  if (auto e = detail::finish_document(doc, status)) return unexpected{std::move(*e)};
  return profile;
}

APIKEYS_DECL std::optional<api_error> classify_response(const http_response& response) {
  const int status = response.status;
  const std::string& body = response.body;
  // A body can only name `error` or `error_code` in plain text or through a \u escape: when it has
  // neither, the successful answer is left to its decoder without a second parse.
  // An error body is an object, so a body that does not open with '{' (a key list) needs no scan at all.
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  const bool may_hold_error = first != std::string::npos && body[first] == '{' &&
                              (body.find("error") != std::string::npos || body.find("\\u") != std::string::npos);
  if (may_hold_error && body.size() <= detail::max_response_bytes && detail::is_json_content_type(response)) {
    simdjson::ondemand::document doc;
    detail::object obj;
    bool readable = !detail::thread_parser().iterate(detail::padded_body(body)).get(doc) && !doc.get_object().get(obj);
    std::optional<std::string> code, message, link;
    if (readable) {
      auto err = detail::for_each_member(obj, "", status, [&](std::string_view name, simdjson::ondemand::value value)
                                                              -> std::optional<api_error> {
        std::optional<std::string>* target = name == "error_code" ? &code : name == "error" ? &message
                                           : name == "link" ? &link : nullptr;
        if (!target) return std::nullopt;  // a repeated member overwrites: core's nlohmann::json keeps the last
        std::string_view text;
        if (auto e = value.get_string().get(text)) return detail::json_error(e, name, "a string", status);
        target->emplace(text);
        return std::nullopt;
      });
      readable = !err && detail::at_document_end(doc);
    }
    if (readable && code && !code->empty()) {
      api_error e;
      e.code = errc_from_server_code(*code);
      e.http_status = status;
      e.server_code = std::move(*code);
      e.message = message ? std::move(*message) : std::string{"no error message"};
      if (link) e.link = std::move(*link);
      return e;
    }
    if (readable && message) {
      api_error e;
      e.code = errc::unknown_service_error;
      e.http_status = status;
      e.message = std::move(*message);
      if (link) e.link = std::move(*link);
      return e;
    }
  }
  if (status < 200 || status > 299) {
    api_error e;
    e.code = errc::http_error;
    e.http_status = status;
    constexpr std::size_t max_text = 1024;
    e.message = body.empty() ? "HTTP status " + std::to_string(status) : body.substr(0, max_text);
    if (body.size() > max_text) e.message.append("...");
    // A server's text ends up in logs and terminals: control bytes (NUL, escape sequences) become '?',
    // while line breaks and tabs of an HTML or text page stay.
    for (char& c : e.message)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f) c = '?';
    return e;
  }
  return std::nullopt;
}

}  // namespace apikeys

#endif  // APIKEYS_IMPL_DECODER_HPP
