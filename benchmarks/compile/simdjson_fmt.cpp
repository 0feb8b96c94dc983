// apikeys compile-time benchmark, the yardstick: only <simdjson.h> and <fmt/format.h>, each used once.
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <simdjson.h>

namespace apikeys_compile {

std::string name_of(simdjson::ondemand::parser& parser, const simdjson::padded_string& json) {
  simdjson::ondemand::document doc;
  std::string_view name;
  if (parser.iterate(json).get(doc) || doc["name"].get_string().get(name)) return {};
  return fmt::format("{}: {}", name.size(), name);
}

}  // namespace apikeys_compile
