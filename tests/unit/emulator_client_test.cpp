// apikeys tests: the clients against the in-process emulator: the seed's story, section 5 by row, sessions, location.
#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/emulator_config.hpp"
#include "support/names.hpp"
#include "support/settle.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::testing::emulator;
using namespace apikeys::literals;
namespace ops = apikeys::ops;

using app_type = apikeys::basic_app_client<emulator&>;
using keys_type = apikeys::basic_api_key_client<emulator&, apikeys::inline_executor, apikeys::return_result>;

constexpr std::chrono::milliseconds timeout{5000};
// Never issued by any emulator in these tests: the emulator's ids start with the current time in seconds.
constexpr object_id never_issued = "000000000000000000000001"_oid;
constexpr std::string_view name_rule = "can only contain ASCII letters, numbers, underscores, and hyphens";
constexpr std::string_view client_name_rule =
    "an API key name can only contain ASCII letters, numbers, underscores, and hyphens";

using apikeys_tests::config_for;

bool is_alnum(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

// A call under either policy, as a result: throw_on_error's api_exception becomes the result's error, so
// one story checks both policies through their real code paths.
using apikeys_tests::settle;

template <class R>
std::optional<api_error> error_in(const R& r) {
  if (r) return std::nullopt;
  return r.error();
}

std::string link_prefix(const emulator& emu) {
  return emu.hostname() + "/groups/emulator/apps/" + emu.app_id() + "/logs?co_id=";
}

// A service error as the client hands it over: typed code, status, raw wire name, message, and the link.
void check_error(const std::optional<api_error>& error, const emulator& emu, errc code, int status,
                 std::string_view server_code, std::string_view message) {
  REQUIRE(error.has_value());
  INFO("error: ", *error);
  CHECK(error->code == code);
  CHECK(error->http_status == status);
  CHECK(error->server_code == server_code);
  CHECK(error->message == message);
  CHECK_FALSE(error->link.empty());
  CHECK(error->link.rfind(link_prefix(emu), 0) == 0);
  CHECK(error->link.size() == link_prefix(emu).size() + 24);
}

// InvalidSession: the server's answer to a dead, forged or misplaced token.
void check_invalid_session(const std::optional<api_error>& error, const emulator& emu) {
  check_error(error, emu, errc::invalid_session, 401, "InvalidSession", "invalid session");
}

// A refusal made by the client itself: nothing was sent, so no status, wire name or link.
void check_client_error(const std::optional<api_error>& error, errc code, std::string_view message) {
  REQUIRE(error.has_value());
  INFO("error: ", *error);
  CHECK(error->code == code);
  CHECK(error->http_status == 0);
  CHECK(error->server_code.empty());
  CHECK(error->message == message);
  CHECK(error->link.empty());
}

// The server's own answer to a request sent past the client, read with the client's classifier.
std::optional<api_error> raw_error(emulator& emu, const http_request& request) {
  const http_response response = emu.send(request);
  auto error = apikeys::classify_response(response);
  if (!error) FAIL_CHECK("the server accepted it: HTTP ", response.status);
  return error;
}

ops::request_context context_of(const session& user, std::string_view token) { return {user.host(), token, timeout}; }

void set_authorization(http_request& request, std::optional<std::string> value) {
  auto& headers = request.headers;
  headers.erase(
      std::remove_if(headers.begin(), headers.end(),
                     [](const apikeys::http_header& h) { return apikeys::detail::iequals(h.name, "Authorization"); }),
      headers.end());
  if (value) headers.push_back({"Authorization", std::move(*value)});
}

// The six key requests, built by the operations exactly as the client builds them.
std::vector<std::pair<std::string, http_request>> six_requests(const ops::request_context& ctx, const object_id& id) {
  std::vector<std::pair<std::string, http_request>> out(6);
  out[0].first = "create";
  CHECK_FALSE(ops::create_key{std::string{"rawKey"}}.build(out[0].second, ctx).has_value());
  out[1].first = "fetch";
  ops::fetch_key{id}.build(out[1].second, ctx);
  out[2].first = "fetch all";
  ops::fetch_keys{}.build(out[2].second, ctx);
  out[3].first = "enable";
  ops::toggle_key{id, true}.build(out[3].second, ctx);
  out[4].first = "disable";
  ops::toggle_key{id, false}.build(out[4].second, ctx);
  out[5].first = "delete";
  ops::delete_key{id}.build(out[5].second, ctx);
  return out;
}

// Each of the six key requests, made with `token`, is refused with InvalidSession.
void check_six_refused(emulator& emu, const session& user, std::string_view token, const object_id& id) {
  for (auto& entry : six_requests(context_of(user, token), id)) {
    const std::string& op = entry.first;
    CAPTURE(op);
    check_invalid_session(raw_error(emu, entry.second), emu);
  }
}

// The six key calls through a client, each reduced to its error (if any).
struct key_call {
  std::string_view name;
  std::function<std::optional<api_error>(keys_type&, const object_id&)> run;
};
std::vector<key_call> six_calls() {
  return {
      {"create", [](keys_type& k, const object_id&) { return error_in(k.create("sixCallsKey")); }},
      {"fetch", [](keys_type& k, const object_id& id) { return error_in(k.fetch(id)); }},
      {"fetch all", [](keys_type& k, const object_id&) { return error_in(k.fetch_all()); }},
      {"enable", [](keys_type& k, const object_id& id) { return error_in(k.enable(id)); }},
      {"disable", [](keys_type& k, const object_id& id) { return error_in(k.disable(id)); }},
      {"delete", [](keys_type& k, const object_id& id) { return error_in(k.remove(id)); }},
  };
}

// One emulator, one app client over it, and helpers for users and their key clients.
struct world {
  emulator emu;
  app_type app{emu, config_for(emu)};

  std::shared_ptr<session> user(const std::string& email) {
    emu.add_user(email, "pw of " + email);
    auto logged_in = app.log_in(credentials::email_password(email, "pw of " + email));
    REQUIRE(logged_in);
    REQUIRE(logged_in->logged_in());
    return logged_in;
  }
  keys_type keys(const std::shared_ptr<session>& of) { return app.api_keys<apikeys::return_result>(of); }
  api_key create(keys_type& client, std::string_view name) {
    auto created = client.create(name);
    if (!created) FAIL("create ", name, " failed: ", created.error());
    return std::move(*created);
  }
};

// Passes every request on to the emulator after letting the test change it, so a client can be made to
// send what it never would and still read the answer itself.
struct rewriting_transport {
  emulator& emu;
  std::function<void(http_request&)> rewrite;

  http_response send(const http_request& request) {
    http_request sent = request;
    if (rewrite) rewrite(sent);
    return emu.send(sent);
  }
};

// Counts what passes through to the emulator: location calls, and every URL with whether it had headers.
struct counting_transport {
  explicit counting_transport(emulator& to) : emu(to) {}

  emulator& emu;
  std::atomic<std::size_t> locations{0};
  std::mutex mutex;
  std::vector<std::pair<std::string, bool>> sent;  // url, had headers

  http_response send(const http_request& request) {
    if (request.url.ends_with("/location")) locations.fetch_add(1);
    {
      const std::lock_guard lock(mutex);
      sent.emplace_back(request.url, !request.headers.empty());
    }
    return emu.send(request);
  }
};

}  // namespace

