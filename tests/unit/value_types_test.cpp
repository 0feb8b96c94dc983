// apikeys tests: the value types (object_id, secret, result, errors, api_key, http, transport_error) and
// the JSON string writer, with exact bytes wherever text reaches a log or the wire.
// The umbrella, not the single headers: with APIKEYS_USE_SINGLE_HEADER this is the generated single header,
// so the same tests check it too (detail/json_writer.hpp comes with the request operations).
#include <apikeys/apikeys.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <compare>
#include <cstddef>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

using apikeys::object_id;
using apikeys::secret;
using namespace std::string_view_literals;

template <class T>
std::string streamed(const T& value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

constexpr std::string_view sample_id_text = "5e5e6f0abe4ae2a2c2c2d329";

// --- object_id ----------------------------------------------------------------------------------------------

TEST_CASE("object_id parses lowercase, uppercase and mixed case and prints lowercase") {
  const auto lower = object_id::parse(sample_id_text);
  REQUIRE(lower.has_value());
  CHECK(lower->to_string() == sample_id_text);
  const object_id::bytes_type expected{0x5e, 0x5e, 0x6f, 0x0a, 0xbe, 0x4a, 0xe2, 0xa2, 0xc2, 0xc2, 0xd3, 0x29};
  CHECK(lower->bytes() == expected);

  const auto upper = object_id::parse("5E5E6F0ABE4AE2A2C2C2D329");
  REQUIRE(upper.has_value());
  CHECK(upper->to_string() == sample_id_text);
  CHECK(*upper == *lower);

  const auto mixed = object_id::parse("5e5E6f0AbE4ae2A2c2C2d329");
  REQUIRE(mixed.has_value());
  CHECK(*mixed == *lower);

  const auto all_digits = object_id::parse("0123456789abcdefABCDEF00");
  REQUIRE(all_digits.has_value());
  CHECK(all_digits->to_string() == "0123456789abcdefabcdef00");
}

TEST_CASE("object_id rejects anything but exactly 24 hex digits") {
  CHECK_FALSE(object_id::parse("5e5e6f0abe4ae2a2c2c2d32").has_value());    // 23
  CHECK_FALSE(object_id::parse("5e5e6f0abe4ae2a2c2c2d3290").has_value());  // 25
  CHECK_FALSE(object_id::parse("").has_value());
  CHECK_FALSE(object_id::parse("5e5e6f0abe4ae2a2c2c2d32g").has_value());   // last digit not hex
  CHECK_FALSE(object_id::parse("g5e5e6f0abe4ae2a2c2c2d32").has_value());   // first digit not hex
  CHECK_FALSE(object_id::parse("5e5e6f0abe4ae2 2c2c2d329").has_value());   // a space inside
  CHECK_FALSE(object_id::parse("0x5e6f0abe4ae2a2c2c2d329").has_value());   // prefix
  CHECK_FALSE(object_id::parse(" 5e5e6f0abe4ae2a2c2c2d32").has_value());   // leading space
  CHECK_FALSE(object_id::parse("5e5e6f0abe4ae2a2c2c2d3\xc3\xa9").has_value());  // non-ASCII
  CHECK_FALSE(object_id::parse("5e5e6f0abe4ae2a2c2c2d32\0"sv).has_value());      // embedded NUL
  CHECK_FALSE(object_id::parse(R"({"$oid":"5e5e6f0abe4ae2a2c2c2d329"})").has_value());
}

TEST_CASE("object_id accepts a byte exactly when it is a hex digit, at every one of the 24 places") {
  const std::string_view hex = "0123456789abcdefABCDEF";
  int accepted = 0;
  for (std::size_t at = 0; at < object_id::text_size; ++at) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string text(object_id::text_size, '7');
      text[at] = static_cast<char>(byte);
      const auto parsed = object_id::parse(text);
      const bool is_hex = hex.find(static_cast<char>(byte)) != std::string_view::npos;
      CAPTURE(at);
      CAPTURE(byte);
      REQUIRE(parsed.has_value() == is_hex);
      if (!is_hex) continue;
      ++accepted;
      // The digit lands in its nibble, lowercase, and nowhere else.
      std::string lower = text;
      for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
      CHECK(parsed->to_string() == lower);
    }
  }
  CHECK(accepted == 22 * 24);
}

