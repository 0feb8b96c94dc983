// apikeys::detail::client_core: what both clients are made of: checks, launch, runners, the session rule.
#ifndef APIKEYS_DETAIL_CLIENT_CORE_HPP
#define APIKEYS_DETAIL_CLIENT_CORE_HPP

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../async_transport.hpp"
#include "../config.hpp"
#include "../error.hpp"
#include "../error_policy.hpp"
#include "../executor.hpp"
#include "../http.hpp"
#include "../log.hpp"
#include "../operations.hpp"
#include "../operations/auth.hpp"
#include "../operations/common.hpp"
#include "../result.hpp"
#include "../session.hpp"
#include "../version.hpp"
#include "pipeline.hpp"

namespace APIKEYS_NAMESPACE::detail {

// --- the session rule: the token a call sends, and what a 401 means (docs/protocol.md section 7) ----------

/// Builds a request that carries `user`'s refresh or access token as the bearer (read under the session's
/// lock, never copied out); `build(ctx)` fills it. A null session, or one logged out, is refused with
/// errc::not_logged_in, the latter worded by `logged_out` for the call's family.
template <class Build>
std::optional<api_error> build_for_session(const std::shared_ptr<session>& user, ops::prerequisite token,
                                           std::chrono::milliseconds timeout, std::string_view logged_out, Build&& build,
                                           std::uint64_t* login = nullptr) {
  if (!user) return client_error(errc::not_logged_in, "no session: log in first");
  std::optional<api_error> refused;
  const auto with_token = [&](std::string_view bearer, std::uint64_t from_login) {
    if (login) *login = from_login;
    refused = build(ops::request_context{user->host(), bearer, timeout});
  };
  const bool logged_in = token == ops::prerequisite::access_token ? user->with_access_token(with_token)
                                                                   : user->with_refresh_token(with_token);
  if (!logged_in) return client_error(errc::not_logged_in, std::string{logged_out});
  return refused;
}

/// A session's call (operations/keys.hpp, operations/auth.hpp) run for `user`: the descriptor's checks,
/// the session's token, the descriptor's decoding, and docs/protocol.md section 7, as realm-core does it:
/// a 401 to the refresh token ends the session and revokes it on the server (one best-effort
/// DELETE /auth/session, whose outcome never replaces the 401); a 401 to refresh itself leaves the session
/// as it was; a 401 to the access token is answered by one refresh and one retry.
template <class Op>
struct session_call {
  using value_type = typename Op::value_type;
  static constexpr ops::prerequisite needs = Op::needs;
  static_assert(needs == ops::prerequisite::refresh_token || needs == ops::prerequisite::access_token);
  static constexpr bool ends_session = requires { requires Op::ends_session; };
  static constexpr bool keeps_session_on_401 = requires { requires Op::keeps_session_on_401; };

  std::shared_ptr<session> user;
  std::chrono::milliseconds timeout;
  std::string_view logged_out;  // the family's wording of errc::not_logged_in
  Op op;
  const log_sink* logger = nullptr;  // the client's, when it is on: told when this call ends the session
  std::uint64_t sent_login = 0;      // session::login_number() of the token the request carried
  bool refreshing = false;  // access-token calls: the refresh after a first 401 is in flight
  bool retried = false;     // access-token calls: the request after that refresh is in flight
  // The 401 the caller gets: a refresh-token call's while its revoking DELETE is in flight, an access-token
  // call's while the refresh it caused is.
  std::optional<api_error> rejected{};

  std::optional<result<value_type>> start(http_request& request) {
    if constexpr (requires { op.check(); }) {
      if (auto invalid = op.check()) return op.fail(std::move(*invalid));
    }
    if constexpr (ends_session) {
      if (user && !user->logged_in()) return result<value_type>{};
    }
    refreshing = retried = false;
    rejected.reset();
    auto refused = build(request);
    if (!refused) return std::nullopt;
    wipe(request);
    if constexpr (ends_session) {
      if (user) user->log_out();
    }
    return op.fail(std::move(*refused));
  }

  std::optional<result<value_type>> resume(result<http_response>&& response, http_request& request) {
    if constexpr (needs == ops::prerequisite::refresh_token) {
      // The revoking DELETE was answered (or not): whatever it got, the caller gets the 401.
      if (rejected) return op.fail(std::move(*rejected));
      if constexpr (!ends_session && !keeps_session_on_401) {
        if (!response && response.error().http_status == 401) {
          if (!revoke(request)) return op.fail(std::move(response).error());
          rejected = std::move(response).error();
          return std::nullopt;
        }
      }
      return settle(std::move(response));
    } else {
      if (refreshing) {
        refreshing = false;
        // core: a refresh that fails leaves the session as it was and the caller gets the first 401.
        if (!refresh_call().settle(std::move(response))) return op.fail(std::move(*rejected));
        retried = true;
        if (auto refused = build(request)) return op.fail(std::move(*refused));
        return std::nullopt;
      }
      if (!response) {
        if (response.error().http_status != 401 || retried) return op.fail(std::move(response).error());
        rejected = std::move(response).error();
        if (refresh_call().start(request)) return op.fail(std::move(*rejected));
        refreshing = true;
        return std::nullopt;
      }
      return decode(*response);
    }
  }

