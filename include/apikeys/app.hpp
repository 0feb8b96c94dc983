// apikeys::basic_app_client: logging in, sessions, location, and the key clients of logged-in users.
#ifndef APIKEYS_APP_HPP
#define APIKEYS_APP_HPP

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "async_transport.hpp"
#include "client.hpp"
#include "config.hpp"
#include "credentials.hpp"
#include "decoder.hpp"
#include "detail/exchange.hpp"
#include "detail/pipeline.hpp"
#include "detail/unique_function.hpp"
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
/// The Executor shapes what each method returns, as for basic_api_key_client.
///
/// Transport may be a reference type (`my_transport&`); it has send(), async_send(), or both.
/// Thread safety: every method may be called concurrently provided the Transport's send() (or
/// async_send()) may; the location is looked up once even then, whichever executors ask. The app must
/// outlive every call it started that has not finished, and the key clients it handed out.
template <class Transport, class Executor = inline_executor, class ErrorPolicy = throw_on_error>
class basic_app_client {
  static_assert(detail::check_any_transport<Transport>());
  static_assert(executor<Executor>, "apikeys: Executor needs execute(operation) (see apikeys/executor.hpp)");
  static_assert(error_policy<ErrorPolicy>, "apikeys: ErrorPolicy needs a static apply(result<T>&&) (see error_policy.hpp)");

 public:
  using transport_type = Transport;
  using transport_ref = std::remove_reference_t<Transport>&;
  using executor_type = Executor;
  using error_policy_type = ErrorPolicy;
  /// True when the Transport has async_send: the future, callback and coroutine executors then block no thread.
  static constexpr bool asynchronous_transport = async_transport<std::remove_reference_t<Transport>>;

  basic_app_client(Transport transport, app_config config, Executor executor = {})
      : transport_(std::forward<Transport>(transport)), config_(std::move(config)), executor_(std::move(executor)) {}

  /// Logs in and returns the new session (a std::shared_ptr<session>, shared by the clients that use it).
  decltype(auto) log_in(const credentials& creds) { return launch(login_machine<credentials>{this, creds, {}}); }
  /// Registers an email/password user; the user can log in at once.
  decltype(auto) register_user(std::string_view email, std::string_view password) {
    return launch(register_machine<std::string, secret>{this, std::string{email}, secret{password}, {}});
  }
  /// Replaces the session's access token. A 401 ends the session (section 7).
  decltype(auto) refresh(std::shared_ptr<session> user) {
    return launch(refresh_machine<std::shared_ptr<session>>{this, std::move(user)});
  }
  /// Revokes the session on the server and ends it here; the session ends here even when the server
  /// cannot be reached (the error is still reported). Logging out a logged-out session sends nothing.
  decltype(auto) log_out(std::shared_ptr<session> user) {
    return launch(logout_machine<std::shared_ptr<session>>{this, std::move(user)});
  }
  /// The user's profile. Uses the access token; a 401 is answered by one refresh and one retry.
  decltype(auto) profile(std::shared_ptr<session> user) {
    return launch(profile_machine<std::shared_ptr<session>>{this, std::move(user), 0});
  }
  /// Where the app lives; looked up once, then cached.
  decltype(auto) location() { return launch(cached_location_machine{this}); }

  /// A key client for `user`, sharing this app's transport (the app must outlive it) and, when it is of
  /// the same type, this app's executor (and so its thread pool). Pick another executor or error policy
  /// per client: `app.api_keys<apikeys::return_result>(user)`.
  template <class Policy = ErrorPolicy, class Exec = Executor>
  basic_api_key_client<transport_ref, Exec, Policy> api_keys(std::shared_ptr<session> user) {
    if constexpr (std::is_same_v<Exec, Executor>) {
      return api_keys<Policy, Exec>(std::move(user), executor_);
    } else {
      return api_keys<Policy, Exec>(std::move(user), Exec{});
    }
  }
  /// As above, with the key client's own executor.
  template <class Policy = ErrorPolicy, class Exec = Executor>
  basic_api_key_client<transport_ref, Exec, Policy> api_keys(std::shared_ptr<session> user, Exec executor) {
    return basic_api_key_client<transport_ref, Exec, Policy>(transport_, std::move(user), client_options{config_.timeout},
                                                             std::move(executor));
  }

  const app_config& config() const noexcept { return config_; }
  transport_ref transport() noexcept { return transport_; }
  Executor& executor() noexcept { return executor_; }