TEST_CASE("object_id parse and the _oid literal work at compile time") {
  using namespace apikeys::literals;
  static_assert(object_id::parse("5e5e6f0abe4ae2a2c2c2d329").has_value());
  static_assert(!object_id::parse("5e5e6f0abe4ae2a2c2c2d32").has_value());
  static_assert(!object_id::parse("5e5e6f0abe4ae2a2c2c2d32x").has_value());
  static_assert(object_id::parse("5E5E6F0ABE4AE2A2C2C2D329")->bytes()[11] == 0x29);
  static_assert("5e5e6f0abe4ae2a2c2c2d329"_oid == *object_id::parse("5e5e6f0abe4ae2a2c2c2d329"));
  static_assert("000000000000000000000000"_oid == object_id{});
  static_assert([] {
    char out[24]{};
    "5e5e6f0abe4ae2a2c2c2d329"_oid.write_to(out);
    return std::string_view{out, 24} == "5e5e6f0abe4ae2a2c2c2d329";
  }());

  constexpr object_id id = "5E5E6F0ABE4AE2A2C2C2D329"_oid;
  CHECK(id.to_string() == sample_id_text);
}

TEST_CASE("object_id default is all zero and write_to writes exactly 24 characters") {
  CHECK(object_id{}.to_string() == "000000000000000000000000");
  std::string buffer(26, '#');
  object_id::parse(sample_id_text)->write_to(buffer.data() + 1);
  CHECK(buffer == "#5e5e6f0abe4ae2a2c2c2d329#");
}

TEST_CASE("object_id equality and ordering follow the bytes") {
  const auto a = *object_id::parse("000000000000000000000001");
  const auto b = *object_id::parse("000000000000000000000002");
  const auto c = *object_id::parse("010000000000000000000000");
  const auto a2 = *object_id::parse("000000000000000000000001");
  CHECK(a == a2);
  CHECK_FALSE(a != a2);
  CHECK(a != b);
  CHECK(a < b);
  CHECK(b < c);  // the first byte weighs most
  CHECK(c > a);
  CHECK(a <= a2);
  CHECK((a <=> a2) == std::strong_ordering::equal);
  CHECK((c <=> b) == std::strong_ordering::greater);
  CHECK(object_id{} < a);
}

TEST_CASE("object_id hashes into an unordered_set") {
  static_assert(std::is_nothrow_invocable_v<std::hash<object_id>, const object_id&>);
  const auto a = *object_id::parse(sample_id_text);
  const auto b = *object_id::parse("5e5e6f0abe4ae2a2c2c2d32a");
  const auto a_upper = *object_id::parse("5E5E6F0ABE4AE2A2C2C2D329");
  CHECK(std::hash<object_id>{}(a) == std::hash<object_id>{}(a_upper));
  CHECK(std::hash<object_id>{}(a) != std::hash<object_id>{}(b));

  std::unordered_set<object_id> ids;
  CHECK(ids.insert(a).second);
  CHECK(ids.insert(b).second);
  CHECK_FALSE(ids.insert(a_upper).second);
  CHECK(ids.size() == 2);
  CHECK(ids.count(a) == 1);
  CHECK(ids.count(object_id{}) == 0);
}

TEST_CASE("object_id prints as 24 lowercase hex digits through fmt and ostream") {
  const auto id = *object_id::parse("5E5E6F0ABE4AE2A2C2C2D329");
  CHECK(fmt::format("{}", id) == sample_id_text);
  CHECK(streamed(id) == sample_id_text);
}

// --- secret -------------------------------------------------------------------------------------------------

TEST_CASE("secret reveals what it holds") {
  const secret s{"tok-123"sv};
  CHECK(s.reveal() == "tok-123");
  CHECK(s.size() == 7);
  CHECK_FALSE(s.empty());

  const secret none;
  CHECK(none.empty());
  CHECK(none.size() == 0);
  CHECK(none.reveal() == "");
  CHECK(none.reveal().data() != nullptr);

  CHECK(secret{""sv}.empty());
  CHECK(secret{"a\0b"sv}.reveal() == "a\0b"sv);  // binary-safe
}

TEST_CASE("secret copies into its own buffer") {
  const secret original{"copy me please"sv};
  const secret copy = original;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the test
  CHECK(copy.reveal() == "copy me please");
  CHECK(original.reveal() == "copy me please");
  CHECK(copy.reveal().data() != original.reveal().data());

  secret assigned{"old"sv};
  assigned = original;
  CHECK(assigned.reveal() == "copy me please");
  CHECK(assigned.reveal().data() != original.reveal().data());

  secret& alias = assigned;
  assigned = alias;  // self-assignment keeps the value
  CHECK(assigned.reveal() == "copy me please");
}

