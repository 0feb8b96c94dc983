// apikeys::testing::emulator: the App Services server side of docs/protocol.md, in memory, usable as a Transport.
#ifndef APIKEYS_TESTING_EMULATOR_HPP
#define APIKEYS_TESTING_EMULATOR_HPP

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "../detail/json_writer.hpp"
#include "../http.hpp"
#include "../object_id.hpp"
#include "../secret.hpp"
#include "../version.hpp"
#include "detail/base64url.hpp"
#include "detail/random.hpp"
#include "detail/sha256.hpp"
#include "emulator_store.hpp"

namespace APIKEYS_NAMESPACE::testing {

/// How an emulator presents itself and the limits it enforces.
struct emulator_options {
  std::string app_id = "apikeys-emulator";                         ///< the one app id it serves
  std::string hostname = "http://127.0.0.1";                       ///< origin of the `hostname` location answers
  std::string ws_hostname = "ws://127.0.0.1";                      ///< origin of the `ws_hostname` location answers
  /// A path every route is served under, as behind a gateway ("/realm": `/realm/api/client/v2.0/...`);
  /// location then answers `hostname` and `ws_hostname` with it appended, and a route outside it is 404.
  /// Visible ASCII without `?` or `#`, matched byte for byte (percent-escapes are not decoded); a missing
  /// leading `/` is added and trailing `/` are dropped. Empty (the default): routes at the root.
  std::string path_prefix{};
  std::chrono::seconds access_token_lifetime{30 * 60};             ///< access tokens expire this long after issue
  std::chrono::seconds refresh_token_lifetime{60 * 24 * 3600};     ///< refresh tokens (sessions) expire this long after login
  std::size_t max_keys_per_user = 20;                              ///< the 21st create fails with InvalidParameter
};

namespace detail {

/// The string and integer leaves of a JSON object, by dotted path ("name", "options.device.deviceId").
/// Leaves inside arrays are validated but not kept: no request the emulator reads needs them.
struct json_fields {
  std::map<std::string, std::string, std::less<>> strings;
  std::map<std::string, std::int64_t, std::less<>> integers;

  const std::string* string_at(std::string_view path) const {
    const auto it = strings.find(path);
    return it == strings.end() ? nullptr : &it->second;
  }
  std::optional<std::int64_t> integer_at(std::string_view path) const {
    const auto it = integers.find(path);
    return it == integers.end() ? std::nullopt : std::optional<std::int64_t>{it->second};
  }
};

// On-demand parsing is lazy, so every value is walked to the end: a body is readable only if all of it
// is JSON, not just the members a handler happens to look at.
inline bool walk_json(simdjson::ondemand::value value, std::string& path, int depth, bool keep, json_fields& out) {
  namespace od = simdjson::ondemand;
  if (depth > 64) return false;
  od::json_type type{};
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) return false;
      for (auto field : object) {
        std::string_view key;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
        od::value member;
        if (field.value().get(member) != simdjson::SUCCESS) return false;
        const std::size_t mark = path.size();
        if (!path.empty()) path.push_back('.');
        path.append(key);
        const bool ok = walk_json(member, path, depth + 1, keep, out);
        path.resize(mark);
        if (!ok) return false;
      }
      return true;
    }
    case od::json_type::array: {
      od::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) return false;
      for (auto element : array) {
        od::value item;
        if (element.get(item) != simdjson::SUCCESS) return false;
        if (!walk_json(item, path, depth + 1, false, out)) return false;
      }
      return true;
    }
    case od::json_type::string: {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) return false;
      if (keep) out.strings.emplace(path, std::string{text});  // the first of duplicate members wins
      return true;
    }
    case od::json_type::number: {
      od::number number;
      if (value.get_number().get(number) != simdjson::SUCCESS) return false;
      if (keep && number.is_int64()) out.integers.emplace(path, number.get_int64());
      return true;
    }
    case od::json_type::boolean: {
      bool flag = false;
      return value.get_bool().get(flag) == simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      return value.is_null().get(is_null) == simdjson::SUCCESS && is_null;
    }
    default:  // simdjson 4 added json_type::unknown, for a token that starts no JSON value
      return false;
  }
}

