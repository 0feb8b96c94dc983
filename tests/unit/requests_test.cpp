// apikeys tests: every request of docs/protocol.md sections 1 to 4, byte for byte, from the descriptors and the clients.
#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/scripted_transport.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/names.hpp"

namespace {

using namespace apikeys_tests::names;
using apikeys::ops::request_context;
using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace std::string_view_literals;

using transport_type = apikeys::testing::scripted_transport;
using result_app = apikeys::basic_app_client<transport_type&, apikeys::inline_executor, apikeys::return_result>;
using throwing_app = apikeys::basic_app_client<transport_type&>;

constexpr std::string_view host = "https://eu-west-1.aws.services.cloud.mongodb.com";
constexpr std::string_view app_id = "myapp-abcde";
constexpr std::string_view refresh_token = "eyJhbGciOiJIUzI1NiJ9.cmVmcmVzaA.c2lnbmF0dXJl";
constexpr std::string_view access_token = "eyJhbGciOiJIUzI1NiJ9.YWNjZXNz.c2lnbmF0dXJl";
constexpr std::string_view id_text = "5e5e6f0abe4ae2a2c2c2d329";
constexpr std::chrono::milliseconds timeout = 1234ms;

// --- how a request is compared --------------------------------------------------------------------------------

// One line per part, bytes outside printable ASCII as \xNN, so two renders are equal exactly when the requests
// are, and doctest shows a readable difference when they are not.
void append_visible(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f || b == '\\') {
      out.append("\\x");
      out.push_back(hex[b >> 4]);
      out.push_back(hex[b & 0x0f]);
    } else {
      out.push_back(c);
    }
  }
}

std::string render(const http_request& r) {
  std::string out{apikeys::to_string(r.method)};
  out.push_back(' ');
  append_visible(out, r.url);
  out.append("\n").append(std::to_string(r.headers.size())).append(" headers");
  for (const auto& h : r.headers) {
    out.append("\n");
    append_visible(out, h.name);
    out.append(": ");
    append_visible(out, h.value);
  }
  out.append("\nbody(").append(std::to_string(r.body.size())).append("): ");
  append_visible(out, r.body);
  out.append("\ntimeout: ").append(std::to_string(r.timeout.count())).append("ms");
  return out;
}

std::vector<http_header> json_headers(std::string_view bearer = {}) {
  std::vector<http_header> headers;
  headers.push_back({"Accept", "application/json"});
  headers.push_back({"Content-Type", "application/json;charset=utf-8"});
  if (!bearer.empty()) headers.push_back({"Authorization", "Bearer " + std::string{bearer}});
  return headers;
}

http_request expected(http_method method, std::string url, std::vector<http_header> headers, std::string body = {},
                      std::chrono::milliseconds request_timeout = timeout) {
  http_request r;
  r.method = method;
  r.url = std::move(url);
  r.headers = std::move(headers);
  r.body = std::move(body);
  r.timeout = request_timeout;
  return r;
}

// --- fixtures -------------------------------------------------------------------------------------------------

device_info full_device() {
  device_info d;
  d.platform = "TestOS";
  d.platform_version = "14.2";
  d.sdk = "apikeys-test";
  d.sdk_version = "9.8.7";
  d.cpu_arch = "riscv64";
  d.device_name = "bench-1";
  d.device_version = "rev-b";
  d.framework_name = "qt";
  d.framework_version = "6.5.0";
  d.core_version = "13.26.0";
  d.bundle_id = "org.example.keys";
  return d;
}

// The app a location, log in or register request is built for.
apikeys::app_config app_of(std::string_view app, device_info device = {}) {
  apikeys::app_config config;
  config.app_id = std::string{app};
  config.device = std::move(device);
  return config;
}

// full_device() as section 4 orders it, after `"appId":"<app>"`.
std::string device_json(std::string_view app) {
  return R"({"appId":")" + std::string{app} +
         R"(","platform":"TestOS","platformVersion":"14.2","sdk":"apikeys-test","sdkVersion":"9.8.7",)"
         R"("cpuArch":"riscv64","deviceName":"bench-1","deviceVersion":"rev-b","frameworkName":"qt",)"
         R"("frameworkVersion":"6.5.0","coreVersion":"13.26.0","bundleId":"org.example.keys"})";
}

std::string options_json(std::string_view app) { return R"(,"options":{"device":)" + device_json(app) + "}}"; }

request_context with_token(std::string_view token) { return request_context{host, token, timeout}; }

std::string url(std::string_view path) { return std::string{host} + std::string{path}; }

object_id sample_id() { return *object_id::parse(id_text); }

// A password holding every character class section 3 names: `"` and `\`, the five short escapes, other
// control characters as \u00xx (lowercase), `/` unescaped, DEL and non-ASCII (é, 日本, 🔑) as raw bytes.
const std::string tricky_text =
    "q\"b\\s\x01"
    "d\nl\x1f"
    "u/v\b\f\r\t\x7f"
    "\xc3\xa9"
    "\xe6\x97\xa5\xe6\x9c\xac"
    "\xf0\x9f\x94\x91"
    "\x1a"
    "end";
