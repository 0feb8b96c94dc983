// quickstart: the .NET SDK's "user API keys" page in C++: create, fetch, enable, disable and delete a key,
// and log a second device in with it. Runs against an emulator in this process unless given a server.
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/emulator_server.hpp>
#include <apikeys/transport/httplib.hpp>
#include <fmt/core.h>

namespace {

constexpr std::string_view usage = R"(usage: quickstart [--base-url URL --app-id ID [--email EMAIL] [--password PASSWORD]]
                  [--store FILE --part 1|2]

Creates an API key, fetches it, disables and enables it, logs a second device in with it, and deletes it,
printing each step.

With no options it starts an App Services emulator in this process (127.0.0.1, a free port) with a demo
user, and talks to it over real HTTP. With --base-url and --app-id it talks to that server instead, as
the user named by APIKEYS_EMAIL and APIKEYS_PASSWORD in the environment, or by --email and --password.
Prefer the environment for the password: a --password flag is visible to every user of the machine
(ps) and stays in your shell history.

With --store FILE --part 1 (and --base-url, --app-id) it runs the story up to the second device's log
in and keeps the logged-in user in FILE (an apikeys::file_session_store: mode 0600, in a 0700
directory). A later process with --store FILE --part 2 restores that user from FILE, with no log in,
and finishes the story: it deletes the key, and shows that the key's value, given to it in APIKEYS_KEY
(part 1 printed it once), no longer logs a device in; then it logs the user out, which empties FILE.

Exits 0 when every step went as expected, 1 when one did not (the reason is on stderr), 2 on bad usage.
)";

using app_client = apikeys::app_client<apikeys::httplib_transport>;

// Users copy from this file: a step that silently went wrong would teach the wrong thing, so every
// outcome is checked and a surprise ends the program.
struct unexpected_outcome : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void expect(bool ok, const char* what) {
  if (!ok) throw unexpected_outcome(what);
}

// The .NET page's sample: enable the key if it is disabled, disable it if it is enabled.
void toggle(apikeys::api_key_client<apikeys::httplib_transport&>& keys, const apikeys::object_id& id) {
  std::optional<apikeys::api_key> key = keys.fetch(id);
  expect(key.has_value(), "the key to toggle is gone");
  const bool was_enabled = key->enabled;
  if (was_enabled)
    keys.disable(id);
  else
    keys.enable(id);
  // Read it back, so what is printed is the server's state and not our guess.
  key = keys.fetch(id);
  expect(key && key->enabled != was_enabled, "the key's state did not change");
  fmt::print("{} key '{}'; enabled: {}\n", key->enabled ? "Enabled" : "Disabled", key->name, key->enabled);
}

apikeys::app_config config_for(const std::string& base_url, const std::string& app_id) {
  apikeys::app_config config;
  config.app_id = app_id;
  config.base_url = base_url;
  return config;
}

struct logged_in_with_key {
  std::shared_ptr<apikeys::session> user;
  apikeys::api_key key;  // value and all
};

// The first half: log in, then create, fetch, list and toggle a key, and log a second device in with it.
logged_in_with_key first_half(app_client& app, const std::string& email, const apikeys::secret& password) {
  // Only a logged-in user who is not anonymous can own keys; here, an email/password user.
  std::shared_ptr<apikeys::session> user =
      app.log_in(apikeys::credentials::email_password(email, password.reveal()));
  fmt::print("Logged in as {} ({})\n", user->user_id(), email);

  // The key client of this user's session: every call below manages this user's keys.
  auto keys = app.api_keys(user);

  apikeys::api_key new_key = keys.create("someKeyName");
  expect(new_key.name == "someKeyName" && new_key.enabled && new_key.value, "the new key is not as created");
  fmt::print("Created API key '{}' (enabled: {})\n", new_key.name, new_key.enabled);
  // The server reveals the value in the create answer only: there is no way to read it again later.
  fmt::print("The key's value is shown only once; store it securely: {}\n", new_key.value->reveal());

  std::optional<apikeys::api_key> fetched = keys.fetch(new_key.id);
  expect(fetched && fetched->name == new_key.name && !fetched->value,
         "fetch did not find the key, or carried its value");
  fmt::print("Fetched key '{}' by id {}\n", fetched->name, fetched->id.to_string());

  std::vector<apikeys::api_key> all_keys = keys.fetch_all();
  std::string names;
  bool listed = false;
  for (const apikeys::api_key& key : all_keys) {
    names.append(names.empty() ? "" : ", ").append(key.name);
    listed = listed || key.id == new_key.id;
  }
  expect(listed, "fetch_all does not list the new key");
  fmt::print("The user has {} API key(s): {}\n", all_keys.size(), names);

  toggle(keys, new_key.id);  // enabled, so this disables it
  toggle(keys, new_key.id);  // and this enables it again

  // Another device, with its own app client and connections, logs in with nothing but the key's value,
  // as the user who created the key. It does so before the key is deleted: a deleted key logs no one in.
  app_client device{apikeys::httplib_transport{}, app.config()};
  std::shared_ptr<apikeys::session> device_user = device.log_in(apikeys::credentials::api_key(*new_key.value));
  expect(device_user->user_id() == user->user_id(), "the key logged the device in as someone else");
  fmt::print("A second device logged in with the key as user {} (the key's owner)\n", device_user->user_id());
  return {user, std::move(new_key)};
}

