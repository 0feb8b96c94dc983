// apikeys tests: session stores (memory, file) and the app's users API over the in-process emulator: the upsert,
// restoring users after a restart, current/all/switch/remove, and the store kept up to date.
#include <doctest/doctest.h>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <apikeys/testing/event_loop_transport.hpp>
#include <apikeys/testing/scripted_transport.hpp>
#include <fmt/format.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/emulator_config.hpp"
#include "support/sample_tokens.hpp"
#include "support/settle.hpp"

namespace {

using apikeys::credentials;
using apikeys::errc;
using apikeys::file_session_store;
using apikeys::memory_session_store;
using apikeys::secret;
using apikeys::session;
using apikeys::stored_user;
using apikeys::stored_users;
using apikeys::testing::emulator;
using apikeys_tests::config_for;
using namespace apikeys_tests::sample_tokens;
using apikeys_tests::settle;

using app_type = apikeys::basic_app_client<emulator&, apikeys::inline_executor, apikeys::return_result>;

// A fresh directory under the system's temporary one, removed with what it holds.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = std::string{std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp"} + "/apikeys-store-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~temp_dir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string{name}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

unsigned mode_of(const std::string& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return static_cast<unsigned>(info.st_mode & 07777);
}
bool exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

stored_user user(std::string id, std::string_view access, std::string_view refresh) {
  return {id, "device-" + id, "local-userpass", "http://127.0.0.1:1", secret{access}, secret{refresh}};
}

template <class Store>
void check_round_trip(Store& store) {
  auto empty = store.load();
  REQUIRE(empty);
  CHECK(empty->users.empty());
  CHECK(empty->current_user_id.empty());

  REQUIRE(store.save(user("u1", "acc-1", "ref-1")));
  REQUIRE(store.save(user("u2", "acc-2", "ref-2")));
  REQUIRE(store.set_current("u2"));
  // save of a user it holds replaces that user in place (the upsert)
  stored_user again = user("u1", "acc-1b", "ref-1b");
  again.provider = "api-key";
  REQUIRE(store.save(again));

  auto all = store.load();
  REQUIRE(all);
  REQUIRE(all->users.size() == 2);
  CHECK(all->current_user_id == "u2");
  CHECK(all->users[0].user_id == "u1");
  CHECK(all->users[0].device_id == "device-u1");
  CHECK(all->users[0].provider == "api-key");
  CHECK(all->users[0].host == "http://127.0.0.1:1");
  CHECK(all->users[0].access_token.reveal() == "acc-1b");
  CHECK(all->users[0].refresh_token.reveal() == "ref-1b");
  CHECK(all->users[1].user_id == "u2");
  CHECK(all->users[1].refresh_token.reveal() == "ref-2");

  // remove forgets the user and, when it was current, the current user id; a stranger is no error
  REQUIRE(store.remove("u2"));
  REQUIRE(store.remove("nobody"));
  all = store.load();
  REQUIRE(all);
  REQUIRE(all->users.size() == 1);
  CHECK(all->users[0].user_id == "u1");
  CHECK(all->current_user_id.empty());
}

// The emulator, with each request's method and URL written down (and whether it carried a bearer token).
struct recording {
  emulator& emu;
  std::vector<std::string> seen{};
  int last_status = 0;
  apikeys::http_response send(const apikeys::http_request& request) {
    std::string line = fmt::format("{} ", apikeys::to_string(request.method));
    line.append(request.url);
    for (const auto& header : request.headers)
      if (header.name == "Authorization" && header.value.starts_with("Bearer ") && header.value.size() > 20)
        line.append(" with a bearer token");
    seen.push_back(std::move(line));
    auto response = emu.send(request);
    last_status = response.status;
    return response;
  }
};

}  // namespace

TEST_CASE("memory_session_store: save (an upsert), load, remove, current") {
  memory_session_store store;
  check_round_trip(store);
}

