// apikeys package test consumer: one program every way of adding apikeys to a project must build and run.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>

namespace {

// return_result rather than exceptions, so every step's outcome is checked here and named on failure.
using app_type = apikeys::basic_app_client<apikeys::testing::emulator&, apikeys::inline_executor, apikeys::return_result>;

int fail(const char* step, std::string_view why) {
  std::fprintf(stderr, "package consumer: %s: %.*s\n", step, static_cast<int>(why.size()), why.data());
  return 1;
}

}  // namespace

int main() {
  std::printf("apikeys %s\n", apikeys::version_string);
  if (std::string_view{apikeys::version_string} != APIKEYS_VERSION_STRING) return fail("version", "the constant and the macro differ");

  apikeys::testing::emulator server;
  const std::string user_id = server.add_user("consumer@example.com", "consumer-password");

  apikeys::app_config config;
  config.app_id = server.app_id();
  config.base_url = server.hostname();
  app_type app{server, config};

  auto user = app.log_in(apikeys::credentials::email_password("consumer@example.com", "consumer-password"));
  if (!user) return fail("log in", user.error().message);
  if ((*user)->user_id() != user_id) return fail("log in", "logged in as someone else");

  auto keys = app.api_keys(*user);
  auto created = keys.create("package-consumer");
  if (!created) return fail("create", created.error().message);
  if (created->name != "package-consumer" || !created->enabled || !created->value || created->value->reveal().empty())
    return fail("create", "the new key is not as created");

  auto fetched = keys.fetch(created->id);
  if (!fetched) return fail("fetch", fetched.error().message);
  if (!*fetched || (*fetched)->id != created->id || (*fetched)->name != "package-consumer" || (*fetched)->value)
    return fail("fetch", "did not return the created key without its value");

  auto removed = keys.remove(created->id);
  if (!removed) return fail("remove", removed.error().message);
  auto gone = keys.fetch(created->id);
  if (!gone) return fail("fetch after remove", gone.error().message);
  if (*gone || server.key_count(user_id) != 0) return fail("remove", "the key is still there");

  std::printf("package consumer: log in, create, fetch, remove: ok\n");
  return 0;
}
