// apikeys compile-time benchmark: the umbrella header, with a client instantiated for all six operations.
#include <apikeys/apikeys.hpp>

namespace apikeys_compile {

struct null_transport {
  apikeys::http_response send(const apikeys::http_request&) { return {}; }
};

void all_operations(apikeys::api_key_client<null_transport>& client, const apikeys::object_id& id) {
  auto created = client.create("name");
  auto one = client.fetch(id);
  auto all = client.fetch_all();
  client.enable(id);
  client.disable(id);
  client.remove(id);
  (void)created;
  (void)one;
  (void)all;
}

}  // namespace apikeys_compile
