// apikeys::credentials: how a device proves who it is when it logs in.
#ifndef APIKEYS_CREDENTIALS_HPP
#define APIKEYS_CREDENTIALS_HPP

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "detail/format.hpp"
#include "secret.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

/// One of the four ways to log in. The password, API key value or token is held in a secret, so
/// printing credentials shows the provider and user name only.
class credentials {
 public:
  enum class kind { anonymous, email_password, api_key, custom_token };

  static credentials anonymous() { return credentials{kind::anonymous, {}, secret{}}; }
  static credentials email_password(std::string_view email, std::string_view password) {
    return credentials{kind::email_password, std::string{email}, secret{password}};
  }
  /// Logs the device in as the user who created the key (docs/protocol.md section 4).
  static credentials api_key(std::string_view key_value) { return credentials{kind::api_key, {}, secret{key_value}}; }
  static credentials api_key(const secret& key_value) { return credentials{kind::api_key, {}, key_value}; }
  static credentials custom_token(std::string_view token) { return credentials{kind::custom_token, {}, secret{token}}; }

  kind provider_kind() const noexcept { return kind_; }
  /// The provider's wire name, as it appears in the login route.
  std::string_view provider() const noexcept {
    switch (kind_) {
      case kind::anonymous: return "anon-user";
      case kind::email_password: return "local-userpass";
      case kind::api_key: return "api-key";
      case kind::custom_token: return "custom-token";
    }
    return "";
  }
  /// The email of email_password credentials; empty for the others.
  const std::string& username() const noexcept { return username_; }
  /// The password, API key value or token; empty for anonymous.
  const secret& proof() const noexcept { return proof_; }

 private:
  credentials(kind k, std::string username, secret proof)
      : kind_(k), username_(std::move(username)), proof_(std::move(proof)) {}

  kind kind_;
  std::string username_;
  secret proof_;
};

namespace detail {
inline std::string describe(const credentials& c) {
  std::string out = "credentials{provider=";
  out.append(c.provider());
  if (!c.username().empty()) out.append(", username=").append(c.username());
  out.append("}");
  return out;
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const credentials& c) { return os << detail::describe(c); }

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::credentials>
    : apikeys::detail::described_formatter<apikeys::credentials, &apikeys::detail::describe> {};

#endif  // APIKEYS_CREDENTIALS_HPP
