// apikeys::session: one logged-in user on this device: ids, host, tokens, and whether it is still valid.
#ifndef APIKEYS_SESSION_HPP
#define APIKEYS_SESSION_HPP

#include <cstdint>
#include <memory>
#include <optional>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "auth_types.hpp"
#include "detail/format.hpp"
#include "secret.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

class session;

namespace detail {
/// Told after a session's tokens changed (a refresh, a log out), on the thread that changed them and
/// outside the session's lock: how an app keeps its session store up to date (session_store.hpp).
class session_observer {
 public:
  virtual void tokens_changed(session& user) noexcept = 0;

 protected:
  ~session_observer() = default;
};
}  // namespace detail

/// A user's session, made by a log in. The user id and host never change; the tokens do (refresh
/// replaces the access token, log out or a refused refresh token clears both), and so does the profile;
/// a later log in of the same user through an app with a session store replaces the tokens, the device id,
/// the provider and the profile (update_login). Thread safety: every member function may be called
/// concurrently; one session is meant to be shared by many clients and threads.
class session {
 public:
  session(std::string user_id, std::string device_id, std::string provider, std::string host, secret access_token,
          secret refresh_token)
      : user_id_(std::move(user_id)),
        host_(std::move(host)),
        device_id_(std::move(device_id)),
        provider_(std::move(provider)),
        access_token_(std::move(access_token)),
        refresh_token_(std::move(refresh_token)) {}

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  const std::string& user_id() const noexcept { return user_id_; }
  /// A copy: a later log in of the same user may change it (update_login).
  std::string device_id() const {
    std::lock_guard lock(mutex_);
    return device_id_;
  }
  /// The provider of the log in that made (or last updated) this session: "local-userpass", "api-key",
  /// "anon-user" or "custom-token". A copy, as device_id().
  std::string provider() const {
    std::lock_guard lock(mutex_);
    return provider_;
  }
  /// scheme://authority[/prefix] that every call of this session goes to (the location answer's hostname).
  const std::string& host() const noexcept { return host_; }

  bool logged_in() const {
    std::lock_guard lock(mutex_);
    return !refresh_token_.empty();
  }

  /// Calls `use(token)` with the refresh token under the session's lock and returns true, or returns
  /// false without calling it when the session is logged out. The view must not escape `use`. A `use`
  /// that takes a second argument is also told which log in the token is from (login_number()).
  template <class Use>
  bool with_refresh_token(Use&& use) const {
    std::lock_guard lock(mutex_);
    if (refresh_token_.empty()) return false;
    call_with_token(use, refresh_token_);
    return true;
  }
  /// As with_refresh_token, for the access token.
  template <class Use>
  bool with_access_token(Use&& use) const {
    std::lock_guard lock(mutex_);
    if (refresh_token_.empty() || access_token_.empty()) return false;
    call_with_token(use, access_token_);
    return true;
  }
  /// Which log in the tokens are from: 0 for the one that made the session, one more after each
  /// update_login. A call that got a 401 ends the session only if no log in came since it was sent.
  std::uint64_t login_number() const {
    std::lock_guard lock(mutex_);
    return login_number_;
  }

  /// Copies, for code that persists a session; each copy wipes itself when destroyed.
  secret access_token() const {
    std::lock_guard lock(mutex_);
    return access_token_;
  }
  secret refresh_token() const {
    std::lock_guard lock(mutex_);
    return refresh_token_;
  }

  /// The user's profile (identities and data): the one fetched by the log in that made this session
  /// (app_config::fetch_profile_at_login), replaced by each successful app.profile(). Null when none was
  /// fetched. A snapshot shared with the caller: a later fetch replaces it and never changes it.
  std::shared_ptr<const user_profile> profile() const {
    std::lock_guard lock(mutex_);
    return profile_;
  }
  void set_profile(user_profile profile) {
    auto next = std::make_shared<const user_profile>(std::move(profile));
    std::lock_guard lock(mutex_);
    profile_ = std::move(next);
  }

