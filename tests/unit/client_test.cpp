// apikeys tests: the key and app clients over scripted_transport: every error row of docs/protocol.md section 5
// under both error policies, the semantics of section 8, sessions (7), location (6), transports, shared use.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/scripted_transport.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/names.hpp"
#include "support/sample_tokens.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::testing::scripted_transport;
using namespace apikeys::literals;

template <class Policy = apikeys::return_result>
using key_client = apikeys::basic_api_key_client<scripted_transport&, apikeys::inline_executor, Policy>;
template <class Policy = apikeys::return_result>
using app_client = apikeys::basic_app_client<scripted_transport&, apikeys::inline_executor, Policy>;

constexpr object_id key_id = "5e5e6f0abe4ae2a2c2c2d329"_oid;
constexpr object_id other_id = "64b7e2a1f0c3d4e5a6b7c8d9"_oid;
constexpr std::string_view key_id_text = "5e5e6f0abe4ae2a2c2c2d329";
constexpr std::string_view other_id_text = "64b7e2a1f0c3d4e5a6b7c8d9";

constexpr std::string_view base_url = "https://services.cloud.mongodb.com";
constexpr std::string_view app_id = "keys-app-abcde";
constexpr std::string_view host = "https://us-east-1.aws.services.example";
constexpr std::string_view location_url =
    "https://services.cloud.mongodb.com/api/client/v2.0/app/keys-app-abcde/location";
constexpr std::string_view keys_url = "https://us-east-1.aws.services.example/api/client/v2.0/auth/api_keys";
constexpr std::string_view session_url = "https://us-east-1.aws.services.example/api/client/v2.0/auth/session";
constexpr std::string_view profile_url = "https://us-east-1.aws.services.example/api/client/v2.0/auth/profile";
constexpr std::string_view login_url =
    "https://us-east-1.aws.services.example/api/client/v2.0/app/keys-app-abcde/auth/providers/local-userpass/login";
constexpr std::string_view register_url =
    "https://us-east-1.aws.services.example/api/client/v2.0/app/keys-app-abcde/auth/providers/local-userpass/register";
constexpr std::string_view server_link =
    "https://services.cloud.mongodb.com/groups/64b7e2a1f0c3d4e5a6b7c8d9/apps/64b7e2a1f0c3d4e5a6b7c8da/logs?co_id=64b7";

using namespace apikeys_tests::sample_tokens;

std::shared_ptr<session> make_user() {
  return std::make_shared<session>("user-1", "device-1", "local-userpass", std::string{host}, secret{access_token},
                                   secret{refresh_token});
}

apikeys::app_config make_config() {
  apikeys::app_config config;
  config.app_id = std::string{app_id};
  config.base_url = std::string{base_url};
  config.timeout = std::chrono::milliseconds{4321};
  // These tests script a log in's own exchanges; the profile fetched after it is tested with it on.
  config.fetch_profile_at_login = false;
  return config;
}

apikeys::credentials user_credentials() {
  return apikeys::credentials::email_password("ada@example.com", "correct horse");
}

std::string bearer(std::string_view token) { return "Bearer " + std::string{token}; }

std::string location_json() {
  return fmt::format(
      R"({{"deployment_model":"GLOBAL","location":"US-VA","hostname":"{}","ws_hostname":"wss://us-east-1.aws.ws.example"}})",
      host);
}

std::string login_json(std::string_view user_id = "user-1") {
  return fmt::format(R"({{"access_token":"{}","refresh_token":"{}","user_id":"{}","device_id":"device-9"}})",
                     access_token, refresh_token, user_id);
}

std::string key_json(std::string_view id, std::string_view name, bool disabled) {
  return fmt::format(R"({{"_id":"{}","name":"{}","disabled":{}}})", id, name, disabled ? "true" : "false");
}

// The section 5 error body; `code` empty leaves error_code out, as the table's "(none)" rows do.
std::string error_json(std::string_view message, std::string_view code) {
  if (code.empty()) return fmt::format(R"({{"error":"{}","link":"{}"}})", message, server_link);
  return fmt::format(R"({{"error":"{}","error_code":"{}","link":"{}"}})", message, code, server_link);
}

const std::string* header(const http_request& request, std::string_view name) {
  return apikeys::find_header(request.headers, name);
}

// Runs a call under either policy and hands back its error, if it failed: return_result inspects
// result.error(), throw_on_error catches the api_exception (and checks what() is the printed error).
template <class Policy, class Call>
std::optional<api_error> error_of(Call&& call) {
  if constexpr (std::is_same_v<Policy, apikeys::return_result>) {
    auto r = call();
    if (r) return std::nullopt;
    return r.error();
  } else {
    try {
      (void)call();
    } catch (const apikeys::api_exception& ex) {
      CHECK(std::string{ex.what()} == fmt::format("{}", ex.error()));
      CHECK(ex.code() == ex.error().code);
      return ex.error();
    }
    return std::nullopt;
  }
}

enum class op { create, fetch, fetch_all, enable, disable, remove, refresh, log_out, log_in };
constexpr op key_ops[] = {op::create, op::fetch, op::fetch_all, op::enable, op::disable, op::remove};

std::string_view op_name(op o) {
  switch (o) {
    case op::create: return "create";
    case op::fetch: return "fetch";
    case op::fetch_all: return "fetch_all";
    case op::enable: return "enable";
    case op::disable: return "disable";
    case op::remove: return "remove";
    case op::refresh: return "refresh";
    case op::log_out: return "log_out";
    case op::log_in: return "log_in";
  }
  return "?";
}

// The context a failed call names, and the request (method, URL) it sends.
std::string expected_context(op o) {
  switch (o) {
    case op::create: return "create API key \"my-key\"";
    case op::fetch: return fmt::format("fetch API key {}", key_id_text);
    case op::fetch_all: return "fetch all API key";  // checked as a prefix: "key" or "keys"
    case op::enable: return fmt::format("enable API key {}", key_id_text);
    case op::disable: return fmt::format("disable API key {}", key_id_text);
    case op::remove: return fmt::format("delete API key {}", key_id_text);
    case op::refresh: return "refresh session";
    case op::log_out: return "log out";
    case op::log_in: return "log in";
  }
  return "?";
}

std::pair<http_method, std::string> expected_route(op o) {
  const std::string one = fmt::format("{}/{}", keys_url, key_id_text);
  switch (o) {
    case op::create: return {http_method::post, std::string{keys_url}};
    case op::fetch: return {http_method::get, one};
    case op::fetch_all: return {http_method::get, std::string{keys_url}};
    case op::enable: return {http_method::put, one + "/enable"};
    case op::disable: return {http_method::put, one + "/disable"};
    case op::remove: return {http_method::delete_, one};
    case op::refresh: return {http_method::post, std::string{session_url}};
    case op::log_out: return {http_method::delete_, std::string{session_url}};
    case op::log_in: return {http_method::post, std::string{login_url}};
  }
  return {http_method::get, ""};
}

// Calls one operation through the real clients under Policy. log_in makes a fresh app, so the caller
// scripts the location answer first.
template <class Policy>
std::optional<api_error> run(op o, scripted_transport& transport, const std::shared_ptr<session>& user) {
  key_client<Policy> keys{transport, user};
  app_client<Policy> app{transport, make_config()};
  switch (o) {
    case op::create: return error_of<Policy>([&] { return keys.create("my-key"); });
    case op::fetch: return error_of<Policy>([&] { return keys.fetch(key_id); });
    case op::fetch_all: return error_of<Policy>([&] { return keys.fetch_all(); });
    case op::enable: return error_of<Policy>([&] { return keys.enable(key_id); });
    case op::disable: return error_of<Policy>([&] { return keys.disable(key_id); });
    case op::remove: return error_of<Policy>([&] { return keys.remove(key_id); });
    case op::refresh: return error_of<Policy>([&] { return app.refresh(user); });
    case op::log_out: return error_of<Policy>([&] { return app.log_out(user); });
    case op::log_in: return error_of<Policy>([&] { return app.log_in(user_credentials()); });
  }
  return std::nullopt;
}

void check_context(const api_error& e, op o) {
  if (o == op::fetch_all) {
    CHECK(e.context.starts_with(expected_context(o)));
  } else {
    CHECK(e.context == expected_context(o));
  }
}

// --- docs/protocol.md section 5: the table, row by row ----------------------------------------------------------

struct error_row {
  std::string_view situation;
  std::vector<op> ops;
  int status;
  std::string_view error_code;  // empty: the row sends none
  std::string_view message;
  errc code;
};

std::vector<error_row> section5_rows() {
  const std::vector<op> all_keys(std::begin(key_ops), std::end(key_ops));
  std::vector<op> keys_and_refresh = all_keys;
  keys_and_refresh.push_back(op::refresh);
  return {
      {"missing key or another user's (enable, disable error out)",
       {op::enable, op::disable},
       404,
       "APIKeyNotFound",
       "API key not found",
       errc::api_key_not_found},
      {"create with a name outside [A-Za-z0-9_-]",
       {op::create},
       400,
       "InvalidParameter",
       "can only contain ASCII letters, numbers, underscores, and hyphens",
       errc::invalid_parameter},
      {"create with an empty or missing name",
       {op::create},
       400,
       "",
       "'name' is a required string",
       errc::unknown_service_error},
      {"create with a name already in use",
       {op::create},
       409,
       "APIKeyAlreadyExists",
       "API key with name already exists",
       errc::api_key_already_exists},
      {"create a 21st key",
       {op::create},
       400,
       "InvalidParameter",
       "user may only have 20 API keys",
       errc::invalid_parameter},
      {"any key call by an anonymous user", all_keys, 403, "AuthError", "anonymous users cannot use API keys",
       errc::auth_error},
      {"delete the key in use", {op::remove}, 403, "AuthError", "cannot delete the API key in use", errc::auth_error},
      {"key call with no Authorization header", all_keys, 401, "MissingAuthReq", "must authenticate first",
       errc::missing_auth_req},
      {"key call with an empty or malformed bearer token", all_keys, 401, "",
       "expected Authorization header with JWT (Bearer schema)", errc::unknown_service_error},
      {"revoked, expired or unknown refresh token", keys_and_refresh, 401, "InvalidSession", "invalid session",
       errc::invalid_session},
      {"the wrong kind of token", keys_and_refresh, 401, "InvalidSession", "invalid session", errc::invalid_session},
      {"a key id that is not 24 hex digits",
       {op::enable, op::disable},
       404,
       "APIKeyNotFound",
       "API key not found",
       errc::api_key_not_found},
      {"a body that is not JSON or not an object",
       {op::create},
       400,
       "BadRequest",
       "invalid request body",
       errc::bad_request},
      {"log in with a disabled, deleted or unknown key",
       {op::log_in},
       401,
       "AuthError",
       "unauthorized",
       errc::auth_error},
  };
}

