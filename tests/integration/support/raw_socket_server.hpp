// Test helper: a bare TCP server on 127.0.0.1 whose script sees the exact request bytes and may misbehave.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace apikeys_tests {

namespace detail {
inline int loopback_listener(int backlog) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("raw_socket_server: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      (backlog > 0 && ::listen(fd, backlog) != 0)) {
    ::close(fd);
    throw std::runtime_error("raw_socket_server: cannot bind 127.0.0.1");
  }
  return fd;
}

inline int local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("raw_socket_server: getsockname() failed");
  return ntohs(addr.sin_port);
}
}  // namespace detail

/// A port on 127.0.0.1 that nothing listens on: bound by the kernel's choice, then released.
inline int unused_loopback_port() {
  const int fd = detail::loopback_listener(0);
  const int port = detail::local_port(fd);
  ::close(fd);
  return port;
}

/// One accepted connection, as a script sees it.
class raw_connection {
 public:
  explicit raw_connection(int fd) noexcept : fd_(fd) {}

  /// The request's bytes as they came: the head through the blank line, then Content-Length bytes of
  /// body. Shorter when the peer closes or `timeout` passes first; empty on a closed connection.
  std::string read_request(std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string data;
    std::size_t wanted = std::string::npos;
    while (data.size() < wanted) {
      if (wanted == std::string::npos) {
        const auto head_end = data.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          wanted = head_end + 4 + content_length(std::string_view{data}.substr(0, head_end));
          continue;
        }
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[16384];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      data.append(buffer, static_cast<std::size_t>(n));
    }
    return data;
  }

  bool write(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

 private:
  static std::size_t content_length(std::string_view head) {
    std::size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
      pos += 2;
      const auto line = head.substr(pos, head.find("\r\n", pos) - pos);
      constexpr std::string_view name = "content-length:";
      if (line.size() < name.size()) continue;
      bool match = true;
      for (std::size_t i = 0; i < name.size(); ++i)
        match = match && (line[i] | 0x20) == name[i];
      if (match) return std::stoul(std::string{line.substr(name.size())});
    }
    return 0;
  }

  int fd_;
};

/// Accepts connections one at a time and runs the script on each; the connection is closed when the
/// script returns. The destructor stops accepting within ~20 ms and joins (a running script is waited
/// for, so scripts must be bounded).
class raw_socket_server {
 public:
  using script = std::function<void(raw_connection&)>;

  explicit raw_socket_server(script s)
      : listener_(detail::loopback_listener(16)), port_(detail::local_port(listener_)) {
    thread_ = std::thread([this, s = std::move(s)] {
      while (!stopping_) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) continue;
        ++accepted_;
        raw_connection connection(fd);
        s(connection);
        ::close(fd);
      }
    });
  }

  raw_socket_server(const raw_socket_server&) = delete;
  raw_socket_server& operator=(const raw_socket_server&) = delete;

  ~raw_socket_server() {
    stopping_ = true;
    thread_.join();
    ::close(listener_);
  }

  int port() const noexcept { return port_; }
  std::string url(std::string_view target = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string{target};
  }
  std::size_t accepted() const noexcept { return accepted_; }

 private:
  int listener_;
  int port_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
};

}  // namespace apikeys_tests
