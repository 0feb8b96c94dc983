// The transport conformance suite run over the in-process emulator, and shown to catch a broken transport.
// (Each bundled adapter's own test, curl_transport_test.cpp and httplib_transport_test.cpp, runs the suite on it.)
#include <doctest/doctest.h>

#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/transport_conformance.hpp>
#include <apikeys/transport/httplib.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace {

using apikeys::errc;
using apikeys::http_request;
using apikeys::http_response;
using apikeys::testing::conformance_target;

// The emulator is a Transport itself: the protocol story runs through it with no socket at all.
struct emulator_fixture {
  using transport_type = apikeys::testing::emulator&;
  static constexpr bool in_process = true;
  static apikeys::testing::emulator& make(const conformance_target& target) { return *target.backend; }
};

// Three bugs a real adapter could have: a fixed array of three request headers, a 64 KiB response buffer,
// and a connection reset passed off as an empty success.
class broken_transport {
 public:
  explicit broken_transport(bool follow_redirects) : inner_(options(follow_redirects)) {}

  apikeys::result<http_response, apikeys::transport_error> send(const http_request& request) {
    http_request copy = request;
    if (copy.headers.size() > 3) copy.headers.resize(3);
    auto r = inner_.send(copy);
    if (!r && r.error().code == errc::connection_reset) return http_response{200, {}, {}};
    if (r && r->body.size() > 65536) r->body.resize(65536);
    return r;
  }

 private:
  static apikeys::httplib_transport_options options(bool follow_redirects) {
    apikeys::httplib_transport_options o;
    o.follow_redirects = follow_redirects;
    return o;
  }
  apikeys::httplib_transport inner_;
};

struct broken_fixture {
  using transport_type = broken_transport;
  static broken_transport make(const conformance_target& target) { return broken_transport{target.follow_redirects}; }
};

// In-process, and wrong in one way: it keeps only the status of an error answer, as a transport that reads
// no body past a 4xx might.
class bodiless_errors_transport {
 public:
  explicit bodiless_errors_transport(apikeys::testing::emulator& backend) : backend_(&backend) {}
  http_response send(const http_request& request) {
    http_response answer = backend_->send(request);
    if (answer.status >= 400) {
      answer.headers.clear();
      answer.body.clear();
    }
    return answer;
  }

 private:
  apikeys::testing::emulator* backend_;
};

struct broken_protocol_fixture {
  using transport_type = bodiless_errors_transport;
  static constexpr bool in_process = true;
  static bodiless_errors_transport make(const conformance_target& target) {
    return bodiless_errors_transport{*target.backend};
  }
};

constexpr std::string_view broken_case_filter = "*of a deliberately broken transport (run by a sub-run)";

}  // namespace

TEST_CASE_TEMPLATE_INVOKE(apikeys_transport_protocol_conformance, emulator_fixture);

// These two are skipped in an ordinary run; the test case after them runs both in a child process and
// reads its report.
TEST_CASE("conformance of a deliberately broken transport (run by a sub-run)" * doctest::skip()) {
  apikeys::testing::run_transport_conformance<broken_fixture>();
}

TEST_CASE("protocol conformance of a deliberately broken transport (run by a sub-run)" * doctest::skip()) {
  apikeys::testing::run_transport_protocol_conformance<broken_protocol_fixture>();
}