TEST_CASE("secret move leaves the source empty") {
  secret source{"moving secret"sv};
  const char* buffer = source.reveal().data();
  secret moved{std::move(source)};
  CHECK(moved.reveal() == "moving secret");
  CHECK(moved.reveal().data() == buffer);  // the buffer moved, no copy was made
  CHECK(source.empty());                   // NOLINT(bugprone-use-after-move): the moved-from state is the test
  CHECK(source.reveal() == "");

  secret target{"will be replaced"sv};
  target = std::move(moved);
  CHECK(target.reveal() == "moving secret");
  CHECK(moved.empty());  // NOLINT(bugprone-use-after-move)

  secret& alias = target;
  target = std::move(alias);  // self-move keeps the value
  CHECK(target.reveal() == "moving secret");
}

TEST_CASE("secret clear and swap") {
  secret a{"aaa"sv};
  secret b{"bbbb"sv};
  a.swap(b);
  CHECK(a.reveal() == "bbbb");
  CHECK(b.reveal() == "aaa");
  a.clear();
  CHECK(a.empty());
  CHECK(a.reveal() == "");
}

// The string keeps its buffer after clear(), so the bytes the secret was built from can still be looked at
// through a pointer taken before; they must all be zero.
void check_wiped_after_taking(std::string plaintext) {
  const std::string expected = plaintext;
  const char* bytes = plaintext.data();
  const std::size_t size = plaintext.size();
  const std::size_t capacity = plaintext.capacity();

  const secret s{std::move(plaintext)};
  CHECK(s.reveal() == expected);
  CHECK(plaintext.empty());                    // NOLINT(bugprone-use-after-move): what is left is the test
  REQUIRE(plaintext.capacity() == capacity);   // the same buffer, not freed, so reading it below is sound
  REQUIRE(plaintext.data() == bytes);
  for (std::size_t i = 0; i < size; ++i) {
    INFO("byte " << i);
    CHECK(bytes[i] == '\0');
  }
}

TEST_CASE("secret built from std::string&& wipes the string it was given") {
  SUBCASE("heap-allocated string") { check_wiped_after_taking(std::string(64, 'K')); }
  SUBCASE("short string in the small buffer") { check_wiped_after_taking("pw-1234"); }
  SUBCASE("empty string") { check_wiped_after_taking(std::string{}); }
}

TEST_CASE("secret built from a string_view leaves the original alone") {
  const std::string plaintext = "keep me";
  const secret s{std::string_view{plaintext}};
  CHECK(plaintext == "keep me");
  CHECK(s.reveal() == "keep me");
}

TEST_CASE("secret prints as <redacted>, never its value") {
  const secret s{"hunter2-very-secret"sv};
  CHECK(fmt::format("{}", s) == "<redacted>");
  CHECK(streamed(s) == "<redacted>");
  CHECK_FALSE(contains(fmt::format("{}", s), "hunter2"));
  CHECK_FALSE(contains(streamed(s), "hunter2"));
  CHECK(secret::redacted == "<redacted>");
  CHECK(fmt::format("{}", secret{}) == "<redacted>");  // an empty secret does not say it is empty either
}

TEST_CASE("secret equality compares whole values, whatever the lengths") {
  CHECK(secret{"abcdef"sv} == secret{"abcdef"sv});
  CHECK_FALSE(secret{"abcdef"sv} == secret{"abcdeg"sv});   // same length, last byte differs
  CHECK_FALSE(secret{"abcdef"sv} == secret{"xbcdef"sv});   // same length, first byte differs
  CHECK_FALSE(secret{"abc"sv} == secret{"abcdef"sv});      // a prefix
  CHECK_FALSE(secret{"abcdef"sv} == secret{"abc"sv});
  CHECK_FALSE(secret{"abc"sv} == secret{"abc\0"sv});       // padding with zero bytes does not make it equal
  CHECK_FALSE(secret{""sv} == secret{"a"sv});
  CHECK(secret{} == secret{""sv});
  CHECK(secret{"abc"sv} != secret{"abd"sv});

  CHECK(secret::equal("same", "same"));
  CHECK_FALSE(secret::equal("same", "Same"));
  CHECK_FALSE(secret::equal("", "\0"sv));
  CHECK(secret::equal("", ""));
}

// --- result -------------------------------------------------------------------------------------------------

apikeys::api_error not_found_error() {
  apikeys::api_error e;
  e.code = apikeys::errc::api_key_not_found;
  e.http_status = 404;
  e.server_code = "APIKeyNotFound";
  e.message = "API key not found";
  e.context = "fetch API key 5e5e6f0abe4ae2a2c2c2d329";
  return e;
}

