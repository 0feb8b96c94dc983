// apikeys::testing::emulator_server: serves an emulator over real HTTP or HTTPS (cpp-httplib) on its own thread.
#ifndef APIKEYS_TESTING_EMULATOR_SERVER_HPP
#define APIKEYS_TESTING_EMULATOR_SERVER_HPP

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
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
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

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
  /// Both set: serve HTTPS with this certificate (a PEM file: the server's certificate, then any
  /// intermediates) and this private key (a PEM file, unencrypted). Both empty: plain HTTP. Needs
  /// cpp-httplib built with OpenSSL support.
  std::string tls_cert_path;
  std::string tls_key_path;
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

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
struct ssl_ctx_deleter {
  void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;

struct ssl_deleter {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};

// An encrypted key file is refused: OpenSSL's default would prompt for a pass phrase on the terminal.
inline int refuse_pass_phrase(char*, int, int, void*) { return 0; }

// OpenSSL's reason for the failure on this thread (its first error: later ones only say where it
// surfaced), and an empty error queue afterwards: the queue is per thread, and a stale entry would
// confuse the next SSL_get_error there.
inline std::string take_openssl_reason() {
  const unsigned long code = ERR_peek_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? fmt::format(" (OpenSSL: {})", reason) : std::string{};
}

inline std::string unreadable_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return fmt::format("cannot read '{}': {}", path, std::strerror(errno));
  std::fclose(file);
  return {};
}

/// A server TLS context holding the certificate chain and key, or why they cannot be used.
inline result<ssl_ctx_ptr, std::string> make_tls_context(const std::string& cert_path, const std::string& key_path) {
  for (const std::string* path : {&cert_path, &key_path})
    if (std::string why = unreadable_file(*path); !why.empty()) return unexpected{std::move(why)};
  ERR_clear_error();
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_server_method())};
  if (!ctx) return unexpected{"cannot create a TLS context" + take_openssl_reason()};
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_default_passwd_cb(ctx.get(), refuse_pass_phrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_path.c_str()) != 1)
    return unexpected{fmt::format("no PEM certificate in '{}'{}", cert_path, take_openssl_reason())};
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_path.c_str(), SSL_FILETYPE_PEM) != 1)
    return unexpected{fmt::format("cannot use '{}' as the certificate's unencrypted PEM private key{}", key_path,
                                  take_openssl_reason())};
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return unexpected{fmt::format("the private key in '{}' does not belong to the certificate in '{}'{}", key_path,
                                  cert_path, take_openssl_reason())};
  return ctx;
}

// One accepted TLS connection as httplib's request parser sees it. The socket is non-blocking, so that
// every wait for the peer (the handshake included) goes through wait_socket and ends when the server
// stops; OpenSSL buffers what it has decrypted, so httplib's one-byte reads cost no system call.
class tls_connection_stream final : public httplib::Stream {
 public:
  tls_connection_stream(SSL* ssl, int sock, int stop_fd, std::chrono::milliseconds read_timeout,
                        std::chrono::milliseconds write_timeout)
      : ssl_(ssl), sock_(sock), stop_fd_(stop_fd), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  using httplib::Stream::write;

  /// False when the client gave up, spoke something other than TLS, or the server stopped.
  bool handshake() {
    for (;;) {
      const int r = SSL_accept(ssl_);
      if (r == 1) return true;
      if (!wait_for(r, read_timeout_)) return false;
    }
  }

