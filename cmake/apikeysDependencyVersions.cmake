# apikeys: the versions of its dependencies that its test legs build and run against (Debian 12's in every
# leg of tools/test.sh, the newest in its compat leg), and the check of a version that was found. Included
# by apikeys' own build and by its installed package configuration.
set(APIKEYS_FMT_TESTED_MIN 9.1.0)
set(APIKEYS_FMT_TESTED_MAX 12.2.0)
set(APIKEYS_SIMDJSON_TESTED_MIN 3.0.1)
set(APIKEYS_SIMDJSON_TESTED_MAX 4.6.7)
set(APIKEYS_HTTPLIB_TESTED_MIN 0.11.4)
set(APIKEYS_HTTPLIB_TESTED_MAX 0.53.1)
# pkg-config cannot warn, so apikeys.pc accepts up to the next major release of each.
set(APIKEYS_FMT_NEXT_MAJOR 13)
set(APIKEYS_SIMDJSON_NEXT_MAJOR 5)

# apikeys_check_dependency_version(<fmt|simdjson|httplib> <version found>): a version older than the tested
# range is an error (apikeys uses what that release added); a newer one only a warning, as a release
# within the same major version usually works but nothing has checked it. An unknown version (a target made
# by hand) is taken on trust.
function(apikeys_check_dependency_version name version)
  string(TOUPPER "${name}" upper)
  set(min "${APIKEYS_${upper}_TESTED_MIN}")
  set(max "${APIKEYS_${upper}_TESTED_MAX}")
  if("${version}" STREQUAL "")
    return()
  endif()
  if(version VERSION_LESS min)
    message(FATAL_ERROR "apikeys needs ${name} ${min} or newer (tested: ${min} to ${max}); found ${version}")
  elseif(version VERSION_GREATER max)
    message(WARNING "apikeys is tested with ${name} ${min} to ${max}; ${version} is newer and untested")
  endif()
endfunction()
