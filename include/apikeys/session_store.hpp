// apikeys session stores: where an app keeps its logged-in users, so they survive a restart.
#ifndef APIKEYS_SESSION_STORE_HPP
#define APIKEYS_SESSION_STORE_HPP

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#define APIKEYS_HAS_FILE_SESSION_STORE 1
#else
#define APIKEYS_HAS_FILE_SESSION_STORE 0
#endif

#include <simdjson.h>

#include "detail/format.hpp"
#include "detail/json_writer.hpp"
#include "error.hpp"
#include "result.hpp"
#include "secret.hpp"
#include "session.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

/// One user as a store keeps it: what a session is made of (session.hpp).
struct stored_user {
  std::string user_id;
  std::string device_id;
  std::string provider;
  std::string host;
  secret access_token;
  secret refresh_token;
};

namespace detail {
// The ids, provider and host; the tokens never (a stored_user prints like the session it makes).
inline std::string describe(const stored_user& u) {
  std::string out = "stored_user{user_id=";
  out.append(u.user_id).append(", device_id=").append(u.device_id).append(", provider=").append(u.provider);
  out.append(", host=").append(u.host).append(u.refresh_token.empty() ? ", no tokens}" : ", tokens <redacted>}");
  return out;
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const stored_user& u) { return os << detail::describe(u); }

/// Everything a store holds: its users in the order they first logged in, and the current user's id
/// (empty when there is none).
struct stored_users {
  std::vector<stored_user> users;
  std::string current_user_id;
};

/// A place for an app's logged-in users (basic_app_client::use_store): .NET's App.AllUsers and
/// App.CurrentUser, kept across restarts. Every operation reports failure as a result, with
/// errc::store_error and a message that never holds a token.
///   load()                  everything it holds (nothing, the first time)
///   save(user)              adds the user, or replaces the one with the same user id in place
///   remove(user_id)         forgets the user (and the current user id if it is this one); a user it does
///                           not hold is no error
///   set_current(user_id)    the current user; empty for none
/// An app calls its store from one thread at a time; a store shared by several apps locks itself.
template <class S>
concept session_store = requires(S& store, const stored_user& user, std::string_view user_id) {
  { store.load() } -> std::same_as<result<stored_users>>;
  { store.save(user) } -> std::same_as<result<void>>;
  { store.remove(user_id) } -> std::same_as<result<void>>;
  { store.set_current(user_id) } -> std::same_as<result<void>>;
};

namespace detail {

// A failure of this side, with no response (operations/common.hpp's client_error sits a floor above).
inline api_error local_error(errc code, std::string message) {
  api_error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}
inline api_error store_error(std::string message) { return local_error(errc::store_error, std::move(message)); }

/// What a session holds, as a store keeps it; the tokens are copied under the session's lock.
inline stored_user to_stored(const session& user) {
  return {user.user_id(), user.device_id(), user.provider(), user.host(), user.access_token(), user.refresh_token()};
}

// The edits every store makes to what it holds, written once.
inline void upsert(stored_users& all, const stored_user& user) {
  for (auto& held : all.users) {
    if (held.user_id == user.user_id) {
      held = user;
      return;
    }
  }
  all.users.push_back(user);
}
inline void forget(stored_users& all, std::string_view user_id) {
  std::erase_if(all.users, [&](const stored_user& held) { return held.user_id == user_id; });
  if (all.current_user_id == user_id) all.current_user_id.clear();
}

}  // namespace detail

/// A store in this process's memory: users survive a new app object, not a new process. For tests, and
/// for apps that want the users API (current_user(), all_users(), the upsert) without persistence.
/// Thread safety: every member function may be called concurrently.
class memory_session_store {
 public:
  result<stored_users> load() const {
    std::lock_guard lock(mutex_);
    return held_;
  }
  result<void> save(const stored_user& user) {
    std::lock_guard lock(mutex_);
    detail::upsert(held_, user);
    return {};
  }
  result<void> remove(std::string_view user_id) {
    std::lock_guard lock(mutex_);
    detail::forget(held_, user_id);
    return {};
  }
  result<void> set_current(std::string_view user_id) {
    std::lock_guard lock(mutex_);
    held_.current_user_id.assign(user_id);
    return {};
  }