TEST_CASE("result<T> holding a value") {
  apikeys::result<int> r{42};
  CHECK(r.has_value());
  CHECK(static_cast<bool>(r));
  CHECK(r.value() == 42);
  CHECK(*r == 42);
  CHECK(r.value_or(7) == 42);
  r.value() = 43;
  CHECK(*r == 43);

  const apikeys::result<std::string> s{std::string{"abc"}};
  REQUIRE(s);
  CHECK(s->size() == 3);
  CHECK(s.value() == "abc");
  CHECK(s.value_or("fallback") == "abc");

  apikeys::result<std::string> defaulted;
  CHECK(defaulted.has_value());
  CHECK(defaulted->empty());

  static_assert(std::is_same_v<apikeys::result<int>::value_type, int>);
  static_assert(std::is_same_v<apikeys::result<int>::error_type, apikeys::api_error>);
}

TEST_CASE("result<T> holding an error") {
  apikeys::result<int> r{apikeys::unexpected{not_found_error()}};
  CHECK_FALSE(r.has_value());
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.error().code == apikeys::errc::api_key_not_found);
  CHECK(r.error().http_status == 404);
  CHECK(r.value_or(7) == 7);

  const apikeys::result<std::string> s{apikeys::unexpected{not_found_error()}};
  CHECK(s.value_or("fallback") == "fallback");
  CHECK(s.error().server_code == "APIKeyNotFound");
}

TEST_CASE("result<T>::value() on an error throws api_exception carrying the error") {
  const apikeys::result<int> r{apikeys::unexpected{not_found_error()}};
  CHECK_THROWS_AS((void)r.value(), apikeys::api_exception);
  try {
    (void)r.value();
    FAIL("value() did not throw");
  } catch (const apikeys::api_exception& e) {
    CHECK(e.code() == apikeys::errc::api_key_not_found);
    CHECK(e.error().http_status == 404);
    CHECK(e.error().server_code == "APIKeyNotFound");
    CHECK(e.error().message == "API key not found");
    CHECK(e.error().context == "fetch API key 5e5e6f0abe4ae2a2c2c2d329");
  }

  apikeys::result<std::string> moved_from{apikeys::unexpected{not_found_error()}};
  CHECK_THROWS_AS((void)std::move(moved_from).value(), apikeys::api_exception);
}

TEST_CASE("result<T, E> with another error type throws bad_result_access") {
  apikeys::transport_error te;
  te.code = apikeys::errc::timeout;
  const apikeys::result<apikeys::http_response, apikeys::transport_error> r{apikeys::unexpected{te}};
  CHECK_FALSE(r);
  CHECK(r.error().code == apikeys::errc::timeout);
  CHECK_THROWS_AS((void)r.value(), apikeys::bad_result_access);
  CHECK(std::string{apikeys::bad_result_access{}.what()} == "apikeys::result holds an error, not a value");
}

TEST_CASE("result<T> moves a move-only value out") {
  apikeys::result<std::unique_ptr<int>> r{std::make_unique<int>(7)};
  REQUIRE(r);
  CHECK(**r == 7);
  std::unique_ptr<int> taken = std::move(r).value();
  REQUIRE(taken != nullptr);
  CHECK(*taken == 7);

  apikeys::result<std::unique_ptr<int>> again{std::make_unique<int>(8)};
  std::unique_ptr<int> deref = *std::move(again);
  CHECK(*deref == 8);
}

TEST_CASE("result<void>") {
  const apikeys::result<void> ok{};
  CHECK(ok.has_value());
  CHECK(static_cast<bool>(ok));
  CHECK_NOTHROW(ok.value());

  const apikeys::result<void> failed{apikeys::unexpected{not_found_error()}};
  CHECK_FALSE(failed.has_value());
  CHECK_FALSE(static_cast<bool>(failed));
  CHECK(failed.error().code == apikeys::errc::api_key_not_found);
  CHECK_THROWS_AS(failed.value(), apikeys::api_exception);
  try {
    failed.value();
    FAIL("value() did not throw");
  } catch (const apikeys::api_exception& e) {
    CHECK(e.error().server_code == "APIKeyNotFound");
  }

  apikeys::result<void> movable{apikeys::unexpected{not_found_error()}};
  const apikeys::api_error taken = std::move(movable).error();
  CHECK(taken.message == "API key not found");
}

// --- errors -------------------------------------------------------------------------------------------------

