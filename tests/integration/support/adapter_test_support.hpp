// Test helper: requests, wire parsing, TLS files and the checks that every HTTP adapter's own test runs.
#pragma once

#include <apikeys/config.hpp>
#include <apikeys/error.hpp>
#include <apikeys/http.hpp>
#include <apikeys/result.hpp>
#include <apikeys/transport.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

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
#include <functional>
#include <initializer_list>
#include <ios>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "loopback_server.hpp"
#include "raw_socket_server.hpp"

namespace apikeys_tests {

using transport_result = apikeys::result<apikeys::http_response, apikeys::transport_error>;

inline constexpr std::string_view content_type = "application/json;charset=utf-8";
inline constexpr std::string_view bearer = "Bearer refresh-token-0123456789";

inline std::vector<apikeys::http_header> protocol_headers() {
  return {{"Accept", "application/json"},
          {"Content-Type", std::string{content_type}},
          {"Authorization", std::string{bearer}}};
}

/// A request as the clients send one: the protocol's headers, with the bearer token.
inline apikeys::http_request make_request(apikeys::http_method method, std::string url, std::string body = {},
                                          std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
  return apikeys::http_request{method, std::move(url), protocol_headers(), std::move(body), timeout};
}

// Every byte value, several times over, so that no byte is special on the way.
inline std::string binary_body(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + i / 256) & 0xff);
  return out;
}

struct parsed_head {
  std::string request_line;
  std::multiset<std::string> header_lines;
  std::string body;
};

inline parsed_head split_request(const std::string& raw) {
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

inline const std::string* header(const apikeys::http_response& r, std::string_view name) {
  return apikeys::find_header(r.headers, name);
}

inline std::size_t header_count(const apikeys::http_response& r, std::string_view name) {
  return static_cast<std::size_t>(std::count_if(r.headers.begin(), r.headers.end(), [&](const apikeys::http_header& h) {
    return apikeys::detail::iequals(h.name, name);
  }));
}

inline void require_transport_error(const transport_result& r, apikeys::errc expected) {
  REQUIRE_FALSE(r.has_value());
  CHECK(apikeys::kind_of(r.error().code) == apikeys::error_kind::transport);
  CHECK_MESSAGE(r.error().code == expected, r.error().message);
  CHECK_FALSE(r.error().message.empty());
  CHECK(r.error().message.find(bearer) == std::string::npos);
  CHECK(r.error().message.find("refresh-token") == std::string::npos);
}

// A small 200 that says "Connection: close", so that the client keeps no connection that is about to close.
inline std::string canned_response(std::string_view body = "ok") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         std::string{body};
}

/// A raw server that keeps every request's bytes and answers each with canned_response().
class recording_server {
 public:
  recording_server()
      : server_([this](raw_connection& c) {
          auto raw = c.read_request();
          {
            std::lock_guard<std::mutex> lock(mutex_);
            seen_.push_back(std::move(raw));
          }
          c.write(canned_response());
        }) {}

  int port() const { return server_.port(); }
  std::string url(const std::string& path) const { return server_.url(path); }
  /// The bytes of the latest request.
  std::string last_request() const {
    std::lock_guard<std::mutex> lock(mutex_);
    REQUIRE(!seen_.empty());
    return seen_.back();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> seen_;
  raw_socket_server server_;  // last: it stops before what its script touches goes
};

/// A port on 127.0.0.1 whose connects get no answer: a listener with a full accept queue that never
/// accepts, so Linux drops further SYNs and connect hangs. Closed by the destructor.
class unanswered_listener {
 public:
  unanswered_listener() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 0) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    for (int i = 0; i < 4; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
      fillers_.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  unanswered_listener(const unanswered_listener&) = delete;
  unanswered_listener& operator=(const unanswered_listener&) = delete;
  ~unanswered_listener() {
    for (int fd : fillers_) ::close(fd);
    if (listener_ >= 0) ::close(listener_);
  }

  int port() const noexcept { return port_; }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

// A self-signed P-256 certificate for IP 127.0.0.1 (a CA for itself), valid 2000 to 2125, made for these
// tests and used nowhere else. It names no host, so "localhost" does not match it.
inline constexpr std::string_view loopback_cert = R"(-----BEGIN CERTIFICATE-----
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
inline constexpr std::string_view loopback_key = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1ULeSp+3RwBkzz2F
WwyoY7fIs+tTPqTijuyW9i8qaiyhRANCAAQgftN/8VehyYDheCTXm0IC4BItdJCm
rKdEC0yPMld60cDmJSy2E2FQbejxelxp/GC42wEdUnps3C3bzVoIXSuw
-----END PRIVATE KEY-----
)";

/// loopback_cert and loopback_key as the PEM files a TLS server and a CA bundle option want, in a fresh
/// directory (named after `prefix`) removed afterwards.
struct pem_files {
  std::filesystem::path dir;
  std::string cert;
  std::string key;