TEST_CASE_TEMPLATE("every error row of section 5 reaches the caller as a typed error", Policy, apikeys::return_result,
                   apikeys::throw_on_error) {
  int checked = 0;
  for (const auto& row : section5_rows()) {
    for (const op o : row.ops) {
      CAPTURE(row.situation);
      CAPTURE(op_name(o));
      scripted_transport transport;
      if (o == op::log_in) transport.respond(200, location_json());
      transport.respond(row.status, error_json(row.message, row.error_code));
      auto user = make_user();

      const auto error = run<Policy>(o, transport, user);
      REQUIRE(error.has_value());
      CHECK(error->code == row.code);
      CHECK(error->http_status == row.status);
      CHECK(error->server_code == row.error_code);
      CHECK(error->message == row.message);
      CHECK(error->link == server_link);
      CHECK(error->kind() == error_kind::service);
      CHECK(error->error_code() == row.code);
      check_context(*error, o);

      // The call went where its operation goes, once, with no retry; a 401 to a key call is followed by
      // the log out that revokes the session (section 7), which fails here (nothing scripted) unseen.
      const bool revokes = row.status == 401 && o != op::log_in && o != op::refresh;
      const std::size_t call_index = o == op::log_in ? 1u : 0u;
      const auto requests = transport.requests();
      REQUIRE(requests.size() == call_index + (revokes ? 2u : 1u));
      const auto [method, url] = expected_route(o);
      CHECK(requests[call_index].method == method);
      CHECK(requests[call_index].url == url);
      if (revokes) {
        CHECK(requests.back().method == http_method::delete_);
        CHECK(requests.back().url == session_url);
      }
      CHECK(transport.pending() == 0);
      ++checked;
    }
  }
  CHECK(checked == 43);
}

TEST_CASE_TEMPLATE("section 5's no-op row: enabling an enabled key and disabling a disabled one succeed", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  scripted_transport transport;
  transport.respond(204).respond(204);
  auto user = make_user();
  key_client<Policy> keys{transport, user};
  CHECK_FALSE(error_of<Policy>([&] { return keys.enable(key_id); }).has_value());
  CHECK_FALSE(error_of<Policy>([&] { return keys.disable(key_id); }).has_value());
  REQUIRE(transport.request_count() == 2);
  CHECK(transport.requests()[0].url == fmt::format("{}/{}/enable", keys_url, key_id_text));
  CHECK(transport.requests()[1].url == fmt::format("{}/{}/disable", keys_url, key_id_text));
  CHECK(user->logged_in());
}

// --- docs/protocol.md section 8: what a missing key means to each call -------------------------------------------

TEST_CASE("section 8: fetch of a missing key is an empty optional, under both policies") {
  scripted_transport transport;
  transport.respond(404, error_json("API key not found", "APIKeyNotFound"));
  transport.respond(404, error_json("API key not found", "APIKeyNotFound"));
  auto user = make_user();

  key_client<apikeys::return_result> as_result{transport, user};
  const auto found = as_result.fetch(key_id);
  REQUIRE(found.has_value());
  CHECK_FALSE(found->has_value());

  key_client<apikeys::throw_on_error> throwing{transport, user};
  std::optional<apikeys::api_key> thrown_found;
  CHECK_NOTHROW(thrown_found = throwing.fetch(key_id));
  CHECK_FALSE(thrown_found.has_value());
  CHECK(transport.request_count() == 2);
  CHECK(user->logged_in());
}

TEST_CASE_TEMPLATE("section 8: remove of a missing key succeeds as a no-op", Policy, apikeys::return_result,
                   apikeys::throw_on_error) {
  scripted_transport transport;
  transport.respond(404, error_json("API key not found", "APIKeyNotFound"));
  auto user = make_user();
  key_client<Policy> keys{transport, user};
  CHECK_FALSE(error_of<Policy>([&] { return keys.remove(key_id); }).has_value());
  REQUIRE(transport.request_count() == 1);
  CHECK(transport.last_request().method == http_method::delete_);
  CHECK(transport.last_request().url == fmt::format("{}/{}", keys_url, key_id_text));
}

TEST_CASE_TEMPLATE("section 8: enable and disable of a missing key fail, naming the id", Policy, apikeys::return_result,
                   apikeys::throw_on_error) {
  scripted_transport transport;
  transport.respond(404, error_json("API key not found", "APIKeyNotFound"));
  transport.respond(404, error_json("API key not found", "APIKeyNotFound"));
  auto user = make_user();
  key_client<Policy> keys{transport, user};

  const auto enabled = error_of<Policy>([&] { return keys.enable(key_id); });
  REQUIRE(enabled.has_value());
  CHECK(enabled->code == errc::api_key_not_found);
  CHECK(enabled->context == "enable API key 5e5e6f0abe4ae2a2c2c2d329");
  CHECK(fmt::format("{}", *enabled) ==
        fmt::format("enable API key 5e5e6f0abe4ae2a2c2c2d329: API key not found (API key not found, APIKeyNotFound, "
                    "HTTP 404) {}",
                    server_link));

  const auto disabled = error_of<Policy>([&] { return keys.disable(key_id); });
  REQUIRE(disabled.has_value());
  CHECK(disabled->code == errc::api_key_not_found);
  CHECK(disabled->context == "disable API key 5e5e6f0abe4ae2a2c2c2d329");
  CHECK(user->logged_in());
}

TEST_CASE("section 8: fetch all of a user with no keys is an empty list") {
  scripted_transport transport;
  transport.respond(200, "[]");
  auto user = make_user();
  key_client<> keys{transport, user};
  const auto all = keys.fetch_all();
  REQUIRE(all.has_value());
  CHECK(all->empty());
}

// --- section 5 rule 1: an error_code in a 2xx body is an error ----------------------------------------------

TEST_CASE_TEMPLATE("an error_code inside a 2xx body is an error for create, fetch, enable and log in", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  const op ops[] = {op::create, op::fetch, op::enable, op::log_in};
  const int statuses[] = {201, 200, 204, 200};
  for (std::size_t i = 0; i < std::size(ops); ++i) {
    CAPTURE(op_name(ops[i]));
    scripted_transport transport;
    if (ops[i] == op::log_in) transport.respond(200, location_json());
    // A body that also looks like a success answer: the error_code still wins.
    transport.respond(statuses[i],
                      fmt::format(R"({{"_id":"{}","name":"my-key","disabled":false,"key":"{}","access_token":"a",)"
                                  R"("refresh_token":"r","user_id":"u","device_id":"d",)"
                                  R"("error":"maintenance window","error_code":"MaintenanceInProgress","link":"{}"}})",
                                  key_id_text, key_value, server_link));
    auto user = make_user();
    const auto error = run<Policy>(ops[i], transport, user);
    REQUIRE(error.has_value());
    CHECK(error->code == errc::maintenance_in_progress);
    CHECK(error->http_status == statuses[i]);
    CHECK(error->server_code == "MaintenanceInProgress");
    CHECK(error->message == "maintenance window");
    CHECK(error->link == server_link);
    check_context(*error, ops[i]);
    CHECK(user->logged_in());
  }
}

TEST_CASE("an unknown error_code keeps its raw name and is a server error; an error without a code is unknown") {
  scripted_transport transport;
  transport.respond(200, R"({"error":"something new","error_code":"BrandNewThing"})");
  transport.respond(500, R"({"error":"it broke"})");
  auto user = make_user();
  key_client<> keys{transport, user};

  const auto first = keys.fetch_all();
  REQUIRE_FALSE(first.has_value());
  CHECK(first.error().code == errc::server_error);
  CHECK(first.error().server_code == "BrandNewThing");
  CHECK(first.error().message == "something new");
  CHECK(first.error().http_status == 200);
  CHECK(first.error().link.empty());
  CHECK(first.error().kind() == error_kind::service);

  const auto second = keys.enable(key_id);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == errc::unknown_service_error);
  CHECK(second.error().server_code.empty());
  CHECK(second.error().message == "it broke");
  CHECK(second.error().http_status == 500);
}

TEST_CASE("an error body with parameters on its Content-Type is still read as an error") {
  scripted_transport transport;
  http_response response;
  response.status = 409;
  response.headers.push_back({"content-type", "application/json; charset=utf-8"});
  response.body = error_json("API key with name already exists", "APIKeyAlreadyExists");
  transport.respond(response);
  auto user = make_user();
  key_client<> keys{transport, user};
  const auto created = keys.create("my-key");
  REQUIRE_FALSE(created.has_value());
  CHECK(created.error().code == errc::api_key_already_exists);
  CHECK(created.error().http_status == 409);
}

// --- section 5 rule 2: transport failures -------------------------------------------------------------------

TEST_CASE_TEMPLATE("every kind of transport failure reaches the caller with its errc and no HTTP status", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  const errc kinds[] = {errc::connection_failed,  errc::timeout,        errc::tls_error, errc::connection_reset,
                        errc::too_many_redirects, errc::transport_error};
  for (const errc kind : kinds) {
    for (const op o : key_ops) {
      CAPTURE(kind);
      CAPTURE(op_name(o));
      scripted_transport transport;
      transport.fail(kind, "could not reach us-east-1.aws.services.example:443");
      auto user = make_user();
      const auto error = run<Policy>(o, transport, user);
      REQUIRE(error.has_value());
      CHECK(error->code == kind);
      CHECK(error->http_status == 0);
      CHECK(error->kind() == error_kind::transport);
      CHECK(error->server_code.empty());
      CHECK(error->message == "could not reach us-east-1.aws.services.example:443");
      check_context(*error, o);
      // Only a failure that proves nothing was sent, or a GET, leaves no doubt about the server's state.
      const bool read_only = o == op::fetch || o == op::fetch_all;
      const bool never_sent = kind == errc::connection_failed || kind == errc::tls_error;
      CHECK(error->outcome_unknown == !(read_only || never_sent));
      CHECK((fmt::format("{}", *error).find("the outcome is unknown") != std::string::npos) == error->outcome_unknown);
      CHECK(transport.request_count() == 1);
      CHECK(user->logged_in());  // no response is not a 401: the session stays
    }
  }
}