TEST_CASE("stored_user prints its ids and host, never its tokens") {
  const stored_user u = user("u1", "SECRET-ACCESS", "SECRET-REFRESH");
  const std::string expected =
      "stored_user{user_id=u1, device_id=device-u1, provider=local-userpass, host=http://127.0.0.1:1, tokens <redacted>}";
  CHECK(fmt::format("{}", u) == expected);
  std::ostringstream os;
  os << u;
  CHECK(os.str() == expected);
  CHECK(fmt::format("{}", stored_user{}) == "stored_user{user_id=, device_id=, provider=, host=, no tokens}");
}

TEST_CASE("file_session_store: the same round trip, in a private file written atomically") {
  temp_dir dir;
  const std::string path = dir / "config/apikeys/users.json";
  const mode_t old_mask = ::umask(0);  // whatever the umask, the file is 0600 and the directories 0700
  {
    file_session_store store{path};
    CHECK(store.path() == path);
    check_round_trip(store);
  }
  ::umask(old_mask);
  CHECK(mode_of(path) == 0600);
  CHECK(mode_of(dir / "config/apikeys") == 0700);
  CHECK(mode_of(dir / "config") == 0700);
  // the temporary file was renamed, never left behind
  CHECK(entries(dir / "config/apikeys") == std::vector<std::string>{"users.json"});

  // the format, byte for byte (docs/protocol.md section 9)
  CHECK(read_file(path) ==
        "{\"version\":1,\"current_user_id\":\"\",\"users\":[{\"user_id\":\"u1\",\"device_id\":\"device-u1\","
        "\"provider\":\"api-key\",\"host\":\"http://127.0.0.1:1\",\"access_token\":\"acc-1b\",\"refresh_token\":\"ref-1b\"}]}\n");

  // another store on the same file (a new process, say) sees the same users
  file_session_store later{path};
  auto all = later.load();
  REQUIRE(all);
  REQUIRE(all->users.size() == 1);
  CHECK(all->users[0].access_token.reveal() == "acc-1b");

  // removing the last user removes the file; a missing file is an empty store
  REQUIRE(later.remove("u1"));
  CHECK_FALSE(exists(path));
  CHECK(entries(dir / "config/apikeys").empty());
  all = later.load();
  REQUIRE(all);
  CHECK(all->users.empty());
}

TEST_CASE("file_session_store: the apikeys CLI's older one-session file is one current user") {
  temp_dir dir;
  const std::string path = dir / "session.json";
  write_file(path,
             "{\"user_id\":\"u1\",\"device_id\":\"d1\",\"provider\":\"local-userpass\",\"host\":\"http://127.0.0.1:9\","
             "\"access_token\":\"acc.ess\",\"refresh_token\":\"ref.resh\",\"later\":{\"x\":[1]}}");
  file_session_store store{path};
  auto all = store.load();
  REQUIRE(all);
  REQUIRE(all->users.size() == 1);
  CHECK(all->current_user_id == "u1");
  CHECK(all->users[0].device_id == "d1");
  CHECK(all->users[0].refresh_token.reveal() == "ref.resh");
  // the next write is in the current format
  REQUIRE(store.set_current("u1"));
  CHECK(read_file(path).starts_with("{\"version\":1,\"current_user_id\":\"u1\",\"users\":[{\"user_id\":\"u1\""));
}

