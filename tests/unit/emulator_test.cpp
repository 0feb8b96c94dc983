// apikeys tests: the in-memory App Services emulator against every route and error of docs/protocol.md.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <apikeys/testing/detail/base64url.hpp>
#include <apikeys/testing/detail/random.hpp>
#include <apikeys/testing/detail/sha256.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/transport.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/names.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::testing::emulator;
using apikeys::testing::emulator_options;
namespace td = apikeys::testing::detail;

const std::string base = "http://127.0.0.1:9090/api/client/v2.0";
const std::string app_base = base + "/app/apikeys-emulator";
const std::string keys_url = base + "/auth/api_keys";
const std::string link_prefix = "http://127.0.0.1/groups/emulator/apps/apikeys-emulator/logs?co_id=";
// What core sends in options.device (docs/protocol.md section 4).
const std::string device =
    R"("options":{"device":{"appId":"apikeys-emulator","platform":"Linux","platformVersion":"6.1","sdk":"apikeys",)"
    R"("sdkVersion":"0.1.0","cpuArch":"x86_64","deviceName":"","deviceVersion":"","frameworkName":"",)"
    R"("frameworkVersion":"","coreVersion":"","bundleId":""}})";

// Exactly the headers of docs/protocol.md section 2.
std::vector<http_header> core_headers(std::string_view token = {}) {
  std::vector<http_header> headers{{"Accept", "application/json"}, {"Content-Type", "application/json;charset=utf-8"}};
  if (!token.empty()) headers.push_back({"Authorization", "Bearer " + std::string{token}});
  return headers;
}

http_request make(http_method method, std::string url, std::string_view token = {}, std::string body = {}) {
  return http_request{method, std::move(url), core_headers(token), std::move(body), {}};
}

std::string key_url(std::string_view id, std::string_view action = {}) {
  std::string url = keys_url + "/" + std::string{id};
  if (!action.empty()) url += "/" + std::string{action};
  return url;
}

std::optional<std::string> header(const http_response& r, std::string_view name) {
  const std::string* value = apikeys::find_header(r.headers, name);
  return value ? std::optional<std::string>{*value} : std::nullopt;
}

// Reads one string member with simdjson's DOM, independently of the emulator's own reader.
std::optional<std::string> json_string(const std::string& json, std::string_view name) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json).get(root) != simdjson::SUCCESS) return std::nullopt;
  std::string_view value;
  if (root[name].get(value) != simdjson::SUCCESS) return std::nullopt;
  return std::string{value};
}

bool is_hex24(std::string_view text) {
  return text.size() == 24 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_alnum(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

// An error answer: the status, Content-Type, and the exact bytes of section 5 around a well-formed link.
void check_error(const http_response& r, int status, std::string_view code, std::string_view message) {
  CHECK(r.status == status);
  CHECK(header(r, "Content-Type") == std::optional<std::string>{"application/json"});
  const auto link = json_string(r.body, "link");
  REQUIRE(link.has_value());
  CHECK(link->rfind(link_prefix, 0) == 0);
  CHECK(is_hex24(link->substr(std::min(link->size(), link_prefix.size()))));
  std::string expected = R"({"error":")" + std::string{message} + "\"";
  if (!code.empty()) expected += R"(,"error_code":")" + std::string{code} + "\"";
  expected += R"(,"link":")" + *link + "\"}";
  CHECK(r.body == expected);
  CHECK(json_string(r.body, "error_code") == (code.empty() ? std::nullopt : std::optional<std::string>{code}));
}

void check_no_content(const http_response& r, int status = 204) {
  CHECK(r.status == status);
  CHECK(r.body.empty());
  CHECK_FALSE(header(r, "Content-Type").has_value());
}

struct session_tokens {
  std::string access;
  std::string refresh;
  std::string user_id;
};

struct created_key {
  std::string id;
  std::string secret;
};

// A fresh emulator with one seeded email/password user, and helpers that speak core's bytes.
struct fixture {
  emulator emu;
  std::string user_id = emu.add_user("alice@example.com", "correct horse");

  session_tokens read_login(const http_response& r) {
    REQUIRE(r.status == 200);
    session_tokens out{json_string(r.body, "access_token").value_or(""), json_string(r.body, "refresh_token").value_or(""),
                       json_string(r.body, "user_id").value_or("")};
    REQUIRE_FALSE(out.access.empty());
    REQUIRE_FALSE(out.refresh.empty());
    return out;
  }
  session_tokens login(std::string_view email = "alice@example.com", std::string_view password = "correct horse") {
    std::string body = R"({"provider":"local-userpass","username":")" + std::string{email} + R"(","password":")" +
                       std::string{password} + "\"," + device + "}";
    return read_login(emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/login", {}, body)));
  }
  session_tokens login_anonymous() {
    return read_login(emu.send(make(http_method::post, app_base + "/auth/providers/anon-user/login", {},
                                    R"({"provider":"anon-user",)" + device + "}")));
  }
  http_response login_with_key(std::string_view secret) {
    return emu.send(make(http_method::post, app_base + "/auth/providers/api-key/login", {},
                         R"({"provider":"api-key","key":")" + std::string{secret} + "\"," + device + "}"));
  }
  http_response create(std::string_view token, std::string_view name) {
    std::string body = "{";
    apikeys::detail::append_json_member(body, "name", name);
    body += "}";
    return emu.send(make(http_method::post, keys_url, token, body));
  }
  created_key create_ok(std::string_view token, std::string_view name) {
    const http_response r = create(token, name);
    REQUIRE(r.status == 201);
    created_key out{json_string(r.body, "_id").value_or(""), json_string(r.body, "key").value_or("")};
    REQUIRE(is_hex24(out.id));
    return out;
  }
};

}  // namespace

// --- the crypto and encoding helpers -------------------------------------------------------------------------

