// apikeys tests: the one doctest main, compiled once and linked into every test executable.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

// libstdc++ counts std::exception_ptr references with atomics inside its uninstrumented shared library, so
// ThreadSanitizer cannot see that the thread which caught a future's exception let go of it before a pool
// thread released the last reference, and reports the release as a race. That report alone is silenced,
// for every test that hands exceptions across threads (futures under throw_on_error).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define APIKEYS_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(APIKEYS_TEST_TSAN)
extern "C" const char* __tsan_default_suppressions() { return "race:std::__exception_ptr::exception_ptr::_M_release\n"; }
#endif
