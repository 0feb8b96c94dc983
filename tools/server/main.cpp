// apikeys-server: the emulator's protocol code (login, register, sessions, the key routes) over HTTP, with
// its records in SQLite under --data DIR, so users, keys and sessions outlive a restart.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/emulator_server.hpp>
#include <apikeys/version.hpp>
#include <fmt/format.h>

#include "../common/stop_signal.hpp"

#include "sqlite_store.hpp"

namespace {

constexpr std::string_view usage = R"(usage: apikeys-server --data DIR [options]

Serves the App Services auth and user API key routes over HTTP, keeping users, keys and sessions in
DIR/apikeys.sqlite3 (SQLite, WAL, every answered write committed). DIR is created (mode 0700) if it
does not exist; the key that signs tokens is DIR/token-signing.key (created 0600 on first start), so
tokens outlive a restart. Serves HTTPS with --tls-cert and --tls-key. The first line on stdout is the
base URL it listens on (http:// or https://).

options:
  --data DIR      where the database and the token-signing key live (required)
  --host ADDR     address to listen on (default 127.0.0.1)
  --port N        port to listen on; 0 picks a free one (default 0)
  --app-id ID     the app id it serves (default apikeys-server)
  --tls-cert FILE serve HTTPS with this PEM certificate (the server's first, then any intermediates);
                  needs --tls-key
  --tls-key FILE  the certificate's private key, an unencrypted PEM file; needs --tls-cert
  --help          show this text
  --version       print the version

Stops cleanly on SIGINT or SIGTERM. Logs one line per request to stderr: method, path, status, duration.
)";

struct settings {
  std::string data;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string app_id = "apikeys-server";
  std::string tls_cert;
  std::string tls_key;
  bool help = false;
  bool version = false;
};

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
    if (arg != "--data" && arg != "--host" && arg != "--port" && arg != "--app-id" && arg != "--tls-cert" &&
        arg != "--tls-key")
      return {std::nullopt, fmt::format("unknown option '{}'", arg)};
    if (i + 1 >= argc) return {std::nullopt, fmt::format("{} needs a value", arg)};
    const std::string_view value = argv[++i];
    if (value.empty()) return {std::nullopt, fmt::format("{} needs a non-empty value", arg)};
    if (arg == "--data") {
      out.data = std::string{value};
    } else if (arg == "--host") {
      out.host = std::string{value};
    } else if (arg == "--port") {
      int port = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
      if (ec != std::errc{} || end != value.data() + value.size() || port < 0 || port > 65535)
        return {std::nullopt, fmt::format("--port needs a number from 0 to 65535, not '{}'", value)};
      out.port = port;
    } else if (arg == "--tls-cert" || arg == "--tls-key") {
      (arg == "--tls-cert" ? out.tls_cert : out.tls_key) = std::string{value};
    } else {
      out.app_id = std::string{value};
    }
  }
  if (out.tls_cert.empty() != out.tls_key.empty()) return {std::nullopt, "--tls-cert and --tls-key go together"};
  if (out.data.empty() && !out.help && !out.version) return {std::nullopt, "--data DIR is required"};
  return {std::move(out), {}};
}

// Creates DIR 0700 unless it exists; an error message, or empty.
std::string make_data_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return {};
  if (errno != EEXIST) return fmt::format("cannot create {}: {}", dir, std::strerror(errno));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return fmt::format("{} is not a directory", dir);
  return {};
}

bool read_all(int fd, unsigned char* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, out + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  // Exactly `size` bytes: one more would be a file this program did not write.
  unsigned char extra = 0;
  return ::read(fd, &extra, 1) == 0;
}

// The token-signing key: DIR/token-signing.key, 32 random bytes made 0600 on first start.
std::optional<apikeys::testing::emulator::signing_key> load_signing_key(const std::string& dir, std::string& why) {
  const std::string path = dir + "/token-signing.key";
  apikeys::testing::emulator::signing_key key{};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const bool ok = read_all(fd, key.data(), key.size());
    ::close(fd);
    if (!ok) {
      why = fmt::format("{} is not a 32-byte key", path);
      return std::nullopt;
    }
    return key;
  }
  if (errno != ENOENT) {
    why = fmt::format("cannot read {}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  apikeys::testing::detail::fill_random(key.data(), key.size());
  // Written to a temporary name and renamed, so a crash never leaves a short key behind.
  const std::string temporary = path + ".new";
  fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  std::size_t done = 0;
  while (ok && done < key.size()) {
    const ssize_t n = ::write(fd, key.data() + done, key.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  ok = ok && ::rename(temporary.c_str(), path.c_str()) == 0;
  if (!ok) {
    why = fmt::format("cannot write {}: {}", path, std::strerror(errno));
    ::unlink(temporary.c_str());
    return std::nullopt;
  }
  return key;
}

}  // namespace

int main(int argc, char** argv) {
  if (!apikeys_tools::install_stop_signals()) {
    fmt::print(stderr, "apikeys-server: cannot install signal handlers\n");
    return 1;
  }
  const parsed_settings parsed = parse_arguments(argc, argv);
  if (!parsed.value) {
    fmt::print(stderr, "apikeys-server: {}\n{}", parsed.error, usage);
    return 2;
  }
  const settings& config = *parsed.value;
  if (config.help) {
    fmt::print("{}", usage);
    return 0;
  }
  if (config.version) {
    fmt::print("apikeys-server {}\n", APIKEYS_VERSION_STRING);
    return 0;
  }

  if (const std::string why = make_data_dir(config.data); !why.empty()) {
    fmt::print(stderr, "apikeys-server: {}\n", why);
    return 1;
  }
  std::string why;
  const auto key = load_signing_key(config.data, why);
  if (!key) {
    fmt::print(stderr, "apikeys-server: {}\n", why);
    return 1;
  }
  std::unique_ptr<apikeys_server::sqlite_store> store;
  try {
    store = std::make_unique<apikeys_server::sqlite_store>(config.data + "/apikeys.sqlite3");
  } catch (const apikeys::testing::emulator_store_error& e) {
    fmt::print(stderr, "apikeys-server: {}\n", e.what());
    return 1;
  }

  apikeys::testing::emulator_options options;
  options.app_id = config.app_id;
  apikeys::testing::emulator emu(options, std::move(store), *key);

  apikeys::testing::emulator_server_options server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.tls_cert_path = config.tls_cert;
  server_options.tls_key_path = config.tls_key;
  server_options.log = [](std::string_view line) {
    const std::string text = fmt::format("{}\n", line);
    std::fputs(text.c_str(), stderr);
  };
  auto server = apikeys::testing::emulator_server::start(emu, server_options);
  if (!server) {
    fmt::print(stderr, "apikeys-server: {}\n", server.error());
    return 1;
  }

  fmt::print("{}\n", (*server)->base_url());
  std::fflush(stdout);

  const bool signalled = apikeys_tools::wait_for_stop_signal([&] { return (*server)->running(); });
  (*server)->stop();
  if (!signalled) {
    fmt::print(stderr, "apikeys-server: the server stopped with an error\n");
    return 1;
  }
  fmt::print(stderr, "apikeys-server: stopped after {} requests\n", emu.request_count());
  return 0;
}
