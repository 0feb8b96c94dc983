# apikeys Debian package test: makes the packages with cpack, takes them apart and uses what they hold.
#
#   cmake -DSOURCE_DIR=<apikeys source tree> -DBUILD_DIR=<its build tree, built> -DWORK_DIR=<scratch dir>
#         -DCXX_COMPILER=<c++> -DGENERATOR=<cmake generator> -DEXPECTED_VERSION=<x.y.z>
#         -DCPACK=<cpack> -DDPKG_DEB=<dpkg-deb> [-DLINTIAN=<lintian>] [-DPKG_CONFIG=<pkg-config>]
#         [-DEXPECT_TOOLS=ON] [-DMAKE_PROGRAM=...] [-DBUILD_TYPE=...] [-DCOMPILER_LAUNCHER=...]
#         [-DSANITIZE=address,undefined] -P run_deb.cmake
#
# `cpack -G DEB` packages BUILD_DIR as it was built (a Debug tree gives Debug, though stripped, programs) into
# WORK_DIR/deb/packages: libapikeys-dev, and apikeys-tools with EXPECT_TOOLS. `dpkg-deb -x` puts both in
# WORK_DIR/deb/root, as if installed there. The script checks their control fields and files, runs the
# extracted tools, builds and runs tests/package/consumer/main.cpp against root/usr with find_package
# (apikeys::apikeys and apikeys::compiled) and with pkg-config, and fails on any lintian error (E:). Without
# lintian that last step is skipped, and says so.

cmake_minimum_required(VERSION 3.25)

foreach(required IN ITEMS SOURCE_DIR BUILD_DIR WORK_DIR CXX_COMPILER GENERATOR EXPECTED_VERSION CPACK DPKG_DEB)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run_deb.cmake: -D${required}=... is required")
  endif()
endforeach()

set(deb_dir "${CMAKE_CURRENT_LIST_DIR}")
set(work "${WORK_DIR}/deb")
set(packages "${work}/packages")
set(root "${work}/root")
set(consumer_warnings -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)
set(sanitize_flags "")
if(SANITIZE)
  # The same flags the apikeys build gives its own programs: the packaged static library was built with them.
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

# Whether <path> is <dir> or under it, once both are resolved.
function(is_under out path dir)
  file(REAL_PATH "${path}" real_path)
  file(REAL_PATH "${dir}" real_dir)
  string(FIND "${real_path}/" "${real_dir}/" at)
  if(at EQUAL 0)
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()

function(control_field out deb field)
  run("dpkg-deb -f ${field} of ${deb}" 30 COMMAND "${DPKG_DEB}" -f "${deb}" ${field})
  string(STRIP "${run_output}" value)
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# package_files(<out> <deb>): the regular files and links the package holds, as root-relative paths; every
# entry must belong to root (a package made as an ordinary user must not carry that user's ids).
function(package_files out deb)
  run("dpkg-deb -c ${deb}" 30 COMMAND "${DPKG_DEB}" -c "${deb}")
  string(REPLACE "\n" ";" lines "${run_output}")
  set(files "")
  foreach(line IN LISTS lines)
    if(line STREQUAL "")
      continue()
    endif()
    if(NOT line MATCHES "^([-dl])[^ ]+ +root/root +[0-9]+ [^ ]+ [^ ]+ \\./([^ ]*)")
      message(FATAL_ERROR "FAILED: ${deb} has an entry not owned by root/root, or unreadable: ${line}")
    endif()
    if(NOT CMAKE_MATCH_1 STREQUAL "d")
      list(APPEND files "${CMAKE_MATCH_2}")
    endif()
  endforeach()
  list(SORT files)
  set(${out} "${files}" PARENT_SCOPE)
endfunction()

# the_one(<out> <list variable> <regex>): the one entry of the list that matches.
function(the_one out list_var regex)
  set(found ${${list_var}})
  list(FILTER found INCLUDE REGEX "${regex}")
  list(LENGTH found count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "FAILED: expected one file matching ${regex} in ${list_var}, found ${count}: ${found}")
  endif()
  set(${out} "${found}" PARENT_SCOPE)
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
endfunction()

