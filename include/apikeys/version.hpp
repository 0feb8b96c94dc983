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
#else
#define APIKEYS_DECL inline
#endif

namespace apikeys {
inline constexpr const char* version_string = APIKEYS_VERSION_STRING;
}  // namespace apikeys

#endif  // APIKEYS_VERSION_HPP
