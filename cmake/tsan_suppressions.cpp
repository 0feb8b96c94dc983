// Linked into every executable of a build with APIKEYS_SANITIZE=thread (tests, examples, tools), so that
// the suppressions hold however a program is started: by ctest, by a test that spawns apikeys-emulator,
// or by hand. Each line is a report that ThreadSanitizer's model cannot get right, and why.
//
// - libstdc++ counts std::exception_ptr references with atomics inside its uninstrumented shared library,
//   so ThreadSanitizer cannot see that the thread which caught a future's exception let go of it before a
//   pool thread released the last reference, and reports the release as a race.
extern "C" const char* __tsan_default_suppressions();
extern "C" const char* __tsan_default_suppressions() { return "race:std::__exception_ptr::exception_ptr::_M_release\n"; }