TEST_CASE(
    "a transport failure with no message is described by its code; a non-transport code becomes transport_error") {
  scripted_transport transport;
  transport.fail(errc::timeout);
  transport.fail(errc::api_key_not_found, "confused adapter");
  auto user = make_user();
  key_client<> keys{transport, user};

  const auto timed_out = keys.fetch(key_id);
  REQUIRE_FALSE(timed_out.has_value());
  CHECK(timed_out.error().code == errc::timeout);
  CHECK(timed_out.error().message == "timed out");

  // An adapter reporting a service code as a transport failure must not fake a server answer (nor make
  // fetch report "no key").
  const auto confused = keys.fetch(key_id);
  REQUIRE_FALSE(confused.has_value());
  CHECK(confused.error().code == errc::transport_error);
  CHECK(confused.error().http_status == 0);
  CHECK(confused.error().message == "confused adapter");
}

struct throwing_transport {
  int calls = 0;
  apikeys::http_response send(const apikeys::http_request&) {
    ++calls;
    throw std::runtime_error("socket exploded");
  }
};

struct throwing_anything_transport {
  apikeys::result<apikeys::http_response, apikeys::transport_error> send(const apikeys::http_request&) { throw 42; }
};

TEST_CASE("a transport that throws becomes errc::transport_error, never an exception with return_result") {
  auto user = make_user();
  throwing_transport transport;
  apikeys::basic_api_key_client<throwing_transport&, apikeys::inline_executor, apikeys::return_result> keys{transport,
                                                                                                            user};
  apikeys::result<apikeys::api_key> created = apikeys::unexpected{api_error{}};
  CHECK_NOTHROW(created = keys.create("my-key"));
  REQUIRE_FALSE(created.has_value());
  CHECK(created.error().code == errc::transport_error);
  CHECK(created.error().http_status == 0);
  CHECK(created.error().message == "the transport threw: socket exploded");
  CHECK(created.error().context == "create API key \"my-key\"");
  // The server made the key, and its value, shown only in this answer, cannot be read.
  CHECK(created.error().outcome_unknown);


  apikeys::result<void> enabled;
  CHECK_NOTHROW(enabled = keys.enable(key_id));
  REQUIRE_FALSE(enabled.has_value());
  CHECK(enabled.error().code == errc::transport_error);
  CHECK(transport.calls == 2);
  CHECK(user->logged_in());

  throwing_anything_transport odd;
  apikeys::basic_api_key_client<throwing_anything_transport&, apikeys::inline_executor, apikeys::return_result>
      odd_keys{odd, user};
  apikeys::result<std::vector<apikeys::api_key>> all = apikeys::unexpected{api_error{}};
  CHECK_NOTHROW(all = odd_keys.fetch_all());
  REQUIRE_FALSE(all.has_value());
  CHECK(all.error().code == errc::transport_error);
  CHECK(all.error().message == "the transport threw an unknown exception");
}

TEST_CASE("with throw_on_error a throwing transport surfaces as api_exception, not the transport's exception") {
  auto user = make_user();
  throwing_transport transport;
  apikeys::basic_api_key_client<throwing_transport&> keys{transport, user};
  bool caught = false;
  try {
    keys.disable(key_id);
  } catch (const apikeys::api_exception& ex) {
    caught = true;
    CHECK(ex.code() == errc::transport_error);
    CHECK(ex.error().context == fmt::format("disable API key {}", key_id_text));
  }
  CHECK(caught);
}

// --- section 5 rule 3: HTTP errors --------------------------------------------------------------------------

TEST_CASE_TEMPLATE("a 502 with an HTML body is an HTTP error carrying the status and the body text", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  const std::string html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
  for (const op o : key_ops) {
    CAPTURE(op_name(o));
    scripted_transport transport;
    http_response response;
    response.status = 502;
    response.headers.push_back({"Content-Type", "text/html"});
    response.body = html;
    transport.respond(response);
    auto user = make_user();
    const auto error = run<Policy>(o, transport, user);
    REQUIRE(error.has_value());
    CHECK(error->code == errc::http_error);
    CHECK(error->http_status == 502);
    CHECK(error->message == html);
    CHECK(error->server_code.empty());
    CHECK(error->kind() == error_kind::http);
    check_context(*error, o);
    CHECK(user->logged_in());
  }
}

TEST_CASE("a JSON error body that does not parse is read as text") {
  scripted_transport transport;
  transport.respond(500, R"({"error":"half an object")");
  auto user = make_user();
  key_client<> keys{transport, user};
  const auto r = keys.enable(key_id);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::http_error);
  CHECK(r.error().message == R"({"error":"half an object")");
}

TEST_CASE("any 2xx is success, odd ones too; 1xx and 3xx are HTTP errors") {
  auto user = make_user();
  scripted_transport transport;
  key_client<> keys{transport, user};

  transport.respond(299, key_json(key_id_text, "odd", false));
  const auto fetched = keys.fetch(key_id);
  REQUIRE(fetched.has_value());
  REQUIRE(fetched->has_value());
  CHECK((*fetched)->name == "odd");

  transport.respond(299);
  CHECK(keys.enable(key_id).has_value());
  transport.respond(200);
  CHECK(keys.remove(key_id).has_value());

  for (const int status : {199, 302, 100, 304, 418}) {
    CAPTURE(status);
    http_response response;
    response.status = status;
    if (status == 302) response.headers.push_back({"Location", "https://elsewhere.example/"});
    transport.respond(response);
    const auto r = keys.enable(key_id);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::http_error);
    CHECK(r.error().http_status == status);
    CHECK(r.error().message == fmt::format("HTTP status {}", status));
  }
  transport.respond(302, key_json(key_id_text, "moved", false));
  const auto moved = keys.fetch(key_id);
  REQUIRE_FALSE(moved.has_value());
  CHECK(moved.error().code == errc::http_error);
  CHECK(moved.error().http_status == 302);
  CHECK(moved.error().message == key_json(key_id_text, "moved", false));
}

// --- transports returning a plain http_response -----------------------------------------------------------

struct plain_transport {
  std::vector<http_request> seen;
  http_response send(const http_request& request) {
    seen.push_back(request);
    http_response response;
    response.status = 200;
    response.headers.push_back({"Content-Type", "application/json"});
    response.body = "[" + key_json(key_id_text, "first", false) + "," + key_json(other_id_text, "second", true) + "]";
    return response;
  }
};

TEST_CASE("a transport returning a plain http_response works, by value and by reference") {
  auto user = make_user();
  apikeys::basic_api_key_client<plain_transport, apikeys::inline_executor, apikeys::return_result> by_value{
      plain_transport{}, user};
  const auto all = by_value.fetch_all();
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "first");
  CHECK((*all)[1].id == other_id);
  REQUIRE(by_value.transport().seen.size() == 1);
  CHECK(by_value.transport().seen[0].url == keys_url);

  plain_transport shared;
  apikeys::api_key_client<plain_transport&> by_reference{shared, user};
  const std::vector<apikeys::api_key> keys = by_reference.fetch_all();
  CHECK(keys.size() == 2);
  CHECK(shared.seen.size() == 1);
}

// --- semantics and exact requests ---------------------------------------------------------------------------

TEST_CASE("create sends the exact request and returns the key with its secret, enabled") {
  scripted_transport transport;
  transport.respond(
      201, fmt::format(R"({{"_id":"{}","name":"my-key","disabled":false,"key":"{}"}})", key_id_text, key_value));
  auto user = make_user();
  key_client<> keys{transport, user, apikeys::client_options{std::chrono::milliseconds{2500}}};
  const auto created = keys.create("my-key");
  REQUIRE(created.has_value());
  CHECK(created->id == key_id);
  CHECK(created->name == "my-key");
  CHECK(created->enabled);
  REQUIRE(created->value.has_value());
  CHECK(created->value->reveal() == key_value);

  const auto request = transport.last_request();
  CHECK(request.method == http_method::post);
  CHECK(request.url == keys_url);
  const std::vector<http_header> headers{{"Accept", "application/json"},
                                         {"Content-Type", "application/json;charset=utf-8"},
                                         {"Authorization", bearer(refresh_token)}};
  CHECK(request.headers == headers);
  CHECK(request.body == R"({"name":"my-key"})");
  CHECK(request.timeout == std::chrono::milliseconds{2500});
}

TEST_CASE("fetch returns the key without its value, even when a server sends one; enabled is !disabled") {
  scripted_transport transport;
  transport.respond(200, fmt::format(R"({{"_id":"{}","name":"old-key","disabled":true,"key":"{}","extra":[1,2]}})",
                                     key_id_text, key_value));
  transport.respond(200, key_json(key_id_text, "old-key", false));
  auto user = make_user();
  key_client<apikeys::throw_on_error> keys{transport, user};

  const std::optional<apikeys::api_key> disabled = keys.fetch(key_id);
  REQUIRE(disabled.has_value());
  CHECK(disabled->id == key_id);
  CHECK(disabled->name == "old-key");
  CHECK_FALSE(disabled->enabled);
  CHECK_FALSE(disabled->value.has_value());

  const std::optional<apikeys::api_key> enabled = keys.fetch(key_id);
  REQUIRE(enabled.has_value());
  CHECK(enabled->enabled);

  const auto request = transport.last_request();
  CHECK(request.method == http_method::get);
  CHECK(request.url == fmt::format("{}/{}", keys_url, key_id_text));
  CHECK(request.body.empty());
  REQUIRE(header(request, "Authorization") != nullptr);
  CHECK(*header(request, "Authorization") == bearer(refresh_token));
}

