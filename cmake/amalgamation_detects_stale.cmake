# apikeys amalgamation self-test: proves tools/check_amalgamation.sh accepts a fresh single header and
# rejects a stale one, so amalgamation.fresh passing means something.
#
#   cmake -DREPO=<source dir> -DWORK_DIR=<scratch dir> -P amalgamation_detects_stale.cmake

cmake_minimum_required(VERSION 3.25)

if(NOT REPO OR NOT WORK_DIR)
  message(FATAL_ERROR "amalgamation_detects_stale.cmake: -DREPO and -DWORK_DIR are required")
endif()
if(DEFINED ENV{PYTHON})
  set(python "$ENV{PYTHON}")
else()
  set(python python3)
endif()
set(check "${REPO}/tools/check_amalgamation.sh")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run_check file expect_ok what)
  execute_process(COMMAND bash "${check}" "${file}" RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(expect_ok AND NOT result EQUAL 0)
    message(FATAL_ERROR "check_amalgamation.sh rejected ${what} (exit ${result}):\n${out}")
  elseif(NOT expect_ok AND result EQUAL 0)
    message(FATAL_ERROR "check_amalgamation.sh accepted ${what}:\n${out}")
  endif()
  message(STATUS "check_amalgamation.sh on ${what}: exit ${result}, as expected")
endfunction()

# A freshly generated header passes: the checker does not reject everything.
set(fresh "${WORK_DIR}/fresh.hpp")
execute_process(COMMAND "${python}" "${REPO}/tools/amalgamate.py" --output "${fresh}" RESULT_VARIABLE result
                OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "amalgamate.py failed (exit ${result}):\n${out}")
endif()
run_check("${fresh}" TRUE "a freshly generated header")

# The single header (the committed one when present) with one line appended fails.
set(source "${REPO}/single_include/apikeys/apikeys.hpp")
if(NOT EXISTS "${source}")
  set(source "${fresh}")
endif()
set(stale "${WORK_DIR}/stale.hpp")
file(READ "${source}" content)
file(WRITE "${stale}" "${content}// an edit made by hand\n")
run_check("${stale}" FALSE "a copy with one line appended")

# A header that does not exist fails too.
run_check("${WORK_DIR}/missing.hpp" FALSE "a missing file")
