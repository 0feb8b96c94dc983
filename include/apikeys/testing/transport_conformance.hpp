// apikeys::testing transport conformance suite: the doctest cases every Transport adapter must pass.
#ifndef APIKEYS_TESTING_TRANSPORT_CONFORMANCE_HPP
#define APIKEYS_TESTING_TRANSPORT_CONFORMANCE_HPP

// How to run it for your own adapter. In ONE translation unit of a doctest executable (POSIX; the wire
// cases listen on 127.0.0.1):
//
//   #include <doctest/doctest.h>
//   #include <apikeys/testing/transport_conformance.hpp>
//
//   struct my_fixture {
//     using transport_type = my_transport;        // what the suite sends through; may be a reference type
//     static my_transport make(const apikeys::testing::conformance_target& target) {
//       return my_transport{/* following redirects unless target.follow_redirects is false */};
//     }
//     // Optional settings, each with the default shown:
//     // static constexpr bool in_process = false;  // true: the transport never opens a socket
//     // static constexpr bool keep_alive = true;   // sequential requests share one connection
//     // static constexpr bool thread_safe = false; // true: send() may run on several threads at once
//     // static constexpr bool follows_redirects = true;  // false: the transport cannot follow redirects,
//     //   so the redirect cases are not run (make may then ignore target.follow_redirects)
//     // static constexpr std::size_t max_idle_connections = 0;  // N > 0, with thread_safe: N threads
//     //   sending at once must be served over at most N connections (the pool keeps and reuses them)
//     // static constexpr apikeys::errc truncated_body_error = apikeys::errc::connection_reset;
//     //   what a connection closed before the response was complete (mid-body, or before any of it) gives
//     // static constexpr std::chrono::milliseconds failure_slack{1000};  // see the failure bound below
//     // static constexpr bool errors_name_origin = false;  // true: failures name scheme://host:port
//     // static constexpr bool decodes_response_header_escapes = false;  // true: %XX in a response header
//     //   value arrives decoded (cpp-httplib 0.11 does this, upstream issue #1789), so that value is not compared
//   };
//
//   TEST_CASE_TEMPLATE_INVOKE(apikeys_transport_conformance, my_fixture);           // wire cases
//   TEST_CASE_TEMPLATE_INVOKE(apikeys_transport_protocol_conformance, my_fixture);  // the key story
//
// `make` is called once per case with a fresh target: `base_url` is the suite's server for this case
// (plain http on 127.0.0.1), `backend` the emulator behind it in the protocol cases. The suite puts a
// timeout in every request, so `make` need not configure one. Run the executable as usual; each case
// is a SUBCASE named for what it checks, e.g. `-sc="*keep-alive*"` runs one.
//
// - apikeys_transport_conformance (a transport that talks HTTP over sockets): each method with and
//   without a body arrives byte for byte (request line, every header name and value as given, exactly
//   one Content-Length, the body); response header names and values, duplicates included, come back as
//   sent; statuses 200, 201, 204, 301 with and without Location, 302, 303, 307 and 308 with Location,
//   400, 401, 404, 409, 500 and 503 come back with their headers and bodies, and (with
//   target.follow_redirects false) no redirect is followed;
//   1 MiB bodies travel both ways (POST and PUT); empty bodies stay empty; a server slower than
//   request.timeout, and a body trickling in slower than it allows, give errc::timeout within the failure
//   bound (timeout x 4 + failure_slack); a connection closed in mid-body or before any response gives
//   errc::connection_reset (or the fixture's truncated_body_error), never a (truncated) success; a port
//   nobody listens on gives errc::connection_failed, a host name that does not resolve connection_failed
//   or timeout; sequential requests reuse one connection (unless keep_alive is false), and a kept
//   connection the server has closed is replaced, not reported; with thread_safe, 8 threads sending at
//   once each get their own answers; a header name or value that cannot be sent as written (CR, LF, NUL,
//   a name that is no HTTP token) is refused with errc::transport_error before anything goes out, naming
//   the header; every error has a message, which quotes no request header value, body, or the URL's path
//   and query (and with errors_name_origin, each failure to get an answer names the server's
//   scheme://host:port). Unless follows_redirects is false, redirects are followed as browsers and
//   .NET's HttpClient follow them: by default a 301 and a 308 are followed (308 keeping the method and
//   the body, a POST answered 301 going on as a GET without one), with every other header and byte as
//   sent and only the final answer's headers coming back; five redirects in one send are followed and a
//   sixth (or a loop) is errc::too_many_redirects after six requests; Authorization, Proxy-Authorization
//   and Cookie do not reach another origin (here, another port of 127.0.0.1) and do reach the same one;
//   with target.follow_redirects false, 301, 302, 303, 307 and 308 come back as they are and no Location
//   is visited. (A redirect from https to http must be refused too; the suite has no TLS server to show it.)
//   With thread_safe and max_idle_connections N, N threads sending 40 requests each at once all get their
//   own answers over at most N connections.
// - apikeys_transport_protocol_conformance (any transport, in-process ones too): the .NET manual's story
//   (register, log in, create, fetch, fetch all, disable, enable, log in with the key, delete, and the
//   404, 401, 403 and 409 rows) through apikeys::basic_app_client over the fixture's transport must give
//   exactly the answers, and the exchanges exactly the statuses, that it gives straight against an
//   in-process apikeys::testing::emulator. A network fixture talks to an emulator served on 127.0.0.1;
//   an in_process fixture gets the emulator itself as `target.backend` and must forward to it.
//
// Failures are reported through the transport's own send(): a transport returning
// result<http_response, transport_error> reports a code; one returning http_response reports failures by
// throwing, which the suite (like the clients) can only see as errc::transport_error.
// For other test names or decorators, call run_transport_conformance<F>() or
// run_transport_protocol_conformance<F>() from a TEST_CASE of your own instead.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "../app.hpp"
#include "../credentials.hpp"
#include "../detail/exchange.hpp"
#include "../error.hpp"
#include "../error_policy.hpp"
#include "../executor.hpp"
#include "../http.hpp"
#include "../object_id.hpp"
#include "../result.hpp"
#include "../session.hpp"
#include "../transport.hpp"
#include "../version.hpp"
#include "detail/conformance_server.hpp"
#include "emulator.hpp"

namespace APIKEYS_NAMESPACE::testing {

/// What the suite tells a fixture's `make` about the case it is building a transport for.
struct conformance_target {
  /// Where this case's server listens, "http://127.0.0.1:PORT"; for an in_process fixture in the protocol
  /// cases, the hostname the emulator answers with (no socket behind it).
  std::string base_url;
  /// The timeout the suite puts in its ordinary requests.
  std::chrono::milliseconds request_timeout{5000};
  /// The timeout of the slow-server and trickle cases; a transport must give up within short_timeout x 4
  /// plus the fixture's failure_slack (1 s unless it says otherwise).
  std::chrono::milliseconds short_timeout{300};
  /// Protocol cases only: the emulator that answers (behind base_url, or to forward to in-process).
  emulator* backend = nullptr;
  /// Whether the transport `make` gives follows redirects. The suite sets it false where it checks that a
  /// 3xx passes through untouched, so a fixture whose transport follows them must turn that off then.
  bool follow_redirects = true;
};

/// A fixture: `transport_type` and `static transport_type make(const conformance_target&)`, giving a
/// Transport (apikeys/transport.hpp).
template <class F>
concept conformance_fixture = requires(const conformance_target& target) {
  typename F::transport_type;
  requires std::same_as<decltype(F::make(target)), typename F::transport_type> ||
               std::convertible_to<decltype(F::make(target)), typename F::transport_type>;
} && transport<std::remove_reference_t<typename F::transport_type>>;

namespace detail {

using conformance_clock = std::chrono::steady_clock;

template <class F>
constexpr bool fixture_in_process() {
  if constexpr (requires { { F::in_process } -> std::convertible_to<bool>; })
    return static_cast<bool>(F::in_process);
  else
    return false;
}

template <class F>
constexpr bool fixture_keep_alive() {
  if constexpr (requires { { F::keep_alive } -> std::convertible_to<bool>; })
    return static_cast<bool>(F::keep_alive);
  else
    return true;
}

template <class F>
constexpr bool fixture_follows_redirects() {
  if constexpr (requires { { F::follows_redirects } -> std::convertible_to<bool>; })
    return static_cast<bool>(F::follows_redirects);
  else
    return true;
}

template <class F>
constexpr std::size_t fixture_max_idle_connections() {
  if constexpr (requires { { F::max_idle_connections } -> std::convertible_to<std::size_t>; })
    return static_cast<std::size_t>(F::max_idle_connections);
  else
    return 0;
}

template <class F>
constexpr errc fixture_truncated_body_error() {
  if constexpr (requires { { F::truncated_body_error } -> std::convertible_to<errc>; })
    return static_cast<errc>(F::truncated_body_error);
  else
    return errc::connection_reset;
}

template <class F>
constexpr bool fixture_thread_safe() {
  if constexpr (requires { { F::thread_safe } -> std::convertible_to<bool>; })
    return static_cast<bool>(F::thread_safe);
  else
    return false;
}

template <class F>
constexpr bool fixture_errors_name_origin() {
  if constexpr (requires { { F::errors_name_origin } -> std::convertible_to<bool>; })
    return static_cast<bool>(F::errors_name_origin);
  else
    return false;
}

template <class F>
constexpr std::chrono::milliseconds fixture_failure_slack() {
  if constexpr (requires { { F::failure_slack } -> std::convertible_to<std::chrono::milliseconds>; })
    return std::chrono::milliseconds{F::failure_slack};
  else
    return std::chrono::milliseconds{1000};
}

template <class F>
constexpr bool fixture_decodes_header_escapes() {
  if constexpr (requires { { F::decodes_response_header_escapes } -> std::convertible_to<bool>; })
    return static_cast<bool>(F::decodes_response_header_escapes);
  else
    return false;
}

template <class F>
constexpr void check_fixture() {
  static_assert(conformance_fixture<F>,
                "apikeys conformance: a fixture needs `using transport_type = ...;` (a Transport) and "
                "`static transport_type make(const apikeys::testing::conformance_target&)`");
}

// The bound every failing case must come back within: generous, as the suite also runs on loaded
// machines and under sanitizers; a fixture that needs more says so with failure_slack.
template <class F>
std::chrono::milliseconds failure_bound(std::chrono::milliseconds timeout) {
  return timeout * 4 + fixture_failure_slack<F>();
}

// Every byte value, several times over, so that no byte (NUL, CR, LF, 0xff) is special on the way.
inline std::string conformance_bytes(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + i / 256 + seed * 7) & 0xff);
  return out;
}