# --- make the packages --------------------------------------------------------------------------------------

file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${packages}" "${root}")
set(cpack_command "${CPACK}" -G DEB -B "${packages}" --config "${BUILD_DIR}/CPackConfig.cmake")
if(BUILD_TYPE)
  list(APPEND cpack_command -C "${BUILD_TYPE}")
endif()
execute_process(COMMAND ${cpack_command} WORKING_DIRECTORY "${BUILD_DIR}" RESULT_VARIABLE result
                OUTPUT_VARIABLE output ERROR_VARIABLE output TIMEOUT 120)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "FAILED: cpack -G DEB in ${BUILD_DIR} (${result}); the tree must be built first "
                      "(cmake --build ${BUILD_DIR})\n${output}")
endif()
message(STATUS "ok: cpack -G DEB")

set(expected_packages libapikeys-dev)
if(EXPECT_TOOLS)
  list(APPEND expected_packages apikeys-tools)
endif()
file(GLOB made RELATIVE "${packages}" "${packages}/*.deb")
list(SORT made)
set(debs "")
foreach(package IN LISTS expected_packages)
  the_one(name made "^${package}_")
  list(APPEND debs "${packages}/${name}")
  set(${package}_deb "${packages}/${name}")
  control_field(field "${packages}/${name}" Package)
  check("${name} is package ${package} (Package: ${field})" field STREQUAL package)
  control_field(version "${packages}/${name}" Version)
  check("${name} has version ${EXPECTED_VERSION} (Version: ${version})" version STREQUAL EXPECTED_VERSION)
  # Both are arch-specific: one holds a static library, the other programs.
  control_field(arch "${packages}/${name}" Architecture)
  check("${name} is for one architecture (Architecture: ${arch})" arch MATCHES "^[a-z0-9-]+$" AND NOT arch MATCHES "^all$")
  set(debian_name "${package}_${EXPECTED_VERSION}_${arch}.deb")
  check("the file is named as Debian names it (${debian_name})" name STREQUAL debian_name)
  control_field(maintainer "${packages}/${name}" Maintainer)
  check("${name} has a maintainer with an address (${maintainer})" maintainer MATCHES "^[^<>]+ <[^<> ]+@[^<> ]+>$")
  control_field(description "${packages}/${name}" Description)
  check("${name} has a synopsis and an extended description" description MATCHES "^[^\n]+\n [^\n]")
endforeach()
list(LENGTH made made_count)
list(LENGTH expected_packages expected_count)
check("cpack made ${expected_packages} and nothing else (${made})" made_count EQUAL expected_count)

control_field(section "${libapikeys-dev_deb}" Section)
check("libapikeys-dev is in section libdevel (${section})" section STREQUAL "libdevel")
control_field(depends "${libapikeys-dev_deb}" Depends)
check("libapikeys-dev depends on versions of libfmt-dev and libsimdjson-dev (${depends})"
      depends MATCHES "(^|, )libfmt-dev \\(>= [0-9][^)]*\\)(,|$)" AND depends MATCHES "(^|, )libsimdjson-dev \\(>= [0-9][^)]*\\)(,|$)")
control_field(suggests "${libapikeys-dev_deb}" Suggests)
check("libapikeys-dev suggests the transport adapters' libraries (${suggests})"
      suggests MATCHES "libcpp-httplib-dev" AND suggests MATCHES "libcurl4-openssl-dev \\| libcurl-dev")
if(EXPECT_TOOLS)
  control_field(section "${apikeys-tools_deb}" Section)
  check("apikeys-tools is in section net (${section})" section STREQUAL "net")
  # Computed by dpkg-shlibdeps from what the programs link.
  control_field(depends "${apikeys-tools_deb}" Depends)
  check("apikeys-tools depends on the shared libraries its programs link (${depends})"
        depends MATCHES "(^|, )libc6 \\(>= " AND depends MATCHES "(^|, )libstdc\\+\\+6 " AND depends MATCHES "libcpp-httplib")
endif()

# --- what they hold -----------------------------------------------------------------------------------------

