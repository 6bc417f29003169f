// Small text helpers shared by the parsers of outside input.
#pragma once

#include <string_view>
#include <vector>

namespace ecr::text {

// Splits `s` at every `sep`; empty fields are kept ("a,,b" -> "a", "", "b"),
// so callers can refuse them by name. The views point into `s`.
inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? s.npos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

}  // namespace ecr::text