TEST_CASE("file_session_store: a file that is not a store is a typed error that names no token") {
  temp_dir dir;
  const std::string path = dir / "users.json";
  const std::string good_user = "{\"user_id\":\"u1\",\"device_id\":\"d1\",\"provider\":\"p\",\"host\":\"http://h\","
                                "\"access_token\":\"SECRET-ACCESS\",\"refresh_token\":\"SECRET-REFRESH\"}";
  struct bad_file {
    std::string text;
    std::string why;
  };
  const bad_file bad[] = {
      {"{not json SECRET-ACCESS", "it is not one JSON object"},
      {"[]", "it is not one JSON object"},
      {"", "it is not one JSON object"},
      {"{}", "'users' is missing"},
      {"{\"users\":{}}", "'users' is not one array"},
      {"{\"users\":[7]}", "a user is not a JSON object"},
      {"{\"users\":[" + good_user + "," + good_user + "]}", "a user appears twice"},
      {"{\"users\":[" + good_user + "]} SECRET-REFRESH", "it is not one JSON object"},
      {"{\"users\":[" + good_user + "],\"current_user_id\":\"u9\"}", "'current_user_id' names no user in it"},
      {"{\"users\":[{\"user_id\":\"u1\",\"device_id\":\"d1\",\"provider\":\"p\",\"host\":\"ftp://h\",\"access_token\":"
       "\"SECRET-ACCESS\",\"refresh_token\":\"SECRET-REFRESH\"}]}",
       "'host' is not an http or https URL"},
      {"{\"users\":[{\"user_id\":\"u1\",\"access_token\":\"SECRET-ACCESS\"}]}", "'device_id' is missing or empty"},
      {"{\"users\":[{\"user_id\":\"u1\",\"refresh_token\":7}]}", "'refresh_token' is not a string"},
      {"{\"user_id\":\"u1\",\"user_id\":\"u2\"}", "'user_id' appears twice"},
      {"{\"user_id\":\"u1\"}", "'device_id' is missing or empty"},
      {"{\"users\":[" + good_user + "],\"access_token\":\"SECRET-ACCESS\"}", "it mixes a user's members with 'users'"},
  };
  for (const auto& b : bad) {
    INFO(b.why);
    write_file(path, b.text);
    file_session_store store{path};
    auto loaded = store.load();
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().code == errc::store_error);
    CHECK(loaded.error().kind() == apikeys::error_kind::client);
    CHECK(loaded.error().http_status == 0);
    CHECK(loaded.error().message == "the session file " + path + " is not valid: " + b.why);
    CHECK(loaded.error().message.find("SECRET") == std::string::npos);
    // a change needs to read the file first, and so fails the same way, leaving it as it was
    auto saved = store.save(user("u3", "a", "r"));
    REQUIRE_FALSE(saved);
    CHECK(saved.error().code == errc::store_error);
    CHECK(read_file(path) == b.text);
  }

  // open to other users: refused by default, read when the option says so, and private again once written
  write_file(path, "{\"users\":[" + good_user + "]}", 0644);
  auto open = file_session_store{path}.load();
  REQUIRE_FALSE(open);
  CHECK(open.error().code == errc::store_error);
  CHECK(open.error().message == "other users may read the session file " + path + "; refusing it (chmod 600 it, or log in again)");
  file_session_store lenient{path, apikeys::file_store_options{false}};
  REQUIRE(lenient.load());
  REQUIRE(lenient.set_current("u1"));
  CHECK(mode_of(path) == 0600);

  // not a regular file; a directory that cannot be made; a file that cannot be read
  auto directory = file_session_store{dir.path()}.load();
  REQUIRE_FALSE(directory);
  CHECK(directory.error().message == "the session file " + dir.path() + " is not a regular file");
  write_file(dir / "plain", "x");
  auto blocked = file_session_store{dir / "plain/sub/users.json"}.save(user("u1", "SECRET-ACCESS", "SECRET-REFRESH"));
  REQUIRE_FALSE(blocked);
  CHECK(blocked.error().code == errc::store_error);
  CHECK(blocked.error().message.find("SECRET") == std::string::npos);
  if (::geteuid() != 0) {  // root reads whatever the mode says
    write_file(path, "{\"users\":[" + good_user + "]}", 0000);
    auto unreadable = file_session_store{path, apikeys::file_store_options{false}}.load();
    REQUIRE_FALSE(unreadable);
    CHECK(unreadable.error().code == errc::store_error);
    CHECK(unreadable.error().message.starts_with("cannot open the session file " + path + ": "));
  }
}