 private:
  mutable std::mutex mutex_;
  stored_users held_;
};

#if APIKEYS_HAS_FILE_SESSION_STORE

/// How a file_session_store treats its file.
struct file_store_options {
  /// Refuse (errc::store_error) a file that other users may read or write (any group or other permission
  /// bit): its tokens may have leaked. Off, the file is read anyway; each write makes it 0600 again.
  bool refuse_open_permissions = true;
};

/// A store in one JSON file (docs/protocol.md section 9 shows its format). The file is created with mode
/// 0600, and each missing directory above it with mode 0700, whatever the umask. Every change rewrites
/// the whole file atomically: a temporary file in the same directory, fsync, rename; a reader (another
/// process too) sees the old file or the new one, never half of one. Removing the last user removes the
/// file. A missing file is an empty store. A file that cannot be read, is not one of ours, or (by
/// default) is open to other users is refused with errc::store_error, naming the path and never a token.
/// It also reads the one-session file the apikeys CLI wrote before 0.2 (the six members of a user at the
/// top level), as a store of that one user, who is current.
/// Thread safety: every member function may be called concurrently; two processes that write the same
/// file at once each write a whole file, and the last rename wins.
class file_session_store {
 public:
  /// A session file is a few hundred bytes per user; anything much larger is not one of ours.
  static constexpr std::size_t max_file_size = 1024 * 1024;

  explicit file_session_store(std::string path, file_store_options options = {})
      : path_(std::move(path)), options_(options) {}

  const std::string& path() const noexcept { return path_; }

  result<stored_users> load() const {
    std::lock_guard lock(mutex_);
    return read();
  }
  result<void> save(const stored_user& user) {
    return change([&](stored_users& all) { detail::upsert(all, user); });
  }
  result<void> remove(std::string_view user_id) {
    return change([&](stored_users& all) { detail::forget(all, user_id); });
  }
  result<void> set_current(std::string_view user_id) {
    return change([&](stored_users& all) { all.current_user_id.assign(user_id); });
  }

 private:
  template <class Edit>
  result<void> change(Edit&& edit) {
    std::lock_guard lock(mutex_);
    auto all = read();
    if (!all) return unexpected{std::move(all).error()};
    edit(*all);
    if (all->users.empty()) return erase();
    return write(*all);
  }

  static std::string errno_text(int error) { return std::strerror(error); }
  static void wipe(std::string& text) noexcept {
    detail::secure_wipe(text.data(), text.size());
    text.clear();
  }