TEST_CASE("api_error::error_code is in the apikeys category") {
  apikeys::api_error e;
  e.code = apikeys::errc::timeout;
  const std::error_code ec = e.error_code();
  CHECK(std::string_view{ec.category().name()} == "apikeys");
  CHECK(&ec.category() == &apikeys::apikeys_category());
  CHECK(ec.value() == static_cast<int>(apikeys::errc::timeout));
  CHECK(ec.message() == "timed out");
  CHECK(static_cast<bool>(ec));
  CHECK(ec == apikeys::errc::timeout);
  CHECK(ec != apikeys::errc::connection_failed);
  CHECK(ec != std::make_error_code(std::errc::timed_out));  // a different category, even for a timeout

  const std::error_code implicit = apikeys::errc::api_key_not_found;  // errc is an error code enum
  CHECK(implicit.message() == "API key not found");
  CHECK(apikeys::apikeys_category().message(9999) == "unknown apikeys error");
}

TEST_CASE("errc messages") {
  using apikeys::errc;
  CHECK(apikeys::to_string(errc::invalid_argument) == "invalid argument");
  CHECK(apikeys::to_string(errc::not_logged_in) == "not logged in");
  CHECK(apikeys::to_string(errc::bad_response) == "malformed response");
  CHECK(apikeys::to_string(errc::http_error) == "HTTP error");
  CHECK(apikeys::to_string(errc::missing_auth_req) == "authentication required");
  CHECK(apikeys::to_string(errc::api_key_already_exists) == "API key already exists");
  CHECK(apikeys::to_string(errc::cancelled) == "cancelled");
  CHECK(apikeys::to_string(errc::store_error) == "session store error");
  CHECK(static_cast<int>(errc::store_error) == static_cast<int>(errc::cancelled) + 1);  // added last: numbers kept
  CHECK(apikeys::to_string(static_cast<errc>(0)) == "unknown apikeys error");
  CHECK(fmt::format("{}", errc::tls_error) == "TLS error");
  CHECK(streamed(errc::tls_error) == "TLS error");
}

TEST_CASE("kind_of puts each errc in its family") {
  using apikeys::errc;
  using apikeys::error_kind;
  struct row {
    errc code;
    error_kind kind;
  };
  const row rows[] = {
      {errc::invalid_argument, error_kind::client},
      {errc::not_logged_in, error_kind::client},
      {errc::cancelled, error_kind::client},
      {errc::store_error, error_kind::client},
      {errc::transport_error, error_kind::transport},
      {errc::connection_failed, error_kind::transport},
      {errc::timeout, error_kind::transport},
      {errc::tls_error, error_kind::transport},
      {errc::connection_reset, error_kind::transport},
      {errc::too_many_redirects, error_kind::transport},
      {errc::bad_response, error_kind::bad_response},
      {errc::http_error, error_kind::http},
      {errc::unknown_service_error, error_kind::service},
      {errc::server_error, error_kind::service},
      {errc::missing_auth_req, error_kind::service},
      {errc::invalid_session, error_kind::service},
      {errc::invalid_parameter, error_kind::service},
      {errc::missing_parameter, error_kind::service},
      {errc::internal_server_error, error_kind::service},
      {errc::api_key_not_found, error_kind::service},
      {errc::api_key_already_exists, error_kind::service},
      {errc::user_disabled, error_kind::service},
      {errc::auth_error, error_kind::service},
      {errc::bad_request, error_kind::service},
      {errc::maintenance_in_progress, error_kind::service},
      {errc::auth_provider_not_found, error_kind::service},
  };
  for (const auto& r : rows) {
    INFO(apikeys::to_string(r.code));
    CHECK(apikeys::kind_of(r.code) == r.kind);
    apikeys::api_error e;
    e.code = r.code;
    CHECK(e.kind() == r.kind);
  }
  CHECK(apikeys::kind_of(static_cast<errc>(0)) == error_kind::none);
  static_assert(apikeys::kind_of(errc::timeout) == error_kind::transport);
}

TEST_CASE("api_error prints its context, message, code, server code, status and link") {
  apikeys::api_error full = not_found_error();
  full.context = "enable API key 5e5e6f0abe4ae2a2c2c2d329";
  full.link = "https://services.cloud.mongodb.com/groups/1/apps/2/logs?co_id=3";
  const std::string expected =
      "enable API key 5e5e6f0abe4ae2a2c2c2d329: API key not found (API key not found, APIKeyNotFound, HTTP 404) "
      "https://services.cloud.mongodb.com/groups/1/apps/2/logs?co_id=3";
  CHECK(fmt::format("{}", full) == expected);
  CHECK(streamed(full) == expected);

  apikeys::api_error http;
  http.code = apikeys::errc::http_error;
  http.http_status = 502;
  http.message = "Bad Gateway";
  CHECK(fmt::format("{}", http) == "Bad Gateway (HTTP error, HTTP 502)");

  apikeys::api_error bare;
  bare.code = apikeys::errc::timeout;
  CHECK(fmt::format("{}", bare) == "timed out");

  apikeys::api_error unknown;
  unknown.code = apikeys::errc::server_error;
  unknown.server_code = "SomethingNew";
  unknown.http_status = 400;
  unknown.message = "something new happened";
  CHECK(streamed(unknown) == "something new happened (server error, SomethingNew, HTTP 400)");
}

