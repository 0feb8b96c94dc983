// expect: (cannot convert|no viable conversion from) 'std::string'.* to 'const apikeys::(abi_v[a-z0-9_]+::)?object_id
// A key id held in a std::string must go through object_id::parse before a key call takes it: passing the
// string itself does not compile. The checks below (compiled in both modes) extend that to every id
// operation and to std::string_view and C strings, and show the same check accepts an object_id.
#include <apikeys/client.hpp>
#include <apikeys/testing/scripted_transport.hpp>

#include <memory>
#include <string>
#include <string_view>

using client = apikeys::basic_api_key_client<apikeys::testing::scripted_transport&, apikeys::inline_executor,
                                             apikeys::return_result>;

template <class Id>
constexpr bool fetch_takes = requires(client& c, Id id) { c.fetch(id); };
template <class Id>
constexpr bool remove_takes = requires(client& c, Id id) { c.remove(id); };
template <class Id>
constexpr bool enable_takes = requires(client& c, Id id) { c.enable(id); };
template <class Id>
constexpr bool disable_takes = requires(client& c, Id id) { c.disable(id); };

template <class Id>
constexpr bool any_takes = fetch_takes<Id> || remove_takes<Id> || enable_takes<Id> || disable_takes<Id>;
template <class Id>
constexpr bool all_take = fetch_takes<Id> && remove_takes<Id> && enable_takes<Id> && disable_takes<Id>;

static_assert(!any_takes<std::string>);
static_assert(!any_takes<const std::string&>);
static_assert(!any_takes<std::string_view>);
static_assert(!any_takes<const char*>);
static_assert(all_take<apikeys::object_id>);

int main() {
  apikeys::testing::scripted_transport transport;
  client keys{transport, std::shared_ptr<apikeys::session>{}};
#ifndef APIKEYS_COMPILE_FAIL_CONTROL
  auto fetched = keys.fetch(std::string{"5e5e6f0abe4ae2a2c2c2d329"});
#else
  auto fetched = keys.fetch(apikeys::object_id::parse(std::string{"5e5e6f0abe4ae2a2c2c2d329"}).value());
#endif
  return fetched.has_value() ? 1 : 0;
}
