// Test helper: requests, wire parsing, TLS files, and the checks of the bundled adapters' own features.
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

/// Each (method, with a JSON body) case goes out through `transport` to `server` with the request line
/// and exactly the header lines expected: the protocol's three, Host, the Content-Length the body needs
/// (0 for an empty POST or PUT, none for an empty GET or DELETE), `added` (what the adapter adds to every
/// request) and, if present, the one line `may_add`; the fragment goes nowhere.
template <class Transport>
void check_request_heads_exact(Transport& transport, const recording_server& server,
                               std::initializer_list<std::pair<apikeys::http_method, bool>> cases,
                               const std::multiset<std::string>& added, const std::string& may_add = {}) {
  using apikeys::http_method;
  const std::string target = "/api/client/v2.0/auth/api_keys?a=1&b=%20";
  const std::string json = R"({"name":"kéy \"1\" \u00e9"})";  // raw UTF-8 and escapes, as the wire has them
  for (const auto& [method, with_body] : cases) {
    const std::string body = with_body ? json : std::string{};
    const std::string request_line = std::string{to_string(method)} + " " + target + " HTTP/1.1";
    CAPTURE(request_line);
    CAPTURE(body.size());
    const auto r = transport.send(make_request(method, server.url(target + "#fragment"), body));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "ok");
    const auto head = split_request(server.last_request());
    CHECK(head.request_line == request_line);
    std::multiset<std::string> expected{"Accept: application/json", "Authorization: " + std::string{bearer},
                                        "Content-Type: " + std::string{content_type},
                                        "Host: 127.0.0.1:" + std::to_string(server.port())};
    expected.insert(added.begin(), added.end());
    if (with_body)
      expected.insert("Content-Length: " + std::to_string(body.size()));
    else if (method == http_method::post || method == http_method::put)
      expected.insert("Content-Length: 0");
    if (!may_add.empty() && head.header_lines.count(may_add) == 1) expected.insert(may_add);
    CHECK(head.header_lines == expected);
    CHECK(head.body == body);
  }
}