TEST_CASE("fetch_all returns the keys in the server's order, without values") {
  scripted_transport transport;
  const object_id third = "000000000000000000000001"_oid;
  transport.respond(200, "[" + key_json(other_id_text, "b-second", true) + "," +
                             key_json(key_id_text, "a-first", false) + "," +
                             key_json("000000000000000000000001", "c-third", false) + "]");
  auto user = make_user();
  key_client<> keys{transport, user};
  const auto all = keys.fetch_all();
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].id == other_id);
  CHECK((*all)[0].name == "b-second");
  CHECK_FALSE((*all)[0].enabled);
  CHECK((*all)[1].id == key_id);
  CHECK((*all)[1].enabled);
  CHECK((*all)[2].id == third);
  for (const auto& k : *all) CHECK_FALSE(k.value.has_value());
}

TEST_CASE("enable, disable and remove send bodiless requests to their routes and read no body") {
  scripted_transport transport;
  transport.respond(204).respond(204).respond(204);
  auto user = make_user();
  key_client<apikeys::throw_on_error> keys{transport, user};
  keys.enable(other_id);
  keys.disable(other_id);
  keys.remove(other_id);
  const auto requests = transport.requests();
  REQUIRE(requests.size() == 3);
  const std::string one = fmt::format("{}/{}", keys_url, other_id_text);
  CHECK(requests[0].method == http_method::put);
  CHECK(requests[0].url == one + "/enable");
  CHECK(requests[1].method == http_method::put);
  CHECK(requests[1].url == one + "/disable");
  CHECK(requests[2].method == http_method::delete_);
  CHECK(requests[2].url == one);
  for (const auto& r : requests) {
    CHECK(r.body.empty());
    CHECK(r.headers.size() == 3);
  }
}

TEST_CASE("a malformed 2xx answer is a bad_response naming the operation") {
  scripted_transport transport;
  transport.respond(201, fmt::format(R"({{"_id":"{}","name":"my-key","disabled":false}})", key_id_text));
  transport.respond(200, R"({"_id":{"$oid":"5e5e6f0abe4ae2a2c2c2d329"},"name":"x","disabled":false})");
  transport.respond(200, R"([{"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"x","disabled":1}])");
  auto user = make_user();
  key_client<> keys{transport, user};

  const auto created = keys.create("my-key");
  REQUIRE_FALSE(created.has_value());
  CHECK(created.error().code == errc::bad_response);
  CHECK(created.error().kind() == error_kind::bad_response);
  CHECK(created.error().http_status == 201);
  CHECK(created.error().message == "malformed response: missing field 'key'");
  CHECK(created.error().context == "create API key \"my-key\"");
  // The server made the key, and its value, shown only in this answer, cannot be read.
  CHECK(created.error().outcome_unknown);


  const auto fetched = keys.fetch(key_id);
  REQUIRE_FALSE(fetched.has_value());
  CHECK(fetched.error().code == errc::bad_response);
  CHECK(fetched.error().context == fmt::format("fetch API key {}", key_id_text));
  CHECK_FALSE(fetched.error().outcome_unknown);

  const auto all = keys.fetch_all();
  REQUIRE_FALSE(all.has_value());
  CHECK(all.error().code == errc::bad_response);
  CHECK(all.error().message == "malformed response: field '[0].disabled' must be a boolean");
  CHECK(user->logged_in());
}

TEST_CASE("an answer about another key is a bad_response: create's outcome is then unknown") {
  scripted_transport transport;
  transport.respond(201, fmt::format(R"({{"_id":"{}","name":"other-key","disabled":false,"key":"v-0123"}})", key_id_text));
  transport.respond(200, fmt::format(R"({{"_id":"{}","name":"x","disabled":false}})", other_id_text));
  auto user = make_user();
  key_client<> keys{transport, user};

  const auto created = keys.create("my-key");
  REQUIRE_FALSE(created.has_value());
  CHECK(created.error().code == errc::bad_response);
  CHECK(created.error().http_status == 201);
  CHECK(created.error().message == "malformed response: the answer names another key");
  CHECK(created.error().context == "create API key \"my-key\"");
  CHECK(created.error().outcome_unknown);  // a key named my-key may exist, its value lost
  CHECK(fmt::format("{}", created.error()).find("v-0123") == std::string::npos);

  const auto fetched = keys.fetch(key_id);
  REQUIRE_FALSE(fetched.has_value());
  CHECK(fetched.error().code == errc::bad_response);
  CHECK(fetched.error().message == "malformed response: the answer is about another key");
  CHECK(fetched.error().context == fmt::format("fetch API key {}", key_id_text));
  CHECK_FALSE(fetched.error().outcome_unknown);
  CHECK(user->logged_in());
}

TEST_CASE("a disallowed key name is refused before anything is sent") {
  scripted_transport transport;
  auto user = make_user();
  key_client<> keys{transport, user};
  for (const std::string_view name : {"", "has space", "per%cent", "caf\xc3\xa9", "new\nline"}) {
    CAPTURE(name);
    const auto r = keys.create(name);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_argument);
    CHECK(r.error().kind() == error_kind::client);
    CHECK(r.error().http_status == 0);
    CHECK(r.error().context == "create API key");
  }
  CHECK(transport.request_count() == 0);
  CHECK(user->logged_in());
}

TEST_CASE("a key client without a session refuses every call and sends nothing") {
  scripted_transport transport;
  key_client<> keys{transport, nullptr};
  CHECK(keys.create("my-key").error().code == errc::not_logged_in);
  CHECK(keys.fetch(key_id).error().code == errc::not_logged_in);
  CHECK(keys.fetch_all().error().code == errc::not_logged_in);
  CHECK(keys.enable(key_id).error().code == errc::not_logged_in);
  CHECK(keys.disable(key_id).error().code == errc::not_logged_in);
  CHECK(keys.remove(key_id).error().code == errc::not_logged_in);
  CHECK(transport.request_count() == 0);
}

// --- docs/protocol.md section 7: sessions ------------------------------------------------------------------------

// Byte for byte: method, URL, headers in order, body, timeout.
void check_same_request(const http_request& sent, const http_request& expected) {
  CHECK(sent.method == expected.method);
  CHECK(sent.url == expected.url);
  CHECK(sent.headers == expected.headers);
  CHECK(sent.body == expected.body);
  CHECK(sent.timeout == expected.timeout);
}

// The log out a 401 to a key call sends: the bytes app.log_out() sends for the same session and timeout.
http_request log_out_request(std::chrono::milliseconds timeout) {
  scripted_transport transport;
  transport.respond(204);
  apikeys::app_config config = make_config();
  config.timeout = timeout;
  app_client<> app{transport, config};
  REQUIRE(app.log_out(make_user()).has_value());
  REQUIRE(transport.request_count() == 1);
  return transport.last_request();
}

TEST_CASE_TEMPLATE("a 401 on a key call ends the session, revokes it with one DELETE, and is returned unchanged", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  const http_request expected_delete = log_out_request(apikeys::client_options{}.timeout);
  CHECK(expected_delete.method == http_method::delete_);
  CHECK(expected_delete.url == session_url);
  const std::vector<http_header> delete_headers{{"Accept", "application/json"},
                                                {"Content-Type", "application/json;charset=utf-8"},
                                                {"Authorization", bearer(refresh_token)}};
  CHECK(expected_delete.headers == delete_headers);
  CHECK(expected_delete.body.empty());

  const op ops[] = {op::create, op::fetch, op::fetch_all, op::enable, op::disable, op::remove, op::log_out};
  for (const op o : ops) {
    CAPTURE(op_name(o));
    scripted_transport transport;
    transport.respond(401, error_json("invalid session", "InvalidSession"));
    // Anything the client sends next (the DELETE, or a refresh or retry it must not send) gets this.
    transport.fallback([](const http_request&) -> apikeys::result<http_response, apikeys::transport_error> {
      http_response ok;
      ok.status = 201;
      ok.headers.push_back({"Content-Type", "application/json"});
      ok.body = fmt::format(R"({{"access_token":"{}"}})", refreshed_access_token);
      return ok;
    });
    auto user = make_user();
    REQUIRE(user->logged_in());

    const auto error = run<Policy>(o, transport, user);
    REQUIRE(error.has_value());
    CHECK(error->code == errc::invalid_session);
    CHECK(error->http_status == 401);
    CHECK(error->server_code == "InvalidSession");
    CHECK(error->message == "invalid session");
    CHECK(error->link == server_link);
    check_context(*error, o);
    CHECK_FALSE(user->logged_in());
    CHECK(user->refresh_token().empty());
    CHECK(user->access_token().empty());
    const auto requests = transport.requests();
    CHECK(requests[0].url == expected_route(o).second);
    if (o == op::log_out) {
      CHECK(requests.size() == 1);  // the 401 answered the DELETE itself
    } else {
      REQUIRE(requests.size() == 2);
      check_same_request(requests[1], expected_delete);
    }

    // The next key call is refused here, and nothing more is sent.
    key_client<apikeys::return_result> keys{transport, user};
    const auto next = keys.fetch_all();
    REQUIRE_FALSE(next.has_value());
    CHECK(next.error().code == errc::not_logged_in);
    CHECK(next.error().http_status == 0);
    CHECK(transport.request_count() == requests.size());
  }
}

TEST_CASE_TEMPLATE("whatever the revoking DELETE gets, the key call returns its own 401", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  const auto answer_delete = [](scripted_transport& transport, int what) {
    switch (what) {
      case 0: transport.respond(204); break;
      case 1: transport.respond(500, error_json("boom", "InternalServerError")); break;
      case 2: transport.respond(401, error_json("already gone", "InvalidSession")); break;
      case 3: transport.fail(errc::connection_failed, "refused"); break;
      case 4: transport.fail(errc::timeout, "slow"); break;
      default:
        transport.fallback([](const http_request&) -> apikeys::result<http_response, apikeys::transport_error> {
          throw std::runtime_error("the transport threw");
        });
    }
  };
  for (int what = 0; what < 6; ++what) {
    CAPTURE(what);
    scripted_transport transport;
    transport.respond(401, error_json("token expired", "InvalidSession"));
    answer_delete(transport, what);
    auto user = make_user();
    key_client<Policy> keys{transport, user, apikeys::client_options{std::chrono::milliseconds{1234}}};
    const auto error = error_of<Policy>([&] { return keys.disable(key_id); });
    REQUIRE(error.has_value());
    CHECK(error->code == errc::invalid_session);
    CHECK(error->http_status == 401);
    CHECK(error->message == "token expired");
    CHECK_FALSE(error->outcome_unknown);
    CHECK(error->context == fmt::format("disable API key {}", key_id_text));
    CHECK_FALSE(user->logged_in());
    REQUIRE(transport.request_count() == 2);
    check_same_request(transport.last_request(), log_out_request(std::chrono::milliseconds{1234}));
    CHECK(transport.pending() == 0);
  }
}

