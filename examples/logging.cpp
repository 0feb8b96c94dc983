// logging: the whole API-key story with every event at trace level printed, one line each, as fmt_log_sink
// writes them; against an emulator served from this process over real HTTP. Checks that no line holds a secret.
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/emulator_server.hpp>
#include <apikeys/transport/httplib.hpp>
#include <fmt/core.h>

namespace {

using app_client = apikeys::basic_app_client<apikeys::httplib_transport, apikeys::inline_executor, apikeys::return_result>;

struct story_failed : std::exception {
  explicit story_failed(const char* w) : what_(w) {}
  const char* what() const noexcept override { return what_; }
  const char* what_;
};
template <class R>
auto&& expect(R&& r, const char* what) {
  if (!r) throw story_failed(what);
  return std::forward<R>(r);
}

}  // namespace

int main() {
  apikeys::testing::emulator emulator;
  apikeys::testing::emulator_server server{emulator};
  const std::string email = "logging@example.com";
  const apikeys::secret password{"logging-Pa55word"};

  // The secrets of this run, to look for in every line afterwards.
  std::vector<std::string> secrets{std::string{password.reveal()}};
  std::vector<std::string> lines;

  // One line per event on stdout, as fmt_log_sink writes it; this example keeps a copy of each line too,
  // for its own check at the end. A program that only wants the lines writes
  // `config.logger = apikeys::fmt_log_sink(stderr, apikeys::log_level::trace);`.
  const apikeys::log_sink printed = apikeys::fmt_log_sink(stdout, apikeys::log_level::trace);
  apikeys::app_config config;
  config.app_id = emulator.app_id();
  config.base_url = server.base_url();
  config.logger = apikeys::log_sink(
      [&](const apikeys::log_event& event) {
        printed.write(event);
        lines.push_back(fmt::format("{}", event));
      },
      apikeys::log_level::trace);

  // The adapter reports its connections (connect, reuse) to its own sink: here the same one.
  apikeys::httplib_transport_options transport_options;
  transport_options.logger = config.logger;
  app_client app{apikeys::httplib_transport{transport_options}, config};
  try {
    fmt::print("-- register and log in\n");
    expect(app.register_user(email, password.reveal()), "register");
    auto user = *expect(app.log_in(apikeys::credentials::email_password(email, password.reveal())), "log in");
    secrets.emplace_back(user->access_token().reveal());
    secrets.emplace_back(user->refresh_token().reveal());
    auto keys = app.api_keys(user);  // inherits the app's sink

    fmt::print("-- create, fetch, fetch all, disable, enable\n");
    auto key = *expect(keys.create("logging-key"), "create");
    secrets.emplace_back(key.value->reveal());
    expect(keys.fetch(key.id), "fetch");
    expect(keys.fetch_all(), "fetch all");
    expect(keys.disable(key.id), "disable");
    expect(keys.enable(key.id), "enable");
    fmt::print("-- an error: a second key with the same name (409)\n");
    if (keys.create("logging-key")) throw story_failed("a duplicate name was accepted");

    fmt::print("-- a second device logs in with the key, refreshes, reads the profile, logs out\n");
    auto device = *expect(app.log_in(apikeys::credentials::api_key(*key.value)), "api-key log in");
    secrets.emplace_back(device->access_token().reveal());
    secrets.emplace_back(device->refresh_token().reveal());
    expect(app.refresh(device), "refresh");
    secrets.emplace_back(device->access_token().reveal());
    expect(app.profile(device), "profile");
    expect(app.log_out(device), "log out the device");

    fmt::print("-- remove the key, log out\n");
    expect(keys.remove(key.id), "remove");
    expect(app.log_out(user), "log out");
  } catch (const std::exception& e) {
    fmt::print(stderr, "logging: the story failed at: {}\n", e.what());
    return 1;
  }

  // Every line is free of the story's secrets, and the log saw what happened.
  int leaks = 0;
  for (const auto& line : lines)
    for (const auto& s : secrets)
      if (line.find(s) != std::string::npos) {
        ++leaks;
        fmt::print(stderr, "logging: a line holds a secret: {} characters of it\n", s.size());
      }
  const auto count = [&](std::string_view prefix) {
    std::size_t n = 0;
    for (const auto& line : lines) n += line.find(prefix) != std::string::npos ? 1 : 0;
    return n;
  };
  // 17 exchanges: the location, register, two log ins each with its profile, six key calls and a failed
  // create, refresh, profile, two log outs.
  const bool complete = count(" request_started ") == 17 && count(" response ") == 17 && count(" location_resolved ") == 1 &&
                        count(" session_ended why=logged out") == 2 && count(" connect ") >= 1;
  fmt::print("-- {} lines, {} with a secret; {}\n", lines.size(), leaks, complete ? "every call reported" : "calls missing");
  return leaks == 0 && complete ? 0 : 1;
}
