# apikeys compile-fail driver: compiles one tests/compile_fail/*.cpp and checks that it fails as expected.
#
#   cmake -DCOMPILER=<c++> -DSOURCE=<file.cpp> -DEXPECT=<regex> -DMODE=fail|control
#         [-DFLAGS=a|b] [-DINCLUDE_DIRS=a|b] [-DDEFINES=a|b] [-DIMPLICIT_INCLUDE_DIRS=a|b] -P compile_fail.cmake
#
# Lists are '|'-separated (a ';' would not survive add_test). MODE=fail passes only when the compiler rejects
# the file AND its output matches EXPECT; MODE=control compiles with -DAPIKEYS_COMPILE_FAIL_CONTROL, which
# leaves out the bad line, and passes only when that compiles cleanly.

cmake_minimum_required(VERSION 3.25)

foreach(required IN ITEMS COMPILER SOURCE MODE)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "compile_fail.cmake: -D${required}=... is required")
  endif()
endforeach()
if(NOT MODE MATCHES "^(fail|control)$")
  message(FATAL_ERROR "compile_fail.cmake: MODE must be fail or control, not '${MODE}'")
endif()
if(MODE STREQUAL "fail" AND "${EXPECT}" STREQUAL "")
  message(FATAL_ERROR "compile_fail.cmake: -DEXPECT=<regex> is required in fail mode")
endif()

macro(split_bar var)
  string(REPLACE "|" ";" ${var} "${${var}}")
endmacro()
split_bar(FLAGS)
split_bar(INCLUDE_DIRS)
split_bar(DEFINES)
split_bar(IMPLICIT_INCLUDE_DIRS)

set(command "${COMPILER}" -std=c++20 -fsyntax-only -fdiagnostics-color=never ${FLAGS})
foreach(dir IN LISTS INCLUDE_DIRS)
  # -I on a system directory (/usr/include, from fmt and simdjson) reorders it before the C++ library's own
  # wrappers and breaks #include_next; the compiler searches those directories anyway.
  if(dir STREQUAL "" OR dir IN_LIST IMPLICIT_INCLUDE_DIRS)
    continue()
  endif()
  list(APPEND command "-I${dir}")
endforeach()
foreach(def IN LISTS DEFINES)
  if(NOT def STREQUAL "")
    list(APPEND command "-D${def}")
  endif()
endforeach()
if(MODE STREQUAL "control")
  list(APPEND command -DAPIKEYS_COMPILE_FAIL_CONTROL)
endif()
list(APPEND command "${SOURCE}")

# The C locale keeps g++ from quoting names with typographic quotes, so one regex fits every run.
set(ENV{LC_ALL} C)
set(ENV{LANG} C)
execute_process(COMMAND ${command}
                RESULT_VARIABLE result
                OUTPUT_VARIABLE output
                ERROR_VARIABLE output)
list(JOIN command " " command_line)

if(MODE STREQUAL "control")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "control FAILED: ${SOURCE} does not compile even without its bad line, so the "
                        "compile-fail test proves nothing.\n${command_line}\n${output}")
  endif()
  message(STATUS "control ok: ${SOURCE} compiles without its bad line")
  return()
endif()

if(result EQUAL 0)
  message(FATAL_ERROR "FAILED: ${SOURCE} compiled, but it must not.\n${command_line}\n${output}")
endif()
if(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "FAILED: ${SOURCE} failed to compile, but the diagnostics do not match the regex\n"
                      "  ${EXPECT}\n${command_line}\n${output}")
endif()
message(STATUS "ok: ${SOURCE} is rejected with a diagnostic matching: ${EXPECT}")