const std::string tricky_json = R"(q\"b\\s\u0001d\nl\u001fu/v\b\f\r\t)"
                                "\x7f"
                                "\xc3\xa9"
                                "\xe6\x97\xa5\xe6\x9c\xac"
                                "\xf0\x9f\x94\x91"
                                R"(\u001aend)";

const std::vector<std::string> invalid_utf8 = {
    "\xff",              // never valid
    "ok\xc3",            // truncated two-byte sequence
    "\xc0\xaf",          // overlong '/'
    "\xe0\x80\xaf",      // overlong, three bytes
    "\xed\xa0\x80",      // a UTF-16 surrogate
    "\xf4\x90\x80\x80",  // above U+10FFFF
    "\x80",              // a lone continuation byte
    "a\xe6\x97",         // truncated three-byte sequence
};

std::string location_body(std::string_view hostname) {
  return R"({"deployment_model":"GLOBAL","location":"US-VA","hostname":")" + std::string{hostname} +
         R"(","ws_hostname":"wss://ws.example.com"})";
}

std::string login_body(std::string_view access, std::string_view refresh, std::string_view user = "user-1") {
  return R"({"access_token":")" + std::string{access} + R"(","refresh_token":")" + std::string{refresh} +
         R"(","user_id":")" + std::string{user} + R"(","device_id":"device-1"})";
}

std::string key_body(std::string_view id, std::string_view name, bool disabled) {
  return R"({"_id":")" + std::string{id} + R"(","name":")" + std::string{name} + R"(","disabled":)" +
         (disabled ? "true" : "false") + "}";
}

apikeys::app_config test_config(std::string base_url = "https://base.example.com/") {
  apikeys::app_config config;
  config.app_id = std::string{app_id};
  config.base_url = std::move(base_url);
  config.device = full_device();
  config.timeout = timeout;
  config.fetch_profile_at_login = false;  // these tests script a log in's own exchanges
  return config;
}

const std::string loopback = "http://127.0.0.1:8089";
const std::string location_url = "https://base.example.com/api/client/v2.0/app/myapp-abcde/location";
const std::string keys_url = loopback + "/api/client/v2.0/auth/api_keys";
const std::string session_url = loopback + "/api/client/v2.0/auth/session";
const std::string profile_url = loopback + "/api/client/v2.0/auth/profile";
std::string login_url(std::string_view provider) {
  return loopback + "/api/client/v2.0/app/myapp-abcde/auth/providers/" + std::string{provider} + "/login";
}

// Scripts the location answer (with a trailing '/', which must not reach later URLs) and one login.
std::shared_ptr<apikeys::session> logged_in(result_app& app, transport_type& transport) {
  transport.respond(200, location_body(loopback + "/"));
  transport.respond(200, login_body("AT-1", "RT-1"));
  auto user = app.log_in(credentials::email_password("ada@example.com", "pa55"));
  REQUIRE(user.has_value());
  REQUIRE(transport.request_count() == 2);
  return *user;
}

// --- 1. the descriptors' requests: keys ----------------------------------------------------------------------------------

TEST_CASE("create_key builds POST {host}/api/client/v2.0/auth/api_keys with {\"name\":...} and the bearer token") {
  http_request r;
  REQUIRE_FALSE(apikeys::ops::create_key{std::string{"my-key_01"}}.build(r, with_token(refresh_token)).has_value());
  CHECK(render(r) == render(expected(http_method::post, url("/api/client/v2.0/auth/api_keys"),
                                     json_headers(refresh_token), R"({"name":"my-key_01"})")));
}

TEST_CASE("create_key escapes the name as JSON and refuses a name that is not UTF-8") {
  // The name rules are validate_key_name's; the descriptor's build() only guarantees valid JSON.
  http_request r;
  REQUIRE_FALSE(apikeys::ops::create_key{std::string{tricky_text}}.build(r, with_token("t")).has_value());
  CHECK(r.body == R"({"name":")" + tricky_json + R"("})");

  // NUL is a control character like any other, and does not end the name.
  REQUIRE_FALSE(apikeys::ops::create_key{std::string{"a\0b\x1f"sv}}.build(r, with_token("t")).has_value());
  CHECK(r.body == R"({"name":"a\u0000b\u001f"})");

  for (const auto& bad : invalid_utf8) {
    CAPTURE(bad);
    http_request fresh;
    const auto refused = apikeys::ops::create_key{std::string{bad}}.build(fresh, with_token("t"));
    REQUIRE(refused.has_value());
    CHECK(refused->code == errc::invalid_argument);
    CHECK(refused->http_status == 0);
    CHECK(refused->message.find("UTF-8") != std::string::npos);
    CHECK(fresh.url.empty());
    CHECK(fresh.body.empty());
  }
}

