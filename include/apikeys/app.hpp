// apikeys::basic_app_client: logging in, sessions, location, and the key clients of logged-in users.
#ifndef APIKEYS_APP_HPP
#define APIKEYS_APP_HPP

#include <chrono>
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
#include "auth_types.hpp"
#include "client.hpp"
#include "config.hpp"
#include "credentials.hpp"
#include "detail/client_core.hpp"
#include "detail/unique_function.hpp"
#include "error.hpp"
#include "error_policy.hpp"
#include "executor.hpp"
#include "http.hpp"
#include "log.hpp"
#include "operations/auth.hpp"
#include "result.hpp"
#include "session.hpp"
#include "session_store.hpp"
#include "transport.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

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
  struct state;
  using core_type = detail::client_core<Transport, Executor, ErrorPolicy, state>;
  using lookup_machine = detail::app_call<ops::locate_app>;

  // The app's own state: its config, and the location, looked up once whichever path asks.
  struct state {
    explicit state(app_config c) : config(std::move(c)) {}

    app_config config;
    // The users API (use_store); shared, so a session that outlives the app never reaches a dead app.
    std::shared_ptr<detail::user_registry> users = std::make_shared<detail::user_registry>();
    std::mutex location_mutex;
    std::condition_variable location_idle;
    bool location_in_flight = false;
    std::vector<detail::unique_function<void(result<location_response>)>> location_waiters;
    std::optional<location_response> found;

    const log_sink& logger() const noexcept { return config.logger; }
    const log_sink* logger_if_on() const noexcept { return config.logger ? &config.logger : nullptr; }

    // The location, on this thread: one lookup in flight, whoever started it; later callers wait for its answer.
    result<location_response> location(core_type& core) {
      {
        std::unique_lock lock(location_mutex);
        location_idle.wait(lock, [&] { return !location_in_flight; });
        if (found) return *found;
        location_in_flight = true;
      }
      struct settle_on_throw {
        state* self;
        bool armed = true;
        ~settle_on_throw() {
          if (armed) self->settle(unexpected{detail::client_error(errc::transport_error, "the location lookup failed")});
        }
      } guard{this};
      lookup_machine m{&config, {}};
      auto answer = detail::run_sync(core.transport(), m, logger_if_on());
      guard.armed = false;
      settle(answer);
      return answer;
    }

    // As location(), without blocking: `then(result<location_response>)` runs once the location is known.
    template <class Then>
    void location_async(core_type& core, Then&& then) {
      std::unique_lock lock(location_mutex);
      if (found) {
        result<location_response> cached{*found};
        lock.unlock();
        then(std::move(cached));
        return;
      }
      location_waiters.emplace_back(std::forward<Then>(then));
      if (location_in_flight) return;
      location_in_flight = true;
      lock.unlock();
      detail::run_async(core.transport(), lookup_machine{&config, {}}, [this](result<location_response>&& answer) { settle(answer); },
                        logger_if_on());
    }

    // Ends the lookup in flight: caches a success, wakes the blocked callers, completes the waiting calls.
    void settle(const result<location_response>& answer) {
      std::vector<detail::unique_function<void(result<location_response>)>> waiting;
      {
        const std::lock_guard lock(location_mutex);
        if (answer) found = *answer;
        location_in_flight = false;
        waiting.swap(location_waiters);
      }
      if (answer && config.logger.enabled(log_level::info)) {
        log_event e;
        e.kind = log_event_kind::location_resolved;
        e.level = log_level::info;
        e.host = answer->hostname;
        config.logger.write(e);
      }
      location_idle.notify_all();
      for (auto& then : waiting) then(result<location_response>{answer});
    }
  };


 public:
  using transport_type = Transport;
  using transport_ref = std::remove_reference_t<Transport>&;
  using executor_type = Executor;
  using error_policy_type = ErrorPolicy;
  /// True when the Transport has async_send: the future, callback and coroutine executors then block no thread.
  static constexpr bool asynchronous_transport = core_type::asynchronous_transport;

  basic_app_client(Transport transport, app_config config, Executor executor = {})
      : core_(std::forward<Transport>(transport), std::move(executor), std::move(config)) {}

  /// Logs in and returns the new session (a std::shared_ptr<session>, shared by the clients that use it).
  /// Then fetches the profile into it (session::profile()), unless config().fetch_profile_at_login is off;
  /// a failed profile fails the log in (docs/protocol.md section 4). With a store (use_store), the user
  /// becomes the current user, and a user who is already logged in keeps the same session object, which
  /// takes the new tokens and profile (docs/protocol.md section 7).
  decltype(auto) log_in(const credentials& creds) {
    return launch(remembered_login<detail::login_call>{detail::login_call{app_call(ops::log_in{creds})},
                                                       core_.state().users.get(), config().timeout});
  }
  /// Registers an email/password user; the user can log in at once.
  decltype(auto) register_user(std::string_view email, std::string_view password) {
    return launch(app_call(ops::register_user{std::string{email}, secret{password}}));
  }
  /// Replaces the session's access token. A 401 ends the session (section 7).
  decltype(auto) refresh(std::shared_ptr<session> user) {
    return launch(session_call(std::move(user), ops::refresh_session{}));
  }
  /// Revokes the session on the server and ends it here; the session ends here even when the server
  /// cannot be reached (the error is still reported). Logging out a logged-out session sends nothing.
  /// With a store, the user is forgotten there too.
  decltype(auto) log_out(std::shared_ptr<session> user) {
    return launch(session_call(std::move(user), ops::log_out{}));
  }

  // --- the users API (.NET's App.CurrentUser, AllUsers, SwitchUser, RemoveUser) ----------------------------

  /// Keeps this app's users in `store` (session_store.hpp) from now on, and restores the users it holds:
  /// they are logged in again, without a request, with the tokens they had. Each later log in is saved
  /// (an upsert), each refresh's new access token too, and a session that ends is forgotten. The store
  /// must outlive the app. Fails (errc::store_error, through the ErrorPolicy) when the store cannot be
  /// read; the app then keeps what it had.
  template <session_store Store>
  decltype(auto) use_store(Store& store) {
    return ErrorPolicy::apply(core_.state().users->attach(std::make_unique<detail::session_store_ref<Store>>(store)));
  }
  /// The user the app acts for: the last one logged in or switched to; null without a store or a user.
  std::shared_ptr<session> current_user() const { return core_.state().users->current_user(); }
  /// The logged-in users the store holds, in the order they first logged in; empty without a store.
  std::vector<std::shared_ptr<session>> all_users() const { return core_.state().users->all_users(); }
  /// Makes `user`, one of all_users(), the current user (saved in the store); anyone else is refused with
  /// errc::invalid_argument.
  decltype(auto) switch_user(const std::shared_ptr<session>& user) {
    return ErrorPolicy::apply(core_.state().users->switch_user(user));
  }
  /// log_out under .NET's name: revokes the session, ends it here and forgets the user in the store,
  /// even when the server cannot be reached (that error is still reported).
  decltype(auto) remove_user(std::shared_ptr<session> user) { return log_out(std::move(user)); }
  /// The user's profile, also kept by the session (session::profile()). Uses the access token; a 401 is
  /// answered by one refresh and one retry.
  decltype(auto) profile(std::shared_ptr<session> user) {
    return launch(session_call(std::move(user), ops::fetch_profile{}));
  }
  /// Where the app lives; looked up once, then cached.
  decltype(auto) location() { return launch(cached_location_machine{}); }

  /// A key client for `user`, sharing this app's transport (the app must outlive it) and, when it is of
  /// the same type, this app's executor (and so its thread pool). Pick another executor or error policy
  /// per client: `app.api_keys<apikeys::return_result>(user)`.
  template <class Policy = ErrorPolicy, class Exec = Executor>
  basic_api_key_client<transport_ref, Exec, Policy> api_keys(std::shared_ptr<session> user) {
    if constexpr (std::is_same_v<Exec, Executor>) {
      return api_keys<Policy, Exec>(std::move(user), core_.executor());
    } else {
      return api_keys<Policy, Exec>(std::move(user), Exec{});
    }
  }
  /// As above, with the key client's own executor.
  template <class Policy = ErrorPolicy, class Exec = Executor>
  basic_api_key_client<transport_ref, Exec, Policy> api_keys(std::shared_ptr<session> user, Exec executor) {
    return basic_api_key_client<transport_ref, Exec, Policy>(core_.transport(), std::move(user),
                                                             client_options{config().timeout, config().logger}, std::move(executor));
  }

  const app_config& config() const noexcept { return core_.state().config; }
  transport_ref transport() noexcept { return core_.transport(); }
  Executor& executor() noexcept { return core_.executor(); }

 private:
  // The descriptors (operations/auth.hpp), as the client core runs them.
  template <class Op>
  detail::app_call<Op> app_call(Op&& op) const {
    return {&config(), std::move(op)};
  }
  template <class Op>
  detail::session_call<Op> session_call(std::shared_ptr<session> user, Op&& op) const {
    return {std::move(user), config().timeout, "the user must be logged in", std::move(op), core_.logger()};
  }

  // log_in's machine, whose new session the app's users keep (the upsert) where it is made, on whichever
  // thread finishes the call. When the store cannot be written, the new session is revoked on the server
  // (one best-effort DELETE /auth/session, whose outcome changes nothing) and the log in fails with the
  // store's error: a session nobody holds is not left valid.
  template <class Inner>
  struct remembered_login {
    using value_type = typename Inner::value_type;
    static constexpr ops::prerequisite needs = Inner::needs;
    Inner inner;
    detail::user_registry* users;  // the app's, which outlives its calls
    std::chrono::milliseconds timeout;
    std::optional<api_error> unsaved{};  // set while the revoke of a session the store refused is in flight

    void located(const location_response& where)
      requires(needs == ops::prerequisite::location)
    {
      inner.located(where);
    }
    std::optional<result<value_type>> start(http_request& request) {
      unsaved.reset();
      auto done = inner.start(request);
      if (!done) return done;
      return keep(std::move(*done), request);
    }
    std::optional<result<value_type>> resume(result<http_response>&& response, http_request& request) {
      if (unsaved) return inner.fail(std::move(*std::exchange(unsaved, std::nullopt)));  // the revoke's answer
      if constexpr (detail::one_exchange_machine<Inner>) {
        return keep(inner.finish(std::move(response)), request);
      } else {
        auto done = inner.resume(std::move(response), request);
        if (!done) return done;
        return keep(std::move(*done), request);
      }
    }
    result<value_type> fail(api_error error) const { return inner.fail(std::move(error)); }

   private:
    std::optional<result<value_type>> keep(result<value_type>&& made, http_request& request) {
      using outcome = std::optional<result<value_type>>;
      if (!made) return outcome{std::move(made)};
      const std::shared_ptr<session> fresh = *made;
      auto kept = users->adopt(std::move(*made));
      if (kept) return outcome{std::move(kept)};
      unsaved = std::move(kept).error();
      auto refused = detail::build_for_session(fresh, ops::prerequisite::refresh_token, timeout, "the user must be logged in",
                                               [&](const ops::request_context& ctx) { return ops::log_out{}.build(request, ctx); });
      fresh->log_out();
      if (!refused) return std::nullopt;
      detail::wipe(request);
      return inner.fail(std::move(*std::exchange(unsaved, std::nullopt)));
    }
  };

  // location(): the answer of the single lookup, which it waits for like any call that needs it.
  struct cached_location_machine {
    static constexpr ops::prerequisite needs = ops::prerequisite::location;
    using value_type = location_response;
    std::optional<location_response> found{};

    void located(const location_response& where) { found = where; }
    std::optional<result<value_type>> start(http_request&) { return result<value_type>{*found}; }
    result<value_type> finish(result<http_response>&&) { return fail({}); }  // never sends
    result<value_type> fail(api_error error) const { return ops::locate_app{}.fail(std::move(error)); }
  };

  // --- running machines -------------------------------------------------------------------------------------

  template <class Machine>
  decltype(auto) launch(Machine&& m) {
    return core_.launch(std::forward<Machine>(m));
  }

  core_type core_;
};

template <class Transport>
using app_client = basic_app_client<Transport>;

}  // namespace apikeys

#endif  // APIKEYS_APP_HPP