// Where two byte strings first differ, for a failure message that does not print a megabyte.
inline std::string byte_difference(std::string_view got, std::string_view expected) {
  const auto mismatch = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
  const auto at = static_cast<std::size_t>(mismatch.first - got.begin());
  return std::to_string(got.size()) + " bytes where " + std::to_string(expected.size()) +
         " were expected; the first difference is at byte " + std::to_string(at);
}

inline std::vector<http_header> conformance_protocol_headers() {
  return {{"Accept", "application/json"},
          {"Content-Type", "application/json;charset=utf-8"},
          {"Authorization", "Bearer conformance.token-5f2b8e1c9d"}};
}

inline http_request conformance_request(http_method method, std::string url, std::string body,
                                        std::chrono::milliseconds timeout) {
  http_request r;
  r.method = method;
  r.url = std::move(url);
  r.headers = conformance_protocol_headers();
  r.body = std::move(body);
  r.timeout = timeout;
  return r;
}

inline std::size_t header_count(const std::vector<http_header>& headers, std::string_view name) {
  return static_cast<std::size_t>(std::count_if(headers.begin(), headers.end(), [&](const http_header& h) {
    return ::apikeys::detail::iequals(h.name, name);
  }));
}

inline bool has_exact_header(const std::vector<http_header>& headers, std::string_view name, std::string_view value) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const http_header& h) { return h.name == name && h.value == value; });
}

inline std::string header_text(const std::vector<http_header>& headers) {
  std::string out;
  for (const auto& h : headers) out.append(out.empty() ? "" : " | ").append(h.name).append(": ").append(h.value);
  return out;
}

inline std::string error_text(const api_error& e) { return ::apikeys::detail::describe(e); }

// REQUIRE is avoided throughout: with -fno-exceptions (and doctest's
// DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS) it would not stop the case, so each case checks and returns.
inline std::unique_ptr<conformance_server> start_conformance_server(conformance_server::handler h) {
  auto started = conformance_server::start(std::move(h));
  if (!started) {
    DOCTEST_FAIL_CHECK("the conformance server did not start: " << started.error());
    return nullptr;
  }
  return std::move(*started);
}

// True when a send that should have got a response did; otherwise a failed check saying why not.
inline bool answered(const result<http_response>& r) {
  if (r) return true;
  DOCTEST_FAIL_CHECK("the send failed: " << error_text(r.error()));
  return false;
}

inline conformance_target wire_target(const conformance_server& server) {
  conformance_target target;
  target.base_url = server.base_url();
  return target;
}

// The one request the server received for the latest send.
inline std::optional<received_request> last_request(const conformance_server& server, std::size_t expected_count) {
  auto requests = server.requests();
  if (requests.size() != expected_count) {
    DOCTEST_FAIL_CHECK("the server received " << requests.size() << " requests, expected " << expected_count);
    return std::nullopt;
  }
  return std::move(requests.back());
}

// Each header the request carried arrives once, its name and value byte for byte.
inline void check_headers_arrived(const std::vector<http_header>& sent, const received_request& got) {
  for (const auto& h : sent) {
    const std::size_t n = header_count(got.headers, h.name);
    DOCTEST_CHECK_MESSAGE(n == 1, "request header '" << h.name << "' arrived " << n << " times; headers: "
                                                     << header_text(got.headers));
    DOCTEST_CHECK_MESSAGE(has_exact_header(got.headers, h.name, h.value),
                          "request header '" << h.name << ": " << h.value
                                             << "' did not arrive as sent; headers: " << header_text(got.headers));
  }
}

// The body arrived byte for byte with one Content-Length (or none, when empty), and no chunking.
inline void check_body_arrived(std::string_view sent, const received_request& got) {
  DOCTEST_CHECK_MESSAGE(!got.chunked, got.method << " was sent chunked; the suite expects Content-Length");
  const bool same = got.body == sent;
  DOCTEST_CHECK_MESSAGE(same, got.method << " body arrived as " << byte_difference(got.body, sent));
  const std::size_t lengths = header_count(got.headers, "Content-Length");
  const std::string* length = find_header(got.headers, "Content-Length");
  if (sent.empty()) {
    DOCTEST_CHECK_MESSAGE((length == nullptr || *length == "0"),
                          got.method << " without a body carried Content-Length: " << (length ? *length : ""));
  } else {
    DOCTEST_CHECK_MESSAGE(lengths == 1, got.method << " carried " << lengths << " Content-Length headers");
    DOCTEST_CHECK_MESSAGE((length != nullptr && *length == std::to_string(sent.size())),
                          got.method << " Content-Length is " << (length ? *length : "missing") << ", the body has "
                                     << sent.size() << " bytes");
  }
  // Nothing but the body follows the head on the wire.
  const std::size_t head_end = got.raw.find("\r\n\r\n");
  const bool raw_body_same = head_end != std::string::npos && std::string_view{got.raw}.substr(head_end + 4) == sent;
  DOCTEST_CHECK_MESSAGE(raw_body_same, got.method << ": the bytes after the head are not exactly the body");
}

// "scheme://host:port" of an absolute URL, the port spelled out even when it is the scheme's default.
inline std::string url_origin(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string{url};
  const std::string_view scheme = url.substr(0, scheme_end);
  std::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  std::string out = std::string{scheme} + "://" + std::string{authority};
  const std::size_t bracket = authority.rfind(']');
  const std::size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket))
    out.append(::apikeys::detail::iequals(scheme, "https") ? ":443" : ":80");
  return out;
}

// What follows the authority in an absolute URL: the path and the query.
inline std::string_view url_target(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return url;
  const std::size_t target = url.find_first_of("/?#", scheme_end + 3);
  return target == std::string_view::npos ? std::string_view{} : url.substr(target);
}

// The request header values, the body and the URL's path and query are not in `text`; the values and
// bodies too short to be told from ordinary words are not looked for.
inline void check_nothing_quoted(const std::string& text, const http_request& request) {
  constexpr std::size_t distinctive = 8;
  for (const auto& h : request.headers)
    if (h.value.size() >= distinctive)
      DOCTEST_CHECK_MESSAGE(text.find(h.value) == std::string::npos,
                            "the error quotes the value of request header '" << h.name << "'");
  if (request.body.size() >= distinctive)
    DOCTEST_CHECK_MESSAGE(text.find(request.body) == std::string::npos, "the error quotes the request body");
  const std::string_view target = url_target(request.url);
  const std::size_t query = target.find('?');
  const std::string_view path = target.substr(0, query);
  if (path.size() >= distinctive)
    DOCTEST_CHECK_MESSAGE(text.find(path) == std::string::npos, "the error quotes the URL's path: " << text);
  if (query != std::string_view::npos && target.size() - query > distinctive)
    DOCTEST_CHECK_MESSAGE(text.find(target.substr(query + 1)) == std::string::npos,
                          "the error quotes the URL's query: " << text);
}

// A failure that got no response: one of the expected codes, and nothing of the request quoted.
inline void check_no_answer(const result<http_response>& r, std::initializer_list<errc> expected,
                            const http_request& request) {
  std::string names;
  for (const errc code : expected) names.append(names.empty() ? "" : " or ").append(to_string(code));
  if (r.has_value()) {
    DOCTEST_FAIL_CHECK("expected " << names << ", but got a response: HTTP " << r->status << " with "
                                   << r->body.size() << " body bytes");
    return;
  }
  const api_error& e = r.error();
  DOCTEST_CHECK_MESSAGE(std::find(expected.begin(), expected.end(), e.code) != expected.end(),
                        "expected " << names << ", got " << to_string(e.code) << ": " << e.message);
  DOCTEST_CHECK_MESSAGE(kind_of(e.code) == error_kind::transport, "not a transport error: " << to_string(e.code));
  DOCTEST_CHECK_MESSAGE(e.http_status == 0, "a transport error carries HTTP status " << e.http_status);
  DOCTEST_CHECK_MESSAGE(!e.message.empty(), "the error says nothing about what went wrong");
  check_nothing_quoted(error_text(e) + "\n" + e.message, request);
}

