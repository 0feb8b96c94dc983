// expect: (use of deleted function 'apikeys::(abi_v[a-z0-9_]+::)?session::session.const apikeys::(abi_v[a-z0-9_]+::)?session&.|call to deleted constructor of 'apikeys::(abi_v[a-z0-9_]+::)?session')
// A session is shared (std::shared_ptr), never copied: a copy would keep tokens alive after the original
// logs out, and would go on using a refresh token the server has revoked.
#include <apikeys/secret.hpp>
#include <apikeys/session.hpp>

#include <memory>
#include <string_view>
#include <type_traits>

static_assert(!std::is_copy_assignable_v<apikeys::session>);
static_assert(!std::is_move_constructible_v<apikeys::session>);

int main() {
  auto user = std::make_shared<apikeys::session>("user-1", "device-1", "local-userpass", "https://example.test",
                                                 apikeys::secret{std::string_view{"a.b.c"}},
                                                 apikeys::secret{std::string_view{"d.e.f"}});
#ifndef APIKEYS_COMPILE_FAIL_CONTROL
  apikeys::session copy{*user};
#else
  const std::shared_ptr<apikeys::session> copy = user;
#endif
  (void)copy;
  user->log_out();
  return 0;
}
