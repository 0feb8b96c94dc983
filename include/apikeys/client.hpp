// apikeys::basic_api_key_client: the six key operations of one user's session.
#ifndef APIKEYS_CLIENT_HPP
#define APIKEYS_CLIENT_HPP

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api_key.hpp"
#include "decoder.hpp"
#include "detail/exchange.hpp"
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
/// (PROTOCOL.md section 7) and the error is returned as the server gave it, without a retry.
///
/// Transport may be a reference type (`my_transport&`) to share one transport between clients.
/// Thread safety: every method may be called concurrently from many threads provided the Transport's
/// send() may; the session is shared safely. The client must outlive calls still running on an executor.
template <class Transport, class Executor = inline_executor, class ErrorPolicy = throw_on_error>
class basic_api_key_client {
  static_assert(detail::check_transport<Transport>());
  static_assert(executor<Executor>, "apikeys: Executor needs execute(operation) (see apikeys/executor.hpp)");
  static_assert(error_policy<ErrorPolicy>, "apikeys: ErrorPolicy needs a static apply(result<T>&&) (see error_policy.hpp)");

 public:
  using transport_type = Transport;
  using executor_type = Executor;
  using error_policy_type = ErrorPolicy;

  basic_api_key_client(Transport transport, std::shared_ptr<session> user, client_options options = {},
                       Executor executor = {})
      : transport_(std::forward<Transport>(transport)),
        session_(std::move(user)),
        options_(options),
        executor_(std::move(executor)) {}

  /// Creates a key named `name` ([A-Za-z0-9_-], checked before sending). The result is the only place the
  /// key's secret value ever appears: store it now.
  decltype(auto) create(std::string_view name) {
    return executor_.execute([this, name = std::string{name}] { return ErrorPolicy::apply(do_create(name)); });
  }
  /// The key with this id, or an empty optional when the user has no such key.
  decltype(auto) fetch(const object_id& id) {
    return executor_.execute([this, id] { return ErrorPolicy::apply(do_fetch(id)); });
  }
  /// Every key of the user, in creation order, without secrets.
  decltype(auto) fetch_all() {
    return executor_.execute([this] { return ErrorPolicy::apply(do_fetch_all()); });
  }
  /// Enables a key; enabling an enabled key succeeds. A missing key is an api_key_not_found error.
  decltype(auto) enable(const object_id& id) {
    return executor_.execute([this, id] { return ErrorPolicy::apply(do_toggle(id, true)); });
  }
  /// Disables a key: logins with it are refused until it is enabled again. A missing key is an error.
  decltype(auto) disable(const object_id& id) {
    return executor_.execute([this, id] { return ErrorPolicy::apply(do_toggle(id, false)); });
  }
  /// Deletes a key; deleting a key that does not exist succeeds.
  decltype(auto) remove(const object_id& id) {
    return executor_.execute([this, id] { return ErrorPolicy::apply(do_remove(id)); });
  }

  const std::shared_ptr<session>& user() const noexcept { return session_; }
  const client_options& options() const noexcept { return options_; }
  std::remove_reference_t<Transport>& transport() noexcept { return transport_; }
  Executor& executor() noexcept { return executor_; }

  // The operations themselves, as result<T>, for executors and policies built on this client.
  result<api_key> do_create(std::string_view name) {
    if (auto invalid = ops::validate_key_name(name)) return failed<api_key>(std::move(*invalid), "create API key", name);
    auto response = call([&](http_request& request, const ops::request_context& ctx) {
      return ops::build_create_key(request, ctx, name);
    });
    if (!response) return failed<api_key>(std::move(response).error(), "create API key", name);
    auto key = decode_created_key(*response);
    detail::wipe(*response);
    if (!key) return failed<api_key>(std::move(key).error(), "create API key", name);
    return key;
  }

  result<std::optional<api_key>> do_fetch(const object_id& id) {
    auto response = call([&](http_request& request, const ops::request_context& ctx) {
      ops::build_fetch_key(request, ctx, id);
      return std::optional<api_error>{};
    });
    if (!response) {
      if (response.error().code == errc::api_key_not_found) return std::optional<api_key>{};
      return failed<std::optional<api_key>>(std::move(response).error(), "fetch API key", id);
    }
    auto key = decode_key(*response);
    if (!key) return failed<std::optional<api_key>>(std::move(key).error(), "fetch API key", id);
    return std::optional<api_key>{std::move(*key)};
  }

  result<std::vector<api_key>> do_fetch_all() {
    auto response = call([&](http_request& request, const ops::request_context& ctx) {
      ops::build_fetch_keys(request, ctx);
      return std::optional<api_error>{};
    });
    if (!response) return failed<std::vector<api_key>>(std::move(response).error(), "fetch all API keys", std::string_view{});
    auto keys = decode_key_list(*response);
    if (!keys) return failed<std::vector<api_key>>(std::move(keys).error(), "fetch all API keys", std::string_view{});
    return keys;
  }

  result<void> do_toggle(const object_id& id, bool enable) {
    auto response = call([&](http_request& request, const ops::request_context& ctx) {
      (enable ? ops::build_enable_key : ops::build_disable_key)(request, ctx, id);
      return std::optional<api_error>{};
    });
    if (!response) return failed<void>(std::move(response).error(), enable ? "enable API key" : "disable API key", id);
    return {};
  }

  result<void> do_remove(const object_id& id) {
    auto response = call([&](http_request& request, const ops::request_context& ctx) {
      ops::build_delete_key(request, ctx, id);
      return std::optional<api_error>{};
    });
    if (!response && response.error().code != errc::api_key_not_found)
      return failed<void>(std::move(response).error(), "delete API key", id);
    return {};
  }

 private:
  // Builds under the session's lock (the token is read once, never copied out), sends, classifies, and
  // ends the session on a 401: every key route takes the refresh token, so a 401 means it is dead.
  template <class Build>
  result<http_response> call(Build&& build) {
    if (!session_) return unexpected{detail::client_error(errc::not_logged_in, "no session: log in first")};
    http_request request;
    std::optional<api_error> invalid;
    const bool logged_in = session_->with_refresh_token([&](std::string_view token) {
      invalid = build(request, ops::request_context{session_->host(), token, options_.timeout});
    });
    if (!logged_in)
      return unexpected{detail::client_error(errc::not_logged_in, "the user must be logged in to manage API keys")};
    if (invalid) {
      detail::wipe(request);
      return unexpected{std::move(*invalid)};
    }
    auto response = detail::exchange(transport_, request);
    if (!response && response.error().http_status == 401) session_->log_out();
    return response;
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
  Executor executor_;
};

template <class Transport>
using api_key_client = basic_api_key_client<Transport>;

}  // namespace apikeys

#endif  // APIKEYS_CLIENT_HPP