TEST_CASE("fetch_keys, fetch_key, delete_key and toggle_key (enable, disable) build their routes") {
  const auto headers = json_headers(refresh_token);
  const std::string one = url("/api/client/v2.0/auth/api_keys/5e5e6f0abe4ae2a2c2c2d329");
  http_request r;

  apikeys::ops::fetch_keys{}.build(r, with_token(refresh_token));
  CHECK(render(r) == render(expected(http_method::get, url("/api/client/v2.0/auth/api_keys"), headers)));

  r = http_request{};
  apikeys::ops::fetch_key{sample_id()}.build(r, with_token(refresh_token));
  CHECK(render(r) == render(expected(http_method::get, one, headers)));

  r = http_request{};
  apikeys::ops::delete_key{sample_id()}.build(r, with_token(refresh_token));
  CHECK(render(r) == render(expected(http_method::delete_, one, headers)));

  r = http_request{};
  apikeys::ops::toggle_key{sample_id(), true}.build(r, with_token(refresh_token));
  CHECK(render(r) == render(expected(http_method::put, one + "/enable", headers)));

  r = http_request{};
  apikeys::ops::toggle_key{sample_id(), false}.build(r, with_token(refresh_token));
  CHECK(render(r) == render(expected(http_method::put, one + "/disable", headers)));
}

TEST_CASE("key routes write the id as 24 lowercase hex digits whatever case it was parsed from") {
  http_request r;
  apikeys::ops::toggle_key{*object_id::parse("ABCDEF0123456789ABCDEF01"), true}.build(r, with_token("t"));
  CHECK(r.url == url("/api/client/v2.0/auth/api_keys/abcdef0123456789abcdef01/enable"));
}

TEST_CASE("a request context without a token gives exactly the two JSON headers") {
  http_request r;
  apikeys::ops::fetch_keys{}.build(r, request_context{host, {}, timeout});
  CHECK(render(r) == render(expected(http_method::get, url("/api/client/v2.0/auth/api_keys"), json_headers())));
}

// --- 1. the descriptors' requests: sessions and location -------------------------------------------------------------------

TEST_CASE("refresh_session, log_out and fetch_profile build their routes") {
  http_request r;
  apikeys::ops::refresh_session{}.build(r, with_token(refresh_token));
  CHECK(render(r) ==
        render(expected(http_method::post, url("/api/client/v2.0/auth/session"), json_headers(refresh_token))));

  r = http_request{};
  apikeys::ops::log_out{}.build(r, with_token(refresh_token));
  CHECK(render(r) ==
        render(expected(http_method::delete_, url("/api/client/v2.0/auth/session"), json_headers(refresh_token))));

  r = http_request{};
  apikeys::ops::fetch_profile{}.build(r, with_token(access_token));
  CHECK(render(r) ==
        render(expected(http_method::get, url("/api/client/v2.0/auth/profile"), json_headers(access_token))));
}

TEST_CASE("locate_app builds GET {base_url}/api/client/v2.0/app/{app_id}/location with no headers and no body") {
  const std::string want = "https://services.cloud.mongodb.com/api/client/v2.0/app/myapp-abcde/location";
  for (const std::string_view base : {"https://services.cloud.mongodb.com"sv, "https://services.cloud.mongodb.com/"sv,
                                      "https://services.cloud.mongodb.com///"sv}) {
    CAPTURE(base);
    http_request r;
    apikeys::ops::locate_app{}.build(r, request_context{base, {}, 5000ms}, app_of(app_id));
    CHECK(render(r) == render(expected(http_method::get, want, {}, {}, 5000ms)));
  }
}

// --- 4. the descriptors' requests: log in and register ---------------------------------------------------------------------

TEST_CASE("log_in builds for each of the four providers, with options.device in the order of section 4") {
  const auto device = full_device();
  const auto login = [](std::string_view provider) {
    return url("/api/client/v2.0/app/myapp-abcde/auth/providers/" + std::string{provider} + "/login");
  };
  // A token in the context must not leak into a login: log in carries no Authorization header.
  const auto ctx = with_token(refresh_token);

  SUBCASE("local-userpass") {
    http_request r;
    REQUIRE_FALSE(
        apikeys::ops::log_in{credentials::email_password("ada@example.com", "s3cret")}.build(r, ctx, app_of(app_id, device))
            .has_value());
    CHECK(render(r) ==
          render(expected(http_method::post, login("local-userpass"), json_headers(),
                          R"({"provider":"local-userpass","username":"ada@example.com","password":"s3cret")" +
                              options_json(app_id))));
  }
  SUBCASE("api-key") {
    http_request r;
    const std::string key(64, 'K');
    REQUIRE_FALSE(apikeys::ops::log_in{credentials::api_key(key)}.build(r, ctx, app_of(app_id, device)).has_value());
    CHECK(render(r) == render(expected(http_method::post, login("api-key"), json_headers(),
                                       R"({"provider":"api-key","key":")" + key + "\"" + options_json(app_id))));
  }
  SUBCASE("anon-user") {
    http_request r;
    REQUIRE_FALSE(apikeys::ops::log_in{credentials::anonymous()}.build(r, ctx, app_of(app_id, device)).has_value());
    CHECK(render(r) == render(expected(http_method::post, login("anon-user"), json_headers(),
                                       R"({"provider":"anon-user")" + options_json(app_id))));
  }
  SUBCASE("custom-token") {
    http_request r;
    REQUIRE_FALSE(apikeys::ops::log_in{credentials::custom_token("a.b.c")}.build(r, ctx, app_of(app_id, device)).has_value());
    CHECK(render(r) == render(expected(http_method::post, login("custom-token"), json_headers(),
                                       R"({"token":"a.b.c")" + options_json(app_id))));
  }
}