  explicit pem_files(std::string_view prefix) {
    dir = std::filesystem::temp_directory_path() /
          (std::string{prefix} + "_" + std::to_string(::getpid()) + "_" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir);
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    std::ofstream(cert, std::ios::binary) << loopback_cert;
    std::ofstream(key, std::ios::binary) << loopback_key;
  }
  pem_files(const pem_files&) = delete;
  pem_files& operator=(const pem_files&) = delete;
  ~pem_files() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

/// An https loopback_server with loopback_cert that answers "secure <body>" and counts the client ports it
/// saw; /to-ip redirects to its own 127.0.0.1 URL.
class tls_echo_server {
 public:
  explicit tls_echo_server(std::string_view prefix) : pem_(prefix), server_(handler(), server_options(pem_)) {
    REQUIRE(server_.url().rfind("https://127.0.0.1:", 0) == 0);
  }

  const pem_files& pem() const noexcept { return pem_; }
  int port() const { return server_.port(); }
  std::string url(const std::string& path) const { return server_.url(path); }
  std::size_t client_ports() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return remote_ports_.size();
  }

 private:
  static loopback_server_options server_options(const pem_files& pem) {
    loopback_server_options options;
    options.tls_cert_path = pem.cert;
    options.tls_key_path = pem.key;
    return options;
  }
  std::function<void(const httplib::Request&, httplib::Response&)> handler() {
    return [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        remote_ports_.insert(req.remote_port);
      }
      if (req.path == "/to-ip") {
        res.set_redirect(server_.url("/"), 302);
        return;
      }
      res.set_content("secure " + req.body, "text/plain");
    };
  }

  mutable std::mutex mutex_;
  std::set<int> remote_ports_;
  pem_files pem_;
  loopback_server server_;  // last: it stops before what its handler touches goes
};

/// A transport with default options refuses the server's unknown issuer before any request reaches it.
template <class Transport>
void check_unknown_issuer_refused(Transport& transport, const tls_echo_server& server) {
  CHECK(transport.options().insecure_hosts.empty());
  const auto r = transport.send(make_request(apikeys::http_method::post, server.url("/"), "data"));
  require_transport_error(r, apikeys::errc::tls_error);
  CHECK(server.client_ports() == 0);
}