  // The operations themselves, as result<T>, run to the end on this thread whatever the Executor.
  result<std::shared_ptr<session>> do_log_in(const credentials& creds) {
    return run(login_machine<const credentials&>{this, creds, {}});
  }
  result<void> do_register_user(std::string_view email, std::string_view password) {
    return run(register_machine<std::string_view, std::string_view>{this, email, password, {}});
  }
  result<void> do_refresh(const std::shared_ptr<session>& user) {
    return run(refresh_machine<const std::shared_ptr<session>&>{this, user});
  }
  result<void> do_log_out(const std::shared_ptr<session>& user) {
    return run(logout_machine<const std::shared_ptr<session>&>{this, user});
  }
  result<user_profile> do_profile(const std::shared_ptr<session>& user) {
    return run(profile_machine<const std::shared_ptr<session>&>{this, user, 0});
  }

  result<location_response> do_location() {
    {
      // One lookup in flight, whoever started it; later callers wait for its answer.
      std::unique_lock lock(location_mutex_);
      location_idle_.wait(lock, [&] { return !location_in_flight_; });
      if (location_) return *location_;
      location_in_flight_ = true;
    }
    struct settle_on_throw {
      basic_app_client* self;
      bool armed = true;
      ~settle_on_throw() {
        if (armed) self->settle_location(unexpected{detail::client_error(errc::transport_error, "the location lookup failed")});
      }
    } guard{this};
    lookup_machine m{this};
    auto found = detail::run_sync(transport_, m);
    guard.armed = false;
    settle_location(found);
    return found;
  }

 private:
  template <class, class, class>
  friend class detail::call;

  ops::request_context context(std::string_view host, std::string_view token) const {
    return ops::request_context{host, token, config_.timeout};
  }

  template <class T>
  static result<T> failed(api_error error, std::string_view action) {
    if (error.context.empty()) error.context.assign(action);
    return unexpected{std::move(error)};
  }

  // --- the operations, each a machine (detail/pipeline.hpp): build, then finish with each answer --------
  // The type parameters say how arguments are held: owned by a call an executor may run later, borrowed
  // by the do_ functions, which run at once. Machines that `needs_location` are told it (located()) before start().

  template <class Creds>
  struct login_machine {
    static constexpr bool needs_location = true;
    using value_type = std::shared_ptr<session>;
    basic_app_client* self;
    Creds creds;
    std::string host{};

    void located(const location_response& where) { host = where.hostname; }

    std::optional<result<value_type>> start(http_request& request) {
      const auto& config = self->config_;
      if (auto invalid = ops::build_login(request, self->context(host, {}), config.app_id, creds, config.device)) {
        detail::wipe(request);
        return fail(std::move(*invalid));
      }
      return std::nullopt;
    }
    result<value_type> finish(result<http_response>&& response) {
      if (!response) return fail(std::move(response).error());
      auto login = decode_login(*response);
      detail::wipe(*response);
      if (!login) return fail(std::move(login).error());
      return std::make_shared<session>(std::move(login->user_id), std::move(login->device_id), std::string{creds.provider()},
                                       host, std::move(login->access_token), std::move(login->refresh_token));
    }
    result<value_type> fail(api_error error) const { return failed<value_type>(std::move(error), "log in"); }
  };

  template <class Email, class Password>
  struct register_machine {
    static constexpr bool needs_location = true;
    using value_type = void;
    basic_app_client* self;
    Email email;
    Password password;
    std::string host{};

    void located(const location_response& where) { host = where.hostname; }

    std::optional<result<void>> start(http_request& request) {
      if (auto invalid = ops::build_register(request, self->context(host, {}), self->config_.app_id, email, reveal(password))) {
        detail::wipe(request);
        return fail(std::move(*invalid));
      }
      return std::nullopt;
    }
    result<void> finish(result<http_response>&& response) {
      if (!response) return fail(std::move(response).error());
      return {};
    }
    result<void> fail(api_error error) const { return failed<void>(std::move(error), "register user"); }

    static std::string_view reveal(const secret& s) noexcept { return s.reveal(); }
    static std::string_view reveal(std::string_view s) noexcept { return s; }
  };