TEST_CASE("sha256 known answers (FIPS 180-4 examples)") {
  CHECK(td::to_hex(td::sha256_of("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(td::to_hex(td::sha256_of("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(td::to_hex(td::sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(td::to_hex(td::sha256_of(std::string(1000000, 'a'))) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 gives the same digest however the input is split") {
  std::string text;
  for (int i = 0; i < 300; ++i) text.push_back(static_cast<char>('a' + i % 26));
  const auto whole = td::sha256_of(text);
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{63}, std::size_t{64}, std::size_t{65}}) {
    td::sha256 hasher;
    for (std::size_t i = 0; i < text.size(); i += chunk) hasher.update(std::string_view{text}.substr(i, chunk));
    CHECK(hasher.finish() == whole);
  }
  // 55 and 56 bytes straddle the point where the length no longer fits in the last block.
  CHECK(td::to_hex(td::sha256_of(std::string(55, 'a'))) ==
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(td::to_hex(td::sha256_of(std::string(56, 'a'))) ==
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

TEST_CASE("hmac_sha256 RFC 4231 test cases 2 and 6") {
  CHECK(td::to_hex(td::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::string long_key(131, '\xaa');
  CHECK(td::to_hex(td::hmac_sha256(long_key, "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("base64url encodes without padding and decodes only canonical text") {
  CHECK(td::base64url_encode(std::string_view{""}).empty());
  CHECK(td::base64url_encode(std::string_view{"f"}) == "Zg");
  CHECK(td::base64url_encode(std::string_view{"fo"}) == "Zm8");
  CHECK(td::base64url_encode(std::string_view{"foo"}) == "Zm9v");
  CHECK(td::base64url_encode(std::string_view{"\xfb\xff"}) == "-_8");
  CHECK(td::base64url_decode("-_8") == std::optional<std::string>{"\xfb\xff"});
  CHECK(td::base64url_decode("Zm9vYg") == std::optional<std::string>{"foob"});
  CHECK_FALSE(td::base64url_decode("Zg==").has_value());
  CHECK_FALSE(td::base64url_decode("Z").has_value());
  CHECK_FALSE(td::base64url_decode("Zh").has_value());  // leftover bits set
  CHECK_FALSE(td::base64url_decode("+/8").has_value());
  CHECK(td::is_base64url("abc-_8"));
  CHECK_FALSE(td::is_base64url("abc-_"));  // no encoder makes 5 characters
  CHECK_FALSE(td::is_base64url(""));
  CHECK_FALSE(td::is_base64url("ab.c"));
}

TEST_CASE("random_alphanumeric gives the asked length from the whole alphabet") {
  std::set<char> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string s = td::random_alphanumeric(64);
    REQUIRE(s.size() == 64);
    CHECK(is_alnum(s));
    seen.insert(s.begin(), s.end());
  }
  // 3,200 draws over 62 symbols: missing any one has probability about 62 * e^-51.
  CHECK(seen.size() == 62);
  CHECK(td::random_alphanumeric(64) != td::random_alphanumeric(64));
  CHECK(is_hex24(td::random_hex(12)));
}

// --- the seed's story ------------------------------------------------------------------------------------------

TEST_CASE("the seed's story: register, log in, create, fetch, list, disable, enable, delete, log in with the key") {
  emulator emu;
  const http_response loc = emu.send(http_request{http_method::get, app_base + "/location", {}, {}, {}});
  CHECK(loc.status == 200);
  CHECK(header(loc, "Content-Type") == std::optional<std::string>{"application/json"});
  CHECK(loc.body ==
        R"({"deployment_model":"GLOBAL","location":"US-VA","hostname":"http://127.0.0.1","ws_hostname":"ws://127.0.0.1"})");

  check_no_content(emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/register", {},
                                 R"({"email":"bob@example.com","password":"hunter22"})")),
                   201);
  const auto bob = emu.user_id("bob@example.com");
  REQUIRE(bob.has_value());
  CHECK(is_hex24(*bob));

  const http_response login = emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/login", {},
                                            R"({"provider":"local-userpass","username":"bob@example.com",)"
                                            R"("password":"hunter22",)" + device + "}"));
  REQUIRE(login.status == 200);
  CHECK(header(login, "Content-Type") == std::optional<std::string>{"application/json"});
  const auto access = json_string(login.body, "access_token").value_or("");
  const auto refresh = json_string(login.body, "refresh_token").value_or("");
  const auto device_id = json_string(login.body, "device_id").value_or("");
  CHECK(is_hex24(device_id));
  CHECK(login.body == R"({"access_token":")" + access + R"(","refresh_token":")" + refresh + R"(","user_id":")" + *bob +
                          R"(","device_id":")" + device_id + R"("})");

  const http_response created = emu.send(make(http_method::post, keys_url, refresh, R"({"name":"someKeyName"})"));
  REQUIRE(created.status == 201);
  CHECK(header(created, "Content-Type") == std::optional<std::string>{"application/json"});
  const auto id = json_string(created.body, "_id").value_or("");
  const auto secret = json_string(created.body, "key").value_or("");
  CHECK(is_hex24(id));
  CHECK(secret.size() == 64);
  CHECK(is_alnum(secret));
  CHECK(created.body == R"({"_id":")" + id + R"(","key":")" + secret + R"(","name":"someKeyName","disabled":false})");
  CHECK(emu.key_count(*bob) == 1);

  const std::string enabled_json = R"({"_id":")" + id + R"(","name":"someKeyName","disabled":false})";
  const std::string disabled_json = R"({"_id":")" + id + R"(","name":"someKeyName","disabled":true})";

  const http_response fetched = emu.send(make(http_method::get, key_url(id), refresh));
  CHECK(fetched.status == 200);
  CHECK(header(fetched, "Content-Type") == std::optional<std::string>{"application/json"});
  CHECK(fetched.body == enabled_json);

  const http_response all = emu.send(make(http_method::get, keys_url, refresh));
  CHECK(all.status == 200);
  CHECK(header(all, "Content-Type") == std::optional<std::string>{"application/json"});
  CHECK(all.body == "[" + enabled_json + "]");

  check_no_content(emu.send(make(http_method::put, key_url(id, "disable"), refresh)));
  CHECK(emu.send(make(http_method::get, key_url(id), refresh)).body == disabled_json);
  check_no_content(emu.send(make(http_method::put, key_url(id, "enable"), refresh)));
  CHECK(emu.send(make(http_method::get, key_url(id), refresh)).body == enabled_json);

  // The key logs a device in as its owner.
  const http_response key_login = emu.send(make(http_method::post, app_base + "/auth/providers/api-key/login", {},
                                                R"({"provider":"api-key","key":")" + secret + "\"," + device + "}"));
  CHECK(key_login.status == 200);
  CHECK(json_string(key_login.body, "user_id") == bob);

  check_no_content(emu.send(make(http_method::delete_, key_url(id), refresh)));
  check_error(emu.send(make(http_method::get, key_url(id), refresh)), 404, "APIKeyNotFound", "API key not found");
  CHECK(emu.key_count(*bob) == 0);
  CHECK(emu.send(make(http_method::get, keys_url, refresh)).body == "[]");
}

// --- every row of the section 5 table ------------------------------------------------------------------------

TEST_CASE("404 APIKeyNotFound: fetch, enable, disable, delete of a missing key or another user's") {
  fixture f;
  const auto alice = f.login();
  f.emu.add_user("mallory@example.com", "pw");
  const auto mallory = f.login("mallory@example.com", "pw");
  const auto alices = f.create_ok(alice.refresh, "mine");
  const std::string missing = "5e5e6f0abe4ae2a2c2c2d329";
  const std::vector<std::pair<std::string, std::string>> cases = {{missing, alice.refresh}, {alices.id, mallory.refresh}};
  for (const auto& c : cases) {
    const std::string& id = c.first;
    const std::string& token = c.second;
    CAPTURE(id);
    check_error(f.emu.send(make(http_method::get, key_url(id), token)), 404, "APIKeyNotFound", "API key not found");
    check_error(f.emu.send(make(http_method::put, key_url(id, "enable"), token)), 404, "APIKeyNotFound", "API key not found");
    check_error(f.emu.send(make(http_method::put, key_url(id, "disable"), token)), 404, "APIKeyNotFound", "API key not found");
    check_error(f.emu.send(make(http_method::delete_, key_url(id), token)), 404, "APIKeyNotFound", "API key not found");
  }
  // Mallory's attempts changed nothing.
  CHECK(f.emu.send(make(http_method::get, key_url(alices.id), alice.refresh)).body ==
        R"({"_id":")" + alices.id + R"(","name":"mine","disabled":false})");
}

TEST_CASE("400 InvalidParameter: a name outside [A-Za-z0-9_-]") {
  fixture f;
  const auto s = f.login();
  for (const std::string name : {"has space", "100%", "ключ", "tab\t", "dot.ted", "slash/"}) {
    CAPTURE(name);
    check_error(f.create(s.refresh, name), 400, "InvalidParameter",
                "can only contain ASCII letters, numbers, underscores, and hyphens");
  }
  CHECK(f.create(s.refresh, "Az09_-").status == 201);
  CHECK(f.emu.key_count(f.user_id) == 1);
}

TEST_CASE("400 without error_code: an empty or missing name") {
  fixture f;
  const auto s = f.login();
  for (const std::string body : {R"({"name":""})", "{}", R"({"other":"x"})", R"({"name":null})", R"({"name":5})",
                                 R"({"name":["a"]})"}) {
    CAPTURE(body);
    check_error(f.emu.send(make(http_method::post, keys_url, s.refresh, body)), 400, "", "'name' is a required string");
  }
  CHECK(f.emu.key_count(f.user_id) == 0);
}

TEST_CASE("409 APIKeyAlreadyExists: a name this user already uses") {
  fixture f;
  const auto s = f.login();
  f.create_ok(s.refresh, "dup");
  check_error(f.create(s.refresh, "dup"), 409, "APIKeyAlreadyExists", "API key with name already exists");
  CHECK(f.create(s.refresh, "Dup").status == 201);  // names are case-sensitive
  // Another user may use the same name.
  f.emu.add_user("carol@example.com", "pw");
  CHECK(f.create(f.login("carol@example.com", "pw").refresh, "dup").status == 201);
  CHECK(f.emu.key_count(f.user_id) == 2);
}

TEST_CASE("400 InvalidParameter: the 21st key") {
  fixture f;
  const auto s = f.login();
  for (int i = 0; i < 20; ++i) f.create_ok(s.refresh, "key" + std::to_string(i));
  check_error(f.create(s.refresh, "key20"), 400, "InvalidParameter", "user may only have 20 API keys");
  CHECK(f.emu.key_count(f.user_id) == 20);
  // Deleting one makes room again.
  const auto all = f.emu.send(make(http_method::get, keys_url, s.refresh));
  const auto first = json_string(all.body.substr(1, all.body.find('}')), "_id");
  REQUIRE(first.has_value());
  check_no_content(f.emu.send(make(http_method::delete_, key_url(*first), s.refresh)));
  CHECK(f.create(s.refresh, "key20").status == 201);
}

TEST_CASE("the key limit follows max_keys_per_user") {
  emulator_options options;
  options.max_keys_per_user = 2;
  emulator emu(options);
  emu.add_user("a@example.com", "pw");
  const auto login = emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/login", {},
                                   R"({"username":"a@example.com","password":"pw"})"));
  const auto refresh = json_string(login.body, "refresh_token").value_or("");
  CHECK(emu.send(make(http_method::post, keys_url, refresh, R"({"name":"a"})")).status == 201);
  CHECK(emu.send(make(http_method::post, keys_url, refresh, R"({"name":"b"})")).status == 201);
  check_error(emu.send(make(http_method::post, keys_url, refresh, R"({"name":"c"})")), 400, "InvalidParameter",
              "user may only have 2 API keys");
}

TEST_CASE("403 AuthError: any key call by an anonymous user") {
  fixture f;
  const auto anon = f.login_anonymous();
  CHECK(is_hex24(anon.user_id));
  CHECK(anon.user_id != f.user_id);
  const std::string id = "5e5e6f0abe4ae2a2c2c2d329";
  const std::string message = "anonymous users cannot use API keys";
  SUBCASE("create") { check_error(f.create(anon.refresh, "k"), 403, "AuthError", message); }
  SUBCASE("fetch all") { check_error(f.emu.send(make(http_method::get, keys_url, anon.refresh)), 403, "AuthError", message); }
  SUBCASE("fetch") { check_error(f.emu.send(make(http_method::get, key_url(id), anon.refresh)), 403, "AuthError", message); }
  SUBCASE("enable") { check_error(f.emu.send(make(http_method::put, key_url(id, "enable"), anon.refresh)), 403, "AuthError", message); }
  SUBCASE("disable") { check_error(f.emu.send(make(http_method::put, key_url(id, "disable"), anon.refresh)), 403, "AuthError", message); }
  SUBCASE("delete") { check_error(f.emu.send(make(http_method::delete_, key_url(id), anon.refresh)), 403, "AuthError", message); }
}

TEST_CASE("403 AuthError: delete the key whose login made the calling session") {
  fixture f;
  const auto s = f.login();
  const auto key = f.create_ok(s.refresh, "device");
  const auto other = f.create_ok(s.refresh, "other");
  const auto by_key = f.read_login(f.login_with_key(key.secret));
  CHECK(by_key.user_id == f.user_id);
  check_error(f.emu.send(make(http_method::delete_, key_url(key.id), by_key.refresh)), 403, "AuthError",
              "cannot delete the API key in use");
  CHECK(f.emu.key_count(f.user_id) == 2);
  // The key session may manage the other keys, and the password session may delete this one.
  check_no_content(f.emu.send(make(http_method::delete_, key_url(other.id), by_key.refresh)));
  check_no_content(f.emu.send(make(http_method::delete_, key_url(key.id), s.refresh)));
  CHECK(f.emu.key_count(f.user_id) == 0);
}

TEST_CASE("401 MissingAuthReq: a key call with no Authorization header") {
  fixture f;
  const std::string id = "5e5e6f0abe4ae2a2c2c2d329";
  const std::string message = "must authenticate first";
  SUBCASE("create") { check_error(f.emu.send(make(http_method::post, keys_url, {}, R"({"name":"k"})")), 401, "MissingAuthReq", message); }
  SUBCASE("fetch all") { check_error(f.emu.send(make(http_method::get, keys_url)), 401, "MissingAuthReq", message); }
  SUBCASE("fetch") { check_error(f.emu.send(make(http_method::get, key_url(id))), 401, "MissingAuthReq", message); }
  SUBCASE("enable") { check_error(f.emu.send(make(http_method::put, key_url(id, "enable"))), 401, "MissingAuthReq", message); }
  SUBCASE("disable") { check_error(f.emu.send(make(http_method::put, key_url(id, "disable"))), 401, "MissingAuthReq", message); }
  SUBCASE("delete") { check_error(f.emu.send(make(http_method::delete_, key_url(id))), 401, "MissingAuthReq", message); }
  SUBCASE("refresh") { check_error(f.emu.send(make(http_method::post, base + "/auth/session")), 401, "MissingAuthReq", message); }
  SUBCASE("log out") { check_error(f.emu.send(make(http_method::delete_, base + "/auth/session")), 401, "MissingAuthReq", message); }
  SUBCASE("profile") { check_error(f.emu.send(make(http_method::get, base + "/auth/profile")), 401, "MissingAuthReq", message); }
}

TEST_CASE("401 without error_code: Bearer with an empty or malformed token") {
  fixture f;
  const auto s = f.login();
  const std::vector<std::string> values = {"Bearer ", "Bearer", "Bearer    ", "Bearer abc", "Bearer a.b", "Bearer a.b.c.d",
                                  "Bearer a..c", "Bearer .b.c", "Bearer a.b.", "Bearer a!.b.c", "Bearer a.b=.c",
                                  "Basic dXNlcjpwdw==", "Bearer" + s.refresh, s.refresh};
  for (const std::string& value : values) {
    CAPTURE(value);
    http_request r = make(http_method::get, keys_url);
    r.headers.push_back({"Authorization", value});
    check_error(f.emu.send(r), 401, "", "expected Authorization header with JWT (Bearer schema)");
  }
  // The scheme is case-insensitive, as HTTP says.
  http_request lower = make(http_method::get, keys_url);
  lower.headers.push_back({"authorization", "bearer " + s.refresh});
  CHECK(f.emu.send(lower).status == 200);
}

TEST_CASE("401 InvalidSession: revoked, expired, never issued, or badly signed refresh tokens") {
  fixture f;
  const auto s = f.login();
  const std::string message = "invalid session";
  SUBCASE("never issued (well-formed, another emulator's key)") {
    emulator other;
    other.add_user("alice@example.com", "correct horse");
    const auto foreign = json_string(other.send(make(http_method::post, app_base + "/auth/providers/local-userpass/login", {},
                                                     R"({"username":"alice@example.com","password":"correct horse"})"))
                                         .body,
                                     "refresh_token");
    REQUIRE(foreign.has_value());
    check_error(f.emu.send(make(http_method::get, keys_url, *foreign)), 401, "InvalidSession", message);
    check_error(f.emu.send(make(http_method::post, base + "/auth/session", *foreign)), 401, "InvalidSession", message);
  }
  SUBCASE("never issued (arbitrary base64url parts)") {
    check_error(f.emu.send(make(http_method::get, keys_url, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")), 401,
                "InvalidSession", message);
  }
  SUBCASE("tampered signature") {
    std::string token = s.refresh;
    char& last = token[token.size() - 2];
    last = last == 'A' ? 'B' : 'A';
    check_error(f.emu.send(make(http_method::get, keys_url, token)), 401, "InvalidSession", message);
  }
  SUBCASE("tampered payload, signature kept") {
    const std::size_t dot1 = s.refresh.find('.');
    const std::size_t dot2 = s.refresh.find('.', dot1 + 1);
    auto payload = td::base64url_decode(std::string_view{s.refresh}.substr(dot1 + 1, dot2 - dot1 - 1));
    REQUIRE(payload.has_value());
    const std::size_t exp = payload->find("\"exp\":");
    REQUIRE(exp != std::string::npos);
    payload->insert(exp + 6, "9");  // push the expiry far out
    const std::string forged = s.refresh.substr(0, dot1 + 1) + td::base64url_encode(*payload) + s.refresh.substr(dot2);
    check_error(f.emu.send(make(http_method::get, keys_url, forged)), 401, "InvalidSession", message);
  }
  SUBCASE("revoked by log out") {
    check_no_content(f.emu.send(make(http_method::delete_, base + "/auth/session", s.refresh)));
    check_error(f.emu.send(make(http_method::get, keys_url, s.refresh)), 401, "InvalidSession", message);
    check_error(f.emu.send(make(http_method::post, base + "/auth/session", s.refresh)), 401, "InvalidSession", message);
  }
  SUBCASE("revoked by revoke_sessions") {
    f.emu.revoke_sessions(f.user_id);
    check_error(f.emu.send(make(http_method::get, keys_url, s.refresh)), 401, "InvalidSession", message);
    check_error(f.emu.send(make(http_method::post, base + "/auth/session", s.refresh)), 401, "InvalidSession", message);
  }
  SUBCASE("expired") {
    f.emu.advance_clock(std::chrono::hours{24 * 60} - std::chrono::hours{1});
    CHECK(f.emu.send(make(http_method::get, keys_url, s.refresh)).status == 200);
    f.emu.advance_clock(std::chrono::hours{2});
    check_error(f.emu.send(make(http_method::get, keys_url, s.refresh)), 401, "InvalidSession", message);
    check_error(f.emu.send(make(http_method::post, base + "/auth/session", s.refresh)), 401, "InvalidSession", message);
  }
}

TEST_CASE("401 InvalidSession: the wrong kind of token, both ways") {
  fixture f;
  const auto s = f.login();
  SUBCASE("an access token on key routes, refresh and log out") {
    check_error(f.emu.send(make(http_method::get, keys_url, s.access)), 401, "InvalidSession", "invalid session");
    check_error(f.create(s.access, "k"), 401, "InvalidSession", "invalid session");
    check_error(f.emu.send(make(http_method::post, base + "/auth/session", s.access)), 401, "InvalidSession", "invalid session");
    check_error(f.emu.send(make(http_method::delete_, base + "/auth/session", s.access)), 401, "InvalidSession", "invalid session");
    CHECK(f.emu.send(make(http_method::get, keys_url, s.refresh)).status == 200);  // the session itself is fine
  }
  SUBCASE("a refresh token on profile") {
    check_error(f.emu.send(make(http_method::get, base + "/auth/profile", s.refresh)), 401, "InvalidSession", "invalid session");
    CHECK(f.emu.send(make(http_method::get, base + "/auth/profile", s.access)).status == 200);
  }
}

TEST_CASE("404 APIKeyNotFound: a key id in the path that is not 24 hex digits") {
  fixture f;
  const auto s = f.login();
  f.create_ok(s.refresh, "k");
  for (const std::string id : {"5e5e6f0abe4ae2a2c2c2d32", "5e5e6f0abe4ae2a2c2c2d3290", "5e5e6f0abe4ae2a2c2c2d32g",
                               "not-an-id", "", "%7B%24oid%7D"}) {
    CAPTURE(id);
    check_error(f.emu.send(make(http_method::get, key_url(id), s.refresh)), 404, "APIKeyNotFound", "API key not found");
    check_error(f.emu.send(make(http_method::put, key_url(id, "enable"), s.refresh)), 404, "APIKeyNotFound", "API key not found");
    check_error(f.emu.send(make(http_method::put, key_url(id, "disable"), s.refresh)), 404, "APIKeyNotFound", "API key not found");
    check_error(f.emu.send(make(http_method::delete_, key_url(id), s.refresh)), 404, "APIKeyNotFound", "API key not found");
  }
}

TEST_CASE("400 BadRequest: a request body that is not JSON, or not an object") {
  fixture f;
  const auto s = f.login();
  for (const std::string body : {"", "   ", "name=k", "[]", R"(["k"])", R"("k")", "42", "null", R"({"name":"k")",
                                 R"({"name":"k"} trailing)", R"({"name":"k"}})", R"({"name":"k",})", R"({"name":"k","x":tru})",
                                 "{\"name\":\"\xff\"}", R"({"name":"k"}{"name":"j"})"}) {
    CAPTURE(body);
    check_error(f.emu.send(make(http_method::post, keys_url, s.refresh, body)), 400, "BadRequest", "invalid request body");
  }
  CHECK(f.emu.key_count(f.user_id) == 0);
  SUBCASE("log in and register too") {
    check_error(f.emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/login", {}, "nope")), 400,
                "BadRequest", "invalid request body");
    check_error(f.emu.send(make(http_method::post, app_base + "/auth/providers/api-key/login", {}, "[]")), 400,
                "BadRequest", "invalid request body");
    check_error(f.emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/register", {}, "")), 400,
                "BadRequest", "invalid request body");
  }
}

TEST_CASE("401 AuthError unauthorized: log in with a disabled, deleted or unknown key") {
  fixture f;
  const auto s = f.login();
  const auto key = f.create_ok(s.refresh, "k");
  CHECK(f.login_with_key(key.secret).status == 200);
  SUBCASE("unknown") {
    check_error(f.login_with_key(td::random_alphanumeric(64)), 401, "AuthError", "unauthorized");
    check_error(f.login_with_key(""), 401, "AuthError", "unauthorized");
    check_error(f.emu.send(make(http_method::post, app_base + "/auth/providers/api-key/login", {}, "{}")), 401,
                "AuthError", "unauthorized");
  }
  SUBCASE("disabled, then enabled again") {
    check_no_content(f.emu.send(make(http_method::put, key_url(key.id, "disable"), s.refresh)));
    check_error(f.login_with_key(key.secret), 401, "AuthError", "unauthorized");
    check_no_content(f.emu.send(make(http_method::put, key_url(key.id, "enable"), s.refresh)));
    CHECK(f.login_with_key(key.secret).status == 200);
  }
  SUBCASE("deleted") {
    check_no_content(f.emu.send(make(http_method::delete_, key_url(key.id), s.refresh)));
    check_error(f.login_with_key(key.secret), 401, "AuthError", "unauthorized");
  }
}

TEST_CASE("2xx no-op: enable an enabled key, disable a disabled key") {
  fixture f;
  const auto s = f.login();
  const auto key = f.create_ok(s.refresh, "k");
  check_no_content(f.emu.send(make(http_method::put, key_url(key.id, "enable"), s.refresh)));
  CHECK(f.emu.send(make(http_method::get, key_url(key.id), s.refresh)).body ==
        R"({"_id":")" + key.id + R"(","name":"k","disabled":false})");
  check_no_content(f.emu.send(make(http_method::put, key_url(key.id, "disable"), s.refresh)));
  check_no_content(f.emu.send(make(http_method::put, key_url(key.id, "disable"), s.refresh)));
  CHECK(f.emu.send(make(http_method::get, key_url(key.id), s.refresh)).body ==
        R"({"_id":")" + key.id + R"(","name":"k","disabled":true})");
}

TEST_CASE("the precedence rule: authentication, anonymous, body, name, duplicate, limit") {
  fixture f;
  const auto s = f.login();
  const auto anon = f.login_anonymous();
  SUBCASE("authentication before anything else") {
    check_error(f.emu.send(make(http_method::post, keys_url, {}, "not json")), 401, "MissingAuthReq", "must authenticate first");
    check_error(f.emu.send(make(http_method::post, keys_url, s.access, "not json")), 401, "InvalidSession", "invalid session");
    check_error(f.emu.send(make(http_method::get, key_url("bad"), s.access)), 401, "InvalidSession", "invalid session");
  }
  SUBCASE("anonymous before the body and the key id") {
    check_error(f.emu.send(make(http_method::post, keys_url, anon.refresh, "not json")), 403, "AuthError",
                "anonymous users cannot use API keys");
    check_error(f.emu.send(make(http_method::get, key_url("bad"), anon.refresh)), 403, "AuthError",
                "anonymous users cannot use API keys");
  }
  SUBCASE("name rules, duplicate and limit") {
    for (int i = 0; i < 20; ++i) f.create_ok(s.refresh, "k" + std::to_string(i));
    check_error(f.create(s.refresh, ""), 400, "", "'name' is a required string");
    check_error(f.create(s.refresh, "bad name"), 400, "InvalidParameter",
                "can only contain ASCII letters, numbers, underscores, and hyphens");
    check_error(f.create(s.refresh, "k3"), 409, "APIKeyAlreadyExists", "API key with name already exists");
    check_error(f.create(s.refresh, "k20"), 400, "InvalidParameter", "user may only have 20 API keys");
  }
}

// --- beyond the table --------------------------------------------------------------------------------------------

TEST_CASE("fetch all answers in creation order, never with the secret") {
  fixture f;
  const auto s = f.login();
  const std::vector<std::string> names = {"zeta", "alpha", "Mid", "beta", "_x"};
  std::vector<created_key> keys;
  for (const auto& name : names) keys.push_back(f.create_ok(s.refresh, name));
  check_no_content(f.emu.send(make(http_method::put, key_url(keys[1].id, "disable"), s.refresh)));
  std::string expected = "[";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i) expected += ",";
    expected += R"({"_id":")" + keys[i].id + R"(","name":")" + names[i] + R"(","disabled":)" + (i == 1 ? "true" : "false") + "}";
  }
  expected += "]";
  const auto all = f.emu.send(make(http_method::get, keys_url, s.refresh));
  CHECK(all.body == expected);
  for (const auto& k : keys) {
    CHECK(all.body.find(k.secret) == std::string::npos);
    const auto one = f.emu.send(make(http_method::get, key_url(k.id), s.refresh));
    CHECK(one.body.find(k.secret) == std::string::npos);
    CHECK(one.body.find("\"key\"") == std::string::npos);
  }
  std::set<std::string> secrets;
  for (const auto& k : keys) secrets.insert(k.secret);
  CHECK(secrets.size() == keys.size());
}

TEST_CASE("tokens are JWT-shaped, HS256-signed, and carry exp, iat and sub") {
  fixture f;
  const auto s = f.login();
  for (const std::string& token : {s.access, s.refresh}) {
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = token.find('.', dot1 + 1);
    REQUIRE(dot2 != std::string::npos);
    CHECK(token.find('.', dot2 + 1) == std::string::npos);
    CHECK(td::base64url_decode(std::string_view{token}.substr(0, dot1)) == std::optional<std::string>{R"({"alg":"HS256","typ":"JWT"})"});
    const auto payload = td::base64url_decode(std::string_view{token}.substr(dot1 + 1, dot2 - dot1 - 1));
    REQUIRE(payload.has_value());
    CHECK(json_string(*payload, "sub") == std::optional<std::string>{f.user_id});
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE(parser.parse(*payload).get(root) == simdjson::SUCCESS);
    std::int64_t iat = 0, exp = 0;
    CHECK(root["iat"].get(iat) == simdjson::SUCCESS);
    CHECK(root["exp"].get(exp) == simdjson::SUCCESS);
    CHECK(exp - iat == (token == s.access ? 30 * 60 : 60 * 24 * 3600));
    CHECK(td::base64url_decode(std::string_view{token}.substr(dot2 + 1))->size() == 32);
  }
  CHECK(s.access != s.refresh);
  const auto again = f.login();
  CHECK(again.refresh != s.refresh);
}

TEST_CASE("access tokens expire against the emulator's clock; refresh issues a new one") {
  fixture f;
  const auto s = f.login();
  const std::string profile_url = base + "/auth/profile";
  f.emu.advance_clock(std::chrono::minutes{25});
  CHECK(f.emu.send(make(http_method::get, profile_url, s.access)).status == 200);
  f.emu.advance_clock(std::chrono::minutes{10});
  check_error(f.emu.send(make(http_method::get, profile_url, s.access)), 401, "InvalidSession", "invalid session");

  const http_response refreshed = f.emu.send(make(http_method::post, base + "/auth/session", s.refresh));
  CHECK(refreshed.status == 201);
  CHECK(header(refreshed, "Content-Type") == std::optional<std::string>{"application/json"});
  const auto access = json_string(refreshed.body, "access_token");
  REQUIRE(access.has_value());
  CHECK(refreshed.body == R"({"access_token":")" + *access + R"("})");
  CHECK(f.emu.send(make(http_method::get, profile_url, *access)).status == 200);
}

TEST_CASE("log out revokes the refresh token and the session's access tokens, and only that session") {
  fixture f;
  const auto one = f.login();
  const auto two = f.login();
  const http_response out = f.emu.send(make(http_method::delete_, base + "/auth/session", one.refresh));
  check_no_content(out);
  check_error(f.emu.send(make(http_method::get, base + "/auth/profile", one.access)), 401, "InvalidSession", "invalid session");
  check_error(f.emu.send(make(http_method::delete_, base + "/auth/session", one.refresh)), 401, "InvalidSession", "invalid session");
  CHECK(f.emu.send(make(http_method::get, base + "/auth/profile", two.access)).status == 200);
  CHECK(f.emu.send(make(http_method::get, keys_url, two.refresh)).status == 200);
}

TEST_CASE("revoke_sessions ends every session of that user only") {
  fixture f;
  const auto a1 = f.login();
  const auto a2 = f.login();
  f.emu.add_user("dave@example.com", "pw");
  const auto d = f.login("dave@example.com", "pw");
  f.emu.revoke_sessions(f.user_id);
  for (const auto& s : {a1, a2}) {
    check_error(f.emu.send(make(http_method::get, keys_url, s.refresh)), 401, "InvalidSession", "invalid session");
    check_error(f.emu.send(make(http_method::get, base + "/auth/profile", s.access)), 401, "InvalidSession", "invalid session");
  }
  CHECK(f.emu.send(make(http_method::get, keys_url, d.refresh)).status == 200);
  CHECK(f.login().refresh.size() > 0);  // logging in again works
}

TEST_CASE("profile answers the shape of section 3") {
  fixture f;
  const auto s = f.login();
  const http_response r = f.emu.send(make(http_method::get, base + "/auth/profile", s.access));
  CHECK(r.status == 200);
  CHECK(header(r, "Content-Type") == std::optional<std::string>{"application/json"});
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(r.body).get(root) == simdjson::SUCCESS);
  std::string_view domain, identity, provider_id;
  REQUIRE(root["domain_id"].get(domain) == simdjson::SUCCESS);
  REQUIRE(root["identities"].at(0)["id"].get(identity) == simdjson::SUCCESS);
  REQUIRE(root["identities"].at(0)["provider_id"].get(provider_id) == simdjson::SUCCESS);
  CHECK(is_hex24(domain));
  CHECK(is_hex24(identity));
  CHECK(is_hex24(provider_id));
  CHECK(r.body == R"({"user_id":")" + f.user_id + R"(","domain_id":")" + std::string{domain} + R"(","identities":[{"id":")" +
                      std::string{identity} + R"(","provider_type":"local-userpass","provider_id":")" +
                      std::string{provider_id} + R"("}],"data":{"email":"alice@example.com"},"type":"normal"})");

  const auto anon = f.login_anonymous();
  const http_response ar = f.emu.send(make(http_method::get, base + "/auth/profile", anon.access));
  CHECK(ar.status == 200);
  CHECK(json_string(ar.body, "user_id") == std::optional<std::string>{anon.user_id});
  CHECK(ar.body.find(R"("provider_type":"anon-user")") != std::string::npos);
  CHECK(ar.body.find(R"("data":{},"type":"normal"})") != std::string::npos);
}

