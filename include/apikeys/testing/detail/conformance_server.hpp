// apikeys::testing::detail::conformance_server: a scriptable HTTP/1.1 server on 127.0.0.1 that records every byte.
#ifndef APIKEYS_TESTING_DETAIL_CONFORMANCE_SERVER_HPP
#define APIKEYS_TESTING_DETAIL_CONFORMANCE_SERVER_HPP

#include <arpa/inet.h>
#include <fcntl.h>
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
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../../http.hpp"
#include "../../result.hpp"
#include "../../version.hpp"

namespace APIKEYS_NAMESPACE::testing::detail {

/// One request as it arrived.
struct received_request {
  std::size_t connection = 0;         ///< which accepted connection carried it, from 1 in accept order
  std::string raw;                    ///< every byte of it as it arrived: head, then body (chunk framing included)
  std::string method;
  std::string target;
  std::string version;
  std::vector<http_header> headers;   ///< in arrival order; names as sent, values without surrounding blanks
  std::string body;                   ///< the body, chunk framing removed
  bool chunked = false;               ///< it came with Transfer-Encoding: chunked
};

/// How the server answers one request.
struct scripted_reply {
  int status = 200;
  std::vector<http_header> headers;  ///< written as given; Content-Length is added unless present (or 1xx/204/304)
  std::string body;
  std::chrono::milliseconds delay{0};        ///< stall this long before answering; cut short when the server stops
  std::size_t cut_after = std::string::npos; ///< send only this many body bytes, then close the connection
  bool close = false;                        ///< say Connection: close and close after answering
  bool drop = false;                         ///< close after answering without saying so beforehand
  bool hang_up = false;                      ///< close without answering at all
  std::chrono::milliseconds trickle{0};      ///< send the body one byte at a time, this long apart
};

constexpr std::string_view conformance_reason(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

enum class parse_state { incomplete, complete, bad };

constexpr std::string_view trim_blanks(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

/// Reads the head of a request: request line and header lines. False when it is not HTTP.
inline bool parse_request_head(std::string_view head, received_request& out) {
  std::size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1) return false;
  out.method = std::string{line.substr(0, sp1)};
  out.target = std::string{line.substr(sp1 + 1, sp2 - sp1 - 1)};
  out.version = std::string{line.substr(sp2 + 1)};
  while (line_end != std::string_view::npos && line_end + 2 < head.size()) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string_view header = head.substr(start, line_end == std::string_view::npos ? line_end : line_end - start);
    const std::size_t colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0 || header.front() == ' ' || header.front() == '\t') return false;
    out.headers.push_back({std::string{header.substr(0, colon)}, std::string{trim_blanks(header.substr(colon + 1))}});
  }
  return true;
}

/// Parses one request from the front of `buffer`. On `complete`, `out` holds it and `consumed` says how
/// many bytes it took; `head_done` tells whether the head has arrived whatever the result.
inline parse_state parse_request(std::string_view buffer, received_request& out, std::size_t& consumed, bool& head_done) {
  constexpr std::size_t max_head = 64 * 1024;
  const std::size_t head_end = buffer.find("\r\n\r\n");
  head_done = head_end != std::string_view::npos;
  if (!head_done) return buffer.size() > max_head ? parse_state::bad : parse_state::incomplete;
  received_request request;
  if (!parse_request_head(buffer.substr(0, head_end + 2), request)) return parse_state::bad;

  std::size_t pos = head_end + 4;
  const std::string* encoding = find_header(request.headers, "Transfer-Encoding");
  if (encoding != nullptr && ::apikeys::detail::iequals(trim_blanks(*encoding), "chunked")) {
    request.chunked = true;
    for (;;) {
      const std::size_t size_end = buffer.find("\r\n", pos);
      if (size_end == std::string_view::npos) return parse_state::incomplete;
      std::string_view size_text = buffer.substr(pos, size_end - pos);
      size_text = trim_blanks(size_text.substr(0, size_text.find(';')));
      std::size_t size = 0;
      const auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
      if (ec != std::errc{} || end != size_text.data() + size_text.size()) return parse_state::bad;
      pos = size_end + 2;
      if (size == 0) {
        for (;;) {  // trailers, up to the blank line
          const std::size_t trailer_end = buffer.find("\r\n", pos);
          if (trailer_end == std::string_view::npos) return parse_state::incomplete;
          const bool blank = trailer_end == pos;
          pos = trailer_end + 2;
          if (blank) break;
        }
        break;
      }
      if (buffer.size() < pos + size + 2) return parse_state::incomplete;
      request.body.append(buffer.substr(pos, size));
      if (buffer.substr(pos + size, 2) != "\r\n") return parse_state::bad;
      pos += size + 2;
    }
  } else if (const std::string* length = find_header(request.headers, "Content-Length")) {
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), size);
    if (ec != std::errc{} || end != length->data() + length->size()) return parse_state::bad;
    if (buffer.size() - pos < size) return parse_state::incomplete;
    request.body.assign(buffer.substr(pos, size));
    pos += size;
  }
  request.raw.assign(buffer.substr(0, pos));
  consumed = pos;
  out = std::move(request);
  return parse_state::complete;
}

