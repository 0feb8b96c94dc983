# apikeys package test driver: installs apikeys and moves the install, or builds and runs one consumer of it.
#
#   cmake -DMODE=install|find_package|pkg_config|add_subdirectory|fetch_content
#         -DSOURCE_DIR=<apikeys source tree> -DBUILD_DIR=<its build tree> -DWORK_DIR=<scratch dir>
#         -DCXX_COMPILER=<c++> -DGENERATOR=<cmake generator> -DEXPECTED_VERSION=<x.y.z>
#         [-DMAKE_PROGRAM=...] [-DBUILD_TYPE=...] [-DCOMPILER_LAUNCHER=...] [-DSANITIZE=address,undefined]
#         [-DUSE_SINGLE_HEADER=ON] [-DPKG_CONFIG=<pkg-config>] [-DEXPECT_HTTPLIB=ON] [-DEXPECT_CURL=ON] -P run_consumer.cmake
#
# install puts `cmake --install BUILD_DIR` in WORK_DIR/staging, checks what it wrote, then moves it to
# WORK_DIR/prefix, so the consumers of the installed package only pass if the install is relocatable.
# find_package and pkg_config use WORK_DIR/prefix; add_subdirectory and fetch_content use SOURCE_DIR.
# Each consumer builds tests/package/consumer/main.cpp and must run it successfully.

cmake_minimum_required(VERSION 3.25)

foreach(required IN ITEMS MODE SOURCE_DIR BUILD_DIR WORK_DIR CXX_COMPILER GENERATOR EXPECTED_VERSION)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${required}=... is required")
  endif()
endforeach()
if(NOT MODE MATCHES "^(install|find_package|pkg_config|add_subdirectory|fetch_content)$")
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

set(package_dir "${CMAKE_CURRENT_LIST_DIR}")
set(staging "${WORK_DIR}/staging")
set(prefix "${WORK_DIR}/prefix")
set(consumer_warnings -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)
set(sanitize_flags "")
if(SANITIZE)
  # The same flags the apikeys build gives its own programs, so sanitized runtimes are not mixed.
  set(sanitize_flags "-fsanitize=${SANITIZE}" -fno-omit-frame-pointer -fno-sanitize-recover=all)
endif()

# run(<what> <timeout seconds> COMMAND ...): runs the command, stops the test with its output if it fails or
# times out, and leaves its output in `run_output`.
function(run what timeout)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "COMMAND")
  execute_process(COMMAND ${arg_COMMAND} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output
                  TIMEOUT ${timeout})
  list(JOIN arg_COMMAND " " command_line)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "FAILED: ${what} (${result})\n${command_line}\n${output}")
  endif()
  message(STATUS "ok: ${what}")
  set(run_output "${output}" PARENT_SCOPE)
endfunction()

# check(<text> <condition>...): the condition as for if(), written with variable names rather than quoted
# values, since its words reach if() again here (an empty or ';'-holding value would not survive that).
function(check condition_text)
  if(NOT (${ARGN}))
    message(FATAL_ERROR "FAILED: ${condition_text}")
  endif()
  message(STATUS "ok: ${condition_text}")
endfunction()

function(same_path out a b)
  file(REAL_PATH "${a}" real_a)
  file(REAL_PATH "${b}" real_b)
  if(real_a STREQUAL real_b)
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

# The consumer must run and print the version of the headers it was built against.
function(run_consumer program)
  check("the consumer was built at ${program}" EXISTS "${program}")
  run("the consumer runs" 60 COMMAND "${program}")
  string(FIND "${run_output}" "apikeys ${EXPECTED_VERSION}\n" at_version)
  string(FIND "${run_output}" "log in, create, fetch, remove: ok" at_ok)
  if(at_version EQUAL -1 OR at_ok EQUAL -1)
    message(FATAL_ERROR "FAILED: the consumer's output is not as expected (apikeys ${EXPECTED_VERSION}):\n${run_output}")
  endif()
  message(STATUS "consumer output:\n${run_output}")
endfunction()

