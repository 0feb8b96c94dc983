// apikeys::testing::emulator_server: serves an emulator over real HTTP or HTTPS (cpp-httplib) on its own thread.
#ifndef APIKEYS_TESTING_EMULATOR_SERVER_HPP
#define APIKEYS_TESTING_EMULATOR_SERVER_HPP

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#include "../http.hpp"
#include "../log.hpp"
#include "../result.hpp"
#include "../version.hpp"
#include "emulator.hpp"

// ThreadSanitizer's runtime, when the program is built with it (see detail::unrecorded_descriptor_look).
#if defined(__SANITIZE_THREAD__)
#define APIKEYS_DETAIL_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define APIKEYS_DETAIL_THREAD_SANITIZER 1
#endif
#endif
#ifdef APIKEYS_DETAIL_THREAD_SANITIZER
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#endif

namespace APIKEYS_NAMESPACE::testing {

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
  /// Told of each answered request as a `response` event (log.hpp: method, path without the query, status,
  /// duration, body size; info, or warn for a 4xx or 5xx), from the worker thread, the same events and
  /// line format (fmt_log_sink) as a client's. A method the emulator does not serve is reported as a GET
  /// with `why` naming it. Off by default.
  log_sink logger{};
  /// Both set: serve HTTPS with this certificate (a PEM file: the server's certificate, then any
  /// intermediates) and this private key (a PEM file, unencrypted). Both empty: plain HTTP. Needs
  /// cpp-httplib built with OpenSSL support.
  std::string tls_cert_path;
  std::string tls_key_path;
};

namespace detail {

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
struct ssl_ctx_deleter {
  void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;

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

// The OpenSSL context of an httplib::SSLServer: tls_context() from cpp-httplib 0.31 (an untyped handle,
// the SSL_CTX with the OpenSSL backend), ssl_context() before (deprecated from 0.31, gone from 0.43). A
// template, so that the tests are substitutions.
template <class Server>
SSL_CTX* openssl_context(Server& server) {
  if constexpr (requires { server.tls_context(); })
    return static_cast<SSL_CTX*>(server.tls_context());
  else
    return server.ssl_context();
}

// Adjusts the context an httplib::SSLServer made. TLS 1.2 as the floor, which cpp-httplib sets itself
// only from 0.16.1. And a client's end of stream without close_notify read as a plain end: stop() ends
// the connections by shutting their reading side (see end_connections), and OpenSSL 3 would answer that
// end with a fatal alert, so that a client that never spoke would get bytes instead of a quiet close.
inline void adjust_tls_context(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
}

/// An httplib::SSLServer with this certificate chain and key, or why they cannot be used. They are checked
/// first with OpenSSL directly, for a precise reason (SSLServer only says it is not valid) and so that an
/// encrypted key is refused rather than asked for on the terminal.
inline result<std::unique_ptr<httplib::Server>, std::string> make_tls_server(const std::string& cert_path,
                                                                             const std::string& key_path) {
  if (auto checked = make_tls_context(cert_path, key_path); !checked) return unexpected{std::move(checked).error()};
  auto server = std::make_unique<httplib::SSLServer>(cert_path.c_str(), key_path.c_str());
  if (!server->is_valid())
    return unexpected{fmt::format("cannot load '{}' and '{}' into the HTTPS server{}", cert_path, key_path,
                                  take_openssl_reason())};
  adjust_tls_context(openssl_context(*server));
  ERR_clear_error();
  return std::unique_ptr<httplib::Server>{std::move(server)};
}
#endif  // CPPHTTPLIB_OPENSSL_SUPPORT

// Whether a socket's own address is one a listener bound to `listener` accepts on: the same port, and the
// same address unless the listener's is the wildcard (then a connection's own address is a concrete one).
inline bool accepted_on(const sockaddr_storage& listener, const sockaddr_storage& local) noexcept {
  if (listener.ss_family != local.ss_family) return false;
  if (listener.ss_family == AF_INET) {
    const auto& l = reinterpret_cast<const sockaddr_in&>(listener);
    const auto& s = reinterpret_cast<const sockaddr_in&>(local);
    return l.sin_port == s.sin_port &&
           (l.sin_addr.s_addr == htonl(INADDR_ANY) || l.sin_addr.s_addr == s.sin_addr.s_addr);
  }
  if (listener.ss_family == AF_INET6) {
    const auto& l = reinterpret_cast<const sockaddr_in6&>(listener);
    const auto& s = reinterpret_cast<const sockaddr_in6&>(local);
    return l.sin6_port == s.sin6_port &&
           (IN6_IS_ADDR_UNSPECIFIED(&l.sin6_addr) || IN6_ARE_ADDR_EQUAL(&l.sin6_addr, &s.sin6_addr));
  }
  return false;
}

// The peer ports of the connections whose answer is under way, from the emulator's handler (the request
// body has been read by then) to httplib's logger. end_connections leaves them alone: cpp-httplib before
// 0.20 writes only while the peer can still be read from. The logger runs once the answer is written,
// or from 0.34 (whose writes no longer check) just before.
class answering_ports {
 public:
  void add(int port) {
    const std::lock_guard lock(mutex_);
    ports_.insert(port);
  }
  // httplib also logs the answers it makes itself (a malformed request, say), which were never added.
  void remove(int port) {
    const std::lock_guard lock(mutex_);
    if (const auto it = ports_.find(port); it != ports_.end()) ports_.erase(it);
  }
  bool contains(int port) const {
    const std::lock_guard lock(mutex_);
    return ports_.count(port) != 0;
  }

