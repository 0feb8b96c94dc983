// apikeys tests: no secret (API key value, password, access or refresh token) is ever printed: a whole
// session's story through the clients, with everything printable collected and searched for them.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/scripted_transport.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/names.hpp"
#include "support/sample_tokens.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::testing::scripted_transport;
using namespace apikeys::literals;

// The secrets of the story. None of them, nor any 10-character piece of one, may be printed.
using namespace apikeys_tests::sample_tokens;
constexpr std::string_view password = "pa55-Tr0ub4dor&3-horse";
constexpr std::string_view all_secrets[] = {key_value,        password,          access_token,          refresh_token,
                                            key_access_token, key_refresh_token, refreshed_access_token};

// Every token shares the standard JWT header; what identifies a token is its payload and signature.
std::vector<std::string_view> secret_pieces(std::string_view s) {
  if (s.starts_with(jwt_header)) s.remove_prefix(jwt_header.size());
  constexpr std::size_t width = 10;
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i + width <= s.size(); ++i) pieces.push_back(s.substr(i, width));
  return pieces;
}

constexpr std::string_view key_id_text = "65a1b2c3d4e5f60718293a4b";
constexpr auto key_id = "65a1b2c3d4e5f60718293a4b"_oid;
constexpr std::string_view host = "https://eu-west-1.aws.services.example";
constexpr std::string_view link = "https://services.cloud.mongodb.com/groups/g1/apps/a1/logs?co_id=65a1";

// Everything the story prints, through fmt and through operator<<.
struct collection {
  std::string text;
  int items = 0;

  template <class T>
  void print(const T& value) {
    text.append(fmt::format("{}", value)).append("\n");
    std::ostringstream os;
    os << value;
    text.append(os.str()).append("\n");
    ++items;
  }
  void print_error(const api_error& e) {
    print(e);
    text.append(e.error_code().message()).append("\n");
    text.append(e.message).append(e.context).append(e.server_code).append(e.link).append("\n");
  }
  void print_exception(const apikeys::api_exception& ex) {
    print(ex);
    text.append(ex.what()).append("\n");
    print_error(ex.error());
  }
};

std::string login_json(std::string_view access, std::string_view refresh, std::string_view device) {
  return fmt::format(R"({{"access_token":"{}","refresh_token":"{}","user_id":"user-42","device_id":"{}"}})", access,
                     refresh, device);
}

std::string error_json(std::string_view message, std::string_view code) {
  if (code.empty()) return fmt::format(R"({{"error":"{}","link":"{}"}})", message, link);
  return fmt::format(R"({{"error":"{}","error_code":"{}","link":"{}"}})", message, code, link);
}

http_response json_response(int status, std::string body) {
  http_response r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/json"});
  r.body = std::move(body);
  return r;
}

http_response empty_response(int status) {
  http_response r;
  r.status = status;
  return r;
}

// Queues a response and keeps a copy, so the responses can be printed as well.
struct script {
  scripted_transport& transport;
  std::vector<http_response>& sent;
  void operator()(http_response r) {
    sent.push_back(r);
    transport.respond(std::move(r));
  }
};

std::shared_ptr<session> fresh_session() {
  return std::make_shared<session>("user-42", "device-1", "local-userpass", std::string{host}, secret{access_token},
                                   secret{refresh_token});
}

struct error_row {
  int status;
  std::string_view code;
  std::string_view message;
};

constexpr error_row section5_rows[] = {
    {404, "APIKeyNotFound", "API key not found"},
    {400, "InvalidParameter", "can only contain ASCII letters, numbers, underscores, and hyphens"},
    {400, "", "'name' is a required string"},
    {409, "APIKeyAlreadyExists", "API key with name already exists"},
    {400, "InvalidParameter", "user may only have 20 API keys"},
    {403, "AuthError", "anonymous users cannot use API keys"},
    {403, "AuthError", "cannot delete the API key in use"},
    {401, "MissingAuthReq", "must authenticate first"},
    {401, "", "expected Authorization header with JWT (Bearer schema)"},
    {401, "InvalidSession", "invalid session"},
    {400, "BadRequest", "invalid request body"},
    {401, "AuthError", "unauthorized"},
};

