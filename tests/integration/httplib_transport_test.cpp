// apikeys::httplib_transport against real servers on 127.0.0.1: wire bytes, statuses, failures, pooling.
#include <apikeys/transport/httplib.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <ios>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "support/loopback_server.hpp"
#include "support/raw_socket_server.hpp"

namespace {

using apikeys::errc;
using apikeys::http_header;
using apikeys::http_method;
using apikeys::http_request;
using apikeys::http_response;
using apikeys::httplib_transport;
using apikeys::httplib_transport_options;
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
}

// A small 200 that says "Connection: close", so that the client pools no connection that is about to close.
std::string canned_response(std::string_view body = "ok") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         std::string{body};
}

}  // namespace

TEST_CASE("URLs are split into origin and target, and unusable ones are refused without being quoted") {
  using apikeys::detail::parse_httplib_url;

  auto u = parse_httplib_url("http://127.0.0.1:8080/api/client/v2.0/auth/api_keys?x=1#frag");
  REQUIRE(u);
  CHECK_FALSE(u->https);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 8080);
  CHECK(u->target == "/api/client/v2.0/auth/api_keys?x=1");
  CHECK(u->origin() == "http://127.0.0.1:8080");

  u = parse_httplib_url("HTTPS://Services.Cloud.MongoDB.com");
  REQUIRE(u);
  CHECK(u->https);
  CHECK(u->host == "services.cloud.mongodb.com");
  CHECK(u->port == 443);
  CHECK(u->target == "/");
  CHECK(u->authority() == "services.cloud.mongodb.com");

  u = parse_httplib_url("http://example.com:?q");
  REQUIRE(u);
  CHECK(u->port == 80);
  CHECK(u->target == "/?q");

  u = parse_httplib_url("http://[::1]:9000/p");
  REQUIRE(u);
  CHECK(u->ipv6);
  CHECK(u->host == "::1");
  CHECK(u->authority() == "[::1]:9000");
  CHECK(u->origin() == "http://[::1]:9000");

  for (const char* bad : {"", "127.0.0.1:80/x", "ftp://host/x", "http://", "http://:80/", "http://host:0/",
                          "http://host:65536/", "http://host:8x/", "http://host:+80/", "http://user:pw@host/",
                          "http://ho st/", "http://host/a b", "http://host/\xc3\xa9", "http://[::1/",
                          "http://[::1]x/", "http://[]/", "http://[fe80::g]/", "http://host\r\n/"}) {
    CAPTURE(bad);
    const auto r = parse_httplib_url(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::transport_error);
    CHECK(r.error().message.rfind("unusable URL: ", 0) == 0);
    if (std::string_view{bad}.size() > 8) CHECK(r.error().message.find(bad) == std::string::npos);
  }
  CHECK(parse_httplib_url("http://user:secret@host/").error().message.find("secret") == std::string::npos);
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
  const std::string agent = std::string{"User-Agent: cpp-httplib/"} + CPPHTTPLIB_VERSION;
  const std::multiset<std::string> common{"Accept: application/json", "Authorization: " + std::string{bearer},
                                          "Content-Type: " + std::string{content_type}, host, agent};
  httplib_transport transport;

  struct wire_case {
    http_method method;
    std::string body;
    std::string request_line;
    std::vector<std::string> extra;
  };
  const std::string json = R"({"name":"kéy \"1\" \u00e9"})";  // raw UTF-8 and escapes, as the wire has them
  const wire_case cases[] = {
      {http_method::get, "", "GET /api/client/v2.0/auth/api_keys?a=1&b=%20 HTTP/1.1", {}},
      {http_method::get, json, "GET /api/client/v2.0/auth/api_keys?a=1&b=%20 HTTP/1.1",
       {"Content-Length: " + std::to_string(json.size())}},
      {http_method::put, "", "PUT /api/client/v2.0/auth/api_keys?a=1&b=%20 HTTP/1.1", {"Content-Length: 0"}},
      {http_method::delete_, "", "DELETE /api/client/v2.0/auth/api_keys?a=1&b=%20 HTTP/1.1", {}},
      {http_method::post, json, "POST /api/client/v2.0/auth/api_keys?a=1&b=%20 HTTP/1.1",
       {"Content-Length: " + std::to_string(json.size())}},
  };
  for (const auto& wc : cases) {
    CAPTURE(wc.request_line);
    const auto url = server.url("/api/client/v2.0/auth/api_keys?a=1&b=%20");
    const auto r = transport.send(make_request(wc.method, url, wc.body));
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
  httplib_transport transport;
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

TEST_CASE("statuses, bodies and headers pass through; 3xx is not followed") {
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
    if (status == 301 && req.has_param("location")) res.set_header("Location", "/elsewhere");
    if (status != 204)
      res.set_content(R"({"error":"status )" + std::to_string(status) + R"(","error_code":"X"})", "application/json");
  });
  httplib_transport transport;
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
  const auto moved = transport.send(make_request(http_method::get, server.url("/status/301?location=1")));
  REQUIRE(moved);
  CHECK(moved->status == 301);
  REQUIRE(header(*moved, "Location") != nullptr);
  CHECK(*header(*moved, "Location") == "/elsewhere");
  CHECK(elsewhere == 0);
}

