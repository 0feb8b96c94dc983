// expect: the Transport type needs a member `send
// A Transport without a send() member is rejected when the client is instantiated, with one readable line
// from apikeys/transport.hpp rather than pages of substitution failures.
#include <apikeys/client.hpp>
#include <apikeys/http.hpp>

#include <memory>

struct no_send_transport {
  apikeys::http_response receive(const apikeys::http_request&) { return {}; }
};

struct sending_transport {
  apikeys::http_response send(const apikeys::http_request&) { return {}; }
};

int main() {
#ifndef APIKEYS_COMPILE_FAIL_CONTROL
  apikeys::basic_api_key_client<no_send_transport> keys{no_send_transport{}, std::shared_ptr<apikeys::session>{}};
#else
  apikeys::basic_api_key_client<sending_transport> keys{sending_transport{}, std::shared_ptr<apikeys::session>{}};
#endif
  return keys.user() ? 1 : 0;
}
