# A stand-in for the CMake package cpp-httplib's own build installs (Debian's libcpp-httplib-dev ships only a
# pkg-config file): the same target name, httplib::httplib, and httplib_VERSION, made from that .pc file.
# The find_package package test points httplib_DIR here to show that apikeys::httplib uses such a package.
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
pkg_check_modules(httplib_stand_in REQUIRED IMPORTED_TARGET cpp-httplib)
find_dependency(OpenSSL)
if(NOT TARGET httplib::httplib)
  add_library(httplib::httplib INTERFACE IMPORTED)
  target_link_libraries(httplib::httplib INTERFACE PkgConfig::httplib_stand_in OpenSSL::SSL)
endif()
set(httplib_VERSION "${httplib_stand_in_VERSION}")
set(httplib_FOUND TRUE)
