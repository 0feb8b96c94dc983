// custom_transport: plugging your own HTTP stack into apikeys, shown with a made-up "legacy" HTTP library.
#include <string>
#include <vector>

#include <apikeys/apikeys.hpp>
#include <apikeys/testing/emulator.hpp>
#include <fmt/core.h>

// --- A stand-in for an HTTP library your code base already has --------------------------------------------
// Its API is its own: verbs as strings, headers as "Name: value" lines, a reply that names only the
// content type, and a `failed` flag when no answer came. Here it "connects" to an in-process emulator;
// nothing in this section is part of the adapter.
namespace legacy {

struct reply {
  bool failed = false;   // no answer at all (host unknown, refused, timed out)
  std::string failure;   // why, when failed
  int code = 0;
  std::string content_type;
  std::string payload;
};

class http_session {
 public:
  explicit http_session(apikeys::testing::emulator& server) : server_(server) {}

  reply perform(const std::string& verb, const std::string& url, const std::vector<std::string>& header_lines,
                const std::string& body, long timeout_ms) {
    (void)timeout_ms;
    if (url.rfind(server_.hostname() + "/", 0) != 0) return reply{true, "cannot resolve host", 0, {}, {}};
    apikeys::http_request request;
    request.method = verb == "GET"    ? apikeys::http_method::get
                     : verb == "POST" ? apikeys::http_method::post
                     : verb == "PUT"  ? apikeys::http_method::put
                                      : apikeys::http_method::delete_;
    request.url = url;
    for (const std::string& line : header_lines) {
      const auto colon = line.find(": ");
      request.headers.push_back({line.substr(0, colon), line.substr(colon + 2)});
    }
    request.body = body;
    apikeys::http_response answer = server_.send(request);
    const std::string* type = apikeys::find_header(answer.headers, "Content-Type");
    return reply{false, {}, answer.status, type ? *type : std::string{}, std::move(answer.body)};
  }

 private:
  apikeys::testing::emulator& server_;
};

}  // namespace legacy

// --- The adapter: all apikeys needs is one member function, send() ----------------------------------------
class legacy_transport {
 public:
  explicit legacy_transport(legacy::http_session& session) : session_(session) {}

  apikeys::result<apikeys::http_response, apikeys::transport_error> send(const apikeys::http_request& request) {
    // Send exactly the headers apikeys built: the server checks them, and so does docs/protocol.md.
    std::vector<std::string> lines;
    for (const apikeys::http_header& h : request.headers) lines.push_back(h.name + ": " + h.value);
    const legacy::reply r = session_.perform(std::string{apikeys::to_string(request.method)}, request.url, lines,
                                             request.body, static_cast<long>(request.timeout.count()));
    // No answer at all is a transport error; any status, even a 500, is an answer for apikeys to classify.
    if (r.failed) return apikeys::unexpected{apikeys::transport_error{apikeys::errc::connection_failed, r.failure}};
    apikeys::http_response response;
    response.status = r.code;
    // apikeys reads an error body only when it is labelled JSON, so the content type must come through.
    if (!r.content_type.empty()) response.headers.push_back({"Content-Type", r.content_type});
    response.body = r.payload;
    return response;
  }

 private:
  legacy::http_session& session_;
};

// --- Using it -------------------------------------------------------------------------------------------

namespace {

int fail(const char* what) {
  fmt::print(stderr, "custom_transport: unexpected result: {}\n", what);
  return 1;
}

int run() {
  apikeys::testing::emulator_options where;
  where.hostname = "https://apps.legacy.example";
  apikeys::testing::emulator emulator(where);
  emulator.add_user("demo@example.com", "demo-password");
  legacy::http_session session(emulator);

  apikeys::app_config config;
  config.app_id = emulator.app_id();
  config.base_url = "https://apps.legacy.example";
  // The app owns its transport; the key clients it hands out use that same one.
  apikeys::app_client<legacy_transport> app{legacy_transport{session}, config};

  auto user = app.log_in(apikeys::credentials::email_password("demo@example.com", "demo-password"));
  auto keys = app.api_keys(user);
  const apikeys::api_key key = keys.create("someKeyName");
  if (!key.value || key.value->size() != 64) return fail("create gave no 64-character value");
  fmt::print("Created API key '{}' through the legacy library\n", key.name);

  const auto fetched = keys.fetch(key.id);
  if (!fetched || fetched->name != "someKeyName") return fail("fetch did not find the key");
  fmt::print("Fetched key '{}' by id {}\n", fetched->name, fetched->id.to_string());

  keys.remove(key.id);
  if (keys.fetch(key.id)) return fail("the deleted key can still be fetched");
  fmt::print("Deleted key '{}'; fetching it returns no key\n", key.name);

  // A failure without an answer reaches the caller as a transport error, never as an HTTP status. This
  // client returns result<T> instead of throwing (apikeys::return_result).
  config.base_url = "https://elsewhere.example";
  apikeys::basic_app_client<legacy_transport, apikeys::inline_executor, apikeys::return_result> offline{
      legacy_transport{session}, config};
  const auto attempt = offline.log_in(apikeys::credentials::anonymous());
  if (attempt || attempt.error().code != apikeys::errc::connection_failed || attempt.error().http_status != 0)
    return fail("an unreachable host did not give connection_failed");
  fmt::print("An unreachable host gives: {}\n", attempt.error());
  return 0;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const apikeys::api_exception& e) {
    fmt::print(stderr, "custom_transport: {}\n", e.what());
    return 1;
  }
}