package_files(dev_files "${libapikeys-dev_deb}")
file(GLOB_RECURSE source_headers RELATIVE "${SOURCE_DIR}/include" "${SOURCE_DIR}/include/apikeys/*.hpp")
list(TRANSFORM source_headers PREPEND "usr/include/")
list(SORT source_headers)
set(packaged_headers ${dev_files})
list(FILTER packaged_headers INCLUDE REGEX "^usr/include/")
check("libapikeys-dev holds every header in include/apikeys under usr/include, and nothing else there"
      source_headers STREQUAL packaged_headers)
the_one(config_file dev_files "^usr/.*/apikeysConfig\\.cmake$")
get_filename_component(cmakedir "${config_file}" DIRECTORY)
foreach(file IN ITEMS apikeysConfigVersion.cmake apikeysTargets.cmake)
  check("libapikeys-dev has ${file} beside apikeysConfig.cmake" "${cmakedir}/${file}" IN_LIST dev_files)
endforeach()
the_one(pc_file dev_files "^usr/.*/pkgconfig/apikeys\\.pc$")
the_one(library dev_files "^usr/lib/(.+/)?libapikeys_compiled\\.a$")
the_one(readme dev_files "^usr/share/doc/.*/README\\.md$")
set(unexpected ${dev_files})
list(FILTER unexpected INCLUDE REGEX "^usr/(bin|sbin|share/man)/|^usr/local/|^etc/|^opt/")
check("libapikeys-dev holds no programs, man pages or files outside /usr (${unexpected})" NOT unexpected)

set(doc_files "")
foreach(package IN LISTS expected_packages)
  foreach(file IN ITEMS copyright changelog.gz)
    list(APPEND doc_files "usr/share/doc/${package}/${file}")
  endforeach()
endforeach()
foreach(file IN LISTS doc_files)
  if(file MATCHES "^usr/share/doc/libapikeys-dev/")
    check("libapikeys-dev has ${file}" file IN_LIST dev_files)
  endif()
endforeach()

if(EXPECT_TOOLS)
  package_files(tools_files "${apikeys-tools_deb}")
  set(expected_tools_files usr/bin/apikeys usr/bin/apikeys-emulator usr/share/doc/apikeys-tools/changelog.gz
      usr/share/doc/apikeys-tools/copyright usr/share/man/man1/apikeys-emulator.1.gz usr/share/man/man1/apikeys.1.gz)
  list(SORT expected_tools_files)
  check("apikeys-tools holds the two programs, their man pages, copyright and changelog (it holds: ${tools_files})"
        tools_files STREQUAL expected_tools_files)
endif()

foreach(deb IN LISTS debs)
  run("dpkg-deb -x ${deb}" 60 COMMAND "${DPKG_DEB}" -x "${deb}" "${root}")
endforeach()

foreach(file IN LISTS doc_files)
  if(file MATCHES "/copyright$")
    file(READ "${root}/${file}" copyright)
    check("${file} is in Debian's machine-readable format and names Apache-2.0"
          copyright MATCHES "^Format: https://www\\.debian\\.org/doc/packaging-manuals/copyright-format/1\\.0/\n"
          AND copyright MATCHES "\nLicense: Apache-2\\.0\n" AND copyright MATCHES "/usr/share/common-licenses/Apache-2\\.0")
  endif()
endforeach()

# Debian wants gzip -9n: no file name or time stored in the header, so rebuilds give the same bytes.
set(gzip_files ${doc_files})
list(FILTER gzip_files INCLUDE REGEX "\\.gz$")
if(EXPECT_TOOLS)
  list(APPEND gzip_files usr/share/man/man1/apikeys.1.gz usr/share/man/man1/apikeys-emulator.1.gz)
endif()
foreach(file IN LISTS gzip_files)
  file(READ "${root}/${file}" header LIMIT 8 HEX)
  check("${file} is gzip without a stored name or time (header ${header})" header MATCHES "^1f8b080[0-7]00000000$")
endforeach()

# --- the tools ----------------------------------------------------------------------------------------------

