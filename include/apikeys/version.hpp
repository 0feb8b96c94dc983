// apikeys: version numbers and the feature switches every other header reads.
#ifndef APIKEYS_VERSION_HPP
#define APIKEYS_VERSION_HPP

#define APIKEYS_VERSION_MAJOR 0
#define APIKEYS_VERSION_MINOR 1
#define APIKEYS_VERSION_PATCH 0
#define APIKEYS_VERSION_STRING "0.1.0"
/// One comparable number, major * 10000 + minor * 100 + patch: `#if APIKEYS_VERSION >= 100` for 0.1.0 or later.
#define APIKEYS_VERSION (APIKEYS_VERSION_MAJOR * 10000 + APIKEYS_VERSION_MINOR * 100 + APIKEYS_VERSION_PATCH)

// Exceptions are optional: return_result works with -fno-exceptions, throw_on_error does not.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define APIKEYS_HAS_EXCEPTIONS 1
#else
#define APIKEYS_HAS_EXCEPTIONS 0
#endif

// APIKEYS_SEPARATE_COMPILATION (defined for the whole program) turns the decoders, the part of apikeys
// that needs <simdjson.h>, into declarations; exactly one translation unit then defines
// APIKEYS_IMPLEMENTATION before including <apikeys/apikeys.hpp> to compile them (CMake: apikeys::compiled).
#if defined(APIKEYS_SEPARATE_COMPILATION)
#define APIKEYS_DECL
#define APIKEYS_ABI_MODE compiled
#else
#define APIKEYS_DECL inline
#define APIKEYS_ABI_MODE header_only
#endif

// Everything apikeys declares lives in an inline namespace named for its version and its mode,
// apikeys::abi_v0_1_0_header_only or apikeys::abi_v0_1_0_compiled (users still write apikeys::api_key). Two
// translation units that disagree (one header-only, one with APIKEYS_SEPARATE_COMPILATION; or headers and
// an apikeys::compiled of another version) then fail to link where they share an apikeys name, instead
// of linking and breaking the one-definition rule silently. nlohmann/json's ABI namespace is the model.
#define APIKEYS_ABI_JOIN_(major, minor, patch, mode) abi_v##major##_##minor##_##patch##_##mode
#define APIKEYS_ABI_JOIN(major, minor, patch, mode) APIKEYS_ABI_JOIN_(major, minor, patch, mode)
#define APIKEYS_ABI_NAMESPACE \
  APIKEYS_ABI_JOIN(APIKEYS_VERSION_MAJOR, APIKEYS_VERSION_MINOR, APIKEYS_VERSION_PATCH, APIKEYS_ABI_MODE)
/// What apikeys' headers open: `namespace APIKEYS_NAMESPACE {` is `namespace apikeys::inline abi_... {`.
#define APIKEYS_NAMESPACE apikeys::inline APIKEYS_ABI_NAMESPACE

namespace APIKEYS_NAMESPACE {
inline constexpr const char* version_string = APIKEYS_VERSION_STRING;
}  // namespace apikeys

#endif  // APIKEYS_VERSION_HPP