TEST_CASE("log_in builds writes empty device fields as empty strings and escapes device fields") {
  device_info device = full_device();
  device.device_name = "Ada's \"bench\"\n";
  device.device_version.clear();
  device.framework_name.clear();
  device.framework_version.clear();
  device.core_version.clear();
  device.bundle_id.clear();
  http_request r;
  REQUIRE_FALSE(apikeys::ops::log_in{credentials::anonymous()}.build(r, with_token({}), app_of(app_id, device)).has_value());
  CHECK(r.body == R"({"provider":"anon-user","options":{"device":{"appId":"myapp-abcde","platform":"TestOS",)"
                  R"("platformVersion":"14.2","sdk":"apikeys-test","sdkVersion":"9.8.7","cpuArch":"riscv64",)"
                  R"("deviceName":"Ada's \"bench\"\n","deviceVersion":"","frameworkName":"","frameworkVersion":"",)"
                  R"("coreVersion":"","bundleId":""}}})");
}

TEST_CASE("log_in builds escapes a password and an API key value exactly as section 3 says") {
  http_request r;
  REQUIRE_FALSE(apikeys::ops::log_in{credentials::email_password("ada@example.com", tricky_text)}.build(r, with_token({}), app_of(app_id, full_device()))
                    .has_value());
  CHECK(r.body == R"({"provider":"local-userpass","username":"ada@example.com","password":")" + tricky_json + "\"" +
                      options_json(app_id));

  http_request k;
  REQUIRE_FALSE(apikeys::ops::log_in{credentials::api_key(tricky_text)}.build(k, with_token({}), app_of(app_id, full_device()))
                    .has_value());
  CHECK(k.body == R"({"provider":"api-key","key":")" + tricky_json + "\"" + options_json(app_id));

  // Non-ASCII in the email too, and in a custom token.
  http_request e;
  REQUIRE_FALSE(apikeys::ops::log_in{credentials::email_password("j\xc3\xb6rg@\xc3\xa9xample.com", "p")}.build(e, with_token({}), app_of(app_id, full_device()))
                    .has_value());
  CHECK(e.body.starts_with(R"({"provider":"local-userpass","username":"j)"
                           "\xc3\xb6"
                           R"(rg@)"
                           "\xc3\xa9"
                           R"(xample.com","password":"p",)"));

  http_request t;
  REQUIRE_FALSE(
      apikeys::ops::log_in{credentials::custom_token(tricky_text)}.build(t, with_token({}), app_of(app_id, full_device()))
          .has_value());
  CHECK(t.body == R"({"token":")" + tricky_json + "\"" + options_json(app_id));
}

TEST_CASE("log_in builds refuses invalid UTF-8 in the email, the password, a key, a token or a device field") {
  for (const auto& bad : invalid_utf8) {
    CAPTURE(bad);
    const credentials cases[] = {credentials::email_password(bad, "pw"), credentials::email_password("a@b.c", bad),
                                 credentials::api_key(bad), credentials::custom_token(bad)};
    for (const auto& creds : cases) {
      CAPTURE(creds);
      http_request r;
      const auto refused = apikeys::ops::log_in{creds}.build(r, with_token({}), app_of(app_id, full_device()));
      REQUIRE(refused.has_value());
      CHECK(refused->code == errc::invalid_argument);
      CHECK(refused->message.find("UTF-8") != std::string::npos);
      CHECK(refused->message.find(bad) == std::string::npos);  // the bytes themselves are never echoed
      CHECK(r.url.empty());
      CHECK(r.body.empty());
    }
    device_info device = full_device();
    device.device_name = bad;
    http_request r;
    const auto refused = apikeys::ops::log_in{credentials::anonymous()}.build(r, with_token({}), app_of(app_id, device));
    REQUIRE(refused.has_value());
    CHECK(refused->code == errc::invalid_argument);
    CHECK(refused->message.find("deviceName") != std::string::npos);
  }
}

