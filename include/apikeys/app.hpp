// apikeys::basic_app_client: logging in, sessions, location, and the key clients of logged-in users.
#ifndef APIKEYS_APP_HPP
#define APIKEYS_APP_HPP

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "client.hpp"
#include "config.hpp"
#include "credentials.hpp"
#include "decoder.hpp"
#include "detail/exchange.hpp"
#include "error.hpp"
#include "error_policy.hpp"
#include "executor.hpp"
#include "http.hpp"
#include "operations.hpp"
#include "result.hpp"
#include "session.hpp"
#include "transport.hpp"

namespace apikeys {

/// One App Services app: registers users, logs devices in (email/password, API key, anonymous, custom
/// token), refreshes and ends sessions, and hands out key clients for logged-in users. Before its first
/// request it asks the location route once where the app lives; every session it makes talks to that host.
///
/// Transport may be a reference type (`my_transport&`). Thread safety: every method may be called
/// concurrently provided the Transport's send() may; the location is looked up once even then.
template <class Transport, class Executor = inline_executor, class ErrorPolicy = throw_on_error>
class basic_app_client {
  static_assert(detail::check_transport<Transport>());
  static_assert(executor<Executor>, "apikeys: Executor needs execute(operation) (see apikeys/executor.hpp)");
  static_assert(error_policy<ErrorPolicy>, "apikeys: ErrorPolicy needs a static apply(result<T>&&) (see error_policy.hpp)");

 public:
  using transport_type = Transport;
  using transport_ref = std::remove_reference_t<Transport>&;

  basic_app_client(Transport transport, app_config config, Executor executor = {})
      : transport_(std::forward<Transport>(transport)), config_(std::move(config)), executor_(std::move(executor)) {}

  /// Logs in and returns the new session (a std::shared_ptr<session>, shared by the clients that use it).
  decltype(auto) log_in(const credentials& creds) {
    return executor_.execute([this, creds] { return ErrorPolicy::apply(do_log_in(creds)); });
  }
  /// Registers an email/password user; the user can log in at once.
  decltype(auto) register_user(std::string_view email, std::string_view password) {
    return executor_.execute([this, email = std::string{email}, password = secret{password}] {
      return ErrorPolicy::apply(do_register_user(email, password.reveal()));
    });
  }
  /// Replaces the session's access token. A 401 ends the session (section 7).
  decltype(auto) refresh(std::shared_ptr<session> user) {
    return executor_.execute([this, user = std::move(user)] { return ErrorPolicy::apply(do_refresh(user)); });
  }
  /// Revokes the session on the server and ends it here; the session ends here even when the server
  /// cannot be reached (the error is still reported). Logging out a logged-out session sends nothing.
  decltype(auto) log_out(std::shared_ptr<session> user) {
    return executor_.execute([this, user = std::move(user)] { return ErrorPolicy::apply(do_log_out(user)); });
  }
  /// The user's profile. Uses the access token; a 401 is answered by one refresh and one retry.
  decltype(auto) profile(std::shared_ptr<session> user) {
    return executor_.execute([this, user = std::move(user)] { return ErrorPolicy::apply(do_profile(user)); });
  }
  /// Where the app lives; looked up once, then cached.
  decltype(auto) location() {
    return executor_.execute([this] { return ErrorPolicy::apply(do_location()); });
  }

  /// A key client for `user`, sharing this app's transport (the app must outlive it). Pick another
  /// executor or error policy per client: `app.api_keys<apikeys::return_result>(user)`.
  template <class Policy = ErrorPolicy, class Exec = Executor>
  basic_api_key_client<transport_ref, Exec, Policy> api_keys(std::shared_ptr<session> user, Exec executor = {}) {
    return basic_api_key_client<transport_ref, Exec, Policy>(transport_, std::move(user), client_options{config_.timeout},
                                                             std::move(executor));
  }

  const app_config& config() const noexcept { return config_; }
  transport_ref transport() noexcept { return transport_; }

  // The operations themselves, as result<T>.
  result<std::shared_ptr<session>> do_log_in(const credentials& creds) {
    auto host = do_location();
    if (!host) return failed<std::shared_ptr<session>>(std::move(host).error(), "log in");
    http_request request;
    if (auto invalid = ops::build_login(request, context(host->hostname, {}), config_.app_id, creds, config_.device)) {
      detail::wipe(request);
      return failed<std::shared_ptr<session>>(std::move(*invalid), "log in");
    }
    auto response = detail::exchange(transport_, request);
    if (!response) return failed<std::shared_ptr<session>>(std::move(response).error(), "log in");
    auto login = decode_login(*response);
    detail::wipe(*response);
    if (!login) return failed<std::shared_ptr<session>>(std::move(login).error(), "log in");
    return std::make_shared<session>(std::move(login->user_id), std::move(login->device_id), std::string{creds.provider()},
                                     host->hostname, std::move(login->access_token), std::move(login->refresh_token));
  }