TEST_CASE("the suite fails broken transports, in exactly the cases they break") {
  // popen runs a shell, in which /proc/self/exe would be the shell.
  char self[4096] = {};
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  REQUIRE(length > 0);
  const std::string command = "'" + std::string{self, static_cast<std::size_t>(length)} +
                              "' --no-skip=true --no-colors=true --no-version=true '--test-case=" +
                              std::string{broken_case_filter} + "' 2>&1 </dev/null";
  FILE* child = ::popen(command.c_str(), "r");
  REQUIRE(child != nullptr);
  std::string report;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, child)) > 0;) report.append(buffer, n);
  const int status = ::pclose(child);
  INFO("the sub-run reported:\n" << report);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) != 0);
  // doctest pads its summary into columns; with runs of blanks squeezed it reads the same at any width.
  std::string summary;
  for (const char c : report)
    if (c != ' ' || summary.empty() || summary.back() != ' ') summary.push_back(c);
  CHECK(summary.find("test cases: 2 | 0 passed | 2 failed") != std::string::npos);
  // doctest names the failing subcase, indented under the test case, above each failure.
  const auto failed = [&report](std::string_view subcase) {
    return report.find("\n  " + std::string{subcase} + "\n") != std::string::npos;
  };
  CHECK(failed("header names and values arrive intact both ways"));
  CHECK(failed("1 MiB bodies arrive intact both ways"));
  CHECK(failed("a connection closed in mid-body is an error, not a truncated success"));
  CHECK(failed("a connection closed before any response is an error"));
  // Cutting the headers to three lets a header through that should have been refused.
  CHECK(failed("a header that cannot be sent as written is refused before anything goes out"));
  CHECK(report.find("a request with an unsendable header went out") != std::string::npos);
  CHECK(report.find("truncated success") != std::string::npos);
  CHECK(report.find("the 1 MiB response body came back as 65536 bytes where 1048576 were expected") != std::string::npos);
  CHECK(report.find("request header 'X-Conformance-Mixed-Case' arrived 0 times") != std::string::npos);
  CHECK(report.find("step 'enable key 2 after delete' should show \"HTTP 404, server code 'APIKeyNotFound'\"") !=
        std::string::npos);
  // The cases the bugs do not touch still pass, so the failures above are the suite's judgement, not noise.
  CHECK_FALSE(failed("methods and bodies arrive intact"));
  CHECK_FALSE(failed("status codes, their headers and bodies pass through; with following off, 3xx is not followed"));
  // The redirect cases judge what a hop carries, not how many headers the first request had.
  CHECK_FALSE(failed("five redirects are followed, a sixth is errc::too_many_redirects"));
  CHECK_FALSE(failed("with following off, a 3xx comes back as it is and its Location is not visited"));
  CHECK_FALSE(failed("empty bodies stay empty both ways"));
  CHECK_FALSE(failed("a server slower than the request's timeout gives errc::timeout in time"));
  CHECK_FALSE(failed("a port nobody listens on gives errc::connection_failed"));
  CHECK_FALSE(failed("sequential requests reuse one keep-alive connection"));
  CHECK_FALSE(failed("a body trickling in slower than the request's timeout allows gives errc::timeout in time"));
  CHECK_FALSE(failed("a kept connection the server has closed is replaced, not reported"));
  CHECK_FALSE(failed("a host name that does not resolve is an error, not a response"));
}

// The suite's server is what every wire verdict rests on, so its own record is checked against bytes
// written by hand on a raw socket.
TEST_CASE("the conformance server records requests byte for byte, chunked and pipelined ones included") {
  using apikeys::testing::detail::conformance_server;
  using apikeys::testing::detail::received_request;
  using apikeys::testing::detail::scripted_reply;
  auto started = conformance_server::start([](const received_request& r) {
    scripted_reply reply;
    reply.body = r.method + " " + std::to_string(r.body.size());
    return reply;
  });
  REQUIRE(started.has_value());
  auto& server = **started;

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(server.port()));
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  const std::string raw_first = std::string{"POST /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nX-Case: Mixed  Value \r\nContent-Length: 5\r\n\r\nhe"} +
                                std::string(1, '\0') + "lo";
  const std::string second =
      "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: t\r\n\r\n";
  const std::string both = raw_first + second;
  // Both requests in one write (pipelined), then an answer for each on the same connection.
  REQUIRE(::send(fd, both.data(), both.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(both.size()));
  std::string answers;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (answers.find("PUT 5") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[1024];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    answers.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  CHECK(answers ==
        "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOST 5"
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nPUT 5");
  const auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].raw == raw_first);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/a%20b?x=1");
  CHECK(requests[0].version == "HTTP/1.1");
  REQUIRE(requests[0].headers.size() == 3);
  CHECK(requests[0].headers[1] == apikeys::http_header{"X-Case", "Mixed  Value"});
  CHECK(requests[0].body == std::string("he\0lo", 5));
  CHECK_FALSE(requests[0].chunked);
  CHECK(requests[1].raw == second);
  CHECK(requests[1].body == "abcde");
  CHECK(requests[1].chunked);
  CHECK(requests[0].connection == 1);
  CHECK(requests[1].connection == 1);
  CHECK(server.accepted() == 1);
}