TEST_CASE(
    "register_user builds POST .../providers/local-userpass/register with {\"email\":...,\"password\":...}, no token") {
  http_request r;
  REQUIRE_FALSE(
      apikeys::ops::register_user{std::string{"ada@example.com"}, apikeys::secret{"s3cret"}}.build(r, with_token(access_token), app_of(app_id)).has_value());
  CHECK(render(r) == render(expected(http_method::post,
                                     url("/api/client/v2.0/app/myapp-abcde/auth/providers/local-userpass/register"),
                                     json_headers(), R"({"email":"ada@example.com","password":"s3cret"})")));

  http_request escaped;
  REQUIRE_FALSE(
      apikeys::ops::register_user{std::string{"\xc3\xa9@x.org"}, apikeys::secret{tricky_text}}.build(escaped, with_token({}), app_of(app_id)).has_value());
  CHECK(escaped.body == R"({"email":")"
                        "\xc3\xa9"
                        R"(@x.org","password":")" +
                            tricky_json + R"("})");

  for (const auto& bad : invalid_utf8) {
    CAPTURE(bad);
    http_request a;
    const auto email = apikeys::ops::register_user{std::string{bad}, apikeys::secret{"pw"}}.build(a, with_token({}), app_of(app_id));
    REQUIRE(email.has_value());
    CHECK(email->code == errc::invalid_argument);
    CHECK(email->message.find("email") != std::string::npos);
    http_request b;
    const auto password = apikeys::ops::register_user{std::string{"a@b.c"}, apikeys::secret{bad}}.build(b, with_token({}), app_of(app_id));
    REQUIRE(password.has_value());
    CHECK(password->code == errc::invalid_argument);
    CHECK(password->message.find("password") != std::string::npos);
    CHECK(a.url.empty());
    CHECK(b.url.empty());
  }
}

TEST_CASE("an app id with reserved characters is percent-encoded in paths and JSON-escaped in the device") {
  const std::string odd_app = "my app/\xc3\xbc?#%\"x";
  const std::string encoded = "my%20app%2F%C3%BC%3F%23%25%22x";

  http_request location;
  apikeys::ops::locate_app{}.build(location, request_context{"https://base.example.com", {}, timeout}, app_of(odd_app));
  CHECK(location.url == "https://base.example.com/api/client/v2.0/app/" + encoded + "/location");

  http_request login;
  REQUIRE_FALSE(
      apikeys::ops::log_in{credentials::anonymous()}.build(login, with_token({}), app_of(odd_app, full_device())).has_value());
  CHECK(login.url == url("/api/client/v2.0/app/" + encoded + "/auth/providers/anon-user/login"));
  CHECK(login.body == R"({"provider":"anon-user")" + options_json("my app/\xc3\xbc?#%\\\"x"));

  http_request reg;
  REQUIRE_FALSE(apikeys::ops::register_user{std::string{"a@b.c"}, apikeys::secret{"pw"}}.build(reg, with_token({}), app_of(odd_app)).has_value());
  CHECK(reg.url == url("/api/client/v2.0/app/" + encoded + "/auth/providers/local-userpass/register"));

  // Unreserved characters stay as they are.
  http_request plain;
  apikeys::ops::locate_app{}.build(plain, request_context{"https://b", {}, timeout}, app_of("A-z_0.9~"));
  CHECK(plain.url == "https://b/api/client/v2.0/app/A-z_0.9~/location");
}

TEST_CASE("a reused http_request rebuilt for another operation equals a freshly built one") {
  http_request reused;
  const auto fresh = [](auto&& build) {
    http_request r;
    build(r);
    return r;
  };
  const auto create = [](http_request& r) {
    (void)apikeys::ops::create_key{std::string{"a-long-key-name_0123456789"}}.build(r, with_token(refresh_token));
  };
  const auto location = [](http_request& r) {
    apikeys::ops::locate_app{}.build(r, request_context{"https://base.example.com", {}, 77ms}, app_of(app_id));
  };
  const auto login = [](http_request& r) {
    (void)apikeys::ops::log_in{credentials::email_password("ada@example.com", "pw")}.build(r, request_context{"http://h", {}, 5ms}, app_of(app_id, full_device()));
  };
  const auto remove = [](http_request& r) { apikeys::ops::delete_key{sample_id()}.build(r, with_token("x")); };
  const auto list_no_token = [](http_request& r) { apikeys::ops::fetch_keys{}.build(r, request_context{host, {}, 9ms}); };
  const auto disable = [](http_request& r) {
    apikeys::ops::toggle_key{sample_id(), false}.build(r, with_token(access_token));
  };
  const auto short_create = [](http_request& r) { (void)apikeys::ops::create_key{std::string{"k"}}.build(r, with_token("t")); };
  const auto reg = [](http_request& r) {
    (void)apikeys::ops::register_user{std::string{"e@x"}, apikeys::secret{"p"}}.build(r, with_token("ignored"), app_of(app_id));
  };
  const auto profile = [](http_request& r) { apikeys::ops::fetch_profile{}.build(r, with_token(access_token)); };

  // Every transition that shrinks or grows the header list, the URL or the body.
  create(reused);
  CHECK(render(reused) == render(fresh(create)));
  location(reused);
  CHECK(render(reused) == render(fresh(location)));
  login(reused);
  CHECK(render(reused) == render(fresh(login)));
  remove(reused);
  CHECK(render(reused) == render(fresh(remove)));
  list_no_token(reused);
  CHECK(render(reused) == render(fresh(list_no_token)));
  disable(reused);
  CHECK(render(reused) == render(fresh(disable)));
  login(reused);
  CHECK(render(reused) == render(fresh(login)));
  short_create(reused);
  CHECK(render(reused) == render(fresh(short_create)));
  reg(reused);
  CHECK(render(reused) == render(fresh(reg)));
  profile(reused);
  CHECK(render(reused) == render(fresh(profile)));
  location(reused);
  CHECK(render(reused) == render(fresh(location)));
}