  result<void> do_register_user(std::string_view email, std::string_view password) {
    auto host = do_location();
    if (!host) return failed<void>(std::move(host).error(), "register user");
    http_request request;
    if (auto invalid = ops::build_register(request, context(host->hostname, {}), config_.app_id, email, password)) {
      detail::wipe(request);
      return failed<void>(std::move(*invalid), "register user");
    }
    auto response = detail::exchange(transport_, request);
    if (!response) return failed<void>(std::move(response).error(), "register user");
    return {};
  }

  result<void> do_refresh(const std::shared_ptr<session>& user) {
    auto response = with_refresh_token(user, [](http_request& request, const ops::request_context& ctx) {
      ops::build_refresh(request, ctx);
    });
    if (!response) return failed<void>(std::move(response).error(), "refresh session");
    auto token = decode_access_token(*response);
    detail::wipe(*response);
    if (!token) return failed<void>(std::move(token).error(), "refresh session");
    user->set_access_token(std::move(*token));
    return {};
  }

  result<void> do_log_out(const std::shared_ptr<session>& user) {
    if (user && !user->logged_in()) return {};
    auto response = with_refresh_token(user, [](http_request& request, const ops::request_context& ctx) {
      ops::build_logout(request, ctx);
    });
    if (user) user->log_out();
    if (!response) return failed<void>(std::move(response).error(), "log out");
    return {};
  }

  result<user_profile> do_profile(const std::shared_ptr<session>& user) {
    if (!user) return failed<user_profile>(detail::client_error(errc::not_logged_in, "no session: log in first"), "profile");
    for (int attempt = 0;; ++attempt) {
      http_request request;
      const bool ok = user->with_access_token([&](std::string_view token) {
        ops::build_profile(request, context(user->host(), token));
      });
      if (!ok) return failed<user_profile>(detail::client_error(errc::not_logged_in, "the user must be logged in"), "profile");
      auto response = detail::exchange(transport_, request);
      if (!response) {
        if (response.error().http_status == 401 && attempt == 0) {
          if (auto refreshed = do_refresh(user); !refreshed) return unexpected{std::move(refreshed).error()};
          continue;
        }
        return failed<user_profile>(std::move(response).error(), "profile");
      }
      auto profile = decode_profile(*response);
      if (!profile) return failed<user_profile>(std::move(profile).error(), "profile");
      return profile;
    }
  }

  result<location_response> do_location() {
    std::lock_guard lock(location_mutex_);  // one lookup in flight; later callers wait for its answer
    if (location_) return *location_;
    http_request request;
    ops::build_location(request, config_.base_url, config_.app_id, config_.timeout);
    auto response = detail::exchange(transport_, request);
    if (!response) return failed<location_response>(std::move(response).error(), "look up the app's location");
    auto found = decode_location(*response);
    if (!found) return failed<location_response>(std::move(found).error(), "look up the app's location");
    location_ = *found;
    return found;
  }

 private:
  ops::request_context context(std::string_view host, std::string_view token) const {
    return ops::request_context{host, token, config_.timeout};
  }

  // Refresh and log out send the refresh token; a 401 means the session is over (section 7).
  template <class Build>
  result<http_response> with_refresh_token(const std::shared_ptr<session>& user, Build&& build) {
    if (!user) return unexpected{detail::client_error(errc::not_logged_in, "no session: log in first")};
    http_request request;
    const bool ok = user->with_refresh_token([&](std::string_view token) { build(request, context(user->host(), token)); });
    if (!ok) return unexpected{detail::client_error(errc::not_logged_in, "the user must be logged in")};
    auto response = detail::exchange(transport_, request);
    if (!response && response.error().http_status == 401) user->log_out();
    return response;
  }

  template <class T>
  static result<T> failed(api_error error, std::string_view action) {
    if (error.context.empty()) error.context.assign(action);
    return unexpected{std::move(error)};
  }

  Transport transport_;
  app_config config_;
  Executor executor_;
  std::mutex location_mutex_;
  std::optional<location_response> location_;
};

template <class Transport>
using app_client = basic_app_client<Transport>;

}  // namespace apikeys

#endif  // APIKEYS_APP_HPP
