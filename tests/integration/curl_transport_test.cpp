// apikeys::curl_transport against real servers on 127.0.0.1: wire bytes, statuses, failures, reuse, TLS.
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

#include "support/adapter_test_support.hpp"

namespace {

using apikeys::curl_transport;
using apikeys::curl_transport_options;
using apikeys::errc;
using apikeys::http_method;
using apikeys::http_request;
using apikeys_tests::bearer;
using apikeys_tests::binary_body;
using apikeys_tests::canned_response;
using apikeys_tests::content_type;
using apikeys_tests::make_request;
using apikeys_tests::raw_connection;
using apikeys_tests::raw_socket_server;
using apikeys_tests::recording_server;
using apikeys_tests::require_transport_error;
using apikeys_tests::split_request;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

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

TEST_CASE("URLs are checked and reduced to an origin, and unusable ones are refused without being quoted") {
  using apikeys::detail::parse_curl_url;

  auto u = parse_curl_url("http://127.0.0.1:8080/api/client/v2.0/auth/api_keys?x=1#frag");
  REQUIRE(u);
  CHECK_FALSE(u->https);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 8080);
  CHECK(u->origin() == "http://127.0.0.1:8080");

  u = parse_curl_url("HTTPS://Services.Cloud.MongoDB.com");
  REQUIRE(u);
  CHECK(u->https);
  CHECK(u->host == "services.cloud.mongodb.com");
  CHECK(u->port == 443);
  CHECK(u->origin() == "https://services.cloud.mongodb.com:443");

  u = parse_curl_url("http://[::1]:9000/p");
  REQUIRE(u);
  CHECK(u->ipv6);
  CHECK(u->host == "::1");
  CHECK(u->origin() == "http://[::1]:9000");

  apikeys_tests::check_unusable_urls_refused([](std::string_view url) { return parse_curl_url(url); });

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
  const std::multiset<std::string> common{"Accept: application/json", "Authorization: " + std::string{bearer},
                                          "Content-Type: " + std::string{content_type}, host};
  curl_transport transport;

  struct wire_case {
    http_method method;
    std::string body;
    std::string request_line;
    std::vector<std::string> extra;
  };
  const std::string json = R"({"name":"kéy \"1\" \u00e9"})";  // raw UTF-8 and escapes, as the wire has them
  const std::string length = "Content-Length: " + std::to_string(json.size());
  const std::string target = "/api/client/v2.0/auth/api_keys?a=1&b=%20";
  const wire_case cases[] = {
      {http_method::get, "", "GET " + target + " HTTP/1.1", {}},
      {http_method::get, json, "GET " + target + " HTTP/1.1", {length}},
      {http_method::post, "", "POST " + target + " HTTP/1.1", {"Content-Length: 0"}},
      {http_method::post, json, "POST " + target + " HTTP/1.1", {length}},
      {http_method::put, "", "PUT " + target + " HTTP/1.1", {"Content-Length: 0"}},
      {http_method::put, json, "PUT " + target + " HTTP/1.1", {length}},
      {http_method::delete_, "", "DELETE " + target + " HTTP/1.1", {}},
      {http_method::delete_, json, "DELETE " + target + " HTTP/1.1", {length}},
  };
  for (const auto& wc : cases) {
    CAPTURE(wc.request_line);
    CAPTURE(wc.body.size());
    const auto r = transport.send(make_request(wc.method, server.url(target + "#fragment"), wc.body));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "ok");
    const auto head = split_request(server.last_request());
    CHECK(head.request_line == wc.request_line);
    auto expected = common;
    expected.insert(wc.extra.begin(), wc.extra.end());
    CHECK(head.header_lines == expected);
    CHECK(head.body == wc.body);
  }

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

TEST_CASE("every method carries its body byte for byte, and each protocol header arrives once") {
  curl_transport transport;
  apikeys_tests::check_every_method_carries_its_body(transport);
}

TEST_CASE("statuses, bodies and headers pass through; 3xx is not followed by default") {
  curl_transport transport;
  apikeys_tests::check_statuses_pass_through(transport);
}

TEST_CASE("response headers arrive with every name and value as sent, duplicates and empty values included") {
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write(
        "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
        "HTTP/1.1 418 I'm a teapot\r\nx-lower: a\r\nX-LOWER: b\r\nSet-Cookie: one=1\r\nSet-Cookie: two=2\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\nEmpty:\r\n"
        "Padded:   v  \r\n\r\n{}");
  });
  curl_transport transport;
  const auto r = transport.send(make_request(http_method::get, server.url("/")));
  REQUIRE(r);
  CHECK(r->status == 418);
  CHECK(r->body == "{}");
  std::vector<std::string> lines;
  for (const auto& h : r->headers) lines.push_back(h.name + ": " + h.value);
  CHECK(lines == std::vector<std::string>{"x-lower: a", "X-LOWER: b", "Set-Cookie: one=1", "Set-Cookie: two=2",
                                          "Content-Type: application/json", "Content-Length: 2",
                                          "Connection: close", "Empty: ", "Padded: v"});
}

TEST_CASE("a 1 MiB body travels both ways, and the response body has padding for simdjson") {
  curl_transport transport;
  apikeys_tests::check_big_body_both_ways(transport);
}