TEST_CASE("app users: an API-key login of a logged-in user updates and returns the same session (the upsert)") {
  emulator emu;
  emu.add_user("alice@example.com", "pw-alice-1");
  memory_session_store store;
  app_type app{emu, config_for(emu)};
  CHECK(app.current_user() == nullptr);  // no store: no users API, and nothing kept
  REQUIRE(app.use_store(store));
  CHECK(app.current_user() == nullptr);
  CHECK(app.all_users().empty());

  auto alice = app.log_in(credentials::email_password("alice@example.com", "pw-alice-1"));
  REQUIRE(alice);
  CHECK(app.current_user() == *alice);
  CHECK(app.all_users() == std::vector<std::shared_ptr<session>>{*alice});
  const secret first_refresh = (*alice)->refresh_token();
  const std::string first_device = (*alice)->device_id();

  auto keys = app.api_keys<apikeys::return_result>(*alice);
  auto key = keys.create("for-the-device");
  REQUIRE(key);
  REQUIRE(key->value);

  // .NET UserApiKeys_CanLoginWithGeneratedKey: the same user object, now logged in with the key
  auto by_key = app.log_in(credentials::api_key(*key->value));
  REQUIRE(by_key);
  CHECK(*by_key == *alice);
  CHECK((*alice)->provider() == "api-key");
  CHECK((*alice)->device_id() != first_device);
  CHECK_FALSE((*alice)->refresh_token() == first_refresh);
  CHECK((*alice)->logged_in());
  CHECK(app.all_users().size() == 1);
  auto held = store.load();
  REQUIRE(held);
  REQUIRE(held->users.size() == 1);
  CHECK(held->users[0].provider == "api-key");
  CHECK(held->users[0].refresh_token == (*alice)->refresh_token());
  // the key client made before the upsert goes on with the new tokens
  auto listed = keys.fetch_all();
  REQUIRE(listed);
  CHECK(listed->size() == 1);

  // a second app without a store: a second, unrelated session, as before
  app_type plain{emu, config_for(emu)};
  auto other = plain.log_in(credentials::api_key(*key->value));
  REQUIRE(other);
  CHECK(*other != *alice);
  CHECK(plain.all_users().empty());
}

TEST_CASE("app users: the upsert happens where the session is made, whatever the executor") {
  emulator emu;
  emu.add_user("alice@example.com", "pw-alice-1");
  apikeys::testing::event_loop_transport<emulator> loop{emu};
  memory_session_store store;
  using async_app = apikeys::basic_app_client<apikeys::testing::event_loop_transport<emulator>&, apikeys::future_executor,
                                              apikeys::return_result>;
  async_app app{loop, config_for(emu), apikeys::future_executor{nullptr}};
  REQUIRE(app.use_store(store));
  auto first = app.log_in(credentials::email_password("alice@example.com", "pw-alice-1")).get();
  REQUIRE(first);
  // several logins of the same user at once: one session object for all of them
  std::vector<std::future<apikeys::result<std::shared_ptr<session>>>> running;
  for (int i = 0; i < 4; ++i) running.push_back(app.log_in(credentials::email_password("alice@example.com", "pw-alice-1")));
  for (auto& f : running) {
    auto again = f.get();
    REQUIRE(again);
    CHECK(*again == *first);
  }
  CHECK(app.all_users().size() == 1);
  auto held = store.load();
  REQUIRE(held);
  REQUIRE(held->users.size() == 1);
  CHECK(held->users[0].refresh_token == (*first)->refresh_token());
}

