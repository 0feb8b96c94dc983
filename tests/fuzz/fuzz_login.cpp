// apikeys fuzz target: log in's and refresh's answers (decode_login, decode_access_token) from arbitrary bodies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"

using namespace apikeys_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto login =
      decode_every_way([](const apikeys::http_response& r) { return apikeys::decode_login(r); }, 200, body);
  const auto token =
      decode_every_way([](const apikeys::http_response& r) { return apikeys::decode_access_token(r); }, 201, body);

  if (login) {
    for (const std::string_view text : {std::string_view{login->user_id}, std::string_view{login->device_id},
                                        login->access_token.reveal(), login->refresh_token.reveal()})
      APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(text), "");
    // The printed session shows ids and host, never a token.
    const apikeys::session user(login->user_id, login->device_id, "local-userpass", "https://h.example",
                                login->access_token, login->refresh_token);
    const std::string printed = apikeys::detail::describe(user);
    const std::string expected = "session{user_id=" + login->user_id + ", device_id=" + login->device_id +
                                 ", provider=local-userpass, host=https://h.example, " +
                                 (login->refresh_token.empty() ? "logged out}" : "logged in}");
    APIKEYS_FUZZ_CHECK(printed == expected, printed);
  } else {
    check_decode_error(login.error(), 200);
  }
  if (token) {
    APIKEYS_FUZZ_CHECK(apikeys::detail::is_valid_utf8(token->reveal()), "");
  } else {
    check_decode_error(token.error(), 201);
  }
  // A refresh answer needs only access_token, which every login answer has: the same bytes read the same.
  if (login) {
    APIKEYS_FUZZ_CHECK(token.has_value(), token.error().message);
    APIKEYS_FUZZ_CHECK(token->reveal() == login->access_token.reveal(), "access_token reads differently");
  }
  return 0;
}