// --- the seed's story -------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE("the seed's story through the client, under each error policy", Policy, apikeys::throw_on_error,
                   apikeys::return_result) {
  emulator emu;
  app_type app{emu, config_for(emu)};
  const std::string owner_id = emu.add_user("seed@example.com", "seed password");

  // A user registered through the client can log in at once, and the same email cannot register twice.
  REQUIRE(settle([&] { return app.register_user("registered@example.com", "another password"); }));
  const auto registered_id = emu.user_id("registered@example.com");
  REQUIRE(registered_id.has_value());
  const auto again = settle([&] { return app.register_user("registered@example.com", "x"); });
  check_error(error_in(again), emu, errc::server_error, 409, "AccountNameInUse", "name already in use");
  auto registered = app.log_in(credentials::email_password("registered@example.com", "another password"));
  CHECK(registered->user_id() == *registered_id);

  auto user = app.log_in(credentials::email_password("seed@example.com", "seed password"));
  REQUIRE(user);
  CHECK(user->user_id() == owner_id);
  CHECK(user->provider() == "local-userpass");
  CHECK(user->host() == emu.hostname());
  CHECK(user->logged_in());
  auto keys = app.api_keys<Policy>(user);

  // Create: the only answer that carries the secret.
  auto created = settle([&] { return keys.create("someKeyName"); });
  REQUIRE(created);
  CHECK(created->name == "someKeyName");
  CHECK(created->enabled);
  REQUIRE(created->value.has_value());
  const secret key_value = *created->value;
  CHECK(key_value.size() == 64);
  CHECK(is_alnum(key_value.reveal()));
  const object_id id = created->id;
  CHECK(emu.key_count(owner_id) == 1);

  // Fetch by id: the same key, without its value.
  auto fetched = settle([&] { return keys.fetch(id); });
  REQUIRE(fetched);
  REQUIRE(fetched->has_value());
  CHECK((*fetched)->id == id);
  CHECK((*fetched)->name == "someKeyName");
  CHECK((*fetched)->enabled);
  CHECK_FALSE((*fetched)->value.has_value());

  // Fetch all: every key, in creation order, without values.
  const auto second = settle([&] { return keys.create("second_key"); });
  const auto third = settle([&] { return keys.create("third-key-3"); });
  REQUIRE(second);
  REQUIRE(third);
  CHECK(second->value->reveal() != key_value.reveal());
  auto all = settle([&] { return keys.fetch_all(); });
  REQUIRE(all);
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].id == id);
  CHECK((*all)[1].id == second->id);
  CHECK((*all)[2].id == third->id);
  CHECK((*all)[0].name == "someKeyName");
  CHECK((*all)[1].name == "second_key");
  CHECK((*all)[2].name == "third-key-3");
  for (const api_key& k : *all) {
    CHECK(k.enabled);
    CHECK_FALSE(k.value.has_value());
  }

  // Disable: fetch shows it, and the key no longer logs anyone in.
  REQUIRE(settle([&] { return keys.disable(id); }));
  fetched = settle([&] { return keys.fetch(id); });
  REQUIRE(fetched);
  REQUIRE(fetched->has_value());
  CHECK_FALSE((*fetched)->enabled);
  all = settle([&] { return keys.fetch_all(); });
  REQUIRE(all);
  REQUIRE(all->size() == 3);
  CHECK_FALSE((*all)[0].enabled);
  CHECK((*all)[1].enabled);
  CHECK((*all)[2].enabled);
  const auto refused = settle([&] { return app.log_in(credentials::api_key(key_value)); });
  check_error(error_in(refused), emu, errc::auth_error, 401, "AuthError", "unauthorized");
  CHECK(refused.error().context == "log in");

  // Enable: it logs in again, as its owner.
  REQUIRE(settle([&] { return keys.enable(id); }));
  fetched = settle([&] { return keys.fetch(id); });
  REQUIRE(fetched);
  REQUIRE(fetched->has_value());
  CHECK((*fetched)->enabled);
  auto key_login = settle([&] { return app.log_in(credentials::api_key(key_value)); });
  REQUIRE(key_login);
  CHECK((*key_login)->user_id() == owner_id);
  CHECK((*key_login)->provider() == "api-key");

  // Another app client, a device of its own, logs in with the key as the key's owner and sees the owner's keys.
  app_type device_app{emu, config_for(emu)};
  auto device = settle([&] { return device_app.log_in(credentials::api_key(key_value.reveal())); });
  REQUIRE(device);
  CHECK((*device)->user_id() == owner_id);
  CHECK((*device)->user_id() == user->user_id());
  CHECK((*device)->provider() == "api-key");
  CHECK((*device)->device_id() != user->device_id());
  auto device_keys = device_app.api_keys<Policy>(*device);
  const auto seen_by_device = settle([&] { return device_keys.fetch_all(); });
  REQUIRE(seen_by_device);
  REQUIRE(seen_by_device->size() == 3);
  CHECK((*seen_by_device)[0].id == id);

  // Delete, from the owner's session.
  REQUIRE(settle([&] { return keys.remove(id); }));
  CHECK(emu.key_count(owner_id) == 2);
  fetched = settle([&] { return keys.fetch(id); });
  REQUIRE(fetched);
  CHECK_FALSE(fetched->has_value());
  CHECK(settle([&] { return keys.remove(id); }));  // deleting it again succeeds
  const auto enable_gone = settle([&] { return keys.enable(id); });
  check_error(error_in(enable_gone), emu, errc::api_key_not_found, 404, "APIKeyNotFound", "API key not found");
  CHECK(enable_gone.error().context == "enable API key " + id.to_string());
  const auto disable_gone = settle([&] { return keys.disable(id); });
  check_error(error_in(disable_gone), emu, errc::api_key_not_found, 404, "APIKeyNotFound", "API key not found");
  CHECK(disable_gone.error().context == "disable API key " + id.to_string());
  const auto after_delete = settle([&] { return app.log_in(credentials::api_key(key_value)); });
  check_error(error_in(after_delete), emu, errc::auth_error, 401, "AuthError", "unauthorized");
  all = settle([&] { return keys.fetch_all(); });
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == second->id);
  CHECK((*all)[1].id == third->id);
  CHECK(user->logged_in());  // a 404 does not end a session

  // Key names belong to their user: the registered user may use the same name.
  auto registered_keys = app.api_keys<Policy>(registered);
  const auto same_name = settle([&] { return registered_keys.create("someKeyName"); });
  REQUIRE(same_name);
  CHECK(same_name->id != id);
  CHECK(emu.key_count(*registered_id) == 1);
  CHECK(emu.key_count(owner_id) == 2);
}

