# apikeys: fmt, simdjson and cpp-httplib built from release source trees instead of installed packages.
#
# Each variable names an unpacked release; the targets it defines are the ones the packages' own CMake
# configs give, so the rest of the build cannot tell the difference:
#
#   APIKEYS_FMT_SOURCE_DIR       fmt (include/fmt/*.h, src/format.cc, src/os.cc)       -> fmt::fmt
#   APIKEYS_SIMDJSON_SOURCE_DIR  simdjson (include/simdjson.h, src/simdjson.cpp)       -> simdjson::simdjson
#   APIKEYS_HTTPLIB_SOURCE_DIR   cpp-httplib (httplib.h, with OpenSSL when it is found) -> httplib::httplib
#
# tools/test.sh's compat leg points them at ../shared/compat to test the newest releases apikeys supports.
# Their headers are SYSTEM includes: apikeys' own -Werror flags are for apikeys' code, not theirs.
# A build made this way is for testing: its package would name targets that exist only in this build tree.

if((APIKEYS_FMT_SOURCE_DIR OR APIKEYS_SIMDJSON_SOURCE_DIR OR APIKEYS_HTTPLIB_SOURCE_DIR) AND APIKEYS_INSTALL)
  message(FATAL_ERROR "APIKEYS_*_SOURCE_DIR builds cannot be installed: configure with -DAPIKEYS_INSTALL=OFF")
endif()

if(APIKEYS_FMT_SOURCE_DIR AND NOT TARGET fmt::fmt)
  if(NOT EXISTS "${APIKEYS_FMT_SOURCE_DIR}/include/fmt/format.h" OR NOT EXISTS "${APIKEYS_FMT_SOURCE_DIR}/src/format.cc")
    message(FATAL_ERROR "APIKEYS_FMT_SOURCE_DIR=${APIKEYS_FMT_SOURCE_DIR} is not an fmt release (include/fmt/format.h, src/format.cc)")
  endif()
  add_library(apikeys_dep_fmt STATIC "${APIKEYS_FMT_SOURCE_DIR}/src/format.cc" "${APIKEYS_FMT_SOURCE_DIR}/src/os.cc")
  target_include_directories(apikeys_dep_fmt SYSTEM PUBLIC "${APIKEYS_FMT_SOURCE_DIR}/include")
  target_compile_features(apikeys_dep_fmt PUBLIC cxx_std_11)
  add_library(fmt::fmt ALIAS apikeys_dep_fmt)
  file(STRINGS "${APIKEYS_FMT_SOURCE_DIR}/include/fmt/base.h" fmt_version_line REGEX "^#define FMT_VERSION ")
  if(NOT fmt_version_line)
    file(STRINGS "${APIKEYS_FMT_SOURCE_DIR}/include/fmt/core.h" fmt_version_line REGEX "^#define FMT_VERSION ")
  endif()
  string(REGEX REPLACE ".* ([0-9]+)$" "\\1" fmt_version_number "${fmt_version_line}")
  math(EXPR fmt_major "${fmt_version_number} / 10000")
  math(EXPR fmt_minor "${fmt_version_number} / 100 % 100")
  math(EXPR fmt_patch "${fmt_version_number} % 100")
  set(fmt_VERSION "${fmt_major}.${fmt_minor}.${fmt_patch}")
  message(STATUS "apikeys: fmt ${fmt_VERSION} built from ${APIKEYS_FMT_SOURCE_DIR}")
endif()

if(APIKEYS_SIMDJSON_SOURCE_DIR AND NOT TARGET simdjson::simdjson)
  if(NOT EXISTS "${APIKEYS_SIMDJSON_SOURCE_DIR}/include/simdjson.h" OR NOT EXISTS "${APIKEYS_SIMDJSON_SOURCE_DIR}/src/simdjson.cpp")
    message(FATAL_ERROR "APIKEYS_SIMDJSON_SOURCE_DIR=${APIKEYS_SIMDJSON_SOURCE_DIR} is not a simdjson release (include/simdjson.h, src/simdjson.cpp)")
  endif()
  add_library(apikeys_dep_simdjson STATIC "${APIKEYS_SIMDJSON_SOURCE_DIR}/src/simdjson.cpp")
  target_include_directories(apikeys_dep_simdjson SYSTEM PUBLIC "${APIKEYS_SIMDJSON_SOURCE_DIR}/include")
  # src/simdjson.cpp includes the per-kernel sources beside it.
  target_include_directories(apikeys_dep_simdjson PRIVATE "${APIKEYS_SIMDJSON_SOURCE_DIR}/src")
  target_compile_features(apikeys_dep_simdjson PUBLIC cxx_std_17)
  add_library(simdjson::simdjson ALIAS apikeys_dep_simdjson)
  file(STRINGS "${APIKEYS_SIMDJSON_SOURCE_DIR}/include/simdjson/simdjson_version.h" simdjson_version_line
       REGEX "^#define SIMDJSON_VERSION ")
  string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" simdjson_VERSION "${simdjson_version_line}")
  message(STATUS "apikeys: simdjson ${simdjson_VERSION} built from ${APIKEYS_SIMDJSON_SOURCE_DIR}")
endif()

if(APIKEYS_HTTPLIB_SOURCE_DIR AND NOT TARGET httplib::httplib)
  if(NOT EXISTS "${APIKEYS_HTTPLIB_SOURCE_DIR}/httplib.h")
    message(FATAL_ERROR "APIKEYS_HTTPLIB_SOURCE_DIR=${APIKEYS_HTTPLIB_SOURCE_DIR} has no httplib.h")
  endif()
  find_package(Threads REQUIRED)
  add_library(apikeys_dep_httplib INTERFACE)
  target_include_directories(apikeys_dep_httplib SYSTEM INTERFACE "${APIKEYS_HTTPLIB_SOURCE_DIR}")
  target_link_libraries(apikeys_dep_httplib INTERFACE Threads::Threads)
  find_package(OpenSSL 3)
  if(OpenSSL_FOUND)
    target_compile_definitions(apikeys_dep_httplib INTERFACE CPPHTTPLIB_OPENSSL_SUPPORT)
    target_link_libraries(apikeys_dep_httplib INTERFACE OpenSSL::SSL OpenSSL::Crypto)
  endif()
  add_library(httplib::httplib ALIAS apikeys_dep_httplib)
  file(STRINGS "${APIKEYS_HTTPLIB_SOURCE_DIR}/httplib.h" httplib_version_line REGEX "^#define CPPHTTPLIB_VERSION \"")
  string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" httplib_VERSION "${httplib_version_line}")
  message(STATUS "apikeys: cpp-httplib ${httplib_VERSION} (header-only) from ${APIKEYS_HTTPLIB_SOURCE_DIR}")
endif()
