# apikeys package tests: what run_consumer.cmake and deb/run_deb.cmake share. Included by both; it reads
# CXX_COMPILER, GENERATOR, EXPECTED_VERSION, MAKE_PROGRAM, BUILD_TYPE, COMPILER_LAUNCHER and SANITIZE, as
# the scripts are given them.

# tests/package: the consumer projects are its subdirectories, the consumer programs are under consumer/.
set(package_dir "${CMAKE_CURRENT_LIST_DIR}")
set(consumer_warnings -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)
set(sanitize_flags "")
if(SANITIZE)
  # The same flags the apikeys build gives its own programs (and so the installed or packaged static library),
  # so sanitized runtimes are not mixed.
  set(sanitize_flags "-fsanitize=${SANITIZE}" -fno-omit-frame-pointer -fno-sanitize-recover=all)
endif()

# require_arguments(<script> <name>...): each -D<name>=... must be given, and not empty.
function(require_arguments script)
  foreach(required IN LISTS ARGN)
    if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
      message(FATAL_ERROR "${script}: -D${required}=... is required")
    endif()
  endforeach()
endfunction()

# append_build_type(<command variable> <option>): adds `<option> BUILD_TYPE` to the command, when the script
# was given a build type (a multi-config generator's build, install or package step needs it).
function(append_build_type command_var option)
  if(BUILD_TYPE)
    set(${command_var} ${${command_var}} ${option} "${BUILD_TYPE}" PARENT_SCOPE)
  endif()
endfunction()

# expect_one(<out> <what> <candidates>...): the one candidate there is; anything else stops the test, saying
# it expected one <what>.
function(expect_one out what)
  list(LENGTH ARGN count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "FAILED: expected one ${what}, found ${count}: ${ARGN}")
  endif()
  set(${out} "${ARGN}" PARENT_SCOPE)
endfunction()

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

# same_path(<out> <a> <b>): whether the two paths name the same file or directory, once both are resolved.
function(same_path out a b)
  file(REAL_PATH "${a}" real_a)
  file(REAL_PATH "${b}" real_b)
  if(real_a STREQUAL real_b)
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

# cache_value(<out> <binary dir> <name>): the value of <name> in that build's CMakeCache.txt, or "".
function(cache_value out binary name)
  file(STRINGS "${binary}/CMakeCache.txt" lines REGEX "^${name}:[A-Z]+=")
  if(lines MATCHES "^${name}:[A-Z]+=(.*)$")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# The consumer must run and print the version of the headers it was built against.
function(run_consumer program)
  check("the consumer was built at ${program}" EXISTS "${program}")
  run("${program} runs" 60 COMMAND "${program}")
  string(FIND "${run_output}" "apikeys ${EXPECTED_VERSION}\n" at_version)
  string(FIND "${run_output}" "log in, create, fetch, remove: ok" at_ok)
  if(at_version EQUAL -1 OR at_ok EQUAL -1)
    message(FATAL_ERROR "FAILED: the consumer's output is not as expected (apikeys ${EXPECTED_VERSION}):\n${run_output}")
  endif()
  message(STATUS "consumer output:\n${run_output}")
endfunction()

# The adapter consumer (consumer/adapter_main.cpp) must run and say it sent through its adapter.
function(run_adapter_consumer program adapter)
  check("the ${adapter} consumer was built at ${program}" EXISTS "${program}")
  run("the ${adapter} consumer runs" 60 COMMAND "${program}")
  string(FIND "${run_output}" "${adapter} adapter sends, and reports a refused connection: ok" at_ok)
  check("the ${adapter} consumer's output is as expected" NOT at_ok EQUAL -1)
endfunction()

# consumer_configure_command(<out> <project dir> <binary dir> [<configure args>...]): the command that
# configures a consumer project with the compiler, generator, build type, compiler launcher and sanitizers
# the script was given, then the extra arguments.
function(consumer_configure_command out project binary)
  set(configure "${CMAKE_COMMAND}" -S "${project}" -B "${binary}" -G "${GENERATOR}"
                "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
  foreach(setting IN ITEMS MAKE_PROGRAM BUILD_TYPE)  # as CMAKE_MAKE_PROGRAM and CMAKE_BUILD_TYPE
    if(${setting})
      list(APPEND configure "-DCMAKE_${setting}=${${setting}}")
    endif()
  endforeach()
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

# build_cmake_consumer(<what> <project dir> <binary dir> [<configure args>...]): configures the consumer
# project afresh in <binary dir> (step "configure <what>") and builds it (step "build <what>"); leaves the
# configure output in `configure_output`. The binary dir asks CMake's file API for the build's targets, for a
# script that wants to read them back.
function(build_cmake_consumer what project binary)
  file(REMOVE_RECURSE "${binary}")
  file(WRITE "${binary}/.cmake/api/v1/query/codemodel-v2" "")
  consumer_configure_command(configure "${project}" "${binary}" ${ARGN})
  run("configure ${what}" 180 COMMAND ${configure})
  set(configure_output "${run_output}" PARENT_SCOPE)
  set(build "${CMAKE_COMMAND}" --build "${binary}")
  append_build_type(build --config)
  run("build ${what}" 300 COMMAND ${build})
endfunction()

# consumer_program(<out> <binary dir> <target>): where the build put the program <target>.
function(consumer_program out binary target)
  set(program "${binary}/${target}")
  if(NOT EXISTS "${program}" AND BUILD_TYPE)
    set(program "${binary}/${BUILD_TYPE}/${target}")  # a multi-config generator
  endif()
  set(${out} "${program}" PARENT_SCOPE)
endfunction()

# check_found_config(<binary dir> <config file> <what>): find_package(apikeys) in that consumer build used
# <config file> (an apikeysConfig.cmake), that is <what>.
function(check_found_config binary config_file what)
  cache_value(apikeys_dir "${binary}" apikeys_DIR)
  same_path(found "${apikeys_dir}/apikeysConfig.cmake" "${config_file}")
  check("find_package used ${what} (apikeys_DIR=${apikeys_dir})" found)
endfunction()

# pkg_config_consumer(<pc dir> <include dir> <what> <binary dir>): with PKG_CONFIG_PATH=<pc dir>, pkg-config
# must report apikeys at EXPECTED_VERSION, point -I at <include dir> (<what>) and link fmt and simdjson; a
# consumer compiled with its flags alone, in <binary dir>, must run.
function(pkg_config_consumer pc_dir include_dir what binary)
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
      same_path(same "${CMAKE_MATCH_1}" "${include_dir}")
      if(same)
        set(include_ok TRUE)
      endif()
    endif()
  endforeach()
  check("pkg-config points -I at ${what} (${pkg_flags_text})" include_ok)
  foreach(library IN ITEMS -lfmt -lsimdjson)
    check("pkg-config links ${library}" library IN_LIST pkg_flags)
  endforeach()

  file(REMOVE_RECURSE "${binary}")
  file(MAKE_DIRECTORY "${binary}")
  run("compile the pkg-config consumer" 300
      COMMAND "${CXX_COMPILER}" -std=c++20 ${consumer_warnings} ${sanitize_flags}
              "${package_dir}/consumer/main.cpp" ${pkg_flags} -o "${binary}/consumer")
  run_consumer("${binary}/consumer")
endfunction()