TEST_CASE("log in and register failures") {
  fixture f;
  const std::string login_url = app_base + "/auth/providers/local-userpass/login";
  SUBCASE("wrong password or unknown email") {
    check_error(f.emu.send(make(http_method::post, login_url, {}, R"({"username":"alice@example.com","password":"nope"})")),
                401, "AuthError", "invalid username/password");
    check_error(f.emu.send(make(http_method::post, login_url, {}, R"({"username":"eve@example.com","password":"x"})")),
                401, "AuthError", "invalid username/password");
    check_error(f.emu.send(make(http_method::post, login_url, {}, "{}")), 401, "AuthError", "invalid username/password");
  }
  SUBCASE("register an email in use") {
    check_error(f.emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/register", {},
                                R"({"email":"alice@example.com","password":"other"})")),
                409, "AccountNameInUse", "name already in use");
    CHECK(f.login().user_id == f.user_id);  // the password did not change
  }
  SUBCASE("register without email or password") {
    check_error(f.emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/register", {},
                                R"({"email":"x@example.com"})")),
                400, "BadRequest", "'email' and 'password' are required strings");
  }
  SUBCASE("an unknown provider") {
    check_error(f.emu.send(make(http_method::post, app_base + "/auth/providers/custom-token/login", {}, R"({"token":"t"})")),
                404, "AuthProviderNotFound", "authentication via 'custom-token' is unsupported");
  }
  SUBCASE("an unknown app id") {
    check_error(f.emu.send(make(http_method::post, base + "/app/other-app/auth/providers/local-userpass/login", {},
                                R"({"username":"alice@example.com","password":"correct horse"})")),
                404, "AppNotFound", "cannot find app using Client App ID 'other-app'");
    check_error(f.emu.send(http_request{http_method::get, base + "/app/other-app/location", {}, {}, {}}), 404, "AppNotFound",
                "cannot find app using Client App ID 'other-app'");
  }
}

