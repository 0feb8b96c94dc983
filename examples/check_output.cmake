# Runs PROGRAM and checks its stdout line by line against EXPECTED, in order and with nothing extra:
#   cmake -DPROGRAM=<exe> -DEXPECTED=<file> [-DARGS=<a;b;...>] [-DOUTPUT_FILE=<file>] -P check_output.cmake
# ARGS are the program's arguments; OUTPUT_FILE, when given, receives its stdout once it has passed.
# EXPECTED is the output as text, where <id> stands for 24 lowercase hex digits (an ObjectId) and
# <secret> for the 64-character key value, which must appear in the output exactly once. The program
# must also exit 0 and write nothing to stderr.
if(NOT PROGRAM OR NOT EXPECTED)
  message(FATAL_ERROR "usage: cmake -DPROGRAM=<exe> -DEXPECTED=<file> -P check_output.cmake")
endif()

execute_process(COMMAND "${PROGRAM}" ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 50)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}\n--- stdout\n${out}--- stderr\n${err}")
endif()
if(NOT err STREQUAL "")
  message(FATAL_ERROR "${PROGRAM} wrote to stderr:\n${err}")
endif()

# A ';' would split a CMake list, so it travels as the unit separator while lines are compared.
string(ASCII 31 semicolon)
function(to_lines text out_var)
  string(REPLACE ";" "${semicolon}" text "${text}")
  string(REGEX REPLACE "\n$" "" text "${text}")
  string(REPLACE "\n" ";" text "${text}")
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

file(READ "${EXPECTED}" expected_text)
to_lines("${expected_text}" expected)
to_lines("${out}" actual)
list(LENGTH expected expected_count)
list(LENGTH actual actual_count)
if(NOT expected_count EQUAL actual_count)
  message(FATAL_ERROR "expected ${expected_count} lines, got ${actual_count}:\n${out}")
endif()

string(REPEAT "[0-9a-f]" 24 id_regex)
string(REPEAT "[A-Za-z0-9]" 64 secret_regex)
set(secret "")
math(EXPR last "${expected_count} - 1")
foreach(i RANGE ${last})
  list(GET expected ${i} want)
  list(GET actual ${i} got)
  string(REGEX REPLACE "([][().*+?^$|])" "\\\\\\1" pattern "${want}")
  string(REPLACE "<id>" "${id_regex}" pattern "${pattern}")
  string(REPLACE "<secret>" "(${secret_regex})" pattern "${pattern}")
  if(NOT got MATCHES "^${pattern}$")
    math(EXPR line "${i} + 1")
    message(FATAL_ERROR "line ${line} differs\n  expected: ${want}\n  got:      ${got}\n--- stdout\n${out}")
  endif()
  set(captured "${CMAKE_MATCH_1}")  # the next MATCHES would clear it
  if(want MATCHES "<secret>")
    set(secret "${captured}")
  endif()
endforeach()

if(expected_text MATCHES "<secret>")
  string(REGEX MATCHALL "${secret}" shown "${out}")
  list(LENGTH shown times)
  if(NOT times EQUAL 1)
    message(FATAL_ERROR "the key's value appears ${times} times in the output; it must appear once")
  endif()
endif()
if(OUTPUT_FILE)
  file(WRITE "${OUTPUT_FILE}" "${out}")
endif()
message(STATUS "${PROGRAM}: ${actual_count} lines as expected")