TEST_CASE("api_exception::what() describes the error") {
  const apikeys::api_exception e{not_found_error()};
  CHECK(std::string{e.what()} ==
        "fetch API key 5e5e6f0abe4ae2a2c2c2d329: API key not found (API key not found, APIKeyNotFound, HTTP 404)");
  CHECK(e.code() == apikeys::errc::api_key_not_found);
  CHECK(e.error().http_status == 404);
  CHECK(fmt::format("{}", e) == e.what());
  CHECK(streamed(e) == e.what());

  const std::exception& base = e;
  CHECK(std::string{base.what()} == e.what());
}

// --- api_key ------------------------------------------------------------------------------------------------

TEST_CASE("api_key prints without its secret value") {
  apikeys::api_key key;
  key.id = *object_id::parse(sample_id_text);
  key.name = "laptop";
  key.value = secret{"Zx9vQ2mN8pL4kR7tY1wE5uI3oA6sD0fG"sv};
  const std::string expected = R"(api_key{id=5e5e6f0abe4ae2a2c2c2d329, name="laptop", enabled=true, value=<redacted>})";
  CHECK(fmt::format("{}", key) == expected);
  CHECK(streamed(key) == expected);
  CHECK_FALSE(contains(fmt::format("{}", key), "Zx9vQ2"));
  CHECK_FALSE(contains(streamed(key), "Zx9vQ2"));

  apikeys::api_key fetched;
  fetched.id = key.id;
  fetched.name = "laptop";
  fetched.enabled = false;
  CHECK(fmt::format("{}", fetched) == R"(api_key{id=5e5e6f0abe4ae2a2c2c2d329, name="laptop", enabled=false})");
}

TEST_CASE("api_key defaults") {
  const apikeys::api_key key;
  CHECK(key.id == object_id{});
  CHECK(key.name.empty());
  CHECK_FALSE(key.value.has_value());
  CHECK(key.enabled);
}

// --- http ---------------------------------------------------------------------------------------------------

TEST_CASE("http_method names") {
  CHECK(apikeys::to_string(apikeys::http_method::get) == "GET");
  CHECK(apikeys::to_string(apikeys::http_method::post) == "POST");
  CHECK(apikeys::to_string(apikeys::http_method::put) == "PUT");
  CHECK(apikeys::to_string(apikeys::http_method::delete_) == "DELETE");
  CHECK(fmt::format("{}", apikeys::http_method::delete_) == "DELETE");
  CHECK(streamed(apikeys::http_method::put) == "PUT");
}

TEST_CASE("http_request prints without its Authorization value or body") {
  apikeys::http_request request;
  request.method = apikeys::http_method::post;
  request.url = "https://services.cloud.mongodb.com/api/client/v2.0/auth/api_keys";
  request.headers = {{"Accept", "application/json"},
                     {"Content-Type", "application/json;charset=utf-8"},
                     {"Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.refresh-token.sig"}};
  request.body = R"({"name":"laptop-key"})";
  const std::string expected =
      "POST https://services.cloud.mongodb.com/api/client/v2.0/auth/api_keys\n"
      "Accept: application/json\n"
      "Content-Type: application/json;charset=utf-8\n"
      "Authorization: <redacted>\n"
      "[21 byte body]";
  CHECK(fmt::format("{}", request) == expected);
  CHECK(streamed(request) == expected);
  for (const std::string& printed : {fmt::format("{}", request), streamed(request)}) {
    CHECK_FALSE(contains(printed, "eyJhbGci"));
    CHECK_FALSE(contains(printed, "refresh-token"));
    CHECK_FALSE(contains(printed, "laptop-key"));
  }

  // Header names are case-insensitive, so is the redaction.
  apikeys::http_request lower;
  lower.headers = {{"authorization", "Bearer t0ken"}, {"AUTHORIZATION", "Bearer t0ken"}};
  const std::string printed = fmt::format("{}", lower);
  CHECK(printed == "GET \nauthorization: <redacted>\nAUTHORIZATION: <redacted>\n[0 byte body]");
  CHECK_FALSE(contains(printed, "t0ken"));
}