TEST_CASE("add_user on an existing email changes the password and keeps the id") {
  fixture f;
  CHECK(f.emu.add_user("alice@example.com", "new password") == f.user_id);
  CHECK(f.login("alice@example.com", "new password").user_id == f.user_id);
  check_error(f.emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/login", {},
                              R"({"username":"alice@example.com","password":"correct horse"})")),
              401, "AuthError", "invalid username/password");
  CHECK_FALSE(f.emu.user_id("nobody@example.com").has_value());
}

TEST_CASE("lenient like the real server") {
  fixture f;
  const std::string login_url = app_base + "/auth/providers/local-userpass/login";
  SUBCASE("Content-Type without charset, or absent on bodiless calls") {
    http_request login{http_method::post, login_url, {{"Content-Type", "application/json"}},
                       R"({"username":"alice@example.com","password":"correct horse"})", {}};
    const auto s = f.read_login(f.emu.send(login));
    http_request create{http_method::post, keys_url,
                        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + s.refresh}}, R"({"name":"k"})", {}};
    CHECK(f.emu.send(create).status == 201);
    http_request list{http_method::get, keys_url, {{"Authorization", "Bearer " + s.refresh}}, {}, {}};
    CHECK(f.emu.send(list).status == 200);
  }
  SUBCASE("login bodies without provider, with fewer or more device fields, without options") {
    f.read_login(f.emu.send(make(http_method::post, login_url, {}, R"({"username":"alice@example.com","password":"correct horse"})")));
    f.read_login(f.emu.send(make(http_method::post, login_url, {},
                                 R"({"username":"alice@example.com","password":"correct horse","options":{"device":{"sdk":"Web"}}})")));
    f.read_login(f.emu.send(make(http_method::post, login_url, {},
                                 R"({"provider":"local-userpass","username":"alice@example.com","password":"correct horse",)"
                                 R"("options":{"device":{"appId":"a","platform":"p","extra":[1,{"x":null}],"more":true}}})")));
    f.read_login(f.emu.send(make(http_method::post, app_base + "/auth/providers/anon-user/login", {}, "{}")));
  }
  SUBCASE("a known device id is answered back") {
    const auto r = f.emu.send(make(http_method::post, login_url, {},
                                   R"({"username":"alice@example.com","password":"correct horse",)"
                                   R"("options":{"device":{"deviceId":"0123456789abcdef01234567"}}})"));
    CHECK(json_string(r.body, "device_id") == std::optional<std::string>{"0123456789abcdef01234567"});
  }
  SUBCASE("an Authorization header on register is ignored") {
    const auto s = f.login();
    check_no_content(f.emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/register", s.access,
                                     R"({"email":"web@example.com","password":"pw"})")),
                     201);
    check_no_content(f.emu.send(make(http_method::post, app_base + "/auth/providers/local-userpass/register", "garbage",
                                     R"({"email":"web2@example.com","password":"pw"})")),
                     201);
    CHECK(f.login("web@example.com", "pw").user_id.size() == 24);
  }
  SUBCASE("a bare path, https, another host and a query string") {
    const auto s = f.login();
    CHECK(f.emu.send(make(http_method::get, "/api/client/v2.0/auth/api_keys", s.refresh)).status == 200);
    CHECK(f.emu.send(make(http_method::get, "https://services.cloud.mongodb.com/api/client/v2.0/auth/api_keys", s.refresh)).status == 200);
    CHECK(f.emu.send(make(http_method::get, "HTTP://LOCALHOST:1/api/client/v2.0/auth/api_keys?x=1#f", s.refresh)).status == 200);
    CHECK(f.emu.send(http_request{http_method::get, "/api/client/v2.0/app/apikeys-emulator/location?x=y", {}, {}, {}}).status == 200);
  }
}

