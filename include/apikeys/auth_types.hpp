// apikeys auth types: what the location, log in and profile routes answer.
#ifndef APIKEYS_AUTH_TYPES_HPP
#define APIKEYS_AUTH_TYPES_HPP

#include <string>
#include <vector>

#include "secret.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

/// A successful log in: who the device is now, and its two tokens.
struct login_response {
  std::string user_id;
  std::string device_id;
  secret access_token;
  secret refresh_token;
};

/// Where an app lives (docs/protocol.md section 6): every later HTTP call goes to `hostname`.
struct location_response {
  std::string hostname;     ///< scheme://authority, then an optional path prefix; no trailing '/'
  std::string ws_hostname;
};

/// One identity of a user, as the profile lists it.
struct user_identity {
  std::string id;
  std::string provider_type;
  std::string provider_id;
};

/// The profile answer; `data` is kept as the raw JSON object text.
struct user_profile {
  std::string user_id;
  std::string type;
  std::vector<user_identity> identities;
  std::string data;
};

}  // namespace apikeys

#endif  // APIKEYS_AUTH_TYPES_HPP