/// The response header lines, "name: value" in arrival order, of a GET answered by `interim` (1xx
/// responses, or nothing), then 418 with the header lines `head` (each ending in CRLF) and the body "{}".
template <class Transport>
std::vector<std::string> response_header_lines(Transport& transport, const std::string& interim,
                                               const std::string& head) {
  raw_socket_server server([&](raw_connection& c) {
    c.read_request();
    c.write(interim + "HTTP/1.1 418 I'm a teapot\r\n" + head + "\r\n{}");
  });
  const auto r = transport.send(make_request(apikeys::http_method::get, server.url("/")));
  REQUIRE(r);
  CHECK(r->status == 418);
  CHECK(r->body == "{}");
  std::vector<std::string> lines;
  for (const auto& h : r->headers) lines.push_back(h.name + ": " + h.value);
  return lines;
}

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
/// saw; /to-ip redirects to its own 127.0.0.1 URL, /redirect?to=<url> to that URL.
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
      if (req.path == "/redirect") {
        res.set_redirect(req.get_param_value("to"), 302);
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

// --- checks of what both bundled adapters do beyond the conformance suite -----------------------------
// (their options, their messages, TLS, redirects; support/adapter_cases.hpp runs them). Each takes a
// transport made by the caller (with the options the check needs) and servers of its own.

/// `parse` (an adapter's URL parser) finds the scheme, host and port and reduces a URL to its origin,
/// and refuses unusable URLs without quoting them.
template <class Parse>
void check_url_parser(Parse parse) {
  struct usable {
    const char* url;
    bool https;
    bool ipv6;
    const char* host;
    int port;
    const char* origin;
  };
  for (const usable& c : {usable{"http://127.0.0.1:8080/api/client/v2.0/auth/api_keys?x=1#frag", false, false,
                                 "127.0.0.1", 8080, "http://127.0.0.1:8080"},
                          usable{"HTTPS://Services.Cloud.MongoDB.com", true, false, "services.cloud.mongodb.com", 443,
                                 "https://services.cloud.mongodb.com:443"},
                          usable{"http://[::1]:9000/p", false, true, "::1", 9000, "http://[::1]:9000"}}) {
    CAPTURE(c.url);
    const auto u = parse(c.url);
    REQUIRE(u);
    CHECK(u->https == c.https);
    CHECK(u->ipv6 == c.ipv6);
    CHECK(u->host == c.host);
    CHECK(u->port == c.port);
    CHECK(u->origin() == c.origin);
  }

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

/// Response bodies, 1 MiB or empty, come with spare capacity, so that simdjson reads them without a copy.
template <class Transport>
void check_response_bodies_padded(Transport& transport) {
  for (const std::size_t size : {std::size_t{1} << 20, std::size_t{0}}) {
    CAPTURE(size);
    raw_socket_server server([size](raw_connection& c) {
      c.read_request();
      c.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\nConnection: close\r\n\r\n" +
              binary_body(size));
    });
    const auto r = transport.send(make_request(apikeys::http_method::get, server.url("/padded")));
    REQUIRE(r);
    CHECK(r->body.size() == size);
    CHECK(r->body.capacity() >= r->body.size() + 64);
  }
}

/// `transport` has a default_timeout of 200 ms, which a request without a timeout of its own gets; the
/// error names the origin and the time it waited.
template <class Transport>
void check_default_timeout_applies(Transport& transport) {
  using std::chrono::milliseconds;
  loopback_server server([&](const httplib::Request&, httplib::Response& res) {
    server.wait_for_stop(std::chrono::seconds{3});
    res.status = 200;
  });
  const auto start = std::chrono::steady_clock::now();
  const auto r = transport.send(make_request(apikeys::http_method::get, server.url("/slow"), "", milliseconds{0}));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  require_transport_error(r, apikeys::errc::timeout);
  CHECK(elapsed >= milliseconds{190});
  CHECK(elapsed < milliseconds{1500});
  CHECK_MESSAGE(r.error().message.find("no complete response from " + server.url("") + " within 200 ms") !=
                    std::string::npos,
                r.error().message);
}

/// `transport` has a connect_timeout of 200 ms; a connect that gets no answer is errc::timeout after it,
/// and the error says it was the connect.
template <class Transport>
void check_unanswered_connect_times_out(Transport& transport) {
  using std::chrono::milliseconds;
  const unanswered_listener listener;
  const auto start = std::chrono::steady_clock::now();
  auto r = transport.send(make_request(apikeys::http_method::get,
                                       "http://127.0.0.1:" + std::to_string(listener.port()) + "/", "",
                                       std::chrono::seconds{5}));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  require_transport_error(r, apikeys::errc::timeout);
  CHECK(elapsed >= milliseconds{190});
  CHECK(elapsed < milliseconds{1500});
  CHECK(r.error().message.find("connecting to") != std::string::npos);
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

/// Each hop of an https send is verified, or not, for its own host: insecure_hosts naming the first host
/// does not carry over to the next, and naming only the next one lets that one through. `Options` is the
/// adapter's options type.
template <class Transport, class Options>
void check_tls_trust_per_hop(const tls_echo_server& server) {
  using apikeys::http_method;
  // The certificate names 127.0.0.1 only, so "localhost" is accepted only when it is listed as insecure.
  const std::string by_name = "https://localhost:" + std::to_string(server.port());
  {
    Options options;
    options.insecure_hosts = {"localhost"};
    Transport transport(options);
    CHECK(transport.options().follow_redirects);
    // Unverified localhost redirects to 127.0.0.1, which is verified (against the default store) and refused.
    require_transport_error(transport.send(make_request(http_method::get, by_name + "/to-ip")), apikeys::errc::tls_error);
  }
  const std::string to_localhost = server.url("/redirect?to=" + by_name + "/");
  {
    // 127.0.0.1 is trusted through the bundle; localhost, the second hop, only through insecure_hosts.
    Options options;
    options.ca_bundle_path = server.pem().cert;
    options.insecure_hosts = {"localhost"};
    Transport transport(options);
    const auto r = transport.send(make_request(http_method::put, to_localhost, "x"));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "secure x");
  }
  {
    Options options;
    options.ca_bundle_path = server.pem().cert;
    Transport transport(options);
    const auto r = transport.send(make_request(http_method::put, to_localhost, "x"));
    require_transport_error(r, apikeys::errc::tls_error);
    CHECK_MESSAGE(r.error().message.find(by_name) != std::string::npos, r.error().message);
  }
}

/// A redirect from https to http is refused with errc::tls_error before anything goes to the http server;
/// with following off the 302 itself comes back. `Options` is the adapter's options type.
template <class Transport, class Options>
void check_https_to_http_redirect_refused(const tls_echo_server& server) {
  using apikeys::http_method;
  std::mutex mutex;
  std::size_t plain_requests = 0;
  loopback_server plain([&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    ++plain_requests;
    res.set_content("plain", "text/plain");
  });
  REQUIRE(plain.url().rfind("http://127.0.0.1:", 0) == 0);
  const std::string landing = plain.url("/landing-secret-path");
  Options options;
  options.ca_bundle_path = server.pem().cert;
  for (const http_method method : {http_method::get, http_method::post}) {
    CAPTURE(to_string(method));
    Transport transport(options);
    const auto r = transport.send(make_request(method, server.url("/redirect?to=" + landing), "data"));
    require_transport_error(r, apikeys::errc::tls_error);
    CHECK_MESSAGE(r.error().message.find("https://127.0.0.1:" + std::to_string(server.port())) != std::string::npos,
                  r.error().message);
    CHECK_MESSAGE(r.error().message.find("http://127.0.0.1:" + std::to_string(plain.port())) != std::string::npos,
                  r.error().message);
    CHECK(r.error().message.find("landing-secret-path") == std::string::npos);
  }
  {
    Options off = options;
    off.follow_redirects = false;
    Transport transport(off);
    const auto r = transport.send(make_request(http_method::get, server.url("/redirect?to=" + landing)));
    REQUIRE(r);
    CHECK(r->status == 302);
    const std::string* location = header(*r, "Location");
    CHECK((location != nullptr && *location == landing));
  }
  std::lock_guard<std::mutex> lock(mutex);
  CHECK(plain_requests == 0);
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