TEST_CASE("unknown routes answer 404 and wrong methods 405, both as JSON") {
  fixture f;
  const auto s = f.login();
  const std::vector<std::string> urls = {base + "/auth/nothing", base + "/auth/api_keys/5e5e6f0abe4ae2a2c2c2d329/rename",
                                base + "/app/apikeys-emulator/functions/call", "http://127.0.0.1:9090/", "http://127.0.0.1",
                                "/api/client/v3.0/auth/api_keys", "relative/path", "", base,
                                app_base + "/auth/providers/anon-user/register"};
  for (const std::string& url : urls) {
    CAPTURE(url);
    check_error(f.emu.send(make(http_method::get, url, s.refresh)), 404, "", "route not found");
  }
  const auto wrong = f.emu.send(make(http_method::put, keys_url, s.refresh));
  check_error(wrong, 405, "", "method not allowed");
  CHECK(header(wrong, "Allow") == std::optional<std::string>{"GET, POST"});
  check_error(f.emu.send(make(http_method::post, key_url("5e5e6f0abe4ae2a2c2c2d329"), s.refresh)), 405, "", "method not allowed");
  check_error(f.emu.send(make(http_method::get, key_url("5e5e6f0abe4ae2a2c2c2d329", "enable"), s.refresh)), 405, "", "method not allowed");
  check_error(f.emu.send(make(http_method::get, base + "/auth/session", s.refresh)), 405, "", "method not allowed");
  check_error(f.emu.send(make(http_method::post, app_base + "/location")), 405, "", "method not allowed");
  check_error(f.emu.send(make(http_method::get, app_base + "/auth/providers/local-userpass/login")), 405, "", "method not allowed");
}

