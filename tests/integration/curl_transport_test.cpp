// apikeys::curl_transport against real servers on 127.0.0.1: wire bytes, statuses, failures, reuse, TLS.
#if APIKEYS_TEST_HAVE_CURL

#include <apikeys/transport/curl.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ios>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "support/loopback_server.hpp"
#include "support/raw_socket_server.hpp"

namespace {

using apikeys::curl_transport;
using apikeys::curl_transport_options;
using apikeys::errc;
using apikeys::http_header;
using apikeys::http_method;
using apikeys::http_request;
using apikeys::http_response;
using apikeys_tests::loopback_server;
using apikeys_tests::raw_connection;
using apikeys_tests::raw_socket_server;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr std::string_view content_type = "application/json;charset=utf-8";
constexpr std::string_view bearer = "Bearer refresh-token-0123456789";

std::vector<http_header> protocol_headers() {
  return {{"Accept", "application/json"},
          {"Content-Type", std::string{content_type}},
          {"Authorization", std::string{bearer}}};
}

http_request make_request(http_method method, std::string url, std::string body = {},
                          std::chrono::milliseconds timeout = 5s) {
  http_request r;
  r.method = method;
  r.url = std::move(url);
  r.headers = protocol_headers();
  r.body = std::move(body);
  r.timeout = timeout;
  return r;
}

// Every byte value, several times over, so that no byte is special on the way.
std::string binary_body(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + i / 256) & 0xff);
  return out;
}

struct parsed_head {
  std::string request_line;
  std::multiset<std::string> header_lines;
  std::string body;
};

parsed_head split_request(const std::string& raw) {
  parsed_head out;
  const auto head_end = raw.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  out.body = raw.substr(head_end + 4);
  std::string_view head{raw.data(), head_end + 2};
  auto line_end = head.find("\r\n");
  out.request_line = std::string{head.substr(0, line_end)};
  head.remove_prefix(line_end + 2);
  while (!head.empty()) {
    line_end = head.find("\r\n");
    out.header_lines.insert(std::string{head.substr(0, line_end)});
    head.remove_prefix(line_end + 2);
  }
  return out;
}

const std::string* header(const http_response& r, std::string_view name) {
  return apikeys::find_header(r.headers, name);
}

std::size_t header_count(const http_response& r, std::string_view name) {
  return static_cast<std::size_t>(std::count_if(r.headers.begin(), r.headers.end(), [&](const http_header& h) {
    return apikeys::detail::iequals(h.name, name);
  }));
}

void require_transport_error(const apikeys::result<http_response, apikeys::transport_error>& r, errc expected) {
  REQUIRE_FALSE(r.has_value());
  CHECK(apikeys::kind_of(r.error().code) == apikeys::error_kind::transport);
  CHECK_MESSAGE(r.error().code == expected, r.error().message);
  CHECK_FALSE(r.error().message.empty());
  CHECK(r.error().message.find(bearer) == std::string::npos);
  CHECK(r.error().message.find("refresh-token") == std::string::npos);
}

// A small 200 that says "Connection: close", so that no handle keeps a connection that is about to close.
std::string canned_response(std::string_view body = "ok") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         std::string{body};
}

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

  for (const char* bad : {"", "127.0.0.1:80/x", "ftp://host/x", "file:///etc/passwd", "http://", "http://:80/",
                          "http://host:0/", "http://host:65536/", "http://host:8x/", "http://host:+80/",
                          "http://user:pw@host/",
                          "http://ho st/", "http://host/a b", "http://host/\xc3\xa9", "http://[::1/",
                          "http://[::1]x/", "http://[]/", "http://[fe80::g]/", "http://host\r\n/"}) {
    CAPTURE(bad);
    const auto r = parse_curl_url(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::transport_error);
    CHECK(r.error().message.rfind("unusable URL: ", 0) == 0);
    if (std::string_view{bad}.size() > 8) CHECK(r.error().message.find(bad) == std::string::npos);
  }
  CHECK(parse_curl_url("http://user:secret@host/").error().message.find("secret") == std::string::npos);

  // send() refuses them before anything goes out.
  curl_transport transport;
  const auto r = transport.send(make_request(http_method::get, "ftp://127.0.0.1/secret-path"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::transport_error);
  CHECK(r.error().message.find("secret-path") == std::string::npos);
}