// check_no_answer for a send that reached out for a server: with errors_name_origin, the error names it.
template <class F>
void check_failure(const result<http_response>& r, std::initializer_list<errc> expected, const http_request& request) {
  check_no_answer(r, expected, request);
  if constexpr (fixture_errors_name_origin<F>()) {
    const std::string origin = url_origin(request.url);
    if (!r.has_value())
      DOCTEST_CHECK_MESSAGE(r.error().message.find(origin) != std::string::npos,
                            "the error does not name " << origin << ": " << r.error().message);
  }
}

template <class T>
result<http_response> conformance_send(T& transport, const http_request& request) {
  return ::apikeys::detail::send(transport, request);
}

// --- wire cases -------------------------------------------------------------------------------------------

template <class F>
void wire_methods_and_bodies() {
  auto server = start_conformance_server([](const received_request& r) {
    scripted_reply reply;
    reply.headers = {{"Content-Type", "application/octet-stream"}, {"X-Echo-Method", r.method}};
    reply.body = r.body;
    return reply;
  });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  const std::string target_path = "/conformance/echo/m%20x?a=1&b=%20&c=/x";
  const std::string json = "{\"name\":\"k\xc3\xa9y \\\"1\\\"\"}";
  std::size_t count = 0;
  for (const http_method method : {http_method::get, http_method::post, http_method::put, http_method::delete_}) {
    for (const std::string& body : {std::string{}, json, conformance_bytes(4099, 1)}) {
      DOCTEST_INFO(to_string(method) << " with a body of " << body.size() << " bytes");
      const http_request request =
          conformance_request(method, server->url(target_path), body, target.request_timeout);
      const auto r = conformance_send(transport, request);
      if (!answered(r)) return;
      const auto arrived = last_request(*server, ++count);
      if (!arrived) return;
      const received_request& got = *arrived;
      DOCTEST_CHECK(got.method == to_string(method));
      DOCTEST_CHECK(got.target == target_path);
      DOCTEST_CHECK(got.version == "HTTP/1.1");
      check_headers_arrived(request.headers, got);
      const std::string host = "127.0.0.1:" + std::to_string(server->port());
      DOCTEST_CHECK_MESSAGE((has_exact_header(got.headers, "Host", host) || has_exact_header(got.headers, "host", host)),
                            "no 'Host: " << host << "'; headers: " << header_text(got.headers));
      check_body_arrived(body, got);
      DOCTEST_CHECK(r->status == 200);
      const std::string* echoed = find_header(r->headers, "X-Echo-Method");
      DOCTEST_CHECK_MESSAGE((echoed != nullptr && *echoed == to_string(method)), "the answer lost X-Echo-Method");
      const bool same = r->body == body;
      DOCTEST_CHECK_MESSAGE(same, "the echoed body came back as " << byte_difference(r->body, body));
    }
  }
}

template <class F>
void wire_headers() {
  static const std::vector<http_header> response_headers = {
      {"Content-Type", "application/json"}, {"X-Mixed-Case", "Value With Spaces"}, {"x-lower", "lower-case name"},
      {"X-Dup", "one"},                     {"X-Dup", "two"},                     {"Set-Cookie", "a=1; Path=/"},
      {"Set-Cookie", "b=2"},                {"Retry-After", "7"},                 {"X-Utf8", "caf\xc3\xa9"},
      {"X-Punctuation", "a=\"b c\"; d=%41/?#,e"}};
  auto server = start_conformance_server([](const received_request&) {
    scripted_reply reply;
    reply.headers = response_headers;
    reply.body = "{}";
    return reply;
  });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  http_request request =
      conformance_request(http_method::post, server->url("/conformance/headers"), "{}", target.request_timeout);
  request.headers.push_back({"X-Conformance-Mixed-Case", "Value With  Two  Spaces"});
  request.headers.push_back({"x-conformance-lower", "lower-case name"});
  request.headers.push_back({"X-Conformance-Punctuation", "a=\"b c\"; d=%41/?#,e"});
  request.headers.push_back({"X-Conformance-Utf8", "caf\xc3\xa9 \xe2\x82\xac"});
  const auto r = conformance_send(transport, request);
  if (!answered(r)) return;
  const auto arrived = last_request(*server, 1);
  if (!arrived) return;
  check_headers_arrived(request.headers, *arrived);
  DOCTEST_CHECK(r->status == 200);
  DOCTEST_CHECK(r->body == "{}");
  for (const auto& h : response_headers) {
    if (fixture_decodes_header_escapes<F>() && h.value.find('%') != std::string::npos) {
      DOCTEST_MESSAGE("not checked, as the fixture says the transport decodes %XX in response headers: " << h.name);
      continue;
    }
    const std::size_t expected = header_count(response_headers, h.name);
    const std::size_t n = header_count(r->headers, h.name);
    DOCTEST_CHECK_MESSAGE(n == expected, "response header '" << h.name << "' came back " << n << " times, sent "
                                                             << expected << "; headers: " << header_text(r->headers));
    DOCTEST_CHECK_MESSAGE(has_exact_header(r->headers, h.name, h.value),
                          "response header '" << h.name << ": " << h.value
                                              << "' did not come back as sent; headers: " << header_text(r->headers));
  }
}

template <class F>
void wire_statuses() {
  auto server = start_conformance_server([](const received_request& r) {
    scripted_reply reply;
    if (r.target.rfind("/conformance/status/", 0) != 0) {
      reply.body = "followed";
      return reply;
    }
    const std::string_view code = std::string_view{r.target}.substr(20, 3);
    reply.status = std::stoi(std::string{code});
    reply.headers.push_back({"X-Conformance-Status", std::string{code}});
    if (r.target.find("?location") != std::string::npos)
      reply.headers.push_back({"Location", "/conformance/elsewhere"});
    if (reply.status == 503) reply.headers.push_back({"Retry-After", "3"});
    if (reply.status != 204) {
      reply.headers.push_back({"Content-Type", "application/json"});
      reply.body = "{\"error\":\"status " + std::string{code} + "\",\"error_code\":\"Conformance\"}";
    }
    return reply;
  });
  if (!server) return;
  conformance_target target = wire_target(*server);
  target.follow_redirects = false;
  typename F::transport_type transport = F::make(target);
  struct status_case {
    int status;
    bool location;
  };
  constexpr status_case cases[] = {{200, false}, {201, false}, {204, false}, {301, false}, {301, true},
                                   {302, true},  {303, true},  {307, true},  {308, true},  {400, false},
                                   {401, false}, {404, false}, {409, false}, {500, false}, {503, false}};
  std::size_t count = 0;
  for (const http_method method : {http_method::get, http_method::post}) {
    for (const status_case& c : cases) {
      DOCTEST_INFO(to_string(method) << " answered " << c.status << (c.location ? " with Location" : ""));
      const std::string path = "/conformance/status/" + std::to_string(c.status) + (c.location ? "?location" : "");
      const std::string body = method == http_method::post ? "{\"name\":\"k\"}" : "";
      const auto r = conformance_send(transport, conformance_request(method, server->url(path), body, target.request_timeout));
      if (!answered(r)) return;
      ++count;
      DOCTEST_CHECK_MESSAGE(server->request_count() == count,
                            "the server saw " << server->request_count() - count + 1
                                              << " requests for one send: was a redirect followed?");
      DOCTEST_CHECK(r->status == c.status);
      const std::string* echoed = find_header(r->headers, "X-Conformance-Status");
      DOCTEST_CHECK_MESSAGE((echoed != nullptr && *echoed == std::to_string(c.status)),
                            "X-Conformance-Status did not come back; headers: " << header_text(r->headers));
      const std::string* location = find_header(r->headers, "Location");
      if (c.location)
        DOCTEST_CHECK_MESSAGE((location != nullptr && *location == "/conformance/elsewhere"), "Location did not come back");
      else
        DOCTEST_CHECK_MESSAGE(location == nullptr, "a Location header appeared from nowhere");
      if (c.status == 503)
        DOCTEST_CHECK_MESSAGE(has_exact_header(r->headers, "Retry-After", "3"), "Retry-After did not come back");
      if (c.status == 204) {
        DOCTEST_CHECK(r->body.empty());
        DOCTEST_CHECK_MESSAGE(find_header(r->headers, "Content-Type") == nullptr, "a 204 came back with a Content-Type");
      } else {
        DOCTEST_CHECK(r->body == "{\"error\":\"status " + std::to_string(c.status) + "\",\"error_code\":\"Conformance\"}");
        DOCTEST_CHECK_MESSAGE(has_exact_header(r->headers, "Content-Type", "application/json"),
                              "Content-Type did not come back; headers: " << header_text(r->headers));
        DOCTEST_CHECK_MESSAGE((header_count(r->headers, "Content-Length") == 1 &&
                               has_exact_header(r->headers, "Content-Length", std::to_string(r->body.size()))),
                              "Content-Length did not come back as sent; headers: " << header_text(r->headers));
      }
    }
  }
}