  result<value_type> fail(api_error error) const { return op.fail(std::move(error)); }

  // The outcome of a refresh-token call's one exchange, with no revoking: the refresh inside an
  // access-token call's retry, and every refresh-token call whose answer is not a 401 to revoke.
  result<value_type> settle(result<http_response>&& response)
    requires(needs == ops::prerequisite::refresh_token)
  {
    if constexpr (ends_session) {
      user->log_out();
      note_session_ended("logged out");
    }
    if (!response) return op.fail(std::move(response).error());
    return decode(*response);
  }

 private:
  result<value_type> decode(http_response& response) {
    if constexpr (requires { op.decode(response, *user); }) {
      return op.decode(response, *user);
    } else {
      return op.decode(response);
    }
  }
  // The descriptor's request, with the session's token; a refusal says why nothing can be sent.
  std::optional<api_error> build(http_request& request) {
    return build_for_session(
        user, needs, timeout, logged_out, [&](const ops::request_context& ctx) { return op.build(request, ctx); },
        &sent_login);
  }
  // Ends the session after a 401 to its refresh token, first building in `request` the log out that
  // revokes it on the server (the same bytes as ops::log_out), under the session's lock: of several calls
  // rejected at once, one sends it. False when there is nothing to send: the session had already ended, or
  // a later log in of the same user (an upsert) gave it tokens the 401 was not about.
  bool revoke(http_request& request) {
    std::optional<api_error> refused;
    const bool ended = user->end_with_refresh_token(
        [&](std::string_view bearer) {
          refused = ops::log_out{}.build(request, ops::request_context{user->host(), bearer, timeout});
        },
        sent_login);
    if (ended) note_session_ended("the server refused the refresh token (401)");
    if (ended && !refused) return true;
    wipe(request);
    return false;
  }
  // The refresh an access-token call makes after a first 401, for the same session.
  session_call<ops::refresh_session> refresh_call() const { return {user, timeout, logged_out, {}, logger}; }
  void note_session_ended(std::string_view why) const {
    if (!logger || !logger->enabled(log_level::info)) return;
    log_event e;
    e.kind = log_event_kind::session_ended;
    e.level = log_level::info;
    e.why = why;
    logger->write(e);
  }
};

/// An app's call that needs no session (operations/auth.hpp): the location lookup (sent to the base URL),
/// or one sent to the app's host, which the client core tells it first (located()).
template <class Op>
struct app_call {
  using value_type = typename Op::value_type;
  static constexpr ops::prerequisite needs = Op::needs;
  static_assert(needs == ops::prerequisite::none || needs == ops::prerequisite::location);

  const app_config* config;  // the app's, which outlives its calls
  Op op;
  std::string host{};

  void located(const location_response& where)
    requires(needs == ops::prerequisite::location)
  {
    host = where.hostname;
  }

  std::optional<result<value_type>> start(http_request& request) {
    if (auto refused = op.build(request, context(), *config)) {
      wipe(request);
      return op.fail(std::move(*refused));
    }
    return std::nullopt;
  }
  result<value_type> finish(result<http_response>&& response) {
    if (!response) return op.fail(std::move(response).error());
    return op.decode(*response, context());
  }
  result<value_type> fail(api_error error) const { return op.fail(std::move(error)); }

 private:
  ops::request_context context() const {
    return {needs == ops::prerequisite::none ? std::string_view{config->base_url} : std::string_view{host}, {}, config->timeout};
  }
};

/// log_in, then the profile with the new access token (session_call's rules, a refresh and retry
/// included), as realm-core's log_in_with_credentials does unless app_config::fetch_profile_at_login is
/// off. A failed profile fails the log in, in its context, and ends the new session here (its tokens are
/// wiped; nothing more is sent).
struct login_call {
  using value_type = std::shared_ptr<session>;
  static constexpr ops::prerequisite needs = ops::prerequisite::location;

  app_call<ops::log_in> login;
  std::optional<session_call<ops::fetch_profile>> profile{};

  void located(const location_response& where) { login.located(where); }