if(EXPECT_TOOLS)
  find_program(GZIP gzip)
  foreach(program IN ITEMS apikeys apikeys-emulator)
    run("the packaged ${program} --help" 30 COMMAND "${root}/usr/bin/${program}" --help)
    check("${program} --help prints its usage" run_output MATCHES "^usage: ${program} ")
    run("the packaged ${program} --version" 30 COMMAND "${root}/usr/bin/${program}" --version)
    check("${program} --version prints '${program} ${EXPECTED_VERSION}'" run_output STREQUAL "${program} ${EXPECTED_VERSION}\n")
    if(GZIP)
      string(TOUPPER "${program}" title)
      run("gzip -dc the ${program} man page" 30 COMMAND "${GZIP}" -dc "${root}/usr/share/man/man1/${program}.1.gz")
      check("the ${program}(1) man page is made from its --help"
            run_output MATCHES "\n\\.TH ${title} \"1\"" AND run_output MATCHES "\n\\.SH NAME\n${program} \\\\- ")
    endif()
  endforeach()
endif()

# --- consumers of the extracted libapikeys-dev --------------------------------------------------------------

set(binary "${work}/find_package")
set(configure "${CMAKE_COMMAND}" -S "${deb_dir}/consumer" -B "${binary}" -G "${GENERATOR}"
              "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_PREFIX_PATH=${root}/usr"
              "-DEXPECTED_VERSION=${EXPECTED_VERSION}")
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
run("configure the find_package consumer against ${root}/usr" 180 COMMAND ${configure})
file(STRINGS "${binary}/CMakeCache.txt" apikeys_dir_line REGEX "^apikeys_DIR:")
string(REGEX REPLACE "^apikeys_DIR:[A-Z]+=" "" apikeys_dir "${apikeys_dir_line}")
is_under(from_root "${apikeys_dir}" "${root}")
check("find_package found the extracted package (apikeys_DIR=${apikeys_dir})" from_root)
set(build "${CMAKE_COMMAND}" --build "${binary}")
if(BUILD_TYPE)
  list(APPEND build --config "${BUILD_TYPE}")
endif()
run("build the find_package consumers (apikeys::apikeys and apikeys::compiled)" 300 COMMAND ${build})
foreach(program IN ITEMS consumer consumer_compiled)
  set(path "${binary}/${program}")
  if(NOT EXISTS "${path}" AND BUILD_TYPE)
    set(path "${binary}/${BUILD_TYPE}/${program}")  # a multi-config generator
  endif()
  run_consumer("${path}")
endforeach()

if(PKG_CONFIG)
  get_filename_component(pc_dir "${root}/${pc_file}" DIRECTORY)
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
      is_under(under "${CMAKE_MATCH_1}" "${root}/usr/include")
      if(under)
        set(include_ok TRUE)
      endif()
    endif()
  endforeach()
  check("pkg-config points -I at the extracted headers (${pkg_flags_text})" include_ok)
  file(MAKE_DIRECTORY "${work}/pkg_config")
  run("compile the pkg-config consumer" 300
      COMMAND "${CXX_COMPILER}" -std=c++20 ${consumer_warnings} ${sanitize_flags}
              "${deb_dir}/../consumer/main.cpp" ${pkg_flags} -o "${work}/pkg_config/consumer")
  run_consumer("${work}/pkg_config/consumer")
else()
  message(STATUS "skipped: the pkg-config consumer (no pkg-config)")
endif()

# --- lintian ------------------------------------------------------------------------------------------------

if(LINTIAN)
  # Its exit status also counts tags it was told to ignore elsewhere; the E: lines are what fail a package.
  execute_process(COMMAND "${LINTIAN}" ${debs} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors
                  TIMEOUT 120)
  if(NOT result MATCHES "^[01]$")
    message(FATAL_ERROR "FAILED: lintian could not check the packages (${result})\n${output}${errors}")
  endif()
  if(output STREQUAL "")
    message(STATUS "lintian: nothing to report")
  else()
    message(STATUS "lintian:\n${output}")
  endif()
  string(REGEX MATCHALL "(^|\n)E: [^\n]*" lintian_errors "${output}")
  check("lintian reports no error" NOT lintian_errors)
else()
  message(STATUS "skipped: lintian is not installed (apt-get install lintian), so the packages were not linted")
endif()