template <class F>
void wire_large_bodies() {
  constexpr std::size_t mib = std::size_t{1} << 20;
  auto server = start_conformance_server([](const received_request& r) {
    scripted_reply reply;
    reply.headers = {{"Content-Type", "application/octet-stream"}};
    // The answer differs from the request, so an echo of the request cannot pass for it.
    reply.body = conformance_bytes(mib, 2);
    if (r.body.size() != mib) reply.status = 400;
    return reply;
  });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  const std::string body = conformance_bytes(mib, 1);
  const std::string expected = conformance_bytes(mib, 2);
  std::size_t count = 0;
  for (const http_method method : {http_method::post, http_method::put}) {
    DOCTEST_INFO(to_string(method) << " with a 1 MiB body");
    const auto r = conformance_send(
        transport, conformance_request(method, server->url("/conformance/large"), body, target.request_timeout));
    if (!answered(r)) return;
    const auto arrived = last_request(*server, ++count);
    if (!arrived) return;
    check_body_arrived(body, *arrived);
    DOCTEST_CHECK(r->status == 200);
    const bool same = r->body == expected;
    DOCTEST_CHECK_MESSAGE(same, "the 1 MiB response body came back as " << byte_difference(r->body, expected));
  }
}

template <class F>
void wire_empty_bodies() {
  auto server = start_conformance_server([](const received_request& r) {
    scripted_reply reply;
    if (r.method == "GET") {
      reply.headers = {{"Content-Type", "application/json"}, {"Content-Length", "0"}};
    } else {
      reply.status = 204;
    }
    return reply;
  });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  std::size_t count = 0;
  for (const http_method method : {http_method::get, http_method::post, http_method::put, http_method::delete_}) {
    DOCTEST_INFO(to_string(method) << " with an empty body");
    const auto r = conformance_send(
        transport, conformance_request(method, server->url("/conformance/empty"), "", target.request_timeout));
    if (!answered(r)) return;
    const auto arrived = last_request(*server, ++count);
    if (!arrived) return;
    check_body_arrived("", *arrived);
    DOCTEST_CHECK(r->status == (method == http_method::get ? 200 : 204));
    DOCTEST_CHECK_MESSAGE(r->body.empty(), "an empty answer came back with " << r->body.size() << " body bytes");
  }
}

// A request whose header values, body, path and query the failure cases look for in the errors.
inline http_request marked_request(http_method method, std::string_view base_url, std::string_view name,
                                   std::chrono::milliseconds timeout) {
  std::string url = std::string{base_url} + "/conformance/" + std::string{name} +
                    "/path-secret-3d9a?token=query-secret-c51e";
  http_request request = conformance_request(method, std::move(url), "{\"key\":\"conformance-body-secret-41c7\"}", timeout);
  request.headers.push_back({"X-Api-Key", "conformance-header-secret-8e02"});
  return request;
}

struct timed_answer {
  result<http_response> answer;
  std::chrono::milliseconds elapsed;
};

template <class T>
timed_answer timed_send(T& transport, const http_request& request) {
  const auto start = conformance_clock::now();
  auto r = conformance_send(transport, request);
  return {std::move(r), std::chrono::duration_cast<std::chrono::milliseconds>(conformance_clock::now() - start)};
}

// A transport that waited for an answer gave up at its timeout: not before it (a few ms of slack for
// clocks and poll() granularity), and within the failure bound.
template <class F>
void check_gave_up_in_time(std::chrono::milliseconds elapsed, std::chrono::milliseconds timeout) {
  const auto bound = failure_bound<F>(timeout);
  DOCTEST_CHECK_MESSAGE(elapsed + std::chrono::milliseconds{5} >= timeout,
                        "gave up after " << elapsed.count() << " ms, before the " << timeout.count() << " ms timeout");
  DOCTEST_CHECK_MESSAGE(elapsed <= bound, "gave up after " << elapsed.count() << " ms; the bound is " << bound.count()
                                                           << " ms");
}

// A failure the transport can see at once was reported within the failure bound of the short timeout.
template <class F>
void check_noticed_in_time(std::chrono::milliseconds elapsed) {
  const auto bound = failure_bound<F>(conformance_target{}.short_timeout);
  DOCTEST_CHECK_MESSAGE(elapsed <= bound, "took " << elapsed.count() << " ms to notice; the bound is " << bound.count()
                                                  << " ms");
}

template <class F>
void wire_slow_server() {
  const auto bound = failure_bound<F>(conformance_target{}.short_timeout);
  // Longer than the bound, so that a transport ignoring its timeout fails the check below; the stall
  // ends as soon as the server is destroyed, so a conforming transport does not wait it out.
  auto server = start_conformance_server([bound](const received_request&) {
    scripted_reply reply;
    reply.delay = bound + std::chrono::milliseconds{1000};
    reply.body = "late";
    return reply;
  });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  const http_request request = marked_request(http_method::post, target.base_url, "slow", target.short_timeout);
  const timed_answer sent = timed_send(transport, request);
  check_failure<F>(sent.answer, {errc::timeout}, request);
  DOCTEST_CHECK_MESSAGE(server->request_count() == 1, "the request never reached the server");
  check_gave_up_in_time<F>(sent.elapsed, target.short_timeout);
}

template <class F>
void wire_trickled_body() {
  const auto bound = failure_bound<F>(conformance_target{}.short_timeout);
  // Each byte comes well within the timeout, so only a deadline for the whole response ends the wait;
  // all of them would come a second after the bound. Destroying the server ends the trickle.
  auto server = start_conformance_server([bound](const received_request&) {
    const std::chrono::milliseconds interval{50};
    scripted_reply reply;
    reply.headers = {{"Content-Type", "application/json"}};
    reply.body = std::string(static_cast<std::size_t>((bound + std::chrono::milliseconds{1000}) / interval), 'x');
    reply.trickle = interval;
    return reply;
  });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  const http_request request = marked_request(http_method::post, target.base_url, "trickle", target.short_timeout);
  const timed_answer sent = timed_send(transport, request);
  check_failure<F>(sent.answer, {errc::timeout}, request);
  check_gave_up_in_time<F>(sent.elapsed, target.short_timeout);
}

// The server reads the request and closes the connection after `reply` (cut short, or not begun).
template <class F>
void wire_closed_early(scripted_reply reply, std::string_view name) {
  auto server = start_conformance_server([reply](const received_request&) { return reply; });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  const http_request request = marked_request(http_method::post, target.base_url, name, target.request_timeout);
  const timed_answer sent = timed_send(transport, request);
  check_failure<F>(sent.answer, {fixture_truncated_body_error<F>()}, request);
  DOCTEST_CHECK_MESSAGE(server->request_count() == 1, "the request never reached the server");
  check_noticed_in_time<F>(sent.elapsed);
}

template <class F>
void wire_closed_mid_body() {
  scripted_reply reply;
  reply.headers = {{"Content-Type", "application/json"}};
  reply.body = std::string(100, 'x');
  reply.cut_after = 10;
  wire_closed_early<F>(std::move(reply), "cut");
}

template <class F>
void wire_closed_before_response() {
  scripted_reply reply;
  reply.hang_up = true;
  wire_closed_early<F>(std::move(reply), "hang-up");
}

template <class F>
void wire_connection_refused() {
  // A port the kernel just handed out and nothing listens on any more.
  int port = 0;
  {
    auto server = start_conformance_server({});
    if (!server) return;
    port = server->port();
  }
  conformance_target target;
  target.base_url = "http://127.0.0.1:" + std::to_string(port);
  typename F::transport_type transport = F::make(target);
  const http_request request = marked_request(http_method::post, target.base_url, "refused", target.request_timeout);
  const timed_answer sent = timed_send(transport, request);
  check_failure<F>(sent.answer, {errc::connection_failed}, request);
  check_noticed_in_time<F>(sent.elapsed);
}

template <class F>
void wire_unresolvable_host() {
  conformance_target target;
  // .invalid never resolves (RFC 6761), and most resolvers know it without asking a DNS server; one that
  // cannot reach its server may run out of time instead. Either way no response may be claimed.
  target.base_url = "http://apikeys-conformance.invalid";
  typename F::transport_type transport = F::make(target);
  const std::chrono::milliseconds timeout{2000};
  const http_request request = marked_request(http_method::post, target.base_url, "unresolvable", timeout);
  const timed_answer sent = timed_send(transport, request);
  check_failure<F>(sent.answer, {errc::connection_failed, errc::timeout}, request);
  DOCTEST_CHECK_MESSAGE(sent.elapsed <= failure_bound<F>(timeout), "took " << sent.elapsed.count() << " ms to fail");
}

template <class F>
void wire_keep_alive() {
  auto server = start_conformance_server([](const received_request&) {
    scripted_reply reply;
    reply.headers = {{"Content-Type", "application/json"}};
    reply.body = "{\"_id\":\"5e5e6f0abe4ae2a2c2c2d329\",\"name\":\"k\",\"disabled\":false}";
    return reply;
  });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  const std::string url = server->url("/api/client/v2.0/auth/api_keys");
  std::size_t count = 0;
  for (const http_method method : {http_method::get, http_method::post, http_method::put, http_method::delete_}) {
    DOCTEST_INFO(to_string(method) << " number " << count + 1);
    const std::string body = method == http_method::post ? "{\"name\":\"k\"}" : "";
    const auto r = conformance_send(transport, conformance_request(method, url, body, target.request_timeout));
    if (!answered(r)) return;
    DOCTEST_CHECK(r->status == 200);
    ++count;
  }
  DOCTEST_CHECK(server->request_count() == count);
  if constexpr (fixture_keep_alive<F>()) {
    DOCTEST_CHECK_MESSAGE(server->accepted() == 1,
                          count << " sequential requests used " << server->accepted() << " connections, not one");
  } else {
    DOCTEST_MESSAGE("keep-alive not checked: the fixture says keep_alive = false (" << server->accepted()
                                                                                   << " connections used)");
  }
}

