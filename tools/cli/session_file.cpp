// apikeys CLI: the session file's place and the checks the CLI makes beside the store.
#include "session_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace apikeys_cli {

default_path default_session_path() {
  std::string base;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
    base = std::string{home} + "/.config";
  } else {
    return {{}, "no place for the session file: set HOME or XDG_CONFIG_HOME, or use --session FILE"};
  }
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return {base + "/apikeys/session.json", {}};
}

bool readable_by_others(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && (info.st_mode & 077) != 0;
}

bool session_file_exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

std::string remove_session_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return "cannot remove the session file " + path + ": " + std::strerror(errno);
  return {};
}

}  // namespace apikeys_cli