 private:
  mutable std::mutex mutex_;
  std::multiset<int> ports_;
};

inline int port_of(const sockaddr_storage& address) noexcept {
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  return -1;
}

// While it lives, ThreadSanitizer does not record this thread's accesses. ThreadSanitizer models a
// descriptor as memory that accept() and close() write and every call on it reads, so looking at the
// descriptors that cpp-httplib's threads accept and close is a race in its model, with no lock in
// between, and clang 14's runtime can even crash while building that report. Nothing is shared but the
// kernel's descriptor table, and end_reading_if_idle checks a reused number through its own duplicate.
class unrecorded_descriptor_look {
 public:
#ifdef APIKEYS_DETAIL_THREAD_SANITIZER
  unrecorded_descriptor_look() noexcept {
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
  }
  ~unrecorded_descriptor_look() {
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
  }
#else
  unrecorded_descriptor_look() noexcept = default;
  ~unrecorded_descriptor_look() = default;
#endif
  unrecorded_descriptor_look(const unrecorded_descriptor_look&) = delete;
  unrecorded_descriptor_look& operator=(const unrecorded_descriptor_look&) = delete;
};

// If descriptor `fd` is a TCP connection accepted on `listener` and its request is not being answered,
// ends its reading side. The socket is pinned by a duplicate descriptor before it is looked at, so that a
// worker closing `fd` meanwhile, and the number going to another socket of the process, cannot make this
// shut the wrong one.
inline void end_reading_if_idle(int fd, const sockaddr_storage& listener, const answering_ports& answering) {
  [[maybe_unused]] const unrecorded_descriptor_look unrecorded;
  struct stat info {};
  // Only sockets are duplicated: closing a duplicate of a file would drop the process's locks on it.
  if (::fstat(fd, &info) != 0 || !S_ISSOCK(info.st_mode)) return;
  const int pinned = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (pinned < 0) return;
  int type = 0;
  socklen_t type_size = sizeof type;
  sockaddr_storage local{};
  socklen_t local_size = sizeof local;
  sockaddr_storage peer{};
  socklen_t peer_size = sizeof peer;
  if (::getsockopt(pinned, SOL_SOCKET, SO_TYPE, &type, &type_size) == 0 && type == SOCK_STREAM &&
      ::getsockname(pinned, reinterpret_cast<sockaddr*>(&local), &local_size) == 0 &&
      // The listener has no peer; a connection accepted from it does.
      ::getpeername(pinned, reinterpret_cast<sockaddr*>(&peer), &peer_size) == 0 && accepted_on(listener, local) &&
      !answering.contains(port_of(peer)))
    ::shutdown(pinned, SHUT_RD);
  ::close(pinned);
}

/// Ends the reading side of every connection this process accepted on `listener`, but those whose
/// request is being answered. cpp-httplib offers no way to reach the connections its workers hold, and a
/// worker waits on one for up to its read timeout (in a TLS handshake, or a request that stopped
/// halfway) or its keep-alive timeout (between requests, before cpp-httplib 0.18.1), seconds either way.
/// After this the wait sees the end of the stream at once and the connection ends. The descriptors are
/// found in /proc/self/fd, or where there is none by trying each number up to the limit on open files.
inline void end_connections(const sockaddr_storage& listener, const answering_ports& answering) {
  if (listener.ss_family != AF_INET && listener.ss_family != AF_INET6) return;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name{entry->d_name};
      int fd = -1;
      const auto parsed = std::from_chars(name.data(), name.data() + name.size(), fd);
      if (parsed.ec == std::errc{} && parsed.ptr == name.data() + name.size() && fd != own)
        end_reading_if_idle(fd, listener, answering);
    }
    ::closedir(dir);
    return;
  }
  rlimit files{};
  const rlim_t limit = ::getrlimit(RLIMIT_NOFILE, &files) == 0 ? std::min<rlim_t>(files.rlim_cur, 1 << 16) : 1024;
  for (rlim_t fd = 0; fd < limit; ++fd) end_reading_if_idle(static_cast<int>(fd), listener, answering);
}

