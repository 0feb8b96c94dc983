// expect: apikeys::throw_on_error needs exceptions. in a -fno-exceptions build use apikeys::return_result
// A client with the default policy, throw_on_error, in a -fno-exceptions build: the first call is refused
// with the policy's static_assert, which names the alternative.
#include <apikeys/apikeys.hpp>
#include <apikeys/testing/scripted_transport.hpp>
#include <memory>

int main() {
  apikeys::testing::scripted_transport transport;
  auto user = std::make_shared<apikeys::session>("u", "d", "local-userpass", "https://h.example", apikeys::secret{"a"},
                                                 apikeys::secret{"r"});
  apikeys::basic_api_key_client<apikeys::testing::scripted_transport&> keys{transport, user};
#ifndef APIKEYS_COMPILE_FAIL_CONTROL
  (void)keys.fetch_all();
#endif
  apikeys::basic_api_key_client<apikeys::testing::scripted_transport&, apikeys::inline_executor, apikeys::return_result>
      results{transport, user};
  return results.fetch_all().has_value() ? 1 : 0;
}