template <class F>
void wire_dropped_connection_replaced() {
  // No Connection: close before the server closes, so a keep-alive client keeps a connection that is gone.
  auto server = start_conformance_server([](const received_request&) {
    scripted_reply reply;
    reply.headers = {{"Content-Type", "application/json"}};
    reply.body = "{}";
    reply.drop = true;
    return reply;
  });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  constexpr std::size_t sends = 3;
  for (std::size_t i = 1; i <= sends; ++i) {
    DOCTEST_INFO("send number " << i);
    const auto r = conformance_send(
        transport, conformance_request(http_method::get, server->url("/conformance/dropped"), "", target.request_timeout));
    if (!answered(r)) return;
    DOCTEST_CHECK(r->status == 200);
    DOCTEST_CHECK(r->body == "{}");
    // The close reaches the client before its next send, which must notice and connect anew.
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  DOCTEST_CHECK(server->request_count() == sends);
  DOCTEST_CHECK_MESSAGE(server->accepted() == sends, sends << " sends used " << server->accepted() << " connections");
}

// One thread's share of the concurrent case: each send names itself, and its answer must name it back.
template <class T>
void concurrent_share(T& shared, T& own, const conformance_server& server, int thread, int sends,
                      std::atomic<int>& right, std::mutex& mutex, std::string& first_wrong) {
  for (int i = 0; i < sends; ++i) {
    const std::string id = std::to_string(thread) + "-" + std::to_string(i);
    const http_method method = i % 3 == 0 ? http_method::put : (i % 3 == 1 ? http_method::post : http_method::delete_);
    const http_request request =
        conformance_request(method, server.url("/conformance/item/" + id), "body " + id, std::chrono::seconds{10});
    const auto r = conformance_send(i % 2 == 0 ? shared : own, request);
    const std::string expected = std::string{to_string(method)} + " /conformance/item/" + id + "|body " + id;
    if (r && r->status == 200 && r->body == expected) {
      ++right;
      continue;
    }
    const std::lock_guard lock(mutex);
    if (first_wrong.empty())
      first_wrong = "send " + id + " got " + (r ? "HTTP " + std::to_string(r->status) + ": " + r->body : error_text(r.error()));
  }
}

// A server that answers every request with "<METHOD> <target>|<body>".
inline auto start_echo_server() {
  return start_conformance_server([](const received_request& r) {
    scripted_reply reply;
    reply.headers = {{"Content-Type", "text/plain"}};
    reply.body = r.method + " " + r.target + "|" + r.body;
    return reply;
  });
}

// `threads` threads send `sends` requests each at the same time, half of each thread's through a copy of
// the transport when `through_copies` and it can be copied: every send must get its own answer.
template <class Transport>
void send_from_threads(Transport& transport, const conformance_server& server, int threads, int sends,
                       bool through_copies) {
  using transport_object = std::remove_reference_t<Transport>;
  std::atomic<int> right{0};
  std::mutex mutex;
  std::string first_wrong;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      if constexpr (std::is_copy_constructible_v<transport_object>) {
        if (through_copies) {
          transport_object copy = transport;
          concurrent_share(transport, copy, server, t, sends, right, mutex, first_wrong);
          return;
        }
      }
      concurrent_share(transport, transport, server, t, sends, right, mutex, first_wrong);
    });
  }
  for (auto& worker : workers) worker.join();
  DOCTEST_CHECK_MESSAGE(right == threads * sends, right.load() << " of " << threads * sends
                                                               << " sends got their own answer; first wrong: " << first_wrong);
}

template <class F>
void wire_concurrent_sends() {
  auto server = start_echo_server();
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  constexpr int threads = 8;
  constexpr int sends = 50;
  send_from_threads(transport, *server, threads, sends, true);
  if constexpr (fixture_keep_alive<F>()) {
    DOCTEST_CHECK_MESSAGE(server->accepted() < std::size_t{threads * sends / 4},
                          threads * sends << " sends used " << server->accepted() << " connections: few were reused");
  }
}

// Each header cannot go out as written; the send must fail before anything reaches the server.
template <class F>
void wire_unsendable_headers() {
  auto server = start_conformance_server([](const received_request&) { return scripted_reply{}; });
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  http_request request =
      conformance_request(http_method::get, server->url("/conformance/unsendable"), "", target.request_timeout);
  const std::string secret = "conformance-header-secret-6a1d";
  const std::vector<http_header> bad = {
      {"X-Conformance-Token", secret + "\r\nX-Injected: 1"}, {"X-Conformance-Token", secret + "\nX-Injected: 1"},
      {"X-Conformance-Token", secret + "\r"},                {"X-Conformance-Token", secret + std::string(1, '\0') + "x"},
      {"Bad Name", "v"},      {"Bad:Name", "v"},  {"", "v"},         {"Bad\r\nName", "v"}, {"Bad;Name", "v"},
      {"Bad(Name)", "v"},     {"Bad\"Name", "v"}, {"Bad/Name", "v"}, {"Bad\x7fName", "v"}, {"B\xc3\xa4" "d", "v"}};
  for (const http_header& h : bad) {
    DOCTEST_INFO("header name of " << h.name.size() << " bytes, value of " << h.value.size() << " bytes");
    request.headers.push_back(h);
    const auto r = conformance_send(transport, request);
    request.headers.pop_back();
    check_no_answer(r, {errc::transport_error}, request);
    if (r.has_value()) continue;
    const std::string text = error_text(r.error()) + "\n" + r.error().message;
    DOCTEST_CHECK_MESSAGE(text.find(secret) == std::string::npos, "the error quotes the refused value");
    if (h.name == "X-Conformance-Token")
      DOCTEST_CHECK_MESSAGE(text.find(h.name) != std::string::npos, "the error does not name the header: " << text);
  }
  DOCTEST_CHECK_MESSAGE(server->accepted() == 0, "a request with an unsendable header went out");
}

// --- redirect cases (a fixture whose transport follows redirects) ----------------------------------------

inline constexpr std::string_view redirect_prefix = "/conformance/redirect/";
inline constexpr std::string_view chain_prefix = "/conformance/chain/";

// The script of the redirect cases' servers. /conformance/redirect/<status>?to=<location> answers <status>
// with that Location (the bytes after "to=", as they are); /conformance/chain/<n> redirects with 301 to
// chain/<n-1>, and chain/1 to a landing; /conformance/loop redirects to itself; anything else is a landing
// that echoes the method, target and body of the request it got.
inline scripted_reply redirect_script(const received_request& r) {
  scripted_reply reply;
  const std::string_view target = r.target;
  if (target.rfind(redirect_prefix, 0) == 0) {
    reply.status = std::stoi(std::string{target.substr(redirect_prefix.size(), 3)});
    const std::size_t to = target.find("?to=");
    if (to != std::string_view::npos) reply.headers.push_back({"Location", std::string{target.substr(to + 4)}});
    reply.headers.push_back({"X-Conformance-Hop", "redirect"});
    reply.headers.push_back({"Content-Type", "text/plain"});
    reply.body = "redirecting";
    return reply;
  }
  if (target.rfind(chain_prefix, 0) == 0 || target == "/conformance/loop") {
    const int left = target == "/conformance/loop" ? 0 : std::stoi(std::string{target.substr(chain_prefix.size())});
    reply.status = 301;
    const std::string next = left == 0   ? std::string{target}
                             : left == 1 ? std::string{"/conformance/landing/chain"}
                                         : std::string{chain_prefix} + std::to_string(left - 1);
    reply.headers = {{"Location", next}, {"X-Conformance-Hop", "chain"}};
    return reply;
  }
  reply.headers = {{"Content-Type", "application/octet-stream"}, {"X-Conformance-Landing", r.method}};
  reply.body = r.method + " " + r.target + "|" + r.body;
  return reply;
}

// The request `got` is the one sent as `method` with `body` to `target`, head and body byte for byte.
inline void check_hop_arrived(const received_request& got, http_method method, std::string_view target,
                              const std::vector<http_header>& headers, std::string_view body, int port) {
  DOCTEST_CHECK_MESSAGE(got.method == to_string(method), "the hop went out as " << got.method << ", not "
                                                                                << to_string(method));
  DOCTEST_CHECK_MESSAGE(got.target == target, "the hop asked for " << got.target << ", not " << target);
  DOCTEST_CHECK(got.version == "HTTP/1.1");
  check_headers_arrived(headers, got);
  const std::string host = "127.0.0.1:" + std::to_string(port);
  DOCTEST_CHECK_MESSAGE((has_exact_header(got.headers, "Host", host) || has_exact_header(got.headers, "host", host)),
                        "no 'Host: " << host << "'; headers: " << header_text(got.headers));
  check_body_arrived(body, got);
}

