// expect: Executor needs execute.operation.
// An Executor without execute(operation) is rejected with apikeys' own message.
#include <apikeys/client.hpp>
#include <apikeys/http.hpp>

#include <memory>

struct transport {
  apikeys::http_response send(const apikeys::http_request&) { return {}; }
};
struct no_execute_executor {
  template <class Operation>
  auto run(Operation&& operation) {
    return operation();
  }
};

int main() {
#ifndef APIKEYS_COMPILE_FAIL_CONTROL
  apikeys::basic_api_key_client<transport, no_execute_executor> keys{transport{}, nullptr};
#else
  apikeys::basic_api_key_client<transport, apikeys::inline_executor> keys{transport{}, nullptr};
#endif
  return keys.user() ? 1 : 0;
}
