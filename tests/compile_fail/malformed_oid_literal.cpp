// expect: non-'?constexpr'? function '[^']*malformed_object_id_literal_must_be_24_hex_digits
// A malformed _oid literal (23 hex digits) must be rejected while compiling, naming the reason.
#include <apikeys/object_id.hpp>

using namespace apikeys::literals;

#ifndef APIKEYS_COMPILE_FAIL_CONTROL
constexpr auto id = "5e5e6f0abe4ae2a2c2c2d32"_oid;
#else
constexpr auto id = "5e5e6f0abe4ae2a2c2c2d329"_oid;
#endif

int main() { return id.bytes()[0] == 0x5e ? 0 : 1; }
