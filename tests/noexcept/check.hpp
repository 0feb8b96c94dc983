// apikeys no-exception tests: a check macro and a closing count, because doctest is built around exceptions.
#ifndef APIKEYS_TESTS_NOEXCEPT_CHECK_HPP
#define APIKEYS_TESTS_NOEXCEPT_CHECK_HPP

#include <apikeys/version.hpp>
#include <cstdio>

// The point of this suite: if the flags did not take, fail to build rather than pass vacuously.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#error "tests/noexcept must be compiled with -fno-exceptions"
#endif
static_assert(APIKEYS_HAS_EXCEPTIONS == 0, "apikeys must see exceptions as off in this suite");

namespace apikeys_noexcept {

inline int passed = 0;
inline int failed = 0;

inline bool check(bool ok, const char* expression, const char* file, int line) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::printf("%s:%d: CHECK failed: %s\n", file, line, expression);
  }
  return ok;
}

/// Prints the closing line ("N passed, N failed") and gives main's exit status.
inline int finish() {
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}

}  // namespace apikeys_noexcept

#define APIKEYS_CHECK(condition) ::apikeys_noexcept::check(static_cast<bool>(condition), #condition, __FILE__, __LINE__)
// Stops the current function (a test) when the rest of it would read what is not there.
#define APIKEYS_REQUIRE(condition)         \
  do {                                     \
    if (!APIKEYS_CHECK(condition)) return; \
  } while (0)

#endif  // APIKEYS_TESTS_NOEXCEPT_CHECK_HPP