TEST_CASE("a key call's 401 does not end tokens a later log in of the user gave the session (the upsert)") {
  auto user = make_user();
  scripted_transport transport;
  // While the call is in flight, the user logs in again (an app with a session store updates this same
  // session); then the server answers the call, sent with the old refresh token, with a 401.
  transport.fallback([&](const http_request& sent) -> apikeys::result<http_response, apikeys::transport_error> {
    CHECK(sent.method == http_method::get);
    user->update_login("device-2", "api-key", secret{key_access_token}, secret{key_refresh_token}, nullptr);
    http_response refused;
    refused.status = 401;
    refused.headers.push_back({"Content-Type", "application/json"});
    refused.body = error_json("invalid session", "InvalidSession");
    return refused;
  });
  key_client<apikeys::return_result> keys{transport, user};
  const auto listed = keys.fetch_all();
  REQUIRE_FALSE(listed.has_value());
  CHECK(listed.error().http_status == 401);
  // The 401 was about the old tokens: the new ones stay, and no DELETE revokes them.
  CHECK(user->logged_in());
  CHECK(user->refresh_token().reveal() == key_refresh_token);
  CHECK(user->login_number() == 1);
  CHECK(transport.request_count() == 1);
}

TEST_CASE("a 401 on refresh is returned and leaves the session as it was, with no DELETE (as core)") {
  scripted_transport transport;
  transport.respond(401, error_json("invalid session", "InvalidSession"));
  auto user = make_user();
  app_client<> app{transport, make_config()};
  const auto refreshed = app.refresh(user);
  REQUIRE_FALSE(refreshed.has_value());
  CHECK(refreshed.error().code == errc::invalid_session);
  CHECK(refreshed.error().http_status == 401);
  CHECK(refreshed.error().context == "refresh session");
  CHECK(transport.request_count() == 1);
  CHECK(user->logged_in());
  CHECK(user->access_token().reveal() == access_token);
  CHECK(user->refresh_token().reveal() == refresh_token);
}

TEST_CASE("no DELETE follows a 403, a 404, a 500 or a transport failure of a key call") {
  scripted_transport transport;
  transport.respond(403, error_json("anonymous users cannot use API keys", "AuthError"));
  transport.respond(404, error_json("API key not found", "APIKeyNotFound"));
  transport.respond(500, error_json("boom", "InternalServerError"));
  transport.fail(errc::connection_failed, "refused");
  auto user = make_user();
  key_client<> keys{transport, user};
  CHECK(keys.fetch_all().error().http_status == 403);
  CHECK(keys.enable(key_id).error().http_status == 404);
  CHECK(keys.create("k").error().http_status == 500);
  CHECK(keys.disable(key_id).error().code == errc::connection_failed);
  const auto requests = transport.requests();
  REQUIRE(requests.size() == 4);
  for (const auto& r : requests) CHECK_FALSE(r.url == session_url);
  CHECK(user->logged_in());
}

TEST_CASE("no DELETE when the session ended while the key call was in flight") {
  auto user = make_user();
  scripted_transport transport;
  // Another thread logs the session out while this call waits for its answer, which is then a 401.
  transport.fallback([&](const http_request&) -> apikeys::result<http_response, apikeys::transport_error> {
    user->log_out();
    http_response rejected;
    rejected.status = 401;
    rejected.headers.push_back({"Content-Type", "application/json"});
    rejected.body = error_json("invalid session", "InvalidSession");
    return rejected;
  });
  key_client<> keys{transport, user};
  const auto r = keys.fetch(key_id);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::invalid_session);
  CHECK(r.error().http_status == 401);
  CHECK(transport.request_count() == 1);
  CHECK_FALSE(user->logged_in());
}

TEST_CASE("a 401 with no error_code (malformed bearer) also ends the session") {
  scripted_transport transport;
  transport.respond(401, error_json("expected Authorization header with JWT (Bearer schema)", ""));
  auto user = make_user();
  key_client<> keys{transport, user};
  const auto r = keys.enable(key_id);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::unknown_service_error);
  CHECK_FALSE(user->logged_in());
}

TEST_CASE("non-401 errors leave the session logged in") {
  scripted_transport transport;
  transport.respond(403, error_json("anonymous users cannot use API keys", "AuthError"));
  transport.respond(500, error_json("boom", "InternalServerError"));
  transport.respond(404, error_json("API key not found", "APIKeyNotFound"));
  auto user = make_user();
  key_client<> keys{transport, user};
  CHECK_FALSE(keys.fetch_all().has_value());
  CHECK_FALSE(keys.create("k").has_value());
  CHECK_FALSE(keys.disable(key_id).has_value());
  CHECK(user->logged_in());
}

TEST_CASE("a 401 on profile is answered by exactly one refresh and one retry with the new access token") {
  scripted_transport transport;
  transport.respond(401, error_json("invalid session", "InvalidSession"));
  transport.respond(201, fmt::format(R"({{"access_token":"{}"}})", refreshed_access_token));
  transport.respond(200,
                    R"({"user_id":"user-1","domain_id":"d","identities":[{"id":"i1","provider_type":"local-userpass",)"
                    R"("provider_id":"p1"}],"data":{"email":"ada@example.com"},"type":"normal"})");
  auto user = make_user();
  app_client<> app{transport, make_config()};

  const auto profile = app.profile(user);
  REQUIRE(profile.has_value());
  CHECK(profile->user_id == "user-1");
  CHECK(profile->type == "normal");
  REQUIRE(profile->identities.size() == 1);
  CHECK(profile->identities[0].provider_type == "local-userpass");
  CHECK(profile->data == R"({"email":"ada@example.com"})");

  const auto requests = transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].method == http_method::get);
  CHECK(requests[0].url == profile_url);
  CHECK(*header(requests[0], "Authorization") == bearer(access_token));
  CHECK(requests[1].method == http_method::post);
  CHECK(requests[1].url == session_url);
  CHECK(*header(requests[1], "Authorization") == bearer(refresh_token));
  CHECK(requests[1].body.empty());
  CHECK(requests[2].method == http_method::get);
  CHECK(requests[2].url == profile_url);
  CHECK(*header(requests[2], "Authorization") == bearer(refreshed_access_token));
  CHECK(user->access_token().reveal() == refreshed_access_token);
  CHECK(user->refresh_token().reveal() == refresh_token);
  CHECK(user->logged_in());
}

TEST_CASE_TEMPLATE("a second 401 on profile is returned, with no further refresh", Policy, apikeys::return_result,
                   apikeys::throw_on_error) {
  scripted_transport transport;
  transport.respond(401, error_json("invalid session", "InvalidSession"));
  transport.respond(201, fmt::format(R"({{"access_token":"{}"}})", refreshed_access_token));
  transport.respond(401, error_json("still not", "InvalidSession"));
  transport.respond(201, R"({"access_token":"never-used"})");
  auto user = make_user();
  app_client<Policy> app{transport, make_config()};
  const auto error = error_of<Policy>([&] { return app.profile(user); });
  REQUIRE(error.has_value());
  CHECK(error->code == errc::invalid_session);
  CHECK(error->http_status == 401);
  CHECK(error->message == "still not");
  CHECK(error->context == "profile");
  CHECK(transport.request_count() == 3);
  CHECK(transport.pending() == 1);
}

TEST_CASE("a refused refresh during a profile retry returns the profile's 401 and keeps the session (as core)") {
  scripted_transport transport;
  transport.respond(401, error_json("access token expired", "InvalidSession"));
  transport.respond(401, error_json("refresh token revoked", "InvalidSession"));
  auto user = make_user();
  app_client<> app{transport, make_config()};
  const auto profile = app.profile(user);
  REQUIRE_FALSE(profile.has_value());
  CHECK(profile.error().code == errc::invalid_session);
  CHECK(profile.error().message == "access token expired");
  CHECK(profile.error().context == "profile");
  REQUIRE(transport.request_count() == 2);
  CHECK(transport.last_request().url == session_url);
  CHECK(transport.last_request().method == http_method::post);
  CHECK(user->logged_in());
  CHECK(user->access_token().reveal() == access_token);
}

TEST_CASE("a refresh that gets no answer during a profile retry also returns the profile's 401") {
  scripted_transport transport;
  transport.respond(401, error_json("access token expired", "InvalidSession"));
  transport.fail(errc::timeout, "slow");
  auto user = make_user();
  app_client<> app{transport, make_config()};
  const auto profile = app.profile(user);
  REQUIRE_FALSE(profile.has_value());
  CHECK(profile.error().http_status == 401);
  CHECK(profile.error().message == "access token expired");
  CHECK(transport.request_count() == 2);
  CHECK(user->logged_in());
}

TEST_CASE_TEMPLATE("a logged-out session refuses every call with not_logged_in and sends nothing", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  scripted_transport transport;
  transport.respond(204);
  auto user = make_user();
  app_client<Policy> app{transport, make_config()};
  CHECK_FALSE(error_of<Policy>([&] { return app.log_out(user); }).has_value());
  REQUIRE(transport.request_count() == 1);
  CHECK(transport.last_request().method == http_method::delete_);
  CHECK(transport.last_request().url == session_url);
  CHECK(*header(transport.last_request(), "Authorization") == bearer(refresh_token));
  CHECK_FALSE(user->logged_in());

  for (const op o : key_ops) {
    CAPTURE(op_name(o));
    const auto error = run<Policy>(o, transport, user);
    REQUIRE(error.has_value());
    CHECK(error->code == errc::not_logged_in);
    CHECK(error->kind() == error_kind::client);
    CHECK(error->http_status == 0);
    check_context(*error, o);
  }
  const auto refreshed = error_of<Policy>([&] { return app.refresh(user); });
  REQUIRE(refreshed.has_value());
  CHECK(refreshed->code == errc::not_logged_in);
  const auto profile = error_of<Policy>([&] { return app.profile(user); });
  REQUIRE(profile.has_value());
  CHECK(profile->code == errc::not_logged_in);

  // Logging out again sends nothing and succeeds.
  CHECK_FALSE(error_of<Policy>([&] { return app.log_out(user); }).has_value());
  CHECK(transport.request_count() == 1);
}