// The second half, for `user`: delete the key, then show that it is gone and logs no one in.
void second_half(app_client& app, const std::shared_ptr<apikeys::session>& user, const apikeys::object_id& key_id,
                 const std::string& key_name, const apikeys::secret& key_value) {
  auto keys = app.api_keys(user);
  keys.remove(key_id);
  fmt::print("Deleted key '{}'\n", key_name);

  // A missing key is not an error for fetch: it gives an empty optional, as .NET gives null.
  std::optional<apikeys::api_key> gone = keys.fetch(key_id);
  expect(!gone, "the deleted key can still be fetched");
  fmt::print("Fetching the deleted key returns: {}\n", gone ? "a key" : "no key");

  try {
    app_client device{apikeys::httplib_transport{}, app.config()};
    device.log_in(apikeys::credentials::api_key(key_value));
    expect(false, "the deleted key still logs a device in");
  } catch (const apikeys::api_exception& e) {
    expect(e.code() == apikeys::errc::auth_error, "logging in with the deleted key failed in an unexpected way");
    fmt::print("Logging in with the deleted key now fails: {}\n", e.error().message);
  }
}

void run_story(const std::string& base_url, const std::string& app_id, const std::string& email,
               const apikeys::secret& password) {
  app_client app{apikeys::httplib_transport{}, config_for(base_url, app_id)};
  const logged_in_with_key made = first_half(app, email, password);
  second_half(app, made.user, made.key.id, made.key.name, *made.key.value);
}

// --store FILE --part 1: the first half, keeping the user in FILE for a later process.
void run_part_one(const std::string& base_url, const std::string& app_id, const std::string& email,
                  const apikeys::secret& password, const std::string& store_path) {
  apikeys::file_session_store store{store_path};
  app_client app{apikeys::httplib_transport{}, config_for(base_url, app_id)};
  app.use_store(store);  // the users it holds come back; each log in from now on is kept in it
  first_half(app, email, password);
  expect(app.current_user() != nullptr, "the store does not hold the user who logged in");
  fmt::print("The session is kept in the store; part 2 goes on from it in another process\n");
}

// --store FILE --part 2: the second half, as the user part 1 kept in FILE, with no log in.
void run_part_two(const std::string& base_url, const std::string& app_id, const std::string& store_path,
                  const apikeys::secret& key_value) {
  apikeys::file_session_store store{store_path};
  app_client app{apikeys::httplib_transport{}, config_for(base_url, app_id)};
  app.use_store(store);
  std::shared_ptr<apikeys::session> user = app.current_user();
  expect(user != nullptr, "the store holds no user: run part 1 first");
  fmt::print("Restored the session of {} from the store, without logging in\n", user->user_id());

  // The key's id was not kept: the user's key list finds it by its name.
  std::optional<apikeys::api_key> key;
  for (apikeys::api_key& listed : app.api_keys(user).fetch_all())
    if (listed.name == "someKeyName") key = std::move(listed);
  expect(key.has_value(), "the key part 1 made is not in the user's list");
  second_half(app, user, key->id, key->name, key_value);

  app.remove_user(user);  // logs out, and the store forgets the user
  expect(app.all_users().empty() && store.load()->users.empty(), "the store still holds the user");
  fmt::print("Logged out; the store holds no user now\n");
}