TEST_CASE("response headers arrive with every name and value as sent, duplicates included") {
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write(
        "HTTP/1.1 418 I'm a teapot\r\nx-lower: a\r\nX-LOWER: b\r\nSet-Cookie: one=1\r\nSet-Cookie: two=2\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\nEmpty:\r\n\r\n{}");
  });
  httplib_transport transport;
  const auto r = transport.send(make_request(http_method::get, server.url("/")));
  REQUIRE(r);
  CHECK(r->status == 418);
  CHECK(r->body == "{}");
  std::multiset<std::string> lines;
  for (const auto& h : r->headers) lines.insert(h.name + ": " + h.value);
  // httplib 0.11 drops a header whose value is empty ("Empty:"); the rest arrive untouched.
  CHECK(lines == std::multiset<std::string>{"x-lower: a", "X-LOWER: b", "Set-Cookie: one=1", "Set-Cookie: two=2",
                                            "Content-Type: application/json", "Content-Length: 2",
                                            "Connection: close"});
}

TEST_CASE("a 1 MiB body travels both ways, and the response body has padding for simdjson") {
  std::atomic<std::size_t> received{0};
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    received = req.body.size();
    res.set_content(req.body, "application/octet-stream");
  });
  httplib_transport transport;
  const std::string body = binary_body(std::size_t{1} << 20);
  const auto r = transport.send(make_request(http_method::post, server.url("/big"), body));
  REQUIRE(r);
  CHECK(received == body.size());
  CHECK(r->body.size() == body.size());
  CHECK(r->body == body);
  CHECK(r->body.capacity() >= r->body.size() + 64);
}

TEST_CASE("an empty body stays empty both ways") {
  std::atomic<long> received{-1};
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    received = static_cast<long>(req.body.size());
    res.status = 200;
  });
  httplib_transport transport;
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
  httplib_transport transport;
  const auto start = clock_type::now();
  const auto r = transport.send(make_request(http_method::get, server.url("/slow"), "", 300ms));
  const auto elapsed = clock_type::now() - start;
  require_transport_error(r, errc::timeout);
  CHECK(elapsed >= 290ms);
  CHECK(elapsed < 1500ms);
  CHECK(r.error().message.find("300 ms") != std::string::npos);
}

TEST_CASE("a request without a timeout gets the options' default") {
  loopback_server server([&](const httplib::Request&, httplib::Response& res) {
    server.wait_for_stop(3s);
    res.status = 200;
  });
  httplib_transport_options options;
  options.default_timeout = 200ms;
  httplib_transport transport(options);
  const auto start = clock_type::now();
  const auto r = transport.send(make_request(http_method::get, server.url("/slow"), "", 0ms));
  require_transport_error(r, errc::timeout);
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
  httplib_transport transport;
  const auto start = clock_type::now();
  const auto r = transport.send(make_request(http_method::get, server.url("/trickle"), "", 300ms));
  require_transport_error(r, errc::timeout);
  CHECK(clock_type::now() - start < 800ms);
}