/// A transport told to trust pem().cert talks to the server, over one kept-alive connection.
template <class Transport>
void check_ca_bundle_trusted(Transport& transport, const tls_echo_server& server) {
  for (int i = 0; i < 3; ++i) {
    const auto r = transport.send(make_request(apikeys::http_method::post, server.url("/"), "data"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "secure data");
  }
  CHECK(server.client_ports() == 1);
}

// --- for the clients over an adapter against apikeys-emulator ------------------------------------------

/// A config for the app `app_id` on `server` (an emulator_process).
template <class Server>
apikeys::app_config config_for(const Server& server, const std::string& app_id) {
  apikeys::app_config config;
  config.app_id = app_id;
  config.base_url = server.base_url();
  // Far above any loopback answer, but bounded: a hang fails the test instead of stalling it.
  config.timeout = std::chrono::seconds{10};
  return config;
}

/// The port of a URL that ends in one.
inline int port_of(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

inline std::string describe(const apikeys::api_error& e) { return fmt::format("{}", e); }
// For assertion messages, which doctest also renders when the assertion passes (with -s).
template <class Result>
std::string error_of(const Result& r) {
  return r.has_value() ? std::string{"no error"} : describe(r.error());
}

// --- checks each adapter's test runs on it, beside its own ----------------------------------------------
// Each takes a transport made by the caller (with the options the check needs) and servers of its own.

/// Unusable URLs are refused by `parse` (an adapter's URL parser) without being quoted.
template <class Parse>
void check_unusable_urls_refused(Parse parse) {
  for (const char* bad : {"", "127.0.0.1:80/x", "ftp://host/x", "file:///etc/passwd", "http://", "http://:80/",
                          "http://host:0/", "http://host:65536/", "http://host:8x/", "http://host:+80/",
                          "http://user:pw@host/", "http://ho st/", "http://host/a b", "http://host/\xc3\xa9",
                          "http://[::1/", "http://[::1]x/", "http://[]/", "http://[fe80::g]/", "http://host\r\n/"}) {
    CAPTURE(bad);
    const auto r = parse(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == apikeys::errc::transport_error);
    CHECK(r.error().message.rfind("unusable URL: ", 0) == 0);
    if (std::string_view{bad}.size() > 8) CHECK(r.error().message.find(bad) == std::string::npos);
  }
  CHECK(parse("http://user:secret@host/").error().message.find("secret") == std::string::npos);
}

// httplib's server ignores a GET body, so each adapter's wire test covers GET with a body.
template <class Transport>
void check_every_method_carries_its_body(Transport& transport) {
  using apikeys::http_method;
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

/// Without follow_redirects: statuses, bodies and headers pass through, and no 3xx is followed.
template <class Transport>
void check_statuses_pass_through(Transport& transport) {
  using apikeys::http_method;
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
  CHECK_FALSE(transport.options().follow_redirects);
  for (int status : {200, 201, 204, 301, 400, 401, 404, 409, 500, 503}) {
    CAPTURE(status);
    const auto r = transport.send(make_request(http_method::get, server.url("/status/" + std::to_string(status))));
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK(header_count(*r, "X-Mixed-Case") == 1);
    const auto named = std::find_if(r->headers.begin(), r->headers.end(),
                                    [](const apikeys::http_header& h) { return h.name == "X-Mixed-Case"; });
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
  for (auto method : {http_method::get, http_method::post}) {
    for (int status : {301, 302, 303, 307, 308}) {
      CAPTURE(method);
      CAPTURE(status);
      const auto moved = transport.send(
          make_request(method, server.url("/status/" + std::to_string(status) + "?location=1"),
                       method == http_method::post ? "data" : ""));
      REQUIRE(moved);
      CHECK(moved->status == status);
      REQUIRE(header(*moved, "Location") != nullptr);
      CHECK(*header(*moved, "Location") == "/elsewhere");
    }
  }
  CHECK(elsewhere == 0);
}

template <class Transport>
void check_big_body_both_ways(Transport& transport) {
  std::atomic<std::size_t> received{0};
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    received = req.body.size();
    res.set_content(req.body, "application/octet-stream");
  });
  const std::string body = binary_body(std::size_t{1} << 20);
  for (auto method : {apikeys::http_method::post, apikeys::http_method::put}) {
    CAPTURE(method);
    const auto r = transport.send(make_request(method, server.url("/big"), body));
    REQUIRE(r);
    CHECK(received == body.size());
    CHECK(r->body.size() == body.size());
    CHECK(r->body == body);
    CHECK(r->body.capacity() >= r->body.size() + 64);
  }
}

template <class Transport>
void check_empty_body_stays_empty(Transport& transport) {
  std::atomic<long> received{-1};
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    received = static_cast<long>(req.body.size());
    res.status = 200;
  });
  const auto r = transport.send(make_request(apikeys::http_method::post, server.url("/empty")));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(received == 0);
  CHECK(r->body.empty());
  CHECK(r->body.capacity() >= 64);
}