  // Refresh and log out send the refresh token; a 401 means the session is over (section 7).
  template <class Build>
  static std::optional<api_error> build_with_refresh_token(const basic_app_client& self, const std::shared_ptr<session>& user,
                                                           http_request& request, Build&& build) {
    if (!user) return detail::client_error(errc::not_logged_in, "no session: log in first");
    const bool ok = user->with_refresh_token([&](std::string_view token) { build(request, self.context(user->host(), token)); });
    if (!ok) return detail::client_error(errc::not_logged_in, "the user must be logged in");
    return std::nullopt;
  }
  static void end_session_on_401(const std::shared_ptr<session>& user, const result<http_response>& response) {
    if (!response && response.error().http_status == 401) user->log_out();
  }

  // The refresh exchange, shared by refresh() and profile()'s retry.
  static std::optional<api_error> start_refresh(const basic_app_client& self, const std::shared_ptr<session>& user,
                                                http_request& request) {
    return build_with_refresh_token(self, user, request,
                                    [](http_request& r, const ops::request_context& ctx) { ops::build_refresh(r, ctx); });
  }
  static result<void> finish_refresh(const std::shared_ptr<session>& user, result<http_response>&& response) {
    end_session_on_401(user, response);
    if (!response) return failed<void>(std::move(response).error(), "refresh session");
    auto token = decode_access_token(*response);
    detail::wipe(*response);
    if (!token) return failed<void>(std::move(token).error(), "refresh session");
    user->set_access_token(std::move(*token));
    return {};
  }

  template <class User>
  struct refresh_machine {
    static constexpr bool needs_location = false;
    using value_type = void;
    basic_app_client* self;
    User user;

    std::optional<result<void>> start(http_request& request) {
      if (auto refused = start_refresh(*self, user, request)) return fail(std::move(*refused));
      return std::nullopt;
    }
    result<void> finish(result<http_response>&& response) { return finish_refresh(user, std::move(response)); }
    result<void> fail(api_error error) const { return failed<void>(std::move(error), "refresh session"); }
  };

  template <class User>
  struct logout_machine {
    static constexpr bool needs_location = false;
    using value_type = void;
    basic_app_client* self;
    User user;

    std::optional<result<void>> start(http_request& request) {
      if (user && !user->logged_in()) return result<void>{};
      auto refused = build_with_refresh_token(*self, user, request, [](http_request& r, const ops::request_context& ctx) {
        ops::build_logout(r, ctx);
      });
      if (!refused) return std::nullopt;
      if (user) user->log_out();
      return fail(std::move(*refused));
    }
    result<void> finish(result<http_response>&& response) {
      end_session_on_401(user, response);
      user->log_out();
      if (!response) return fail(std::move(response).error());
      return {};
    }
    result<void> fail(api_error error) const { return failed<void>(std::move(error), "log out"); }
  };

  // Up to three exchanges: the profile; on a first 401 a refresh; then the profile once more.
  template <class User>
  struct profile_machine {
    static constexpr bool needs_location = false;
    using value_type = user_profile;
    basic_app_client* self;
    User user;
    int step = 0;  // 0: first profile request, 1: refresh, 2: second profile request

    std::optional<result<value_type>> start(http_request& request) {
      step = 0;
      if (!user) return fail(detail::client_error(errc::not_logged_in, "no session: log in first"));
      return ask(request);
    }
    std::optional<result<value_type>> resume(result<http_response>&& response, http_request& request) {
      if (step == 1) {
        if (auto refreshed = finish_refresh(user, std::move(response)); !refreshed) return unexpected{std::move(refreshed).error()};
        step = 2;
        return ask(request);
      }
      if (!response) {
        if (response.error().http_status == 401 && step == 0) {
          step = 1;
          if (auto refused = start_refresh(*self, user, request)) return failed<value_type>(std::move(*refused), "refresh session");
          return std::nullopt;
        }
        return fail(std::move(response).error());
      }
      auto found = decode_profile(*response);
      if (!found) return fail(std::move(found).error());
      return found;
    }
    result<value_type> fail(api_error error) const { return failed<value_type>(std::move(error), "profile"); }

    std::optional<result<value_type>> ask(http_request& request) {
      const bool ok = user->with_access_token([&](std::string_view token) {
        ops::build_profile(request, self->context(user->host(), token));
      });
      if (!ok) return fail(detail::client_error(errc::not_logged_in, "the user must be logged in"));
      return std::nullopt;
    }
  };

  // The location request itself; the cache around it is do_location's and async_location's.
  struct lookup_machine {
    static constexpr bool needs_location = false;
    using value_type = location_response;
    basic_app_client* self;