/// Reads `text` as one JSON object and nothing after it; an empty optional when it is not JSON or not
/// an object. Parses a padded copy, so `text` may live anywhere.
inline std::optional<json_fields> read_json_object(simdjson::ondemand::parser& parser, std::string_view text) {
  namespace od = simdjson::ondemand;
  const simdjson::padded_string padded(text);
  od::document document;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS) return std::nullopt;
  od::object object;
  if (document.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  json_fields out;
  std::string path;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return std::nullopt;
    od::value member;
    if (field.value().get(member) != simdjson::SUCCESS) return std::nullopt;
    path.assign(key);
    if (!walk_json(member, path, 1, true, out)) return std::nullopt;
  }
  // Past the closing brace the document has no location left; anything else is trailing content.
  const char* rest = nullptr;
  if (document.current_location().get(rest) == simdjson::SUCCESS) return std::nullopt;
  return out;
}

/// The path of a request URL: scheme, authority, query and fragment dropped. A bare path starting with
/// `/` is taken as it is; anything else gives an empty view.
constexpr std::string_view request_path(std::string_view url) noexcept {
  const auto has_prefix = [&](std::string_view prefix) {
    return url.size() >= prefix.size() && ::apikeys::detail::iequals(url.substr(0, prefix.size()), prefix);
  };
  if (has_prefix("http://") || has_prefix("https://")) {
    url.remove_prefix(url.find("://") + 3);
    const std::size_t path_start = url.find_first_of("/?#");
    url = (path_start == std::string_view::npos || url[path_start] != '/') ? std::string_view{"/"}
                                                                             : url.substr(path_start);
  } else if (url.empty() || url.front() != '/') {
    return {};
  }
  return url.substr(0, url.find_first_of("?#"));
}

