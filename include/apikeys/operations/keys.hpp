// apikeys key operations: the six calls on a user's API keys, each one descriptor (docs/architecture.md).
#ifndef APIKEYS_OPERATIONS_KEYS_HPP
#define APIKEYS_OPERATIONS_KEYS_HPP

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../api_key.hpp"
#include "../decoder.hpp"
#include "../detail/json_writer.hpp"
#include "../error.hpp"
#include "../http.hpp"
#include "../object_id.hpp"
#include "../operations.hpp"
#include "../result.hpp"
#include "../secret.hpp"
#include "../version.hpp"
#include "common.hpp"

namespace APIKEYS_NAMESPACE::ops {

// A descriptor is a plain value: the call's arguments, and what the client core needs to know to run it.
//   value_type       what the call gives back
//   needs            what it needs besides its arguments (common.hpp: the refresh token, here)
//   check()          optional: refuses bad arguments before anything is sent
//   build(r, ctx)    writes the request, from the blocks of operations.hpp; ctx carries the host, the token
//                    and the timeout
//   decode(answer)   makes the value of a 2xx answer (classified already: it carries no error)
//   fail(error)      words an error (the call and its subject in `context`), or turns it into a value
// The client core (detail/client_core.hpp) adds the rest: the session, sending, classifying, a 401.
// A descriptor holds its arguments by value: an executor may run the call after the caller's frame is gone.

/// Create a key named `name`: POST /auth/api_keys. Its answer is the only one that holds the key's value.
struct create_key {
  using value_type = api_key;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  std::string name;

  std::optional<api_error> check() const { return validate_key_name(name); }
  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    if (auto refused = refuse_non_utf8(name, "the API key name")) return refused;
    start_request(request, http_method::post, ctx, keys_path);
    request.body.push_back('{');
    apikeys::detail::append_json_member(request.body, "name", name);
    request.body.push_back('}');
    return std::nullopt;
  }
  result<api_key> decode(http_response& response) const {
    auto key = decode_created_key(response);
    apikeys::detail::wipe(response);
    if (!key) {
      // The server said 201: the key exists, but its value, shown only in this answer, is lost.
      api_error error = std::move(key).error();
      error.outcome_unknown = true;
      return fail(std::move(error));
    }
    // An answer about another key (a proxy's stale or crossed answer) would hand the caller a value for a
    // key they did not ask for, while the one they asked for may exist with its value lost.
    if (key->name != name) {
      api_error error = apikeys::detail::bad_response("the answer names another key", response.status);
      error.outcome_unknown = true;
      return fail(std::move(error));
    }
    return key;
  }
  result<api_key> fail(api_error error) const {
    return unexpected{apikeys::detail::in_context(std::move(error), "create API key", name)};
  }
};

/// The key with this id: GET /auth/api_keys/{id}. A key the user does not have is an empty optional.
struct fetch_key {
  using value_type = std::optional<api_key>;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  object_id id;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_key_request(request, http_method::get, ctx, id, "");
    return std::nullopt;
  }
  result<value_type> decode(http_response& response) const {
    auto key = decode_key(response);
    if (!key) return fail(std::move(key).error());
    if (key->id != id) return fail(apikeys::detail::bad_response("the answer is about another key", response.status));
    return value_type{std::move(*key)};
  }
  result<value_type> fail(api_error error) const {
    if (error.code == errc::api_key_not_found) return value_type{};
    return unexpected{apikeys::detail::in_context(std::move(error), "fetch API key", id)};
  }
};

/// Every key of the user, in creation order, without values: GET /auth/api_keys.
struct fetch_keys {
  using value_type = std::vector<api_key>;
  static constexpr prerequisite needs = prerequisite::refresh_token;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_request(request, http_method::get, ctx, keys_path);
    return std::nullopt;
  }
  result<value_type> decode(http_response& response) const {
    auto keys = decode_key_list(response);
    if (!keys) return fail(std::move(keys).error());
    return keys;
  }
  result<value_type> fail(api_error error) const {
    return unexpected{apikeys::detail::in_context(std::move(error), "fetch all API keys")};
  }
};

/// Enable or disable a key: PUT /auth/api_keys/{id}/enable or /disable. Enabling an enabled key (or
/// disabling a disabled one) succeeds; a missing key fails. A disabled key's logins are refused until it is
/// enabled again. One descriptor for both, so that `on ? c.enable(id) : c.disable(id)` has one type.
struct toggle_key {
  using value_type = void;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  object_id id;
  bool enable = true;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_key_request(request, http_method::put, ctx, id, enable ? "/enable" : "/disable");
    return std::nullopt;
  }
  result<void> decode(http_response&) const { return {}; }
  result<void> fail(api_error error) const {
    return unexpected{apikeys::detail::in_context(std::move(error), enable ? "enable API key" : "disable API key", id)};
  }
};

/// Delete a key: DELETE /auth/api_keys/{id}. Deleting a key that does not exist succeeds.
struct delete_key {
  using value_type = void;
  static constexpr prerequisite needs = prerequisite::refresh_token;
  object_id id;

  std::optional<api_error> build(http_request& request, const request_context& ctx) const {
    start_key_request(request, http_method::delete_, ctx, id, "");
    return std::nullopt;
  }
  result<void> decode(http_response&) const { return {}; }
  result<void> fail(api_error error) const {
    if (error.code == errc::api_key_not_found) return {};
    return unexpected{apikeys::detail::in_context(std::move(error), "delete API key", id)};
  }
};

}  // namespace apikeys::ops

#endif  // APIKEYS_OPERATIONS_KEYS_HPP
