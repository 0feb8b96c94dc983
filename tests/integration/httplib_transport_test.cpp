// apikeys::httplib_transport against real servers on 127.0.0.1: the conformance suite, and what is cpp-httplib's own.
#include <apikeys/transport/httplib.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "support/adapter_cases.hpp"
#include "support/adapter_test_support.hpp"

namespace {

using apikeys::errc;
using apikeys::http_method;
using apikeys::httplib_transport;
using apikeys::httplib_transport_options;
using apikeys_tests::make_request;
using apikeys_tests::recording_server;
using apikeys_tests::require_transport_error;

// Four idle connections kept per origin, so the suite's pool case runs four threads. cpp-httplib 0.11
// percent-decodes every response header value (upstream issue #1789).
struct httplib_fixture
    : apikeys_tests::adapter_fixture<httplib_transport, httplib_transport_options, &httplib_transport::idle_connections,
                                     &httplib_transport_options::max_idle_per_origin, 4, true> {};

}  // namespace

APIKEYS_TEST_BUNDLED_ADAPTER(httplib_fixture);

TEST_CASE("URLs are split into origin and target, and unusable ones are refused without being quoted") {
  using apikeys::detail::parse_httplib_url;

  apikeys_tests::check_url_parser([](std::string_view url) { return parse_httplib_url(url); });

  // Beside the origin, cpp-httplib needs the target and the Host header's authority.
  CHECK(parse_httplib_url("http://127.0.0.1:8080/api/client/v2.0/auth/api_keys?x=1#frag").value().target ==
        "/api/client/v2.0/auth/api_keys?x=1");
  const auto secure = parse_httplib_url("HTTPS://Services.Cloud.MongoDB.com");
  REQUIRE(secure);
  CHECK(secure->target == "/");
  CHECK(secure->authority() == "services.cloud.mongodb.com");
  CHECK(parse_httplib_url("http://[::1]:9000/p").value().authority() == "[::1]:9000");

  const auto empty_port = parse_httplib_url("http://example.com:?q");
  REQUIRE(empty_port);
  CHECK(empty_port->port == 80);
  CHECK(empty_port->target == "/?q");
}

TEST_CASE("redirect locations resolve against the URL that answered") {
  using apikeys::detail::parse_httplib_url;
  using apikeys::detail::resolve_httplib_location;
  const auto base = parse_httplib_url("https://a.example:8443/v2/keys/one?x=1").value();
  CHECK(resolve_httplib_location(base, "http://b.example/z")->origin() == "http://b.example:80");
  CHECK(resolve_httplib_location(base, "//c.example/y")->origin() == "https://c.example:443");
  CHECK(resolve_httplib_location(base, "//c.example/y")->target == "/y");
  CHECK(resolve_httplib_location(base, "/root?q")->target == "/root?q");
  CHECK(resolve_httplib_location(base, "/root")->origin() == "https://a.example:8443");
  CHECK(resolve_httplib_location(base, "two")->target == "/v2/keys/two");
  CHECK(resolve_httplib_location(base, "?page=2")->target == "/v2/keys/one?page=2");
  CHECK(resolve_httplib_location(base, "/next?to=http://b.example/")->target == "/next?to=http://b.example/");
  CHECK(resolve_httplib_location(base, "/next?to=http://b.example/")->origin() == "https://a.example:8443");
  CHECK_FALSE(resolve_httplib_location(base, "mailto://x"));
}

TEST_CASE("the request goes out with exactly its own headers and httplib's Host, User-Agent, Content-Length") {
  recording_server server;
  httplib_transport transport;
  // Later cpp-httplib releases (0.53 among them) add Accept-Encoding to every request, empty when built
  // without compression: "identity only", which asks for nothing apikeys would have to undo. Nothing
  // else may be added.
  apikeys_tests::check_request_heads_exact(
      transport, server,
      {{http_method::get, false}, {http_method::get, true}, {http_method::put, false}, {http_method::delete_, false},
       {http_method::post, true}},
      {std::string{"User-Agent: cpp-httplib/"} + CPPHTTPLIB_VERSION}, "Accept-Encoding: ");
}

TEST_CASE("response headers arrive with every name and value as sent, duplicates included") {
  httplib_transport transport;
  const auto arrived = apikeys_tests::response_header_lines(
      transport, "",
      "x-lower: a\r\nX-LOWER: b\r\nSet-Cookie: one=1\r\nSet-Cookie: two=2\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nConnection: close\r\nEmpty:\r\n");
  const std::multiset<std::string> lines(arrived.begin(), arrived.end());
  // httplib 0.11 drops a header whose value is empty ("Empty:"), later releases keep it; the rest arrive
  // untouched, though not necessarily in order.
  std::multiset<std::string> expected{"x-lower: a", "X-LOWER: b", "Set-Cookie: one=1", "Set-Cookie: two=2",
                                      "Content-Type: application/json", "Content-Length: 2", "Connection: close"};
  if (lines.count("Empty: ") == 1) expected.insert("Empty: ");
  CHECK(lines == expected);
}

TEST_CASE("insecure_hosts match the URL's host exactly, but for ASCII case; IPv6 with or without brackets") {
  using apikeys::detail::httplib_insecure_host;
  using apikeys::detail::parse_httplib_url;
  httplib_transport_options options;
  options.insecure_hosts = {"Test.Example", "::1"};
  const auto host_of = [](std::string_view url) { return parse_httplib_url(url).value().host; };
  CHECK(httplib_insecure_host(options, host_of("https://test.example/")));
  CHECK(httplib_insecure_host(options, host_of("https://TEST.EXAMPLE:8443/x")));
  CHECK(httplib_insecure_host(options, host_of("https://[::1]:8443/")));
  CHECK_FALSE(httplib_insecure_host(options, host_of("https://test.example.com/")));
  CHECK_FALSE(httplib_insecure_host(options, host_of("https://sub.test.example/")));
  CHECK_FALSE(httplib_insecure_host(options, host_of("https://[::2]/")));
  CHECK_FALSE(httplib_insecure_host(httplib_transport_options{}, host_of("https://test.example/")));
  options.insecure_hosts = {"[::2]"};  // as written in the URL: the same host
  CHECK(httplib_insecure_host(options, host_of("https://[::2]:8443/")));
  CHECK_FALSE(httplib_insecure_host(options, host_of("https://[::1]:8443/")));
}

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
TEST_CASE("https: insecure_hosts turns verification off for the hosts it names only") {
  const apikeys_tests::tls_echo_server server("apikeys_httplib_test");

  SUBCASE("insecure_hosts naming the URL's host accepts it") {
    httplib_transport_options options;
    options.insecure_hosts = {"example.com", "127.0.0.1"};
    httplib_transport transport(options);
    const auto r = transport.send(make_request(http_method::put, server.url("/"), "x"));
    REQUIRE(r);
    CHECK(r->body == "secure x");
  }
  SUBCASE("insecure_hosts naming only other hosts still verifies") {
    httplib_transport_options options;
    options.insecure_hosts = {"localhost", "127.0.0.2", "::1"};
    httplib_transport transport(options);
    require_transport_error(transport.send(make_request(http_method::put, server.url("/"), "x")), errc::tls_error);
    CHECK(server.client_ports() == 0);
  }
}
#endif
