// apikeys fuzz target: every app and key client operation, through transports whose answers are the fuzzer's.
//
// Input: [mode] then operations, each [op][its arguments], and every request the clients send takes its
// answer from the bytes that follow at that moment: [kind] and then, by kind,
//   kind & 7 == 0  a transport failure      [code][message length][message]
//   kind & 7 == 1  the transport throws     [message length][message]   (bit 3: not a std::exception)
//   kind & 7 == 2  a canned answer          [index]
//   otherwise      a response               [status][headers selector][custom type?][body length: 2][body]
// bit 4 of kind: an async transport completes twice; bit 5: it throws after completing.
// Past the end of the input every request fails as a transport error, so every run ends.
// mode % 3: 0 send() with inline_executor, 1 async_send() with inline_executor (blocking_send),
//           2 async_send() with callback_executor (the asynchronous pipeline, completing inline).
#include <simdjson.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../unit/support/settle.hpp"
#include "fuzz_support.hpp"

using namespace apikeys_fuzz;
using apikeys::api_error;
using apikeys::errc;
using apikeys::http_request;
using apikeys::http_response;
using apikeys::send_result_type;

namespace {

constexpr std::string_view base_url = "https://services.example";
constexpr std::string_view app_id = "fuzz-app";
constexpr std::string_view location_url = "https://services.example/api/client/v2.0/app/fuzz-app/location";
constexpr std::string_view planted_host = "https://us-east-1.aws.services.example";
constexpr std::chrono::milliseconds timeout{1000};

// Secrets the clients are given on the request side. None may reach an error or a printed object, unless
// the input itself holds those bytes: an answer may echo what it likes, and a key name or an email (not
// secrets) may be made of anything.
constexpr std::string_view password = "pw-Q7vX9Lk2mN8pR4tY1wB6cD";
constexpr std::string_view login_key = "key-Zq3vX9Lk2mN8pR4tY7wB1cD6fG0hJ5sA3eU8iO2yT6rE4wQ9zX1cV7bN";
constexpr std::string_view custom_token = "jwt-eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2lnbmF0dXJl";
constexpr std::string_view access_token = "at-eyJzdWIiOiJ1c2VyLTEiLCJ0eXAiOiJhY2Nlc3MifQ.YWNjZXNz";
constexpr std::string_view refresh_token = "rt-eyJzdWIiOiJ1c2VyLTEiLCJ0eXAiOiJyZWZyZXNoIn0.cmVmcmVzaA";
constexpr std::string_view planted[] = {password, login_key, custom_token, access_token, refresh_token};
constexpr std::size_t leak_window = 12;

using namespace apikeys::literals;
constexpr apikeys::object_id key_ids[] = {"5e5e6f0abe4ae2a2c2c2d329"_oid, "64b7e2a1f0c3d4e5a6b7c8d9"_oid,
                                          apikeys::object_id{}};

std::shared_ptr<apikeys::session> planted_session() {
  return std::make_shared<apikeys::session>("user-1", "device-1", "local-userpass", std::string{planted_host},
                                            apikeys::secret{access_token}, apikeys::secret{refresh_token});
}

// Realistic answers, so a short input can get past the location and the log in.
struct canned {
  int status;
  bool json;
  std::string_view body;
};
constexpr canned canned_answers[] = {
    {200, true,
     R"({"deployment_model":"GLOBAL","location":"US-VA","hostname":"https://us-east-1.aws.services.example",)"
     R"("ws_hostname":"wss://ws.example"})"},
    {200, true, R"({"access_token":"fz.access.1","refresh_token":"fz.refresh.1","user_id":"u-9","device_id":"d-9"})"},
    {201, true,
     R"({"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"my-key","disabled":false,"key":"fz-created-value-0123456789"})"},
    {200, true, R"({"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"my-key","disabled":true})"},
    {200, true,
     R"([{"_id":"5e5e6f0abe4ae2a2c2c2d329","name":"a","disabled":false},)"
     R"({"_id":"64b7e2a1f0c3d4e5a6b7c8d9","name":"b","disabled":true}])"},
    {200, true, "[]"},
    {201, true, R"({"access_token":"fz.access.2"})"},
    {200, true,
     R"({"user_id":"u-9","identities":[{"id":"i","provider_type":"local-userpass","provider_id":"p"}],)"
     R"("data":{"email":"a@b.c"},"type":"normal"})"},
    {204, false, ""},
    {401, true, R"({"error":"invalid session","error_code":"InvalidSession","link":"https://logs.example/1"})"},
    {404, true, R"({"error":"API key not found","error_code":"APIKeyNotFound"})"},
    {502, false, "<html><body>Bad Gateway</body></html>"},
    {200, true, R"({"hostname":"http://127.0.0.1:9090/","ws_hostname":"ws://127.0.0.1:9090/"})"},
    {403, true, R"({"error":"anonymous users cannot use API keys","error_code":"AuthError"})"},
    {400, true, R"({"error":"'name' is a required string"})"},
    {200, true, R"({"error":"maintenance","error_code":"MaintenanceInProgress"})"},
};

// Every canned body, for the leak check: bytes an answer carried are the server's to echo.
const std::string& canned_text() {
  static const std::string all = [] {
    std::string text;
    for (const canned& c : canned_answers) text.append(c.body).push_back('\n');
    return text;
  }();
  return all;
}

constexpr errc failure_codes[] = {errc::transport_error,   errc::connection_failed, errc::timeout,
                                  errc::tls_error,         errc::connection_reset,  errc::too_many_redirects,
                                  errc::api_key_not_found, errc::bad_response,      errc::invalid_argument};

std::string describe_request(const http_request& r) { return apikeys::detail::describe(r); }

// APIKEYS_FUZZ_TRACE=1 prints each call and each request with its answer: for reading what an input does.
bool tracing() {
  static const bool on = std::getenv("APIKEYS_FUZZ_TRACE") != nullptr;
  return on;
}

// --- the answers -----------------------------------------------------------------------------------------

enum class action { deliver, throw_std, throw_other };

struct plan {
  action what = action::deliver;
  send_result_type sent{http_response{}};
  std::string thrown;
  bool twice = false;
  bool throw_after = false;
};

// Reads each answer off the input and checks each request the clients send.
class answer_source {
 public:
  explicit answer_source(byte_reader& in) : in_(in) {}

  std::size_t sends = 0;
  std::size_t location_requests = 0;
  bool location_cached = false;  // set by the driver: the calling app already knows its location
  std::string email;             // what a log in or register must send as the user name
  std::string key_name;          // what a create must send as the name

  plan next(const http_request& request) {
    ++sends;
    check_request(request);
    if (tracing())
      std::fprintf(stderr, "  -> %s %s\n", std::string{apikeys::to_string(request.method)}.c_str(),
                   request.url.c_str());
    plan p;
    const std::uint8_t kind = in_.byte();
    p.twice = (kind & 0x10u) != 0;
    p.throw_after = (kind & 0x20u) != 0;
    switch (kind & 0x07u) {
      case 0: {
        const errc code = failure_codes[in_.pick(std::size(failure_codes))];
        std::string message = in_.short_string();
        p.sent = apikeys::unexpected{apikeys::transport_error{code, std::move(message)}};
        break;
      }
      case 1:
        p.what = (kind & 0x08u) ? action::throw_other : action::throw_std;
        p.thrown = in_.short_string();
        break;
      case 2: {
        const canned& c = canned_answers[in_.pick(std::size(canned_answers))];
        http_response r;
        r.status = c.status;
        if (c.json) r.headers.push_back({"Content-Type", "application/json"});
        r.body.assign(c.body);
        p.sent = std::move(r);
        break;
      }
      default: {
        http_response r;
        r.status = status_from(in_.byte());
        r.headers = headers_from(in_.byte(), in_);
        r.body = in_.long_string();
        p.sent = std::move(r);
        break;
      }
    }
    if (tracing()) {
      if (p.what != action::deliver) {
        std::fprintf(stderr, "  <- throws \"%s\"\n", p.thrown.c_str());
      } else if (p.sent) {
        std::fprintf(stderr, "  <- HTTP %d, %zu byte body\n", p.sent->status, p.sent->body.size());
      } else {
        std::fprintf(stderr, "  <- fails: %s\n", apikeys::detail::describe(p.sent.error()).c_str());
      }
    }
    return p;
  }

 private:
  void check_request(const http_request& r) {
    const std::string shown = describe_request(r);
    APIKEYS_FUZZ_CHECK(r.url.starts_with("https://") || r.url.starts_with("http://"), shown);
    APIKEYS_FUZZ_CHECK(r.timeout == timeout, shown);
    if (r.url == location_url) {
      ++location_requests;
      // Looked up once per app, and only while no answer is cached (section 6).
      APIKEYS_FUZZ_CHECK(!location_cached, "the location was asked again after it was known");
      APIKEYS_FUZZ_CHECK(r.method == apikeys::http_method::get && r.headers.empty() && r.body.empty(), shown);
      return;
    }
    if (const std::string* auth = apikeys::find_header(r.headers, "authorization"))
      APIKEYS_FUZZ_CHECK(auth->starts_with("Bearer ") && auth->size() > 7, shown);
    if (!r.body.empty()) check_body(r);
  }

  // A request body is one JSON object whose strings read back as what the caller gave.
  void check_body(const http_request& r) {
    static simdjson::dom::parser parser;
    const simdjson::padded_string padded(r.body);
    simdjson::dom::object object;
    APIKEYS_FUZZ_CHECK(!parser.parse(padded).get(object), "a request body is not a JSON object");
    const auto member = [&](std::string_view name) -> std::optional<std::string_view> {
      std::string_view text;
      if (object.at_key(name).get_string().get(text)) return std::nullopt;
      return text;
    };
    if (r.url.ends_with("/login")) {
      if (auto v = member("password")) APIKEYS_FUZZ_CHECK(*v == password, "the password did not survive escaping");
      if (auto v = member("key")) APIKEYS_FUZZ_CHECK(*v == login_key, "the key did not survive escaping");
      if (auto v = member("token")) APIKEYS_FUZZ_CHECK(*v == custom_token, "the token did not survive escaping");
      if (auto v = member("username")) APIKEYS_FUZZ_CHECK(*v == email, "the email did not survive escaping");
    } else if (r.url.ends_with("/register")) {
      APIKEYS_FUZZ_CHECK(member("email") == std::optional<std::string_view>{email},
                         "the email did not survive escaping");
      APIKEYS_FUZZ_CHECK(member("password") == std::optional<std::string_view>{password},
                         "the password did not survive");
    } else if (r.url.ends_with("/auth/api_keys")) {
      APIKEYS_FUZZ_CHECK(member("name") == std::optional<std::string_view>{key_name}, "the key name did not survive");
    }
  }

  byte_reader& in_;
};

// send(): a synchronous transport; a failure is a result, or thrown.
struct sync_transport {
  answer_source* source;
  send_result_type send(const http_request& request) {
    plan p = source->next(request);
    if (p.what == action::throw_std) throw std::runtime_error(p.thrown);
    if (p.what == action::throw_other) throw 42;
    return std::move(p.sent);
  }
};

// async_send() only, completing inside the call: once, twice, before or after throwing.
struct async_transport {
  answer_source* source;
  template <class Completion>
  void async_send(const http_request& request, Completion&& completion) {
    plan p = source->next(request);
    // The request may be gone once the completion has run: nothing below reads it.
    if (p.what != action::deliver && !p.throw_after) {
      if (p.what == action::throw_std) throw std::runtime_error(p.thrown);
      throw 42;
    }
    send_result_type copy = p.sent;
    completion(std::move(p.sent));
    if (p.twice) completion(std::move(copy));
    if (p.throw_after) throw std::runtime_error("thrown after completing");
  }
};

// --- outcomes ----------------------------------------------------------------------------------------------

// Whatever the executor and policy return, as a result<T> (tests/unit/support/settle.hpp), with two more
// checks: a deferred_call completes inside then(), and an api_exception's what() and code() agree with its error.
struct fuzz_checks {
  void thrown(const apikeys::api_exception& ex) const {
    // what() is a C string: an answer's NUL byte (an HTTP error carries the body's text) ends it early.
    const std::string described = apikeys::detail::describe(ex.error());
    APIKEYS_FUZZ_CHECK(std::string_view{ex.what()} == std::string_view{described}.substr(0, described.find('\0')),
                       ex.what());
    APIKEYS_FUZZ_CHECK(ex.code() == ex.error().code, ex.what());
  }
  void pending() const {
    APIKEYS_FUZZ_CHECK(false, "a callback did not run inside then() with a null pool and an inline transport");
  }
};

template <class Make>
auto settle(Make&& make) {
  return apikeys_tests::settle(std::forward<Make>(make), fuzz_checks{});
}

// --- the driver ---------------------------------------------------------------------------------------------

template <class Transport, class Executor>
class driver {
  template <class Policy>
  using app_type = apikeys::basic_app_client<Transport&, Executor, Policy>;

 public:
  driver(std::string_view input, byte_reader& in, answer_source& source, Transport& transport, const Executor& executor)
      : input_(input),
        in_(in),
        source_(source),
        results_app_(transport, config(), executor),
        throwing_app_(transport, config(), executor),
        user_(planted_session()) {}

  void run() {
    for (int step = 0; step < 32 && !in_.empty(); ++step) {
      const std::uint8_t op = in_.byte();
      if (op & 0x80u) {
        one<apikeys::throw_on_error>(throwing_app_, throwing_located_, op);
      } else {
        one<apikeys::return_result>(results_app_, results_located_, op);
      }
    }
  }

 private:
  static apikeys::app_config config() {
    apikeys::app_config c;
    c.app_id = std::string{app_id};
    c.base_url = std::string{base_url};
    c.timeout = timeout;
    return c;
  }

  template <class Policy>
  void one(app_type<Policy>& app, bool& located, std::uint8_t op) {
#if APIKEYS_HAS_EXCEPTIONS
    try {
#endif
      operation<Policy>(app, located, op);
#if APIKEYS_HAS_EXCEPTIONS
    } catch (const std::exception& ex) {
      APIKEYS_FUZZ_CHECK(false, std::string{"an exception escaped a call: "} + ex.what());
    } catch (...) {
      APIKEYS_FUZZ_CHECK(false, "a non-std exception escaped a call");
    }
#endif
    check_session();
  }

  template <class Policy>
  void operation(app_type<Policy>& app, bool& located, std::uint8_t op) {
    source_.location_cached = located;
    before_ = source_.sends;
    const std::size_t locations_before = source_.location_requests;
    const bool logged_in = user_ && user_->logged_in();
    auto keys = app.template api_keys<Policy>(user_);
    if (tracing()) {
      static constexpr const char* names[] = {"location",  "log_in",  "register",   "create", "fetch",
                                              "fetch_all", "enable",  "disable",    "remove", "refresh",
                                              "log_out",   "profile", "new_session"};
      std::fprintf(stderr, "%s%s\n", names[(op & 0x7fu) % 13], (op & 0x80u) ? " (throw_on_error)" : "");
    }
    switch ((op & 0x7fu) % 13) {
      case 0: {  // location
        auto r = settle([&] { return app.location(); });
        finish(r, 1);
        if (r) {
          check_host(r->hostname);
          located = true;
        }
        break;
      }
      case 1: {  // log in, and perhaps carry on as the new session
        const std::size_t which = in_.pick(4);
        source_.email = which == 0 ? in_.short_string() : std::string{};
        const apikeys::credentials creds = which == 0   ? apikeys::credentials::email_password(source_.email, password)
                                           : which == 1 ? apikeys::credentials::api_key(login_key)
                                           : which == 2 ? apikeys::credentials::anonymous()
                                                        : apikeys::credentials::custom_token(custom_token);
        const bool adopt = in_.flag();
        auto r = settle([&] { return app.log_in(creds); });
        finish(r, 5);  // location, login, then the profile (with its refresh and retry)
        if (source_.location_requests > locations_before && source_.sends - before_ >= 2) located = true;
        if (r) {
          located = true;
          APIKEYS_FUZZ_CHECK(*r != nullptr, "log in succeeded without a session");
          APIKEYS_FUZZ_CHECK((*r)->provider() == creds.provider(), (*r)->provider());
          check_host((*r)->host());
          if (adopt) user_ = *r;
        }
        break;
      }
      case 2: {  // register
        source_.email = in_.short_string();
        auto r = settle([&] { return app.register_user(source_.email, password); });
        finish(r, 2);
        if (source_.location_requests > locations_before && source_.sends - before_ >= 2) located = true;
        if (r) located = true;
        break;
      }
      case 3: {  // create
        source_.key_name = in_.flag() ? std::string{"my-key"} : in_.short_string();
        const bool valid = !apikeys::ops::validate_key_name(source_.key_name).has_value();
        auto r = settle([&] { return keys.create(source_.key_name); });
        finish_key_call(r, logged_in);
        if (!valid) {
          APIKEYS_FUZZ_CHECK(!r && r.error().code == errc::invalid_argument && sends() == 0, "a bad name was sent");
        }
        if (r) {
          check_key(*r);
          APIKEYS_FUZZ_CHECK(r->value.has_value(), "create succeeded without the secret");
          APIKEYS_FUZZ_CHECK(r->name == source_.key_name, "create returned a key of another name");
          last_id_ = r->id;
        }
        break;
      }
      case 4: {  // fetch
        const auto id = pick_id();
        auto r = settle([&] { return keys.fetch(id); });
        finish_key_call(r, logged_in);
        if (r && r->has_value()) {
          check_key(**r);
          APIKEYS_FUZZ_CHECK(!(*r)->value.has_value(), "fetch revealed a secret");
          APIKEYS_FUZZ_CHECK((*r)->id == id, "fetch returned another key");
          last_id_ = (*r)->id;
        }
        if (!r) APIKEYS_FUZZ_CHECK(r.error().code != errc::api_key_not_found, "fetch of a missing key must be empty");
        break;
      }
      case 5: {  // fetch all
        auto r = settle([&] { return keys.fetch_all(); });
        finish_key_call(r, logged_in);
        if (r) {
          for (const auto& key : *r) {
            check_key(key);
            APIKEYS_FUZZ_CHECK(!key.value.has_value(), "fetch all revealed a secret");
          }
          if (!r->empty()) last_id_ = r->back().id;
        }
        break;
      }
      case 6:
      case 7: {  // enable, disable
        const auto id = pick_id();
        const bool enable = (op & 0x7fu) % 13 == 6;
        auto r = settle([&] { return enable ? keys.enable(id) : keys.disable(id); });
        finish_key_call(r, logged_in);
        break;
      }
      case 8: {  // remove
        const auto id = pick_id();
        auto r = settle([&] { return keys.remove(id); });
        finish_key_call(r, logged_in);
        if (!r) APIKEYS_FUZZ_CHECK(r.error().code != errc::api_key_not_found, "removing a missing key must succeed");
        break;
      }
      case 9: {  // refresh
        auto r = settle([&] { return app.refresh(user_); });
        finish(r, 1);
        if (!logged_in) APIKEYS_FUZZ_CHECK(!r && r.error().code == errc::not_logged_in && sends() == 0, "");
        // As core: a 401 on refresh leaves the session as it was (docs/protocol.md section 7).
        if (!r && r.error().http_status == 401) APIKEYS_FUZZ_CHECK(user_->logged_in(), "a refresh 401 ended the session");
        break;
      }
      case 10: {  // log out
        auto r = settle([&] { return app.log_out(user_); });
        finish(r, 1);
        if (!logged_in) APIKEYS_FUZZ_CHECK(r && sends() == 0, "logging out a logged-out session must send nothing");
        APIKEYS_FUZZ_CHECK(!user_->logged_in(), "the session outlived log out");
        break;
      }
      case 11: {  // profile: at most the profile, a refresh, and the profile again
        auto r = settle([&] { return app.profile(user_); });
        finish(r, 3);
        if (!logged_in) APIKEYS_FUZZ_CHECK(!r && r.error().code == errc::not_logged_in && sends() == 0, "");
        break;
      }
      default:  // a fresh session with the planted tokens
        user_ = planted_session();
        break;
    }
  }

  std::size_t sends() const { return source_.sends - before_; }

  apikeys::object_id pick_id() {
    const std::size_t which = in_.pick(std::size(key_ids) + 1);
    return which < std::size(key_ids) ? key_ids[which] : last_id_;
  }

  template <class T>
  void finish(const apikeys::result<T>& r, std::size_t max_sends) {
    if (tracing())
      std::fprintf(stderr, "  = %s after %zu request(s)\n", r ? "ok" : apikeys::detail::describe(r.error()).c_str(),
                   sends());
    APIKEYS_FUZZ_CHECK(sends() <= max_sends, "too many requests for one call");
    if (r) return;
    const api_error& e = r.error();
    check_error_shape(e);
    const std::string printed = apikeys::detail::describe(e);
    APIKEYS_FUZZ_CHECK(!e.context.empty(), printed);
    check_no_leak(printed);
  }

  // What every key call shares: one request at most (two after a 401: the revoking DELETE), none when
  // logged out, and a 401 ends the session.
  template <class T>
  void finish_key_call(const apikeys::result<T>& r, bool logged_in) {
    finish(r, !r && r.error().http_status == 401 ? 2 : 1);
    if (!logged_in) {
      // Refused unsent; a bad argument is reported first.
      APIKEYS_FUZZ_CHECK(!r && sends() == 0, "a logged-out call was sent");
      APIKEYS_FUZZ_CHECK(r.error().code == errc::not_logged_in || r.error().code == errc::invalid_argument,
                         apikeys::detail::describe(r.error()));
      return;
    }
    if (r) APIKEYS_FUZZ_CHECK(user_->logged_in(), "a successful call ended the session");
    if (!r && r.error().http_status == 401) APIKEYS_FUZZ_CHECK(!user_->logged_in(), "a 401 left the session alive");
  }

  void check_no_leak(const std::string& text) const {
    for (const std::string_view s : planted) {
      for (std::size_t i = 0; i + leak_window <= s.size(); ++i) {
        const std::string_view window = s.substr(i, leak_window);
        if (contains(text, window))
          APIKEYS_FUZZ_CHECK(contains(input_, window) || contains(canned_text(), window), text);
      }
    }
  }

  static void check_host(std::string_view host) {
    const std::string_view rest = host.starts_with("https://")  ? host.substr(8)
                                  : host.starts_with("http://") ? host.substr(7)
                                                                : "";
    APIKEYS_FUZZ_CHECK(!rest.empty() && !host.ends_with('/'), host);
  }

  // A printed session names its ids, provider and host, and never a token.
  void check_session() const {
    if (!user_) return;
    const std::string printed = apikeys::detail::describe(*user_);
    const std::string expected = "session{user_id=" + user_->user_id() + ", device_id=" + user_->device_id() +
                                 ", provider=" + user_->provider() + ", host=" + user_->host() +
                                 (user_->logged_in() ? ", logged in}" : ", logged out}");
    APIKEYS_FUZZ_CHECK(printed == expected, printed);
    check_no_leak(printed);
  }

  std::string_view input_;
  byte_reader& in_;
  answer_source& source_;
  app_type<apikeys::return_result> results_app_;
  app_type<apikeys::throw_on_error> throwing_app_;
  bool results_located_ = false;
  bool throwing_located_ = false;
  std::shared_ptr<apikeys::session> user_;
  apikeys::object_id last_id_{};
  std::size_t before_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  byte_reader in(data, size);
  answer_source source(in);
  switch (in.byte() % 3) {
    case 0: {
      sync_transport transport{&source};
      driver<sync_transport, apikeys::inline_executor>(input, in, source, transport, {}).run();
      break;
    }
    case 1: {
      async_transport transport{&source};
      driver<async_transport, apikeys::inline_executor>(input, in, source, transport, {}).run();
      break;
    }
    default: {
      async_transport transport{&source};
      driver<async_transport, apikeys::callback_executor>(input, in, source, transport,
                                                          apikeys::callback_executor{nullptr})
          .run();
      break;
    }
  }
  return 0;
}