TEST_CASE("set_hostname changes location and error links; request_count counts every send") {
  emulator_options options;
  options.app_id = "my-app";
  emulator emu(options);
  CHECK(emu.app_id() == "my-app");
  emu.set_hostname("http://127.0.0.1:4242/", "ws://127.0.0.1:4242");
  CHECK(emu.hostname() == "http://127.0.0.1:4242");
  const auto loc = emu.send(http_request{http_method::get, "/api/client/v2.0/app/my-app/location", {}, {}, {}});
  CHECK(loc.body ==
        R"({"deployment_model":"GLOBAL","location":"US-VA","hostname":"http://127.0.0.1:4242","ws_hostname":"ws://127.0.0.1:4242"})");
  const auto err = emu.send(make(http_method::get, keys_url));
  const auto link = json_string(err.body, "link").value_or("");
  CHECK(link.rfind("http://127.0.0.1:4242/groups/emulator/apps/my-app/logs?co_id=", 0) == 0);
  CHECK(emu.request_count() == 2);
  const auto custom = emu.error_response(405, "", "method not allowed");
  CHECK(custom.status == 405);
  CHECK(custom.body.rfind(R"({"error":"method not allowed","link":"http://127.0.0.1:4242/)", 0) == 0);
  CHECK(emu.request_count() == 2);
}

// Issue #13: an emulator behind a gateway's path prefix, for testing clients that keep the prefix.
TEST_CASE("path_prefix: routes only under the prefix, location answers the prefixed hostnames") {
  emulator_options options;
  options.app_id = "my-app";
  options.hostname = "http://127.0.0.1:4242/";
  options.ws_hostname = "ws://127.0.0.1:4242";
  options.path_prefix = "gw%20x/realm//";  // a leading '/' is added, trailing '/' dropped
  emulator emu(options);
  CHECK(emu.path_prefix() == "/gw%20x/realm");
  CHECK(emu.hostname() == "http://127.0.0.1:4242/gw%20x/realm");

  const auto loc = emu.send(http_request{http_method::get, "http://127.0.0.1:4242/gw%20x/realm/api/client/v2.0/app/my-app/location", {}, {}, {}});
  CHECK(loc.status == 200);
  CHECK(loc.body == R"({"deployment_model":"GLOBAL","location":"US-VA","hostname":"http://127.0.0.1:4242/gw%20x/realm",)"
                    R"("ws_hostname":"ws://127.0.0.1:4242/gw%20x/realm"})");
  // Matched byte for byte: the routes at the root, a decoded prefix, or a longer first segment are not served.
  for (const std::string url : {"http://127.0.0.1:4242/api/client/v2.0/app/my-app/location",
                                "http://127.0.0.1:4242/gw x/realm/api/client/v2.0/app/my-app/location",
                                "http://127.0.0.1:4242/gw%20x/realmX/api/client/v2.0/app/my-app/location",
                                "http://127.0.0.1:4242/gw%20x/api/client/v2.0/app/my-app/location"}) {
    CAPTURE(url);
    const auto r = emu.send(http_request{http_method::get, url, {}, {}, {}});
    CHECK(r.status == 404);
    // Error links name the admin pages at the origin, which is not behind the gateway.
    CHECK(json_string(r.body, "link").value_or("").rfind("http://127.0.0.1:4242/groups/emulator/apps/my-app/logs?co_id=", 0) == 0);
  }

  // set_hostname changes the origin; the prefix stays.
  emu.set_hostname("http://127.0.0.1:5151", "ws://127.0.0.1:5151");
  CHECK(emu.hostname() == "http://127.0.0.1:5151/gw%20x/realm");
  CHECK(json_string(emu.send(http_request{http_method::get, "/gw%20x/realm/api/client/v2.0/app/my-app/location", {}, {}, {}}).body,
                    "ws_hostname") == std::optional<std::string>{"ws://127.0.0.1:5151/gw%20x/realm"});

  // The default: no prefix, routes at the root.
  CHECK(emulator{}.path_prefix().empty());
  emulator_options slash;
  slash.path_prefix = "/";
  CHECK(emulator{slash}.path_prefix().empty());
}

TEST_CASE("the emulator is a Transport") {
  static_assert(apikeys::transport<emulator>);
  CHECK(apikeys::detail::check_transport<emulator>());
}

TEST_CASE("concurrent creates, lists and deletes from several threads") {
  fixture f;
  const auto s = f.login();
  constexpr int threads = 4;
  constexpr int per_thread = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<std::string> ids;
      for (int i = 0; i < per_thread; ++i) {
        std::string body = R"({"name":"t)" + std::to_string(t) + "_" + std::to_string(i) + "\"}";
        const auto r = f.emu.send(make(http_method::post, keys_url, s.refresh, body));
        if (r.status != 201) ++failures;
        ids.push_back(json_string(r.body, "_id").value_or(""));
        if (f.emu.send(make(http_method::get, keys_url, s.refresh)).status != 200) ++failures;
      }
      for (const auto& id : ids)
        if (f.emu.send(make(http_method::delete_, key_url(id), s.refresh)).status != 204) ++failures;
    });
  }
  for (auto& w : workers) w.join();
  CHECK(failures.load() == 0);
  CHECK(f.emu.key_count(f.user_id) == 0);
  CHECK(f.emu.request_count() == 1 + threads * per_thread * 3);
}