inline std::optional<http_method> emulator_method(std::string_view method) {
  if (method == "GET" || method == "HEAD") return http_method::get;
  if (method == "POST") return http_method::post;
  if (method == "PUT") return http_method::put;
  if (method == "DELETE") return http_method::delete_;
  return std::nullopt;
}

// cpp-httplib before 0.27 files the peer's and its own address among the request headers; they never came
// over the wire.
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
/// ws_hostname with ws:// or wss://) is set to it as well; both end with the emulator's path prefix, if
/// it has one (emulator_options::path_prefix). Construction returns once connections are accepted;
/// stop() (or destruction) ends it within milliseconds, even while clients hold idle keep-alive
/// connections (a request already being answered is finished first).
///
/// Two ways to start one: the constructor throws std::runtime_error when the address cannot be bound;
/// `emulator_server::start` reports that as an error result instead and throws nothing of its own.
/// The emulator must outlive the server. Linux (other POSIX systems work, with a slower stop()). Works
/// with cpp-httplib 0.11.4 to 0.53.1 through its public API only. When cpp-httplib has OpenSSL support
/// this header calls libssl itself, so libssl must be linked (the apikeys::httplib target does it).
/// Requests are answered one at a time per connection: a client that sends a request before the answer
/// to its previous one (HTTP pipelining) may lose the later ones, as cpp-httplib drops what it read
/// ahead. Header values reach the emulator percent-decoded with cpp-httplib before 0.44, whose parser
/// decodes them, and as sent from 0.44 on. Thread safety: every member may be called from any thread; stop() may be called concurrently
/// with itself.
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

  /// "http://127.0.0.1:PORT", or "https://..." with TLS (an IPv6 host in brackets), followed by the
  /// emulator's path prefix ("http://127.0.0.1:PORT/realm"): what clients use as their base URL.
  const std::string& base_url() const noexcept { return base_url_; }
  int port() const noexcept { return port_; }
  /// False once stop() was called, or if the server failed after starting.
  bool running() const noexcept { return started_ && !listen_returned_.load(); }

  /// Stops accepting, ends every connection, and joins the server thread. Idempotent.
  void stop() {
    const std::lock_guard lock(stop_mutex_);
    if (!thread_.joinable()) return;
    stopping_.store(true);
    // Idle connections end before the listener closes, so that their workers see the end of the stream
    // rather than the closed listener: cpp-httplib 0.17.3 to 0.19 follow the latter on TLS with a
    // close_notify exchange that waits in steps of 100 ms for a client that is not reading.
    detail::end_connections(address_, answering_);
    server_->stop();
    // With the listener closed, a worker ends its connection after the answer under way, which
    // end_connections spares. A connection accepted just before the listener closed may reach its
    // worker after a pass, and an answer may end, so the passes go on until the workers are done.
    while (!wait_for_listen_end(std::chrono::milliseconds{10})) detail::end_connections(address_, answering_);
    thread_.join();
  }

 private:
  struct no_throw {};

  emulator_server(emulator& emu, emulator_server_options options, no_throw) : emu_(emu), options_(std::move(options)) {
    if (!make_server()) return;
    configure();
    if (!bind()) return;

    const bool ipv6 = options_.host.find(':') != std::string::npos;
    authority_ = (ipv6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(port_);
    emu_.set_hostname(scheme_ + "://" + authority_, (tls_ ? "wss://" : "ws://") + authority_);
    base_url_ = emu_.hostname();

    thread_ = std::thread([this] {
      // Writing to a client that has hung up raises SIGPIPE, which kills the process unless ignored:
      // httplib writes with send() without MSG_NOSIGNAL, and OpenSSL with write(). httplib::Server's
      // constructor ignores SIGPIPE for the whole process, but the program may have set it back since.
      // httplib's workers are started from this thread and inherit its mask; a blocked SIGPIPE stays
      // pending in the worker, harmlessly, and the write fails with EPIPE.
      sigset_t pipe_signal;
      sigemptyset(&pipe_signal);
      sigaddset(&pipe_signal, SIGPIPE);
      ::pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
      server_->listen_after_bind();
      {
        const std::lock_guard lock(listen_end_mutex_);
        listen_returned_.store(true);
      }
      listen_end_.notify_all();
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

  bool make_server() {
    if (options_.tls_cert_path.empty() && options_.tls_key_path.empty()) {
      server_ = std::make_unique<httplib::Server>();
      return true;
    }
    if (options_.tls_cert_path.empty() || options_.tls_key_path.empty()) {
      error_ = "TLS needs both a certificate and a private key";
      return false;
    }
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    auto server = detail::make_tls_server(options_.tls_cert_path, options_.tls_key_path);
    if (!server) {
      error_ = std::move(server).error();
      return false;
    }
    server_ = std::move(server).value();
    tls_ = true;
    scheme_ = "https";
    return true;
#else
    error_ = "TLS needs cpp-httplib built with OpenSSL support";
    return false;
#endif
  }

  /// True once the server thread's listen has returned (its workers are joined by then).
  bool wait_for_listen_end(std::chrono::milliseconds timeout) {
    std::unique_lock lock(listen_end_mutex_);
    return listen_end_.wait_for(lock, timeout, [this] { return listen_returned_.load(); });
  }

  void configure() {
    const std::size_t threads = options_.threads == 0 ? 1 : options_.threads;
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_->set_keep_alive_max_count(10000);
    server_->set_keep_alive_timeout(5);
    server_->set_payload_max_length(1 << 20);
    // Nagle's delay would add tens of milliseconds to every small answer a client waits for. (httplib
    // before 0.40 sets it on the listener only, which Linux copies to the connections accepted from it.)
    server_->set_tcp_nodelay(true);
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
    server_->set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const bool from_emulator = std::exchange(answered_on_this_thread(), false);
      if (stopping_.load()) {
        // The connection ends after this answer; the client should not try to reuse it.
        if (res.get_header_value("Connection") != "close") {
          res.headers.erase("Keep-Alive");
          res.set_header("Connection", "close");
        }
      } else if (from_emulator && res.status >= 400 && req.get_header_value("Connection") != "close") {
        // From cpp-httplib 0.28 every answer of 400 or more says Connection: close, though the server
        // keeps the connection open; the emulator's errors are ordinary answers, and the connection stays
        // usable as with earlier versions (and App Services). httplib's own error answers, for requests
        // it could not read, never pass through handle() and keep their close.
        res.headers.erase("Connection");
      }
    });
    server_->set_logger(
        [this](const httplib::Request& req, const httplib::Response&) { answering_.remove(req.remote_port); });
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
    if (listener_ >= 0) {
      ::listen(listener_, SOMAXCONN);
      // stop() finds the connections accepted on it by this address.
      socklen_t size = sizeof address_;
      if (::getsockname(listener_, reinterpret_cast<sockaddr*>(&address_), &size) != 0) address_ = {};
    }
    return true;
  }

  // Set by handle() for the post-routing handler, which httplib calls next on the same thread for the
  // same request.
  static bool& answered_on_this_thread() noexcept {
    static thread_local bool answered = false;
    return answered;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    answering_.add(req.remote_port);
    answered_on_this_thread() = true;
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
    const log_level level = answer.status >= 400 ? log_level::warn : log_level::info;
    if (options_.logger.enabled(level)) {
      const std::string route = detail::loggable_path(req.target);
      std::string why;
      if (!method) why = "method not allowed: " + detail::loggable_path(std::string_view{req.method}.substr(0, 16));
      log_event e;
      e.kind = log_event_kind::response;
      e.level = level;
      e.method = method.value_or(http_method::get);
      e.route = route;
      e.status = answer.status;
      e.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_time);
      e.body_size = answer.body.size();
      e.why = why;
      options_.logger.write(e);
    }
    if (options_.log) {
      const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start_time;
      options_.log(fmt::format("{} {} {} {:.3f}ms", req.method, detail::loggable_path(req.target), answer.status,
                               took.count()));
    }
  }

  emulator& emu_;
  emulator_server_options options_;
  std::unique_ptr<httplib::Server> server_;
  socket_t listener_ = INVALID_SOCKET;
  sockaddr_storage address_{};
  detail::answering_ports answering_;
  int port_ = 0;
  bool tls_ = false;
  std::string scheme_ = "http";
  std::string authority_;
  std::string base_url_;
  std::string error_;
  bool started_ = false;
  std::atomic<bool> listen_returned_{false};
  std::atomic<bool> stopping_{false};
  std::mutex listen_end_mutex_;
  std::condition_variable listen_end_;
  std::mutex stop_mutex_;
  std::thread thread_;
};

}  // namespace apikeys::testing

#endif  // APIKEYS_TESTING_EMULATOR_SERVER_HPP
