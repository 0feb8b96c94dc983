// Test helper: the fixture of a bundled adapter, and the cases both bundled adapters run beside the public
// conformance suite (their options, messages, redirects and TLS), written once for both.
#pragma once

#include <apikeys/testing/transport_conformance.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>

#include "adapter_test_support.hpp"

namespace apikeys_tests {

/// A conformance fixture (apikeys/testing/transport_conformance.hpp) for a bundled adapter, which also
/// tells the cases below its options type and how it counts what it keeps for reuse. `PoolLimit` is the
/// options member that bounds the pool, set to `MaxIdle` for the suite's pool case; every other option
/// keeps its default, so that the suite checks what users get (redirects followed among it).
template <class Transport, class Options, auto IdleCount, auto PoolLimit, std::size_t MaxIdle,
          bool DecodesHeaderEscapes = false>
struct adapter_fixture {
  using transport_type = Transport;
  using options_type = Options;
  static constexpr bool thread_safe = true;
  static constexpr bool errors_name_origin = true;
  static constexpr bool decodes_response_header_escapes = DecodesHeaderEscapes;
  static constexpr std::size_t max_idle_connections = MaxIdle;
  static Transport make(const apikeys::testing::conformance_target& target) {
    Options options;
    options.*PoolLimit = MaxIdle;
    if (!target.follow_redirects) options.follow_redirects = false;
    return Transport{options};
  }
  static std::size_t idle(const Transport& transport) { return (transport.*IdleCount)(); }
};

}  // namespace apikeys_tests

// Each adapter's test invokes this with its adapter_fixture, beside the conformance suite's two cases.
TEST_CASE_TEMPLATE_DEFINE("what a bundled adapter does beyond the conformance suite", A, apikeys_adapter_cases) {
  using transport_type = typename A::transport_type;
  using options_type = typename A::options_type;

  SUBCASE("response bodies, 1 MiB or empty, come with padding for simdjson") {
    transport_type transport;
    apikeys_tests::check_response_bodies_padded(transport);
  }
  SUBCASE("a request without a timeout gets the options' default") {
    options_type options;
    options.default_timeout = std::chrono::milliseconds{200};
    transport_type transport(options);
    apikeys_tests::check_default_timeout_applies(transport);
  }
  SUBCASE("a connect that gets no answer is errc::timeout after the connect timeout") {
    options_type options;
    options.connect_timeout = std::chrono::milliseconds{200};
    transport_type transport(options);
    apikeys_tests::check_unanswered_connect_times_out(transport);
  }
  SUBCASE("keep-alive: 50 sequential requests share one connection and are quick") {
    transport_type transport;
    apikeys_tests::check_sequential_requests_share_a_connection(transport);
    CHECK(A::idle(transport) == 1);
  }
  SUBCASE("redirects are followed by default, five at most, as browsers and .NET's HttpClient do") {
    CHECK(options_type{}.follow_redirects);
    CHECK(options_type{}.max_redirects == 5);
  }
  SUBCASE("with follow_redirects, redirects are followed within the bound and credentials stay home") {
    options_type options;
    options.follow_redirects = true;
    options.max_redirects = 3;
    transport_type transport(options);
    apikeys_tests::check_redirects_followed(transport);
  }
  SUBCASE("https against a plain-HTTP port is a TLS transport error, not a status") {
    transport_type transport;
    apikeys_tests::check_https_to_plain_port_is_tls_error(transport);
  }
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  SUBCASE("https: an unknown issuer is refused by default") {
    const apikeys_tests::tls_echo_server server("apikeys_adapter_test");
    transport_type transport;
    apikeys_tests::check_unknown_issuer_refused(transport, server);
  }
  SUBCASE("https: the CA bundle makes the certificate trusted, and the connection is kept alive") {
    const apikeys_tests::tls_echo_server server("apikeys_adapter_test");
    options_type options;
    options.ca_bundle_path = server.pem().cert;
    transport_type transport(options);
    apikeys_tests::check_ca_bundle_trusted(transport, server);
  }
  SUBCASE("https: each redirect hop is verified, or not, for its own host") {
    const apikeys_tests::tls_echo_server server("apikeys_adapter_test");
    apikeys_tests::check_tls_trust_per_hop<transport_type, options_type>(server);
  }
  SUBCASE("https: a redirect to plain http is refused with errc::tls_error, the http server never asked") {
    const apikeys_tests::tls_echo_server server("apikeys_adapter_test");
    apikeys_tests::check_https_to_http_redirect_refused<transport_type, options_type>(server);
  }
  SUBCASE("https: a CA bundle that cannot be read is a TLS error") {
    const apikeys_tests::tls_echo_server server("apikeys_adapter_test");
    options_type options;
    options.ca_bundle_path = (server.pem().dir / "missing.pem").string();
    transport_type transport(options);
    apikeys_tests::require_transport_error(
        transport.send(apikeys_tests::make_request(apikeys::http_method::get, server.url("/"))),
        apikeys::errc::tls_error);
  }
#endif
}

// What each bundled adapter's test invokes once, with its adapter_fixture: the public suite's wire and
// protocol cases, and the cases above.
#define APIKEYS_TEST_BUNDLED_ADAPTER(fixture)                                 \
  TEST_CASE_TEMPLATE_INVOKE(apikeys_transport_conformance, fixture);          \
  TEST_CASE_TEMPLATE_INVOKE(apikeys_transport_protocol_conformance, fixture); \
  TEST_CASE_TEMPLATE_INVOKE(apikeys_adapter_cases, fixture)
