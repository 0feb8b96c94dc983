// apikeys::curl_transport against real servers on 127.0.0.1: the conformance suite, and what is libcurl's own.
#if APIKEYS_TEST_HAVE_CURL

#include <apikeys/transport/curl.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "support/adapter_cases.hpp"
#include "support/adapter_test_support.hpp"

namespace {

using apikeys::curl_transport;
using apikeys::curl_transport_options;
using apikeys::errc;
using apikeys::http_method;
using apikeys::http_request;
using apikeys_tests::binary_body;
using apikeys_tests::canned_response;
using apikeys_tests::make_request;
using apikeys_tests::raw_connection;
using apikeys_tests::raw_socket_server;
using apikeys_tests::recording_server;
using apikeys_tests::require_transport_error;
using apikeys_tests::split_request;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Eight handles kept, each with its connection: as many as eight threads at once need.
struct curl_fixture : apikeys_tests::adapter_fixture<curl_transport, curl_transport_options, &curl_transport::idle_handles,
                                                    &curl_transport_options::max_idle_handles, 8> {};

// Sets (or, with nullopt, removes) an environment variable for one scope, and puts the old value back.
class scoped_env {
 public:
  scoped_env(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;
  ~scoped_env() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

APIKEYS_TEST_BUNDLED_ADAPTER(curl_fixture);

TEST_CASE("URLs are checked and reduced to an origin, and unusable ones are refused without being quoted") {
  using apikeys::detail::parse_curl_url;

  apikeys_tests::check_url_parser([](std::string_view url) { return parse_curl_url(url); });

  // send() refuses them before anything goes out.
  curl_transport transport;
  const auto r = transport.send(make_request(http_method::get, "ftp://127.0.0.1/secret-path"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::transport_error);
  CHECK(r.error().message.find("secret-path") == std::string::npos);
}

TEST_CASE("the request goes out with exactly its own headers plus Host and Content-Length") {
  recording_server server;
  const std::string host = "Host: 127.0.0.1:" + std::to_string(server.port());
  curl_transport transport;
  apikeys_tests::check_request_heads_exact(transport, server,
                                           {{http_method::get, false}, {http_method::get, true},
                                            {http_method::post, false}, {http_method::post, true},
                                            {http_method::put, false}, {http_method::put, true},
                                            {http_method::delete_, false}, {http_method::delete_, true}},
                                           {});

  SUBCASE("no Accept, Content-Type, Expect or User-Agent of libcurl's own; the caller's go out as written") {
    http_request request;
    request.method = http_method::post;
    request.url = server.url("/bare");
    request.body = binary_body((std::size_t{1} << 20) + 1);  // above libcurl's Expect: 100-continue threshold
    request.timeout = 5s;
    const auto start = clock_type::now();
    auto r = transport.send(request);
    REQUIRE(r);
    CHECK(clock_type::now() - start < 900ms);  // no second spent waiting for a 100 Continue
    {
      const auto head = split_request(server.last_request());
      CHECK(head.request_line == "POST /bare HTTP/1.1");
      CHECK(head.header_lines == std::multiset<std::string>{host, "Content-Length: 1048577"});
      CHECK(head.body == request.body);
    }

    request.method = http_method::get;
    request.body.clear();
    request.headers = {{"User-Agent", "mine/1.0"}, {"X-Empty", ""}, {"x-lower", "Mixed  Spaces\tand tab"},
                       {"Accept", "*/*"}, {"Expect", "100-continue-not"}, {"X-Dup", "1"}, {"X-Dup", "2"}};
    r = transport.send(request);
    REQUIRE(r);
    const auto head = split_request(server.last_request());
    CHECK(head.request_line == "GET /bare HTTP/1.1");
    CHECK(head.header_lines == std::multiset<std::string>{host, "User-Agent: mine/1.0", "X-Empty:",
                                                          "x-lower: Mixed  Spaces\tand tab", "Accept: */*",
                                                          "Expect: 100-continue-not", "X-Dup: 1", "X-Dup: 2"});
    CHECK(head.body.empty());
  }
}

TEST_CASE("response headers arrive with every name and value as sent, duplicates and empty values included") {
  curl_transport transport;
  const auto lines = apikeys_tests::response_header_lines(
      transport, "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n",
      "x-lower: a\r\nX-LOWER: b\r\nSet-Cookie: one=1\r\nSet-Cookie: two=2\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nConnection: close\r\nEmpty:\r\nPadded:   v  \r\n");
  CHECK(lines == std::vector<std::string>{"x-lower: a", "X-LOWER: b", "Set-Cookie: one=1", "Set-Cookie: two=2",
                                          "Content-Type: application/json", "Content-Length: 2",
                                          "Connection: close", "Empty: ", "Padded: v"});
}

TEST_CASE("keep-alive: two sends reuse one TCP connection") {
  std::atomic<int> requests{0};
  raw_socket_server server([&](raw_connection& c) {
    for (int i = 0; i < 2; ++i) {
      if (c.read_request(2s).empty()) return;
      ++requests;
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  curl_transport transport;
  for (int i = 0; i < 2; ++i) {
    CAPTURE(i);
    const auto r = transport.send(make_request(http_method::put, server.url("/k"), "v"));
    REQUIRE(r);
    CHECK(r->body == "ok");
    CHECK(transport.idle_handles() == 1);
  }
  CHECK(requests == 2);
  CHECK(server.accepted() == 1);
}

TEST_CASE("with max_idle_handles = 0 nothing is kept, and every send connects anew") {
  raw_socket_server server([](raw_connection& c) {
    c.read_request(1s);
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.read_request(200ms);  // a kept connection would send its next request here
  });
  curl_transport_options options;
  options.max_idle_handles = 0;
  curl_transport transport(options);
  for (int i = 0; i < 2; ++i) REQUIRE(transport.send(make_request(http_method::get, server.url("/"))));
  CHECK(transport.idle_handles() == 0);
  CHECK(server.accepted() == 2);
}

TEST_CASE("the proxy environment variables are ignored unless use_environment_proxy is set") {
  std::atomic<int> direct{0};
  std::mutex mutex;
  std::string proxied;
  raw_socket_server target([&](raw_connection& c) {
    c.read_request();
    ++direct;
    c.write(canned_response("direct"));
  });
  raw_socket_server proxy([&](raw_connection& c) {
    auto raw = c.read_request();
    {
      std::lock_guard<std::mutex> lock(mutex);
      proxied = std::move(raw);
    }
    c.write(canned_response("via proxy"));
  });
  const scoped_env http_proxy("http_proxy", proxy.url(""));
  const scoped_env all_proxy("ALL_PROXY", proxy.url(""));
  const scoped_env no_proxy("no_proxy", std::nullopt);
  const scoped_env no_proxy_upper("NO_PROXY", std::nullopt);

  curl_transport plain;
  auto r = plain.send(make_request(http_method::get, target.url("/p")));
  REQUIRE(r);
  CHECK(r->body == "direct");
  CHECK(direct == 1);
  CHECK(proxy.accepted() == 0);

  curl_transport_options options;
  options.use_environment_proxy = true;
  curl_transport via_env(options);
  r = via_env.send(make_request(http_method::get, target.url("/p")));
  REQUIRE(r);
  CHECK(r->body == "via proxy");
  CHECK(direct == 1);
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(proxied.rfind("GET " + target.url("/p") + " HTTP/1.1\r\n", 0) == 0);
}

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
TEST_CASE("https: the host name is checked; insecure_hosts turns verification off for those hosts only") {
  const apikeys_tests::tls_echo_server server("apikeys_curl_test");
  // The certificate names no host, so "localhost" does not match it.
  const std::string by_name = "https://localhost:" + std::to_string(server.port());

  SUBCASE("a trusted certificate for another name is refused: the host name is checked") {
    curl_transport_options options;
    options.ca_bundle_path = server.pem().cert;
    curl_transport transport(options);
    require_transport_error(transport.send(make_request(http_method::get, by_name + "/")), errc::tls_error);
  }
  SUBCASE("insecure_hosts accepts exactly the listed hosts, case-insensitively") {
    curl_transport_options options;
    options.insecure_hosts = {"LocalHost"};
    curl_transport transport(options);
    auto r = transport.send(make_request(http_method::put, by_name + "/", "x"));
    REQUIRE(r);
    CHECK(r->body == "secure x");
    // 127.0.0.1 is the same server but not listed: still verified, still refused.
    require_transport_error(transport.send(make_request(http_method::get, server.url("/"))), errc::tls_error);

    options.insecure_hosts = {"127.0.0.1"};
    curl_transport by_ip(options);
    r = by_ip.send(make_request(http_method::put, server.url("/"), "y"));
    REQUIRE(r);
    CHECK(r->body == "secure y");
    require_transport_error(by_ip.send(make_request(http_method::get, by_name + "/")), errc::tls_error);
  }
}
#endif

#endif  // APIKEYS_TEST_HAVE_CURL