// The answer is the landing's, for a request that arrived there as `method` with `body`, and nothing of
// the redirect's own answer came along.
inline void check_landing_answer(const http_response& r, http_method method, std::string_view target,
                                 std::string_view body) {
  DOCTEST_CHECK(r.status == 200);
  const std::string expected = std::string{to_string(method)} + " " + std::string{target} + "|" + std::string{body};
  const bool same = r.body == expected;
  DOCTEST_CHECK_MESSAGE(same, "the landing's answer came back as " << byte_difference(r.body, expected));
  DOCTEST_CHECK_MESSAGE(has_exact_header(r.headers, "X-Conformance-Landing", to_string(method)),
                        "the landing's header did not come back; headers: " << header_text(r.headers));
  DOCTEST_CHECK_MESSAGE(find_header(r.headers, "X-Conformance-Hop") == nullptr,
                        "a header of the redirect came back with the final answer: " << header_text(r.headers));
}

template <class F>
void redirect_followed_by_default() {
  auto server = start_conformance_server(redirect_script);
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  const std::string json = "{\"name\":\"conformance-key\"}";
  struct hop_case {
    int status;
    http_method method;
    std::string body;
    http_method landing_method;  // what the followed hop must be
    bool body_kept;
  };
  const hop_case cases[] = {
      {301, http_method::get, "", http_method::get, true},
      {308, http_method::get, "", http_method::get, true},
      {308, http_method::post, json, http_method::post, true},
      {308, http_method::put, conformance_bytes(4099, 3), http_method::put, true},
      {308, http_method::delete_, "", http_method::delete_, true},
      // As browsers and .NET do: a POST answered 301 is followed as a GET without a body.
      {301, http_method::post, json, http_method::get, false},
  };
  std::size_t count = 0;
  for (const hop_case& c : cases) {
    DOCTEST_INFO(to_string(c.method) << " with " << c.body.size() << " body bytes, answered " << c.status);
    const std::string landing = "/conformance/landing/" + std::to_string(c.status) + "?from=" +
                                std::string{to_string(c.method)};
    const std::string first = std::string{redirect_prefix} + std::to_string(c.status) + "?to=" + landing;
    const http_request request = conformance_request(c.method, server->url(first), c.body, target.request_timeout);
    const auto r = conformance_send(transport, request);
    if (!answered(r)) return;
    count += 2;
    const auto requests = server->requests();
    if (requests.size() != count) {
      DOCTEST_FAIL_CHECK("the server received " << requests.size() << " requests, expected " << count
                                                << ": the redirect and the hop it names");
      return;
    }
    check_hop_arrived(requests[count - 2], c.method, first, request.headers, c.body, server->port());
    // A body-less GET made of a POST need not keep the body's Content-Type; everything else arrives as sent.
    std::vector<http_header> kept = request.headers;
    if (!c.body_kept)
      kept.erase(std::remove_if(kept.begin(), kept.end(),
                                [](const http_header& h) { return ::apikeys::detail::iequals(h.name, "Content-Type"); }),
                 kept.end());
    const std::string landing_body = c.body_kept ? c.body : std::string{};
    check_hop_arrived(requests[count - 1], c.landing_method, landing, kept, landing_body, server->port());
    check_landing_answer(*r, c.landing_method, landing, landing_body);
  }
}

template <class F>
void redirect_limit() {
  auto server = start_conformance_server(redirect_script);
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);

  // Five redirects: chain/5 to chain/1, then the landing; six requests in all.
  const http_request five =
      conformance_request(http_method::get, server->url(std::string{chain_prefix} + "5"), "", target.request_timeout);
  const auto r = conformance_send(transport, five);
  if (!answered(r)) return;
  check_landing_answer(*r, http_method::get, "/conformance/landing/chain", "");
  auto requests = server->requests();
  DOCTEST_CHECK_MESSAGE(requests.size() == 6, "five redirects took " << requests.size() << " requests, not 6");
  for (std::size_t i = 0; i < std::min<std::size_t>(requests.size(), 5); ++i)
    DOCTEST_CHECK(requests[i].target == std::string{chain_prefix} + std::to_string(5 - i));

  // Six: the sixth 3xx (from chain/1) is not followed.
  std::size_t before = requests.size();
  const http_request six =
      conformance_request(http_method::get, server->url(std::string{chain_prefix} + "6"), "", target.request_timeout);
  const timed_answer sixth = timed_send(transport, six);
  check_failure<F>(sixth.answer, {errc::too_many_redirects}, six);
  DOCTEST_CHECK_MESSAGE(server->request_count() - before == 6,
                        "a send with six redirects made " << server->request_count() - before
                                                          << " requests; the sixth redirect must not be followed");
  check_noticed_in_time<F>(sixth.elapsed);

  // A Location naming itself ends the same way, after the same number of requests.
  before = server->request_count();
  const http_request loop = conformance_request(http_method::get, server->url("/conformance/loop"), "", target.request_timeout);
  const timed_answer looped = timed_send(transport, loop);
  check_failure<F>(looped.answer, {errc::too_many_redirects}, loop);
  DOCTEST_CHECK_MESSAGE(server->request_count() - before == 6,
                        "a redirect loop made " << server->request_count() - before << " requests, not 6");
  check_noticed_in_time<F>(looped.elapsed);
}

inline bool credential_header(std::string_view name) noexcept {
  return ::apikeys::detail::iequals(name, "Authorization") || ::apikeys::detail::iequals(name, "Proxy-Authorization") ||
         ::apikeys::detail::iequals(name, "Cookie");
}

template <class F>
void redirect_credentials() {
  auto home = start_conformance_server(redirect_script);
  auto away = start_conformance_server(redirect_script);
  if (!home || !away) return;
  const conformance_target target = wire_target(*home);
  typename F::transport_type transport = F::make(target);
  const std::string json = "{\"name\":\"conformance-key\"}";
  const auto request_to = [&](std::string_view location) {
    http_request request = conformance_request(http_method::post,
                                               home->url(std::string{redirect_prefix} + "307?to=" + std::string{location}),
                                               json, target.request_timeout);
    request.headers.push_back({"Cookie", "session=conformance-cookie-7b3f"});
    request.headers.push_back({"Proxy-Authorization", "Basic conformance-proxy-2c8d"});
    request.headers.push_back({"X-Conformance-Kept", "kept-value-91e4"});
    return request;
  };

  DOCTEST_SUBCASE("to another port of the same host: another origin") {
    const std::string landing = "/conformance/landing/away";
    const http_request request = request_to(away->url(landing));
    const auto r = conformance_send(transport, request);
    if (!answered(r)) return;
    const auto first = last_request(*home, 1);
    const auto got = last_request(*away, 1);
    if (!first || !got) return;
    check_hop_arrived(*first, http_method::post, url_target(request.url), request.headers, json, home->port());
    std::vector<http_header> kept;
    for (const auto& h : request.headers)
      if (!credential_header(h.name)) kept.push_back(h);
    check_hop_arrived(*got, http_method::post, landing, kept, json, away->port());
    for (const std::string_view name : {"Authorization", "Proxy-Authorization", "Cookie"})
      DOCTEST_CHECK_MESSAGE(header_count(got->headers, name) == 0,
                            name << " followed the redirect to another origin; headers: " << header_text(got->headers));
    for (const std::string_view secret : {"conformance.token", "conformance-cookie", "conformance-proxy"})
      DOCTEST_CHECK_MESSAGE(got->raw.find(secret) == std::string::npos,
                            "a credential reached the other origin: " << secret);
    check_landing_answer(*r, http_method::post, landing, json);
  }
  DOCTEST_SUBCASE("to the same origin") {
    const std::string landing = "/conformance/landing/home";
    for (const std::string& location : {landing, home->url(landing)}) {
      DOCTEST_INFO("Location: " << location);
      const http_request request = request_to(location);
      const auto r = conformance_send(transport, request);
      if (!answered(r)) return;
      const auto requests = home->requests();
      if (requests.size() < 2) {
        DOCTEST_FAIL_CHECK("the redirect was not followed");
        return;
      }
      check_hop_arrived(requests.back(), http_method::post, landing, request.headers, json, home->port());
      check_landing_answer(*r, http_method::post, landing, json);
    }
    DOCTEST_CHECK(home->request_count() == 4);
    DOCTEST_CHECK(away->request_count() == 0);
  }
}

template <class F>
void redirect_not_followed_when_off() {
  auto home = start_conformance_server(redirect_script);
  auto away = start_conformance_server(redirect_script);
  if (!home || !away) return;
  conformance_target target = wire_target(*home);
  target.follow_redirects = false;
  typename F::transport_type transport = F::make(target);
  std::size_t count = 0;
  for (const int status : {301, 302, 303, 307, 308}) {
    for (const bool other_origin : {false, true}) {
      DOCTEST_INFO(status << (other_origin ? " to another origin" : " to the same origin"));
      const std::string location =
          other_origin ? away->url("/conformance/landing/away") : std::string{"/conformance/landing/home"};
      const std::string first = std::string{redirect_prefix} + std::to_string(status) + "?to=" + location;
      const http_request request =
          conformance_request(http_method::post, home->url(first), "{\"name\":\"k\"}", target.request_timeout);
      const auto r = conformance_send(transport, request);
      if (!answered(r)) return;
      ++count;
      const auto got = last_request(*home, count);
      if (!got) return;
      check_hop_arrived(*got, http_method::post, first, request.headers, request.body, home->port());
      DOCTEST_CHECK(r->status == status);
      DOCTEST_CHECK_MESSAGE(has_exact_header(r->headers, "Location", location),
                            "the Location did not come back as sent; headers: " << header_text(r->headers));
      DOCTEST_CHECK_MESSAGE(has_exact_header(r->headers, "X-Conformance-Hop", "redirect"),
                            "the 3xx's own headers did not come back; headers: " << header_text(r->headers));
      DOCTEST_CHECK(r->body == "redirecting");
    }
  }
  DOCTEST_CHECK_MESSAGE(away->accepted() == 0, "a Location on another origin was visited with following off");
}

