// apikeys without exceptions: the seed's story against the in-process emulator, every call a result<T>.
#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../unit/support/emulator_config.hpp"
#include "check.hpp"

namespace {

using apikeys::credentials;
using apikeys::errc;
using apikeys::return_result;
using apikeys::testing::emulator;

using apikeys_tests::config_for;

void story() {
  emulator emu;
  apikeys::basic_app_client<emulator&, apikeys::inline_executor, return_result> app{emu, config_for(emu)};
  const std::string owner_id = emu.add_user("seed@example.com", "seed password");

  APIKEYS_CHECK(app.register_user("registered@example.com", "another password").has_value());
  const auto again = app.register_user("registered@example.com", "x");
  APIKEYS_REQUIRE(!again);
  APIKEYS_CHECK(again.error().http_status == 409);
  APIKEYS_CHECK(again.error().server_code == "AccountNameInUse");

  const auto wrong = app.log_in(credentials::email_password("seed@example.com", "wrong password"));
  APIKEYS_REQUIRE(!wrong);
  APIKEYS_CHECK(wrong.error().code == errc::auth_error);
  APIKEYS_CHECK(wrong.error().context == "log in");

  auto logged_in = app.log_in(credentials::email_password("seed@example.com", "seed password"));
  APIKEYS_REQUIRE(logged_in.has_value());
  const std::shared_ptr<apikeys::session> user = *logged_in;
  APIKEYS_CHECK(user->user_id() == owner_id);
  APIKEYS_CHECK(user->logged_in());
  auto keys = app.api_keys<return_result>(user);

  auto created = keys.create("someKeyName");
  APIKEYS_REQUIRE(created.has_value());
  APIKEYS_CHECK(created->name == "someKeyName");
  APIKEYS_CHECK(created->enabled);
  APIKEYS_REQUIRE(created->value.has_value());
  const apikeys::secret key_value = *created->value;
  APIKEYS_CHECK(key_value.size() == 64);
  const apikeys::object_id id = created->id;

  const auto refused_name = keys.create("has space");
  APIKEYS_REQUIRE(!refused_name);
  APIKEYS_CHECK(refused_name.error().code == errc::invalid_argument);

  auto fetched = keys.fetch(id);
  APIKEYS_REQUIRE(fetched.has_value() && fetched->has_value());
  APIKEYS_CHECK((*fetched)->name == "someKeyName");
  APIKEYS_CHECK(!(*fetched)->value.has_value());

  APIKEYS_CHECK(keys.create("second_key").has_value());
  auto all = keys.fetch_all();
  APIKEYS_REQUIRE(all.has_value());
  APIKEYS_REQUIRE(all->size() == 2);
  APIKEYS_CHECK((*all)[0].id == id);
  APIKEYS_CHECK((*all)[1].name == "second_key");

  APIKEYS_CHECK(keys.disable(id).has_value());
  const auto disabled_login = app.log_in(credentials::api_key(key_value));
  APIKEYS_REQUIRE(!disabled_login);
  APIKEYS_CHECK(disabled_login.error().code == errc::auth_error);
  APIKEYS_CHECK(disabled_login.error().http_status == 401);

  APIKEYS_CHECK(keys.enable(id).has_value());
  const auto key_login = app.log_in(credentials::api_key(key_value));
  APIKEYS_REQUIRE(key_login.has_value());
  APIKEYS_CHECK((*key_login)->user_id() == owner_id);
  APIKEYS_CHECK((*key_login)->provider() == "api-key");

  APIKEYS_CHECK(keys.remove(id).has_value());
  fetched = keys.fetch(id);
  APIKEYS_REQUIRE(fetched.has_value());
  APIKEYS_CHECK(!fetched->has_value());
  APIKEYS_CHECK(keys.remove(id).has_value());  // deleting it again succeeds
  const auto enable_gone = keys.enable(id);
  APIKEYS_REQUIRE(!enable_gone);
  APIKEYS_CHECK(enable_gone.error().code == errc::api_key_not_found);
  APIKEYS_CHECK(enable_gone.error().context == "enable API key " + id.to_string());

  APIKEYS_CHECK(app.refresh(user).has_value());
  const auto profile = app.profile(user);
  APIKEYS_REQUIRE(profile.has_value());
  APIKEYS_CHECK(profile->user_id == owner_id);

  APIKEYS_CHECK(app.log_out(user).has_value());
  APIKEYS_CHECK(!user->logged_in());
  const auto after = keys.fetch_all();
  APIKEYS_REQUIRE(!after);
  APIKEYS_CHECK(after.error().code == errc::not_logged_in);
}

// A revoked session: the server's 401 ends it here too, and the next call is refused unsent.
void revoked_session() {
  emulator emu;
  apikeys::basic_app_client<emulator&, apikeys::inline_executor, return_result> app{emu, config_for(emu)};
  const std::string owner_id = emu.add_user("ada@example.com", "pw");
  auto user = app.log_in(credentials::email_password("ada@example.com", "pw"));
  APIKEYS_REQUIRE(user.has_value());
  auto keys = app.api_keys<return_result>(*user);
  emu.revoke_sessions(owner_id);
  const auto revoked = keys.fetch_all();
  APIKEYS_REQUIRE(!revoked);
  APIKEYS_CHECK(revoked.error().code == errc::invalid_session);
  APIKEYS_CHECK(!(*user)->logged_in());
  const std::size_t sent = emu.request_count();
  APIKEYS_CHECK(keys.create("k").error().code == errc::not_logged_in);
  APIKEYS_CHECK(emu.request_count() == sent);
}

// The future and callback executors and the thread pool, built without exceptions.
void executors() {
  emulator emu;
  apikeys::basic_app_client<emulator&, apikeys::inline_executor, return_result> app{emu, config_for(emu)};
  emu.add_user("ada@example.com", "pw");
  auto user = app.log_in(credentials::email_password("ada@example.com", "pw"));
  APIKEYS_REQUIRE(user.has_value());

  auto pool = std::make_shared<apikeys::thread_pool>(2);
  apikeys::basic_api_key_client<emulator&, apikeys::future_executor, return_result> futures{
      emu, *user, {}, apikeys::future_executor{pool}};
  std::vector<std::future<apikeys::result<apikeys::api_key>>> pending;
  for (const char* name : {"pool-1", "pool-2", "pool-3"}) pending.push_back(futures.create(name));
  for (auto& f : pending) APIKEYS_CHECK(f.get().has_value());
  auto all = futures.fetch_all().get();
  APIKEYS_REQUIRE(all.has_value());
  APIKEYS_CHECK(all->size() == 3);

  apikeys::basic_api_key_client<emulator&, apikeys::callback_executor, return_result> callbacks{
      emu, *user, {}, apikeys::callback_executor{nullptr}};
  std::optional<apikeys::result<std::vector<apikeys::api_key>>> seen;
  callbacks.fetch_all().then([&](apikeys::result<std::vector<apikeys::api_key>>&& r) { seen.emplace(std::move(r)); });
  APIKEYS_REQUIRE(seen.has_value());
  APIKEYS_REQUIRE(seen->has_value());
  APIKEYS_CHECK((*seen)->size() == 3);
}

}  // namespace

int main() {
  story();
  revoked_session();
  executors();
  return apikeys_noexcept::finish();
}
