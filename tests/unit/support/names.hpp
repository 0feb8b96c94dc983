// apikeys tests: the library's names the test files use unqualified, brought in by one using-directive.
#ifndef APIKEYS_TESTS_UNIT_SUPPORT_NAMES_HPP
#define APIKEYS_TESTS_UNIT_SUPPORT_NAMES_HPP

#include <apikeys/apikeys.hpp>

// A test file writes `using namespace apikeys_tests::names;` inside its anonymous namespace, instead of a
// block of using-declarations of its own; the testing doubles it uses it still names itself.
namespace apikeys_tests::names {

using apikeys::api_error;
using apikeys::api_key;
using apikeys::credentials;
using apikeys::device_info;
using apikeys::errc;
using apikeys::error_kind;
using apikeys::http_header;
using apikeys::http_method;
using apikeys::http_request;
using apikeys::http_response;
using apikeys::object_id;
using apikeys::result;
using apikeys::secret;
using apikeys::send_result_type;
using apikeys::session;
using apikeys::transport_error;

}  // namespace apikeys_tests::names

#endif  // APIKEYS_TESTS_UNIT_SUPPORT_NAMES_HPP