TEST_CASE("the request goes out with exactly its own headers plus Host and Content-Length") {
  std::mutex mutex;
  std::vector<std::string> seen;
  raw_socket_server server([&](raw_connection& c) {
    auto raw = c.read_request();
    {
      std::lock_guard<std::mutex> lock(mutex);
      seen.push_back(std::move(raw));
    }
    c.write(canned_response());
  });
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
    std::string raw;
    {
      std::lock_guard<std::mutex> lock(mutex);
      REQUIRE(!seen.empty());
      raw = seen.back();
    }
    const auto head = split_request(raw);
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
      std::lock_guard<std::mutex> lock(mutex);
      const auto head = split_request(seen.back());
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
    std::lock_guard<std::mutex> lock(mutex);
    const auto head = split_request(seen.back());
    CHECK(head.request_line == "GET /bare HTTP/1.1");
    CHECK(head.header_lines == std::multiset<std::string>{host, "User-Agent: mine/1.0", "X-Empty:",
                                                          "x-lower: Mixed  Spaces\tand tab", "Accept: */*",
                                                          "Expect: 100-continue-not", "X-Dup: 1", "X-Dup: 2"});
    CHECK(head.body.empty());
  }
}

// httplib's server ignores a GET body, so the wire test above covers GET with a body.
TEST_CASE("every method carries its body byte for byte, and each protocol header arrives once") {
  std::mutex mutex;
  std::vector<std::string> problems;
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const char* name : {"Accept", "Content-Type", "Authorization"})
      if (req.get_header_value_count(name) != 1) problems.push_back(req.method + " " + name);
    if (req.get_header_value("Accept") != "application/json") problems.push_back(req.method + " Accept value");
    if (req.get_header_value("Content-Type") != content_type) problems.push_back(req.method + " Content-Type value");
    if (req.get_header_value("Authorization") != bearer) problems.push_back(req.method + " Authorization value");
    res.set_header("X-Method", req.method);
    res.set_header("X-Path", req.path);
    res.set_content(req.body, "application/octet-stream");
  });
  curl_transport transport;
  const std::string body = binary_body(4099);
  for (auto method : {http_method::get, http_method::post, http_method::put, http_method::delete_}) {
    CAPTURE(method);
    const std::string sent = method == http_method::get ? std::string{} : body;
    const auto r = transport.send(make_request(method, server.url("/echo/x"), sent));
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(header(*r, "X-Method") != nullptr);
    CHECK(*header(*r, "X-Method") == to_string(method));
    CHECK(*header(*r, "X-Path") == "/echo/x");
    CHECK(r->body == sent);
  }
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(problems.empty());
}

TEST_CASE("statuses, bodies and headers pass through; 3xx is not followed by default") {
  std::atomic<int> elsewhere{0};
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/elsewhere") {
      ++elsewhere;
      res.set_content("followed", "text/plain");
      return;
    }
    const int status = std::stoi(req.path.substr(std::string_view{"/status/"}.size()));
    res.status = status;
    res.set_header("X-Mixed-Case", "Value With Spaces");
    res.set_header("Retry-After", "7");
    if (status >= 300 && status < 400 && req.has_param("location")) res.set_header("Location", "/elsewhere");
    if (status != 204)
      res.set_content(R"({"error":"status )" + std::to_string(status) + R"(","error_code":"X"})", "application/json");
  });
  curl_transport transport;
  CHECK_FALSE(transport.options().follow_redirects);
  for (int status : {200, 201, 204, 301, 400, 401, 404, 409, 500, 503}) {
    CAPTURE(status);
    const auto r = transport.send(make_request(http_method::get, server.url("/status/" + std::to_string(status))));
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK(header_count(*r, "X-Mixed-Case") == 1);
    const auto named = std::find_if(r->headers.begin(), r->headers.end(),
                                    [](const http_header& h) { return h.name == "X-Mixed-Case"; });
    REQUIRE(named != r->headers.end());
    CHECK(named->value == "Value With Spaces");
    CHECK(*header(*r, "Retry-After") == "7");
    if (status == 204) {
      CHECK(r->body.empty());
      CHECK(header(*r, "Content-Type") == nullptr);
    } else {
      CHECK(r->body == R"({"error":"status )" + std::to_string(status) + R"(","error_code":"X"})");
      CHECK(*header(*r, "Content-Type") == "application/json");
      CHECK(*header(*r, "Content-Length") == std::to_string(r->body.size()));
    }
    CHECK(header(*r, "Location") == nullptr);
  }
  for (int status : {301, 302, 303, 307, 308}) {
    CAPTURE(status);
    const auto moved =
        transport.send(make_request(http_method::post, server.url("/status/" + std::to_string(status) + "?location=1"),
                                    "data"));
    REQUIRE(moved);
    CHECK(moved->status == status);
    REQUIRE(header(*moved, "Location") != nullptr);
    CHECK(*header(*moved, "Location") == "/elsewhere");
  }
  CHECK(elsewhere == 0);
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
  std::atomic<std::size_t> received{0};
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    received = req.body.size();
    res.set_content(req.body, "application/octet-stream");
  });
  curl_transport transport;
  const std::string body = binary_body(std::size_t{1} << 20);
  for (auto method : {http_method::post, http_method::put}) {
    CAPTURE(method);
    const auto r = transport.send(make_request(method, server.url("/big"), body));
    REQUIRE(r);
    CHECK(received == body.size());
    CHECK(r->body.size() == body.size());
    CHECK(r->body == body);
    CHECK(r->body.capacity() >= r->body.size() + 64);
  }
}