// --- docs/protocol.md section 5, one row at a time -------------------------------------------------------------

TEST_CASE("section 5: a key that does not exist or is another user's (404 APIKeyNotFound), the owner unaffected") {
  world w;
  const auto alice = w.user("alice@example.com");
  const auto bob = w.user("bob@example.com");
  auto alice_keys = w.keys(alice);
  auto bob_keys = w.keys(bob);
  const api_key enabled_key = w.create(alice_keys, "alicesKey");
  const api_key disabled_key = w.create(alice_keys, "alicesDisabledKey");
  REQUIRE(alice_keys.disable(disabled_key.id));

  for (const object_id& id : {enabled_key.id, disabled_key.id, never_issued}) {
    CAPTURE(id);
    const auto fetched = bob_keys.fetch(id);  // the client's answer: no such key
    REQUIRE(fetched);
    CHECK_FALSE(fetched->has_value());
    check_error(error_in(bob_keys.enable(id)), w.emu, errc::api_key_not_found, 404, "APIKeyNotFound",
                "API key not found");
    check_error(error_in(bob_keys.disable(id)), w.emu, errc::api_key_not_found, 404, "APIKeyNotFound",
                "API key not found");
    CHECK(bob_keys.remove(id));  // deleting a missing key succeeds as a no-op

    // What the server said to the fetch and the delete that the client turned into "no key" and success.
    const secret token = bob->refresh_token();
    http_request request;
    ops::fetch_key{id}.build(request, context_of(*bob, token.reveal()));
    check_error(raw_error(w.emu, request), w.emu, errc::api_key_not_found, 404, "APIKeyNotFound", "API key not found");
    ops::delete_key{id}.build(request, context_of(*bob, token.reveal()));
    check_error(raw_error(w.emu, request), w.emu, errc::api_key_not_found, 404, "APIKeyNotFound", "API key not found");
  }
  CHECK(bob->logged_in());

  // Alice's keys are exactly as they were: present, flags unchanged, the enabled one still logs in.
  const auto all = alice_keys.fetch_all();
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == enabled_key.id);
  CHECK((*all)[0].enabled);
  CHECK((*all)[1].id == disabled_key.id);
  CHECK_FALSE((*all)[1].enabled);
  const auto key_login = w.app.log_in(credentials::api_key(*enabled_key.value));
  CHECK(key_login->user_id() == alice->user_id());
}

TEST_CASE(
    "section 5: a name outside [A-Za-z0-9_-]: the client refuses it unsent, the server answers 400 InvalidParameter") {
  world w;
  const auto user = w.user("names@example.com");
  auto keys = w.keys(user);
  const secret token = user->refresh_token();

  rewriting_transport rewriter{w.emu, {}};
  apikeys::basic_app_client<rewriting_transport&, apikeys::inline_executor, apikeys::return_result> rewriting_app{
      rewriter, config_for(w.emu)};
  const auto rewritten_user =
      rewriting_app.log_in(credentials::email_password("names@example.com", "pw of names@example.com"));
  REQUIRE(rewritten_user);
  auto rewritten_keys = rewriting_app.api_keys(*rewritten_user);

  for (const std::string_view name :
       {std::string_view{"bad name"}, std::string_view{"100%"}, std::string_view{"caf\xc3\xa9"},
        std::string_view{"a/b"}, std::string_view{"dot.ted"}}) {
    CAPTURE(name);
    // The client: refused before sending.
    const std::size_t before = w.emu.request_count();
    const auto refused = keys.create(name);
    check_client_error(error_in(refused), errc::invalid_argument, client_name_rule);
    CHECK(w.emu.request_count() == before);

    // The server, sent the same name past the client.
    http_request request;
    REQUIRE_FALSE(ops::create_key{std::string{name}}.build(request, context_of(*user, token.reveal())).has_value());
    check_error(raw_error(w.emu, request), w.emu, errc::invalid_parameter, 400, "InvalidParameter", name_rule);

    // The server's answer read by the client: it sends a valid name that the transport swaps for the bad one.
    rewriter.rewrite = [name](http_request& r) {
      if (r.method == http_method::post && r.url.ends_with("/auth/api_keys"))
        r.body = "{\"name\":\"" + std::string{name} + "\"}";
    };
    const auto answered = rewritten_keys.create("placeholder");
    check_error(error_in(answered), w.emu, errc::invalid_parameter, 400, "InvalidParameter", name_rule);
    CHECK(answered.error().context == "create API key \"placeholder\"");
    CHECK((*rewritten_user)->logged_in());
  }
  CHECK(w.emu.key_count(user->user_id()) == 0);
}

TEST_CASE(
    "section 5: an empty or missing name: the client refuses it unsent, the server answers 400 with no error_code") {
  world w;
  const auto user = w.user("empty@example.com");
  auto keys = w.keys(user);
  const std::size_t before = w.emu.request_count();
  check_client_error(error_in(keys.create("")), errc::invalid_argument, "an API key name must not be empty");
  CHECK(w.emu.request_count() == before);

  const secret token = user->refresh_token();
  http_request request;
  REQUIRE_FALSE(ops::create_key{std::string{""}}.build(request, context_of(*user, token.reveal())).has_value());
  CHECK(request.body == R"({"name":""})");
  check_error(raw_error(w.emu, request), w.emu, errc::unknown_service_error, 400, "", "'name' is a required string");
  for (const std::string_view body : {std::string_view{"{}"}, std::string_view{R"({"name":5})"},
                                      std::string_view{R"({"name":null})"}, std::string_view{R"({"Name":"x"})"}}) {
    CAPTURE(body);
    request.body.assign(body);
    check_error(raw_error(w.emu, request), w.emu, errc::unknown_service_error, 400, "", "'name' is a required string");
  }
  CHECK(w.emu.key_count(user->user_id()) == 0);
}

