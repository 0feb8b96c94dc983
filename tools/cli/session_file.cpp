// apikeys CLI: reading (simdjson) and atomically writing (mode 0600) the session file.
#include "session_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <simdjson.h>

#include <apikeys/detail/json_writer.hpp>
#include <apikeys/secret.hpp>
#include <apikeys/session.hpp>

namespace apikeys_cli {

namespace {

// A session file is a few hundred bytes; anything much larger is not one of ours.
constexpr std::size_t max_file_size = 64 * 1024;

std::string errno_text(int error) { return std::strerror(error); }

void wipe(std::string& text) {
  apikeys::detail::secure_wipe(text.data(), text.size());
  text.clear();
}

bool is_http_url(std::string_view url) { return url.starts_with("http://") || url.starts_with("https://"); }

// mkdir -p, each missing directory private to the user (0700), as the XDG spec asks of config dirs.
std::optional<std::string> make_parent_directories(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  const std::string parent = path.substr(0, slash);
  for (std::size_t end = parent.find('/', 1);; end = parent.find('/', end + 1)) {
    const std::string prefix = parent.substr(0, end);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot create directory " + prefix + ": " + errno_text(errno);
    if (end == std::string::npos) break;
  }
  struct stat info {};
  if (::stat(parent.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return parent + " is not a directory";
  return std::nullopt;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

loaded_session failed(load_status status, std::string message) {
  loaded_session out;
  out.status = status;
  out.message = std::move(message);
  return out;
}

}  // namespace

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

loaded_session load_session(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return failed(load_status::missing, "no session file at " + path);
    return failed(load_status::unreadable, "cannot open the session file " + path + ": " + errno_text(error));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return failed(load_status::invalid, "the session file " + path + " is not a regular file");
  }
  if (static_cast<unsigned long long>(info.st_size) > max_file_size) {
    ::close(fd);
    return failed(load_status::invalid, "the session file " + path + " is too large to be one");
  }

  // Sized once with simdjson's padding, so the tokens are never copied by a reallocation.
  const auto size = static_cast<std::size_t>(info.st_size);
  std::string text(size + simdjson::SIMDJSON_PADDING, ' ');
  std::size_t used = 0;
  while (used < size) {
    const ssize_t n = ::read(fd, text.data() + used, size - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      wipe(text);
      return failed(load_status::unreadable, "cannot read the session file " + path + ": " + errno_text(error));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);

  constexpr std::size_t field_count = 6;
  constexpr std::string_view names[field_count] = {"user_id", "device_id", "provider", "host", "access_token", "refresh_token"};
  std::optional<apikeys::secret> values[field_count];
  std::string problem;
  {
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    const simdjson::padded_string_view view(text.data(), used, text.size());
    if (parser.iterate(view).get(doc) != simdjson::SUCCESS || doc.get_object().get(object) != simdjson::SUCCESS) {
      problem = "it is not a JSON object";
    } else {
      for (auto member : object) {
        simdjson::ondemand::field field;
        std::string_view key;
        std::string_view value;
        if (std::move(member).get(field) != simdjson::SUCCESS || field.unescaped_key().get(key) != simdjson::SUCCESS) {
          problem = "it is not valid JSON";
          break;
        }
        std::size_t i = 0;
        while (i < field_count && names[i] != key) ++i;
        if (i == field_count) continue;  // written by a later version, perhaps
        if (values[i]) {
          problem = "'" + std::string{names[i]} + "' appears twice";
          break;
        }
        if (field.value().get_string().get(value) != simdjson::SUCCESS) {
          problem = "'" + std::string{names[i]} + "' is not a string";
          break;
        }
        values[i].emplace(value);
      }
      const char* where = nullptr;
      // simdjson 3.0 has no document::at_end(); a location past the last structural means the same.
      if (problem.empty() && doc.current_location().get(where) != simdjson::OUT_OF_BOUNDS)
        problem = "it has trailing content";
    }
  }
  wipe(text);
  for (std::size_t i = 0; problem.empty() && i < field_count; ++i)
    if (!values[i] || values[i]->empty()) problem = "'" + std::string{names[i]} + "' is missing or empty";
  if (problem.empty() && !is_http_url(values[3]->reveal())) problem = "'host' is not an http or https URL";
  if (!problem.empty()) return failed(load_status::invalid, "the session file " + path + " is not valid: " + problem);

  loaded_session out;
  out.status = load_status::loaded;
  out.others_can_read = (info.st_mode & 077) != 0;
  out.session = std::make_shared<apikeys::session>(std::string{values[0]->reveal()}, std::string{values[1]->reveal()},
                                                   std::string{values[2]->reveal()}, std::string{values[3]->reveal()},
                                                   std::move(*values[4]), std::move(*values[5]));
  return out;
}

std::optional<std::string> save_session(const std::string& path, const apikeys::session& user) {
  if (auto error = make_parent_directories(path)) return error;

  const apikeys::secret access = user.access_token();
  const apikeys::secret refresh = user.refresh_token();
  std::string text;
  // Room for every member escaped at worst, so the buffer holding the tokens is never reallocated.
  text.reserve(256 + 6 * (user.user_id().size() + user.device_id().size() + user.provider().size() +
                          user.host().size() + access.size() + refresh.size()));
  text.push_back('{');
  apikeys::detail::append_json_member(text, "user_id", user.user_id());
  text.push_back(',');
  apikeys::detail::append_json_member(text, "device_id", user.device_id());
  text.push_back(',');
  apikeys::detail::append_json_member(text, "provider", user.provider());
  text.push_back(',');
  apikeys::detail::append_json_member(text, "host", user.host());
  text.push_back(',');
  apikeys::detail::append_json_member(text, "access_token", access.reveal());
  text.push_back(',');
  apikeys::detail::append_json_member(text, "refresh_token", refresh.reveal());
  text.append("}\n");

  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  ::unlink(temporary.c_str());  // a leftover of an earlier crash with our pid; never followed if a link
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error = errno;
    wipe(text);
    return "cannot create " + temporary + ": " + errno_text(error);
  }
  // The umask may only take bits away, and 0600 is what we want whatever it is; say so explicitly.
  bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, text) && ::fsync(fd) == 0;
  int error = ok ? 0 : errno;
  wipe(text);
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (ok && ::rename(temporary.c_str(), path.c_str()) != 0) {
    ok = false;
    error = errno;
  }
  if (!ok) {
    ::unlink(temporary.c_str());
    return "cannot write the session file " + path + ": " + errno_text(error);
  }
  return std::nullopt;
}

std::optional<std::string> remove_session(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return "cannot remove the session file " + path + ": " + errno_text(errno);
  return std::nullopt;
}

}  // namespace apikeys_cli
