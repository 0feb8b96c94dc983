// apikeys::api_key: one user API key as the server describes it.
#ifndef APIKEYS_API_KEY_HPP
#define APIKEYS_API_KEY_HPP

#include <optional>
#include <ostream>
#include <string>

#include "detail/format.hpp"
#include "object_id.hpp"
#include "secret.hpp"
#include "version.hpp"

namespace APIKEYS_NAMESPACE {

/// A user API key. `value` holds the secret only in the result of create: the server reveals it once,
/// and fetch or fetch_all never carry it. Printing a key never shows the secret.
/// Thread safety: a value type; concurrent reads are safe.
struct api_key {
  object_id id;
  std::string name;
  std::optional<secret> value;
  bool enabled = true;
};

namespace detail {
inline std::string describe(const api_key& k) {
  std::string out = "api_key{id=";
  out.append(k.id.to_string()).append(", name=\"").append(k.name).append("\", enabled=");
  out.append(k.enabled ? "true" : "false");
  if (k.value) out.append(", value=").append(secret::redacted);
  out.append("}");
  return out;
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const api_key& k) { return os << detail::describe(k); }

}  // namespace apikeys

template <>
struct fmt::formatter<apikeys::api_key> : apikeys::detail::described_formatter<apikeys::api_key, &apikeys::detail::describe> {};

#endif  // APIKEYS_API_KEY_HPP