  result<stored_users> read() const {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == ENOENT) return stored_users{};
      return unexpected{detail::store_error("cannot open the session file " + path_ + ": " + errno_text(error))};
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      ::close(fd);
      return unexpected{detail::store_error("the session file " + path_ + " is not a regular file")};
    }
    if (options_.refuse_open_permissions && (info.st_mode & 077) != 0) {
      ::close(fd);
      return unexpected{detail::store_error("other users may read the session file " + path_ +
                                            "; refusing it (chmod 600 it, or log in again)")};
    }
    if (static_cast<unsigned long long>(info.st_size) > max_file_size) {
      ::close(fd);
      return unexpected{detail::store_error("the session file " + path_ + " is not valid: it is too large to be one")};
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
        return unexpected{detail::store_error("cannot read the session file " + path_ + ": " + errno_text(error))};
      }
      if (n == 0) break;
      used += static_cast<std::size_t>(n);
    }
    ::close(fd);
    std::string problem;
    stored_users all = parse(text, used, problem);
    wipe(text);
    if (!problem.empty())
      return unexpected{detail::store_error("the session file " + path_ + " is not valid: " + problem)};
    return all;
  }

  // The six string members of a user; `problem` says what is wrong (never quoting a value).
  static constexpr std::string_view member_names[6] = {"user_id", "device_id", "provider", "host", "access_token", "refresh_token"};
  struct user_fields {
    std::optional<secret> values[6];
  };
  // One member of a user object; false when `key` is not one of the six (ignored: a later version's).
  static bool read_member(user_fields& into, std::string_view key, simdjson::ondemand::value value, std::string& problem) {
    std::size_t i = 0;
    while (i < 6 && member_names[i] != key) ++i;
    if (i == 6) return false;
    std::string_view text;
    if (into.values[i]) {
      problem = "'" + std::string{member_names[i]} + "' appears twice";
    } else if (value.get_string().get(text) != simdjson::SUCCESS) {
      problem = "'" + std::string{member_names[i]} + "' is not a string";
    } else {
      into.values[i].emplace(text);
    }
    return true;
  }
  static std::optional<stored_user> finish_user(user_fields& fields, std::string& problem) {
    for (std::size_t i = 0; i < 6; ++i) {
      if (!fields.values[i] || fields.values[i]->empty()) {
        problem = "'" + std::string{member_names[i]} + "' is missing or empty";
        return std::nullopt;
      }
    }
    const std::string_view host = fields.values[3]->reveal();
    if (!host.starts_with("http://") && !host.starts_with("https://")) {
      problem = "'host' is not an http or https URL";
      return std::nullopt;
    }
    return stored_user{std::string{fields.values[0]->reveal()}, std::string{fields.values[1]->reveal()},
                       std::string{fields.values[2]->reveal()}, std::string{host}, std::move(*fields.values[4]),
                       std::move(*fields.values[5])};
  }

  // {"current_user_id":"...","users":[{user}, ...]}, or the CLI's older file: one user's members at the top.
  static stored_users parse(const std::string& text, std::size_t used, std::string& problem) {
    stored_users all;
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    const simdjson::padded_string_view view(text.data(), used, text.size());
    if (parser.iterate(view).get(doc) != simdjson::SUCCESS || doc.get_object().get(object) != simdjson::SUCCESS) {
      problem = "it is not one JSON object";
      return all;
    }
    user_fields legacy;
    bool any_legacy = false;
    bool any_current = false;
    bool any_users = false;
    for (auto member : object) {
      simdjson::ondemand::field field;
      std::string_view key;
      if (std::move(member).get(field) != simdjson::SUCCESS || field.unescaped_key().get(key) != simdjson::SUCCESS) {
        problem = "it is not valid JSON";
        return all;
      }
      if (key == "current_user_id") {
        std::string_view id;
        if (any_current || field.value().get_string().get(id) != simdjson::SUCCESS) {
          problem = "'current_user_id' is not one string";
          return all;
        }
        any_current = true;
        all.current_user_id.assign(id);
      } else if (key == "users") {
        simdjson::ondemand::array users;
        if (any_users || field.value().get_array().get(users) != simdjson::SUCCESS) {
          problem = "'users' is not one array";
          return all;
        }
        any_users = true;
        for (auto element : users) {
          simdjson::ondemand::object user_object;
          if (std::move(element).get_object().get(user_object) != simdjson::SUCCESS) {
            problem = "a user is not a JSON object";
            return all;
          }
          user_fields fields;
          for (auto user_member : user_object) {
            simdjson::ondemand::field user_field;
            std::string_view user_key;
            if (std::move(user_member).get(user_field) != simdjson::SUCCESS ||
                user_field.unescaped_key().get(user_key) != simdjson::SUCCESS) {
              problem = "it is not valid JSON";
              return all;
            }
            read_member(fields, user_key, user_field.value(), problem);
            if (!problem.empty()) return all;
          }
          auto user = finish_user(fields, problem);
          if (!user) return all;
          for (const auto& held : all.users) {
            if (held.user_id == user->user_id) {
              problem = "a user appears twice";
              return all;
            }
          }
          all.users.push_back(std::move(*user));
        }
      } else if (read_member(legacy, key, field.value(), problem)) {
        any_legacy = true;
        if (!problem.empty()) return all;
      }
      // Any other member was written by a later version, perhaps: ignored.
    }
    const char* where = nullptr;
    // simdjson 3.0 has no document::at_end(); a location past the last structural means the same.
    if (doc.current_location().get(where) != simdjson::OUT_OF_BOUNDS) {
      problem = "it has trailing content";
      return all;
    }
    if (any_legacy) {
      if (any_users || any_current) {
        problem = "it mixes a user's members with 'users'";
        return all;
      }
      auto user = finish_user(legacy, problem);
      if (!user) return all;
      all.current_user_id = user->user_id;
      all.users.push_back(std::move(*user));
      return all;
    }
    if (!any_users) {
      problem = "'users' is missing";
      return all;
    }
    if (!all.current_user_id.empty() &&
        std::none_of(all.users.begin(), all.users.end(), [&](const stored_user& u) { return u.user_id == all.current_user_id; }))
      problem = "'current_user_id' names no user in it";
    return all;
  }

  static std::string serialize(const stored_users& all) {
    std::size_t room = 64 + 6 * all.current_user_id.size();
    for (const auto& user : all.users)
      room += 128 + 6 * (user.user_id.size() + user.device_id.size() + user.provider.size() + user.host.size() +
                         user.access_token.size() + user.refresh_token.size());
    std::string text;
    text.reserve(room);  // every member escaped at worst: the buffer holding the tokens never moves
    text.append("{\"version\":1,");
    detail::append_json_member(text, "current_user_id", all.current_user_id);
    text.append(",\"users\":[");
    bool first = true;
    for (const auto& user : all.users) {
      if (!first) text.push_back(',');
      first = false;
      text.push_back('{');
      const std::string_view values[6] = {user.user_id, user.device_id, user.provider, user.host,
                                          user.access_token.reveal(), user.refresh_token.reveal()};
      for (std::size_t i = 0; i < 6; ++i) {
        if (i != 0) text.push_back(',');
        detail::append_json_member(text, member_names[i], values[i]);
      }
      text.push_back('}');
    }
    text.append("]}\n");
    return text;
  }

  // mkdir -p of the file's directory, each missing directory private to the user (0700).
  result<void> make_directories() const {
    const std::size_t slash = path_.rfind('/');
    if (slash == std::string::npos || slash == 0) return {};
    const std::string parent = path_.substr(0, slash);
    for (std::size_t end = parent.find('/', 1);; end = parent.find('/', end + 1)) {
      const std::string prefix = parent.substr(0, end);
      if (::mkdir(prefix.c_str(), 0700) == 0) {
        ::chmod(prefix.c_str(), 0700);  // the umask may have taken bits away; 0700 is what we want
      } else if (errno != EEXIST) {
        return unexpected{detail::store_error("cannot create directory " + prefix + ": " + errno_text(errno))};
      }
      if (end == std::string::npos) break;
    }
    struct stat info {};
    if (::stat(parent.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
      return unexpected{detail::store_error(parent + " is not a directory")};
    return {};
  }

  static bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  result<void> write(const stored_users& all) const {
    if (auto made = make_directories(); !made) return made;
    std::string text = serialize(all);
    // Unique per process and write, so two stores on one path in one process never share a temporary.
    static std::atomic<unsigned long> writes{0};
    const std::string temporary = path_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(++writes);
    ::unlink(temporary.c_str());  // a leftover of an earlier crash with our pid; never followed if a link
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      const int error = errno;
      wipe(text);
      return unexpected{detail::store_error("cannot create " + temporary + ": " + errno_text(error))};
    }
    // The umask may only take bits away, and 0600 is what we want whatever it is; say so explicitly.
    bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, text) && ::fsync(fd) == 0;
    int error = ok ? 0 : errno;
    wipe(text);
    if (::close(fd) != 0 && ok) {
      ok = false;
      error = errno;
    }
    if (ok && ::rename(temporary.c_str(), path_.c_str()) != 0) {
      ok = false;
      error = errno;
    }
    if (!ok) {
      ::unlink(temporary.c_str());
      return unexpected{detail::store_error("cannot write the session file " + path_ + ": " + errno_text(error))};
    }
    return {};
  }

  result<void> erase() const {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
      return unexpected{detail::store_error("cannot remove the session file " + path_ + ": " + errno_text(errno))};
    return {};
  }

  std::string path_;
  file_store_options options_;
  mutable std::mutex mutex_;
};