TEST_CASE("section 5: a name this user already uses (409 APIKeyAlreadyExists); another user may use it") {
  world w;
  const auto alice = w.user("dup-alice@example.com");
  const auto bob = w.user("dup-bob@example.com");
  auto alice_keys = w.keys(alice);
  auto bob_keys = w.keys(bob);
  const api_key first = w.create(alice_keys, "dup");

  const auto second = alice_keys.create("dup");
  check_error(error_in(second), w.emu, errc::api_key_already_exists, 409, "APIKeyAlreadyExists",
              "API key with name already exists");
  CHECK(second.error().context == "create API key \"dup\"");
  CHECK(alice->logged_in());
  const auto all = alice_keys.fetch_all();
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].id == first.id);

  CHECK(bob_keys.create("dup"));  // names are per user

  // Once the key is gone its name is free again.
  REQUIRE(alice_keys.remove(first.id));
  const api_key reborn = w.create(alice_keys, "dup");
  CHECK(reborn.id != first.id);
}

TEST_CASE("section 5: a 21st key (400 InvalidParameter \"user may only have 20 API keys\")") {
  world w;
  const auto user = w.user("limit@example.com");
  auto keys = w.keys(user);
  std::vector<object_id> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(w.create(keys, "key" + std::to_string(i)).id);

  const auto twenty_first = keys.create("key20");
  check_error(error_in(twenty_first), w.emu, errc::invalid_parameter, 400, "InvalidParameter",
              "user may only have 20 API keys");
  CHECK(twenty_first.error().context == "create API key \"key20\"");
  CHECK(w.emu.key_count(user->user_id()) == 20);
  const auto all = keys.fetch_all();
  REQUIRE(all);
  REQUIRE(all->size() == 20);
  for (std::size_t i = 0; i < ids.size(); ++i) CHECK((*all)[i].id == ids[i]);

  // When several rows apply, a duplicate name (409) and a bad name (name rules) win over the limit.
  check_error(error_in(keys.create("key7")), w.emu, errc::api_key_already_exists, 409, "APIKeyAlreadyExists",
              "API key with name already exists");
  const secret token = user->refresh_token();
  http_request request;
  REQUIRE_FALSE(ops::create_key{std::string{"bad name"}}.build(request, context_of(*user, token.reveal())).has_value());
  check_error(raw_error(w.emu, request), w.emu, errc::invalid_parameter, 400, "InvalidParameter", name_rule);

  // Deleting one makes room for one.
  REQUIRE(keys.remove(ids[3]));
  CHECK(keys.create("key20"));
  check_error(error_in(keys.create("key21")), w.emu, errc::invalid_parameter, 400, "InvalidParameter",
              "user may only have 20 API keys");
  CHECK(w.emu.key_count(user->user_id()) == 20);
}

TEST_CASE("section 5: every key call by an anonymous user (403 AuthError)") {
  world w;
  const auto owner = w.user("owner@example.com");
  auto owner_keys = w.keys(owner);
  const api_key owners_key = w.create(owner_keys, "ownersKey");

  auto anonymous = w.app.log_in(credentials::anonymous());
  REQUIRE(anonymous);
  CHECK(anonymous->provider() == "anon-user");
  auto keys = w.keys(anonymous);
  for (const object_id& id : {owners_key.id, never_issued}) {
    for (const key_call& call : six_calls()) {
      CAPTURE(call.name);
      CAPTURE(id);
      const std::size_t before = w.emu.request_count();
      // fetch does not become "no key" and delete does not become success: a 403 is not a 404.
      check_error(call.run(keys, id), w.emu, errc::auth_error, 403, "AuthError", "anonymous users cannot use API keys");
      CHECK(w.emu.request_count() == before + 1);
      CHECK(anonymous->logged_in());
    }
  }
  // Anonymous comes before an unreadable body.
  const secret token = anonymous->refresh_token();
  http_request request;
  REQUIRE_FALSE(ops::create_key{std::string{"x"}}.build(request, context_of(*anonymous, token.reveal())).has_value());
  request.body = "not json";
  check_error(raw_error(w.emu, request), w.emu, errc::auth_error, 403, "AuthError",
              "anonymous users cannot use API keys");

  const auto still = owner_keys.fetch(owners_key.id);
  REQUIRE(still);
  CHECK(still->has_value());
}

TEST_CASE("section 5: deleting the key whose login made the calling session (403 AuthError)") {
  world w;
  const auto owner = w.user("in-use@example.com");
  auto owner_keys = w.keys(owner);
  const api_key in_use = w.create(owner_keys, "inUse");
  const api_key other = w.create(owner_keys, "other");

  const auto key_session = w.app.log_in(credentials::api_key(*in_use.value));
  REQUIRE(key_session);
  CHECK(key_session->user_id() == owner->user_id());
  auto key_keys = w.keys(key_session);
  const auto refused = key_keys.remove(in_use.id);
  check_error(error_in(refused), w.emu, errc::auth_error, 403, "AuthError", "cannot delete the API key in use");
  CHECK(refused.error().context == "delete API key " + in_use.id.to_string());
  CHECK(key_session->logged_in());
  const auto still = owner_keys.fetch(in_use.id);
  REQUIRE(still);
  CHECK(still->has_value());

  // That session may manage its owner's other keys, and the owner may delete the key in use.
  CHECK(key_keys.disable(in_use.id));
  CHECK(key_keys.enable(in_use.id));
  CHECK(key_keys.remove(other.id));
  CHECK(owner_keys.remove(in_use.id));
  CHECK(w.emu.key_count(owner->user_id()) == 0);
}