TEST_CASE("http_header prints, redacting Authorization") {
  CHECK(fmt::format("{}", apikeys::http_header{"Accept", "application/json"}) == "Accept: application/json");
  CHECK(fmt::format("{}", apikeys::http_header{"Authorization", "Bearer abc"}) == "Authorization: <redacted>");
  CHECK(streamed(apikeys::http_header{"aUtHoRiZaTiOn", "Bearer abc"}) == "aUtHoRiZaTiOn: <redacted>");
  CHECK((apikeys::http_header{"a", "b"} == apikeys::http_header{"a", "b"}));
  CHECK_FALSE((apikeys::http_header{"a", "b"} == apikeys::http_header{"a", "c"}));
}

TEST_CASE("http_response prints status, headers and body size") {
  apikeys::http_response response;
  response.status = 404;
  response.headers = {{"Content-Type", "application/json"}};
  response.body = R"({"error":"API key not found","error_code":"APIKeyNotFound"})";
  const std::string expected = "HTTP 404\nContent-Type: application/json\n[59 byte body]";
  CHECK(fmt::format("{}", response) == expected);
  CHECK(streamed(response) == expected);
}

TEST_CASE("find_header matches names case-insensitively and returns the first") {
  const std::vector<apikeys::http_header> headers = {
      {"Content-Type", "application/json"}, {"Retry-After", "3"}, {"content-type", "text/plain"}};
  const std::string* found = apikeys::find_header(headers, "CONTENT-TYPE");
  REQUIRE(found != nullptr);
  CHECK(found == &headers[0].value);
  CHECK(*found == "application/json");
  REQUIRE(apikeys::find_header(headers, "retry-after") != nullptr);
  CHECK(*apikeys::find_header(headers, "retry-after") == "3");
  CHECK(apikeys::find_header(headers, "Content-Typ") == nullptr);  // no prefix match
  CHECK(apikeys::find_header(headers, "Content-Type-X") == nullptr);
  CHECK(apikeys::find_header(headers, "Location") == nullptr);
  CHECK(apikeys::find_header({}, "Content-Type") == nullptr);
}

TEST_CASE("http_request defaults") {
  const apikeys::http_request request;
  CHECK(request.method == apikeys::http_method::get);
  CHECK(request.url.empty());
  CHECK(request.headers.empty());
  CHECK(request.body.empty());
  CHECK(request.timeout.count() == 0);
  CHECK(apikeys::http_response{}.status == 0);
}

// --- transport ----------------------------------------------------------------------------------------------

TEST_CASE("transport_error prints its code and message") {
  apikeys::transport_error e;
  CHECK(fmt::format("{}", e) == "transport error");
  e.code = apikeys::errc::timeout;
  e.message = "no response within 30000 ms";
  CHECK(fmt::format("{}", e) == "timed out: no response within 30000 ms");
  CHECK(streamed(e) == "timed out: no response within 30000 ms");
  e.message.clear();
  CHECK(streamed(e) == "timed out");
}

struct throwing_transport {
  apikeys::http_response send(const apikeys::http_request&) { return {}; }
};
struct result_transport {
  apikeys::result<apikeys::http_response, apikeys::transport_error> send(const apikeys::http_request&) {
    return apikeys::http_response{};
  }
};
struct wrong_return_transport {
  int send(const apikeys::http_request&) { return 0; }
};
struct no_send {};

TEST_CASE("the transport concept accepts the two send shapes and nothing else") {
  static_assert(apikeys::transport<throwing_transport>);
  static_assert(apikeys::transport<result_transport>);
  static_assert(!apikeys::transport<wrong_return_transport>);
  static_assert(!apikeys::transport<no_send>);
  static_assert(apikeys::detail::check_transport<throwing_transport&>());
  CHECK(apikeys::transport<result_transport>);
}

// --- detail::is_valid_utf8 ----------------------------------------------------------------------------------

TEST_CASE("is_valid_utf8 accepts well-formed UTF-8") {
  using apikeys::detail::is_valid_utf8;
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii key-name_01"));
  CHECK(is_valid_utf8("a\0b"sv));                       // NUL is a valid code point
  CHECK(is_valid_utf8("\x7f"));
  CHECK(is_valid_utf8("\xc2\x80"));                     // U+0080, the smallest 2-byte
  CHECK(is_valid_utf8("caf\xc3\xa9"));                  // é
  CHECK(is_valid_utf8("\xdf\xbf"));                     // U+07FF
  CHECK(is_valid_utf8("\xe0\xa0\x80"));                 // U+0800, the smallest 3-byte
  CHECK(is_valid_utf8("\xe2\x82\xac"));                 // €
  CHECK(is_valid_utf8("\xed\x9f\xbf"));                 // U+D7FF, just below the surrogates
  CHECK(is_valid_utf8("\xee\x80\x80"));                 // U+E000, just above them
  CHECK(is_valid_utf8("\xef\xbf\xbf"));                 // U+FFFF
  CHECK(is_valid_utf8("\xf0\x90\x80\x80"));             // U+10000, the smallest 4-byte
  CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));             // 😀
  CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));             // U+10FFFF, the largest
  CHECK(is_valid_utf8("mixed \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end"));
  static_assert(is_valid_utf8("caf\xc3\xa9"));
  static_assert(!is_valid_utf8("\xc0\xaf"));
}