TEST_CASE("an empty body stays empty both ways") {
  std::atomic<long> received{-1};
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    received = static_cast<long>(req.body.size());
    res.status = 200;
  });
  curl_transport transport;
  const auto r = transport.send(make_request(http_method::post, server.url("/empty")));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(received == 0);
  CHECK(r->body.empty());
  CHECK(r->body.capacity() >= 64);
}

TEST_CASE("a handler slower than the request's timeout is errc::timeout, soon after the timeout") {
  loopback_server server([&](const httplib::Request&, httplib::Response& res) {
    server.wait_for_stop(3s);
    res.set_content("late", "text/plain");
  });
  curl_transport transport;
  const auto start = clock_type::now();
  const auto r = transport.send(make_request(http_method::post, server.url("/slow"), "secret-body-bytes", 300ms));
  const auto elapsed = clock_type::now() - start;
  require_transport_error(r, errc::timeout);
  CHECK(elapsed >= 290ms);
  CHECK(elapsed < 1500ms);
  CHECK(r.error().message.find("no complete response from") != std::string::npos);
  CHECK(r.error().message.find("300 ms") != std::string::npos);
  CHECK(r.error().message.find("http://127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
  CHECK(r.error().message.find("/slow") == std::string::npos);
  CHECK(r.error().message.find("secret-body-bytes") == std::string::npos);
}

TEST_CASE("a request without a timeout gets the options' default") {
  loopback_server server([&](const httplib::Request&, httplib::Response& res) {
    server.wait_for_stop(3s);
    res.status = 200;
  });
  curl_transport_options options;
  options.default_timeout = 200ms;
  curl_transport transport(options);
  const auto start = clock_type::now();
  const auto r = transport.send(make_request(http_method::get, server.url("/slow"), "", 0ms));
  require_transport_error(r, errc::timeout);
  CHECK(clock_type::now() - start >= 190ms);
  CHECK(clock_type::now() - start < 1500ms);
}

TEST_CASE("a body trickled slower than the timeout allows is cut off as a timeout") {
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 40\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < 40; ++i) {
      if (!c.write("x")) return;
      std::this_thread::sleep_for(25ms);
    }
  });
  curl_transport transport;
  const auto start = clock_type::now();
  const auto r = transport.send(make_request(http_method::get, server.url("/trickle"), "", 300ms));
  require_transport_error(r, errc::timeout);
  CHECK(clock_type::now() - start < 800ms);
}

TEST_CASE("a port with nothing listening is errc::connection_failed") {
  const int port = apikeys_tests::unused_loopback_port();
  curl_transport transport;
  const auto start = clock_type::now();
  const auto r = transport.send(
      make_request(http_method::post, "http://127.0.0.1:" + std::to_string(port) + "/x/secret-path", "body", 2s));
  require_transport_error(r, errc::connection_failed);
  CHECK(clock_type::now() - start < 1s);
  CHECK(r.error().message.find("http://127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(r.error().message.find("secret-path") == std::string::npos);
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
  const std::string secret_body = R"({"provider":"api-key","key":"do-not-print-me"})";
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n0123456789");
  });
  curl_transport transport;
  const auto r = transport.send(make_request(http_method::post, server.url("/login"), secret_body));
  require_transport_error(r, errc::connection_reset);
  CHECK(r.error().message.find("do-not-print-me") == std::string::npos);
  CHECK(r.error().message.find("/login") == std::string::npos);
}