TEST_CASE("section 5: no Authorization header, an empty bearer, a malformed token (401)") {
  world w;
  const auto user = w.user("headers@example.com");
  auto keys = w.keys(user);
  const api_key key = w.create(keys, "headerKey");
  const secret token = user->refresh_token();

  struct auth_case {
    std::string_view what;
    std::optional<std::string> header;
    errc code;
    std::string_view server_code;
    std::string_view message;
  };
  const std::string_view malformed = "expected Authorization header with JWT (Bearer schema)";
  const std::vector<auth_case> variants = {
      {"no header", std::nullopt, errc::missing_auth_req, "MissingAuthReq", "must authenticate first"},
      {"empty bearer", "Bearer ", errc::unknown_service_error, "", malformed},
      {"bare Bearer", "Bearer", errc::unknown_service_error, "", malformed},
      {"not a JWT", "Bearer not-a-jwt", errc::unknown_service_error, "", malformed},
      {"two parts", "Bearer abc.def", errc::unknown_service_error, "", malformed},
      {"four parts", "Bearer a.b.c.d", errc::unknown_service_error, "", malformed},
      {"not base64url", "Bearer a+b.c$d.e/f", errc::unknown_service_error, "", malformed},
      {"another scheme", "Basic " + std::string{token.reveal()}, errc::unknown_service_error, "", malformed},
  };
  for (const auth_case& v : variants) {
    for (auto& entry : six_requests(context_of(*user, token.reveal()), key.id)) {
      const std::string& op = entry.first;
      http_request& request = entry.second;
      CAPTURE(v.what);
      CAPTURE(op);
      set_authorization(request, v.header);
      check_error(raw_error(w.emu, request), w.emu, v.code, 401, v.server_code, v.message);
    }
  }

  // A well-formed token whose signature fails: InvalidSession.
  std::string forged{token.reveal()};
  const std::size_t signature_at = forged.rfind('.') + 1;
  forged[signature_at] = forged[signature_at] == 'A' ? 'B' : 'A';
  check_six_refused(w.emu, *user, forged, key.id);
  CHECK(w.emu.key_count(user->user_id()) == 1);

  // Through the client: the header goes missing on the way, the 401 comes back typed and ends the session.
  rewriting_transport rewriter{w.emu, {}};
  apikeys::basic_app_client<rewriting_transport&, apikeys::inline_executor, apikeys::return_result> app{
      rewriter, config_for(w.emu)};
  for (const auth_case& v : {variants[0], variants[1]}) {
    CAPTURE(v.what);
    const auto victim = app.log_in(credentials::email_password("headers@example.com", "pw of headers@example.com"));
    REQUIRE(victim);
    auto victim_keys = app.api_keys(*victim);
    rewriter.rewrite = [&v](http_request& r) {
      if (r.url.find("/auth/api_keys") != std::string::npos) set_authorization(r, v.header);
    };
    check_error(error_in(victim_keys.fetch_all()), w.emu, v.code, 401, v.server_code, v.message);
    CHECK_FALSE((*victim)->logged_in());
    rewriter.rewrite = nullptr;
  }
}

TEST_CASE("section 5: a revoked session (401 InvalidSession) ends the session; the next call is refused unsent") {
  world w;
  w.emu.add_user("revoked@example.com", "pw");
  for (const key_call& call : six_calls()) {
    CAPTURE(call.name);
    auto user = w.app.log_in(credentials::email_password("revoked@example.com", "pw"));
    REQUIRE(user);
    auto keys = w.keys(user);
    const api_key key = w.create(keys, std::string{"k"} + std::to_string(w.emu.request_count()));
    w.emu.revoke_sessions(user->user_id());

    check_invalid_session(call.run(keys, key.id), w.emu);
    CHECK_FALSE(user->logged_in());

    const std::size_t before = w.emu.request_count();
    for (const key_call& next : six_calls()) {
      CAPTURE(next.name);
      check_client_error(next.run(keys, key.id), errc::not_logged_in, "the user must be logged in to manage API keys");
    }
    // The app's session calls refuse too; log out of a logged-out session is a quiet success.
    check_client_error(error_in(settle([&] { return w.app.refresh(user); })), errc::not_logged_in,
                       "the user must be logged in");
    check_client_error(error_in(settle([&] { return w.app.profile(user); })), errc::not_logged_in,
                       "the user must be logged in");
    CHECK(settle([&] { return w.app.log_out(user); }));
    CHECK(w.emu.request_count() == before);
  }
}

TEST_CASE("section 5: a revoked session also fails refresh and profile, and a new log in works") {
  world w;
  const auto user = w.user("revoked-app@example.com");
  const auto other =
      w.app.log_in(credentials::email_password("revoked-app@example.com", "pw of revoked-app@example.com"));
  w.emu.revoke_sessions(user->user_id());

  // Profile's 401 is answered by one refresh, whose 401 leaves the session as it was; the caller gets the
  // profile's 401 (section 7, as core).
  const std::size_t before = w.emu.request_count();
  const auto profile = settle([&] { return w.app.profile(user); });
  check_invalid_session(error_in(profile), w.emu);
  CHECK(profile.error().context == "profile");
  CHECK(w.emu.request_count() == before + 2);
  CHECK(user->logged_in());

  const auto refresh = settle([&] { return w.app.refresh(other); });
  check_invalid_session(error_in(refresh), w.emu);
  CHECK(other->logged_in());
  CHECK(w.emu.request_count() == before + 3);

  // A key call is what ends it: its 401, then the revoking DELETE (which the dead token also gets a 401
  // for), then nothing.
  auto other_keys = w.keys(other);
  check_invalid_session(error_in(other_keys.fetch_all()), w.emu);
  CHECK_FALSE(other->logged_in());
  CHECK(w.emu.request_count() == before + 5);

  // Revoking ends the sessions there were, not the user.
  const auto fresh =
      w.app.log_in(credentials::email_password("revoked-app@example.com", "pw of revoked-app@example.com"));
  auto keys = w.keys(fresh);
  CHECK(keys.fetch_all());
  CHECK(fresh->logged_in());
}

// Records what reaches the emulator (method, URL, bearer) and what it answered.
struct recording_transport {
  emulator& emu;
  std::function<void(http_request&)> rewrite{};
  struct exchange {
    http_method method;
    std::string url;
    std::string authorization;
    int status;
  };
  std::vector<exchange> seen{};

  http_response send(const http_request& request) {
    http_request sent = request;
    if (rewrite) rewrite(sent);
    const std::string* authorization = apikeys::find_header(sent.headers, "Authorization");
    http_response answer = emu.send(sent);
    seen.push_back({sent.method, sent.url, authorization ? *authorization : std::string{}, answer.status});
    return answer;
  }
};

