// apikeys-emulator: serves apikeys::testing::emulator over HTTP, the reference App Services server for tests.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/emulator_server.hpp>
#include <apikeys/version.hpp>
#include <fmt/format.h>

#include "../common/stop_signal.hpp"

namespace {

constexpr std::string_view usage = R"(usage: apikeys-emulator [options]

Serves an in-memory App Services emulator (users, sessions, user API keys) over HTTP, or over HTTPS
with --tls-cert and --tls-key. The first line on stdout is the base URL it listens on (http:// or
https://), followed by the path prefix if one is given; point a client's base URL at it.

options:
  --host ADDR            address to listen on (default 127.0.0.1)
  --port N               port to listen on; 0 picks a free one (default 0)
  --app-id ID            the app id it serves (default apikeys-emulator)
  --path-prefix PATH     serve every route under PATH, as behind a gateway (e.g. /realm: location at
                         /realm/api/client/v2.0/app/ID/location), and answer location with the base URL
                         PATH included; visible ASCII without '?' or '#' (default: none)
  --user EMAIL:PASSWORD  seed an email/password user; repeatable (the password is whatever follows the first ':')
  --tls-cert FILE        serve HTTPS with this PEM certificate (the server's first, then any intermediates);
                         needs --tls-key
  --tls-key FILE         the certificate's private key, an unencrypted PEM file; needs --tls-cert
  --help                 show this text
  --version              print the version

Stops cleanly on SIGINT or SIGTERM. Logs one line per request to stderr, as an apikeys client logs a
response: "apikeys info response method=GET route=/path status=200 duration_us=180 body_bytes=72"
(warn for a 4xx or 5xx); never a header, a query or a body.
)";

struct settings {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string app_id = "apikeys-emulator";
  std::string path_prefix;
  std::vector<std::pair<std::string, std::string>> users;
  std::string tls_cert;
  std::string tls_key;
  bool help = false;
  bool version = false;
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
    if (arg == "--version") {
      out.version = true;
      continue;
    }
    if (arg != "--host" && arg != "--port" && arg != "--app-id" && arg != "--path-prefix" && arg != "--user" &&
        arg != "--tls-cert" && arg != "--tls-key")
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
    } else if (arg == "--path-prefix") {
      // Every later URL a client builds starts with it, so nothing that would end the path or break a request line.
      const bool ok = std::all_of(value.begin(), value.end(), [](char c) {
        return c > 0x20 && c < 0x7f && c != '?' && c != '#';
      });
      if (!ok) return {std::nullopt, "--path-prefix needs a path of visible ASCII without '?' or '#'"};
      out.path_prefix = std::string{value};
    } else if (arg == "--tls-cert" || arg == "--tls-key") {
      if (value.empty()) return {std::nullopt, fmt::format("{} needs a file name", arg)};
      (arg == "--tls-cert" ? out.tls_cert : out.tls_key) = std::string{value};
    } else {
      const std::size_t colon = value.find(':');
      // The value holds a password: never echo it back in the message.
      if (colon == std::string_view::npos || colon == 0) return {std::nullopt, "--user needs EMAIL:PASSWORD"};
      out.users.emplace_back(std::string{value.substr(0, colon)}, std::string{value.substr(colon + 1)});
    }
  }
  if (out.tls_cert.empty() != out.tls_key.empty())
    return {std::nullopt, "--tls-cert and --tls-key go together"};
  return {std::move(out), {}};
}

}  // namespace

int main(int argc, char** argv) {
  // First of all, so that a SIGTERM sent right after starting us still ends in a clean exit.
  if (!apikeys_tools::install_stop_signals()) {
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
  if (config.version) {
    fmt::print("apikeys-emulator {}\n", APIKEYS_VERSION_STRING);
    return 0;
  }

  apikeys::testing::emulator_options options;
  options.app_id = config.app_id;
  options.path_prefix = config.path_prefix;
  apikeys::testing::emulator emu(options);
  for (const auto& [email, password] : config.users) emu.add_user(email, password);

  apikeys::testing::emulator_server_options server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.tls_cert_path = config.tls_cert;
  server_options.tls_key_path = config.tls_key;
  // One write per line (fmt_log_sink), so lines from concurrent workers never interleave; the clients'
  // format (README "Logging"), at info: every answered request.
  server_options.logger = apikeys::fmt_log_sink(stderr, apikeys::log_level::info);
  auto server = apikeys::testing::emulator_server::start(emu, server_options);
  if (!server) {
    fmt::print(stderr, "apikeys-emulator: {}\n", server.error());
    return 1;
  }

  fmt::print("{}\n", (*server)->base_url());
  std::fflush(stdout);

  const bool signalled = apikeys_tools::wait_for_stop_signal([&] { return (*server)->running(); });
  // Ends idle keep-alive connections at once, so whoever stopped us does not wait for idle clients.
  (*server)->stop();
  if (!signalled) {
    fmt::print(stderr, "apikeys-emulator: the server stopped with an error\n");
    return 1;
  }
  fmt::print(stderr, "apikeys-emulator: stopped after {} requests\n", emu.request_count());
  return 0;
}
