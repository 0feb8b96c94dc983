// apikeys tests: the executor x error-policy matrix, and every operation through one client of any of its cells.
#ifndef APIKEYS_TESTS_UNIT_SUPPORT_EXECUTOR_MATRIX_HPP
#define APIKEYS_TESTS_UNIT_SUPPORT_EXECUTOR_MATRIX_HPP

#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/event_loop_transport.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "emulator_config.hpp"
#include "settle.hpp"

namespace apikeys_tests {

// --- the matrix ----------------------------------------------------------------------------------------------

// every_pair<Make> is std::tuple<Make<Executor, Policy>...>: each of the four executors under each error
// policy, once. Test cases take it through TEST_CASE_TEMPLATE_DEFINE and TEST_CASE_TEMPLATE_APPLY.
template <template <class, class> class Make>
using every_pair = std::tuple<Make<apikeys::inline_executor, apikeys::throw_on_error>,
                              Make<apikeys::inline_executor, apikeys::return_result>,
                              Make<apikeys::future_executor, apikeys::throw_on_error>,
                              Make<apikeys::future_executor, apikeys::return_result>,
                              Make<apikeys::callback_executor, apikeys::throw_on_error>,
                              Make<apikeys::callback_executor, apikeys::return_result>,
                              Make<apikeys::coroutine_executor, apikeys::throw_on_error>,
                              Make<apikeys::coroutine_executor, apikeys::return_result>>;

// An in-process cell: an executor and a policy over the emulator itself (send()), or over an
// event_loop_transport in front of it (async_send()).
template <class Exec, class Policy, bool Async>
struct setup {
  using executor = Exec;
  using policy = Policy;
  static constexpr bool async = Async;
};
template <class Exec, class Policy>
using sync_setup = setup<Exec, Policy, false>;
template <class Exec, class Policy>
using async_setup = setup<Exec, Policy, true>;

template <class... Tuples>
struct concat;
template <class... A, class... B>
struct concat<std::tuple<A...>, std::tuple<B...>> {
  using type = std::tuple<A..., B...>;
};

// Every in-process cell: the eight pairs over send(), then over async_send().
using every_setup = typename concat<every_pair<sync_setup>, every_pair<async_setup>>::type;

using loop_transport = apikeys::testing::event_loop_transport<apikeys::testing::emulator>;

template <bool Async>
struct transport_of {
  transport_of(apikeys::testing::emulator& emu, std::chrono::milliseconds) : transport(emu) {}
  apikeys::testing::emulator& transport;
};
template <>
struct transport_of<true> {
  transport_of(apikeys::testing::emulator& emu, std::chrono::milliseconds delay) : transport(emu, delay) {}
  loop_transport transport;
};

// A cell's world, as every_operation() wants it: an emulator, and an app client reaching it over the cell's
// transport, whose event loop (over async_send()) holds each request for `delay`.
template <class Setup>
struct world {
  using executor = typename Setup::executor;
  using transport_ref = std::conditional_t<Setup::async, loop_transport&, apikeys::testing::emulator&>;
  using app_type = apikeys::basic_app_client<transport_ref, executor, typename Setup::policy>;

  explicit world(std::chrono::milliseconds delay = std::chrono::milliseconds{0}) : wire{emu, delay} {}

  apikeys::testing::emulator emu;
  transport_of<Setup::async> wire;
  app_type app{wire.transport, config_for(emu)};