TEST_CASE("section 7: a key call's 401 sends the emulator one DELETE /auth/session with the rejected token") {
  emulator emu;
  recording_transport recorder{emu};
  apikeys::basic_app_client<recording_transport&> app{recorder, config_for(emu)};
  emu.add_user("revoking@example.com", "pw");

  SUBCASE("an expired refresh token: the DELETE gets 401 too, and the caller the key call's 401") {
    const auto user = app.log_in(credentials::email_password("revoking@example.com", "pw"));
    const std::string bearer = "Bearer " + std::string{user->refresh_token().reveal()};
    emu.advance_clock(apikeys::testing::emulator_options{}.refresh_token_lifetime + std::chrono::seconds{1});
    auto keys = app.api_keys<apikeys::return_result>(user);
    recorder.seen.clear();
    const auto fetched = keys.fetch_all();
    check_invalid_session(error_in(fetched), emu);
    CHECK(fetched.error().context.starts_with("fetch all API key"));
    CHECK_FALSE(user->logged_in());
    REQUIRE(recorder.seen.size() == 2);
    CHECK(recorder.seen[0].method == http_method::get);
    CHECK(recorder.seen[0].status == 401);
    CHECK(recorder.seen[1].method == http_method::delete_);
    CHECK(recorder.seen[1].url == emu.hostname() + "/api/client/v2.0/auth/session");
    CHECK(recorder.seen[1].authorization == bearer);
    CHECK(recorder.seen[1].status == 401);
  }

  SUBCASE("a 401 the session did not deserve: the DELETE revokes it on the server (204)") {
    const auto user = app.log_in(credentials::email_password("revoking@example.com", "pw"));
    const std::string refresh = std::string{user->refresh_token().reveal()};
    auto keys = app.api_keys<apikeys::return_result>(user);
    // The key call's bearer is mangled on the way (E9), so the server refuses it, not the session.
    recorder.rewrite = [](http_request& r) {
      if (r.method != http_method::post) return;
      for (auto& h : r.headers)
        if (h.name == "Authorization") h.value = "Bearer ";
    };
    recorder.seen.clear();
    const auto created = keys.create("never");
    REQUIRE_FALSE(created.has_value());
    CHECK(created.error().http_status == 401);
    CHECK(created.error().context == "create API key \"never\"");
    recorder.rewrite = nullptr;
    REQUIRE(recorder.seen.size() == 2);
    CHECK(recorder.seen[1].method == http_method::delete_);
    CHECK(recorder.seen[1].authorization == "Bearer " + refresh);
    CHECK(recorder.seen[1].status == 204);
    // The server ended the session: its refresh token no longer refreshes.
    http_request again{http_method::post, emu.hostname() + "/api/client/v2.0/auth/session", {{"Authorization", "Bearer " + refresh}}, {}, {}};
    CHECK(emu.send(again).status == 401);
  }
}

TEST_CASE("section 5: an expired refresh token (401 InvalidSession) ends the session like a revoked one") {
  for (const key_call& call : six_calls()) {
    CAPTURE(call.name);
    world w;
    const auto user = w.user("expired@example.com");
    auto keys = w.keys(user);
    const api_key key = w.create(keys, "expiring");
    w.emu.advance_clock(apikeys::testing::emulator_options{}.refresh_token_lifetime - std::chrono::seconds{60});
    REQUIRE(keys.fetch(key.id));  // a minute before the end the session still works
    w.emu.advance_clock(std::chrono::seconds{61});

    check_invalid_session(call.run(keys, key.id), w.emu);
    CHECK_FALSE(user->logged_in());
    const std::size_t before = w.emu.request_count();
    check_client_error(error_in(keys.fetch_all()), errc::not_logged_in,
                       "the user must be logged in to manage API keys");
    CHECK(w.emu.request_count() == before);
    // The key itself did not expire: a new session made with it works.
    const auto device = w.app.log_in(credentials::api_key(*key.value));
    CHECK(device->user_id() == user->user_id());
  }
}

TEST_CASE("section 5: an access token where a refresh token belongs, and the reverse (401 InvalidSession)") {
  world w;
  const auto user = w.user("swapped@example.com");
  auto keys = w.keys(user);
  const api_key key = w.create(keys, "swapKey");
  const secret access = user->access_token();
  const secret refresh = user->refresh_token();
  REQUIRE(access.reveal() != refresh.reveal());

  // Key calls, refresh and log out take the refresh token.
  check_six_refused(w.emu, *user, access.reveal(), key.id);
  http_request request;
  ops::refresh_session{}.build(request, context_of(*user, access.reveal()));
  check_invalid_session(raw_error(w.emu, request), w.emu);
  ops::log_out{}.build(request, context_of(*user, access.reveal()));
  check_invalid_session(raw_error(w.emu, request), w.emu);
  // Profile takes the access token.
  ops::fetch_profile{}.build(request, context_of(*user, refresh.reveal()));
  check_invalid_session(raw_error(w.emu, request), w.emu);

  // None of that hurt the session: the right tokens still work.
  CHECK(user->logged_in());
  CHECK(keys.fetch(key.id));
  CHECK(w.app.profile(user).user_id == user->user_id());

  // Through the client: a transport that swaps in the access token gets the 401, which ends the session.
  rewriting_transport rewriter{w.emu, {}};
  apikeys::basic_app_client<rewriting_transport&, apikeys::inline_executor, apikeys::return_result> app{
      rewriter, config_for(w.emu)};
  const auto victim = app.log_in(credentials::email_password("swapped@example.com", "pw of swapped@example.com"));
  REQUIRE(victim);
  const secret victim_access = (*victim)->access_token();
  rewriter.rewrite = [&victim_access](http_request& r) {
    if (r.url.find("/auth/api_keys") != std::string::npos)
      set_authorization(r, "Bearer " + std::string{victim_access.reveal()});
  };
  auto victim_keys = app.api_keys(*victim);
  const auto swapped = victim_keys.enable(key.id);
  check_invalid_session(error_in(swapped), w.emu);
  CHECK(swapped.error().context == "enable API key " + key.id.to_string());
  CHECK_FALSE((*victim)->logged_in());
}