TEST_CASE("validate_key_name accepts [A-Za-z0-9_-] and refuses everything else") {
  CHECK_FALSE(apikeys::ops::validate_key_name("abcXYZ019_-").has_value());
  CHECK_FALSE(apikeys::ops::validate_key_name("-").has_value());
  for (const std::string_view bad : {""sv, " "sv, "my key"sv, "a%20b"sv, "caf\xc3\xa9"sv, "a.b"sv, "a/b"sv, "a\"b"sv,
                                     "tab\t"sv, "nul\0x"sv, "\xff"sv}) {
    CAPTURE(bad);
    const auto refused = apikeys::ops::validate_key_name(bad);
    REQUIRE(refused.has_value());
    CHECK(refused->code == errc::invalid_argument);
    CHECK(refused->http_status == 0);
  }
}

// --- 2. through the clients -----------------------------------------------------------------------------------

TEST_CASE("the app client asks the location first, with no headers, then logs in at the hostname it names") {
  transport_type transport;
  result_app app{transport, test_config()};
  auto user = logged_in(app, transport);

  const auto sent = transport.requests();
  REQUIRE(sent.size() == 2);
  CHECK(render(sent[0]) == render(expected(http_method::get, location_url, {})));
  CHECK(render(sent[1]) ==
        render(expected(
            http_method::post, login_url("local-userpass"), json_headers(),
            R"({"provider":"local-userpass","username":"ada@example.com","password":"pa55")" + options_json(app_id))));
  CHECK(user->host() == loopback);
  CHECK(user->user_id() == "user-1");
  CHECK(user->device_id() == "device-1");
  CHECK(user->provider() == "local-userpass");

  // The location is asked once: a second log in goes straight to the login route.
  transport.respond(200, login_body("AT-2", "RT-2", "user-2"));
  auto second = app.log_in(credentials::anonymous());
  REQUIRE(second.has_value());
  REQUIRE(transport.request_count() == 3);
  CHECK(render(transport.last_request()) == render(expected(http_method::post, login_url("anon-user"), json_headers(),
                                                            R"({"provider":"anon-user")" + options_json(app_id))));
}

TEST_CASE("the app client logs in with api-key and custom-token credentials exactly as their descriptors build them") {
  transport_type transport;
  result_app app{transport, test_config()};
  transport.respond(200, location_body(loopback));
  const std::string key = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789AB";
  transport.respond(200, login_body("AT", "RT"));
  REQUIRE(app.log_in(credentials::api_key(key)).has_value());
  transport.respond(200, login_body("AT", "RT"));
  REQUIRE(app.log_in(credentials::custom_token(tricky_text)).has_value());
  transport.respond(200, login_body("AT", "RT"));
  REQUIRE(app.log_in(credentials::api_key(tricky_text)).has_value());

  const auto sent = transport.requests();
  REQUIRE(sent.size() == 4);
  CHECK(render(sent[1]) == render(expected(http_method::post, login_url("api-key"), json_headers(),
                                           R"({"provider":"api-key","key":")" + key + "\"" + options_json(app_id))));
  CHECK(render(sent[2]) == render(expected(http_method::post, login_url("custom-token"), json_headers(),
                                           R"({"token":")" + tricky_json + "\"" + options_json(app_id))));
  CHECK(render(sent[3]) ==
        render(expected(http_method::post, login_url("api-key"), json_headers(),
                        R"({"provider":"api-key","key":")" + tricky_json + "\"" + options_json(app_id))));

  // What the client sends is what its descriptor builds.
  http_request built;
  REQUIRE_FALSE(apikeys::ops::log_in{credentials::custom_token(tricky_text)}.build(built, request_context{loopback, {}, timeout}, app_of(app_id, full_device()))
                    .has_value());
  CHECK(render(sent[2]) == render(built));
}