/// A 300 ms request to a handler that takes 3 s: errc::timeout soon after 300 ms, naming the origin and
/// neither the path nor the body.
template <class Transport>
void check_slow_handler_times_out(Transport& transport) {
  using namespace std::chrono_literals;
  loopback_server server([&](const httplib::Request&, httplib::Response& res) {
    server.wait_for_stop(3s);
    res.set_content("late", "text/plain");
  });
  const auto start = std::chrono::steady_clock::now();
  const auto r = transport.send(make_request(apikeys::http_method::post, server.url("/slow"), "secret-body-bytes", 300ms));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  require_transport_error(r, apikeys::errc::timeout);
  CHECK(elapsed >= 290ms);
  CHECK(elapsed < 1500ms);
  CHECK(r.error().message.find("no complete response from") != std::string::npos);
  CHECK(r.error().message.find("300 ms") != std::string::npos);
  CHECK(r.error().message.find("http://127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
  CHECK(r.error().message.find("/slow") == std::string::npos);
  CHECK(r.error().message.find("secret-body-bytes") == std::string::npos);
}

/// `transport` has a default_timeout of 200 ms, which a request without a timeout of its own gets.
template <class Transport>
void check_default_timeout_applies(Transport& transport) {
  using namespace std::chrono_literals;
  loopback_server server([&](const httplib::Request&, httplib::Response& res) {
    server.wait_for_stop(3s);
    res.status = 200;
  });
  const auto start = std::chrono::steady_clock::now();
  const auto r = transport.send(make_request(apikeys::http_method::get, server.url("/slow"), "", 0ms));
  require_transport_error(r, apikeys::errc::timeout);
  CHECK(std::chrono::steady_clock::now() - start >= 190ms);
  CHECK(std::chrono::steady_clock::now() - start < 1500ms);
}

template <class Transport>
void check_trickled_body_times_out(Transport& transport) {
  using namespace std::chrono_literals;
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 40\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < 40; ++i) {
      if (!c.write("x")) return;
      std::this_thread::sleep_for(25ms);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  const auto r = transport.send(make_request(apikeys::http_method::get, server.url("/trickle"), "", 300ms));
  require_transport_error(r, apikeys::errc::timeout);
  CHECK(std::chrono::steady_clock::now() - start < 800ms);
}

template <class Transport>
void check_refused_connect_fails(Transport& transport) {
  using namespace std::chrono_literals;
  const int port = unused_loopback_port();
  const auto start = std::chrono::steady_clock::now();
  const auto r = transport.send(make_request(
      apikeys::http_method::post, "http://127.0.0.1:" + std::to_string(port) + "/x/secret-path", "body", 2s));
  require_transport_error(r, apikeys::errc::connection_failed);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(r.error().message.find("http://127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(r.error().message.find("secret-path") == std::string::npos);
}

template <class Transport>
void check_closed_mid_body_is_reset(Transport& transport) {
  const std::string secret_body = R"({"provider":"api-key","key":"do-not-print-me"})";
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n0123456789");
  });
  const auto r = transport.send(make_request(apikeys::http_method::post, server.url("/login"), secret_body));
  require_transport_error(r, apikeys::errc::connection_reset);
  CHECK(r.error().message.find("do-not-print-me") == std::string::npos);
  CHECK(r.error().message.find("/login") == std::string::npos);
}

template <class Transport>
void check_closed_before_response_is_reset(Transport& transport) {
  raw_socket_server server([](raw_connection& c) { c.read_request(); });
  require_transport_error(transport.send(make_request(apikeys::http_method::get, server.url("/"))),
                          apikeys::errc::connection_reset);
}

/// Three sends, each on a kept connection the server closes after answering: each is answered on a new
/// connection. `after_each(transport)` runs after each answer.
template <class Transport, class AfterEach>
void check_closed_kept_connection_replaced(Transport& transport, AfterEach after_each) {
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    // No "Connection: close": the client keeps the connection, which then closes under it.
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    const auto r = transport.send(make_request(apikeys::http_method::get, server.url("/")));
    REQUIRE(r);
    CHECK(r->body == "ok");
    after_each(transport);
    std::this_thread::sleep_for(std::chrono::milliseconds{50});  // the close reaches the client first
  }
  CHECK(server.accepted() == 3);
}

/// `transport` has a connect_timeout of 200 ms; a connect that gets no answer is errc::timeout after it.
template <class Transport>
transport_result check_unanswered_connect_times_out(Transport& transport) {
  using namespace std::chrono_literals;
  const unanswered_listener listener;
  const auto start = std::chrono::steady_clock::now();
  auto r = transport.send(
      make_request(apikeys::http_method::get, "http://127.0.0.1:" + std::to_string(listener.port()) + "/", "", 5s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  require_transport_error(r, apikeys::errc::timeout);
  CHECK(elapsed >= 190ms);
  CHECK(elapsed < 1500ms);
  return r;
}

/// 50 sequential POSTs with a body (the case where Nagle's delay would show): one connection, and quick.
template <class Transport>
void check_sequential_requests_share_a_connection(Transport& transport) {
  std::mutex mutex;
  std::set<int> remote_ports;
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      remote_ports.insert(req.remote_port);
    }
    res.set_content(R"({"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"k","disabled":false})", "application/json");
  });
  std::vector<double> latencies_ms;
  const auto request =
      make_request(apikeys::http_method::post, server.url("/api/client/v2.0/auth/api_keys"), R"({"name":"k"})");
  for (int i = 0; i < 50; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = transport.send(request);
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(remote_ports.size() == 1);
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double median = latencies_ms[latencies_ms.size() / 2];
  MESSAGE("median keep-alive latency: " << median << " ms");
  CHECK(median < 10.0);
}