TEST_CASE("section 5: a key id in the path that is not 24 hex digits (404 APIKeyNotFound)") {
  world w;
  const auto user = w.user("ids@example.com");
  auto keys = w.keys(user);
  const api_key key = w.create(keys, "idKey");
  const std::string good = key.id.to_string();
  const secret token = user->refresh_token();

  const std::vector<std::string> bad_ids = {good.substr(0, 23), good + "0", "not-an-object-id-at-all!",
                                            "zzzzzzzzzzzzzzzzzzzzzzzz", "%35e5e6f0abe4ae2a2c2c2d32"};
  for (const std::string& bad : bad_ids) {
    auto requests = six_requests(context_of(*user, token.reveal()), key.id);
    for (auto& entry : requests) {
      const std::string& op = entry.first;
      http_request& request = entry.second;
      if (op == "create" || op == "fetch all") continue;
      CAPTURE(op);
      CAPTURE(bad);
      const std::size_t at = request.url.find(good);
      REQUIRE(at != std::string::npos);
      request.url.replace(at, good.size(), bad);
      check_error(raw_error(w.emu, request), w.emu, errc::api_key_not_found, 404, "APIKeyNotFound",
                  "API key not found");
    }
  }
  const auto still = keys.fetch(key.id);
  REQUIRE(still);
  REQUIRE(still->has_value());
  CHECK((*still)->enabled);
}

TEST_CASE("section 5: a request body that is not JSON, or not an object (400 BadRequest)") {
  world w;
  const auto user = w.user("bodies@example.com");
  const secret token = user->refresh_token();
  const std::vector<std::string> bodies = {"",
                                           "not json",
                                           "[]",
                                           R"(["name"])",
                                           R"("name")",
                                           "42",
                                           "null",
                                           R"({"name":"ok"} trailing)",
                                           R"({"name":"ok")",
                                           R"({"name":"ok"}{})"};
  for (const std::string& body : bodies) {
    CAPTURE(body);
    http_request request;
    REQUIRE_FALSE(ops::create_key{std::string{"ok"}}.build(request, context_of(*user, token.reveal())).has_value());
    request.body = body;
    check_error(raw_error(w.emu, request), w.emu, errc::bad_request, 400, "BadRequest", "invalid request body");
  }
  CHECK(w.emu.key_count(user->user_id()) == 0);

  // Read by the client: the transport replaces the body the client wrote.
  rewriting_transport rewriter{w.emu, {}};
  apikeys::basic_app_client<rewriting_transport&, apikeys::inline_executor, apikeys::return_result> app{
      rewriter, config_for(w.emu)};
  const auto again = app.log_in(credentials::email_password("bodies@example.com", "pw of bodies@example.com"));
  REQUIRE(again);
  rewriter.rewrite = [](http_request& r) {
    if (r.method == http_method::post && r.url.ends_with("/auth/api_keys")) r.body = "[]";
  };
  auto keys = app.api_keys(*again);
  const auto refused = keys.create("placeholder");
  check_error(error_in(refused), w.emu, errc::bad_request, 400, "BadRequest", "invalid request body");
  CHECK(refused.error().context == "create API key \"placeholder\"");
  CHECK((*again)->logged_in());
  CHECK(w.emu.key_count(user->user_id()) == 0);
}

TEST_CASE("section 5: logging in with a disabled, deleted or unknown key (401 AuthError \"unauthorized\")") {
  world w;
  const auto user = w.user("logins@example.com");
  auto keys = w.keys(user);
  const api_key disabled = w.create(keys, "disabledKey");
  const api_key deleted = w.create(keys, "deletedKey");
  const api_key kept = w.create(keys, "keptKey");
  REQUIRE(keys.disable(disabled.id));
  REQUIRE(keys.remove(deleted.id));

  apikeys::basic_app_client<emulator&, apikeys::inline_executor, apikeys::return_result> app{w.emu, config_for(w.emu)};
  const std::string unknown(64, 'Q');
  std::string near_miss{kept.value->reveal()};
  near_miss.back() = near_miss.back() == 'a' ? 'b' : 'a';
  for (const std::string_view value : {disabled.value->reveal(), deleted.value->reveal(), std::string_view{unknown},
                                       std::string_view{near_miss}, std::string_view{}}) {
    const auto login = app.log_in(credentials::api_key(value));
    check_error(error_in(login), w.emu, errc::auth_error, 401, "AuthError", "unauthorized");
    CHECK(login.error().context == "log in");
  }
  const auto ok = app.log_in(credentials::api_key(*kept.value));
  REQUIRE(ok);
  CHECK((*ok)->user_id() == user->user_id());
  // A failed log in ends nobody's session.
  CHECK(user->logged_in());
}

TEST_CASE("section 5: enabling an enabled key and disabling a disabled key succeed and change nothing") {
  world w;
  const auto user = w.user("noop@example.com");
  auto keys = w.keys(user);
  const api_key key = w.create(keys, "noopKey");

  const auto enabled_of = [&] {
    const auto fetched = keys.fetch(key.id);
    REQUIRE(fetched);
    REQUIRE(fetched->has_value());
    return (*fetched)->enabled;
  };
  std::size_t before = w.emu.request_count();
  CHECK(keys.enable(key.id));
  CHECK(keys.enable(key.id));
  CHECK(w.emu.request_count() == before + 2);  // each was asked of the server
  CHECK(enabled_of());
  CHECK(keys.disable(key.id));
  before = w.emu.request_count();
  CHECK(keys.disable(key.id));
  CHECK(keys.disable(key.id));
  CHECK(w.emu.request_count() == before + 2);
  CHECK_FALSE(enabled_of());
  CHECK(keys.enable(key.id));
  CHECK(enabled_of());
}

// --- sessions (section 7) ---------------------------------------------------------------------------------

TEST_CASE("refresh replaces the access token; the profile works with the new one") {
  world w;
  const auto user = w.user("refresh@example.com");
  const secret old_access = user->access_token();
  const secret old_refresh = user->refresh_token();
  const std::size_t before = w.emu.request_count();
  w.app.refresh(user);
  CHECK(w.emu.request_count() == before + 1);
  CHECK(user->access_token().reveal() != old_access.reveal());
  CHECK(user->refresh_token().reveal() == old_refresh.reveal());

  const apikeys::user_profile profile = w.app.profile(user);
  CHECK(w.emu.request_count() == before + 2);  // no retry was needed
  CHECK(profile.user_id == user->user_id());
  CHECK(profile.type == "normal");
  REQUIRE(profile.identities.size() == 1);
  CHECK(profile.identities[0].provider_type == "local-userpass");
  CHECK(profile.data == R"({"email":"refresh@example.com"})");
  // The old access token still belongs to a live session, so it still works too.
  http_request request;
  ops::fetch_profile{}.build(request, context_of(*user, old_access.reveal()));
  CHECK(w.emu.send(request).status == 200);
}

