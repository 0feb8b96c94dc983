// HTTPS end to end: each adapter against apikeys-emulator served with TLS, with a CA and server certificates
// made at test time: the seed's story, and the certificates that must be refused.
#include <apikeys/apikeys.hpp>
#include <apikeys/transport/httplib.hpp>
#if APIKEYS_TEST_HAVE_CURL
#include <apikeys/transport/curl.hpp>
#endif

#include <doctest/doctest.h>
#include <fmt/core.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "support/adapter_test_support.hpp"
#include "support/emulator_process.hpp"
#include "support/tls_files.hpp"
#include "../unit/support/key_checks.hpp"
#include "../unit/support/names.hpp"

#if !defined(APIKEYS_EMULATOR_PATH) || !defined(CPPHTTPLIB_OPENSSL_SUPPORT)

TEST_CASE("HTTPS against apikeys-emulator" * doctest::skip()) {
  MESSAGE("this build has no apikeys-emulator, or cpp-httplib has no OpenSSL support: nothing to run");
}

#else

namespace {

using namespace std::chrono_literals;
using namespace apikeys_tests::names;
using apikeys_tests::config_for;
using apikeys_tests::emulator_process;
using apikeys_tests::error_of;
using apikeys_tests::tls_files;

const std::string app_id = "https-test";
const std::string email = "alice@example.com";
const std::string password = "correct horse";

struct httplib_adapter {
  using transport = apikeys::httplib_transport;
  using options = apikeys::httplib_transport_options;
};
#if APIKEYS_TEST_HAVE_CURL
struct curl_adapter {
  using transport = apikeys::curl_transport;
  using options = apikeys::curl_transport_options;
};
using adapters = std::tuple<httplib_adapter, curl_adapter>;
#else
using adapters = std::tuple<httplib_adapter>;
#endif

template <class Adapter>
using app_client = apikeys::basic_app_client<typename Adapter::transport>;
template <class Adapter>
using result_app_client =
    apikeys::basic_app_client<typename Adapter::transport, apikeys::inline_executor, apikeys::return_result>;

// Made once for the whole executable (a few openssl runs), removed when it exits.
const tls_files& files() {
  static const tls_files made;
  return made;
}

std::vector<std::string> server_args(const std::string& cert, const std::string& key) {
  return {"--app-id", app_id, "--user", email + ":" + password, "--tls-cert", cert, "--tls-key", key};
}

template <class Adapter>
typename Adapter::options trusting(const std::string& ca_bundle) {
  typename Adapter::options options;
  options.ca_bundle_path = ca_bundle;
  return options;
}

template <class Adapter>
typename Adapter::options insecure_for(std::vector<std::string> hosts) {
  typename Adapter::options options;
  options.insecure_hosts = std::move(hosts);
  return options;
}

// A fresh client logs in with a password: location first, then the login itself.
template <class Adapter>
apikeys::result<std::shared_ptr<session>> try_log_in(const emulator_process& server, typename Adapter::options options) {
  result_app_client<Adapter> app(typename Adapter::transport{std::move(options)}, config_for(server, app_id));
  return app.log_in(credentials::email_password(email, password));
}

template <class Result>
void require_tls_refused(const Result& r) {
  REQUIRE_FALSE(r.has_value());
  CHECK_MESSAGE(r.error().code == errc::tls_error, error_of(r));
  CHECK(r.error().http_status == 0);
  CHECK(apikeys_tests::describe(r.error()).find(password) == std::string::npos);
}

// Stops the server (which must not wait for the idle keep-alive connections its clients still hold: its
// timeouts are 5 s) and says how many requests it answered. Its log has one line per request and then a
// summary; anything else (a sanitizer report, say) fails the test.
std::size_t answered_requests(emulator_process& server) {
  const auto start = std::chrono::steady_clock::now();
  CHECK(server.stop() == 0);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  std::istringstream lines(server.stderr_text());
  std::size_t n = 0;
  std::vector<std::string> other;
  std::string line;
  while (std::getline(lines, line)) {
    if ((line.rfind("apikeys info response method=", 0) == 0 || line.rfind("apikeys warn response method=", 0) == 0) &&
        line.find(" route=/") != std::string::npos)
      ++n;
    else
      other.push_back(line);
  }
  REQUIRE_MESSAGE(other.size() == 1, server.stderr_text());
  CHECK(other[0] == fmt::format("apikeys-emulator: stopped after {} requests", n));
  return n;
}

}  // namespace

