// apikeys::basic_api_key_client: the six key operations of one user's session.
#ifndef APIKEYS_CLIENT_HPP
#define APIKEYS_CLIENT_HPP

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "api_key.hpp"
#include "async_transport.hpp"
#include "decoder.hpp"
#include "detail/exchange.hpp"
#include "detail/pipeline.hpp"
#include "error.hpp"
#include "error_policy.hpp"
#include "executor.hpp"
#include "http.hpp"
#include "object_id.hpp"
#include "operations.hpp"
#include "result.hpp"
#include "session.hpp"
#include "transport.hpp"

namespace apikeys {

struct client_options {
  std::chrono::milliseconds timeout{60'000};  ///< copied into every request's `timeout`
};

/// Manages the API keys of the user whose session it was given (never an implicit "current user").
/// Every call sends the session's refresh token, as the server requires; a 401 answer ends the session
/// (docs/protocol.md section 7) and the error is returned as the server gave it, without a retry.
///
/// Each operation is written once, as a call (build the request, then finish with its answer), and the
/// Executor decides what a method returns: the value (inline_executor), a std::future (future_executor),
/// a deferred_call to give a completion (callback_executor), or an awaitable (coroutine_executor).
///
/// Transport may be a reference type (`my_transport&`) to share one transport between clients; it has
/// send(), async_send(), or both (see async_transport.hpp).
/// Thread safety: every method may be called concurrently from many threads provided the Transport's
/// send() (or async_send()) may; the session is shared safely. The client must outlive every call it
/// started that has not finished: futures not yet ready, callbacks not yet run, awaits not yet resumed.
template <class Transport, class Executor = inline_executor, class ErrorPolicy = throw_on_error>
class basic_api_key_client {
  static_assert(detail::check_any_transport<Transport>());
  static_assert(executor<Executor>, "apikeys: Executor needs execute(operation) (see apikeys/executor.hpp)");
  static_assert(error_policy<ErrorPolicy>, "apikeys: ErrorPolicy needs a static apply(result<T>&&) (see error_policy.hpp)");

 public:
  using transport_type = Transport;
  using executor_type = Executor;
  using error_policy_type = ErrorPolicy;
  /// True when the Transport has async_send: the future, callback and coroutine executors then block no thread.
  static constexpr bool asynchronous_transport = async_transport<std::remove_reference_t<Transport>>;

  basic_api_key_client(Transport transport, std::shared_ptr<session> user, client_options options = {},
                       Executor executor = {})
      : transport_(std::forward<Transport>(transport)),
        session_(std::move(user)),
        options_(options),
        executor_(std::move(executor)) {}

  /// Creates a key named `name` ([A-Za-z0-9_-], checked before sending). The result is the only place the
  /// key's secret value ever appears: store it now.
  decltype(auto) create(std::string_view name) { return launch(create_op<std::string>{std::string{name}}); }
  /// The key with this id, or an empty optional when the user has no such key.
  decltype(auto) fetch(const object_id& id) { return launch(fetch_op{id}); }
  /// Every key of the user, in creation order, without secrets.
  decltype(auto) fetch_all() { return launch(fetch_all_op{}); }
  /// Enables a key; enabling an enabled key succeeds. A missing key is an api_key_not_found error.
  decltype(auto) enable(const object_id& id) { return launch(toggle_op{id, true}); }
  /// Disables a key: logins with it are refused until it is enabled again. A missing key is an error.
  decltype(auto) disable(const object_id& id) { return launch(toggle_op{id, false}); }
  /// Deletes a key; deleting a key that does not exist succeeds.
  decltype(auto) remove(const object_id& id) { return launch(remove_op{id}); }

  const std::shared_ptr<session>& user() const noexcept { return session_; }
  const client_options& options() const noexcept { return options_; }
  std::remove_reference_t<Transport>& transport() noexcept { return transport_; }
  Executor& executor() noexcept { return executor_; }

  // The operations themselves, as result<T>, run to the end on this thread whatever the Executor.
  result<api_key> do_create(std::string_view name) { return run(create_op<std::string_view>{name}); }
  result<std::optional<api_key>> do_fetch(const object_id& id) { return run(fetch_op{id}); }
  result<std::vector<api_key>> do_fetch_all() { return run(fetch_all_op{}); }
  result<void> do_toggle(const object_id& id, bool enable) { return run(toggle_op{id, enable}); }
  result<void> do_remove(const object_id& id) { return run(remove_op{id}); }

 private:
  template <class, class, class>
  friend class detail::call;

  // --- the operations: what each sends, and what it makes of the answer ----------------------------------
  // check() refuses bad arguments before anything is sent; build() fills the request (under the session's
  // lock: the token is read once, never copied out); finish() decodes a success; fail() words an error.

  template <class Name>
  struct create_op {
    using value_type = api_key;
    Name name;
    std::optional<api_error> check() const { return ops::validate_key_name(name); }
    std::optional<api_error> build(http_request& request, const ops::request_context& ctx) const {
      return ops::build_create_key(request, ctx, name);
    }
    result<api_key> finish(http_response& response) const {
      auto key = decode_created_key(response);
      detail::wipe(response);
      if (!key) {
        // The server said 201: the key exists, but its value, shown only in this answer, is lost.
        api_error error = std::move(key).error();
        error.outcome_unknown = true;
        return fail(std::move(error));
      }
      // An answer about another key (a proxy's stale or crossed answer) would hand the caller a value for a
      // key they did not ask for, while the one they asked for may exist with its value lost.
      if (key->name != std::string_view{name}) {
        api_error error = detail::bad_response("the answer names another key", response.status);
        error.outcome_unknown = true;
        return fail(std::move(error));
      }
      return key;
    }
    result<api_key> fail(api_error error) const { return failed<api_key>(std::move(error), "create API key", std::string_view{name}); }
  };

