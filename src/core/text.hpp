// Small text helpers shared by the parsers of outside input.
#pragma once

#include <string_view>
#include <vector>

namespace ecr::text {

// The blanks HTTP allows around a header value (RFC 9110's OWS).
inline constexpr std::string_view kSpaceAndTab = " \t";

// `s` without the characters of `blanks` at either end.
inline std::string_view trim(std::string_view s, std::string_view blanks = kSpaceAndTab) {
  const auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

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