TEST_CASE_TEMPLATE_DEFINE("https: the seed's whole story with a client that trusts the CA", Adapter, story) {
  const tls_files& tls = files();
  emulator_process server(server_args(tls.server_cert, tls.server_key));
  REQUIRE(server.base_url().rfind("https://127.0.0.1:", 0) == 0);

  app_client<Adapter> app(typename Adapter::transport{trusting<Adapter>(tls.ca_cert)}, config_for(server, app_id));
  const std::shared_ptr<session> alice = app.log_in(credentials::email_password(email, password));
  REQUIRE(alice);
  CHECK(alice->logged_in());
  // The location answer names the https URL, and every later request goes there.
  CHECK(alice->host() == server.base_url());

  auto keys = app.api_keys(alice);
  const api_key created = keys.create("someKeyName");
  CHECK(created.name == "someKeyName");
  CHECK(created.enabled);
  REQUIRE(created.value.has_value());
  CHECK(created.value->reveal().size() == 64);

  const std::optional<api_key> fetched = keys.fetch(created.id);
  apikeys_tests::check_fetched(fetched, created);

  const std::vector<api_key> all = keys.fetch_all();
  REQUIRE(all.size() == 1);
  CHECK(all[0].id == created.id);

  keys.disable(created.id);
  const auto disabled = keys.fetch(created.id);
  REQUIRE(disabled.has_value());
  CHECK_FALSE(disabled->enabled);

  // The device: a second app client with a transport (and TLS connections) of its own.
  result_app_client<Adapter> device(typename Adapter::transport{trusting<Adapter>(tls.ca_cert)}, config_for(server, app_id));
  {
    const auto refused = device.log_in(credentials::api_key(*created.value));
    REQUIRE_FALSE(refused.has_value());
    CHECK_MESSAGE(refused.error().code == errc::auth_error, error_of(refused));
    CHECK(refused.error().http_status == 401);
  }

  keys.enable(created.id);
  const auto enabled = keys.fetch(created.id);
  REQUIRE(enabled.has_value());
  CHECK(enabled->enabled);

  const auto device_session = device.log_in(credentials::api_key(*created.value));
  REQUIRE_MESSAGE(device_session.has_value(), error_of(device_session));
  CHECK((*device_session)->user_id() == alice->user_id());
  CHECK((*device_session)->provider() == "api-key");

  keys.remove(created.id);
  CHECK_FALSE(keys.fetch(created.id).has_value());
  CHECK(keys.fetch_all().empty());
  const auto gone = device.log_in(credentials::api_key(*created.value));
  REQUIRE_FALSE(gone.has_value());
  CHECK_MESSAGE(gone.error().code == errc::auth_error, error_of(gone));

  // location, login, its profile, create, fetch, fetch_all, disable, fetch, location, key login (401),
  // enable, fetch, key login, its profile, delete, fetch (404), fetch_all, key login (401): every one over
  // TLS and answered.
  CHECK(answered_requests(server) == 18);
}
TEST_CASE_TEMPLATE_APPLY(story, adapters);

TEST_CASE_TEMPLATE_DEFINE("https: a certificate from a CA the client does not trust is refused", Adapter, untrusted) {
  const tls_files& tls = files();
  emulator_process server(server_args(tls.server_cert, tls.server_key));

  SUBCASE("the default trust store") { require_tls_refused(try_log_in<Adapter>(server, {})); }
  SUBCASE("a CA bundle with another CA") {
    require_tls_refused(try_log_in<Adapter>(server, trusting<Adapter>(tls.other_ca_cert)));
  }
  SUBCASE("insecure_hosts naming other hosts, the certificate's names among them") {
    require_tls_refused(try_log_in<Adapter>(server, insecure_for<Adapter>({"localhost", "127.0.0.2", "::1"})));
  }
  // Refused during the handshake: not one request reached the server.
  CHECK(answered_requests(server) == 0);
}
TEST_CASE_TEMPLATE_APPLY(untrusted, adapters);

TEST_CASE_TEMPLATE_DEFINE("https: a certificate for another host name is refused, though its CA is trusted", Adapter,
                          wrong_host) {
  const tls_files& tls = files();
  emulator_process server(server_args(tls.wrong_host_cert, tls.wrong_host_key));

  SUBCASE("trusting the CA") { require_tls_refused(try_log_in<Adapter>(server, trusting<Adapter>(tls.ca_cert))); }
  SUBCASE("trusting the CA, and insecure_hosts naming the certificate's host rather than the URL's") {
    auto options = trusting<Adapter>(tls.ca_cert);
    options.insecure_hosts = {"wrong.example"};
    require_tls_refused(try_log_in<Adapter>(server, options));
  }
  CHECK(answered_requests(server) == 0);
}
TEST_CASE_TEMPLATE_APPLY(wrong_host, adapters);

TEST_CASE_TEMPLATE_DEFINE("https: insecure_hosts naming the URL's host turns verification off for it alone", Adapter,
                          insecure) {
  const tls_files& tls = files();

  SUBCASE("an untrusted CA") {
    emulator_process server(server_args(tls.server_cert, tls.server_key));
    const auto r = try_log_in<Adapter>(server, insecure_for<Adapter>({"localhost", "127.0.0.1"}));
    REQUIRE_MESSAGE(r.has_value(), error_of(r));
    CHECK((*r)->host() == server.base_url());
    CHECK(answered_requests(server) == 3);  // location, log in, its profile
  }
  SUBCASE("a name that does not match") {
    emulator_process server(server_args(tls.wrong_host_cert, tls.wrong_host_key));
    const auto r = try_log_in<Adapter>(server, insecure_for<Adapter>({"127.0.0.1"}));
    REQUIRE_MESSAGE(r.has_value(), error_of(r));
    CHECK(answered_requests(server) == 3);  // location, log in, its profile
  }
}
TEST_CASE_TEMPLATE_APPLY(insecure, adapters);

TEST_CASE("https: stopping the server does not wait for a client stuck in the handshake or idle after it") {
  const tls_files& tls = files();
  emulator_process server(server_args(tls.server_cert, tls.server_key));

  // A client that connects and never says hello holds a worker in the handshake.
  const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(silent >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(apikeys_tests::port_of(server.base_url())));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(::connect(silent, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);

  // And one that logged in keeps its connection open, idle, in the transport's pool.
  apikeys::httplib_transport transport{trusting<httplib_adapter>(tls.ca_cert)};
  result_app_client<httplib_adapter> app(transport, config_for(server, app_id));
  const auto r = app.log_in(credentials::email_password(email, password));
  REQUIRE_MESSAGE(r.has_value(), error_of(r));
  CHECK(transport.idle_connections() == 1);

  CHECK(answered_requests(server) == 3);  // location, log in, its profile
  // The server closed the silent connection without a word.
  char byte = 0;
  CHECK(::recv(silent, &byte, 1, 0) == 0);
  ::close(silent);
}

#endif