/// Splits `text` at every `/` (empty segments kept, so a trailing slash is visible).
inline std::vector<std::string_view> split_path(std::string_view text) {
  std::vector<std::string_view> out;
  for (;;) {
    const std::size_t slash = text.find('/');
    out.push_back(text.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    text.remove_prefix(slash + 1);
  }
}

/// True for a name the server accepts: ASCII letters, digits, `_` and `-`.
constexpr bool is_valid_key_name(std::string_view name) noexcept {
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

constexpr std::string_view trim_spaces(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace detail

/// What signs and checks an emulator's tokens (HS256 JWTs) and digests its key values. The emulator's own,
/// builtin_token_crypto, uses apikeys' test-double SHA-256; apikeys-server gives one built on libsodium,
/// with older keys still accepted for verification (key rotation). Called under the emulator's lock.
class token_crypto {
 public:
  virtual ~token_crypto() = default;
  /// HMAC-SHA256 of `input` under the key that signs new tokens.
  virtual detail::sha256_digest sign(std::string_view input) const = 0;
  /// Whether `mac` is the HMAC-SHA256 of `input` under the signing key or a key still accepted; each
  /// comparison in constant time.
  virtual bool verify(std::string_view input, const detail::sha256_digest& mac) const = 0;
  /// The SHA-256 of an API key value: what the store keeps instead of the value.
  virtual detail::sha256_digest digest(std::string_view value) const = 0;
};

/// The emulator's default token_crypto: one HMAC key, apikeys' own SHA-256 (a test double; apikeys-server
/// uses libsodium's).
class builtin_token_crypto final : public token_crypto {
 public:
  using key_type = std::array<std::uint8_t, 32>;
  explicit builtin_token_crypto(const key_type& key) : key_(key) {}
  detail::sha256_digest sign(std::string_view input) const override {
    return detail::hmac_sha256(std::string_view{reinterpret_cast<const char*>(key_.data()), key_.size()}, input);
  }
  bool verify(std::string_view input, const detail::sha256_digest& mac) const override {
    return detail::digests_equal(sign(input), mac);
  }
  detail::sha256_digest digest(std::string_view value) const override { return detail::sha256_of(value); }

 private:
  key_type key_;
};

/// An App Services server in memory: users, sessions, JWT-shaped tokens and API keys, answering every
/// route and error of docs/protocol.md. It is a Transport (`send`), so a client can talk to it with no sockets;
/// `apikeys-emulator` serves the same object over HTTP.
/// Choices docs/protocol.md leaves open: a wrong password or unknown email answers 401 AuthError
/// "invalid username/password"; registering a used email answers 409 AccountNameInUse "name already in
/// use"; an unknown app id answers 404 AppNotFound; an unknown provider 404 AuthProviderNotFound; an
/// unknown route 404 and a wrong method 405, both without error_code. Content-Type is not checked, since
/// a server must accept what every official client sends (section 4). Sessions made with a key outlive
/// that key's disabling or deletion.
/// Thread safety: every member function may be called concurrently (one mutex guards the state).
class emulator {
 public:
  /// The HMAC-SHA256 key that signs an emulator's tokens.
  using signing_key = std::array<std::uint8_t, 32>;

  /// An emulator with no users, in memory; the HMAC key that signs its tokens is fresh OS randomness.
  explicit emulator(emulator_options options = {}) : emulator(std::move(options), std::make_unique<memory_store>()) {}

  /// An emulator keeping its records in `store` (not null), signing its tokens with `key` (fresh OS
  /// randomness when not given; a server that keeps its store across restarts gives the same key each time
  /// so that tokens outlive a restart).
  emulator(emulator_options options, std::unique_ptr<emulator_store> store, std::optional<signing_key> key = std::nullopt)
      : emulator(std::move(options), std::move(store), std::make_unique<builtin_token_crypto>(key ? *key : random_key())) {}

  /// An emulator keeping its records in `store` and signing, checking and digesting with `crypto` (both not
  /// null): what apikeys-server uses for libsodium's primitives and key rotation.
  emulator(emulator_options options, std::unique_ptr<emulator_store> store, std::unique_ptr<token_crypto> crypto)
      : options_(std::move(options)), store_(std::move(store)), crypto_(std::move(crypto)) {
    detail::fill_random(id_process_bytes_.data(), id_process_bytes_.size());
    std::array<unsigned char, 3> counter{};
    detail::fill_random(counter.data(), counter.size());
    id_counter_ = (std::uint32_t{counter[0]} << 16) | (std::uint32_t{counter[1]} << 8) | counter[2];
    domain_id_ = next_id();
    userpass_provider_id_ = next_id();
    anonymous_provider_id_ = next_id();
    trim_hostname();
    while (options_.path_prefix.ends_with('/')) options_.path_prefix.pop_back();
    if (!options_.path_prefix.empty() && !options_.path_prefix.starts_with('/')) options_.path_prefix.insert(0, 1, '/');
  }
  emulator(const emulator&) = delete;
  emulator& operator=(const emulator&) = delete;

  /// Answers one request as the server would. Thread-safe.
  /// A store failure (emulator_store_error) rolls the request's writes back and answers 500
  /// InternalServerError; a write is answered only once the store has committed it.
  http_response send(const http_request& request) {
    const std::lock_guard lock(mutex_);
    ++request_count_;
#if APIKEYS_HAS_EXCEPTIONS
    try {
      return in_transaction([&] { return dispatch(request); });
    } catch (const emulator_store_error&) {
      return error(500, "InternalServerError", "storage failure");
    }
#else
    return in_transaction([&] { return dispatch(request); });  // without exceptions, a store cannot fail
#endif
  }

  /// Adds an email/password user (or sets the password of an existing one); returns its 24-hex user id.
  std::string add_user(std::string_view email, std::string_view password) {
    const std::lock_guard lock(mutex_);
    return in_transaction([&] {
      if (const auto user = store_->user_by_email(email)) {
        store_->set_password(user->id, password);
        return user->id;
      }
      return create_user(email, password, false)->id;
    });
  }

  /// The user id registered for `email`, if any.
  std::optional<std::string> user_id(std::string_view email) const {
    const std::lock_guard lock(mutex_);
    return in_transaction([&] {
      const auto user = store_->user_by_email(email);
      return user ? std::optional<std::string>{user->id} : std::nullopt;
    });
  }

  /// Sets the origins location answers (a server sets its own URL once it knows its port), to which the
  /// path prefix is appended; trailing `/` dropped.
  void set_hostname(std::string hostname, std::string ws_hostname) {
    const std::lock_guard lock(mutex_);
    options_.hostname = std::move(hostname);
    options_.ws_hostname = std::move(ws_hostname);
    trim_hostname();
  }

  /// The `hostname` location answers: the origin followed by the path prefix, the base URL to give a
  /// client. Every error `link` starts with the origin alone, as the admin pages are not behind a gateway.
  std::string hostname() const {
    const std::lock_guard lock(mutex_);
    return options_.hostname + options_.path_prefix;
  }

  /// The path every route is served under ("" or "/realm", no trailing `/`); never changes, so no lock.
  const std::string& path_prefix() const noexcept { return options_.path_prefix; }

  /// The app id served; never changes, so no lock is needed.
  const std::string& app_id() const noexcept { return options_.app_id; }

  /// Moves the emulator's clock forward: tokens issued before expire against it.
  void advance_clock(std::chrono::seconds by) {
    const std::lock_guard lock(mutex_);
    clock_offset_ += by;
  }

  /// Ends every session of the user, as an admin revoking them would; their tokens then get InvalidSession.
  void revoke_sessions(std::string_view user_id) {
    const std::lock_guard lock(mutex_);
    in_transaction([&] { store_->revoke_sessions(user_id); });
  }

  /// How many keys the user holds (0 for an unknown user).
  std::size_t key_count(std::string_view user_id) const {
    const std::lock_guard lock(mutex_);
    return in_transaction([&] { return store_->key_count(user_id); });
  }

  /// How many requests send() has answered.
  std::size_t request_count() const {
    const std::lock_guard lock(mutex_);
    return request_count_;
  }

  /// An error answer in this server's format, for an adapter that refuses a request before send().
  http_response error_response(int status, std::string_view error_code, std::string_view message) const {
    const std::lock_guard lock(mutex_);
    return error(status, error_code, message);
  }

 private:
  enum class token_kind { access, refresh };
  struct caller {
    std::optional<stored_user> user;
    std::optional<stored_session> session;
    std::string session_id;
  };

  // Runs `f` between the store's begin() and commit(), rolling back if anything throws. Under mutex_.
  template <class F>
  std::invoke_result_t<F&> in_transaction(F&& f) const {
    store_->begin();
#if APIKEYS_HAS_EXCEPTIONS
    try {
#endif
      if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        f();
        store_->commit();
      } else {
        std::invoke_result_t<F&> out = f();
        store_->commit();
        return out;
      }
#if APIKEYS_HAS_EXCEPTIONS
    } catch (...) {
      store_->rollback();
      throw;
    }
#endif
  }

  // --- answers -------------------------------------------------------------------------------------

  static http_response json_answer(int status, std::string body) {
    return http_response{status, {{"Content-Type", "application/json"}}, std::move(body)};
  }
  static http_response empty_answer(int status) { return http_response{status, {}, {}}; }

  http_response error(int status, std::string_view error_code, std::string_view message) const {
    std::string body = "{";
    ::apikeys::detail::append_json_member(body, "error", message);
    if (!error_code.empty()) {
      body.push_back(',');
      ::apikeys::detail::append_json_member(body, "error_code", error_code);
    }
    body.push_back(',');
    ::apikeys::detail::append_json_member(
        body, "link", options_.hostname + "/groups/emulator/apps/" + options_.app_id + "/logs?co_id=" + detail::random_hex(12));
    body.push_back('}');
    return json_answer(status, std::move(body));
  }

  http_response not_found_route() const { return error(404, "", "route not found"); }
  http_response bad_body() const { return error(400, "BadRequest", "invalid request body"); }
  http_response invalid_session() const { return error(401, "InvalidSession", "invalid session"); }
  http_response key_not_found() const { return error(404, "APIKeyNotFound", "API key not found"); }

  http_response method_not_allowed(std::initializer_list<http_method> allowed) const {
    http_response out = error(405, "", "method not allowed");
    std::string allow;
    for (const http_method m : allowed) {
      if (!allow.empty()) allow.append(", ");
      allow.append(to_string(m));
    }
    out.headers.push_back({"Allow", std::move(allow)});
    return out;
  }

  // --- routing -------------------------------------------------------------------------------------

  http_response dispatch(const http_request& request) {
    static constexpr std::string_view prefix = "/api/client/v2.0/";
    std::string_view path = detail::request_path(request.url);
    if (!path.starts_with(options_.path_prefix)) return not_found_route();
    path.remove_prefix(options_.path_prefix.size());
    if (path.substr(0, prefix.size()) != prefix) return not_found_route();
    const std::vector<std::string_view> seg = detail::split_path(path.substr(prefix.size()));
    const http_method method = request.method;
    using m = http_method;

    if (seg.size() >= 2 && seg[0] == "app") {
      const std::string_view app = seg[1];
      if (seg.size() == 3 && seg[2] == "location") {
        if (method != m::get) return method_not_allowed({m::get});
        if (app != options_.app_id) return app_not_found(app);
        return location();
      }
      if (seg.size() == 6 && seg[2] == "auth" && seg[3] == "providers" && (seg[5] == "login" || seg[5] == "register")) {
        const bool is_register = seg[5] == "register";
        if (is_register && seg[4] != "local-userpass") return not_found_route();
        if (method != m::post) return method_not_allowed({m::post});
        if (app != options_.app_id) return app_not_found(app);
        return is_register ? register_user(request) : login(seg[4], request);
      }
      return not_found_route();
    }
    if (seg.size() >= 2 && seg[0] == "auth") {
      if (seg.size() == 2 && seg[1] == "session") {
        if (method == m::post) return refresh(request);
        if (method == m::delete_) return log_out(request);
        return method_not_allowed({m::post, m::delete_});
      }
      if (seg.size() == 2 && seg[1] == "profile") {
        if (method != m::get) return method_not_allowed({m::get});
        return profile(request);
      }
      if (seg[1] != "api_keys") return not_found_route();
      if (seg.size() == 2) {
        if (method == m::post) return create_key(request);
        if (method == m::get) return fetch_all_keys(request);
        return method_not_allowed({m::get, m::post});
      }
      if (seg.size() == 3) {
        if (method == m::get) return fetch_key(request, seg[2]);
        if (method == m::delete_) return delete_key(request, seg[2]);
        return method_not_allowed({m::get, m::delete_});
      }
      if (seg.size() == 4 && (seg[3] == "enable" || seg[3] == "disable")) {
        if (method != m::put) return method_not_allowed({m::put});
        return set_key_disabled(request, seg[2], seg[3] == "disable");
      }
    }
    return not_found_route();
  }

  http_response app_not_found(std::string_view app) const {
    return error(404, "AppNotFound", "cannot find app using Client App ID '" + std::string{app} + "'");
  }

  // --- location, log in, register, sessions ------------------------------------------------------

  http_response location() const {
    std::string body = R"({"deployment_model":"GLOBAL","location":"US-VA",)";
    ::apikeys::detail::append_json_member(body, "hostname", options_.hostname + options_.path_prefix);
    body.push_back(',');
    ::apikeys::detail::append_json_member(body, "ws_hostname", options_.ws_hostname + options_.path_prefix);
    body.push_back('}');
    return json_answer(200, std::move(body));
  }

  http_response login(std::string_view provider, const http_request& request) {
    if (provider != "local-userpass" && provider != "anon-user" && provider != "api-key")
      return error(404, "AuthProviderNotFound", "authentication via '" + std::string{provider} + "' is unsupported");
    const auto body = detail::read_json_object(parser_, request.body);
    if (!body) return bad_body();

    std::optional<stored_user> user;
    std::optional<object_id> key_id;
    if (provider == "local-userpass") {
      const std::string* username = body->string_at("username");
      const std::string* password = body->string_at("password");
      user = check_password(username ? *username : std::string_view{}, password ? *password : std::string_view{});
      if (!user) return error(401, "AuthError", "invalid username/password");
    } else if (provider == "anon-user") {
      user = create_user({}, {}, true);
    } else {
      const std::string* key = body->string_at("key");
      const auto found = find_key(key ? *key : std::string_view{});
      if (!found) return error(401, "AuthError", "unauthorized");
      user = found->first;
      key_id = found->second.id;
    }

    const std::string session_id = detail::random_hex(16);
    store_->add_session(session_id, stored_session{user->id, key_id, false});
    const std::int64_t now = now_seconds();
    std::string device_id;
    if (const std::string* given = body->string_at("options.device.deviceId"); given && object_id::parse(*given))
      device_id = *given;
    else
      device_id = next_id();

    std::string out = "{";
    ::apikeys::detail::append_json_member(out, "access_token", issue_token(*user, session_id, token_kind::access, now));
    out.push_back(',');
    ::apikeys::detail::append_json_member(out, "refresh_token", issue_token(*user, session_id, token_kind::refresh, now));
    out.push_back(',');
    ::apikeys::detail::append_json_member(out, "user_id", user->id);
    out.push_back(',');
    ::apikeys::detail::append_json_member(out, "device_id", device_id);
    out.push_back('}');
    return json_answer(200, std::move(out));
  }

  http_response register_user(const http_request& request) {
    const auto body = detail::read_json_object(parser_, request.body);
    if (!body) return bad_body();
    const std::string* email = body->string_at("email");
    const std::string* password = body->string_at("password");
    if (email == nullptr || email->empty() || password == nullptr || password->empty())
      return error(400, "BadRequest", "'email' and 'password' are required strings");
    if (!create_user(*email, *password, false)) return error(409, "AccountNameInUse", "name already in use");
    return empty_answer(201);
  }

  http_response refresh(const http_request& request) {
    caller who;
    if (auto failure = authenticate(request, token_kind::refresh, who)) return std::move(*failure);
    std::string out = "{";
    ::apikeys::detail::append_json_member(out, "access_token",
                                         issue_token(*who.user, who.session_id, token_kind::access, now_seconds()));
    out.push_back('}');
    return json_answer(201, std::move(out));
  }

  http_response log_out(const http_request& request) {
    caller who;
    if (auto failure = authenticate(request, token_kind::refresh, who)) return std::move(*failure);
    // Access tokens name their session, so revoking it ends them too.
    store_->revoke_session(who.session_id);
    return empty_answer(204);
  }

  http_response profile(const http_request& request) {
    caller who;
    if (auto failure = authenticate(request, token_kind::access, who)) return std::move(*failure);
    const stored_user& user = *who.user;
    std::string out = "{";
    ::apikeys::detail::append_json_member(out, "user_id", user.id);
    out.push_back(',');
    ::apikeys::detail::append_json_member(out, "domain_id", domain_id_);
    out.append(R"(,"identities":[{)");
    ::apikeys::detail::append_json_member(out, "id", user.identity_id);
    out.push_back(',');
    ::apikeys::detail::append_json_member(out, "provider_type", user.anonymous ? "anon-user" : "local-userpass");
    out.push_back(',');
    ::apikeys::detail::append_json_member(out, "provider_id", user.anonymous ? anonymous_provider_id_ : userpass_provider_id_);
    out.append(R"(}],"data":{)");
    if (!user.anonymous) ::apikeys::detail::append_json_member(out, "email", user.email);
    out.append(R"(},"type":"normal"})");
    return json_answer(200, std::move(out));
  }

  // --- API keys -------------------------------------------------------------------------------------

  // The first two rows of the precedence rule, shared by every key route.
  std::optional<http_response> authenticate_key_user(const http_request& request, caller& who) {
    if (auto failure = authenticate(request, token_kind::refresh, who)) return failure;
    if (who.user->anonymous) return error(403, "AuthError", "anonymous users cannot use API keys");
    return std::nullopt;
  }

  http_response create_key(const http_request& request) {
    caller who;
    if (auto failure = authenticate_key_user(request, who)) return std::move(*failure);
    const auto body = detail::read_json_object(parser_, request.body);
    if (!body) return bad_body();
    const std::string* name = body->string_at("name");
    if (name == nullptr || name->empty()) return error(400, "", "'name' is a required string");
    if (!detail::is_valid_key_name(*name))
      return error(400, "InvalidParameter", "can only contain ASCII letters, numbers, underscores, and hyphens");
    std::string secret_value = detail::random_alphanumeric(64);
    const stored_key record{*object_id::parse(next_id()), *name, crypto_->digest(secret_value), false};
    add_key_result added{};
#if APIKEYS_HAS_EXCEPTIONS
    try {
      added = store_->add_key(who.user->id, record, options_.max_keys_per_user);
    } catch (...) {  // a store failure: the value is never answered, so it must not linger either
      ::apikeys::detail::secure_wipe(secret_value.data(), secret_value.size());
      throw;
    }
#else
    added = store_->add_key(who.user->id, record, options_.max_keys_per_user);
#endif
    switch (added) {
      case add_key_result::added:
        break;
      case add_key_result::name_taken:
        ::apikeys::detail::secure_wipe(secret_value.data(), secret_value.size());
        return error(409, "APIKeyAlreadyExists", "API key with name already exists");
      case add_key_result::limit_reached:
        ::apikeys::detail::secure_wipe(secret_value.data(), secret_value.size());
        return error(400, "InvalidParameter",
                     "user may only have " + std::to_string(options_.max_keys_per_user) + " API keys");
    }
    std::string out = "{";
    ::apikeys::detail::append_json_member(out, "_id", record.id.to_string());
    out.push_back(',');
    ::apikeys::detail::append_json_member(out, "key", secret_value);
    out.push_back(',');
    ::apikeys::detail::append_json_member(out, "name", record.name);
    out.append(R"(,"disabled":false})");
    ::apikeys::detail::secure_wipe(secret_value.data(), secret_value.size());
    return json_answer(201, std::move(out));
  }

  http_response fetch_all_keys(const http_request& request) {
    caller who;
    if (auto failure = authenticate_key_user(request, who)) return std::move(*failure);
    std::string out = "[";
    for (const stored_key& k : store_->keys(who.user->id)) {
      if (out.size() > 1) out.push_back(',');
      append_key(out, k);
    }
    out.push_back(']');
    return json_answer(200, std::move(out));
  }

  http_response fetch_key(const http_request& request, std::string_view id_text) {
    caller who;
    if (auto failure = authenticate_key_user(request, who)) return std::move(*failure);
    const std::optional<stored_key> key = find_own_key(who.user->id, id_text);
    if (!key) return key_not_found();
    std::string out;
    append_key(out, *key);
    return json_answer(200, std::move(out));
  }

  http_response set_key_disabled(const http_request& request, std::string_view id_text, bool disabled) {
    caller who;
    if (auto failure = authenticate_key_user(request, who)) return std::move(*failure);
    const std::optional<stored_key> key = find_own_key(who.user->id, id_text);
    if (!key) return key_not_found();
    store_->set_key_disabled(who.user->id, key->id, disabled);
    return empty_answer(204);
  }

  http_response delete_key(const http_request& request, std::string_view id_text) {
    caller who;
    if (auto failure = authenticate_key_user(request, who)) return std::move(*failure);
    const std::optional<stored_key> key = find_own_key(who.user->id, id_text);
    if (!key) return key_not_found();
    if (who.session->key_id && *who.session->key_id == key->id)
      return error(403, "AuthError", "cannot delete the API key in use");
    store_->remove_key(who.user->id, key->id);
    return empty_answer(204);
  }

  static void append_key(std::string& out, const stored_key& k) {
    out.push_back('{');
    ::apikeys::detail::append_json_member(out, "_id", k.id.to_string());
    out.push_back(',');
    ::apikeys::detail::append_json_member(out, "name", k.name);
    out.append(k.disabled ? R"(,"disabled":true})" : R"(,"disabled":false})");
  }

  std::optional<stored_key> find_own_key(std::string_view user_id, std::string_view id_text) const {
    const auto id = object_id::parse(id_text);
    if (!id) return std::nullopt;
    for (stored_key& k : store_->keys(user_id))
      if (k.id == *id) return std::move(k);
    return std::nullopt;
  }

  // The store compares hashes in constant time (see emulator_store::key_by_hash).
  std::optional<std::pair<stored_user, stored_key>> find_key(std::string_view secret_value) {
    auto found = store_->key_by_hash(crypto_->digest(secret_value));
    if (secret_value.empty() || !found || found->second.disabled) return std::nullopt;
    return found;
  }

  // --- users ---------------------------------------------------------------------------------------

  // The new user, or nothing when its email is in use.
  std::optional<stored_user> create_user(std::string_view email, std::string_view password, bool anonymous) {
    stored_user user;
    user.id = next_id();
    user.identity_id = next_id();
    user.anonymous = anonymous;
    user.email = std::string{email};
    if (!store_->add_user(user, password)) return std::nullopt;
    return user;
  }

  std::optional<stored_user> check_password(std::string_view email, std::string_view password) {
    return store_->check_password(email, password);
  }

  // --- tokens --------------------------------------------------------------------------------------

  std::int64_t now_seconds() const {
    const auto now = std::chrono::system_clock::now() + clock_offset_;
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  }

  std::string issue_token(const stored_user& user, const std::string& session_id, token_kind kind, std::int64_t now) {
    const auto lifetime = kind == token_kind::access ? options_.access_token_lifetime : options_.refresh_token_lifetime;
    std::string payload = "{";
    ::apikeys::detail::append_json_member(payload, "sub", user.id);
    payload.append(",\"iat\":").append(std::to_string(now));
    payload.append(",\"exp\":").append(std::to_string(now + static_cast<std::int64_t>(lifetime.count())));
    payload.append(kind == token_kind::access ? R"(,"typ":"access",)" : R"(,"typ":"refresh",)");
    ::apikeys::detail::append_json_member(payload, "sid", session_id);
    payload.push_back(',');
    ::apikeys::detail::append_json_member(payload, "jti", detail::random_hex(16));
    payload.push_back('}');
    std::string token = detail::base64url_encode(std::string_view{R"({"alg":"HS256","typ":"JWT"})"});
    token.push_back('.');
    token.append(detail::base64url_encode(payload));
    const detail::sha256_digest signature = sign(token);
    token.push_back('.');
    token.append(detail::base64url_encode(signature.data(), signature.size()));
    return token;
  }

  detail::sha256_digest sign(std::string_view signing_input) const { return crypto_->sign(signing_input); }

  static signing_key random_key() {
    signing_key key{};
    detail::fill_random(key.data(), key.size());
    return key;
  }

  // The authentication row of the precedence rule. Fills `who` and answers nothing on success; otherwise
  // the 401 to answer. The signature is checked before anything in the token is believed.
  std::optional<http_response> authenticate(const http_request& request, token_kind kind, caller& who) {
    const std::string* header = find_header(request.headers, "Authorization");
    if (header == nullptr) return error(401, "MissingAuthReq", "must authenticate first");
    const auto malformed = [this] { return error(401, "", "expected Authorization header with JWT (Bearer schema)"); };
    std::string_view value = detail::trim_spaces(*header);
    static constexpr std::string_view scheme = "Bearer";
    if (value.size() < scheme.size() || !::apikeys::detail::iequals(value.substr(0, scheme.size()), scheme))
      return malformed();
    value.remove_prefix(scheme.size());
    if (!value.empty() && value.front() != ' ') return malformed();
    const std::string_view token = detail::trim_spaces(value);
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) return malformed();
    const std::string_view header_part = token.substr(0, dot1);
    const std::string_view payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view signature_part = token.substr(dot2 + 1);
    if (!detail::is_base64url(header_part) || !detail::is_base64url(payload_part) || !detail::is_base64url(signature_part))
      return malformed();

    const auto signature = detail::base64url_decode(signature_part);
    if (!signature || signature->size() != detail::sha256::digest_size) return invalid_session();
    detail::sha256_digest given{};
    for (std::size_t i = 0; i < given.size(); ++i) given[i] = static_cast<std::uint8_t>((*signature)[i]);
    if (!crypto_->verify(token.substr(0, dot2), given)) return invalid_session();

    const auto payload_text = detail::base64url_decode(payload_part);
    if (!payload_text) return invalid_session();
    const auto payload = detail::read_json_object(parser_, *payload_text);
    if (!payload) return invalid_session();
    const std::string* typ = payload->string_at("typ");
    const std::string* sid = payload->string_at("sid");
    const std::string* sub = payload->string_at("sub");
    const auto exp = payload->integer_at("exp");
    if (!typ || !sid || !sub || !exp) return invalid_session();
    if (*typ != (kind == token_kind::access ? "access" : "refresh")) return invalid_session();
    if (*exp <= now_seconds()) return invalid_session();
    auto session = store_->session(*sid);
    if (!session || session->revoked || session->user_id != *sub) return invalid_session();
    auto user = store_->user_by_id(*sub);
    if (!user) return invalid_session();
    who.user = std::move(user);
    who.session = std::move(session);
    who.session_id = *sid;
    return std::nullopt;
  }

  // --- ids -----------------------------------------------------------------------------------------

  // ObjectId layout: 4 bytes of seconds, 5 bytes fixed per emulator, a 3-byte counter from a random
  // start. Ids made later sort later, like the real server's.
  std::string next_id() {
    object_id::bytes_type bytes{};
    const auto seconds = static_cast<std::uint32_t>(now_seconds());
    for (std::size_t i = 0; i < 4; ++i) bytes[i] = static_cast<std::uint8_t>(seconds >> (24 - 8 * i));
    for (std::size_t i = 0; i < 5; ++i) bytes[4 + i] = id_process_bytes_[i];
    id_counter_ = (id_counter_ + 1) & 0xffffffu;
    bytes[9] = static_cast<std::uint8_t>(id_counter_ >> 16);
    bytes[10] = static_cast<std::uint8_t>(id_counter_ >> 8);
    bytes[11] = static_cast<std::uint8_t>(id_counter_);
    return object_id{bytes}.to_string();
  }

  void trim_hostname() {
    while (!options_.hostname.empty() && options_.hostname.back() == '/') options_.hostname.pop_back();
    while (!options_.ws_hostname.empty() && options_.ws_hostname.back() == '/') options_.ws_hostname.pop_back();
  }

  mutable std::mutex mutex_;
  emulator_options options_;
  std::unique_ptr<emulator_store> store_;  // used only under mutex_
  std::unique_ptr<token_crypto> crypto_;
  std::array<std::uint8_t, 5> id_process_bytes_{};
  std::uint32_t id_counter_ = 0;
  std::string domain_id_;
  std::string userpass_provider_id_;
  std::string anonymous_provider_id_;
  std::chrono::seconds clock_offset_{0};
  std::size_t request_count_ = 0;
  simdjson::ondemand::parser parser_;  // used only under mutex_
};

}  // namespace apikeys::testing

#endif  // APIKEYS_TESTING_EMULATOR_HPP