/// A plain HTTP/1.1 server on 127.0.0.1 and an ephemeral port, for testing transports: it records every
/// request byte for byte, counts the connections it accepted, and answers each request as a handler
/// script says (a status, headers and body, after a stall, or cut off part way through the body).
/// Keep-alive connections are served until the client closes them; any number may be open at once.
///
/// One thread serves everything, so a stalling reply holds up other connections: the scripts of the
/// conformance suite send one request at a time. The handler runs on that thread and should depend only
/// on the request it is given (test state it touches needs its own synchronization). Every wait is
/// bounded, and destruction wakes any stall, closes every connection and joins the thread within
/// milliseconds. Linux (pipe2, accept4). Thread safety: the public members may be called from any thread.
class conformance_server {
 public:
  using handler = std::function<scripted_reply(const received_request&)>;

  /// A running server, or why it could not start. Throws nothing of its own.
  static result<std::unique_ptr<conformance_server>, std::string> start(handler h) {
    std::unique_ptr<conformance_server> server{new conformance_server(std::move(h))};
    if (!server->error_.empty()) return unexpected{std::move(server->error_)};
    return server;
  }

  conformance_server(const conformance_server&) = delete;
  conformance_server& operator=(const conformance_server&) = delete;

  ~conformance_server() {
    if (thread_.joinable()) {
      const char byte = 1;
      // The pipe is never drained, so one byte keeps it readable for every later poll.
      while (::write(stop_pipe_[1], &byte, 1) < 0 && errno == EINTR) {
      }
      thread_.join();
    }
    for (const int fd : {listener_, stop_pipe_[0], stop_pipe_[1]})
      if (fd >= 0) ::close(fd);
  }

  int port() const noexcept { return port_; }
  /// "http://127.0.0.1:PORT".
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  /// base_url() followed by `target`, which starts with '/'.
  std::string url(std::string_view target) const { return base_url() + std::string{target}; }

  /// Connections accepted so far.
  std::size_t accepted() const noexcept { return accepted_.load(); }

  /// Every complete request received so far, in order.
  std::vector<received_request> requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t request_count() const {
    const std::lock_guard lock(mutex_);
    return requests_.size();
  }

 private:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds write_limit{5000};

  struct connection {
    int fd = -1;
    std::size_t index = 0;
    std::string buffer;
    bool continued = false;  // a 100 Continue went out for the request being read
  };

