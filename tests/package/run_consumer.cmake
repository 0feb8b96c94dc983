# apikeys package test driver: installs apikeys and moves the install, or builds and runs one consumer of it.
#
#   cmake -DMODE=install|find_package|pkg_config|add_subdirectory|fetch_content|abi
#         -DSOURCE_DIR=<apikeys source tree> -DBUILD_DIR=<its build tree> -DWORK_DIR=<scratch dir>
#         -DCXX_COMPILER=<c++> -DGENERATOR=<cmake generator> -DEXPECTED_VERSION=<x.y.z>
#         [-DMAKE_PROGRAM=...] [-DBUILD_TYPE=...] [-DCOMPILER_LAUNCHER=...] [-DSANITIZE=address,undefined]
#         [-DUSE_SINGLE_HEADER=ON] [-DPKG_CONFIG=<pkg-config>] [-DEXPECT_HTTPLIB=ON] [-DEXPECT_CURL=ON] -P run_consumer.cmake
#
# install puts `cmake --install BUILD_DIR` in WORK_DIR/staging, checks what it wrote, then moves it to
# WORK_DIR/prefix, so the consumers of the installed package only pass if the install is relocatable.
# find_package and pkg_config use WORK_DIR/prefix; add_subdirectory and fetch_content use SOURCE_DIR.
# Each consumer builds tests/package/consumer/main.cpp and must run it successfully. abi builds
# tests/package/abi from SOURCE_DIR: its consumer must run, and its units that disagree on
# APIKEYS_SEPARATE_COMPILATION must fail to link.
# The helpers it shares with deb/run_deb.cmake are in tests/package/common.cmake.

cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")  # run(), check(), the consumer builds and runs

require_arguments(run_consumer.cmake MODE SOURCE_DIR BUILD_DIR WORK_DIR CXX_COMPILER GENERATOR EXPECTED_VERSION)
if(NOT MODE MATCHES "^(install|find_package|pkg_config|add_subdirectory|fetch_content|abi)$")
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

set(staging "${WORK_DIR}/staging")
set(prefix "${WORK_DIR}/prefix")

# Configures and builds the tests/package/<package_source> project (package_source defaults to MODE) in
# WORK_DIR/<MODE>, runs its consumer, and leaves its build tree in `consumer_build` and its configure output in
# `configure_output`.
function(build_mode_consumer)
  if(NOT package_source)
    set(package_source "${MODE}")
  endif()
  set(binary "${WORK_DIR}/${MODE}")
  build_cmake_consumer("the ${MODE} consumer" "${package_dir}/${package_source}" "${binary}" ${ARGN})
  set(configure_output "${configure_output}" PARENT_SCOPE)
  consumer_program(program "${binary}" consumer)
  run_consumer("${program}")
  set(consumer_build "${binary}" PARENT_SCOPE)
endfunction()

# expect_configure_failure(<what> <message> <configure args>...): configuring the tests/package/<MODE>
# consumer must fail, and say <message>.
function(expect_configure_failure what message)
  set(binary "${WORK_DIR}/${MODE}_failure")
  file(REMOVE_RECURSE "${binary}")
  consumer_configure_command(configure "${package_dir}/${MODE}" "${binary}" ${ARGN})
  execute_process(COMMAND ${configure} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output
                  TIMEOUT 180)
  string(FIND "${output}" "${message}" at)
  if(result EQUAL 0 OR at EQUAL -1)
    message(FATAL_ERROR "FAILED: configuring with ${what} should fail saying '${message}' (exit ${result}):\n${output}")
  endif()
  message(STATUS "ok: configuring with ${what} fails, saying '${message}'")
endfunction()

