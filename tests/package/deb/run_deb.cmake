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
# extracted tools, builds and runs the tests/package/find_package project against root/usr (apikeys::apikeys,
# apikeys::compiled, and the adapters the system has libraries for) and tests/package/consumer/main.cpp with
# pkg-config, and fails on any lintian error (E:). Without lintian that last step is skipped, and says so.
# The helpers it shares with run_consumer.cmake are in tests/package/common.cmake.

cmake_minimum_required(VERSION 3.25)
include("${CMAKE_CURRENT_LIST_DIR}/../common.cmake")  # run(), check(), the consumer builds and runs

require_arguments(run_deb.cmake SOURCE_DIR BUILD_DIR WORK_DIR CXX_COMPILER GENERATOR EXPECTED_VERSION CPACK DPKG_DEB)

set(work "${WORK_DIR}/deb")
set(packages "${work}/packages")
set(root "${work}/root")

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
  expect_one(one "file matching ${regex} in ${list_var}" ${found})
  set(${out} "${one}" PARENT_SCOPE)
endfunction()

# --- make the packages --------------------------------------------------------------------------------------

file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${packages}" "${root}")
set(cpack_command "${CPACK}" -G DEB -B "${packages}" --config "${BUILD_DIR}/CPackConfig.cmake")
append_build_type(cpack_command -C)
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

# The tests/package/find_package project, as run_consumer.cmake builds it against the moved install: the
# package's apikeys::apikeys and apikeys::compiled, and the adapters whose libraries the system has.
set(binary "${work}/find_package")
build_cmake_consumer("the find_package consumers against ${root}/usr" "${package_dir}/find_package" "${binary}"
                     "-DCMAKE_PREFIX_PATH=${root}/usr" "-DAPIKEYS_CONSUMER_REQUIRE="
                     "-DAPIKEYS_CONSUMER_VERSION=${EXPECTED_VERSION}")
check_found_config("${binary}" "${root}/${config_file}" "the extracted package")
foreach(program IN ITEMS consumer consumer_compiled)
  consumer_program(path "${binary}" ${program})
  run_consumer("${path}")
endforeach()
foreach(component IN ITEMS httplib curl)
  if(configure_output MATCHES "component ${component} found: TRUE")
    consumer_program(path "${binary}" consumer_${component})
    run_adapter_consumer("${path}" ${component})
  else()
    message(STATUS "skipped: the ${component} consumer (the system has no library for the ${component} component)")
  endif()
endforeach()

if(PKG_CONFIG)
  get_filename_component(pc_dir "${root}/${pc_file}" DIRECTORY)
  pkg_config_consumer("${pc_dir}" "${root}/usr/include" "the extracted headers" "${work}/pkg_config")
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