TEST_CASE("a connection closed before any response is errc::connection_reset") {
  raw_socket_server server([](raw_connection& c) { c.read_request(); });
  curl_transport transport;
  require_transport_error(transport.send(make_request(http_method::get, server.url("/"))), errc::connection_reset);
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
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    // No "Connection: close": the handle keeps the connection, which then closes under it.
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  curl_transport transport;
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    const auto r = transport.send(make_request(http_method::get, server.url("/")));
    REQUIRE(r);
    CHECK(r->body == "ok");
    std::this_thread::sleep_for(50ms);  // the close reaches the client before the next request
  }
  CHECK(server.accepted() == 3);
}

TEST_CASE("a connect that gets no answer is errc::timeout after the connect timeout") {
  // A listener with a full accept queue that never accepts: Linux drops further SYNs, so connect hangs.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 0) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(50ms);

  curl_transport_options options;
  options.connect_timeout = 200ms;
  curl_transport transport(options);
  const auto start = clock_type::now();
  const auto r = transport.send(
      make_request(http_method::get, "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/", "", 5s));
  const auto elapsed = clock_type::now() - start;
  for (int fd : fillers) ::close(fd);
  ::close(listener);
  require_transport_error(r, errc::timeout);
  CHECK(elapsed >= 190ms);
  CHECK(elapsed < 1500ms);
  CHECK(r.error().message.find("connecting to") != std::string::npos);
}

TEST_CASE("keep-alive: 50 sequential requests share one connection and are quick") {
  std::mutex mutex;
  std::set<int> remote_ports;
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      remote_ports.insert(req.remote_port);
    }
    res.set_content(R"({"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"k","disabled":false})", "application/json");
  });
  curl_transport transport;
  std::vector<double> latencies_ms;
  const auto request = make_request(http_method::post, server.url("/api/client/v2.0/auth/api_keys"), R"({"name":"k"})");
  for (int i = 0; i < 50; ++i) {
    const auto start = clock_type::now();
    const auto r = transport.send(request);
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(remote_ports.size() == 1);
  }
  CHECK(transport.idle_handles() == 1);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double median = latencies_ms[latencies_ms.size() / 2];
  MESSAGE("median keep-alive latency: " << median << " ms");
  CHECK(median < 10.0);
}