TEST_CASE_TEMPLATE("log out ends the session locally even when the server fails or cannot be reached", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  {
    scripted_transport transport;
    transport.respond(500, error_json("boom", "InternalServerError"));
    auto user = make_user();
    app_client<Policy> app{transport, make_config()};
    const auto error = error_of<Policy>([&] { return app.log_out(user); });
    REQUIRE(error.has_value());
    CHECK(error->code == errc::internal_server_error);
    CHECK(error->http_status == 500);
    CHECK(error->context == "log out");
    CHECK_FALSE(user->logged_in());
  }
  {
    scripted_transport transport;
    transport.fail(errc::connection_failed, "refused");
    auto user = make_user();
    app_client<Policy> app{transport, make_config()};
    const auto error = error_of<Policy>([&] { return app.log_out(user); });
    REQUIRE(error.has_value());
    CHECK(error->code == errc::connection_failed);
    CHECK(error->http_status == 0);
    CHECK_FALSE(user->logged_in());
    key_client<apikeys::return_result> keys{transport, user};
    CHECK(keys.fetch_all().error().code == errc::not_logged_in);
    CHECK(transport.request_count() == 1);
  }
}

TEST_CASE("refresh replaces the access token and keeps the refresh token") {
  scripted_transport transport;
  transport.respond(201, fmt::format(R"({{"access_token":"{}"}})", refreshed_access_token));
  auto user = make_user();
  app_client<apikeys::throw_on_error> app{transport, make_config()};
  app.refresh(user);
  CHECK(user->access_token().reveal() == refreshed_access_token);
  CHECK(user->refresh_token().reveal() == refresh_token);
  const auto request = transport.last_request();
  CHECK(request.method == http_method::post);
  CHECK(request.url == session_url);
  CHECK(request.body.empty());
  CHECK(*header(request, "Authorization") == bearer(refresh_token));
  CHECK(request.timeout == std::chrono::milliseconds{4321});
}

// --- docs/protocol.md section 4: the profile fetched at log in -----------------------------------------------------

constexpr std::string_view profile_json =
    R"({"user_id":"user-1","domain_id":"d","identities":[{"id":"i1","provider_type":"local-userpass",)"
    R"("provider_id":"p1"},{"id":"i2","provider_type":"api-key","provider_id":"p2"}],)"
    R"("data":{"email":"ada@example.com"},"type":"normal"})";

apikeys::app_config profile_config() {
  apikeys::app_config config = make_config();
  config.fetch_profile_at_login = true;
  return config;
}

// What app.profile() sends for a session with these tokens: the request a log in's profile must match.
http_request profile_request() {
  scripted_transport transport;
  transport.respond(200, std::string{profile_json});
  app_client<> app{transport, make_config()};
  REQUIRE(app.profile(make_user()).has_value());
  return transport.last_request();
}

TEST_CASE_TEMPLATE("log in fetches the profile with the new access token, and the session carries it", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  CHECK(apikeys::app_config{}.fetch_profile_at_login);  // on unless turned off
  scripted_transport transport;
  transport.respond(200, location_json());
  transport.respond(200, login_json());
  transport.respond(200, std::string{profile_json});
  app_client<Policy> app{transport, profile_config()};

  std::shared_ptr<session> user;
  if constexpr (std::is_same_v<Policy, apikeys::return_result>) {
    auto r = app.log_in(user_credentials());
    REQUIRE(r.has_value());
    user = *r;
  } else {
    user = app.log_in(user_credentials());
  }
  REQUIRE(user);
  CHECK(user->logged_in());
  const auto requests = transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].url == login_url);
  const http_request expected = profile_request();
  CHECK(expected.method == http_method::get);
  CHECK(expected.url == profile_url);
  const std::vector<http_header> profile_headers{{"Accept", "application/json"},
                                                 {"Content-Type", "application/json;charset=utf-8"},
                                                 {"Authorization", bearer(access_token)}};
  CHECK(expected.headers == profile_headers);
  CHECK(expected.timeout == std::chrono::milliseconds{4321});
  check_same_request(requests[2], expected);

  const std::shared_ptr<const apikeys::user_profile> profile = user->profile();
  REQUIRE(profile);
  CHECK(profile->user_id == "user-1");
  CHECK(profile->type == "normal");
  REQUIRE(profile->identities.size() == 2);
  CHECK(profile->identities[0].id == "i1");
  CHECK(profile->identities[0].provider_type == "local-userpass");
  CHECK(profile->identities[1].provider_type == "api-key");
  CHECK(profile->identities[1].provider_id == "p2");
  CHECK(profile->data == R"({"email":"ada@example.com"})");
}

TEST_CASE_TEMPLATE("a failed profile fails the log in, in its context, and sends nothing more", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  SUBCASE("a 500") {
    scripted_transport transport;
    transport.respond(200, location_json());
    transport.respond(200, login_json());
    transport.respond(500, error_json("boom", "InternalServerError"));
    app_client<Policy> app{transport, profile_config()};
    const auto error = error_of<Policy>([&] { return app.log_in(user_credentials()); });
    REQUIRE(error.has_value());
    CHECK(error->code == errc::internal_server_error);
    CHECK(error->http_status == 500);
    CHECK(error->message == "boom");
    CHECK(error->context == "log in");
    CHECK(transport.request_count() == 3);
    CHECK(transport.pending() == 0);
  }
  SUBCASE("a 401, then a refused refresh: the profile's 401, after exactly one refresh with the new token") {
    scripted_transport transport;
    transport.respond(200, location_json());
    transport.respond(200, login_json());
    transport.respond(401, error_json("access token expired", "InvalidSession"));
    transport.respond(401, error_json("refresh token revoked", "InvalidSession"));
    app_client<Policy> app{transport, profile_config()};
    const auto error = error_of<Policy>([&] { return app.log_in(user_credentials()); });
    REQUIRE(error.has_value());
    CHECK(error->code == errc::invalid_session);
    CHECK(error->message == "access token expired");
    CHECK(error->context == "log in");
    const auto requests = transport.requests();
    REQUIRE(requests.size() == 4);
    CHECK(requests[3].method == http_method::post);
    CHECK(requests[3].url == session_url);
    CHECK(*header(requests[3], "Authorization") == bearer(refresh_token));
  }
  SUBCASE("an answer that is not a profile") {
    scripted_transport transport;
    transport.respond(200, location_json());
    transport.respond(200, login_json());
    transport.respond(200, R"({"user_id":7})");
    app_client<Policy> app{transport, profile_config()};
    const auto error = error_of<Policy>([&] { return app.log_in(user_credentials()); });
    REQUIRE(error.has_value());
    CHECK(error->code == errc::bad_response);
    CHECK(error->context == "log in");
    CHECK(transport.request_count() == 3);
  }
  SUBCASE("no answer") {
    scripted_transport transport;
    transport.respond(200, location_json());
    transport.respond(200, login_json());
    transport.fail(errc::connection_failed, "refused");
    app_client<Policy> app{transport, profile_config()};
    const auto error = error_of<Policy>([&] { return app.log_in(user_credentials()); });
    REQUIRE(error.has_value());
    CHECK(error->code == errc::connection_failed);
    CHECK(error->context == "log in");
    CHECK(transport.request_count() == 3);
  }
}

TEST_CASE("a 401 on the profile at log in is answered by one refresh and one retry, and the log in succeeds") {
  scripted_transport transport;
  transport.respond(200, location_json());
  transport.respond(200, login_json());
  transport.respond(401, error_json("invalid session", "InvalidSession"));
  transport.respond(201, fmt::format(R"({{"access_token":"{}"}})", refreshed_access_token));
  transport.respond(200, std::string{profile_json});
  app_client<> app{transport, profile_config()};
  const auto user = app.log_in(user_credentials());
  REQUIRE(user.has_value());
  CHECK((*user)->logged_in());
  CHECK((*user)->access_token().reveal() == refreshed_access_token);
  REQUIRE((*user)->profile());
  CHECK((*user)->profile()->identities.size() == 2);
  const auto requests = transport.requests();
  REQUIRE(requests.size() == 5);
  CHECK(*header(requests[4], "Authorization") == bearer(refreshed_access_token));
}

TEST_CASE("with fetch_profile_at_login off, log in sends the login request alone and the session has no profile") {
  scripted_transport transport;
  transport.respond(200, location_json());
  transport.respond(200, login_json());
  app_client<> app{transport, make_config()};
  const auto user = app.log_in(user_credentials());
  REQUIRE(user.has_value());
  CHECK(transport.request_count() == 2);
  CHECK(transport.last_request().url == login_url);
  CHECK((*user)->profile() == nullptr);
}

TEST_CASE("app.profile() replaces the profile the session carries; a failed one leaves it") {
  scripted_transport transport;
  transport.respond(200, std::string{profile_json});
  transport.respond(200, R"({"user_id":"user-1","identities":[],"data":{"name":"Ada"},"type":"normal"})");
  transport.respond(500, error_json("boom", "InternalServerError"));
  auto user = make_user();
  CHECK(user->profile() == nullptr);
  app_client<> app{transport, make_config()};
  REQUIRE(app.profile(user).has_value());
  const auto first = user->profile();
  REQUIRE(first);
  CHECK(first->identities.size() == 2);
  REQUIRE(app.profile(user).has_value());
  const auto second = user->profile();
  REQUIRE(second);
  CHECK(second->identities.empty());
  CHECK(second->data == R"({"name":"Ada"})");
  CHECK(first->identities.size() == 2);  // a snapshot handed out never changes
  CHECK_FALSE(app.profile(user).has_value());
  CHECK(user->profile() == second);
}

// --- docs/protocol.md section 6: location ------------------------------------------------------------------------