# installed_path(<out> <root> <file name> [<path regex>]): the one file of that name under <root> (whose path
# relative to <root> matches the regex, if given), relative to <root>. The layout is the install's own
# (GNUInstallDirs, APIKEYS_INSTALL_CMAKEDIR), so it is found rather than assumed.
function(installed_path out root name)
  file(GLOB_RECURSE found LIST_DIRECTORIES false RELATIVE "${root}" "${root}/${name}")
  if(ARGC GREATER 3)
    list(FILTER found INCLUDE REGEX "${ARGV3}")
  endif()
  expect_one(one "${name} under ${root}" ${found})
  set(${out} "${one}" PARENT_SCOPE)
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
  append_build_type(install --config)
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
  build_mode_consumer("-DCMAKE_PREFIX_PATH=${prefix}" "-DAPIKEYS_CONSUMER_REQUIRE=${required_arg}"
                      "-DAPIKEYS_CONSUMER_VERSION=${EXPECTED_VERSION}")
  check_found_config("${consumer_build}" "${prefix}/${config_file}" "the moved install")
  foreach(dependency IN ITEMS fmt simdjson)
    cache_value(dir "${consumer_build}" ${dependency}_DIR)
    check("apikeys' package config found ${dependency} (${dependency}_DIR=${dir})"
          dir)
  endforeach()
  # The installed apikeys::compiled: the same story, with the decoders from the static library.
  consumer_program(program "${consumer_build}" consumer_compiled)
  run_consumer("${program}")
  # Each component is found exactly when its library is there, as in the build itself, and its target works.
  foreach(component IN ITEMS httplib curl)
    string(TOUPPER "${component}" upper)
    string(FIND "${configure_output}" "component ${component} found: TRUE" at)
    if(EXPECT_${upper})
      check("apikeys_${component}_FOUND, since its library is installed" NOT at EQUAL -1)
      consumer_program(program "${consumer_build}" consumer_${component})
      run_adapter_consumer("${program}" ${component})
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
    build_mode_consumer("-DCMAKE_PREFIX_PATH=${prefix}" "-DAPIKEYS_CONSUMER_REQUIRE=httplib"
                        "-DAPIKEYS_CONSUMER_VERSION=${EXPECTED_VERSION}"
                        "-Dhttplib_DIR=${package_dir}/httplib_cmake_package")
    check("with cpp-httplib's CMake package, apikeys::httplib links httplib::httplib"
          configure_output MATCHES "apikeys::httplib is available, linking [^\n]*httplib::httplib")
    consumer_program(program "${consumer_build}" consumer_httplib)
    run_adapter_consumer("${program}" httplib)
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
  pkg_config_consumer("${pc_dir}" "${prefix}/${includedir}" "the moved install" "${WORK_DIR}/pkg_config")
  return()
endif()

# --- consumers of the source tree ---------------------------------------------------------------------------

set(source_options "-DAPIKEYS_SOURCE_DIR=${SOURCE_DIR}")
if(USE_SINGLE_HEADER)
  list(APPEND source_options "-DAPIKEYS_USE_SINGLE_HEADER=ON")
endif()

if(MODE STREQUAL "add_subdirectory")
  build_mode_consumer(${source_options})
  check_library_only("${consumer_build}" "${consumer_build}/apikeys")
  return()
endif()

if(MODE STREQUAL "fetch_content")
  build_mode_consumer(${source_options})
  check("FetchContent used the source tree in place" NOT EXISTS "${consumer_build}/_deps/apikeys-src")
  check_library_only("${consumer_build}" "${consumer_build}/_deps/apikeys-build")
  return()
endif()

if(MODE STREQUAL "abi")
  # Every unit in the separately compiled mode, with apikeys::compiled: builds and runs.
  set(binary "${WORK_DIR}/abi")
  build_cmake_consumer("the abi consumer" "${package_dir}/abi" "${binary}" ${source_options})
  consumer_program(program "${binary}" consumer)
  run("the abi consumer runs" 60 COMMAND "${program}")
  check("the abi consumer decoded its key" run_output MATCHES "abi consumer: ok")
  # The same units, one of them header-only: they name two different apikeys::api_key types, so the link
  # fails, naming the separately compiled mode's ABI namespace.
  set(build "${CMAKE_COMMAND}" --build "${binary}" --target mixed_modes)
  append_build_type(build --config)
  execute_process(COMMAND ${build} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output TIMEOUT 300)
  if(result EQUAL 0)
    message(FATAL_ERROR "FAILED: units that disagree on APIKEYS_SEPARATE_COMPILATION linked:\n${output}")
  endif()
  if(NOT output MATCHES "undefined reference to [^\n]*decode_canned_key\\(apikeys::abi_v[0-9]+_[0-9]+_[0-9]+_compiled::api_key&\\)")
    message(FATAL_ERROR "FAILED: the mixed-mode build failed, but not by the link naming apikeys' ABI namespace:\n${output}")
  endif()
  message(STATUS "ok: units that disagree on APIKEYS_SEPARATE_COMPILATION do not link")
  return()
endif()