// --- connection pool ------------------------------------------------------------------------------------

// `threads` threads (the fixture's max_idle_connections) each send one after another at the same time:
// every send is answered, and a pool that keeps what it may reuse needs no more connections than threads.
template <class F>
void wire_pool_bounded() {
  constexpr std::size_t bound = fixture_max_idle_connections<F>();
  auto server = start_echo_server();
  if (!server) return;
  const conformance_target target = wire_target(*server);
  typename F::transport_type transport = F::make(target);
  constexpr int sends = 40;
  send_from_threads(transport, *server, static_cast<int>(bound), sends, false);
  DOCTEST_CHECK_MESSAGE(server->accepted() <= bound, bound << " threads sending " << sends << " requests each used "
                                                           << server->accepted() << " connections; at most " << bound
                                                           << " may be opened");
  DOCTEST_CHECK(server->accepted() >= 1);
}

// --- protocol cases ---------------------------------------------------------------------------------------

// Serves `backend` on the conformance server: each request as the emulator's send() answers it.
inline conformance_server::handler emulator_front(emulator& backend) {
  return [&backend](const received_request& r) {
    scripted_reply reply;
    http_request request;
    if (r.method == "GET") {
      request.method = http_method::get;
    } else if (r.method == "POST") {
      request.method = http_method::post;
    } else if (r.method == "PUT") {
      request.method = http_method::put;
    } else if (r.method == "DELETE") {
      request.method = http_method::delete_;
    } else {
      reply.status = 405;
      reply.headers = {{"Allow", "GET, POST, PUT, DELETE"}};
      return reply;
    }
    const std::string* host = find_header(r.headers, "Host");
    request.url = "http://" + (host != nullptr ? *host : std::string{"127.0.0.1"}) + r.target;
    request.headers = r.headers;
    request.body = r.body;
    http_response answer = backend.send(request);
    reply.status = answer.status;
    reply.headers = std::move(answer.headers);
    reply.body = std::move(answer.body);
    return reply;
  };
}

// Passes every exchange on and notes its method, path, status and the shape of its answer.
template <class Inner>
class recording_transport {
 public:
  recording_transport(Inner& inner, std::vector<std::string>& log) : inner_(&inner), log_(&log) {}

  auto send(const http_request& request) {
    auto answer = inner_->send(request);
    std::string line{to_string(request.method)};
    line.append(" ").append(::apikeys::testing::detail::request_path(request.url)).append(" -> ");
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(answer)>, http_response>) {
      describe_answer(line, answer);
    } else if (answer.has_value()) {
      describe_answer(line, *answer);
    } else {
      line.append("transport error: ").append(to_string(answer.error().code));
    }
    log_->push_back(std::move(line));
    return answer;
  }

 private:
  static void describe_answer(std::string& line, const http_response& answer) {
    const std::string* type = find_header(answer.headers, "Content-Type");
    line.append(std::to_string(answer.status)).append(" ").append(type != nullptr ? *type : std::string{"(no type)"});
    line.append(answer.body.empty() ? ", no body" : ", a body");
  }

  Inner* inner_;
  std::vector<std::string>* log_;
};

// A story's transcript: each id (24 hex digits) is replaced by its order of first appearance, so that the
// transcripts of two emulators, which issue different ids, compare equal when they behave alike.
class story_transcript {
 public:
  void add(std::string_view step, std::string_view outcome) {
    lines_.push_back(std::string{step} + ": " + normalize(outcome));
  }
  std::string normalize(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
      std::size_t run = 0;
      while (i + run < text.size() && is_hex(text[i + run])) ++run;
      if (run == 24) {
        const std::string id{text.substr(i, run)};
        const auto it = ids_.emplace(id, ids_.size() + 1).first;
        out.append("#").append(std::to_string(it->second));
      } else {
        out.append(text.substr(i, run == 0 ? 1 : run));
      }
      i += run == 0 ? 1 : run;
    }
    return out;
  }
  std::vector<std::string>& lines() noexcept { return lines_; }

 private:
  static constexpr bool is_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
  std::vector<std::string> lines_;
  std::map<std::string, std::size_t> ids_;
};

inline std::string story_error(const api_error& e) {
  return "error " + std::string{to_string(e.code)} + ", HTTP " + std::to_string(e.http_status) + ", server code '" +
         e.server_code + "', message '" + e.message + "', context '" + e.context + "'";
}

inline std::string story_key(const api_key& k) {
  std::string out = "key " + k.id.to_string() + " '" + k.name + "' " + (k.enabled ? "enabled" : "disabled");
  if (k.value) {
    const std::string_view value = k.value->reveal();
    const bool alnum = std::all_of(value.begin(), value.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
    out.append(", value of ").append(std::to_string(value.size())).append(alnum ? " alphanumerics" : " other characters");
  }
  return out;
}

template <class T>
std::string story_outcome(const result<T>& r) {
  if (!r) return story_error(r.error());
  if constexpr (std::is_void_v<T>) {
    return "ok";
  } else if constexpr (std::is_same_v<T, api_key>) {
    return story_key(*r);
  } else if constexpr (std::is_same_v<T, std::optional<api_key>>) {
    return r->has_value() ? story_key(**r) : std::string{"no key"};
  } else if constexpr (std::is_same_v<T, std::vector<api_key>>) {
    std::string out = "[";
    for (const auto& k : *r) out.append(out.size() > 1 ? "; " : "").append(story_key(k));
    return out + "]";
  } else if constexpr (std::is_same_v<T, std::shared_ptr<session>>) {
    return "session of user " + (*r)->user_id() + " via " + (*r)->provider();
  } else {
    return "ok";
  }
}

inline constexpr std::string_view story_owner = "conformance-owner@example.com";
inline constexpr std::string_view story_password = "conformance-password-1";

// The .NET manual's story, with the error rows around it, told through an app client over `transport`.
template <class Transport>
std::vector<std::string> protocol_story(Transport& transport, emulator& backend, const std::string& base_url,
                                        std::chrono::milliseconds timeout) {
  using app_type = basic_app_client<Transport&, inline_executor, return_result>;
  story_transcript t;
  const std::string owner_id = backend.add_user(story_owner, story_password);
  t.add("the owner", owner_id);

  app_config config;
  config.app_id = backend.app_id();
  config.base_url = base_url;
  config.timeout = timeout;
  app_type app{transport, config};

  t.add("register a second user", story_outcome(app.register_user("conformance-second@example.com", "password-2")));
  t.add("register the same email again",
        story_outcome(app.register_user("conformance-second@example.com", "password-2")));
  t.add("log in with a wrong password",
        story_outcome(app.log_in(credentials::email_password(story_owner, "wrong-password"))));
  const auto owner = app.log_in(credentials::email_password(story_owner, story_password));
  t.add("log in as the owner", story_outcome(owner));
  if (!owner) return std::move(t.lines());

  auto keys = app.api_keys(*owner);
  t.add("fetch all (none yet)", story_outcome(keys.fetch_all()));
  const auto first = keys.create("conformance-key-1");
  t.add("create conformance-key-1", story_outcome(first));
  const auto second = keys.create("conformance-key-2");
  t.add("create conformance-key-2", story_outcome(second));
  t.add("create conformance-key-1 again", story_outcome(keys.create("conformance-key-1")));
  t.add("fetch all", story_outcome(keys.fetch_all()));
  if (!first || !second) return std::move(t.lines());

  const object_id id1 = first->id;
  const object_id id2 = second->id;
  t.add("fetch key 1", story_outcome(keys.fetch(id1)));
  t.add("disable key 1", story_outcome(keys.disable(id1)));
  t.add("fetch key 1 after disable", story_outcome(keys.fetch(id1)));
  t.add("log in with disabled key 1", story_outcome(app.log_in(credentials::api_key(*first->value))));
  t.add("disable key 1 again", story_outcome(keys.disable(id1)));
  t.add("enable key 1", story_outcome(keys.enable(id1)));
  t.add("fetch key 1 after enable", story_outcome(keys.fetch(id1)));
  const auto device = app.log_in(credentials::api_key(*first->value));
  t.add("log in with key 1", story_outcome(device));
  if (device) {
    auto device_keys = app.api_keys(*device);
    t.add("fetch all through key 1's session", story_outcome(device_keys.fetch_all()));
    t.add("delete key 1 through its own session", story_outcome(device_keys.remove(id1)));
    const auto profile = app.profile(*device);
    t.add("profile of key 1's session", profile ? "user " + profile->user_id : story_error(profile.error()));
  }
  t.add("delete key 2", story_outcome(keys.remove(id2)));
  t.add("fetch key 2 after delete", story_outcome(keys.fetch(id2)));
  t.add("delete key 2 again", story_outcome(keys.remove(id2)));
  t.add("enable key 2 after delete", story_outcome(keys.enable(id2)));
  t.add("disable key 2 after delete", story_outcome(keys.disable(id2)));
  t.add("log in with deleted key 2", story_outcome(app.log_in(credentials::api_key(*second->value))));
  t.add("fetch all at the end", story_outcome(keys.fetch_all()));
  backend.revoke_sessions(owner_id);
  t.add("fetch all after the sessions were revoked", story_outcome(keys.fetch_all()));
  t.add("fetch all once the session has ended", story_outcome(keys.fetch_all()));
  return std::move(t.lines());
}

inline const std::string* story_line(const std::vector<std::string>& lines, std::string_view step) {
  for (const auto& line : lines)
    if (line.size() > step.size() && line.compare(0, step.size(), step) == 0 && line[step.size()] == ':') return &line;
  return nullptr;
}

// The rows docs/protocol.md fixes, checked on their own so that a failure names the row.
inline void check_story_rows(const std::vector<std::string>& lines) {
  struct row {
    std::string_view step;
    std::string_view expected;
  };
  constexpr row rows[] = {
      {"fetch all (none yet)", "[]"},
      {"create conformance-key-1", "'conformance-key-1' enabled, value of 64 alphanumerics"},
      {"create conformance-key-1 again", "HTTP 409, server code 'APIKeyAlreadyExists'"},
      {"fetch key 1 after disable", "'conformance-key-1' disabled"},
      {"log in with disabled key 1", "HTTP 401, server code 'AuthError'"},
      {"fetch key 1 after enable", "'conformance-key-1' enabled"},
      {"log in with key 1", "via api-key"},
      {"delete key 1 through its own session", "HTTP 403, server code 'AuthError'"},
      {"fetch key 2 after delete", "no key"},
      {"delete key 2 again", "ok"},
      {"enable key 2 after delete", "HTTP 404, server code 'APIKeyNotFound'"},
      {"log in with deleted key 2", "HTTP 401, server code 'AuthError'"},
      {"fetch all after the sessions were revoked", "HTTP 401, server code 'InvalidSession'"},
  };
  for (const row& r : rows) {
    const std::string* line = story_line(lines, r.step);
    DOCTEST_CHECK_MESSAGE((line != nullptr && line->find(r.expected) != std::string::npos),
                          "step '" << r.step << "' should show \"" << r.expected
                                   << "\"; it shows: " << (line ? *line : std::string{"(not reached)"}));
  }
}

}  // namespace detail

