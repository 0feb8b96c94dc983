# apikeys: one bounded libFuzzer run over a scratch copy of a target's corpus; fails on any crash, leak or timeout.
#
#   cmake -DFUZZER=<binary> -DCORPUS=<seed dir> -DWORK_DIR=<scratch dir> -DSECONDS=<n> -P run_fuzzer.cmake
#
# The repository's corpus is only read: what the run finds goes to WORK_DIR/corpus, and a crashing input to
# WORK_DIR/artifacts/, named in the failure message (minimize it with tools/fuzz.sh and add it to the corpus).

cmake_minimum_required(VERSION 3.25)

foreach(required IN ITEMS FUZZER CORPUS WORK_DIR SECONDS)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run_fuzzer.cmake: -D${required}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/corpus" "${WORK_DIR}/artifacts")
file(GLOB seeds "${CORPUS}/*")
if(NOT seeds)
  message(FATAL_ERROR "no seed corpus in ${CORPUS}")
endif()
file(COPY ${seeds} DESTINATION "${WORK_DIR}/corpus")

execute_process(COMMAND "${FUZZER}" "-max_total_time=${SECONDS}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
                        "-artifact_prefix=${WORK_DIR}/artifacts/" "${WORK_DIR}/corpus"
                RESULT_VARIABLE result
                OUTPUT_VARIABLE output
                ERROR_VARIABLE output)

# libFuzzer's closing lines: the DONE status line (cov, ft, corp, exec/s) and the stat:: summary.
string(REGEX MATCHALL "[^\n]*(DONE|stat::)[^\n]*" summary "${output}")
list(JOIN summary "\n" summary)
file(GLOB artifacts "${WORK_DIR}/artifacts/*")
if(NOT result EQUAL 0 OR artifacts)
  string(LENGTH "${output}" length)
  if(length GREATER 6000)
    math(EXPR from "${length} - 6000")
    string(SUBSTRING "${output}" ${from} -1 output)
  endif()
  message(FATAL_ERROR "${FUZZER} failed (exit ${result}); artifacts: ${artifacts}\n...${output}")
endif()
message(STATUS "${FUZZER}: no finding in ${SECONDS} s\n${summary}")
