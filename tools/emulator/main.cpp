// apikeys-emulator: serves apikeys::testing::emulator over HTTP, the reference App Services server for tests.
#include <httplib.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <apikeys/testing/emulator.hpp>
#include <fmt/core.h>

namespace {

constexpr std::string_view usage = R"(usage: apikeys-emulator [options]

Serves an in-memory App Services emulator (users, sessions, user API keys) over plain HTTP.
The first line on stdout is the base URL it listens on; point a client's base URL at it.

options:
  --host ADDR            address to listen on (default 127.0.0.1)
  --port N               port to listen on; 0 picks a free one (default 0)
  --app-id ID            the app id it serves (default apikeys-emulator)
  --user EMAIL:PASSWORD  seed an email/password user; repeatable (the password is whatever follows the first ':')
  --help                 show this text

Stops cleanly on SIGINT or SIGTERM. Logs one line per request to stderr: method, path, status, duration.
)";

struct settings {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string app_id = "apikeys-emulator";
  std::vector<std::pair<std::string, std::string>> users;
  bool help = false;
};

// The reason parsing failed, or the settings.
struct parsed_settings {
  std::optional<settings> value;
  std::string error;
};

parsed_settings parse_arguments(int argc, char** argv) {
  settings out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg != "--host" && arg != "--port" && arg != "--app-id" && arg != "--user")
      return {std::nullopt, fmt::format("unknown option '{}'", arg)};
    if (i + 1 >= argc) return {std::nullopt, fmt::format("{} needs a value", arg)};
    const std::string_view value = argv[++i];
    if (arg == "--host") {
      if (value.empty()) return {std::nullopt, "--host needs a non-empty address"};
      out.host = std::string{value};
    } else if (arg == "--port") {
      int port = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
      if (ec != std::errc{} || end != value.data() + value.size() || port < 0 || port > 65535)
        return {std::nullopt, fmt::format("--port needs a number from 0 to 65535, not '{}'", value)};
      out.port = port;
    } else if (arg == "--app-id") {
      if (value.empty()) return {std::nullopt, "--app-id needs a non-empty id"};
      out.app_id = std::string{value};
    } else {
      const std::size_t colon = value.find(':');
      // The value holds a password: never echo it back in the message.
      if (colon == std::string_view::npos || colon == 0) return {std::nullopt, "--user needs EMAIL:PASSWORD"};
      out.users.emplace_back(std::string{value.substr(0, colon)}, std::string{value.substr(colon + 1)});
    }
  }
  return {std::move(out), {}};
}

// Set from the signal handler and read by the watcher thread: a pipe is the one async-signal-safe way to
// wake a thread, and only a normal thread may call server.stop().
int signal_pipe[2] = {-1, -1};

void on_signal(int) {
  const int saved = errno;
  const char byte = 1;
  if (::write(signal_pipe[1], &byte, 1) < 0) {
    // Nothing safe to do here; the pipe is only full if a stop is already on its way.
  }
  errno = saved;
}

bool install_signal_handlers() {
  if (::pipe2(signal_pipe, O_CLOEXEC) != 0) return false;
  // Only the handler's end is non-blocking: it must never stall, while the watcher sleeps in read().
  if (::fcntl(signal_pipe[1], F_SETFL, ::fcntl(signal_pipe[1], F_GETFL) | O_NONBLOCK) != 0) return false;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return ::sigaction(SIGINT, &action, nullptr) == 0 && ::sigaction(SIGTERM, &action, nullptr) == 0;
}

std::optional<apikeys::http_method> to_method(std::string_view method) {
  if (method == "GET" || method == "HEAD") return apikeys::http_method::get;
  if (method == "POST") return apikeys::http_method::post;
  if (method == "PUT") return apikeys::http_method::put;
  if (method == "DELETE") return apikeys::http_method::delete_;
  return std::nullopt;
}

// httplib files the peer's and its own address among the request headers; they never came over the wire.
bool is_pseudo_header(std::string_view name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" || name == "LOCAL_PORT";
}

// The raw path without the query (which no route uses), with control bytes masked so a request cannot
// forge extra log lines.
std::string loggable_path(std::string_view target) {
  std::string out{target.substr(0, target.find('?'))};
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

void copy_response(const apikeys::http_response& from, httplib::Response& to) {
  to.status = from.status;
  const std::string* content_type = apikeys::find_header(from.headers, "Content-Type");
  for (const auto& h : from.headers)
    if (!apikeys::detail::iequals(h.name, "Content-Type")) to.set_header(h.name, h.value);
  // set_content always sends a Content-Type, so a bodiless answer (204, register's 201) skips it and
  // goes out with neither body nor type, as PROTOCOL.md section 3 requires.
  if (!from.body.empty() || content_type != nullptr)
    to.set_content(from.body, content_type ? content_type->c_str() : "application/octet-stream");
}

}  // namespace