/// 8 threads x 50 requests of mixed methods, half on `transport` and half on a copy of it (copies share the
/// pool), each checking its own answer. Says how many client ports the server saw.
template <class Transport>
std::size_t check_concurrent_requests_get_their_answers(Transport& transport) {
  using apikeys::http_method;
  std::mutex mutex;
  std::set<int> remote_ports;
  loopback_server server([&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      remote_ports.insert(req.remote_port);
    }
    res.set_content(req.method + " " + req.path + "|" + req.body, "text/plain");
  });
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Transport copy = transport;
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
  std::lock_guard<std::mutex> lock(mutex);
  return remote_ports.size();
}

/// Headers that would split the request, or that the adapter cannot send as written (the names in
/// `more_bad_names`, beside those no adapter can), are refused before anything goes out, and a value is
/// never quoted.
template <class Transport>
void check_unsendable_headers_refused(Transport& transport, std::initializer_list<const char*> more_bad_names = {}) {
  using apikeys::errc;
  raw_socket_server server([](raw_connection& c) {
    c.read_request();
    c.write(canned_response());
  });
  auto request = make_request(apikeys::http_method::get, server.url("/"));
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

  std::vector<const char*> bad_names{"Bad Name", "Bad:Name", "", "Bad\r\nName", "Bad;Name", "Bad(Name)",
                                     "Bad\"Name", "Bad/Name", "Bad\x7fName", "Bäd"};
  bad_names.insert(bad_names.end(), more_bad_names.begin(), more_bad_names.end());
  for (const char* name : bad_names) {
    CAPTURE(name);
    request.headers.back() = {name, "v"};
    r = transport.send(request);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::transport_error);
  }
  CHECK(server.accepted() == 0);
}

/// `transport` follows redirects, at most 3 in one send: methods and bodies change as browsers do, only the
/// final response's headers arrive, and Authorization and Cookie stay with the first origin.
template <class Transport>
void check_redirects_followed(Transport& transport) {
  using apikeys::errc;
  using apikeys::http_method;
  REQUIRE(transport.options().follow_redirects);
  REQUIRE(transport.options().max_redirects == 3);
  std::mutex mutex;
  std::vector<std::string> other_auth;
  loopback_server other([&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    other_auth.push_back(req.get_header_value("Authorization") + "|" + req.get_header_value("Cookie"));
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

  auto away = make_request(http_method::get, server.url("/away"));
  away.headers.push_back({"Cookie", "session=cookie-secret"});
  r = transport.send(away);
  REQUIRE(r);
  CHECK(r->body == "other GET ");
  {
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(other_auth == std::vector<std::string>{"|"});  // neither credential followed to the other origin
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

template <class Transport>
void check_https_to_plain_port_is_tls_error(Transport& transport) {
  // A plain HTTP server answers a TLS ClientHello, which is no request line, with 400 and closes, as nginx
  // and cpp-httplib 0.11 do (later cpp-httplib waits for a CRLF that never comes, until its read timeout).
  raw_socket_server server([](raw_connection& c) {
    c.read_request(std::chrono::milliseconds{300});
    c.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  const auto r = transport.send(make_request(apikeys::http_method::get,
                                             "https://127.0.0.1:" + std::to_string(server.port()) + "/", "",
                                             std::chrono::seconds{3}));
  require_transport_error(r, apikeys::errc::tls_error);
  CHECK(r.error().message.find("https://127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
}

}  // namespace apikeys_tests
