// apikeys::detail: one fmt formatter shape for every public type, over a non-template describe().
#ifndef APIKEYS_DETAIL_FORMAT_HPP
#define APIKEYS_DETAIL_FORMAT_HPP

#include <string>

#include <fmt/core.h>

#include "../version.hpp"

namespace APIKEYS_NAMESPACE::detail {

// Each public type has a plain `std::string describe(const T&)`; the formatter only copies its text out.
// It needs nothing beyond <fmt/core.h> (inheriting formatter<string_view> would pull in <fmt/format.h>,
// which costs every including translation unit about half a second), so it takes no format spec: "{}".
template <class T, std::string (*Describe)(const T&)>
struct described_formatter {
  constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin()) {
    auto it = ctx.begin();
    if (it != ctx.end() && *it != '}') {
      // fmt's public way to report a bad spec: format_error at run time, a compile error for a checked
      // format string. fmt 11 replaced the context's on_error() with fmt::report_error().
#if FMT_VERSION >= 110000
      fmt::report_error("apikeys types take no format spec");
#else
      ctx.on_error("apikeys types take no format spec");
#endif
    }
    return it;
  }
  template <class FormatContext>
  auto format(const T& value, FormatContext& ctx) const -> decltype(ctx.out()) {
    const std::string text = Describe(value);
    auto out = ctx.out();
    for (const char c : text) *out++ = c;
    return out;
  }
};

}  // namespace apikeys::detail

#endif  // APIKEYS_DETAIL_FORMAT_HPP
