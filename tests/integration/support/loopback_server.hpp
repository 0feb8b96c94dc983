// Test helper: an httplib::Server (or SSLServer) on 127.0.0.1 and an ephemeral port, on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <sys/socket.h>

#include <httplib.h>

namespace apikeys_tests {

struct loopback_server_options {
  // httplib gives each keep-alive connection a worker until it closes, so the pool must outnumber the
  // connections a test keeps open at once.
  std::size_t threads = 16;
  // httplib's default of 5 would close a keep-alive connection every fifth request.
  std::size_t keep_alive_max_count = 100'000;
  std::chrono::seconds keep_alive_timeout{5};
  // Both set: serve https with this PEM certificate and key.
  std::string tls_cert_path;
  std::string tls_key_path;
};

/// Every request (GET, POST, PUT, DELETE, PATCH) on every path goes to one handler, which is called
/// on httplib's worker threads. Construction returns once the server accepts connections; destruction
/// wakes handlers parked in wait_for_stop(), stops the server and joins its thread.
class loopback_server {
 public:
  using handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  explicit loopback_server(handler h, loopback_server_options options = {})
      : server_(make_server(options)), https_(!options.tls_cert_path.empty()) {
    const std::size_t threads = options.threads;
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_->set_keep_alive_max_count(options.keep_alive_max_count);
    server_->set_keep_alive_timeout(options.keep_alive_timeout.count());
    // Like any production server; without it, the server's Nagle delay would hide the client's.
    server_->set_tcp_nodelay(true);
    server_->Get(".*", h);
    server_->Post(".*", h);
    server_->Put(".*", h);
    server_->Delete(".*", h);
    server_->Patch(".*", h);
    server_->set_socket_options([this](socket_t sock) {
      httplib::default_socket_options(sock);
      if (listener_ == INVALID_SOCKET) listener_ = sock;
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("loopback_server: cannot bind 127.0.0.1");
    // httplib listens with a backlog of 5, so a burst of connects (8 threads at once) overflows it and
    // the kernel drops SYNs that are then retried a second later. Linux lets a second listen() raise it.
    if (listener_ != INVALID_SOCKET) ::listen(listener_, SOMAXCONN);
    thread_ = std::thread([this] {
      server_->listen_after_bind();
      listen_returned_ = true;
    });
    // stop() is a no-op until the accept loop runs, so the destructor could otherwise hang.
    for (int i = 0; i < 5000 && !server_->is_running() && !listen_returned_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    if (!server_->is_running()) {
      if (!listen_returned_) {
        // The thread still uses server_, which unwinding would destroy under it.
        std::fputs("loopback_server: the server neither started nor failed within 5 s\n", stderr);
        std::abort();
      }
      thread_.join();
      throw std::runtime_error("loopback_server: the server did not start");
    }
  }

  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  ~loopback_server() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    stop_.notify_all();
    server_->stop();
    thread_.join();
  }

  int port() const noexcept { return port_; }

  /// `http[s]://127.0.0.1:<port>` followed by `target`.
  std::string url(std::string_view target = "/") const {
    return (https_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) + std::string{target};
  }

  /// For handlers that must outlast a client's timeout without holding up the end of the test: waits
  /// for `d` or until the server is being destroyed; true in the latter case.
  bool wait_for_stop(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mutex_);
    return stop_.wait_for(lock, d, [this] { return stopping_; });
  }

 private:
  static std::unique_ptr<httplib::Server> make_server(const loopback_server_options& options) {
    if (options.tls_cert_path.empty()) return std::make_unique<httplib::Server>();
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    auto server = std::make_unique<httplib::SSLServer>(options.tls_cert_path.c_str(), options.tls_key_path.c_str());
    if (!server->is_valid()) throw std::runtime_error("loopback_server: cannot load the TLS certificate or key");
    return server;
#else
    throw std::runtime_error("loopback_server: httplib was built without OpenSSL");
#endif
  }

  std::unique_ptr<httplib::Server> server_;
  bool https_ = false;
  socket_t listener_ = INVALID_SOCKET;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace apikeys_tests
