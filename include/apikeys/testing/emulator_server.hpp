// apikeys::testing::emulator_server: serves an emulator over real HTTP (cpp-httplib) on its own thread.
#ifndef APIKEYS_TESTING_EMULATOR_SERVER_HPP
#define APIKEYS_TESTING_EMULATOR_SERVER_HPP

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/core.h>
#include <httplib.h>

#include "../http.hpp"
#include "../result.hpp"
#include "../version.hpp"
#include "emulator.hpp"

namespace apikeys::testing {

struct emulator_server_options {
  std::string host = "127.0.0.1";  ///< the address to listen on; an IPv6 literal without brackets
  int port = 0;                    ///< 0 picks a free (ephemeral) port
  /// Workers, each of which serves one connection at a time (keep-alive holds it until the client
  /// closes), so this bounds how many clients are served at once.
  std::size_t threads = 32;
  /// Called once per answered request, from a worker thread (possibly several at once), with one line
  /// and no newline: method, path without the query, status, duration. Never a header or a body, so
  /// never a token or a key. Empty: nothing is logged.
  std::function<void(std::string_view line)> log;
};

namespace detail {

// A socket is ready, the server is stopping, or neither happened in time (or poll failed).
enum class socket_wait { ready, stopping, timed_out };

// Waits for `events` on `sock` while also watching the stop pipe, so that no worker sits out a timeout
// once the server is told to stop. Readiness of the socket wins over the stop signal: bytes that have
// already arrived are still read.
inline socket_wait wait_socket(int sock, short events, int stop_fd, std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + timeout;
  for (;;) {
    pollfd fds[2] = {{sock, events, 0}, {stop_fd, POLLIN, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    const int n = ::poll(fds, 2, left.count() > 0 ? static_cast<int>(left.count()) : 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return socket_wait::timed_out;
    // An error or hang-up counts as ready: the next recv or send reports it properly.
    if (fds[0].revents != 0) return socket_wait::ready;
    if (fds[1].revents != 0) return socket_wait::stopping;
    if (n == 0) return socket_wait::timed_out;
  }
}

inline std::chrono::milliseconds to_milliseconds(std::time_t sec, std::time_t usec) {
  return std::chrono::milliseconds{static_cast<std::int64_t>(sec) * 1000 + static_cast<std::int64_t>(usec) / 1000};
}

inline void socket_address(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  if ((peer ? ::getpeername(sock, raw, &length) : ::getsockname(sock, raw, &length)) != 0) return;
  char host[NI_MAXHOST] = {};
  char service[NI_MAXSERV] = {};
  if (::getnameinfo(raw, length, host, sizeof host, service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return;
  ip = host;
  const std::string_view text{service};
  (void)std::from_chars(text.data(), text.data() + text.size(), port);
}

// One accepted connection as httplib's request parser sees it. It lives as long as the connection (not
// one request, as httplib's own stream does), so bytes a client sends ahead are kept for the next request.
class connection_stream final : public httplib::Stream {
 public:
  connection_stream(int sock, int stop_fd, std::chrono::milliseconds read_timeout,
                    std::chrono::milliseconds write_timeout)
      : sock_(sock), stop_fd_(stop_fd), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  using httplib::Stream::write;

  bool is_readable() const override {
    return begin_ < end_ || wait_socket(sock_, POLLIN, stop_fd_, read_timeout_) == socket_wait::ready;
  }
  bool is_writable() const override {
    return wait_socket(sock_, POLLOUT, stop_fd_, write_timeout_) == socket_wait::ready;
  }

  // httplib reads request lines one byte at a time, so reads are served from a buffer.
  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      if (!is_readable()) return -1;
      ssize_t n = 0;
      do {
        n = ::recv(sock_, buffer_, sizeof buffer_, 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const std::size_t count = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_ + begin_, count);
    begin_ += count;
    return static_cast<ssize_t>(count);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n = 0;
    do {
      // MSG_NOSIGNAL: a client that hung up must not kill the process with SIGPIPE.
      n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { socket_address(sock_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { socket_address(sock_, false, ip, port); }
  socket_t socket() const override { return sock_; }

  /// True when a request has begun to arrive; false on an idle timeout or once the server stops.
  bool wait_for_request(std::chrono::milliseconds idle_timeout) const {
    return begin_ < end_ || wait_socket(sock_, POLLIN, stop_fd_, idle_timeout) == socket_wait::ready;
  }

 private:
  int sock_;
  int stop_fd_;
  std::chrono::milliseconds read_timeout_;
  std::chrono::milliseconds write_timeout_;
  char buffer_[4096] = {};
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

// httplib::Server whose connections end as soon as stop() is called. httplib's own keep-alive loop lets
// an idle client hold its worker, and so stop(), for the whole keep-alive timeout; this class takes over
// the per-connection loop through the virtual hook httplib's SSLServer uses, and watches a stop pipe.
class stoppable_server final : public httplib::Server {
 public:
  stoppable_server() {
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) stop_pipe_[0] = stop_pipe_[1] = -1;
  }
  stoppable_server(const stoppable_server&) = delete;
  stoppable_server& operator=(const stoppable_server&) = delete;
  ~stoppable_server() override {
    for (const int fd : stop_pipe_)
      if (fd >= 0) ::close(fd);
  }

  bool valid() const noexcept { return stop_pipe_[0] >= 0; }

  /// Wakes every worker waiting on a connection (the pipe stays readable) and closes the listener.
  void stop_all() {
    if (!stopping_.exchange(true)) {
      const char byte = 1;
      if (::write(stop_pipe_[1], &byte, 1) < 0) {
        // One byte into an empty pipe does not fail; were it to, workers would still end at their idle timeout.
      }
    }
    stop();
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    // Nagle's delay would add tens of milliseconds to every small answer a client waits for.
    const int yes = 1;
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    bool ok = false;
    {
      connection_stream stream(sock, stop_pipe_[0], to_milliseconds(read_timeout_sec_, read_timeout_usec_),
                               to_milliseconds(write_timeout_sec_, write_timeout_usec_));
      const std::chrono::milliseconds idle{static_cast<std::int64_t>(keep_alive_timeout_sec_) * 1000};
      for (std::size_t left = keep_alive_max_count_; left > 0 && !stopping_.load(); --left) {
        if (!stream.wait_for_request(idle)) break;
        bool closed_by_client = false;
        ok = process_request(stream, left == 1 || stopping_.load(), closed_by_client, nullptr);
        if (!ok || closed_by_client) break;
      }
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> stopping_{false};
};

inline std::optional<http_method> emulator_method(std::string_view method) {
  if (method == "GET" || method == "HEAD") return http_method::get;
  if (method == "POST") return http_method::post;
  if (method == "PUT") return http_method::put;
  if (method == "DELETE") return http_method::delete_;
  return std::nullopt;
}

// httplib files the peer's and its own address among the request headers; they never came over the wire.
inline bool is_pseudo_header(std::string_view name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" || name == "LOCAL_PORT";
}

// The raw path without the query (which no route uses), with control bytes masked so that a request
// cannot forge extra log lines.
inline std::string loggable_path(std::string_view target) {
  std::string out{target.substr(0, target.find('?'))};
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

inline void copy_response(const http_response& from, httplib::Response& to) {
  to.status = from.status;
  const std::string* content_type = find_header(from.headers, "Content-Type");
  for (const auto& h : from.headers)
    if (!::apikeys::detail::iequals(h.name, "Content-Type")) to.set_header(h.name, h.value);
  // set_content always sends a Content-Type, so a bodiless answer (204, register's 201) skips it and
  // goes out with neither body nor type, as PROTOCOL.md section 3 requires.
  if (!from.body.empty() || content_type != nullptr)
    to.set_content(from.body, content_type ? content_type->c_str() : "application/octet-stream");
}

}  // namespace detail

/// Serves an emulator over plain HTTP on a thread of its own, so that a test or an example can point a
/// real HTTP transport at it: `base_url()` is the address to use as app_config::base_url, and the
/// emulator's location answer is set to it as well. Construction returns once connections are accepted;
/// stop() (or destruction) ends it within milliseconds, even while clients hold idle keep-alive
/// connections (a request already being answered is finished first).
///
/// Two ways to start one: the constructor throws std::runtime_error when the address cannot be bound;
/// `emulator_server::start` reports that as an error result instead and throws nothing of its own.
/// The emulator must outlive the server. Linux (and POSIX systems with pipe2). Thread safety: every
/// member may be called from any thread; stop() may be called concurrently with itself.
class emulator_server {
 public:
#if APIKEYS_HAS_EXCEPTIONS
  explicit emulator_server(emulator& emu, emulator_server_options options = {})
      : emulator_server(emu, std::move(options), no_throw{}) {
    if (!error_.empty()) throw std::runtime_error("apikeys emulator_server: " + error_);
  }
#endif

  /// A running server, or why it could not start (e.g. "cannot listen on 127.0.0.1 port 80").
  static result<std::unique_ptr<emulator_server>, std::string> start(emulator& emu,
                                                                      emulator_server_options options = {}) {
    std::unique_ptr<emulator_server> server{new emulator_server(emu, std::move(options), no_throw{})};
    if (!server->error_.empty()) return unexpected{std::move(server->error_)};
    return server;
  }

  emulator_server(const emulator_server&) = delete;
  emulator_server& operator=(const emulator_server&) = delete;
  ~emulator_server() { stop(); }

  /// "http://127.0.0.1:PORT" (an IPv6 host in brackets): what clients use as their base URL.
  const std::string& base_url() const noexcept { return base_url_; }
  int port() const noexcept { return port_; }
  /// False once stop() was called, or if the server failed after starting.
  bool running() const noexcept { return started_ && !listen_returned_.load(); }

  /// Stops accepting, ends every connection, and joins the server thread. Idempotent.
  void stop() {
    const std::lock_guard lock(stop_mutex_);
    if (!thread_.joinable()) return;
    server_->stop_all();
    thread_.join();
  }

 private:
  struct no_throw {};

  emulator_server(emulator& emu, emulator_server_options options, no_throw) : emu_(emu), options_(std::move(options)) {
    server_ = std::make_unique<detail::stoppable_server>();
    if (!server_->valid()) {
      error_ = "cannot create the stop pipe";
      return;
    }
    configure();
    if (!bind()) return;

    const bool ipv6 = options_.host.find(':') != std::string::npos;
    authority_ = (ipv6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(port_);
    base_url_ = "http://" + authority_;
    emu_.set_hostname(base_url_, "ws://" + authority_);

    thread_ = std::thread([this] {
      server_->listen_after_bind();
      listen_returned_.store(true);
    });
    // httplib's stop() does nothing until its accept loop has begun, so a stop() right after
    // construction would never end: wait for the loop (it starts at once; the bound is a safety net).
    for (int i = 0; i < 10'000 && !server_->is_running() && !listen_returned_.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    if (!server_->is_running() && !listen_returned_.load()) {
      // The thread still uses server_, which returning an error would destroy under it.
      std::fputs("apikeys emulator_server: the HTTP server neither started nor failed within 10 s\n", stderr);
      std::abort();
    }
    if (!server_->is_running()) {
      thread_.join();
      error_ = "the HTTP server stopped as soon as it started";
      return;
    }
    started_ = true;
  }

  void configure() {
    const std::size_t threads = options_.threads == 0 ? 1 : options_.threads;
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_->set_keep_alive_max_count(10000);
    server_->set_keep_alive_timeout(5);
    server_->set_payload_max_length(1 << 20);
    // httplib's default adds SO_REUSEPORT, which lets a second server bind a port that is in use and
    // silently share it; SO_REUSEADDR alone still allows a quick restart on the same port.
    server_->set_socket_options([this](socket_t sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listener_ = sock;
    });

    const auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
    // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 section 6.3), but
    // httplib would wait for one until its read timeout; curl -X POST sends exactly that. Such requests
    // are answered here, before httplib tries to read a body.
    server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))
        return httplib::Server::HandlerResponse::Unhandled;
      handle(req, res);
      return httplib::Server::HandlerResponse::Handled;
    });
    server_->Get(".*", handler);
    server_->Post(".*", handler);
    server_->Put(".*", handler);
    server_->Delete(".*", handler);
    server_->Patch(".*", handler);
    server_->Options(".*", handler);
  }

  bool bind() {
    if (options_.port == 0) {
      port_ = server_->bind_to_any_port(options_.host);
      if (port_ <= 0) {
        error_ = "cannot listen on " + options_.host;
        return false;
      }
    } else if (options_.port < 0 || options_.port > 65535 || !server_->bind_to_port(options_.host, options_.port)) {
      error_ = "cannot listen on " + options_.host + " port " + std::to_string(options_.port);
      return false;
    } else {
      port_ = options_.port;
    }
    // httplib listens with a backlog of 5, so a test suite connecting many clients at once overflows it
    // and the kernel drops connection attempts that are then retried a second later. Linux lets a second
    // listen() raise it.
    if (listener_ >= 0) ::listen(listener_, SOMAXCONN);
    return true;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    const auto start_time = std::chrono::steady_clock::now();
    const auto method = detail::emulator_method(req.method);
    http_response answer;
    if (!method) {
      answer = emu_.error_response(405, "", "method not allowed");
      answer.headers.push_back({"Allow", "GET, POST, PUT, DELETE"});
    } else {
      http_request request;
      request.method = *method;
      const std::string host = req.get_header_value("Host");
      request.url = "http://" + (host.empty() ? authority_ : host) + req.target;
      for (const auto& [name, value] : req.headers)
        if (!detail::is_pseudo_header(name)) request.headers.push_back({name, value});
      request.body = req.body;
      answer = emu_.send(request);
    }
    detail::copy_response(answer, res);
    if (options_.log) {
      const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start_time;
      options_.log(fmt::format("{} {} {} {:.3f}ms", req.method, detail::loggable_path(req.target), answer.status,
                               took.count()));
    }
  }

  emulator& emu_;
  emulator_server_options options_;
  std::unique_ptr<detail::stoppable_server> server_;
  socket_t listener_ = INVALID_SOCKET;
  int port_ = 0;
  std::string authority_;
  std::string base_url_;
  std::string error_;
  bool started_ = false;
  std::atomic<bool> listen_returned_{false};
  std::mutex stop_mutex_;
  std::thread thread_;
};

}  // namespace apikeys::testing

#endif  // APIKEYS_TESTING_EMULATOR_SERVER_HPP