TEST_CASE("app users: restored after a restart; current, all, switch, refresh, log out and remove keep the store") {
  emulator emu;
  emu.add_user("alice@example.com", "pw-alice-1");
  emu.add_user("bob@example.com", "pw-bob-2");
  temp_dir dir;
  const std::string path = dir / "apikeys/users.json";
  std::string alice_id;
  std::string bob_id;
  {
    file_session_store store{path};
    app_type app{emu, config_for(emu)};
    REQUIRE(app.use_store(store));
    auto alice = app.log_in(credentials::email_password("alice@example.com", "pw-alice-1"));
    REQUIRE(alice);
    auto bob = app.log_in(credentials::email_password("bob@example.com", "pw-bob-2"));
    REQUIRE(bob);
    alice_id = (*alice)->user_id();
    bob_id = (*bob)->user_id();
    CHECK(app.current_user() == *bob);
    CHECK(app.all_users() == std::vector<std::shared_ptr<session>>{*alice, *bob});
    REQUIRE(app.switch_user(*alice));
    CHECK(app.current_user() == *alice);
    // a session this app does not keep cannot be switched to
    app_type plain{emu, config_for(emu)};
    auto stranger = plain.log_in(credentials::email_password("bob@example.com", "pw-bob-2"));
    REQUIRE(stranger);
    auto refused = app.switch_user(*stranger);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::invalid_argument);
    CHECK(app.current_user() == *alice);
    REQUIRE(app.api_keys<apikeys::return_result>(*alice).create("made-before-the-restart"));
    // a refresh's new access token is saved
    const secret before = (*alice)->access_token();
    REQUIRE(app.refresh(*alice));
    CHECK_FALSE((*alice)->access_token() == before);
    auto held = store.load();
    REQUIRE(held);
    REQUIRE(held->users.size() == 2);
    CHECK(held->current_user_id == alice_id);
    CHECK(held->users[0].access_token == (*alice)->access_token());
  }
  CHECK(mode_of(path) == 0600);
  CHECK(mode_of(dir / "apikeys") == 0700);

  // the restart: a new app object on the same file, and no log in
  file_session_store store{path};
  app_type app{emu, config_for(emu)};
  REQUIRE(app.use_store(store));
  const auto users = app.all_users();
  REQUIRE(users.size() == 2);
  CHECK(users[0]->user_id() == alice_id);
  CHECK(users[1]->user_id() == bob_id);
  CHECK(users[0]->provider() == "local-userpass");
  CHECK(users[0]->host() == emu.hostname());
  REQUIRE(app.current_user() == users[0]);
  auto listed = app.api_keys<apikeys::return_result>(app.current_user()).fetch_all();
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].name == "made-before-the-restart");
  // a log in of a restored user is an upsert too
  auto again = app.log_in(credentials::email_password("bob@example.com", "pw-bob-2"));
  REQUIRE(again);
  CHECK(*again == users[1]);
  CHECK(app.current_user() == users[1]);

  // log out ends the session and forgets the user; the next one left becomes current
  REQUIRE(app.log_out(users[1]));
  CHECK_FALSE(users[1]->logged_in());
  CHECK(app.all_users() == std::vector<std::shared_ptr<session>>{users[0]});
  CHECK(app.current_user() == users[0]);
  auto held = store.load();
  REQUIRE(held);
  REQUIRE(held->users.size() == 1);
  CHECK(held->current_user_id == alice_id);

  // remove_user: the same, under .NET's name; the last one gone takes the file with it
  REQUIRE(app.remove_user(users[0]));
  CHECK(app.all_users().empty());
  CHECK(app.current_user() == nullptr);
  CHECK_FALSE(exists(path));

  // a session the server ended (a 401 to its refresh token) is forgotten too
  auto carol = app.log_in(credentials::email_password("alice@example.com", "pw-alice-1"));
  REQUIRE(carol);
  app_type elsewhere{emu, config_for(emu)};
  auto copy = std::make_shared<session>((*carol)->user_id(), (*carol)->device_id(), (*carol)->provider(), (*carol)->host(),
                                        (*carol)->access_token(), (*carol)->refresh_token());
  REQUIRE(elsewhere.log_out(copy));  // revokes the tokens on the server
  // a refresh's 401 keeps the session, as core does (docs/protocol.md section 7); the user stays
  auto refused_refresh = app.refresh(*carol);
  REQUIRE_FALSE(refused_refresh);
  CHECK(refused_refresh.error().http_status == 401);
  CHECK(app.all_users().size() == 1);
  CHECK(exists(path));
  // a key call's 401 ends it
  auto dead = app.api_keys<apikeys::return_result>(*carol).fetch_all();
  REQUIRE_FALSE(dead);
  CHECK(dead.error().http_status == 401);
  CHECK_FALSE((*carol)->logged_in());
  CHECK(app.all_users().empty());
  CHECK_FALSE(exists(path));
}