  std::size_t sent() const
    requires Setup::async
  {
    return wire.transport.sent();
  }
};

// --- every operation -------------------------------------------------------------------------------------

// A World has `emu` (the apikeys::testing::emulator answering, in process or behind a server), `app` (a
// basic_app_client whose base URL reaches it), `executor` (the executor type under test) and, optionally,
// `sent()`: how many requests its transport started, which must match what the emulator answered.
template <class World>
void every_operation(World& w) {
  using apikeys::api_error;
  using apikeys::api_key;
  using apikeys::credentials;
  using apikeys::errc;
  using apikeys::session;
  using namespace apikeys::literals;
  constexpr std::string_view email = "someone@example.com";
  constexpr std::string_view password = "correct horse";
  constexpr apikeys::object_id never_issued = "000000000000000000000003"_oid;
  const auto error_in = [](const auto& r) -> std::optional<api_error> {
    if (r) return std::nullopt;
    return r.error();
  };

  auto& app = w.app;

  // Register and log in: the first call looks the location up, once.
  CHECK_FALSE(error_in(settle([&] { return app.register_user(email, password); })));
  auto login = settle([&] { return app.log_in(credentials::email_password(email, password)); });
  REQUIRE(login);
  const std::shared_ptr<session> user = *login;
  CHECK(user->provider() == "local-userpass");
  CHECK(user->host() == w.emu.hostname());
  CHECK(w.emu.request_count() == 4);  // location, register, login, the profile at log in

  auto keys = app.api_keys(user);
  static_assert(std::is_same_v<typename decltype(keys)::executor_type, typename World::executor>);

  // create: the secret appears once; a bad name is refused before anything is sent.
  auto created = settle([&] { return keys.create("someKeyName"); });
  REQUIRE(created);
  const api_key key = *created;
  CHECK(key.name == "someKeyName");
  CHECK(key.enabled);
  REQUIRE(key.value.has_value());
  const apikeys::secret key_value = *key.value;
  CHECK_FALSE(key_value.empty());
  const std::size_t sent_before_refusal = w.emu.request_count();
  auto refused = error_in(settle([&] { return keys.create("not a name"); }));
  REQUIRE(refused);
  CHECK(refused->code == errc::invalid_argument);
  CHECK(refused->context == "create API key");
  CHECK(w.emu.request_count() == sent_before_refusal);

  // fetch and fetch_all.
  auto fetched = settle([&] { return keys.fetch(key.id); });
  REQUIRE(fetched);
  REQUIRE(fetched->has_value());
  CHECK((*fetched)->id == key.id);
  CHECK((*fetched)->name == "someKeyName");
  CHECK_FALSE((*fetched)->value.has_value());
  auto missing = settle([&] { return keys.fetch(never_issued); });
  REQUIRE(missing);
  CHECK_FALSE(missing->has_value());
  auto all = settle([&] { return keys.fetch_all(); });
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK(all->front().id == key.id);

  // disable: a login with the key is refused; enable: it works again.
  CHECK_FALSE(error_in(settle([&] { return keys.disable(key.id); })));
  auto disabled = settle([&] { return keys.fetch(key.id); });
  REQUIRE((disabled && disabled->has_value()));
  CHECK_FALSE((*disabled)->enabled);
  auto refused_login = error_in(settle([&] { return app.log_in(credentials::api_key(key_value)); }));
  REQUIRE(refused_login);
  CHECK(refused_login->code == errc::auth_error);
  CHECK(refused_login->http_status == 401);
  CHECK(refused_login->context == "log in");
  CHECK_FALSE(error_in(settle([&] { return keys.enable(key.id); })));
  auto key_login = settle([&] { return app.log_in(credentials::api_key(key_value)); });
  REQUIRE(key_login);
  CHECK((*key_login)->provider() == "api-key");
  CHECK((*key_login)->user_id() == user->user_id());

  auto not_found = error_in(settle([&] { return keys.enable(never_issued); }));
  REQUIRE(not_found);
  CHECK(not_found->code == errc::api_key_not_found);
  CHECK(not_found->context == "enable API key 000000000000000000000003");
  auto not_found_disable = error_in(settle([&] { return keys.disable(never_issued); }));
  REQUIRE(not_found_disable);
  CHECK(not_found_disable->code == errc::api_key_not_found);

  // remove, twice: the second is a no-op.
  CHECK_FALSE(error_in(settle([&] { return keys.remove(key.id); })));
  CHECK_FALSE(error_in(settle([&] { return keys.remove(key.id); })));
  auto gone = settle([&] { return keys.fetch(key.id); });
  REQUIRE(gone);
  CHECK_FALSE(gone->has_value());
  auto none = settle([&] { return keys.fetch_all(); });
  REQUIRE(none);
  CHECK(none->empty());
  CHECK(w.emu.key_count(user->user_id()) == 0);

  // The session calls.
  auto profile = settle([&] { return app.profile(user); });
  REQUIRE(profile);
  CHECK(profile->user_id == user->user_id());
  CHECK_FALSE(error_in(settle([&] { return app.refresh(user); })));
  auto where = settle([&] { return app.location(); });
  REQUIRE(where);
  CHECK(where->hostname == w.emu.hostname());
  CHECK_FALSE(error_in(settle([&] { return app.log_out(user); })));
  CHECK_FALSE(user->logged_in());

  // Logged out: refused at once, nothing sent.
  const std::size_t sent_before_logout_refusal = w.emu.request_count();
  auto logged_out = error_in(settle([&] { return keys.fetch_all(); }));
  REQUIRE(logged_out);
  CHECK(logged_out->code == errc::not_logged_in);
  CHECK(w.emu.request_count() == sent_before_logout_refusal);

  // Every request accounted for: 3 above, then create, fetch x2, fetch_all, disable, fetch, refused login,
  // enable, login, enable and disable of a missing key, remove x2, fetch, fetch_all, profile, refresh, log out.
  CHECK(w.emu.request_count() == 4 + 18 + 1);  // the key login fetches its profile too
  if constexpr (requires { w.sent(); }) CHECK(w.sent() == w.emu.request_count());
}

}  // namespace apikeys_tests

#endif  // APIKEYS_TESTS_UNIT_SUPPORT_EXECUTOR_MATRIX_HPP
