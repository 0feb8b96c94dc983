// expect: the Transport type needs a member `send
// A send() that returns something other than http_response or result<http_response, transport_error>, or
// that wants a mutable request, is not a Transport: the app client refuses it with the readable line too.
// The checks below (compiled in both modes) pin down which shapes the concept takes.
#include <apikeys/app.hpp>
#include <apikeys/config.hpp>
#include <apikeys/http.hpp>
#include <apikeys/result.hpp>
#include <apikeys/transport.hpp>

#include <optional>
#include <string>

struct optional_transport {
  std::optional<apikeys::http_response> send(const apikeys::http_request&) { return std::nullopt; }
};
struct string_transport {
  std::string send(const apikeys::http_request&) { return {}; }
};
struct mutating_transport {
  apikeys::http_response send(apikeys::http_request& request) {
    request.body.clear();
    return {};
  }
};
struct result_transport {
  apikeys::result<apikeys::http_response, apikeys::transport_error> send(const apikeys::http_request&) {
    return apikeys::http_response{};
  }
};

static_assert(!apikeys::transport<optional_transport>);
static_assert(!apikeys::transport<string_transport>);
static_assert(!apikeys::transport<mutating_transport>);
static_assert(apikeys::transport<result_transport>);

int main() {
#ifndef APIKEYS_COMPILE_FAIL_CONTROL
  apikeys::basic_app_client<optional_transport> app{optional_transport{}, apikeys::app_config{}};
#else
  apikeys::basic_app_client<result_transport> app{result_transport{}, apikeys::app_config{}};
#endif
  return app.config().app_id.empty() ? 0 : 1;
}