TEST_CASE("app users: a store that cannot be read or written fails use_store and log_in, and changes nothing") {
  emulator emu;
  emu.add_user("alice@example.com", "pw-alice-1");
  temp_dir dir;
  write_file(dir / "corrupt.json", "{\"users\":[{\"user_id\":\"u1\",\"access_token\":\"SECRET-ACCESS\"}]}");
  file_session_store corrupt{dir / "corrupt.json"};
  app_type app{emu, config_for(emu)};
  auto attached = app.use_store(corrupt);
  REQUIRE_FALSE(attached);
  CHECK(attached.error().code == errc::store_error);
  CHECK(attached.error().message.find("SECRET") == std::string::npos);

  file_session_store nowhere{dir / "later/users.json"};
  recording wire{emu};
  apikeys::basic_app_client<recording&, apikeys::inline_executor, apikeys::return_result> recorded{wire, config_for(emu)};
  REQUIRE(recorded.use_store(nowhere));  // missing: an empty store
  write_file(dir / "later", "x");        // and now its directory cannot be made
  auto login = recorded.log_in(credentials::email_password("alice@example.com", "pw-alice-1"));
  REQUIRE_FALSE(login);
  CHECK(login.error().code == errc::store_error);
  CHECK(login.error().context == "log in");
  CHECK(recorded.all_users().empty());
  CHECK(recorded.current_user() == nullptr);
  // the session the server made is revoked, not left valid with no one holding it
  REQUIRE(wire.seen.size() == 4);
  CHECK(wire.seen[1] == "POST " + emu.hostname() + "/api/client/v2.0/app/" + emu.app_id() + "/auth/providers/local-userpass/login");
  CHECK(wire.seen[2] == "GET " + emu.hostname() + "/api/client/v2.0/auth/profile with a bearer token");
  CHECK(wire.seen[3] == "DELETE " + emu.hostname() + "/api/client/v2.0/auth/session with a bearer token");
  CHECK(wire.last_status == 204);

  // the throwing policy throws the same error
  apikeys::basic_app_client<emulator&> throwing{emu, config_for(emu)};
  CHECK_THROWS_AS(throwing.use_store(corrupt), apikeys::api_exception);
}

// --- the same rules on the wire, over a scripted transport -------------------------------------------------------

namespace {

constexpr std::string_view scripted_host = "https://us-east-1.aws.services.example";

std::string location_answer() {
  return "{\"deployment_model\":\"GLOBAL\",\"location\":\"US-VA\",\"hostname\":\"" + std::string{scripted_host} +
         "\",\"ws_hostname\":\"wss://x.example\"}";
}
std::string login_answer(std::string_view access, std::string_view refresh, std::string_view device) {
  return "{\"access_token\":\"" + std::string{access} + "\",\"refresh_token\":\"" + std::string{refresh} +
         "\",\"user_id\":\"user-42\",\"device_id\":\"" + std::string{device} + "\"}";
}
// The profile each log in fetches (docs/protocol.md section 4), with the identities the user has by then.
std::string profile_answer(bool with_key_identity) {
  std::string identities = R"({"id":"i1","provider_type":"local-userpass","provider_id":"p1"})";
  if (with_key_identity) identities += R"(,{"id":"i2","provider_type":"api-key","provider_id":"p2"})";
  return R"({"user_id":"user-42","domain_id":"d","identities":[)" + identities +
         R"(],"data":{"email":"someone@example.com"},"type":"normal"})";
}
std::string authorization(const apikeys::http_request& request) {
  for (const auto& h : request.headers)
    if (h.name == "Authorization") return h.value;
  return {};
}
apikeys::app_config scripted_config() {
  apikeys::app_config config;
  config.app_id = "myapp-abcde";
  config.base_url = "https://services.example";
  return config;
}

}  // namespace