TEST_CASE("8 threads x 50 requests on one shared transport all get their own answers") {
  std::mutex mutex;
  std::set<int> remote_ports;
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      remote_ports.insert(req.remote_port);
    }
    res.set_content(req.method + " " + req.path + "|" + req.body, "text/plain");
  });
  curl_transport transport;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      curl_transport copy = transport;  // copies share the pool
      for (int i = 0; i < 50; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        const auto method = i % 3 == 0 ? http_method::put : (i % 3 == 1 ? http_method::post : http_method::delete_);
        const auto r =
            (i % 2 ? copy : transport).send(make_request(method, server.url("/item/" + id), "body " + id));
        if (r && r->status == 200 && r->body == std::string{to_string(method)} + " /item/" + id + "|body " + id) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 400);
  CHECK(transport.idle_handles() <= 8);
  CHECK(transport.idle_handles() >= 1);
  std::lock_guard<std::mutex> lock(mutex);
  // Handles and their connections are reused: without the pool every request would bring a new one.
  CHECK(remote_ports.size() <= 16);
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
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write(canned_response());
  });
  curl_transport transport;
  auto request = make_request(http_method::get, server.url("/"));
  request.headers.push_back({"X-Token", "secret-value\r\nX-Injected: 1"});
  auto r = transport.send(request);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::transport_error);
  CHECK(r.error().message.find("X-Token") != std::string::npos);
  CHECK(r.error().message.find("secret-value") == std::string::npos);

  request.headers.back() = {"X-Token", std::string{"secret\0value", 12}};
  r = transport.send(request);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::transport_error);

  for (const char* name : {"Bad Name", "Bad:Name", "Bad;Name", "", "Bad\r\nName"}) {
    CAPTURE(name);
    request.headers.back() = {name, "v"};
    r = transport.send(request);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::transport_error);
  }
  CHECK(server.accepted() == 0);
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
  std::mutex mutex;
  std::vector<std::string> other_auth;
  loopback_server other([&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    other_auth.push_back(req.get_header_value("Authorization"));
    res.set_content("other " + req.method + " " + req.body, "text/plain");
  });
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/final") {
      res.set_header("X-Final", "1");
      res.set_content("final " + req.method + " " + req.body + " " + req.get_header_value("Authorization"),
                      "text/plain");
    } else if (req.path == "/temporary") {
      res.set_header("X-Hop", "temporary");
      res.set_redirect("/final", 307);
    } else if (req.path == "/see-other") {
      res.set_redirect("final", 303);
    } else if (req.path == "/found") {
      res.set_redirect("/final", 302);
    } else if (req.path == "/away") {
      res.set_redirect(other.url("/there"), 302);
    } else if (req.path == "/loop") {
      res.set_redirect("/loop", 301);
    } else if (req.path == "/no-location") {
      res.status = 301;
    } else if (req.path == "/ftp") {
      res.set_redirect("ftp://127.0.0.1/secret-file", 302);
    } else if (req.path.rfind("/chain/", 0) == 0) {
      const int left = std::stoi(req.path.substr(7));
      res.set_redirect(left == 0 ? "/final" : "/chain/" + std::to_string(left - 1), 308);
    }
  });
  curl_transport_options options;
  options.follow_redirects = true;
  options.max_redirects = 3;
  curl_transport transport(options);

  auto r = transport.send(make_request(http_method::put, server.url("/temporary"), "data"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "final PUT data " + std::string{bearer});
  CHECK(header(*r, "X-Final") != nullptr);
  CHECK(header(*r, "X-Hop") == nullptr);  // only the final response's headers
  CHECK(header_count(*r, "Content-Length") == 1);

  r = transport.send(make_request(http_method::post, server.url("/see-other"), "data"));
  REQUIRE(r);
  CHECK(r->body == "final GET  " + std::string{bearer});

  r = transport.send(make_request(http_method::post, server.url("/found"), "data"));
  REQUIRE(r);
  CHECK(r->body == "final GET  " + std::string{bearer});

  r = transport.send(make_request(http_method::delete_, server.url("/found")));
  REQUIRE(r);
  CHECK(r->body == "final DELETE  " + std::string{bearer});

  r = transport.send(make_request(http_method::get, server.url("/away")));
  REQUIRE(r);
  CHECK(r->body == "other GET ");
  {
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(other_auth == std::vector<std::string>{""});
  }

  r = transport.send(make_request(http_method::get, server.url("/no-location")));
  REQUIRE(r);
  CHECK(r->status == 301);

  // Three redirects are allowed, a fourth is not.
  r = transport.send(make_request(http_method::get, server.url("/chain/2")));
  REQUIRE(r);
  CHECK(r->body == "final GET  " + std::string{bearer});
  r = transport.send(make_request(http_method::get, server.url("/chain/3")));
  require_transport_error(r, errc::too_many_redirects);

  r = transport.send(make_request(http_method::get, server.url("/loop")));
  require_transport_error(r, errc::too_many_redirects);
  CHECK(r.error().message.find("/loop") == std::string::npos);

  r = transport.send(make_request(http_method::get, server.url("/ftp")));
  require_transport_error(r, errc::transport_error);
  CHECK(r.error().message.find("secret-file") == std::string::npos);
}

