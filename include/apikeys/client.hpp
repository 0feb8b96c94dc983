// apikeys::basic_api_key_client: the six key operations of one user's session.
#ifndef APIKEYS_CLIENT_HPP
#define APIKEYS_CLIENT_HPP

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "api_key.hpp"
#include "async_transport.hpp"
#include "detail/client_core.hpp"
#include "error_policy.hpp"
#include "executor.hpp"
#include "log.hpp"
#include "object_id.hpp"
#include "operations/keys.hpp"
#include "session.hpp"
#include "transport.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

struct client_options {
  std::chrono::milliseconds timeout{60'000};  ///< copied into every request's `timeout`
  log_sink logger{};  ///< where the client's calls report (log.hpp); off by default
};

/// Manages the API keys of the user whose session it was given (never an implicit "current user").
/// Every call sends the session's refresh token, as the server requires; a 401 answer ends the session
/// (docs/protocol.md section 7) and the error is returned as the server gave it, without a retry.
///
/// Each operation is one descriptor (operations/keys.hpp) run by the client core, and the Executor
/// decides what a method returns: the value (inline_executor), a std::future (future_executor),
/// a deferred_call to give a completion (callback_executor), or an awaitable (coroutine_executor).
///
/// Transport may be a reference type (`my_transport&`) to share one transport between clients; it has
/// send(), async_send(), or both (see async_transport.hpp).
/// Thread safety: every method may be called concurrently from many threads provided the Transport's
/// send() (or async_send()) may; the session is shared safely. The client must outlive every call it
/// started that has not finished: futures not yet ready, callbacks not yet run, awaits not yet resumed.
template <class Transport, class Executor = inline_executor, class ErrorPolicy = throw_on_error>
class basic_api_key_client {
  struct state {
    std::shared_ptr<session> user;
    client_options options;
    const log_sink& logger() const noexcept { return options.logger; }
  };
  using core_type = detail::client_core<Transport, Executor, ErrorPolicy, state>;

 public:
  using transport_type = Transport;
  using executor_type = Executor;
  using error_policy_type = ErrorPolicy;
  /// True when the Transport has async_send: the future, callback and coroutine executors then block no thread.
  static constexpr bool asynchronous_transport = core_type::asynchronous_transport;

  basic_api_key_client(Transport transport, std::shared_ptr<session> user, client_options options = {},
                       Executor executor = {})
      : core_(std::forward<Transport>(transport), std::move(executor), state{std::move(user), options}) {}

  /// Creates a key named `name` ([A-Za-z0-9_-], checked before sending). The result is the only place the
  /// key's secret value ever appears: store it now.
  decltype(auto) create(std::string_view name) { return launch(ops::create_key{std::string{name}}); }
  /// The key with this id, or an empty optional when the user has no such key.
  decltype(auto) fetch(const object_id& id) { return launch(ops::fetch_key{id}); }
  /// Every key of the user, in creation order, without secrets.
  decltype(auto) fetch_all() { return launch(ops::fetch_keys{}); }
  /// Enables a key; enabling an enabled key succeeds. A missing key is an api_key_not_found error.
  decltype(auto) enable(const object_id& id) { return launch(ops::toggle_key{id, true}); }
  /// Disables a key: logins with it are refused until it is enabled again. A missing key is an error.
  decltype(auto) disable(const object_id& id) { return launch(ops::toggle_key{id, false}); }
  /// Deletes a key; deleting a key that does not exist succeeds.
  decltype(auto) remove(const object_id& id) { return launch(ops::delete_key{id}); }

  const std::shared_ptr<session>& user() const noexcept { return core_.state().user; }
  const client_options& options() const noexcept { return core_.state().options; }
  std::remove_reference_t<Transport>& transport() noexcept { return core_.transport(); }
  Executor& executor() noexcept { return core_.executor(); }

 private:
  // Every key route takes the refresh token, so a 401 to any of them ends the session.
  template <class Op>
  detail::session_call<Op> machine(Op&& op) {
    return {core_.state().user, core_.state().options.timeout, "the user must be logged in to manage API keys", std::move(op),
            core_.logger()};
  }
  template <class Op>
  decltype(auto) launch(Op&& op) {
    return core_.launch(machine(std::move(op)));
  }

  core_type core_;
};

template <class Transport>
using api_key_client = basic_api_key_client<Transport>;

}  // namespace apikeys

#endif  // APIKEYS_CLIENT_HPP