    std::optional<result<value_type>> start(http_request& request) {
      const auto& config = self->config_;
      ops::build_location(request, config.base_url, config.app_id, config.timeout);
      return std::nullopt;
    }
    result<value_type> finish(result<http_response>&& response) {
      if (!response) return fail(std::move(response).error());
      auto found = decode_location(*response);
      if (!found) return fail(std::move(found).error());
      return found;
    }
    result<value_type> fail(api_error error) const { return failed<value_type>(std::move(error), "look up the app's location"); }
  };

  // location(): the answer of the single lookup, which it waits for like any call that needs it.
  struct cached_location_machine {
    static constexpr bool needs_location = true;
    using value_type = location_response;
    basic_app_client* self;
    std::optional<location_response> found{};

    void located(const location_response& where) { found = where; }
    std::optional<result<value_type>> start(http_request&) { return result<value_type>{*found}; }
    result<value_type> finish(result<http_response>&&) { return fail({}); }  // never sends
    result<value_type> fail(api_error error) const { return failed<value_type>(std::move(error), "look up the app's location"); }
  };

  // --- the location, looked up once whichever path asks --------------------------------------------------

  // Ends the lookup in flight: caches a success, wakes the blocked callers, completes the waiting calls.
  void settle_location(const result<location_response>& found) {
    std::vector<detail::unique_function<void(result<location_response>)>> waiting;
    {
      const std::lock_guard lock(location_mutex_);
      if (found) location_ = *found;
      location_in_flight_ = false;
      waiting.swap(location_waiters_);
    }
    location_idle_.notify_all();
    for (auto& then : waiting) then(result<location_response>{found});
  }

  // As do_location, without blocking: `then(result<location_response>)` runs once the location is known.
  template <class Then>
  void async_location(Then&& then) {
    std::unique_lock lock(location_mutex_);
    if (location_) {
      result<location_response> cached{*location_};
      lock.unlock();
      then(std::move(cached));
      return;
    }
    location_waiters_.emplace_back(std::forward<Then>(then));
    if (location_in_flight_) return;
    location_in_flight_ = true;
    lock.unlock();
    detail::run_async(transport_, lookup_machine{this}, [this](result<location_response>&& found) { settle_location(found); });
  }

  // --- running machines -------------------------------------------------------------------------------------

  template <class Machine>
  result<typename Machine::value_type> run(Machine&& m) {
    return run_sync(m);
  }

  template <class Machine>
  decltype(auto) launch(Machine&& m) {
    using machine_type = std::remove_cvref_t<Machine>;
    return executor_.execute(detail::call<basic_app_client, machine_type, ErrorPolicy>(*this, std::forward<Machine>(m)));
  }

  // For detail::call, and the do_ functions.
  template <class Machine>
  result<typename Machine::value_type> run_sync(Machine& m) {
    if constexpr (Machine::needs_location) {
      auto found = do_location();
      if (!found) return m.fail(std::move(found).error());
      m.located(*found);
    }
    return detail::run_sync(transport_, m);
  }

  template <class Machine, class Done>
  void run_async(Machine&& machine, Done&& done) {
    using machine_type = std::remove_cvref_t<Machine>;
    if constexpr (!asynchronous_transport) {
      machine_type local(std::forward<Machine>(machine));
      done(run_sync(local));
    } else if constexpr (machine_type::needs_location) {
      async_location([this, m = machine_type(std::forward<Machine>(machine)), then = std::decay_t<Done>(std::forward<Done>(done))](
                         result<location_response>&& found) mutable {
        if (!found) return then(m.fail(std::move(found).error()));
        m.located(*found);
        detail::run_async(transport_, std::move(m), std::move(then));
      });
    } else {
      detail::run_async(transport_, std::forward<Machine>(machine), std::forward<Done>(done));
    }
  }

  Transport transport_;
  app_config config_;
  std::mutex location_mutex_;
  std::condition_variable location_idle_;
  bool location_in_flight_ = false;
  std::vector<detail::unique_function<void(result<location_response>)>> location_waiters_;
  std::optional<location_response> location_;
  // Last, so it goes first: an executor that owns its pool joins the calls still running on it while
  // everything they use is still here.
  Executor executor_;
};

template <class Transport>
using app_client = basic_app_client<Transport>;

}  // namespace apikeys

#endif  // APIKEYS_APP_HPP
