// Test helper: certificate authorities and server certificates made with the openssl CLI at test time.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;

namespace apikeys_tests {

/// PEM files in a fresh temporary directory, removed by the destructor. Construction runs `openssl`
/// (found on PATH) a few times, each bounded in time, and throws std::runtime_error saying what went
/// wrong, with openssl's own output, when it is missing or fails. Keys are P-256 (quick to make);
/// certificates are valid from now for two days. Not thread-safe; files are only read after that.
class tls_files {
 public:
  static constexpr std::chrono::milliseconds command_limit{30'000};

  std::filesystem::path dir;
  std::string ca_cert;           ///< the CA a client is told to trust
  std::string server_cert;       ///< signed by ca_cert for IP:127.0.0.1 and DNS:localhost
  std::string server_key;
  std::string wrong_host_cert;   ///< signed by ca_cert for DNS:wrong.example only
  std::string wrong_host_key;
  std::string other_ca_cert;     ///< an unrelated CA, which signed none of the above

  tls_files() {
    std::string pattern = (std::filesystem::temp_directory_path() / "apikeys-tls-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "tls_files: mkdtemp");
    dir = pattern;
    try {
      make();
    } catch (...) {
      remove();
      throw;
    }
  }

  tls_files(const tls_files&) = delete;
  tls_files& operator=(const tls_files&) = delete;
  ~tls_files() { remove(); }

 private:
  std::string path(const char* name) const { return (dir / name).string(); }

  void remove() noexcept {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  void make() {
    ca_cert = path("ca.pem");
    other_ca_cert = path("other-ca.pem");
    server_cert = path("server.pem");
    server_key = path("server.key");
    wrong_host_cert = path("wrong-host.pem");
    wrong_host_key = path("wrong-host.key");
    make_ca("apikeys test CA", ca_cert, path("ca.key"));
    make_ca("apikeys unrelated test CA", other_ca_cert, path("other-ca.key"));
    make_server("apikeys test server", "subjectAltName=IP:127.0.0.1,DNS:localhost", server_cert, server_key, "1001");
    // The common name is a host name too (httplib falls back to it), so it must not match 127.0.0.1 either.
    make_server("wrong.example", "subjectAltName=DNS:wrong.example", wrong_host_cert, wrong_host_key, "1002");
  }

  void make_ca(const std::string& name, const std::string& cert, const std::string& key) {
    run({"openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-sha256", "-subj", "/CN=" + name, "-addext",
         "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  }

  void make_server(const std::string& name, const std::string& alt_names, const std::string& cert,
                   const std::string& key, const std::string& serial) {
    const std::string request = cert + ".csr";
    const std::string extensions = cert + ".ext";
    run({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
         "-out", request, "-subj", "/CN=" + name});
    std::ofstream(extensions) << alt_names << "\nbasicConstraints=critical,CA:FALSE\n"
                              << "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";
    run({"openssl", "x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", path("ca.key"), "-set_serial", serial,
         "-days", "2", "-sha256", "-extfile", extensions, "-out", cert});
  }

  // Runs one openssl command with its output going to a log in `dir`, which a failure quotes.
  void run(std::vector<std::string> args) const {
    const std::string log = path("openssl.log");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    const int spawned = ::posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (spawned == ENOENT)
      throw std::runtime_error("tls_files: the openssl command is not on PATH; the HTTPS tests need it");
    if (spawned != 0) throw std::system_error(spawned, std::generic_category(), "tls_files: cannot run openssl");

    const int status = wait_bounded(pid);
    if (status != 0) {
      std::ostringstream message;
      message << "tls_files: `openssl " << args[1] << "` failed (status " << status << "):\n"
              << std::ifstream(log).rdbuf();
      throw std::runtime_error(message.str());
    }
  }

  // The exit status (128 + signal if killed); a command still running after command_limit is killed.
  static int wait_bounded(pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + command_limit;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (r < 0 && errno != EINTR) return -1;
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return 128 + SIGKILL;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    }
  }
};

}  // namespace apikeys_tests
