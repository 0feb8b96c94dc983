# apikeys' Debian packages, made by `cpack -G DEB` in a build tree (included by the top-level CMakeLists.txt
# when APIKEYS_INSTALL is ON):
#   libapikeys-dev  install component "dev": headers, apikeys::compiled (a static library, hence
#                   arch-specific), the CMake package, apikeys.pc and the documents
#   apikeys-tools   install component "tools": the apikeys CLI and apikeys-emulator, with man pages that
#                   help2man makes from their --help at build time
# Build them from a Release tree configured with -DCMAKE_INSTALL_PREFIX=/usr, so that GNUInstallDirs picks
# Debian's multiarch library directory (the README has the commands).

set(APIKEYS_DEB_MAINTAINER "apikeys developers <dev@apikeys.invalid>" CACHE STRING
    "The Maintainer of apikeys' Debian packages, and the author of their changelog entry")
# For the copyright and changelog files; string(TIMESTAMP) honours SOURCE_DATE_EPOCH, for reproducible builds.
string(TIMESTAMP apikeys_deb_year "%Y" UTC)
string(TIMESTAMP apikeys_deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)

set(apikeys_deb_tools "")
foreach(tool IN ITEMS apikeys-emulator apikeys_cli)
  if(TARGET ${tool})
    list(APPEND apikeys_deb_tools ${tool})
  endif()
endforeach()

# --- man pages ----------------------------------------------------------------------------------------------

# Made from the built programs, so they cannot fall behind their --help; the programs must run where they
# are built, hence not when cross-compiling.
find_program(APIKEYS_HELP2MAN help2man)
find_program(APIKEYS_GZIP gzip)
if(apikeys_deb_tools AND APIKEYS_HELP2MAN AND APIKEYS_GZIP AND NOT CMAKE_CROSSCOMPILING)
  set(apikeys_man_pages ON)
else()
  set(apikeys_man_pages OFF)
  if(apikeys_deb_tools)
    message(STATUS "apikeys: no help2man (or gzip), or cross-compiling: the tools get no man pages, and "
                   "cpack -G DEB refuses to package them")
  endif()
endif()

# apikeys_man_page(<target> <what it does, for the man page's NAME line>)
function(apikeys_man_page target what)
  # Not $<TARGET_FILE_NAME>: an OUTPUT may not depend on a target.
  get_target_property(program ${target} OUTPUT_NAME)
  if(NOT program)
    set(program ${target})
  endif()
  set(page "${PROJECT_BINARY_DIR}/man/${program}.1")
  # -n: gzip leaves out the file's name and time, which Debian asks for (reproducible packages).
  add_custom_command(OUTPUT "${page}.gz"
    COMMAND "${APIKEYS_HELP2MAN}" --no-info --section=1 "--name=${what}" "--output=${page}"
            "$<TARGET_FILE:${target}>"
    COMMAND "${APIKEYS_GZIP}" -9nf "${page}"
    DEPENDS ${target}
    COMMENT "Making the man page of ${program} from its --help"
    VERBATIM)
  add_custom_target(${target}_man_page ALL DEPENDS "${page}.gz")
  install(FILES "${page}.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT tools)
endfunction()

if(apikeys_man_pages)
  if(TARGET apikeys-emulator)
    apikeys_man_page(apikeys-emulator "serve an in-memory App Services emulator over HTTP or HTTPS")
  endif()
  if(TARGET apikeys_cli)
    apikeys_man_page(apikeys_cli "manage the API keys of an App Services user")
  endif()
endif()

# --- the files Debian wants in every package's /usr/share/doc/<package> ----------------------------------

# Only in the packages: EXCLUDE_FROM_ALL keeps them out of a plain `cmake --install`, which installs every
# component, while CPack installs each component by name.
set(apikeys_deb_dir "${PROJECT_BINARY_DIR}/debian")
# Machine-readable (lintian reads it); the licence text is the one every Debian system has.
file(CONFIGURE OUTPUT "${apikeys_deb_dir}/copyright" @ONLY CONTENT [=[
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: apikeys
Upstream-Contact: @APIKEYS_DEB_MAINTAINER@

Files: *
Copyright: @apikeys_deb_year@ apikeys developers
License: Apache-2.0

License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License"); you may not
 use this file except in compliance with the License. You may obtain a copy of
 the License at
 .
 http://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
 License for the specific language governing permissions and limitations under
 the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0 can be
 found in "/usr/share/common-licenses/Apache-2.0".
]=])
# A native package's changelog (its version has no Debian revision): one entry, for this version.
file(CONFIGURE OUTPUT "${apikeys_deb_dir}/changelog" @ONLY CONTENT [=[
apikeys (@PROJECT_VERSION@) unstable; urgency=medium

  * apikeys @PROJECT_VERSION@ (its changes: CHANGELOG.md, in libapikeys-dev).

 -- @APIKEYS_DEB_MAINTAINER@  @apikeys_deb_date@
]=])
if(APIKEYS_GZIP)
  execute_process(COMMAND "${APIKEYS_GZIP}" -9nc "${apikeys_deb_dir}/changelog"
                  OUTPUT_FILE "${apikeys_deb_dir}/changelog.gz" RESULT_VARIABLE apikeys_gzip_result)
  if(NOT apikeys_gzip_result EQUAL 0)
    message(FATAL_ERROR "apikeys: gzip of ${apikeys_deb_dir}/changelog failed: ${apikeys_gzip_result}")
  endif()
endif()
set(apikeys_deb_components dev)
set(apikeys_deb_packages libapikeys-dev)
if(apikeys_deb_tools)
  list(APPEND apikeys_deb_components tools)
  list(APPEND apikeys_deb_packages apikeys-tools)
endif()
foreach(component package IN ZIP_LISTS apikeys_deb_components apikeys_deb_packages)
  install(FILES "${apikeys_deb_dir}/copyright" DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/doc/${package}"
          COMPONENT ${component} EXCLUDE_FROM_ALL)
  if(APIKEYS_GZIP)
    install(FILES "${apikeys_deb_dir}/changelog.gz" DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/doc/${package}"
            COMPONENT ${component} EXCLUDE_FROM_ALL)
  endif()
endforeach()

# --- CPack --------------------------------------------------------------------------------------------------

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME apikeys)
set(CPACK_PACKAGE_VENDOR "apikeys developers")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_PACKAGE_CONTACT "${APIKEYS_DEB_MAINTAINER}")
# lintian wants stripped programs. CMake strips only those: the static library keeps its symbols, which its
# users link against.
set(CPACK_STRIP_FILES ON)