  /// A refresh's new access token; ignored once the session is logged out.
  void set_access_token(secret token) {
    {
      std::lock_guard lock(mutex_);
      if (refresh_token_.empty()) return;
      access_token_ = std::move(token);
    }
    notify();
  }

  /// A new log in of the same user: both tokens, the device id and the provider at once, so no reader
  /// sees a mix of two logins. Logs a logged-out session in again. The observer is not told: the app
  /// that calls this (its upsert) stores the change itself.
  /// A null `profile` (the log in fetched none) keeps the one the session has.
  void update_login(std::string device_id, std::string provider, secret access_token, secret refresh_token,
                    std::shared_ptr<const user_profile> profile) {
    std::lock_guard lock(mutex_);
    device_id_ = std::move(device_id);
    provider_ = std::move(provider);
    access_token_ = std::move(access_token);
    refresh_token_ = std::move(refresh_token);
    if (profile) profile_ = std::move(profile);
    ++login_number_;
  }

  /// Ends the session locally: both tokens are wiped and every later call is refused without a request.
  void log_out() noexcept {
    {
      std::lock_guard lock(mutex_);
      if (refresh_token_.empty() && access_token_.empty()) return;
      access_token_.clear();
      refresh_token_.clear();
    }
    notify();
  }

  /// Whom to tell when the tokens change; an app with a session store sets itself. An observer that is
  /// gone is not told; setting another replaces it.
  void set_observer(std::weak_ptr<detail::session_observer> observer) {
    std::lock_guard lock(mutex_);
    observer_ = std::move(observer);
  }
  /// As log_out(), after calling `use(token)` with the refresh token under the same lock (to build the
  /// request that revokes the session on the server), so of several callers at once only one gets it.
  /// Returns false without calling `use` when the session is already logged out, or when `only_login` is
  /// given and a later log in replaced the tokens (login_number()): the 401 was for tokens it no longer
  /// has. The tokens are wiped even if `use` throws; the view must not escape `use`.
  template <class Use>
  bool end_with_refresh_token(Use&& use, std::optional<std::uint64_t> only_login = std::nullopt) {
    bool ended = false;
    struct notify_on_exit {  // after the lock is released, as log_out() does
      session* self;
      const bool* ended;
      ~notify_on_exit() {
        if (*ended) self->notify();
      }
    } const tell{this, &ended};
    std::lock_guard lock(mutex_);
    if (refresh_token_.empty() || (only_login && *only_login != login_number_)) return false;
    ended = true;
    struct wipe_on_exit {
      session* self;
      ~wipe_on_exit() {
        self->access_token_.clear();
        self->refresh_token_.clear();
      }
    } const wipe{this};
    use(refresh_token_.reveal());
    return true;
  }

 private:
  template <class Use>
  void call_with_token(Use& use, const secret& token) const {
    if constexpr (std::is_invocable_v<Use&, std::string_view, std::uint64_t>) {
      use(token.reveal(), login_number_);
    } else {
      use(token.reveal());
    }
  }

  void notify() noexcept {
    std::shared_ptr<detail::session_observer> observer;
    {
      std::lock_guard lock(mutex_);
      observer = observer_.lock();
    }
    if (observer) observer->tokens_changed(*this);
  }

  const std::string user_id_;
  const std::string host_;
  mutable std::mutex mutex_;
  std::string device_id_;
  std::string provider_;
  secret access_token_;
  secret refresh_token_;
  std::shared_ptr<const user_profile> profile_;
  std::uint64_t login_number_ = 0;
  std::weak_ptr<detail::session_observer> observer_;
};

namespace detail {
inline std::string describe(const session& s) {
  std::string out = "session{user_id=";
  out.append(s.user_id()).append(", device_id=").append(s.device_id()).append(", provider=").append(s.provider());
  out.append(", host=").append(s.host()).append(s.logged_in() ? ", logged in}" : ", logged out}");
  return out;
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const session& s) { return os << detail::describe(s); }

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::session> : apikeys::detail::described_formatter<apikeys::session, &apikeys::detail::describe> {};

#endif  // APIKEYS_SESSION_HPP
