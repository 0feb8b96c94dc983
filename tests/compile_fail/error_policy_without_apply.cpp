// expect: ErrorPolicy needs a static apply
// An ErrorPolicy without a static apply(result<T>&&) is rejected with apikeys' own message.
#include <apikeys/client.hpp>
#include <apikeys/http.hpp>
#include <apikeys/result.hpp>

#include <memory>

struct transport {
  apikeys::http_response send(const apikeys::http_request&) { return {}; }
};
struct member_apply_policy {  // apply must be static: a policy has no state
  template <class T>
  apikeys::result<T> apply(apikeys::result<T>&& r) {
    return r;
  }
};

int main() {
#ifndef APIKEYS_COMPILE_FAIL_CONTROL
  apikeys::basic_api_key_client<transport, apikeys::inline_executor, member_apply_policy> keys{transport{}, nullptr};
#else
  apikeys::basic_api_key_client<transport, apikeys::inline_executor, apikeys::return_result> keys{transport{}, nullptr};
#endif
  return keys.user() ? 1 : 0;
}