TEST_CASE("a port with nothing listening is errc::connection_failed") {
  const int port = apikeys_tests::unused_loopback_port();
  httplib_transport transport;
  const auto start = clock_type::now();
  const auto r =
      transport.send(make_request(http_method::get, "http://127.0.0.1:" + std::to_string(port) + "/x", "", 2s));
  require_transport_error(r, errc::connection_failed);
  CHECK(clock_type::now() - start < 1s);
  CHECK(r.error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("a connection closed in mid-body is errc::connection_reset, not a status") {
  const std::string secret_body = R"({"provider":"api-key","key":"do-not-print-me"})";
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n0123456789");
  });
  httplib_transport transport;
  const auto r = transport.send(make_request(http_method::post, server.url("/login"), secret_body));
  require_transport_error(r, errc::connection_reset);
  CHECK(r.error().message.find("do-not-print-me") == std::string::npos);
  CHECK(r.error().message.find("/login") == std::string::npos);
}

TEST_CASE("a connection closed before any response is errc::connection_reset") {
  raw_socket_server server([](raw_connection& c) { c.read_request(); });
  httplib_transport transport;
  require_transport_error(transport.send(make_request(http_method::get, server.url("/"))), errc::connection_reset);
}

TEST_CASE("a pooled connection that the server has since closed is replaced, not reported") {
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    // No "Connection: close": the client pools the connection, which then closes under it.
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  httplib_transport transport;
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    const auto r = transport.send(make_request(http_method::get, server.url("/")));
    REQUIRE(r);
    CHECK(r->body == "ok");
    CHECK(transport.idle_connections() == 1);
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

  httplib_transport_options options;
  options.connect_timeout = 200ms;
  httplib_transport transport(options);
  const auto start = clock_type::now();
  const auto r = transport.send(
      make_request(http_method::get, "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/", "", 5s));
  const auto elapsed = clock_type::now() - start;
  for (int fd : fillers) ::close(fd);
  ::close(listener);
  require_transport_error(r, errc::timeout);
  CHECK(elapsed >= 190ms);
  CHECK(elapsed < 1500ms);
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
  httplib_transport transport;
  std::vector<double> latencies_ms;
  // POST with a body: httplib writes head and body separately, the case where Nagle's delay shows.
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
  CHECK(transport.idle_connections() == 1);
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
    res.set_content(req.path + "|" + req.body, "text/plain");
  });
  httplib_transport_options options;
  options.max_idle_per_origin = 4;
  httplib_transport transport(options);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      httplib_transport copy = transport;  // copies share the pool
      for (int i = 0; i < 50; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        const auto r = (i % 2 ? copy : transport)
                           .send(make_request(http_method::put, server.url("/item/" + id), "body " + id));
        if (r && r->status == 200 && r->body == "/item/" + id + "|body " + id) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 400);
  CHECK(transport.idle_connections() <= 4);
  CHECK(transport.idle_connections() >= 1);
  std::lock_guard<std::mutex> lock(mutex);
  // Connections are reused: without a pool every request would bring a new one.
  CHECK(remote_ports.size() < 100);
}

TEST_CASE("insecure_hosts match the URL's host exactly, but for ASCII case, and IPv6 without brackets") {
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
}

TEST_CASE("https against a plain-HTTP port is a TLS transport error, not a status") {
  loopback_server server(
      [](const httplib::Request&, httplib::Response& res) { res.set_content("plain", "text/plain"); });
  httplib_transport transport;
  const auto r = transport.send(
      make_request(http_method::get, "https://127.0.0.1:" + std::to_string(server.port()) + "/", "", 3s));
  require_transport_error(r, errc::tls_error);
}

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
namespace {
// A self-signed P-256 certificate for IP 127.0.0.1 (a CA for itself), valid 2000 to 2125, made for these
// tests and used nowhere else.
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

// The PEM files SSLServer and set_ca_cert_path want, in a fresh directory removed afterwards.
struct pem_files {
  std::filesystem::path dir;
  std::string cert;
  std::string key;