int main(int argc, char** argv) {
  // First of all, so that a SIGTERM sent right after starting us still ends in a clean exit.
  if (!install_signal_handlers()) {
    fmt::print(stderr, "apikeys-emulator: cannot install signal handlers\n");
    return 1;
  }
  const parsed_settings parsed = parse_arguments(argc, argv);
  if (!parsed.value) {
    fmt::print(stderr, "apikeys-emulator: {}\n{}", parsed.error, usage);
    return 2;
  }
  const settings& config = *parsed.value;
  if (config.help) {
    fmt::print("{}", usage);
    return 0;
  }

  apikeys::testing::emulator_options options;
  options.app_id = config.app_id;
  apikeys::testing::emulator emu(options);
  for (const auto& [email, password] : config.users) emu.add_user(email, password);

  httplib::Server server;
  // Each keep-alive connection holds a worker, so the pool is sized for a test suite's parallel clients.
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(10000);
  server.set_keep_alive_timeout(5);
  server.set_payload_max_length(1 << 20);
  // httplib's default adds SO_REUSEPORT, which lets a second server bind a port that is in use and
  // silently share it; SO_REUSEADDR alone still allows a quick restart on the same port.
  server.set_socket_options([](::socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  std::string host_header_fallback;
  const auto handle = [&](const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    const auto method = to_method(req.method);
    apikeys::http_response answer;
    if (!method) {
      answer = emu.error_response(405, "", "method not allowed");
      answer.headers.push_back({"Allow", "GET, POST, PUT, DELETE"});
    } else {
      apikeys::http_request request;
      request.method = *method;
      const std::string host = req.get_header_value("Host");
      request.url = "http://" + (host.empty() ? host_header_fallback : host) + req.target;
      for (const auto& [name, value] : req.headers)
        if (!is_pseudo_header(name)) request.headers.push_back({name, value});
      request.body = req.body;
      answer = emu.send(request);
    }
    copy_response(answer, res);
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    // One write per line, so lines from concurrent workers never interleave.
    const std::string line = fmt::format("{} {} {} {:.3f}ms\n", req.method, loggable_path(req.target), answer.status, took.count());
    std::fputs(line.c_str(), stderr);
  };
  // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 section 6.3), but
  // httplib would wait for one until its read timeout; curl -X POST sends exactly that. Such requests are
  // answered here, before httplib tries to read a body.
  server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))
      return httplib::Server::HandlerResponse::Unhandled;
    handle(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  server.Get(".*", handle);
  server.Post(".*", handle);
  server.Put(".*", handle);
  server.Delete(".*", handle);
  server.Patch(".*", handle);
  server.Options(".*", handle);

  int port = config.port;
  if (port == 0) {
    port = server.bind_to_any_port(config.host);
    if (port < 0) {
      fmt::print(stderr, "apikeys-emulator: cannot listen on {}\n", config.host);
      return 1;
    }
  } else if (!server.bind_to_port(config.host, port)) {
    fmt::print(stderr, "apikeys-emulator: cannot listen on {} port {}\n", config.host, port);
    return 1;
  }

  const bool ipv6 = config.host.find(':') != std::string::npos;
  const std::string authority = (ipv6 ? "[" + config.host + "]" : config.host) + ":" + std::to_string(port);
  host_header_fallback = authority;
  emu.set_hostname("http://" + authority, "ws://" + authority);

  std::atomic<bool> listen_returned{false};
  std::thread watcher([&] {
    char byte = 0;
    while (::read(signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    // stop() does nothing until listening has begun, so a signal that comes early waits for it.
    while (!server.is_running() && !listen_returned.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.stop();
    // httplib lets a worker idle on a keep-alive connection until its timeout before the pool can join.
    // Requests take well under a millisecond and nothing is kept on disk, so after a grace period the
    // process ends here rather than making whoever stopped it wait for idle clients.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (!listen_returned.load() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!listen_returned.load()) {
      fmt::print(stderr, "apikeys-emulator: stopped after {} requests (idle connections dropped)\n", emu.request_count());
      std::fflush(stdout);
      std::fflush(stderr);
      std::_Exit(0);
    }
  });

  fmt::print("http://{}\n", authority);
  std::fflush(stdout);

  const bool ok = server.listen_after_bind();
  listen_returned.store(true);
  const char wake = 0;
  if (::write(signal_pipe[1], &wake, 1) < 0) {
    // The watcher is then already awake.
  }
  watcher.join();
  if (!ok) {
    fmt::print(stderr, "apikeys-emulator: the server stopped with an error\n");
    return 1;
  }
  fmt::print(stderr, "apikeys-emulator: stopped after {} requests\n", emu.request_count());
  return 0;
}
