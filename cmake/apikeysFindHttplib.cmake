# apikeys: finding cpp-httplib, for apikeys' own build (CMakeLists.txt) and for its installed package
# (apikeysConfig.cmake), which include this same file.
#
# apikeys_find_httplib(<target var> <version var> <needs OpenSSL var>)
#   cpp-httplib's CMake package (httplib::httplib, which upstream's build installs, or a source tree that
#   made the target) comes first; else pkg-config, which is all Debian's libcpp-httplib-dev ships: a compiled
#   library whose Cflags carry the feature macros (OpenSSL, zlib, brotli) it was built with. Built with
#   OpenSSL, httplib's header calls libssl directly, but the .pc lists OpenSSL as a private requirement only,
#   which a shared link leaves out: <needs OpenSSL var> is then TRUE. <target var> is empty when neither way
#   finds cpp-httplib. Quiet: the caller says what it found.
function(apikeys_find_httplib target_var version_var openssl_var)
  set(target "")
  set(version "")
  set(openssl FALSE)
  if(NOT TARGET httplib::httplib)
    find_package(httplib CONFIG QUIET)
  endif()
  if(TARGET httplib::httplib)
    set(target httplib::httplib)
    set(version "${httplib_VERSION}")
  else()
    find_package(PkgConfig QUIET)
    if(PkgConfig_FOUND)
      pkg_check_modules(apikeys_cpp_httplib QUIET IMPORTED_TARGET cpp-httplib)
    endif()
    if(TARGET PkgConfig::apikeys_cpp_httplib)
      set(target PkgConfig::apikeys_cpp_httplib)
      set(version "${apikeys_cpp_httplib_VERSION}")
      if(apikeys_cpp_httplib_CFLAGS_OTHER MATCHES "CPPHTTPLIB_OPENSSL_SUPPORT")
        set(openssl TRUE)
      endif()
    endif()
  endif()
  set(${target_var} "${target}" PARENT_SCOPE)
  set(${version_var} "${version}" PARENT_SCOPE)
  set(${openssl_var} ${openssl} PARENT_SCOPE)
endfunction()