TEST_CASE("location is asked once, first, with no headers, then cached across log ins and registration") {
  scripted_transport transport;
  transport.respond(200, location_json());
  transport.respond(200, login_json());
  transport.respond(201);
  transport.respond(200, login_json("user-2"));
  auto config = make_config();
  config.base_url = std::string{base_url} + "/";  // a trailing '/' is not doubled
  app_client<apikeys::throw_on_error> app{transport, config};

  const std::shared_ptr<session> first = app.log_in(user_credentials());
  app.register_user("bob@example.com", "hunter2");
  const std::shared_ptr<session> second =
      app.log_in(apikeys::credentials::email_password("bob@example.com", "hunter2"));

  const auto requests = transport.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].method == http_method::get);
  CHECK(requests[0].url == location_url);
  CHECK(requests[0].headers.empty());
  CHECK(requests[0].body.empty());
  CHECK(requests[0].timeout == std::chrono::milliseconds{4321});

  CHECK(requests[1].method == http_method::post);
  CHECK(requests[1].url == login_url);
  const std::vector<http_header> login_headers{{"Accept", "application/json"},
                                               {"Content-Type", "application/json;charset=utf-8"}};
  CHECK(requests[1].headers == login_headers);
  CHECK(requests[1].body.starts_with(
      R"({"provider":"local-userpass","username":"ada@example.com","password":"correct horse","options":{"device":{"appId":"keys-app-abcde",)"));
  CHECK(requests[2].url == register_url);
  CHECK(requests[2].body == R"({"email":"bob@example.com","password":"hunter2"})");
  CHECK(requests[3].url == login_url);

  CHECK(first->user_id() == "user-1");
  CHECK(first->device_id() == "device-9");
  CHECK(first->provider() == "local-userpass");
  CHECK(first->host() == host);
  CHECK(first->logged_in());
  CHECK(first->access_token().reveal() == access_token);
  CHECK(first->refresh_token().reveal() == refresh_token);
  CHECK(second->user_id() == "user-2");

  // Key clients of these sessions talk to the located host, with the app's timeout.
  transport.respond(200, "[]");
  auto keys = app.api_keys(first);
  CHECK(keys.fetch_all().empty());
  CHECK(transport.last_request().url == keys_url);
  CHECK(transport.last_request().timeout == std::chrono::milliseconds{4321});
  CHECK(transport.request_count() == 5);

  // location() itself answers from the cache.
  const apikeys::location_response where = app.location();
  CHECK(where.hostname == host);
  CHECK(where.ws_hostname == "wss://us-east-1.aws.ws.example");
  CHECK(transport.request_count() == 5);
}

TEST_CASE("registration is the first call: it asks location too") {
  scripted_transport transport;
  transport.respond(200, location_json());
  transport.respond(201);
  app_client<> app{transport, make_config()};
  CHECK(app.register_user("bob@example.com", "hunter2").has_value());
  const auto requests = transport.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].url == location_url);
  CHECK(requests[1].url == register_url);
}

// Issue #13: a hostname with a path prefix (a gateway in front of the server) is used verbatim, as
// realm-core uses it: every later URL is that hostname, its trailing '/' removed, followed by the route.
TEST_CASE("a location hostname with a path prefix starts every later URL, byte for byte") {
  scripted_transport transport;
  transport.respond(200, R"({"deployment_model":"GLOBAL","location":"US-VA",)"
                         R"("hostname":"https://gateway.example.com/realm/","ws_hostname":"wss://gateway.example.com/realm"})");
  transport.respond(200, login_json());
  transport.respond(201, fmt::format(R"({{"_id":"{}","name":"my-key","disabled":false,"key":"{}"}})", key_id_text, key_value));
  transport.respond(200, "[" + key_json(key_id_text, "my-key", false) + "]");
  transport.respond(204);
  auto config = make_config();
  config.base_url = "https://gateway.example.com/realm";  // the location call keeps a base URL's prefix too
  app_client<apikeys::throw_on_error> app{transport, config};

  const std::shared_ptr<session> user = app.log_in(apikeys::credentials::api_key(key_value));
  CHECK(user->host() == "https://gateway.example.com/realm");
  auto keys = app.api_keys(user);
  const apikeys::api_key created = keys.create("my-key");
  CHECK(created.id == key_id);
  const std::vector<apikeys::api_key> all = keys.fetch_all();
  REQUIRE(all.size() == 1);
  CHECK(all[0].name == "my-key");
  keys.disable(key_id);

  const auto requests = transport.requests();
  REQUIRE(requests.size() == 5);
  CHECK(requests[0].method == http_method::get);
  CHECK(requests[0].url == "https://gateway.example.com/realm/api/client/v2.0/app/keys-app-abcde/location");
  CHECK(requests[1].method == http_method::post);
  CHECK(requests[1].url ==
        "https://gateway.example.com/realm/api/client/v2.0/app/keys-app-abcde/auth/providers/api-key/login");
  CHECK(requests[2].method == http_method::post);
  CHECK(requests[2].url == "https://gateway.example.com/realm/api/client/v2.0/auth/api_keys");
  CHECK(requests[2].body == R"({"name":"my-key"})");
  CHECK(requests[3].method == http_method::get);
  CHECK(requests[3].url == "https://gateway.example.com/realm/api/client/v2.0/auth/api_keys");
  CHECK(requests[4].method == http_method::put);
  CHECK(requests[4].url ==
        "https://gateway.example.com/realm/api/client/v2.0/auth/api_keys/5e5e6f0abe4ae2a2c2c2d329/disable");
  for (std::size_t i = 2; i < requests.size(); ++i) {
    CAPTURE(i);
    CHECK(header(requests[i], "Authorization") != nullptr);
  }

  const apikeys::location_response where = app.location();
  CHECK(where.hostname == "https://gateway.example.com/realm");
  CHECK(where.ws_hostname == "wss://gateway.example.com/realm");
  CHECK(transport.request_count() == 5);
}

TEST_CASE("a location base URL at the origin and a prefixed hostname: only later calls carry the prefix") {
  scripted_transport transport;
  transport.respond(200, R"({"hostname":"http://127.0.0.1:9/p%20x/realm","ws_hostname":"ws://127.0.0.1:9/p%20x/realm"})");
  transport.respond(200, login_json());
  transport.respond(200, "[]");
  app_client<apikeys::throw_on_error> app{transport, make_config()};
  const std::shared_ptr<session> user = app.log_in(user_credentials());
  CHECK(app.api_keys(user).fetch_all().empty());
  const auto requests = transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].url == location_url);
  CHECK(requests[1].url ==
        "http://127.0.0.1:9/p%20x/realm/api/client/v2.0/app/keys-app-abcde/auth/providers/local-userpass/login");
  CHECK(requests[2].url == "http://127.0.0.1:9/p%20x/realm/api/client/v2.0/auth/api_keys");
}

TEST_CASE_TEMPLATE("a failed location fails the log in that triggered it, and the next call asks again", Policy,
                   apikeys::return_result, apikeys::throw_on_error) {
  struct failure {
    std::string_view what;
    std::function<void(scripted_transport&)> script;
    errc code;
    int status;
    std::string_view message;
  };
  const failure failures[] = {
      {"transport failure", [](scripted_transport& t) { t.fail(errc::connection_failed, "no route"); },
       errc::connection_failed, 0, "no route"},
      {"500 with an error body",
       [](scripted_transport& t) { t.respond(500, error_json("boom", "InternalServerError")); },
       errc::internal_server_error, 500, "boom"},
      {"500 without a body", [](scripted_transport& t) { t.respond(500); }, errc::http_error, 500, "HTTP status 500"},
      {"malformed JSON", [](scripted_transport& t) { t.respond(200, R"({"hostname":"https://x.example",)"); },
       errc::bad_response, 200, ""},
      {"missing hostname", [](scripted_transport& t) { t.respond(200, R"({"ws_hostname":"wss://x.example"})"); },
       errc::bad_response, 200, "malformed response: missing field 'hostname'"},
      {"missing ws_hostname", [](scripted_transport& t) { t.respond(200, R"({"hostname":"https://x.example"})"); },
       errc::bad_response, 200, "malformed response: missing field 'ws_hostname'"},
      {"hostname that is not a URL",
       [](scripted_transport& t) { t.respond(200, R"({"hostname":"x","ws_hostname":"y"})"); }, errc::bad_response, 200,
       "malformed response: field 'hostname' must be an http:// or https:// URL"},
  };
  for (const auto& f : failures) {
    CAPTURE(f.what);
    scripted_transport transport;
    f.script(transport);
    app_client<Policy> app{transport, make_config()};

    const auto error = error_of<Policy>([&] { return app.log_in(user_credentials()); });
    REQUIRE(error.has_value());
    CHECK(error->code == f.code);
    CHECK(error->http_status == f.status);
    if (f.message.empty()) {
      CHECK(error->message.starts_with("malformed response: invalid JSON"));
    } else {
      CHECK(error->message == f.message);
    }
    CHECK(error->context == "look up the app's location");
    REQUIRE(transport.request_count() == 1);  // no log in was sent
    CHECK(transport.last_request().url == location_url);

    // Not cached: the next call asks again, and now succeeds.
    transport.respond(200, location_json());
    transport.respond(200, login_json());
    CHECK_FALSE(error_of<Policy>([&] { return app.log_in(user_credentials()); }).has_value());
    const auto requests = transport.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[1].url == location_url);
    CHECK(requests[2].url == login_url);
  }
}

TEST_CASE("a failed log in leaves the location cached") {
  scripted_transport transport;
  transport.respond(200, location_json());
  transport.respond(401, error_json("unauthorized", "AuthError"));
  transport.respond(200, login_json());
  app_client<> app{transport, make_config()};
  const auto refused = app.log_in(apikeys::credentials::api_key("not-a-real-key"));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == errc::auth_error);
  CHECK(refused.error().context == "log in");
  const auto accepted = app.log_in(apikeys::credentials::api_key(key_value));
  REQUIRE(accepted.has_value());
  CHECK((*accepted)->provider() == "api-key");
  const auto requests = transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[2].url ==
        "https://us-east-1.aws.services.example/api/client/v2.0/app/keys-app-abcde/auth/providers/api-key/login");
  CHECK(requests[2].body.starts_with(
      fmt::format(R"({{"provider":"api-key","key":"{}","options":{{"device":{{)", key_value)));
}

TEST_CASE("a malformed log in answer is a bad_response and makes no session") {
  scripted_transport transport;
  transport.respond(200, location_json());
  transport.respond(200, R"({"access_token":"a.b.c","refresh_token":"d.e.f","user_id":"u"})");
  app_client<> app{transport, make_config()};
  const auto r = app.log_in(user_credentials());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::bad_response);
  CHECK(r.error().message == "malformed response: missing field 'device_id'");
  CHECK(r.error().context == "log in");
}

TEST_CASE("the located hostname loses a trailing '/' before routes are appended to it") {
  scripted_transport transport;
  transport.respond(200, R"({"hostname":"http://127.0.0.1:9090/","ws_hostname":"ws://127.0.0.1:9090/"})");
  transport.respond(200, login_json());
  transport.respond(200, "[]");
  app_client<apikeys::throw_on_error> app{transport, make_config()};
  auto user = app.log_in(user_credentials());
  CHECK(user->host() == "http://127.0.0.1:9090");
  CHECK(app.api_keys(user).fetch_all().empty());
  const auto requests = transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].url ==
        "http://127.0.0.1:9090/api/client/v2.0/app/keys-app-abcde/auth/providers/local-userpass/login");
  CHECK(requests[2].url == "http://127.0.0.1:9090/api/client/v2.0/auth/api_keys");
}

TEST_CASE("a key named like an error field is a key, not an error") {
  scripted_transport transport;
  transport.respond(
      201, fmt::format(R"({{"_id":"{}","name":"error_code","disabled":false,"key":"{}"}})", key_id_text, key_value));
  transport.respond(200, key_json(key_id_text, "error", true));
  transport.respond(200, "[" + key_json(key_id_text, "error_code", false) + "]");
  auto user = make_user();
  key_client<> keys{transport, user};
  const auto created = keys.create("error_code");
  REQUIRE(created.has_value());
  CHECK(created->name == "error_code");
  const auto fetched = keys.fetch(key_id);
  REQUIRE(fetched.has_value());
  REQUIRE(fetched->has_value());
  CHECK((*fetched)->name == "error");
  const auto all = keys.fetch_all();
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].name == "error_code");
}