TEST_CASE("an empty body stays empty both ways") {
  curl_transport transport;
  apikeys_tests::check_empty_body_stays_empty(transport);
}

TEST_CASE("a handler slower than the request's timeout is errc::timeout, soon after the timeout") {
  curl_transport transport;
  apikeys_tests::check_slow_handler_times_out(transport);
}

TEST_CASE("a request without a timeout gets the options' default") {
  curl_transport_options options;
  options.default_timeout = 200ms;
  curl_transport transport(options);
  apikeys_tests::check_default_timeout_applies(transport);
}

TEST_CASE("a body trickled slower than the timeout allows is cut off as a timeout") {
  curl_transport transport;
  apikeys_tests::check_trickled_body_times_out(transport);
}

TEST_CASE("a port with nothing listening is errc::connection_failed") {
  curl_transport transport;
  apikeys_tests::check_refused_connect_fails(transport);
}

TEST_CASE("a host name that does not resolve is errc::connection_failed") {
  curl_transport transport;
  // .invalid never resolves (RFC 6761); no DNS server is needed to learn that.
  const auto r = transport.send(make_request(http_method::get, "http://apikeys-test.invalid/x", "", 2s));
  REQUIRE_FALSE(r);
  // A resolver that cannot be reached may also run out of time; either way no response is claimed.
  CHECK_MESSAGE((r.error().code == errc::connection_failed || r.error().code == errc::timeout), r.error().message);
  CHECK(r.error().message.find("http://apikeys-test.invalid:80") != std::string::npos);
}

TEST_CASE("a connection closed in mid-body is errc::connection_reset, not a status") {
  curl_transport transport;
  apikeys_tests::check_closed_mid_body_is_reset(transport);
}

TEST_CASE("a connection closed before any response is errc::connection_reset") {
  curl_transport transport;
  apikeys_tests::check_closed_before_response_is_reset(transport);
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

TEST_CASE("a kept connection that the server has since closed is replaced, not reported") {
  curl_transport transport;
  apikeys_tests::check_closed_kept_connection_replaced(transport, [](const curl_transport&) {});
}

TEST_CASE("a connect that gets no answer is errc::timeout after the connect timeout") {
  curl_transport_options options;
  options.connect_timeout = 200ms;
  curl_transport transport(options);
  const auto r = apikeys_tests::check_unanswered_connect_times_out(transport);
  CHECK(r.error().message.find("connecting to") != std::string::npos);
}

TEST_CASE("keep-alive: 50 sequential requests share one connection and are quick") {
  curl_transport transport;
  apikeys_tests::check_sequential_requests_share_a_connection(transport);
  CHECK(transport.idle_handles() == 1);
}

TEST_CASE("8 threads x 50 requests on one shared transport all get their own answers") {
  curl_transport transport;
  const std::size_t client_ports = apikeys_tests::check_concurrent_requests_get_their_answers(transport);
  CHECK(transport.idle_handles() <= 8);
  CHECK(transport.idle_handles() >= 1);
  // Handles and their connections are reused: without the pool every request would bring a new one.
  CHECK(client_ports <= 16);
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

TEST_CASE("a header that would split the request is refused, and its value is not quoted") {
  curl_transport transport;
  apikeys_tests::check_unsendable_headers_refused(transport);
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

TEST_CASE("with follow_redirects, redirects are followed within the bound and credentials stay home") {
  curl_transport_options options;
  options.follow_redirects = true;
  options.max_redirects = 3;
  curl_transport transport(options);
  apikeys_tests::check_redirects_followed(transport);
}

TEST_CASE("https against a plain-HTTP port is a TLS transport error, not a status") {
  curl_transport transport;
  apikeys_tests::check_https_to_plain_port_is_tls_error(transport);
}

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
TEST_CASE("https: verified by default, against the CA bundle; insecure_hosts turns it off for those hosts only") {
  const apikeys_tests::tls_echo_server server("apikeys_curl_test");
  // The certificate names no host, so "localhost" does not match it.
  const std::string by_name = "https://localhost:" + std::to_string(server.port());

  SUBCASE("an unknown issuer is refused") {
    curl_transport transport;
    apikeys_tests::check_unknown_issuer_refused(transport, server);
  }
  SUBCASE("the CA bundle makes it trusted, and the connection is kept alive") {
    curl_transport_options options;
    options.ca_bundle_path = server.pem().cert;
    curl_transport transport(options);
    apikeys_tests::check_ca_bundle_trusted(transport, server);
  }
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
  SUBCASE("a redirect from an insecure host to another host is verified again") {
    curl_transport_options options;
    options.insecure_hosts = {"localhost"};
    options.follow_redirects = true;
    curl_transport transport(options);
    require_transport_error(transport.send(make_request(http_method::get, by_name + "/to-ip")), errc::tls_error);
  }
  SUBCASE("a CA bundle that cannot be read is a TLS error") {
    curl_transport_options options;
    options.ca_bundle_path = (server.pem().dir / "missing.pem").string();
    curl_transport transport(options);
    require_transport_error(transport.send(make_request(http_method::get, server.url("/"))), errc::tls_error);
  }
}
#endif

#endif  // APIKEYS_TEST_HAVE_CURL