static_assert(session_store<file_session_store>);

#endif  // APIKEYS_HAS_FILE_SESSION_STORE

static_assert(session_store<memory_session_store>);

namespace detail {

// --- the app's users: the store behind basic_app_client's users API -----------------------------------------

/// A store of any type, behind one interface, so the app's type does not name it.
class any_session_store {
 public:
  virtual ~any_session_store() = default;
  virtual result<stored_users> load() = 0;
  virtual result<void> save(const stored_user& user) = 0;
  virtual result<void> remove(std::string_view user_id) = 0;
  virtual result<void> set_current(std::string_view user_id) = 0;
};

template <session_store Store>
class session_store_ref final : public any_session_store {
 public:
  explicit session_store_ref(Store& store) : store_(&store) {}
  result<stored_users> load() override { return store_->load(); }
  result<void> save(const stored_user& user) override { return store_->save(user); }
  result<void> remove(std::string_view user_id) override { return store_->remove(user_id); }
  result<void> set_current(std::string_view user_id) override { return store_->set_current(user_id); }

 private:
  Store* store_;
};

/// An app's logged-in users and the store they are kept in. It observes each of its sessions: a new access
/// token is saved, a session that ends is forgotten (docs/protocol.md section 7). One mutex orders every
/// change and every store call, so the store always holds the latest tokens of each session.
class user_registry final : public session_observer, public std::enable_shared_from_this<user_registry> {
 public:
  /// Uses `store` from now on and restores the logged-in users it holds; the users known so far are
  /// replaced by the store's.
  result<void> attach(std::unique_ptr<any_session_store> store) {
    auto held = store->load();
    if (!held) return unexpected{std::move(held).error()};
    std::vector<std::shared_ptr<session>> restored;
    for (auto& user : held->users) {
      restored.push_back(std::make_shared<session>(std::move(user.user_id), std::move(user.device_id), std::move(user.provider),
                                                   std::move(user.host), std::move(user.access_token),
                                                   std::move(user.refresh_token)));
      restored.back()->set_observer(weak_from_this());
    }
    std::vector<std::shared_ptr<session>> dropped;
    const std::lock_guard lock(mutex_);
    store_ = std::move(store);
    dropped.swap(users_);
    users_ = std::move(restored);
    current_ = held->current_user_id;
    if (find(current_) == nullptr) current_ = users_.empty() ? std::string{} : users_.back()->user_id();
    for (const auto& user : dropped) user->set_observer({});
    return {};
  }