# Configures and builds a tests/package/<MODE> project, runs its consumer, and leaves its build tree in
# `consumer_build`.
# The project is tests/package/<package_source>, where package_source defaults to MODE.
function(consumer_configure_command out binary)
  if(NOT package_source)
    set(package_source "${MODE}")
  endif()
  set(configure "${CMAKE_COMMAND}" -S "${package_dir}/${package_source}" -B "${binary}" -G "${GENERATOR}"
                "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
  if(MAKE_PROGRAM)
    list(APPEND configure "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
  endif()
  if(BUILD_TYPE)
    list(APPEND configure "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
  endif()
  if(COMPILER_LAUNCHER)
    list(APPEND configure "-DCMAKE_CXX_COMPILER_LAUNCHER=${COMPILER_LAUNCHER}")
  endif()
  if(sanitize_flags)
    list(JOIN sanitize_flags " " flags)
    list(APPEND configure "-DCMAKE_CXX_FLAGS=${flags}" "-DCMAKE_EXE_LINKER_FLAGS=${flags}")
  endif()
  list(APPEND configure ${ARGN})
  set(${out} "${configure}" PARENT_SCOPE)
endfunction()

function(build_cmake_consumer)
  set(binary "${WORK_DIR}/${MODE}")
  file(REMOVE_RECURSE "${binary}")
  # Asks CMake for the build's targets, read back by check_library_only.
  file(WRITE "${binary}/.cmake/api/v1/query/codemodel-v2" "")
  consumer_configure_command(configure "${binary}" ${ARGN})
  run("configure the ${MODE} consumer" 180 COMMAND ${configure})
  set(configure_output "${run_output}" PARENT_SCOPE)
  set(build "${CMAKE_COMMAND}" --build "${binary}")
  if(BUILD_TYPE)
    list(APPEND build --config "${BUILD_TYPE}")
  endif()
  run("build the ${MODE} consumer" 300 COMMAND ${build})
  set(program "${binary}/consumer")
  if(NOT EXISTS "${program}" AND BUILD_TYPE)
    set(program "${binary}/${BUILD_TYPE}/consumer")  # a multi-config generator
  endif()
  run_consumer("${program}")
  set(consumer_build "${binary}" PARENT_SCOPE)
endfunction()

# expect_configure_failure(<what> <message> <configure args>...): configuring the consumer must fail, and
# say <message>.
function(expect_configure_failure what message)
  set(binary "${WORK_DIR}/${MODE}_failure")
  file(REMOVE_RECURSE "${binary}")
  consumer_configure_command(configure "${binary}" ${ARGN})
  execute_process(COMMAND ${configure} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output
                  TIMEOUT 180)
  string(FIND "${output}" "${message}" at)
  if(result EQUAL 0 OR at EQUAL -1)
    message(FATAL_ERROR "FAILED: configuring with ${what} should fail saying '${message}' (exit ${result}):\n${output}")
  endif()
  message(STATUS "ok: configuring with ${what} fails, saying '${message}'")
endfunction()

# The adapter consumer must run and say it sent through its adapter.
function(run_adapter_consumer program adapter)
  check("the ${adapter} consumer was built at ${program}" EXISTS "${program}")
  run("the ${adapter} consumer runs" 60 COMMAND "${program}")
  string(FIND "${run_output}" "${adapter} adapter sends, and reports a refused connection: ok" at_ok)
  check("the ${adapter} consumer's output is as expected" NOT at_ok EQUAL -1)
endfunction()

# installed_path(<out> <root> <file name> [<path regex>]): the one file of that name under <root> (whose path
# relative to <root> matches the regex, if given), relative to <root>. The layout is the install's own
# (GNUInstallDirs, APIKEYS_INSTALL_CMAKEDIR), so it is found rather than assumed.
function(installed_path out root name)
  file(GLOB_RECURSE found LIST_DIRECTORIES false RELATIVE "${root}" "${root}/${name}")
  if(ARGC GREATER 3)
    list(FILTER found INCLUDE REGEX "${ARGV3}")
  endif()
  list(LENGTH found count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "FAILED: expected one ${name} under ${root}, found ${count}: ${found}")
  endif()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

function(cache_value out binary name)
  file(STRINGS "${binary}/CMakeCache.txt" lines REGEX "^${name}:[A-Z]+=")
  if(lines MATCHES "^${name}:[A-Z]+=(.*)$")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# A project that pulls apikeys' source tree in gets the library only: no tests, examples or tools are
# configured, and no install rules are generated.
function(check_library_only binary apikeys_binary)
  foreach(option IN ITEMS APIKEYS_BUILD_TESTS APIKEYS_BUILD_EXAMPLES APIKEYS_BUILD_TOOLS APIKEYS_INSTALL)
    cache_value(value "${binary}" ${option})
    check("${option} is OFF in the consumer's cache (it is '${value}')" value STREQUAL "OFF")
  endforeach()
  check("apikeys was configured in ${apikeys_binary}" EXISTS "${apikeys_binary}/cmake_install.cmake")
  foreach(subdir IN ITEMS tests examples tools)
    check("no ${subdir}/ in apikeys' binary directory" NOT EXISTS "${apikeys_binary}/${subdir}")
  endforeach()
  # The targets as CMake itself reports them (the file API), whatever the generator: only the consumer and
  # the library's own interface targets may be there.
  file(GLOB index_files "${binary}/.cmake/api/v1/reply/index-*.json")
  check("CMake answered the file API query" index_files)
  list(GET index_files 0 index_file)
  file(READ "${index_file}" index)
  string(JSON codemodel_file GET "${index}" reply codemodel-v2 jsonFile)
  file(READ "${binary}/.cmake/api/v1/reply/${codemodel_file}" codemodel)
  string(JSON target_count LENGTH "${codemodel}" configurations 0 targets)
  set(target_names "")
  math(EXPR last "${target_count} - 1")
  foreach(i RANGE ${last})
    string(JSON name GET "${codemodel}" configurations 0 targets ${i} name)
    list(APPEND target_names "${name}")
  endforeach()
  message(STATUS "the consumer's build has the targets: ${target_names}")
  check("the target list has the consumer" "consumer" IN_LIST target_names)
  foreach(name IN LISTS target_names)
    check("${name} is the consumer or an apikeys library target"
          name MATCHES "^(consumer|apikeys|apikeys_httplib|apikeys_curl|apikeys_compiled|apikeys_warnings)$")
  endforeach()
  file(GLOB_RECURSE ctest_files "${binary}/CTestTestfile.cmake")
  check("no CTest files in the consumer's build (${ctest_files})" NOT ctest_files)
endfunction()

# --- install ------------------------------------------------------------------------------------------------

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE "${staging}" "${prefix}")
  set(install "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${staging}")
  if(BUILD_TYPE)
    list(APPEND install --config "${BUILD_TYPE}")
  endif()
  run("install apikeys into ${staging}" 120 COMMAND ${install})

  installed_path(config_file "${staging}" apikeysConfig.cmake)
  installed_path(pc_file "${staging}" apikeys.pc)
  installed_path(umbrella "${staging}" apikeys.hpp "(^|/)apikeys/apikeys\\.hpp$")
  get_filename_component(cmakedir "${staging}/${config_file}" DIRECTORY)
  string(REGEX REPLACE "/?apikeys/apikeys\\.hpp$" "" includedir "${umbrella}")
  message(STATUS "installed: ${config_file}, ${pc_file}, headers in ${includedir}/apikeys")
  foreach(file IN ITEMS apikeysConfigVersion.cmake apikeysTargets.cmake)
    check("${file} is installed beside apikeysConfig.cmake" EXISTS "${cmakedir}/${file}")
  endforeach()
  file(GLOB_RECURSE source_headers RELATIVE "${SOURCE_DIR}/include" "${SOURCE_DIR}/include/apikeys/*.hpp")
  file(GLOB_RECURSE installed_headers RELATIVE "${staging}/${includedir}" "${staging}/${includedir}/apikeys/*.hpp")
  list(SORT source_headers)
  list(SORT installed_headers)
  check("every header in include/apikeys is installed, and nothing else" source_headers STREQUAL installed_headers)

  file(READ "${cmakedir}/apikeysConfig.cmake" config)
  foreach(dependency IN ITEMS fmt simdjson)
    check("apikeysConfig.cmake finds ${dependency} itself" config MATCHES "find_dependency\\(${dependency}[ )]")
  endforeach()
  file(GLOB target_files "${cmakedir}/apikeysTargets*.cmake")
  set(targets "")
  foreach(file IN LISTS target_files)
    file(READ "${file}" content)
    string(APPEND targets "${content}")
  endforeach()
  check("apikeysTargets.cmake defines apikeys::apikeys" targets MATCHES "add_library\\(apikeys::apikeys INTERFACE IMPORTED\\)")
  check("apikeys::apikeys links fmt::fmt and simdjson::simdjson"
        targets MATCHES "INTERFACE_LINK_LIBRARIES \"fmt::fmt.simdjson::simdjson\"")
  check("apikeysTargets.cmake defines apikeys::compiled" targets MATCHES "add_library\\(apikeys::compiled STATIC IMPORTED\\)")
  installed_path(compiled_library "${staging}" libapikeys_compiled.a)
  message(STATUS "installed: ${compiled_library}")
  foreach(file IN ITEMS LICENSE README.md CHANGELOG.md protocol.md)
    installed_path(doc "${staging}" "${file}" "(^|/)doc/apikeys/")
  endforeach()
  # Our warnings and sanitizer flags are for building apikeys itself; a consumer must never inherit them.
  foreach(leak IN ITEMS apikeys_warnings -Werror -Wall -fsanitize)
    string(FIND "${targets}" "${leak}" at)
    check("the exported targets do not mention ${leak}" at EQUAL -1)
  endforeach()

  # No installed file may name where it was installed, built or configured from: that is what lets the
  # tree be moved.
  file(GLOB_RECURSE installed_files "${staging}/*")
  foreach(file IN LISTS installed_files)
    # Compiled files (the static library, the tools: ELF objects and ar archives) name their sources in their
    # debug information; that does not stop them from being moved.
    file(READ "${file}" magic LIMIT 4 HEX)
    if(magic STREQUAL "7f454c46" OR magic STREQUAL "213c6172")
      continue()
    endif()
    file(READ "${file}" content)
    foreach(path IN ITEMS "${staging}" "${BUILD_DIR}" "${SOURCE_DIR}")
      string(FIND "${content}" "${path}" at)
      if(NOT at EQUAL -1)
        message(FATAL_ERROR "FAILED: ${file} names ${path}, so the install cannot be moved")
      endif()
    endforeach()
  endforeach()
  message(STATUS "ok: no installed file names the install, build or source directory")

  file(RENAME "${staging}" "${prefix}")
  check("the install was moved to ${prefix}" NOT EXISTS "${staging}" AND EXISTS "${prefix}/${umbrella}")
  return()
endif()

# --- consumers of the moved install -------------------------------------------------------------------------

if(MODE STREQUAL "find_package")
  # Found where the install put it (share/cmake/apikeys by default), from CMAKE_PREFIX_PATH alone. The
  # components whose libraries are installed here are REQUIRED, so a component the package fails to give
  # fails the configure.
  installed_path(config_file "${prefix}" apikeysConfig.cmake)
  set(required "")
  if(EXPECT_HTTPLIB)
    list(APPEND required httplib)
  endif()
  if(EXPECT_CURL)
    list(APPEND required curl)
  endif()
  list(JOIN required "," required_arg)
  build_cmake_consumer("-DCMAKE_PREFIX_PATH=${prefix}" "-DAPIKEYS_CONSUMER_REQUIRE=${required_arg}")
  cache_value(apikeys_dir "${consumer_build}" apikeys_DIR)
  same_path(from_prefix "${apikeys_dir}/apikeysConfig.cmake" "${prefix}/${config_file}")
  check("find_package used the moved install (apikeys_DIR=${apikeys_dir})" from_prefix)
  foreach(dependency IN ITEMS fmt simdjson)
    cache_value(dir "${consumer_build}" ${dependency}_DIR)
    check("apikeys' package config found ${dependency} (${dependency}_DIR=${dir})"
          dir)
  endforeach()
  # The installed apikeys::compiled: the same story, with the decoders from the static library.
  run_consumer("${consumer_build}/consumer_compiled")
  # Each component is found exactly when its library is there, as in the build itself, and its target works.
  foreach(component IN ITEMS httplib curl)
    string(TOUPPER "${component}" upper)
    string(FIND "${configure_output}" "component ${component} found: TRUE" at)
    if(EXPECT_${upper})
      check("apikeys_${component}_FOUND, since its library is installed" NOT at EQUAL -1)
      run_adapter_consumer("${consumer_build}/consumer_${component}" ${component})
    else()
      check("no apikeys_${component}_FOUND, since its library is not installed" at EQUAL -1)
    endif()
  endforeach()

  # A required component that is not there fails find_package, saying why.
  expect_configure_failure("a component apikeys does not have" "apikeys has no component 'nosuch'"
                           "-DCMAKE_PREFIX_PATH=${prefix}" "-DAPIKEYS_CONSUMER_REQUIRE=nosuch")
  expect_configure_failure("the httplib component without cpp-httplib" "the httplib component needs cpp-httplib"
                           "-DCMAKE_PREFIX_PATH=${prefix}" "-DAPIKEYS_CONSUMER_REQUIRE=httplib"
                           -DCMAKE_DISABLE_FIND_PACKAGE_httplib=ON -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON)

  if(EXPECT_HTTPLIB)
    # Debian's cpp-httplib comes through pkg-config; cpp-httplib's own CMake package (httplib::httplib), when
    # there is one, is used first. tests/package/httplib_cmake_package stands in for it.
    check("without a cpp-httplib CMake package, apikeys::httplib links the pkg-config target"
          configure_output MATCHES "apikeys::httplib is available, linking [^\n]*PkgConfig::")
    set(MODE find_package_httplib_cmake)
    set(package_source find_package)
    build_cmake_consumer("-DCMAKE_PREFIX_PATH=${prefix}" "-DAPIKEYS_CONSUMER_REQUIRE=httplib"
                         "-Dhttplib_DIR=${package_dir}/httplib_cmake_package")
    check("with cpp-httplib's CMake package, apikeys::httplib links httplib::httplib"
          configure_output MATCHES "apikeys::httplib is available, linking [^\n]*httplib::httplib")
    run_adapter_consumer("${consumer_build}/consumer_httplib" httplib)
  endif()
  return()
endif()

if(MODE STREQUAL "pkg_config")
  if(NOT PKG_CONFIG)
    message(FATAL_ERROR "run_consumer.cmake: -DPKG_CONFIG=<pkg-config> is required in pkg_config mode")
  endif()
  installed_path(pc_file "${prefix}" apikeys.pc)
  installed_path(umbrella "${prefix}" apikeys.hpp "(^|/)apikeys/apikeys\\.hpp$")
  get_filename_component(pc_dir "${prefix}/${pc_file}" DIRECTORY)
  string(REGEX REPLACE "/?apikeys/apikeys\\.hpp$" "" includedir "${umbrella}")
  set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
  run("pkg-config --modversion apikeys" 30 COMMAND "${PKG_CONFIG}" --modversion apikeys)
  string(STRIP "${run_output}" version)
  check("pkg-config reports version ${EXPECTED_VERSION} (it says '${version}')" version STREQUAL EXPECTED_VERSION)
  run("pkg-config --cflags --libs apikeys" 30 COMMAND "${PKG_CONFIG}" --cflags --libs apikeys)
  string(STRIP "${run_output}" pkg_flags_text)
  separate_arguments(pkg_flags UNIX_COMMAND "${pkg_flags_text}")
  set(include_ok FALSE)
  foreach(flag IN LISTS pkg_flags)
    if(flag MATCHES "^-I(.+)$")
      same_path(same "${CMAKE_MATCH_1}" "${prefix}/${includedir}")
      if(same)
        set(include_ok TRUE)
      endif()
    endif()
  endforeach()
  check("pkg-config points -I at the moved install (${pkg_flags_text})" include_ok)
  foreach(library IN ITEMS -lfmt -lsimdjson)
    check("pkg-config links ${library}" library IN_LIST pkg_flags)
  endforeach()

  set(binary "${WORK_DIR}/pkg_config")
  file(REMOVE_RECURSE "${binary}")
  file(MAKE_DIRECTORY "${binary}")
  run("compile the pkg-config consumer" 300
      COMMAND "${CXX_COMPILER}" -std=c++20 ${consumer_warnings} ${sanitize_flags}
              "${package_dir}/consumer/main.cpp" ${pkg_flags} -o "${binary}/consumer")
  run_consumer("${binary}/consumer")
  return()
endif()

# --- consumers of the source tree ---------------------------------------------------------------------------

set(source_options "-DAPIKEYS_SOURCE_DIR=${SOURCE_DIR}")
if(USE_SINGLE_HEADER)
  list(APPEND source_options "-DAPIKEYS_USE_SINGLE_HEADER=ON")
endif()

if(MODE STREQUAL "add_subdirectory")
  build_cmake_consumer(${source_options})
  check_library_only("${consumer_build}" "${consumer_build}/apikeys")
  return()
endif()

if(MODE STREQUAL "fetch_content")
  build_cmake_consumer(${source_options})
  check("FetchContent used the source tree in place" NOT EXISTS "${consumer_build}/_deps/apikeys-src")
  check_library_only("${consumer_build}" "${consumer_build}/_deps/apikeys-build")
  return()
endif()