set(CPACK_COMPONENTS_ALL ${apikeys_deb_components})
set(CPACK_DEB_COMPONENT_INSTALL ON)
# <name>_<version>_<architecture>.deb, as Debian names them.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${APIKEYS_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SOURCE apikeys)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libapikeys-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The oldest versions apikeys is tested with (cmake/apikeysDependencyVersions.cmake), which Debian 12 has.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libfmt-dev (>= ${APIKEYS_FMT_TESTED_MIN}), libsimdjson-dev (>= ${APIKEYS_SIMDJSON_TESTED_MIN})")
# The optional transport adapters' libraries; apikeysConfig.cmake looks for each and does without.
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "libcpp-httplib-dev, libcurl4-openssl-dev | libcurl-dev")
# Debian's description format: a synopsis line, then the extended description (lines under 80 columns;
# CPack indents them and turns empty ones into " .").
set(CPACK_DEBIAN_DEV_DESCRIPTION [=[
header-only C++20 client for App Services user API keys
apikeys creates, lists, fetches, enables, disables and deletes the user API
keys of App Services (formerly MongoDB Realm) apps, and logs devices in with
a key, as the official SDKs do. It builds the requests, decodes the answers
with simdjson and leaves the HTTP stack to the application; optional adapters
use cpp-httplib or libcurl.

This package holds the headers, the apikeys::compiled static library (the
decoders compiled once), the CMake package (find_package(apikeys)), the
pkg-config file and the documentation.]=])

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME apikeys-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION net)
# dpkg-shlibdeps (dpkg-dev) names the libraries the programs link, as Debian's own packages do.
set(CPACK_DEBIAN_TOOLS_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION [=[
command-line tools for App Services user API keys
Two programs built on the apikeys library:

 apikeys           manages the API keys of an App Services user from a shell:
                   log in, then create, list, get, enable, disable and delete
                   keys, with tables or JSON output.
 apikeys-emulator  serves an in-memory App Services emulator (users, sessions,
                   user API keys) over HTTP or HTTPS, for tests and for
                   developing against something that answers like the real
                   server.
]=])

# Checked when cpack runs, not at configure time: a build without help2man is fine, a package without man
# pages is not. (cpack reads this file with no policies set, so it keeps to the oldest if() syntax.)
set(apikeys_deb_blocker "")
if(apikeys_deb_tools AND NOT apikeys_man_pages)
  set(apikeys_deb_blocker "apikeys-tools needs the tools' man pages, made with help2man: apt-get install help2man, then configure ${PROJECT_BINARY_DIR} again")
elseif(NOT APIKEYS_GZIP)
  set(apikeys_deb_blocker "no gzip when ${PROJECT_BINARY_DIR} was configured, so no Debian changelog")
endif()
set(CPACK_PROJECT_CONFIG_FILE "${apikeys_deb_dir}/cpack_project_config.cmake")
file(CONFIGURE OUTPUT "${CPACK_PROJECT_CONFIG_FILE}" @ONLY CONTENT [=[
# Generated by apikeys' cmake/packaging.cmake; read by cpack.
if(CPACK_GENERATOR STREQUAL "DEB")
  if(NOT "@apikeys_deb_blocker@" STREQUAL "")
    message(FATAL_ERROR "apikeys: @apikeys_deb_blocker@")
  endif()
  # CPackDeb puts any summary but the default one before every component's description, and each of ours
  # starts with its own synopsis.
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CPACK_DEFAULT_PACKAGE_DESCRIPTION_SUMMARY}")
endif()
]=])

# `cpack --config CPackSourceConfig.cmake`: the source tree as it is, without build trees or git.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build/" "/build-[^/]*/" "/cmake-build[^/]*/")

include(CPack)