TEST_CASE("an expired access token makes profile refresh once and retry, successfully") {
  world w;
  const auto user = w.user("profile@example.com");
  const secret old_access = user->access_token();
  w.emu.advance_clock(apikeys::testing::emulator_options{}.access_token_lifetime + std::chrono::seconds{1});

  const std::size_t before = w.emu.request_count();
  const apikeys::user_profile profile = w.app.profile(user);
  CHECK(w.emu.request_count() == before + 3);  // profile (401), refresh, profile again
  CHECK(profile.user_id == user->user_id());
  CHECK(user->logged_in());
  CHECK(user->access_token().reveal() != old_access.reveal());
  // The retry left a fresh token behind: the next profile takes one request.
  CHECK(w.app.profile(user).user_id == user->user_id());
  CHECK(w.emu.request_count() == before + 4);
  // Key calls use the refresh token, which has not expired.
  auto keys = w.keys(user);
  CHECK(keys.fetch_all());
}

TEST_CASE("log out revokes the session on the server and ends it here") {
  world w;
  const auto user = w.user("logout@example.com");
  auto keys = w.keys(user);
  const api_key key = w.create(keys, "survivor");
  const secret old_refresh = user->refresh_token();
  const secret old_access = user->access_token();

  std::size_t before = w.emu.request_count();
  w.app.log_out(user);
  CHECK(w.emu.request_count() == before + 1);
  CHECK_FALSE(user->logged_in());

  // Server side: both tokens of the session are dead.
  check_six_refused(w.emu, *user, old_refresh.reveal(), key.id);
  http_request request;
  ops::refresh_session{}.build(request, context_of(*user, old_refresh.reveal()));
  check_invalid_session(raw_error(w.emu, request), w.emu);
  ops::fetch_profile{}.build(request, context_of(*user, old_access.reveal()));
  check_invalid_session(raw_error(w.emu, request), w.emu);

  // Client side: refused with nothing sent; logging out again is a quiet success.
  before = w.emu.request_count();
  for (const key_call& call : six_calls()) {
    CAPTURE(call.name);
    check_client_error(call.run(keys, key.id), errc::not_logged_in, "the user must be logged in to manage API keys");
  }
  w.app.log_out(user);
  CHECK(w.emu.request_count() == before);

  // The user's keys are not the session's: they outlive it.
  const auto next = w.app.log_in(credentials::email_password("logout@example.com", "pw of logout@example.com"));
  auto next_keys = w.keys(next);
  const auto fetched = next_keys.fetch(key.id);
  REQUIRE(fetched);
  CHECK(fetched->has_value());
}

// --- location (section 6) ---------------------------------------------------------------------------------

TEST_CASE("each app client asks location exactly once, with no headers, then talks to the hostname it named") {
  emulator emu;
  emu.set_hostname("http://127.0.0.1:47001/", "ws://127.0.0.1:47001/");
  counting_transport counter{emu};
  auto config = config_for(emu, "http://base.example:8080/");
  config.fetch_profile_at_login = false;  // this test counts every request
  apikeys::basic_app_client<counting_transport&> app{counter, config};

  app.register_user("where@example.com", "pw");
  const auto user = app.log_in(credentials::email_password("where@example.com", "pw"));
  CHECK(user->host() == "http://127.0.0.1:47001");
  auto keys = app.api_keys(user);
  const api_key key = keys.create("whereKey");
  CHECK(keys.fetch(key.id).has_value());
  keys.disable(key.id);
  keys.enable(key.id);
  CHECK(keys.fetch_all().size() == 1);
  const auto device = app.log_in(credentials::api_key(*key.value));
  app.refresh(user);
  CHECK(app.profile(user).user_id == user->user_id());
  CHECK(app.location().hostname == "http://127.0.0.1:47001");
  keys.remove(key.id);
  app.log_out(device);
  app.log_out(user);

  CHECK(counter.locations.load() == 1);
  REQUIRE(counter.sent.size() == 14);
  CHECK(counter.sent[0].first == "http://base.example:8080/api/client/v2.0/app/" + emu.app_id() + "/location");
  CHECK_FALSE(counter.sent[0].second);
  for (std::size_t i = 1; i < counter.sent.size(); ++i) {
    CAPTURE(counter.sent[i].first);
    CHECK(counter.sent[i].first.rfind("http://127.0.0.1:47001/api/client/v2.0/", 0) == 0);
    CHECK(counter.sent[i].second);
  }

  // A second app client over the same emulator makes its own one lookup.
  counting_transport second_counter{emu};
  auto second_config = config_for(emu);
  second_config.fetch_profile_at_login = false;
  apikeys::basic_app_client<counting_transport&> second{second_counter, second_config};
  const auto again = second.log_in(credentials::email_password("where@example.com", "pw"));
  second.profile(again);
  second.log_out(again);
  CHECK(second_counter.locations.load() == 1);
  CHECK(second_counter.sent.size() == 4);
  CHECK(counter.locations.load() == 1);
}

TEST_CASE("an app client logged in from 8 threads at once still asks location once") {
  emulator emu;
  counting_transport counter{emu};
  auto config = config_for(emu);
  config.fetch_profile_at_login = false;  // this test counts every request
  apikeys::basic_app_client<counting_transport&, apikeys::inline_executor, apikeys::return_result> app{counter, config};
  constexpr int threads = 8;
  for (int i = 0; i < threads; ++i) emu.add_user("racer" + std::to_string(i) + "@example.com", "pw");
  std::vector<std::optional<std::string>> user_ids(threads);
  {
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
      pool.emplace_back([&app, &user_ids, i] {
        const auto user = app.log_in(credentials::email_password("racer" + std::to_string(i) + "@example.com", "pw"));
        if (user) user_ids[static_cast<std::size_t>(i)] = (*user)->user_id();
      });
    }
    for (auto& t : pool) t.join();
  }
  CHECK(counter.locations.load() == 1);
  CHECK(counter.sent.size() == threads + 1);
  for (int i = 0; i < threads; ++i) {
    CAPTURE(i);
    CHECK(user_ids[static_cast<std::size_t>(i)] == emu.user_id("racer" + std::to_string(i) + "@example.com"));
  }
}