TEST_CASE("is_valid_utf8 rejects overlongs, surrogates, truncations and out-of-range code points") {
  using apikeys::detail::is_valid_utf8;
  // overlong encodings
  CHECK_FALSE(is_valid_utf8("\xc0\x80"));               // U+0000 in two bytes
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));               // '/' in two bytes
  CHECK_FALSE(is_valid_utf8("\xc1\xbf"));
  CHECK_FALSE(is_valid_utf8("\xe0\x80\x80"));
  CHECK_FALSE(is_valid_utf8("\xe0\x9f\xbf"));           // U+07FF in three bytes
  CHECK_FALSE(is_valid_utf8("\xf0\x80\x80\x80"));
  CHECK_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));       // U+FFFF in four bytes
  // UTF-16 surrogates
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));           // U+D800
  CHECK_FALSE(is_valid_utf8("\xed\xbf\xbf"));           // U+DFFF
  CHECK_FALSE(is_valid_utf8("\xed\xa0\xbd\xed\xb8\x80"));  // a CESU-8 surrogate pair
  // truncated sequences
  CHECK_FALSE(is_valid_utf8("\xc3"));
  CHECK_FALSE(is_valid_utf8("caf\xc3"));
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));
  CHECK_FALSE(is_valid_utf8("\xf0\x9f\x98"));
  CHECK_FALSE(is_valid_utf8("\xe2\x82" "A"));           // continuation replaced by ASCII
  CHECK_FALSE(is_valid_utf8("\xf0\x9f" "AB"));
  // beyond U+10FFFF, and bytes that never start a sequence
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));       // U+110000
  CHECK_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  CHECK_FALSE(is_valid_utf8("\xf7\xbf\xbf\xbf"));
  CHECK_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));   // old 5-byte form
  CHECK_FALSE(is_valid_utf8("\xfe"));
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\x80"));                   // a lone continuation byte
  CHECK_FALSE(is_valid_utf8("ab\xbf"));
  CHECK_FALSE(is_valid_utf8("\xc3\xa9\xa9"));           // one continuation too many
}

// --- detail::append_json_string -----------------------------------------------------------------------------

std::string json_string(std::string_view text) {
  std::string out;
  apikeys::detail::append_json_string(out, text);
  return out;
}

TEST_CASE("append_json_string escapes exactly what docs/protocol.md section 3 says") {
  CHECK(json_string("") == R"("")");
  CHECK(json_string("laptop") == R"("laptop")");
  CHECK(json_string("\"") == R"("\"")");
  CHECK(json_string("\\") == R"("\\")");
  CHECK(json_string("/") == R"("/")");  // not escaped
  CHECK(json_string("a/b") == R"("a/b")");
  CHECK(json_string("\b") == R"("\b")");
  CHECK(json_string("\f") == R"("\f")");
  CHECK(json_string("\n") == R"("\n")");
  CHECK(json_string("\r") == R"("\r")");
  CHECK(json_string("\t") == R"("\t")");
  CHECK(json_string("\x01") == R"("\u0001")");
  CHECK(json_string("\x1f") == R"("\u001f")");
  CHECK(json_string("\x0b") == R"("\u000b")");
  CHECK(json_string("\0"sv) == R"("\u0000")");
  CHECK(json_string("\x1a") == R"("\u001a")");  // lowercase hex
  CHECK(json_string(" ") == R"(" ")");
  CHECK(json_string("\x7f") == "\"\x7f\"");     // DEL is not a JSON control character
  CHECK(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(json_string("say \"hi\"\\\n\tnow/\x02!") == R"("say \"hi\"\\\n\tnow/\u0002!")");
}

TEST_CASE("append_json_string appends to what is already there") {
  std::string out = R"({"name":)";
  apikeys::detail::append_json_string(out, "a\"b");
  out.push_back('}');
  CHECK(out == R"({"name":"a\"b"})");
}

TEST_CASE("append_json_member writes a key and an escaped value") {
  std::string out = "{";
  apikeys::detail::append_json_member(out, "name", "my \"key\"");
  out.push_back('}');
  CHECK(out == R"({"name":"my \"key\""})");
}

}  // namespace