  struct fetch_op {
    using value_type = std::optional<api_key>;
    object_id id;
    std::optional<api_error> check() const { return std::nullopt; }
    std::optional<api_error> build(http_request& request, const ops::request_context& ctx) const {
      ops::build_fetch_key(request, ctx, id);
      return std::nullopt;
    }
    result<value_type> finish(http_response& response) const {
      auto key = decode_key(response);
      if (!key) return fail(std::move(key).error());
      if (key->id != id) return fail(detail::bad_response("the answer is about another key", response.status));
      return value_type{std::move(*key)};
    }
    result<value_type> fail(api_error error) const {
      if (error.code == errc::api_key_not_found) return value_type{};
      return failed<value_type>(std::move(error), "fetch API key", id);
    }
  };

  struct fetch_all_op {
    using value_type = std::vector<api_key>;
    std::optional<api_error> check() const { return std::nullopt; }
    std::optional<api_error> build(http_request& request, const ops::request_context& ctx) const {
      ops::build_fetch_keys(request, ctx);
      return std::nullopt;
    }
    result<value_type> finish(http_response& response) const {
      auto keys = decode_key_list(response);
      if (!keys) return fail(std::move(keys).error());
      return keys;
    }
    result<value_type> fail(api_error error) const {
      return failed<value_type>(std::move(error), "fetch all API keys", std::string_view{});
    }
  };

  struct toggle_op {
    using value_type = void;
    object_id id;
    bool enable;
    std::optional<api_error> check() const { return std::nullopt; }
    std::optional<api_error> build(http_request& request, const ops::request_context& ctx) const {
      (enable ? ops::build_enable_key : ops::build_disable_key)(request, ctx, id);
      return std::nullopt;
    }
    result<void> finish(http_response&) const { return {}; }
    result<void> fail(api_error error) const {
      return failed<void>(std::move(error), enable ? "enable API key" : "disable API key", id);
    }
  };

  struct remove_op {
    using value_type = void;
    object_id id;
    std::optional<api_error> check() const { return std::nullopt; }
    std::optional<api_error> build(http_request& request, const ops::request_context& ctx) const {
      ops::build_delete_key(request, ctx, id);
      return std::nullopt;
    }
    result<void> finish(http_response&) const { return {}; }
    result<void> fail(api_error error) const {
      if (error.code == errc::api_key_not_found) return {};
      return failed<void>(std::move(error), "delete API key", id);
    }
  };

  // --- what every key call shares: the session, the token, and a 401 ending the session ------------------
  template <class Op>
  struct machine {
    using value_type = typename Op::value_type;
    basic_api_key_client* self;
    Op op;

    std::optional<result<value_type>> start(http_request& request) {
      if (auto invalid = op.check()) return op.fail(std::move(*invalid));
      const auto& user = self->session_;
      if (!user) return op.fail(detail::client_error(errc::not_logged_in, "no session: log in first"));
      std::optional<api_error> invalid;
      const bool logged_in = user->with_refresh_token([&](std::string_view token) {
        invalid = op.build(request, ops::request_context{user->host(), token, self->options_.timeout});
      });
      if (!logged_in)
        return op.fail(detail::client_error(errc::not_logged_in, "the user must be logged in to manage API keys"));
      if (invalid) {
        detail::wipe(request);
        return op.fail(std::move(*invalid));
      }
      return std::nullopt;
    }

    // Every key route takes the refresh token, so a 401 means it is dead.
    result<value_type> finish(result<http_response>&& response) {
      if (!response) {
        if (response.error().http_status == 401) self->session_->log_out();
        return op.fail(std::move(response).error());
      }
      return op.finish(*response);
    }

    result<value_type> fail(api_error error) const { return op.fail(std::move(error)); }
  };

  template <class Op>
  result<typename Op::value_type> run(Op&& op) {
    machine<std::remove_cvref_t<Op>> m{this, std::forward<Op>(op)};
    return detail::run_sync(transport_, m);
  }

  template <class Op>
  decltype(auto) launch(Op&& op) {
    using machine_type = machine<std::remove_cvref_t<Op>>;
    return executor_.execute(
        detail::call<basic_api_key_client, machine_type, ErrorPolicy>(*this, machine_type{this, std::forward<Op>(op)}));
  }

  // For detail::call.
  template <class Machine>
  result<typename Machine::value_type> run_sync(Machine& m) {
    return detail::run_sync(transport_, m);
  }
  template <class Machine, class Done>
  void run_async(Machine&& m, Done&& done) {
    detail::run_async(transport_, std::forward<Machine>(m), std::forward<Done>(done));
  }

  template <class T, class Subject>
  static result<T> failed(api_error error, std::string_view action, const Subject& subject) {
    error.context.assign(action);
    if constexpr (std::is_same_v<Subject, object_id>) {
      error.context.append(" ").append(subject.to_string());
    } else if constexpr (std::is_convertible_v<Subject, std::string_view>) {
      const std::string_view name{subject};
      if (!name.empty() && error.code != errc::invalid_argument) error.context.append(" \"").append(name).append("\"");
    }
    return unexpected{std::move(error)};
  }

  Transport transport_;
  std::shared_ptr<session> session_;
  client_options options_;
  // Last, so it goes first: an executor that owns its pool joins the calls still running on it while
  // everything they use is still here.
  Executor executor_;
};

template <class Transport>
using api_key_client = basic_api_key_client<Transport>;

}  // namespace apikeys

#endif  // APIKEYS_CLIENT_HPP