TEST_CASE("the key client sends the six key operations with the refresh token to the located host") {
  transport_type transport;
  result_app app{transport, test_config()};
  auto user = logged_in(app, transport);
  auto keys = app.api_keys(user);
  const auto headers = json_headers("RT-1");
  const std::string one = keys_url + "/" + std::string{id_text};

  transport.respond(201, R"({"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"ci-key","disabled":false,"key":")" +
                             std::string(64, 'z') + "\"}");
  auto created = keys.create("ci-key");
  REQUIRE(created.has_value());
  CHECK(created->value.has_value());
  CHECK(render(transport.last_request()) ==
        render(expected(http_method::post, keys_url, headers, R"({"name":"ci-key"})")));

  transport.respond(200, "[" + key_body(id_text, "ci-key", false) + "]");
  REQUIRE(keys.fetch_all().has_value());
  CHECK(render(transport.last_request()) == render(expected(http_method::get, keys_url, headers)));

  transport.respond(200, key_body(id_text, "ci-key", false));
  REQUIRE(keys.fetch(sample_id()).has_value());
  CHECK(render(transport.last_request()) == render(expected(http_method::get, one, headers)));

  transport.respond(204);
  REQUIRE(keys.disable(sample_id()).has_value());
  CHECK(render(transport.last_request()) == render(expected(http_method::put, one + "/disable", headers)));

  transport.respond(204);
  REQUIRE(keys.enable(sample_id()).has_value());
  CHECK(render(transport.last_request()) == render(expected(http_method::put, one + "/enable", headers)));

  transport.respond(204);
  REQUIRE(keys.remove(sample_id()).has_value());
  CHECK(render(transport.last_request()) == render(expected(http_method::delete_, one, headers)));

  CHECK(transport.request_count() == 8);
  CHECK(transport.pending() == 0);

  // Each one is exactly what its descriptor builds.
  const auto sent = transport.requests();
  const request_context ctx{loopback, "RT-1", timeout};
  http_request built;
  REQUIRE_FALSE(apikeys::ops::create_key{std::string{"ci-key"}}.build(built, ctx).has_value());
  CHECK(render(sent[2]) == render(built));
  apikeys::ops::fetch_keys{}.build(built, ctx);
  CHECK(render(sent[3]) == render(built));
  apikeys::ops::fetch_key{sample_id()}.build(built, ctx);
  CHECK(render(sent[4]) == render(built));
  apikeys::ops::toggle_key{sample_id(), false}.build(built, ctx);
  CHECK(render(sent[5]) == render(built));
  apikeys::ops::toggle_key{sample_id(), true}.build(built, ctx);
  CHECK(render(sent[6]) == render(built));
  apikeys::ops::delete_key{sample_id()}.build(built, ctx);
  CHECK(render(sent[7]) == render(built));
}

TEST_CASE("the throwing default clients send the same bytes") {
  transport_type transport;
  throwing_app app{transport, test_config("https://base.example.com")};
  transport.respond(200, location_body("https://realm.example.net/"));
  transport.respond(200, login_body("AT-1", "RT-1"));
  auto user = app.log_in(credentials::email_password("ada@example.com", "pa55"));
  auto keys = app.api_keys(user);
  transport.respond(200, "[]");
  CHECK(keys.fetch_all().empty());

  const auto sent = transport.requests();
  REQUIRE(sent.size() == 3);
  CHECK(render(sent[0]) == render(expected(http_method::get, location_url, {})));
  CHECK(sent[1].url == "https://realm.example.net/api/client/v2.0/app/myapp-abcde/auth/providers/local-userpass/login");
  CHECK(render(sent[2]) == render(expected(http_method::get, "https://realm.example.net/api/client/v2.0/auth/api_keys",
                                           json_headers("RT-1"))));
}

TEST_CASE("refresh and log out send the refresh token; profile sends the access token") {
  transport_type transport;
  result_app app{transport, test_config()};
  auto user = logged_in(app, transport);

  transport.respond(200,
                    R"({"user_id":"user-1","domain_id":"d","identities":[{"id":"i","provider_type":"local-userpass",)"
                    R"("provider_id":"p"}],"data":{"email":"ada@example.com"},"type":"normal"})");
  REQUIRE(app.profile(user).has_value());
  CHECK(render(transport.last_request()) == render(expected(http_method::get, profile_url, json_headers("AT-1"))));

  transport.respond(201, R"({"access_token":"AT-2"})");
  REQUIRE(app.refresh(user).has_value());
  CHECK(render(transport.last_request()) == render(expected(http_method::post, session_url, json_headers("RT-1"))));

  // The refreshed access token is the one profile sends now.
  transport.respond(200, R"({"identities":[],"data":{}})");
  REQUIRE(app.profile(user).has_value());
  CHECK(render(transport.last_request()) == render(expected(http_method::get, profile_url, json_headers("AT-2"))));

  transport.respond(204);
  REQUIRE(app.log_out(user).has_value());
  CHECK(render(transport.last_request()) == render(expected(http_method::delete_, session_url, json_headers("RT-1"))));
  CHECK_FALSE(user->logged_in());

  // Logged out: nothing more is sent, by the app or by a key client.
  const auto count = transport.request_count();
  CHECK(app.log_out(user).has_value());
  auto keys = app.api_keys(user);
  const auto refused = keys.fetch_all();
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == errc::not_logged_in);
  CHECK(transport.request_count() == count);
}

TEST_CASE("a 401 on profile is answered by one refresh with the refresh token and one retry with the new token") {
  transport_type transport;
  result_app app{transport, test_config()};
  auto user = logged_in(app, transport);

  transport.respond(401, R"({"error":"invalid session","error_code":"InvalidSession"})");
  transport.respond(201, R"({"access_token":"AT-3"})");
  transport.respond(200, R"({"identities":[],"data":{}})");
  REQUIRE(app.profile(user).has_value());
  const auto sent = transport.requests();
  REQUIRE(sent.size() == 5);
  CHECK(render(sent[2]) == render(expected(http_method::get, profile_url, json_headers("AT-1"))));
  CHECK(render(sent[3]) == render(expected(http_method::post, session_url, json_headers("RT-1"))));
  CHECK(render(sent[4]) == render(expected(http_method::get, profile_url, json_headers("AT-3"))));
}