TEST_CASE("https against a plain-HTTP port is a TLS transport error, not a status") {
  loopback_server server(
      [](const httplib::Request&, httplib::Response& res) { res.set_content("plain", "text/plain"); });
  curl_transport transport;
  const auto r = transport.send(
      make_request(http_method::get, "https://127.0.0.1:" + std::to_string(server.port()) + "/", "", 3s));
  require_transport_error(r, errc::tls_error);
  CHECK(r.error().message.find("https://127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
}

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
namespace {
// The self-signed P-256 certificate for IP 127.0.0.1 (a CA for itself, valid 2000 to 2125) that
// httplib_transport_test.cpp uses; it names no host, so "localhost" does not match it.
constexpr std::string_view loopback_cert = R"(-----BEGIN CERTIFICATE-----
MIIBWzCCAQCgAwIBAgIEATTW5TAKBggqhkjOPQQDAjAgMR4wHAYDVQQDDBVhcGlr
ZXlzIGxvb3BiYWNrIHRlc3QwIhgPMjAwMDAxMDEwMDAwMDBaGA8yMTI1MDEwMTAw
MDAwMFowIDEeMBwGA1UEAwwVYXBpa2V5cyBsb29wYmFjayB0ZXN0MFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEIH7Tf/FXocmA4Xgk15tCAuASLXSQpqynRAtMjzJX
etHA5iUsthNhUG3o8XpcafxguNsBHVJ6bNwt281aCF0rsKMkMCIwDwYDVR0RBAgw
BocEfwAAATAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDm6kyq
ZNWuEQMH6KwiDPZ5lVw0XMjIEoqZAIRw8KFfaQIhAPBjoWAsNmNfiDT0/n7bmTsR
W7e+hGZOdbjk2MsFtvCk
-----END CERTIFICATE-----
)";
constexpr std::string_view loopback_key = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1ULeSp+3RwBkzz2F
WwyoY7fIs+tTPqTijuyW9i8qaiyhRANCAAQgftN/8VehyYDheCTXm0IC4BItdJCm
rKdEC0yPMld60cDmJSy2E2FQbejxelxp/GC42wEdUnps3C3bzVoIXSuw
-----END PRIVATE KEY-----
)";

// The PEM files SSLServer and CURLOPT_CAINFO want, in a fresh directory removed afterwards.
struct pem_files {
  std::filesystem::path dir;
  std::string cert;
  std::string key;

  pem_files() {
    dir = std::filesystem::temp_directory_path() /
          ("apikeys_curl_test_" + std::to_string(::getpid()) + "_" +
           std::to_string(clock_type::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir);
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    std::ofstream(cert, std::ios::binary) << loopback_cert;
    std::ofstream(key, std::ios::binary) << loopback_key;
  }
  ~pem_files() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};
}  // namespace

TEST_CASE("https: verified by default, against the CA bundle; insecure_hosts turns it off for those hosts only") {
  const pem_files pem;
  std::mutex mutex;
  std::set<int> remote_ports;
  apikeys_tests::loopback_server_options server_options;
  server_options.tls_cert_path = pem.cert;
  server_options.tls_key_path = pem.key;
  loopback_server server(
      [&](const httplib::Request& req, httplib::Response& res) {
        {
          std::lock_guard<std::mutex> lock(mutex);
          remote_ports.insert(req.remote_port);
        }
        if (req.path == "/to-ip") {
          res.set_redirect(server.url("/"), 302);
          return;
        }
        res.set_content("secure " + req.body, "text/plain");
      },
      server_options);
  REQUIRE(server.url().rfind("https://127.0.0.1:", 0) == 0);
  const std::string by_name = "https://localhost:" + std::to_string(server.port());

  SUBCASE("an unknown issuer is refused") {
    curl_transport transport;
    CHECK(transport.options().insecure_hosts.empty());
    const auto r = transport.send(make_request(http_method::post, server.url("/"), "data"));
    require_transport_error(r, errc::tls_error);
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(remote_ports.empty());
  }
  SUBCASE("the CA bundle makes it trusted, and the connection is kept alive") {
    curl_transport_options options;
    options.ca_bundle_path = pem.cert;
    curl_transport transport(options);
    for (int i = 0; i < 3; ++i) {
      const auto r = transport.send(make_request(http_method::post, server.url("/"), "data"));
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->body == "secure data");
    }
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(remote_ports.size() == 1);
  }
  SUBCASE("a trusted certificate for another name is refused: the host name is checked") {
    curl_transport_options options;
    options.ca_bundle_path = pem.cert;
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
    options.ca_bundle_path = (pem.dir / "missing.pem").string();
    curl_transport transport(options);
    require_transport_error(transport.send(make_request(http_method::get, server.url("/"))), errc::tls_error);
  }
}
#endif

#endif  // APIKEYS_TEST_HAVE_CURL