// --- shared use ---------------------------------------------------------------------------------------------

TEST_CASE("one key client shared by 8 threads: every call answered and accounted for") {
  scripted_transport transport;
  transport.fallback([](const http_request& request) -> apikeys::result<http_response, apikeys::transport_error> {
    http_response response;
    if (request.method == http_method::put) {
      response.status = 204;
      return response;
    }
    response.status = 200;
    response.headers.push_back({"Content-Type", "application/json"});
    if (request.url == keys_url) {
      response.body = "[" + key_json(key_id_text, "first", false) + "," + key_json(other_id_text, "second", true) + "]";
    } else {
      response.body = key_json(request.url.substr(request.url.size() - 24), "one", false);
    }
    return response;
  });
  auto user = make_user();
  key_client<> keys{transport, user};

  constexpr int threads = 8;
  constexpr int calls = 100;
  std::atomic<int> fetched{0}, listed{0}, enabled{0}, wrong{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < calls; ++i) {
        switch ((t + i) % 3) {
          case 0: {
            const auto r = keys.fetch(t % 2 == 0 ? key_id : other_id);
            if (r && r->has_value() && (*r)->id == (t % 2 == 0 ? key_id : other_id)) {
              ++fetched;
            } else {
              ++wrong;
            }
            break;
          }
          case 1: {
            const auto r = keys.fetch_all();
            if (r && r->size() == 2 && (*r)[0].id == key_id && !(*r)[1].enabled) {
              ++listed;
            } else {
              ++wrong;
            }
            break;
          }
          default: {
            if (keys.enable(key_id)) {
              ++enabled;
            } else {
              ++wrong;
            }
          }
        }
      }
    });
  }
  for (auto& w : workers) w.join();

  int expected[3] = {0, 0, 0};
  for (int t = 0; t < threads; ++t)
    for (int i = 0; i < calls; ++i) ++expected[(t + i) % 3];
  CHECK(wrong.load() == 0);
  CHECK(fetched.load() == expected[0]);
  CHECK(listed.load() == expected[1]);
  CHECK(enabled.load() == expected[2]);
  CHECK(fetched.load() + listed.load() + enabled.load() == threads * calls);
  CHECK(transport.request_count() == static_cast<std::size_t>(threads * calls));
  for (const auto& r : transport.requests()) CHECK(*header(r, "Authorization") == bearer(refresh_token));
  CHECK(user->logged_in());
}

TEST_CASE("one app shared by threads asks location once") {
  scripted_transport transport;
  std::atomic<int> location_calls{0};
  transport.fallback([&](const http_request& request) -> apikeys::result<http_response, apikeys::transport_error> {
    http_response response;
    response.status = 200;
    response.headers.push_back({"Content-Type", "application/json"});
    if (request.url == location_url) {
      ++location_calls;
      response.body = location_json();
    } else {
      response.body = login_json();
    }
    return response;
  });
  app_client<> app{transport, make_config()};
  std::atomic<int> ok{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < 10; ++i)
        if (app.log_in(user_credentials())) ++ok;
    });
  for (auto& w : workers) w.join();
  CHECK(ok.load() == 40);
  CHECK(location_calls.load() == 1);
  CHECK(transport.request_count() == 41);
}

// --- errors as std::error_code ------------------------------------------------------------------------------

TEST_CASE("api_error::error_code() is the apikeys errc as a std::error_code") {
  scripted_transport transport;
  transport.respond(404, error_json("API key not found", "APIKeyNotFound"));
  auto user = make_user();
  key_client<> keys{transport, user};
  const auto r = keys.disable(key_id);
  REQUIRE_FALSE(r.has_value());
  const std::error_code ec = r.error().error_code();
  CHECK(ec == errc::api_key_not_found);
  CHECK(ec == apikeys::make_error_code(errc::api_key_not_found));
  CHECK(ec != apikeys::make_error_code(errc::api_key_already_exists));
  CHECK(ec.category() == apikeys::apikeys_category());
  CHECK(std::string{ec.category().name()} == "apikeys");
  CHECK(ec.message() == "API key not found");
  CHECK(ec.value() == static_cast<int>(errc::api_key_not_found));
  CHECK(static_cast<bool>(ec));
  // Not confused with the generic category's numbers.
  CHECK(ec != std::error_code(static_cast<int>(errc::api_key_not_found), std::generic_category()));
}

TEST_CASE("kind() classifies every errc family") {
  CHECK(apikeys::kind_of(static_cast<errc>(0)) == error_kind::none);
  CHECK(apikeys::kind_of(errc::invalid_argument) == error_kind::client);
  CHECK(apikeys::kind_of(errc::not_logged_in) == error_kind::client);
  for (const errc e : {errc::transport_error, errc::connection_failed, errc::timeout, errc::tls_error,
                       errc::connection_reset, errc::too_many_redirects})
    CHECK(apikeys::kind_of(e) == error_kind::transport);
  CHECK(apikeys::kind_of(errc::bad_response) == error_kind::bad_response);
  CHECK(apikeys::kind_of(errc::http_error) == error_kind::http);
  for (const errc e : {errc::unknown_service_error, errc::server_error, errc::missing_auth_req, errc::invalid_session,
                       errc::invalid_parameter, errc::missing_parameter, errc::internal_server_error,
                       errc::api_key_not_found, errc::api_key_already_exists, errc::user_disabled, errc::auth_error,
                       errc::bad_request, errc::maintenance_in_progress, errc::auth_provider_not_found})
    CHECK(apikeys::kind_of(e) == error_kind::service);

  api_error e;
  e.code = errc::tls_error;
  CHECK(e.kind() == error_kind::transport);
  CHECK(e.error_code() == errc::tls_error);
}

// The one test of the error_code name table (docs/protocol.md section 5): the table itself, a response read
// with it on any status, and a client's call that gets the answer.
TEST_CASE("the twelve known error_code names map to their errc; any other is server_error with the name kept") {
  const std::pair<std::string_view, errc> names[] = {
      {"MissingAuthReq", errc::missing_auth_req},
      {"InvalidSession", errc::invalid_session},
      {"InvalidParameter", errc::invalid_parameter},
      {"MissingParameter", errc::missing_parameter},
      {"InternalServerError", errc::internal_server_error},
      {"APIKeyNotFound", errc::api_key_not_found},
      {"APIKeyAlreadyExists", errc::api_key_already_exists},
      {"UserDisabled", errc::user_disabled},
      {"AuthError", errc::auth_error},
      {"BadRequest", errc::bad_request},
      {"MaintenanceInProgress", errc::maintenance_in_progress},
      {"AuthProviderNotFound", errc::auth_provider_not_found},
      // Wire names are exact: a near miss is as unknown as a name never seen.
      {"apikeynotfound", errc::server_error},
      {"APIKeyNotFound ", errc::server_error},
      {"FunctionNotFound", errc::server_error},
      {"SomethingNew", errc::server_error},
      {"ArrayOutOfBounds", errc::server_error},
      {"NoSuchThing", errc::server_error},
  };
  const auto json_answer = [](int status, std::string body) {
    http_response response;
    response.status = status;
    response.headers.push_back({"Content-Type", "application/json"});
    response.body = std::move(body);
    return response;
  };
  for (const auto& entry : names) {
    const std::string_view name = entry.first;
    const errc code = entry.second;
    CAPTURE(name);
    CHECK(apikeys::errc_from_server_code(name) == code);

    const auto bad_request =
        apikeys::classify_response(json_answer(400, fmt::format(R"({{"error":"m","error_code":"{}"}})", name)));
    REQUIRE(bad_request.has_value());
    CHECK(bad_request->code == code);
    CHECK(bad_request->server_code == name);
    CHECK(bad_request->message == "m");
    CHECK(bad_request->http_status == 400);
    CHECK(bad_request->kind() == error_kind::service);
    const auto teapot =
        apikeys::classify_response(json_answer(418, fmt::format(R"({{"error_code":"{}","error":"teapot"}})", name)));
    REQUIRE(teapot.has_value());
    CHECK(teapot->code == code);
    CHECK(teapot->server_code == name);
    CHECK(teapot->message == "teapot");
    CHECK(teapot->http_status == 418);

    scripted_transport transport;
    transport.respond(400, error_json("m", name));
    auto user = make_user();
    key_client<> keys{transport, user};
    const auto r = keys.enable(key_id);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == code);
    CHECK(r.error().server_code == name);
  }
  CHECK(apikeys::errc_from_server_code("") == errc::server_error);
  static_assert(apikeys::errc_from_server_code("AuthError") == errc::auth_error);
}

}  // namespace