  std::optional<result<value_type>> start(http_request& request) {
    profile.reset();
    return login.start(request);
  }
  std::optional<result<value_type>> resume(result<http_response>&& response, http_request& request) {
    if (!profile) {
      auto made = login.finish(std::move(response));
      if (!made || !login.config->fetch_profile_at_login) return made;
      const log_sink* sink = login.config->logger ? &login.config->logger : nullptr;
      profile.emplace(session_call<ops::fetch_profile>{std::move(*made), login.config->timeout,
                                                       "the user must be logged in", {}, sink});
      if (auto fetched = profile->start(request)) return settle(std::move(*fetched));
      return std::nullopt;
    }
    auto fetched = profile->resume(std::move(response), request);
    if (!fetched) return std::nullopt;
    return settle(std::move(*fetched));
  }
  result<value_type> fail(api_error error) const { return login.fail(std::move(error)); }

 private:
  result<value_type> settle(result<user_profile>&& fetched) {
    std::shared_ptr<session> user = std::move(profile->user);
    if (fetched) return user;
    user->log_out();
    api_error error = std::move(fetched).error();
    error.context.clear();  // the caller asked to log in; the profile was part of it
    return fail(std::move(error));
  }
};

// --- the core ------------------------------------------------------------------------------------------------

template <class Machine>
constexpr bool needs_location() {
  if constexpr (requires { Machine::needs; }) {
    return Machine::needs == ops::prerequisite::location;
  } else {
    return false;
  }
}

/// What both clients are: a Transport, the client's own State, and an Executor, in that order (the
/// executor goes first, so one that owns a pool joins its calls while all they use is still here), with
/// one way to run a call machine (detail/pipeline.hpp) on them. A machine that needs the location is told
/// it first; State provides it (`location(core)` and `location_async(core, then)`), and its sink (`logger()`).
/// Its template arguments are checked here, once, for both clients.
template <class Transport, class Executor, class ErrorPolicy, class State>
class client_core {
  static_assert(check_any_transport<Transport>());
  static_assert(executor<Executor>, "apikeys: Executor needs execute(operation) (see apikeys/executor.hpp)");
  static_assert(error_policy<ErrorPolicy>, "apikeys: ErrorPolicy needs a static apply(result<T>&&) (see error_policy.hpp)");

 public:
  using transport_ref = std::remove_reference_t<Transport>&;
  static constexpr bool asynchronous_transport = async_transport<std::remove_reference_t<Transport>>;

  template <class... StateArgs>
  client_core(Transport transport, Executor executor, StateArgs&&... state)
      : transport_(std::forward<Transport>(transport)),
        state_(std::forward<StateArgs>(state)...),
        executor_(std::move(executor)) {}

  transport_ref transport() noexcept { return transport_; }
  Executor& executor() noexcept { return executor_; }
  State& state() noexcept { return state_; }
  const State& state() const noexcept { return state_; }

  /// Hands the call to the Executor, which decides what the caller gets.
  template <class Machine>
  decltype(auto) launch(Machine&& machine) {
    using machine_type = std::remove_cvref_t<Machine>;
    return executor_.execute(call<client_core, machine_type, ErrorPolicy>(*this, std::forward<Machine>(machine)));
  }

  /// Runs the call to the end on this thread.
  template <class Machine>
  result<typename Machine::value_type> run_sync(Machine& machine) {
    if constexpr (needs_location<Machine>()) {
      auto found = state_.location(*this);
      if (!found) return machine.fail(std::move(found).error());
      machine.located(*found);
    }
    return detail::run_sync(transport_, machine, logger());
  }

  /// Starts the call; `done(result<T>)` runs once, where pipeline.hpp's run_async says.
  template <class Machine, class Done>
  void run_async(Machine&& machine, Done&& done) {
    using machine_type = std::remove_cvref_t<Machine>;
    if constexpr (!asynchronous_transport) {
      machine_type local(std::forward<Machine>(machine));
      done(run_sync(local));
    } else if constexpr (needs_location<machine_type>()) {
      state_.location_async(*this, [this, m = machine_type(std::forward<Machine>(machine)),
                                    then = std::decay_t<Done>(std::forward<Done>(done))](result<location_response>&& found) mutable {
        if (!found) return then(m.fail(std::move(found).error()));
        m.located(*found);
        detail::run_async(transport_, std::move(m), std::move(then), logger());
      });
    } else {
      detail::run_async(transport_, std::forward<Machine>(machine), std::forward<Done>(done), logger());
    }
  }

  /// The State's sink (`state.logger()`) when it is on, else null: what the pipeline reports to.
  const log_sink* logger() const noexcept {
    const log_sink& sink = state_.logger();
    return sink ? &sink : nullptr;
  }

 private:
  Transport transport_;
  State state_;
  Executor executor_;
};

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_CLIENT_CORE_HPP
