// expect: (on_error|report_error).*apikeys types take no format spec
// apikeys types print through fmt with "{}" only: a format spec (width, fill, a type) is rejected while the
// format string is checked at compile time, rather than ignored or applied to a secret's plaintext.
#include <apikeys/secret.hpp>

#include <fmt/format.h>

#include <string>
#include <string_view>

int main() {
  const apikeys::secret value{std::string_view{"S3cr3tKeyValue"}};
#ifndef APIKEYS_COMPILE_FAIL_CONTROL
  const std::string shown = fmt::format("{:>20}", value);
#else
  const std::string shown = fmt::format("{}", value);
#endif
  return shown == "<redacted>" ? 0 : 1;
}