TEST_CASE("app users over a scripted transport: the upsert, a saved refresh, and the revoke of a login the store refused") {
  using scripted_app = apikeys::basic_app_client<apikeys::testing::scripted_transport&, apikeys::inline_executor,
                                                 apikeys::return_result>;
  apikeys::testing::scripted_transport wire;
  memory_session_store store;
  scripted_app app{wire, scripted_config()};
  REQUIRE(app.use_store(store));
  wire.respond(200, location_answer())
      .respond(200, login_answer(access_token, refresh_token, "device-1"))
      .respond(200, profile_answer(false));
  auto first = app.log_in(credentials::email_password("someone@example.com", "pw"));
  REQUIRE(first);
  CHECK((*first)->device_id() == "device-1");
  const auto first_profile = (*first)->profile();
  REQUIRE(first_profile);
  CHECK(first_profile->identities.size() == 1);
  wire.respond(200, login_answer(key_access_token, key_refresh_token, "device-2")).respond(200, profile_answer(true));
  auto second = app.log_in(credentials::api_key(key_value));
  REQUIRE(second);
  CHECK(*second == *first);
  // the upsert takes the second log in's profile too; the first snapshot is unchanged
  REQUIRE((*first)->profile());
  REQUIRE((*first)->profile()->identities.size() == 2);
  CHECK((*first)->profile()->identities[1].provider_type == "api-key");
  CHECK(first_profile->identities.size() == 1);
  CHECK((*first)->provider() == "api-key");
  CHECK((*first)->device_id() == "device-2");
  CHECK((*first)->refresh_token().reveal() == key_refresh_token);
  CHECK((*first)->access_token().reveal() == key_access_token);

  // the key client sends the new refresh token; a refresh's access token lands in the store
  wire.respond(200, "[]");
  REQUIRE(app.api_keys<apikeys::return_result>(*first).fetch_all());
  CHECK(authorization(wire.last_request()) == "Bearer " + std::string{key_refresh_token});
  wire.respond(201, "{\"access_token\":\"" + std::string{refreshed_access_token} + "\"}");
  REQUIRE(app.refresh(*first));
  auto held = store.load();
  REQUIRE(held);
  REQUIRE(held->users.size() == 1);
  CHECK(held->users[0].access_token.reveal() == refreshed_access_token);
  CHECK(held->users[0].refresh_token.reveal() == key_refresh_token);
  CHECK(held->users[0].device_id == "device-2");
  CHECK(held->current_user_id == "user-42");

  // a 401 to the refresh token ends the session (and revokes it on the server), and the store forgets it
  wire.respond(401, "{\"error\":\"invalid session\",\"error_code\":\"InvalidSession\"}").respond(204);
  CHECK_FALSE(app.api_keys<apikeys::return_result>(*first).fetch_all());
  CHECK(wire.last_request().method == apikeys::http_method::delete_);
  CHECK(app.all_users().empty());
  CHECK(store.load()->users.empty());
  CHECK(store.load()->current_user_id.empty());
}

namespace {
// A store whose writes fail, to see what a log in does then.
struct refusing_store {
  apikeys::result<stored_users> load() { return stored_users{}; }
  apikeys::result<void> save(const stored_user&) {
    apikeys::api_error e;
    e.code = errc::store_error;
    e.message = "the disk is full";
    return apikeys::unexpected{e};
  }
  apikeys::result<void> remove(std::string_view) { return {}; }
  apikeys::result<void> set_current(std::string_view) { return {}; }
};
static_assert(apikeys::session_store<refusing_store>);
static_assert(!apikeys::session_store<int>);
}  // namespace

TEST_CASE("app users over a scripted transport: a login the store cannot keep is revoked with its own refresh token") {
  using scripted_app = apikeys::basic_app_client<apikeys::testing::scripted_transport&, apikeys::inline_executor,
                                                 apikeys::return_result>;
  for (const int revoke_status : {204, 500}) {
    INFO(revoke_status);
    apikeys::testing::scripted_transport wire;
    refusing_store store;
    scripted_app app{wire, scripted_config()};
    REQUIRE(app.use_store(store));
    wire.respond(200, location_answer())
        .respond(200, login_answer(access_token, refresh_token, "device-1"))
        .respond(200, profile_answer(false))
        .respond(revoke_status);
    auto login = app.log_in(credentials::email_password("someone@example.com", "pw"));
    REQUIRE_FALSE(login);
    // the store's error, whatever the revoke's answer
    CHECK(login.error().code == errc::store_error);
    CHECK(login.error().message == "the disk is full");
    CHECK(login.error().context == "log in");
    const auto sent = wire.requests();
    REQUIRE(sent.size() == 4);  // location, log in, its profile, the revoke
    CHECK(sent[2].url == std::string{scripted_host} + "/api/client/v2.0/auth/profile");
    CHECK(sent[3].method == apikeys::http_method::delete_);
    CHECK(sent[3].url == std::string{scripted_host} + "/api/client/v2.0/auth/session");
    CHECK(authorization(sent[3]) == "Bearer " + std::string{refresh_token});
    CHECK(sent[3].body.empty());
    CHECK(app.all_users().empty());
    CHECK(app.current_user() == nullptr);
  }
}