  explicit conformance_server(handler h) : handler_(std::move(h)) {
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
      stop_pipe_[0] = stop_pipe_[1] = -1;
      error_ = "cannot create the stop pipe";
      return;
    }
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, SOMAXCONN) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      error_ = "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  bool stopping() const {
    pollfd p{stop_pipe_[0], POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  // Waits `d`, or less when the server stops; true when it stops.
  bool stall(std::chrono::milliseconds d) const {
    const auto deadline = clock::now() + d;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0) return false;
      pollfd p{stop_pipe_[0], POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
  }

  bool send_all(int fd, std::string_view bytes) const {
    const auto deadline = clock::now() + write_limit;
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0) return false;
      pollfd fds[2] = {{fd, POLLOUT, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(left)) < 0 && errno != EINTR) return false;
      if (fds[1].revents != 0) return false;
    }
    return true;
  }

  void run() {
    std::vector<connection> connections;
    while (!stopping()) {
      std::vector<pollfd> fds;
      fds.push_back({stop_pipe_[0], POLLIN, 0});
      fds.push_back({listener_, POLLIN, 0});
      for (const auto& c : connections) fds.push_back({c.fd, POLLIN, 0});
      const int n = ::poll(fds.data(), fds.size(), 100);
      if (n < 0 && errno != EINTR) break;
      if (n <= 0) continue;
      if (fds[0].revents != 0) break;
      // Readable connections first: those in `fds` are the ones before any accepted below.
      std::vector<std::size_t> closed;
      for (std::size_t i = 0; i < connections.size(); ++i)
        if (fds[i + 2].revents != 0 && !serve(connections[i])) closed.push_back(i);
      for (auto it = closed.rbegin(); it != closed.rend(); ++it) {
        ::close(connections[*it].fd);
        connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(*it));
      }
      if (fds[1].revents != 0) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
          // Nagle's delay would add tens of milliseconds to every small answer a client waits for.
          const int yes = 1;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
          connections.push_back(connection{fd, accepted_.fetch_add(1) + 1, {}, false});
        }
      }
    }
    for (const auto& c : connections) ::close(c.fd);
  }

  // Reads what arrived and answers every complete request; false when the connection is to be closed.
  bool serve(connection& c) {
    char chunk[65536];
    const ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) return false;
    c.buffer.append(chunk, static_cast<std::size_t>(n));
    for (;;) {
      received_request request;
      std::size_t consumed = 0;
      bool head_done = false;
      const parse_state state = parse_request(c.buffer, request, consumed, head_done);
      if (state == parse_state::bad) {
        (void)send_all(c.fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return false;
      }
      if (state == parse_state::incomplete) {
        if (head_done && !c.continued) {
          received_request head;
          const std::size_t head_end = c.buffer.find("\r\n\r\n");
          if (parse_request_head(std::string_view{c.buffer}.substr(0, head_end + 2), head)) {
            const std::string* expect = find_header(head.headers, "Expect");
            if (expect != nullptr && ::apikeys::detail::iequals(*expect, "100-continue")) {
              c.continued = true;
              if (!send_all(c.fd, "HTTP/1.1 100 Continue\r\n\r\n")) return false;
            }
          }
        }
        return true;
      }
      c.buffer.erase(0, consumed);
      c.continued = false;
      request.connection = c.index;
      const std::string* connection_header = find_header(request.headers, "Connection");
      const bool client_closes =
          (connection_header != nullptr && ::apikeys::detail::iequals(*connection_header, "close")) ||
          request.version == "HTTP/1.0";
      scripted_reply reply = handler_ ? handler_(request) : scripted_reply{};
      {
        const std::lock_guard lock(mutex_);
        requests_.push_back(std::move(request));
      }
      if (reply.delay.count() > 0 && stall(reply.delay)) return false;
      if (reply.hang_up || !answer(c.fd, reply) || reply.close || reply.drop || client_closes ||
          reply.cut_after != std::string::npos)
        return false;
    }
  }

  bool answer(int fd, const scripted_reply& reply) const {
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " ";
    out.append(conformance_reason(reply.status)).append("\r\n");
    for (const auto& h : reply.headers) out.append(h.name).append(": ").append(h.value).append("\r\n");
    const bool bodiless = reply.status < 200 || reply.status == 204 || reply.status == 304;
    if (!bodiless && find_header(reply.headers, "Content-Length") == nullptr)
      out.append("Content-Length: ").append(std::to_string(reply.body.size())).append("\r\n");
    if (reply.close) out.append("Connection: close\r\n");
    out.append("\r\n");
    const std::string_view body = std::string_view{reply.body}.substr(0, reply.cut_after);
    if (reply.trickle.count() <= 0) return send_all(fd, out.append(body));
    // A byte at a time, each well within any read timeout, so that only a deadline for the whole
    // response ends it; a client that gave up makes a send fail, and stopping cuts the stall short.
    if (!send_all(fd, out)) return false;
    for (std::size_t i = 0; i < body.size(); ++i)
      if (stall(reply.trickle) || !send_all(fd, body.substr(i, 1))) return false;
    return true;
  }

  handler handler_;
  int stop_pipe_[2] = {-1, -1};
  int listener_ = -1;
  int port_ = 0;
  std::string error_;
  std::atomic<std::size_t> accepted_{0};
  mutable std::mutex mutex_;
  std::vector<received_request> requests_;
  std::thread thread_;
};

}  // namespace apikeys::testing::detail

#endif  // APIKEYS_TESTING_DETAIL_CONFORMANCE_SERVER_HPP