/// The wire cases for fixture F (see the top of this file); what TEST_CASE_TEMPLATE_INVOKE(
/// apikeys_transport_conformance, F) runs. Each case is a doctest SUBCASE.
template <class F>
void run_transport_conformance() {
  detail::check_fixture<F>();
  static_assert(!detail::fixture_in_process<F>(),
                "apikeys conformance: the wire cases need a transport that talks HTTP over sockets; for an "
                "in_process fixture invoke only apikeys_transport_protocol_conformance");
  DOCTEST_SUBCASE("methods and bodies arrive intact") { detail::wire_methods_and_bodies<F>(); }
  DOCTEST_SUBCASE("header names and values arrive intact both ways") { detail::wire_headers<F>(); }
  DOCTEST_SUBCASE("status codes, their headers and bodies pass through; with following off, 3xx is not followed") {
    detail::wire_statuses<F>();
  }
  DOCTEST_SUBCASE("1 MiB bodies arrive intact both ways") { detail::wire_large_bodies<F>(); }
  DOCTEST_SUBCASE("empty bodies stay empty both ways") { detail::wire_empty_bodies<F>(); }
  DOCTEST_SUBCASE("a server slower than the request's timeout gives errc::timeout in time") {
    detail::wire_slow_server<F>();
  }
  DOCTEST_SUBCASE("a body trickling in slower than the request's timeout allows gives errc::timeout in time") {
    detail::wire_trickled_body<F>();
  }
  DOCTEST_SUBCASE("a connection closed in mid-body is an error, not a truncated success") {
    detail::wire_closed_mid_body<F>();
  }
  DOCTEST_SUBCASE("a connection closed before any response is an error") { detail::wire_closed_before_response<F>(); }
  DOCTEST_SUBCASE("a port nobody listens on gives errc::connection_failed") { detail::wire_connection_refused<F>(); }
  DOCTEST_SUBCASE("a host name that does not resolve is an error, not a response") { detail::wire_unresolvable_host<F>(); }
  DOCTEST_SUBCASE("sequential requests reuse one keep-alive connection") { detail::wire_keep_alive<F>(); }
  DOCTEST_SUBCASE("a kept connection the server has closed is replaced, not reported") {
    detail::wire_dropped_connection_replaced<F>();
  }
  if constexpr (detail::fixture_thread_safe<F>()) {
    DOCTEST_SUBCASE("8 threads sending at once each get their own answers") { detail::wire_concurrent_sends<F>(); }
  }
  DOCTEST_SUBCASE("a header that cannot be sent as written is refused before anything goes out") {
    detail::wire_unsendable_headers<F>();
  }
  if constexpr (detail::fixture_follows_redirects<F>()) {
    DOCTEST_SUBCASE("redirects are followed by default: 301 and 308, 308 keeping method and body") {
      detail::redirect_followed_by_default<F>();
    }
    DOCTEST_SUBCASE("five redirects are followed, a sixth is errc::too_many_redirects") {
      detail::redirect_limit<F>();
    }
    DOCTEST_SUBCASE("Authorization, Proxy-Authorization and Cookie stay behind when the origin changes, not otherwise") {
      detail::redirect_credentials<F>();
    }
    DOCTEST_SUBCASE("with following off, a 3xx comes back as it is and its Location is not visited") {
      detail::redirect_not_followed_when_off<F>();
    }
  }
  if constexpr (detail::fixture_thread_safe<F>() && detail::fixture_max_idle_connections<F>() > 0) {
    DOCTEST_SUBCASE("max_idle_connections threads sending at once are served over at most that many connections") {
      detail::wire_pool_bounded<F>();
    }
  }
}

/// The protocol cases for fixture F (see the top of this file); what TEST_CASE_TEMPLATE_INVOKE(
/// apikeys_transport_protocol_conformance, F) runs.
template <class F>
void run_transport_protocol_conformance() {
  detail::check_fixture<F>();
  conformance_target defaults;

  emulator reference_backend;
  std::vector<std::string> reference_exchanges;
  detail::recording_transport<emulator> reference_transport{reference_backend, reference_exchanges};
  const auto reference = detail::protocol_story(reference_transport, reference_backend, reference_backend.hostname(),
                                                defaults.request_timeout);

  emulator backend;
  std::unique_ptr<detail::conformance_server> server;
  conformance_target target;
  target.backend = &backend;
  if constexpr (detail::fixture_in_process<F>()) {
    target.base_url = backend.hostname();
  } else {
    server = detail::start_conformance_server(detail::emulator_front(backend));
    if (!server) return;
    backend.set_hostname(server->base_url(), "ws://127.0.0.1:" + std::to_string(server->port()));
    target.base_url = server->base_url();
  }
  typename F::transport_type transport = F::make(target);
  std::vector<std::string> exchanges;
  detail::recording_transport<std::remove_reference_t<typename F::transport_type>> recorded{transport, exchanges};
  const auto story = detail::protocol_story(recorded, backend, target.base_url, target.request_timeout);

  // Ids differ between emulators; numbered by first appearance, the exchanges of both runs compare equal.
  detail::story_transcript reference_ids;
  for (auto& line : reference_exchanges) line = reference_ids.normalize(line);
  detail::story_transcript ids;
  for (auto& line : exchanges) line = ids.normalize(line);

  detail::check_story_rows(story);
  DOCTEST_CHECK_MESSAGE(story.size() == reference.size(), "the story stopped after " << story.size() << " of "
                                                                                      << reference.size() << " steps");
  for (std::size_t i = 0; i < std::min(story.size(), reference.size()); ++i) {
    const std::string& got = story[i];
    const std::string& expected = reference[i];
    DOCTEST_CHECK(got == expected);
  }
  DOCTEST_CHECK_MESSAGE(exchanges.size() == reference_exchanges.size(),
                        exchanges.size() << " exchanges, the in-process emulator needed " << reference_exchanges.size());
  for (std::size_t i = 0; i < std::min(exchanges.size(), reference_exchanges.size()); ++i) {
    const std::string& got = exchanges[i];
    const std::string& expected = reference_exchanges[i];
    DOCTEST_CHECK(got == expected);
  }
}

}  // namespace apikeys::testing

DOCTEST_TEST_CASE_TEMPLATE_DEFINE("apikeys transport conformance", apikeys_conformance_fixture,
                                  apikeys_transport_conformance) {
  ::apikeys::testing::run_transport_conformance<apikeys_conformance_fixture>();
}

DOCTEST_TEST_CASE_TEMPLATE_DEFINE("apikeys transport protocol conformance", apikeys_conformance_fixture,
                                  apikeys_transport_protocol_conformance) {
  ::apikeys::testing::run_transport_protocol_conformance<apikeys_conformance_fixture>();
}

#endif  // APIKEYS_TESTING_TRANSPORT_CONFORMANCE_HPP