struct options {
  std::string base_url;
  std::string app_id;
  std::string email;
  std::optional<apikeys::secret> password;
  std::string store;
  int part = 0;  // 0: the whole story in this process
  std::optional<apikeys::secret> key_value;  // part 2: APIKEYS_KEY
  bool help = false;
};

// The options, or an empty optional after printing why they are wrong.
std::optional<options> parse_options(int argc, char** argv) {
  options out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg != "--base-url" && arg != "--app-id" && arg != "--email" && arg != "--password" && arg != "--store" &&
        arg != "--part") {
      fmt::print(stderr, "quickstart: unknown option '{}'\n", arg);
      return std::nullopt;
    }
    if (i + 1 >= argc) {
      fmt::print(stderr, "quickstart: {} needs a value\n", arg);
      return std::nullopt;
    }
    const std::string_view value = argv[++i];
    if (arg == "--base-url") out.base_url = value;
    if (arg == "--app-id") out.app_id = value;
    if (arg == "--email") out.email = value;
    if (arg == "--password") out.password.emplace(value);
    if (arg == "--store") out.store = value;
    if (arg == "--part") {
      if (value != "1" && value != "2") {
        fmt::print(stderr, "quickstart: --part is 1 or 2\n");
        return std::nullopt;
      }
      out.part = value == "1" ? 1 : 2;
    }
  }
  if (out.help) return out;
  if (out.base_url.empty() != out.app_id.empty()) {
    fmt::print(stderr, "quickstart: --base-url and --app-id go together\n");
    return std::nullopt;
  }
  if (out.store.empty() != (out.part == 0)) {
    fmt::print(stderr, "quickstart: --store and --part go together\n");
    return std::nullopt;
  }
  if (out.part != 0 && out.base_url.empty()) {
    fmt::print(stderr, "quickstart: --part needs --base-url and --app-id (a server that outlives part 1)\n");
    return std::nullopt;
  }
  if (out.part == 2) {
    const char* env_key = std::getenv("APIKEYS_KEY");
    if (env_key == nullptr || env_key[0] == '\0') {
      fmt::print(stderr, "quickstart: part 2 needs the key's value, which part 1 printed, in APIKEYS_KEY\n");
      return std::nullopt;
    }
    out.key_value.emplace(env_key);
    return out;
  }
  if (out.base_url.empty()) {
    if (!out.email.empty() || out.password) {
      fmt::print(stderr, "quickstart: --email and --password need --base-url (the emulator has its own user)\n");
      return std::nullopt;
    }
    return out;
  }
  const char* env_email = std::getenv("APIKEYS_EMAIL");
  const char* env_password = std::getenv("APIKEYS_PASSWORD");
  if (out.email.empty() && env_email != nullptr) out.email = env_email;
  if (!out.password && env_password != nullptr) out.password.emplace(env_password);
  if (out.email.empty() || !out.password || out.password->empty()) {
    fmt::print(stderr, "quickstart: set APIKEYS_EMAIL and APIKEYS_PASSWORD (or --email, --password) for the server\n");
    return std::nullopt;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<options> opts = parse_options(argc, argv);
  if (!opts) {
    fmt::print(stderr, "{}", usage);
    return 2;
  }
  if (opts->help) {
    fmt::print("{}", usage);
    return 0;
  }
  try {
    if (opts->part == 1) {
      run_part_one(opts->base_url, opts->app_id, opts->email, *opts->password, opts->store);
    } else if (opts->part == 2) {
      run_part_two(opts->base_url, opts->app_id, opts->store, *opts->key_value);
    } else if (!opts->base_url.empty()) {
      run_story(opts->base_url, opts->app_id, opts->email, *opts->password);
    } else {
      // No server given: serve one from this process. The demo user exists only in this emulator.
      const std::string email = "demo@example.com";
      const apikeys::secret password{"demo-password"};
      apikeys::testing::emulator emulator;
      emulator.add_user(email, password.reveal());
      apikeys::testing::emulator_server server{emulator};
      run_story(server.base_url(), emulator.app_id(), email, password);
    }
  } catch (const apikeys::api_exception& e) {
    // what() names the failed step and the server's answer, and never a key value, token or password.
    fmt::print(stderr, "quickstart: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "quickstart: {}\n", e.what());
    return 1;
  }
  return 0;
}