  bool has_store() const {
    const std::lock_guard lock(mutex_);
    return store_ != nullptr;
  }

  /// A log in's new session, kept: when the store already holds this user, that user's session takes the
  /// new tokens and is returned (the upsert); either way the user becomes the current one. Without a
  /// store, `fresh` as it is. A store that cannot be written fails the log in, and nothing changes.
  result<std::shared_ptr<session>> adopt(std::shared_ptr<session> fresh) {
    const std::lock_guard lock(mutex_);
    if (!store_) return fresh;
    const stored_user stored = to_stored(*fresh);
    if (auto saved = store_->save(stored); !saved) return unexpected{std::move(saved).error()};
    if (auto made_current = store_->set_current(stored.user_id); !made_current) return unexpected{std::move(made_current).error()};
    current_ = stored.user_id;
    if (const auto& known = find(stored.user_id)) {
      known->update_login(stored.device_id, stored.provider, stored.access_token, stored.refresh_token, fresh->profile());
      fresh->log_out();  // its tokens live on in `known`; this copy goes
      return known;
    }
    fresh->set_observer(weak_from_this());
    users_.push_back(fresh);
    return fresh;
  }

  std::shared_ptr<session> current_user() const {
    const std::lock_guard lock(mutex_);
    const auto& user = find(current_);
    return user && user->logged_in() ? user : nullptr;
  }

  std::vector<std::shared_ptr<session>> all_users() const {
    const std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<session>> out;
    for (const auto& user : users_)
      if (user->logged_in()) out.push_back(user);
    return out;
  }

  result<void> switch_user(const std::shared_ptr<session>& user) {
    const std::lock_guard lock(mutex_);
    if (!user || find(user->user_id()) != user || !user->logged_in())
      return unexpected{local_error(errc::invalid_argument, "switch user: the user is not logged in to this app")};
    if (!store_) return {};
    if (auto made_current = store_->set_current(user->user_id()); !made_current) return made_current;
    current_ = user->user_id();
    return {};
  }

  // A session of ours changed: save its new tokens, or forget it when it ended. A store that fails here
  // is not reported (there is no caller to tell); the store then holds older tokens, which a refresh or
  // a 401 puts right at the next call.
  void tokens_changed(session& user) noexcept override {
#if APIKEYS_HAS_EXCEPTIONS
    try {
#endif
      const std::lock_guard lock(mutex_);
      const auto& known = find(user.user_id());
      if (!store_ || known.get() != &user) return;
      if (user.logged_in()) {
        (void)store_->save(to_stored(user));
        return;
      }
      const std::shared_ptr<session> ended = known;  // `known` refers into users_, which erase moves
      std::erase(users_, ended);
      (void)store_->remove(user.user_id());
      if (current_ == user.user_id()) {
        current_ = users_.empty() ? std::string{} : users_.back()->user_id();
        (void)store_->set_current(current_);
      }
#if APIKEYS_HAS_EXCEPTIONS
    } catch (...) {
    }
#endif
  }

 private:
  const std::shared_ptr<session>& find(std::string_view user_id) const {
    static const std::shared_ptr<session> none;
    for (const auto& user : users_)
      if (user->user_id() == user_id) return user;
    return none;
  }

  mutable std::mutex mutex_;
  std::unique_ptr<any_session_store> store_;
  std::vector<std::shared_ptr<session>> users_;
  std::string current_;
};

}  // namespace detail

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::stored_user>
    : apikeys::detail::described_formatter<apikeys::stored_user, &apikeys::detail::describe> {};

#endif  // APIKEYS_SESSION_STORE_HPP