  bool is_readable() const override {
    return SSL_pending(ssl_) > 0 || wait_socket(sock_, POLLIN, stop_fd_, read_timeout_) == socket_wait::ready;
  }
  bool is_writable() const override {
    return wait_socket(sock_, POLLOUT, stop_fd_, write_timeout_) == socket_wait::ready;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (size == 0) return 0;
    const int want = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
    for (;;) {
      const int n = SSL_read(ssl_, ptr, want);
      if (n > 0) return n;
      if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN) return 0;  // the client's close_notify
      if (!wait_for(n, read_timeout_)) return -1;
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (size == 0) return 0;
    const int want = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
    for (;;) {
      // Without SSL_MODE_ENABLE_PARTIAL_WRITE a success writes all of `want`; a retry after WANT_WRITE
      // must pass the same buffer, which this loop does.
      const int n = SSL_write(ssl_, ptr, want);
      if (n > 0) return n;
      if (!wait_for(n, write_timeout_)) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { socket_address(sock_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { socket_address(sock_, false, ip, port); }
  socket_t socket() const override { return sock_; }

  /// True when a request has begun to arrive; false on an idle timeout or once the server stops.
  bool wait_for_request(std::chrono::milliseconds idle_timeout) const {
    return SSL_pending(ssl_) > 0 || wait_socket(sock_, POLLIN, stop_fd_, idle_timeout) == socket_wait::ready;
  }

 private:
  // After an SSL call returned `r`: waits for what OpenSSL needs from the socket; false when the call
  // failed for good (or the wait did).
  bool wait_for(int r, std::chrono::milliseconds timeout) const {
    const int error = SSL_get_error(ssl_, r);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return false;
    }
    const short events = error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    return wait_socket(sock_, events, stop_fd_, timeout) == socket_wait::ready;
  }

  SSL* ssl_;
  int sock_;
  int stop_fd_;
  std::chrono::milliseconds read_timeout_;
  std::chrono::milliseconds write_timeout_;
};
#endif  // CPPHTTPLIB_OPENSSL_SUPPORT

// httplib::Server whose connections end as soon as stop() is called. httplib's own keep-alive loop lets
// an idle client hold its worker, and so stop(), for the whole keep-alive timeout; this class takes over
// the per-connection loop through the virtual hook httplib's SSLServer uses, and watches a stop pipe.
// For the same reason it does TLS itself rather than through SSLServer, whose loop is the same as Server's.
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

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  /// Serve HTTPS with this context; only before listening starts.
  void use_tls(ssl_ctx_ptr context) noexcept { tls_context_ = std::move(context); }
#endif

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
    const auto read_timeout = to_milliseconds(read_timeout_sec_, read_timeout_usec_);
    const auto write_timeout = to_milliseconds(write_timeout_sec_, write_timeout_usec_);
    bool ok = false;
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (tls_context_) {
      ok = serve_tls(sock, read_timeout, write_timeout);
    } else
#endif
    {
      connection_stream stream(sock, stop_pipe_[0], read_timeout, write_timeout);
      ok = serve(stream);
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  template <class Stream>
  bool serve(Stream& stream) {
    bool ok = false;
    const std::chrono::milliseconds idle{static_cast<std::int64_t>(keep_alive_timeout_sec_) * 1000};
    for (std::size_t left = keep_alive_max_count_; left > 0 && !stopping_.load(); --left) {
      if (!stream.wait_for_request(idle)) break;
      bool closed_by_client = false;
      ok = process_request(stream, left == 1 || stopping_.load(), closed_by_client, nullptr);
      if (!ok || closed_by_client) break;
    }
    return ok;
  }

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  bool serve_tls(socket_t sock, std::chrono::milliseconds read_timeout, std::chrono::milliseconds write_timeout) {
    const int flags = ::fcntl(sock, F_GETFL);
    if (flags < 0 || ::fcntl(sock, F_SETFL, flags | O_NONBLOCK) != 0) return false;
    const std::unique_ptr<SSL, ssl_deleter> ssl{SSL_new(tls_context_.get())};
    if (!ssl || SSL_set_fd(ssl.get(), sock) != 1) {
      ERR_clear_error();
      return false;
    }
    tls_connection_stream stream(ssl.get(), sock, stop_pipe_[0], read_timeout, write_timeout);
    if (!stream.handshake()) return false;
    const bool ok = serve(stream);
    // close_notify, once and without waiting for the client's: the socket is closed right after. A
    // client that already hung up makes this write fail, with SIGPIPE blocked (see emulator_server).
    (void)SSL_shutdown(ssl.get());
    ERR_clear_error();
    return ok;
  }

  ssl_ctx_ptr tls_context_;
#endif

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

/// Serves an emulator over HTTP, or HTTPS when options.tls_cert_path and tls_key_path are set, on a
/// thread of its own, so that a test or an example can point a real HTTP transport at it: `base_url()`
/// is the address to use as app_config::base_url, and the emulator's location answer (hostname, and
/// ws_hostname with ws:// or wss://) is set to it as well. Construction returns once connections are accepted;
/// stop() (or destruction) ends it within milliseconds, even while clients hold idle keep-alive
/// connections (a request already being answered is finished first).
///
/// Two ways to start one: the constructor throws std::runtime_error when the address cannot be bound;
/// `emulator_server::start` reports that as an error result instead and throws nothing of its own.
/// The emulator must outlive the server. Linux (and POSIX systems with pipe2). When cpp-httplib has
/// OpenSSL support this header calls libssl itself, so libssl must be linked (the apikeys::httplib target
/// does it). Thread safety: every member may be called from any thread; stop() may be called
/// concurrently with itself.
class emulator_server {
 public:
#if APIKEYS_HAS_EXCEPTIONS
  explicit emulator_server(emulator& emu, emulator_server_options options = {})
      : emulator_server(emu, std::move(options), no_throw{}) {
    if (!error_.empty()) throw std::runtime_error("apikeys emulator_server: " + error_);
  }
#endif

  /// A running server, or why it could not start (e.g. "cannot listen on 127.0.0.1 port 80", or a TLS
  /// certificate or key that cannot be read or used).
  static result<std::unique_ptr<emulator_server>, std::string> start(emulator& emu,
                                                                      emulator_server_options options = {}) {
    std::unique_ptr<emulator_server> server{new emulator_server(emu, std::move(options), no_throw{})};
    if (!server->error_.empty()) return unexpected{std::move(server->error_)};
    return server;
  }

  emulator_server(const emulator_server&) = delete;
  emulator_server& operator=(const emulator_server&) = delete;
  ~emulator_server() { stop(); }

  /// "http://127.0.0.1:PORT", or "https://..." with TLS (an IPv6 host in brackets): what clients use as
  /// their base URL.
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
    if (!configure_tls()) return;
    configure();
    if (!bind()) return;

    const bool ipv6 = options_.host.find(':') != std::string::npos;
    authority_ = (ipv6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(port_);
    base_url_ = scheme_ + "://" + authority_;
    emu_.set_hostname(base_url_, (tls_ ? "wss://" : "ws://") + authority_);

    thread_ = std::thread([this] {
      if (tls_) {
        // OpenSSL writes to the socket with write(), which raises SIGPIPE when a client has hung up and
        // would kill the process. httplib's workers are started from this thread and inherit its mask;
        // a blocked SIGPIPE stays pending in the worker, harmlessly, and the write fails with EPIPE.
        sigset_t pipe_signal;
        sigemptyset(&pipe_signal);
        sigaddset(&pipe_signal, SIGPIPE);
        ::pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
      }
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

  bool configure_tls() {
    if (options_.tls_cert_path.empty() && options_.tls_key_path.empty()) return true;
    if (options_.tls_cert_path.empty() || options_.tls_key_path.empty()) {
      error_ = "TLS needs both a certificate and a private key";
      return false;
    }
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    auto context = detail::make_tls_context(options_.tls_cert_path, options_.tls_key_path);
    if (!context) {
      error_ = std::move(context).error();
      return false;
    }
    server_->use_tls(std::move(context).value());
    tls_ = true;
    scheme_ = "https";
    return true;
#else
    error_ = "TLS needs cpp-httplib built with OpenSSL support";
    return false;
#endif
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
      request.url = scheme_ + "://" + (host.empty() ? authority_ : host) + req.target;
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
  bool tls_ = false;
  std::string scheme_ = "http";
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