  pem_files() {
    dir = std::filesystem::temp_directory_path() /
          ("apikeys_httplib_test_" + std::to_string(::getpid()) + "_" +
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

TEST_CASE("https: the certificate is verified by default, against the configured CA bundle") {
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
        res.set_content("secure " + req.body, "text/plain");
      },
      server_options);
  REQUIRE(server.url().rfind("https://127.0.0.1:", 0) == 0);

  SUBCASE("an unknown issuer is refused") {
    httplib_transport transport;
    CHECK(transport.options().insecure_hosts.empty());
    const auto r = transport.send(make_request(http_method::post, server.url("/"), "data"));
    require_transport_error(r, errc::tls_error);
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(remote_ports.empty());
  }
  SUBCASE("the CA bundle makes it trusted, and the connection is kept alive") {
    httplib_transport_options options;
    options.ca_bundle_path = pem.cert;
    httplib_transport transport(options);
    for (int i = 0; i < 3; ++i) {
      const auto r = transport.send(make_request(http_method::post, server.url("/"), "data"));
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->body == "secure data");
    }
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(remote_ports.size() == 1);
  }
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
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(remote_ports.empty());
  }
  SUBCASE("a CA bundle that cannot be read is a TLS error") {
    httplib_transport_options options;
    options.ca_bundle_path = (pem.dir / "missing.pem").string();
    httplib_transport transport(options);
    require_transport_error(transport.send(make_request(http_method::get, server.url("/"))), errc::tls_error);
  }
}
#endif

TEST_CASE("a header that would split the request is refused, and its value is not quoted") {
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write(canned_response());
  });
  httplib_transport transport;
  auto request = make_request(http_method::get, server.url("/"));
  request.headers.push_back({"X-Token", "secret-value\r\nX-Injected: 1"});
  auto r = transport.send(request);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::transport_error);
  CHECK(r.error().message.find("X-Token") != std::string::npos);
  CHECK(r.error().message.find("secret-value") == std::string::npos);

  request.headers.back() = {"Bad Name", "v"};
  r = transport.send(request);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::transport_error);
  CHECK(server.accepted() == 0);
}

TEST_CASE("with follow_redirects, redirects are followed within the budget and credentials stay home") {
  std::mutex mutex;
  std::vector<std::string> other_auth;
  loopback_server other([&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    other_auth.push_back(req.get_header_value("Authorization"));
    res.set_content("other " + req.method + " " + req.body, "text/plain");
  });
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/final") {
      res.set_content("final " + req.method + " " + req.body + " " + req.get_header_value("Authorization"),
                      "text/plain");
    } else if (req.path == "/temporary") {
      res.set_redirect("/final", 307);
    } else if (req.path == "/see-other") {
      res.set_redirect("final", 303);
    } else if (req.path == "/away") {
      res.set_redirect(other.url("/there"), 302);
    } else if (req.path == "/loop") {
      res.set_redirect("/loop", 301);
    }
  });
  httplib_transport_options options;
  options.follow_redirects = true;
  options.max_redirects = 3;
  httplib_transport transport(options);

  auto r = transport.send(make_request(http_method::put, server.url("/temporary"), "data"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "final PUT data " + std::string{bearer});

  r = transport.send(make_request(http_method::post, server.url("/see-other"), "data"));
  REQUIRE(r);
  CHECK(r->body == "final GET  " + std::string{bearer});

  r = transport.send(make_request(http_method::get, server.url("/away")));
  REQUIRE(r);
  CHECK(r->body == "other GET ");
  {
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(other_auth == std::vector<std::string>{""});
  }

  r = transport.send(make_request(http_method::get, server.url("/loop")));
  require_transport_error(r, errc::too_many_redirects);
}