TEST_CASE("register through the app client: no token, exact body, host from the location") {
  transport_type transport;
  result_app app{transport, test_config()};
  transport.respond(200, location_body(loopback));
  transport.respond(201);
  REQUIRE(app.register_user("ada@example.com", tricky_text).has_value());
  const auto sent = transport.requests();
  REQUIRE(sent.size() == 2);
  CHECK(render(sent[0]) == render(expected(http_method::get, location_url, {})));
  CHECK(render(sent[1]) ==
        render(expected(http_method::post,
                        loopback + "/api/client/v2.0/app/myapp-abcde/auth/providers/local-userpass/register",
                        json_headers(), R"({"email":"ada@example.com","password":")" + tricky_json + R"("})")));
}

TEST_CASE("a key name outside [A-Za-z0-9_-] is refused by the client and nothing is sent") {
  transport_type transport;
  result_app app{transport, test_config()};
  auto user = logged_in(app, transport);
  auto keys = app.api_keys(user);
  const auto before = transport.request_count();
  for (const std::string_view bad :
       {"my key"sv, "100%"sv, "caf\xc3\xa9"sv, ""sv, "a\"b"sv, "a/b"sv, "x\ny"sv, "\xff"sv}) {
    CAPTURE(bad);
    const auto refused = keys.create(bad);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == errc::invalid_argument);
    CHECK(refused.error().http_status == 0);
    CHECK(transport.request_count() == before);
  }
  CHECK(user->logged_in());
}

TEST_CASE("invalid UTF-8 in a password, email, key or token is refused by the app client before sending") {
  transport_type transport;
  result_app app{transport, test_config()};
  transport.respond(200, location_body(loopback));
  REQUIRE(app.location().has_value());
  const auto before = transport.request_count();
  REQUIRE(before == 1);
  for (const auto& bad : invalid_utf8) {
    CAPTURE(bad);
    const credentials cases[] = {credentials::email_password("a@b.c", bad), credentials::email_password(bad, "pw"),
                                 credentials::api_key(bad), credentials::custom_token(bad)};
    for (const auto& creds : cases) {
      const auto refused = app.log_in(creds);
      REQUIRE_FALSE(refused.has_value());
      CHECK(refused.error().code == errc::invalid_argument);
      CHECK(refused.error().message.find(bad) == std::string::npos);
    }
    const auto bad_password = app.register_user("a@b.c", bad);
    REQUIRE_FALSE(bad_password.has_value());
    CHECK(bad_password.error().code == errc::invalid_argument);
    const auto bad_email = app.register_user(bad, "pw");
    REQUIRE_FALSE(bad_email.has_value());
    CHECK(bad_email.error().code == errc::invalid_argument);
    CHECK(transport.request_count() == before);
  }
}

TEST_CASE("the app id is percent-encoded in the location and login routes the client sends") {
  transport_type transport;
  auto config = test_config("http://127.0.0.1:9");
  config.app_id = "app id/1";
  result_app app{transport, config};
  transport.respond(200, location_body(loopback));
  transport.respond(200, login_body("AT", "RT"));
  REQUIRE(app.log_in(credentials::anonymous()).has_value());
  const auto sent = transport.requests();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].url == "http://127.0.0.1:9/api/client/v2.0/app/app%20id%2F1/location");
  CHECK(sent[1].url == loopback + "/api/client/v2.0/app/app%20id%2F1/auth/providers/anon-user/login");
  CHECK(sent[1].body == R"({"provider":"anon-user")" + options_json("app id/1"));
}

TEST_CASE("every request the clients send carries the config's timeout") {
  transport_type transport;
  auto config = test_config();
  config.timeout = 4321ms;
  result_app app{transport, config};
  transport.respond(200, location_body(loopback));
  transport.respond(200, login_body("AT", "RT"));
  auto user = app.log_in(credentials::anonymous());
  REQUIRE(user.has_value());
  auto keys = app.api_keys(*user);
  CHECK(keys.options().timeout == 4321ms);
  transport.respond(200, "[]");
  REQUIRE(keys.fetch_all().has_value());
  transport.respond(204);
  REQUIRE(keys.remove(sample_id()).has_value());
  transport.respond(200, R"({"identities":[],"data":{}})");
  REQUIRE(app.profile(*user).has_value());
  transport.respond(201, R"({"access_token":"AT2"})");
  REQUIRE(app.refresh(*user).has_value());
  transport.respond(204);
  REQUIRE(app.log_out(*user).has_value());
  transport.respond(201);
  REQUIRE(app.register_user("a@b.c", "pw").has_value());

  const auto sent = transport.requests();
  REQUIRE(sent.size() == 8);
  for (const auto& r : sent) {
    CAPTURE(render(r));
    CHECK(r.timeout == 4321ms);
  }
}

}  // namespace