struct throwing_transport {
  apikeys::http_response send(const apikeys::http_request&) { throw std::runtime_error("socket closed by peer"); }
};

TEST_CASE("no secret appears in anything the library prints, through a whole story") {
  scripted_transport transport;
  std::vector<http_response> responses;
  script respond{transport, responses};
  collection out;

  apikeys::app_config config;
  config.app_id = "leak-check-app";
  apikeys::basic_app_client<scripted_transport&, apikeys::inline_executor, apikeys::return_result> app{transport,
                                                                                                       config};

  // Location, then log in with email and password.
  respond(
      json_response(200, fmt::format(R"({{"hostname":"{}","ws_hostname":"wss://eu-west-1.aws.ws.example"}})", host)));
  respond(json_response(200, login_json(access_token, refresh_token, "device-1")));
  // The profile a log in fetches with the new access token.
  respond(json_response(200, R"({"user_id":"user-42","identities":[{"id":"i1","provider_type":"local-userpass"}],"data":{"email":"ada@example.com"},"type":"normal"})"));
  const auto user_creds = apikeys::credentials::email_password("ada@example.com", password);
  out.print(user_creds);
  out.print(user_creds.proof());
  auto logged_in = app.log_in(user_creds);
  REQUIRE(logged_in.has_value());
  const std::shared_ptr<session> user = *logged_in;
  out.print(*user);
  out.print(user->access_token());
  out.print(user->refresh_token());

  auto keys = app.api_keys(user);
  auto throwing_keys = app.api_keys<apikeys::throw_on_error>(user);

  // Create: the only answer that carries the key's value.
  respond(json_response(
      201, fmt::format(R"({{"_id":"{}","name":"laptop","disabled":false,"key":"{}"}})", key_id_text, key_value)));
  const auto created = keys.create("laptop");
  REQUIRE(created.has_value());
  REQUIRE(created->value.has_value());
  CHECK(created->value->reveal() == key_value);  // the secret really went through the client
  out.print(*created);
  out.print(*created->value);
  out.print(created->id);
  CHECK(fmt::format("{}", *created) ==
        "api_key{id=65a1b2c3d4e5f60718293a4b, name=\"laptop\", enabled=true, value=<redacted>}");

  // Fetch and fetch all, from a server that wrongly repeats the value.
  respond(json_response(
      200, fmt::format(R"({{"_id":"{}","name":"laptop","disabled":false,"key":"{}"}})", key_id_text, key_value)));
  const auto fetched = keys.fetch(key_id);
  REQUIRE(fetched.has_value());
  REQUIRE(fetched->has_value());
  CHECK_FALSE((*fetched)->value.has_value());
  out.print(**fetched);
  respond(json_response(
      200, fmt::format(R"([{{"_id":"{}","name":"laptop","disabled":true,"key":"{}"}}])", key_id_text, key_value)));
  const auto listed = keys.fetch_all();
  REQUIRE(listed.has_value());
  for (const auto& k : *listed) out.print(k);

  respond(empty_response(204));
  CHECK(keys.enable(key_id).has_value());
  respond(empty_response(204));
  CHECK(keys.disable(key_id).has_value());
  respond(empty_response(204));
  CHECK(keys.remove(key_id).has_value());

  // Log another device in with the key itself.
  respond(json_response(200, login_json(key_access_token, key_refresh_token, "device-2")));
  respond(json_response(200, R"({"user_id":"user-42","identities":[{"id":"i2","provider_type":"api-key"}],"data":{},"type":"normal"})"));
  const auto key_creds = apikeys::credentials::api_key(*created->value);
  out.print(key_creds);
  const auto by_key = app.log_in(key_creds);
  REQUIRE(by_key.has_value());
  const std::shared_ptr<session> device = *by_key;
  out.print(*device);

  // Profile: a 401, a refresh (a new access token), the retry.
  respond(json_response(401, error_json("invalid session", "InvalidSession")));
  respond(json_response(201, fmt::format(R"({{"access_token":"{}"}})", refreshed_access_token)));
  respond(json_response(200, R"({"user_id":"user-42","identities":[],"data":{},"type":"normal"})"));
  CHECK(app.profile(device).has_value());
  CHECK(device->access_token().reveal() == refreshed_access_token);
  out.print(*device);

  // Every error row of section 5, under both policies, through a key call and a log in.
  for (const auto& row : section5_rows) {
    auto victim = fresh_session();
    auto victim_keys = app.api_keys(victim);
    auto victim_throwing = app.api_keys<apikeys::throw_on_error>(victim);
    respond(json_response(row.status, error_json(row.message, row.code)));
    if (row.status == 401) respond(empty_response(204));  // the DELETE that revokes the session
    const auto failed = victim_keys.enable(key_id);
    REQUIRE_FALSE(failed.has_value());
    out.print_error(failed.error());

    if (victim->logged_in()) {
      respond(json_response(row.status, error_json(row.message, row.code)));
      try {
        victim_throwing.create("laptop");
        FAIL("create should have thrown");
      } catch (const apikeys::api_exception& ex) {
        out.print_exception(ex);
      }
    }
    out.print(*victim);

    respond(json_response(row.status, error_json(row.message, row.code)));
    const auto refused = app.log_in(apikeys::credentials::api_key(key_value));
    REQUIRE_FALSE(refused.has_value());
    out.print_error(refused.error());
  }

  // A 401 on a key call logs the user out; printing the session afterwards shows that, and nothing more.
  respond(json_response(401, error_json("invalid session", "InvalidSession")));
  respond(empty_response(204));  // the DELETE that revokes the session
  try {
    throwing_keys.fetch_all();
    FAIL("fetch_all should have thrown");
  } catch (const apikeys::api_exception& ex) {
    out.print_exception(ex);
  }
  CHECK_FALSE(user->logged_in());
  out.print(*user);
  const auto after = keys.fetch(key_id);
  REQUIRE_FALSE(after.has_value());
  out.print_error(after.error());

  // Malformed answers that hold secrets: the errors describe the shape, never the content.
  {
    auto victim = fresh_session();
    auto victim_keys = app.api_keys(victim);
    respond(json_response(
        201, fmt::format(R"({{"_id":"{}","name":"laptop","disabled":"no","key":"{}"}})", key_id_text, key_value)));
    respond(json_response(201, fmt::format(R"({{"_id":"{}","name":"laptop","disabled":false,"key":"{}"}} trailing)",
                                           key_id_text, key_value)));
    respond(json_response(
        201, fmt::format(R"({{"_id":"{}","name":"laptop","disabled":false,"key":{}}})", key_id_text, 12345)));
    for (int i = 0; i < 3; ++i) {
      const auto bad = victim_keys.create("laptop");
      REQUIRE_FALSE(bad.has_value());
      CHECK(bad.error().code == errc::bad_response);
      out.print_error(bad.error());
    }
    respond(json_response(200, fmt::format(R"({{"access_token":"{}","refresh_token":"{}","user_id":"u"}})",
                                           access_token, refresh_token)));
    respond(json_response(
        200, fmt::format(R"({{"access_token":"{}","refresh_token":7,"user_id":"u","device_id":"d"}})", access_token)));
    respond(json_response(200, fmt::format(R"({{"access_token":"{}","refresh_token":"{}" "user_id":"u"}})",
                                           access_token, refresh_token)));
    for (int i = 0; i < 3; ++i) {
      const auto bad = app.log_in(user_creds);
      REQUIRE_FALSE(bad.has_value());
      CHECK(bad.error().code == errc::bad_response);
      out.print_error(bad.error());
    }
    respond(json_response(201, fmt::format(R"({{"access_token":{}}})", 1)));
    respond(json_response(201, fmt::format(R"({{"token":"{}"}})", refreshed_access_token)));
    for (int i = 0; i < 2; ++i) {
      const auto bad = app.refresh(victim);
      REQUIRE_FALSE(bad.has_value());
      out.print_error(bad.error());
    }
  }

  // Registering, and transport failures of every kind, on calls that carry secrets.
  respond(json_response(409, error_json("name already in use", "AccountNameInUse")));
  const auto registered = app.register_user("ada@example.com", password);
  REQUIRE_FALSE(registered.has_value());
  out.print_error(registered.error());
  for (const errc kind : {errc::connection_failed, errc::timeout, errc::tls_error, errc::connection_reset,
                          errc::too_many_redirects, errc::transport_error}) {
    transport.fail(kind, "peer went away");
    const auto failed = app.log_in(user_creds);
    REQUIRE_FALSE(failed.has_value());
    out.print_error(failed.error());
    out.print(apikeys::transport_error{kind, "peer went away"});
  }
  {
    throwing_transport thrower;
    auto victim = fresh_session();
    apikeys::basic_api_key_client<throwing_transport&, apikeys::inline_executor, apikeys::return_result> thrown{thrower,
                                                                                                                victim};
    const auto r = thrown.create("laptop");
    REQUIRE_FALSE(r.has_value());
    out.print_error(r.error());
  }

  // Log out the key's device; print it before and after.
  out.print(*device);
  respond(empty_response(204));
  CHECK(app.log_out(device).has_value());
  CHECK_FALSE(device->logged_in());
  out.print(*device);
  out.print(device->refresh_token());

  // Every request the client sent, and every response it was given.
  const auto requests = transport.requests();
  for (const auto& r : requests) {
    out.print(r);
    for (const auto& h : r.headers) out.print(h);
    out.print(r.method);
  }
  for (const auto& r : responses) out.print(r);

  // The secrets were really on the wire (so their absence from the printout means something)...
  bool saw_password = false, saw_refresh = false, saw_key_login = false, saw_refreshed = false;
  for (const auto& r : requests) {
    saw_password = saw_password || r.body.find(password) != std::string::npos;
    saw_key_login = saw_key_login || r.body.find(key_value) != std::string::npos;
    if (const auto* auth = apikeys::find_header(r.headers, "Authorization")) {
      saw_refresh = saw_refresh || *auth == "Bearer " + std::string{refresh_token};
      saw_refreshed = saw_refreshed || *auth == "Bearer " + std::string{refreshed_access_token};
    }
  }
  CHECK(saw_password);
  CHECK(saw_refresh);
  CHECK(saw_key_login);
  CHECK(saw_refreshed);

  // ...the printout is substantial and shows what it should...
  CHECK(out.items > 30);
  CHECK(requests.size() > 40);
  CHECK(out.text.find("Authorization: <redacted>") != std::string::npos);
  CHECK(out.text.find("credentials{provider=local-userpass, username=ada@example.com}") != std::string::npos);
  CHECK(out.text.find("credentials{provider=api-key}") != std::string::npos);
  CHECK(out.text.find("session{user_id=user-42, device_id=device-2, provider=api-key, host=" + std::string{host} +
                      ", logged out}") != std::string::npos);
  CHECK(out.text.find("enable API key 65a1b2c3d4e5f60718293a4b: API key not found") != std::string::npos);
  CHECK(out.text.find("malformed response") != std::string::npos);
  CHECK(out.text.find("the transport threw: socket closed by peer") != std::string::npos);

  // ...and holds none of the secrets, whole or in part.
  for (const std::string_view s : all_secrets) {
    CAPTURE(s);
    CHECK(out.text.find(s) == std::string::npos);
    int pieces_found = 0;
    for (const auto piece : secret_pieces(s))
      if (out.text.find(piece) != std::string::npos) ++pieces_found;
    CHECK(pieces_found == 0);
  }
}

TEST_CASE("a secret prints as <redacted> through fmt and ostream") {
  const secret s{key_value};
  CHECK(fmt::format("{}", s) == "<redacted>");
  CHECK(fmt::format("[{}]", s) == "[<redacted>]");
  std::ostringstream os;
  os << s;
  CHECK(os.str() == "<redacted>");
  CHECK(fmt::format("{}", secret{}) == "<redacted>");
  CHECK(s.reveal() == key_value);
}

TEST_CASE("copying and moving credentials keeps the proof") {
  auto original = apikeys::credentials::email_password("ada@example.com", password);
  const auto copy = original;
  CHECK(copy.proof().reveal() == password);
  CHECK(copy.username() == "ada@example.com");
  CHECK(original.proof().reveal() == password);

  const auto moved = std::move(original);
  CHECK(moved.proof().reveal() == password);
  CHECK(moved.provider() == "local-userpass");

  auto assigned = apikeys::credentials::anonymous();
  assigned = moved;
  CHECK(assigned.proof().reveal() == password);
  CHECK(assigned.provider_kind() == apikeys::credentials::kind::email_password);

  const secret value{key_value};
  const auto by_key = apikeys::credentials::api_key(value);
  auto by_key_copy = by_key;
  const auto by_key_moved = std::move(by_key_copy);
  CHECK(by_key_moved.proof().reveal() == key_value);
  CHECK(value.reveal() == key_value);  // making credentials from a secret copies it
  CHECK(fmt::format("{}", by_key_moved) == "credentials{provider=api-key}");
}

TEST_CASE("secret(std::string&&) leaves the source string empty") {
  std::string plain{key_value};
  const secret s{std::move(plain)};
  CHECK(plain.empty());  // NOLINT(bugprone-use-after-move): emptiness after the move is the contract tested
  CHECK(s.reveal() == key_value);

  std::string short_plain{"abc"};  // short-string storage is wiped too, not just released
  const secret t{std::move(short_plain)};
  CHECK(short_plain.empty());  // NOLINT(bugprone-use-after-move)
  CHECK(t.reveal() == "abc");
}

// Made from a C string only when the constructors allow it, so that this file still compiles while they do not.
template <class Secret = secret>
void check_made_from_c_string() {
  if constexpr (std::is_constructible_v<Secret, const char*>) {
    const Secret from_literal{"S3cr3t"};
    CHECK(from_literal.reveal() == "S3cr3t");
    CHECK(fmt::format("{}", from_literal) == "<redacted>");
  }
}

TEST_CASE("a secret can be made from a string literal or a C string") {
  // secret(std::string_view) and secret(std::string&&) each take a const char* through one user-defined
  // conversion, so `apikeys::secret s{"..."}` is ambiguous unless a const char* overload settles it.
  CHECK(std::is_constructible_v<secret, const char*>);
  CHECK(std::is_constructible_v<secret, const char(&)[7]>);
  CHECK(std::is_constructible_v<secret, std::string_view>);
  CHECK(std::is_constructible_v<secret, std::string&&>);
  CHECK(std::is_constructible_v<secret, const std::string&>);  // a named string: copied through string_view
  CHECK_FALSE(std::is_convertible_v<const char*, secret>);     // still explicit
  check_made_from_c_string();
}

TEST_CASE("a session's printed form and its token copies never show the tokens") {
  auto user = fresh_session();
  const std::string before = fmt::format("{}", *user);
  CHECK(before == "session{user_id=user-42, device_id=device-1, provider=local-userpass, host=" + std::string{host} +
                      ", logged in}");
  CHECK(fmt::format("{}", user->access_token()) == "<redacted>");
  user->log_out();
  CHECK(fmt::format("{}", *user) == "session{user_id=user-42, device_id=device-1, provider=local-userpass, host=" +
                                        std::string{host} + ", logged out}");
  CHECK(user->refresh_token().empty());
}

}  // namespace
